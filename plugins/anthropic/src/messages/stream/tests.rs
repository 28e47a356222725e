//! Stream decoding tests.
