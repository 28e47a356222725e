//! Lenient JSON extraction from model output, mirroring Genkit JS `extract.ts`.
//!
//! Models often wrap structured output in markdown fences or prose, emit JSON5-isms
//! (single quotes, unquoted keys, trailing commas, comments) and, while streaming,
//! produce documents that are cut off mid-way. This module provides:
//!
//! * [`parse_json5`]: a fast JSON5 parser producing [`serde_json::Value`];
//! * [`parse_partial_json`]: parsing of truncated JSON(5), completing what can be
//!   completed the way the npm `partial-json` package (with `Allow.ALL`) does;
//! * [`extract_json`] / [`extract_json_strict`]: finding the first JSON object or array
//!   in free text and parsing it (JS `extractJson`);
//! * [`extract_items`]: incremental extraction of the complete object items of a
//!   streamed top-level array (JS `extractItems`).
//!
//! All positions exchanged with callers are **byte offsets** into UTF-8 text (JS uses
//! UTF-16 indices); every delimiter the scanners look for is ASCII, so the results are
//! otherwise identical.
//!
//! Numbers follow `serde_json` conventions: integers that fit `i64`/`u64` become integer
//! numbers, anything with a fraction or exponent (or too large) becomes an `f64`, and
//! non-finite values (`Infinity`, `NaN`, overflowing literals) become `null`, which is
//! also what JS `JSON.stringify` turns them into.

mod items;
mod json5;
mod number;
mod partial;
mod string;
mod text;
mod trivia;

pub use items::extract_items;
pub use json5::parse_json5;
pub use partial::parse_partial_json;
pub use text::{extract_json, extract_json_strict};

#[cfg(test)]
mod tests;
