//! Core runtime of Genkit for Rust.
//!
//! Applications use the `genkit` crate; plugin authors build on this one.
//!
//! # Actions
//! Everything in Genkit is an [`Action`]: a named, typed, traced async function with JSON
//! schemas, addressable by key (`/<type>/<name>`) through the [`Registry`]. Build one with
//! [`ActionDef::builder`]; run it typed ([`ActionDef::run`], [`ActionDef::stream`]) or by
//! name with JSON ([`Action::run_json`]). Errors are one [`Error`] type carrying a Genkit
//! [`Status`].
//!
//! # Flows
//! A flow is an action of type `flow` ([`Flow`]); `run` sub-steps are traced with [`run`].
//!
//! # Plugins
//! A [`Plugin`] contributes registry values ([`PluginValue`], e.g. middlewares) when it is
//! added, actions when it initializes (lazily), resolves actions on demand and lists them.
//!
//! # Context and tracing
//! [`ActionContext`] carries auth and request data; [`current_context`] reads the ambient
//! context. Every run opens an OpenTelemetry span with Genkit's `genkit:*` attributes; attach
//! exporters with [`Telemetry::add_span_processor`].
#![deny(unsafe_code)]

pub mod action;
mod config;
mod context;
mod error;
pub mod file;
pub mod id;
pub mod js;
mod key;
mod metadata;
mod plugin;
pub mod redact;
mod registry;
pub mod schema;
mod status;
pub mod streaming;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod trace;

pub use action::{Action, ActionBuilder, ActionCx, ActionDef, ActionResult, BidiStream, InputStream, RunOptions};
pub use config::{client_header, current_env, is_dev_env};
pub use context::{ActionContext, current_context, in_action_runtime, propagate, run_with_context};
pub use error::{Error, Result};
pub use key::{ActionType, ParsedKey, action_key};
pub use metadata::ActionMetadata;
pub use plugin::{DynPlugin, DynamicActionProvider, Plugin, PluginValue};
pub use registry::{Registry, RegistryValue, WeakRegistry};
pub use schema::{SchemaValidator, schema_for};
pub use status::Status;
pub use streaming::{ActionStream, StreamSink};
pub use trace::{Telemetry, TraceIds, current_trace_ids, run, run_span, run_span_with_labels, run_span_with_metadata};

/// A flow: an action of type `flow` with typed input `I`, output `O` and chunks `S`.
pub type Flow<I, O, S = ()> = ActionDef<I, O, S>;

/// Re-exports for plugin authors and macros.
pub mod __private {
    pub use futures;
    pub use schemars;
    pub use serde_json;
}
