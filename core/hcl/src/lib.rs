//! HCL helpers shared by the job and agent config parsers: diagnostics with file, line, column and path; source spans; durations and sizes.
