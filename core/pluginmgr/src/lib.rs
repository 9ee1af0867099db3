//! Plugin manager: TO BE IMPLEMENTED.
