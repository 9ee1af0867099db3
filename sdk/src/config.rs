//! Config decoding with field-path errors: TO BE IMPLEMENTED.
