//! Conformance suite: TO BE IMPLEMENTED.
