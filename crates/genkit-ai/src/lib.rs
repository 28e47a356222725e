//! The AI layer of Genkit for Rust: wire types of models, messages and parts (this
//! release), then `generate` with the tool loop, formats and middleware.
#![deny(unsafe_code)]

pub mod model;
mod types;

pub use model::{ModelAction, ModelCx, ModelOptions, ModelRef};
pub use types::*;
