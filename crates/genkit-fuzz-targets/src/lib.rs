#![allow(clippy::panic, reason = "a fuzz target reports a failure by panicking, as the fuzzer expects")]

//! The fuzz targets of Genkit for Rust: one function per parser that reads outside input.
//!
//! Each target takes arbitrary bytes and must neither panic nor hang; some also check an
//! invariant (chunking a body does not change what it decodes to, a parsed Retry-After never
//! exceeds its cap). The coverage-guided fuzzer in `fuzz/` (libFuzzer, built on the stable
//! toolchain by `scripts/fuzz`) calls these functions, and this crate's `corpus` test replays
//! every kept corpus file and crash reproducer under `fuzz/corpus/<target>/` and
//! `fuzz/artifacts/<target>/` through them, so a fixed crash stays fixed in the normal test run.

mod bodies;
mod parsers;

pub use bodies::{flow_body, reflection_body};
pub use parsers::{dotprompt, extract, framing, retry_after, uri_template};

/// A fuzz target: arbitrary bytes in, a panic on failure.
pub type Target = fn(&[u8]);

/// Every target by the name of its corpus directory (and of its fuzzer binary in `fuzz/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("framing", framing),
    ("retry_after", retry_after),
    ("extract", extract),
    ("dotprompt", dotprompt),
    ("uri_template", uri_template),
    ("flow_body", flow_body),
    ("reflection_body", reflection_body),
];
