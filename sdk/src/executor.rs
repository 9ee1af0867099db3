//! The executor: a small long-lived process that owns one task's process.
//!
//! TO BE IMPLEMENTED (see the plan in the module docs of the final version).
