//! Serve Genkit flows over HTTP with [axum], speaking the Genkit flow protocol of Genkit JS's
//! express plugin, so the official JS client (`genkit/beta/client`) and web apps can call them.
//!
//! # Serving
//! [`start_flow_server`] binds a port (`PORT` or 3400) and serves each flow at
//! `POST /<name>`, with CORS, a body limit and graceful shutdown on SIGTERM/Ctrl-C. To mount
//! flows in your own axum app, use [`flow_handler`] (one flow, a `MethodRouter`) or
//! [`flow_router`] (a `Router`).
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> genkit_core::Result<()> {
//! use genkit_core::{ActionCx, ActionDef, ActionType};
//! use genkit_server::{FlowServerOptions, HandlerOptions, api_key, start_flow_server};
//!
//! let shout = ActionDef::builder(ActionType::Flow, "shout")
//!     .build(|s: String, _cx: ActionCx<()>| async move { Ok(s.to_uppercase()) });
//! let server = start_flow_server(
//!     FlowServerOptions::new()
//!         .flow(&shout)
//!         .flow_with(&shout, HandlerOptions::new().path("private/shout").context_provider(api_key("secret"))),
//! )
//! .await?;
//! println!("Flow server running on http://{}", server.local_addr());
//! server.wait().await
//! # }
//! ```
//!
//! # Protocol
//! `POST {"data": <input>}` (plus `"init"` for bidirectional flows) answers
//! `200 {"result": <output>}` with `x-genkit-trace-id`/`x-genkit-span-id`, or the error's HTTP
//! status and `{"status", "message", "details"?}`. With `Accept: text/event-stream` or
//! `?stream=true` the answer streams `data: {"message": <chunk>}\n\n` frames, then
//! `data: {"result": <output>}\n\n` or `error: {"error": {…}}\n\n`. A client that disconnects
//! cancels the flow (its [`ActionCx::cancellation`](genkit_core::ActionCx::cancellation) token
//! fires).
//!
//! # Context providers
//! A [`ContextProvider`] turns [`RequestData`] (method, lower-cased headers, input) into the
//! flow's [`ActionContext`](genkit_core::ActionContext), or rejects the request (401/403 …).
//! [`api_key`], [`api_key_any`] and [`api_key_policy`] check the `Authorization` header.
//!
//! # Durable streams
//! With a [`StreamManager`] (e.g. [`InMemoryStreamManager`]) a streamed run gets an
//! `x-genkit-stream-id`; a request carrying that header re-subscribes (replay, then live).
//!
//! # Client
//! With the `client` feature, `run_flow`, `stream_flow` and `FlowClient` call served flows.
//!
//! # Agents (experimental)
//! [`FlowServerOptions::agent`] serves an agent's turn action at `/<name>` and its snapshot
//! and abort actions at `/<name>/getSnapshot` and `/<name>/abort`, the layout Genkit's
//! `remoteAgent` client expects; with the `client` feature, `remote_agent` is the typed
//! Rust client of such an agent.
//!
//! See `docs/flow-server.md` for the whole guide.
#![deny(unsafe_code)]

mod agents;
#[cfg(feature = "client")]
mod client;
mod context;
mod durable;
mod error;
mod frame;
mod handler;
mod server;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use agents::{AgentEndpoints, agent_router};
#[cfg(feature = "client")]
pub use agents::{remote_agent, remote_agent_options};
#[cfg(feature = "client")]
pub use client::{FlowClient, FlowStream, run_flow, stream_flow};
pub use context::{ApiKey, ContextProvider, RequestData, api_key, api_key_any, api_key_policy};
pub use durable::{
    DEFAULT_STREAM_TTL, InMemoryStreamManager, StreamEvent, StreamManager, StreamWriter, stream_not_found,
};
pub use error::ErrorResponse;
pub use frame::{SPAN_ID_HEADER, STREAM_ID_HEADER, TRACE_ID_HEADER};
pub use handler::{HandlerOptions, IntoAction, flow_handler, flow_handler_with, flow_router};
pub use server::{
    DEFAULT_BODY_LIMIT, DEFAULT_PORT, FlowServer, FlowServerOptions, default_cors, port_from_env, start_flow_server,
};

/// Re-exported so callers can name the router types without depending on axum themselves.
pub use axum;
