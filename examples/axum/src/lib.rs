//! Mounting Genkit flows in your own axum app: `genkit::server::flow_router` serves every flow
//! with the Genkit flow protocol (`POST /<flow> {"data": …}` → `{"result": …}`, what the Genkit
//! JS client and `genkit::server::run_flow` speak), merged into a `Router` with routes of your
//! own. One of them runs a flow and uses `?` on it: `ErrorResponse` turns a Genkit error into
//! the matching HTTP status and JSON body (feature `server`).
//!
//! Needs no API key. Run with `cargo run -p example-axum` (port `PORT`, default 3400), then:
//!
//! ```text
//! curl -s localhost:3400/greet -H 'content-type: application/json' -d '{"data": "Ada"}'
//! curl -s localhost:3400/hello/Ada
//! curl -s localhost:3400/health
//! ```
//!
//! The setup lives in [`build_app`] so that tests can serve it.

use genkit::Flow;
use genkit::prelude::*;
use genkit::server::axum::Router;
use genkit::server::axum::extract::{Path, State};
use genkit::server::axum::routing::get;
use genkit::server::{ErrorResponse, flow_router};

/// Builds the app: the `greet` and `shout` flows at `/greet` and `/shout`, and the app's own
/// `GET /health` and `GET /hello/{name}`.
///
/// # Errors
/// When the Genkit instance cannot be built.
pub async fn build_app() -> Result<Router> {
    let g = Genkit::builder().build().await?;
    let greet = g.define_flow("greet", |name: String, _cx| async move {
        if name.trim().is_empty() {
            return Err(Error::invalid_argument("a name is required"));
        }
        Ok(format!("Hello, {name}!"))
    });
    g.define_flow("shout", |text: String, _cx| async move { Ok(text.to_uppercase()) });

    let own_routes =
        Router::new().route("/health", get(|| async { "ok" })).route("/hello/{name}", get(hello)).with_state(greet);
    // `g.flows()` is every flow defined so far; each is served at `/<name>`.
    Ok(own_routes.merge(flow_router(g.flows())))
}

/// One of the app's own handlers: runs the `greet` flow in process; `?` answers a failed run
/// with its status (`INVALID_ARGUMENT` → 400) and `{"status", "message"}`.
async fn hello(State(greet): State<Flow<String, String>>, Path(name): Path<String>) -> Result<String, ErrorResponse> {
    let greeting = greet.run(name).await?;
    Ok(format!("{greeting} (from my own route)"))
}
