//! Nomad job files (HCL2 and JSON) into a validated Job. Pure: no I/O but reading the given files.
