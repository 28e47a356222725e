//! Agents served over HTTP (JS `remoteAgent` from `genkit/beta/client`): each turn is one
//! `POST <url>` of `{"data": AgentInput, "init": AgentInit}` answered with the flow
//! protocol's stream frames; snapshots come from `<url>/getSnapshot` and aborts go to
//! `<url>/abort`, as Genkit's flow servers serve them.
//!
//! This crate has no HTTP client: the HTTP side is a [`FlowCaller`]. The flow server crate
//! implements it for its `FlowClient` and offers `genkit_server::remote_agent(url)`.

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use genkit_core::{Error, Result, Status};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::client::{AgentClient, AgentTransport, TurnEvents, chunk_event, decode, output_event};
use super::{AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentStateManagement, GetSnapshotRequest};
use crate::experimental::session::{SessionSnapshot, SnapshotStatus};

/// One frame of a streamed flow call.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowEvent {
    /// `data: {"message": …}`.
    Chunk(Value),
    /// `data: {"result": …}`: the last frame.
    Output(Value),
}

/// HTTP headers sent with each request.
pub type Headers = Vec<(String, String)>;

/// Calls flows with the Genkit flow protocol (object safe). Errors the server sends (an error
/// answer or an `error:` frame) come back as the server's [`Error`].
pub trait FlowCaller: Send + Sync + 'static {
    /// `POST url` with `{"data": data, "init"?: init}`, streaming: the chunks, then the output.
    /// Dropping the stream closes the connection.
    fn stream(
        &self,
        url: &str,
        data: Value,
        init: Option<Value>,
        headers: Headers,
    ) -> BoxStream<'static, Result<FlowEvent>>;

    /// `POST url` with `{"data": data}`: the result.
    fn run(&self, url: &str, data: Value, headers: Headers) -> BoxFuture<'static, Result<Value>>;
}

type HeaderFn = dyn Fn() -> Headers + Send + Sync;

/// Where and how to reach a served agent (JS `RemoteAgentOptions`).
#[derive(Clone)]
pub struct RemoteAgentOptions {
    url: String,
    get_snapshot_url: Option<String>,
    abort_url: Option<String>,
    headers: Option<Arc<HeaderFn>>,
    state_management: Option<AgentStateManagement>,
}

impl fmt::Debug for RemoteAgentOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers usually carry credentials: never printed.
        f.debug_struct("RemoteAgentOptions")
            .field("url", &self.url)
            .field("get_snapshot_url", &self.get_snapshot_url())
            .field("abort_url", &self.abort_url())
            .field("headers", &self.headers.is_some())
            .field("state_management", &self.state_management)
            .finish()
    }
}

impl RemoteAgentOptions {
    /// The agent served at `url`.
    pub fn new(url: impl Into<String>) -> RemoteAgentOptions {
        RemoteAgentOptions {
            url: url.into(),
            get_snapshot_url: None,
            abort_url: None,
            headers: None,
            state_management: None,
        }
    }

    /// The snapshot endpoint (default `<url>/getSnapshot`).
    #[must_use]
    pub fn get_snapshot_url(&self) -> String {
        self.get_snapshot_url.clone().unwrap_or_else(|| format!("{}/getSnapshot", self.url))
    }

    /// The abort endpoint (default `<url>/abort`).
    #[must_use]
    pub fn abort_url(&self) -> String {
        self.abort_url.clone().unwrap_or_else(|| format!("{}/abort", self.url))
    }

    /// The agent's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sets the snapshot endpoint.
    #[must_use]
    pub fn with_get_snapshot_url(mut self, url: impl Into<String>) -> Self {
        self.get_snapshot_url = Some(url.into());
        self
    }

    /// Sets the abort endpoint.
    #[must_use]
    pub fn with_abort_url(mut self, url: impl Into<String>) -> Self {
        self.abort_url = Some(url.into());
        self
    }

    /// Sends these headers with every request (e.g. `authorization`).
    #[must_use]
    pub fn headers<K: Into<String>, V: Into<String>>(self, headers: impl IntoIterator<Item = (K, V)>) -> Self {
        let fixed: Headers = headers.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self.headers_fn(move || fixed.clone())
    }

    /// Computes the headers for each request (e.g. a fresh token).
    #[must_use]
    pub fn headers_fn(mut self, f: impl Fn() -> Headers + Send + Sync + 'static) -> Self {
        self.headers = Some(Arc::new(f));
        self
    }

    /// Declares who keeps the agent's state (otherwise learnt from its first output).
    #[must_use]
    pub fn state_management(mut self, who: AgentStateManagement) -> Self {
        self.state_management = Some(who);
        self
    }

    fn resolve_headers(&self) -> Headers {
        self.headers.as_ref().map(|f| f()).unwrap_or_default()
    }
}

/// The HTTP transport of a remote agent (JS `remoteAgent`'s transport).
pub struct RemoteAgentTransport {
    options: RemoteAgentOptions,
    caller: Arc<dyn FlowCaller>,
}

impl fmt::Debug for RemoteAgentTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteAgentTransport").field("options", &self.options).finish()
    }
}

impl RemoteAgentTransport {
    /// The agent `options` names, called through `caller`.
    pub fn new(options: RemoteAgentOptions, caller: Arc<dyn FlowCaller>) -> RemoteAgentTransport {
        RemoteAgentTransport { options, caller }
    }
}

/// A client of the agent served at `options.url`, over `caller` (JS `remoteAgent`).
pub fn remote_agent_with(options: RemoteAgentOptions, caller: Arc<dyn FlowCaller>) -> AgentClient {
    AgentClient::new(RemoteAgentTransport::new(options, caller))
}

impl AgentTransport for RemoteAgentTransport {
    fn state_management(&self) -> Option<AgentStateManagement> {
        self.options.state_management
    }

    fn run_turn(&self, input: AgentInput, init: AgentInit, cancel: CancellationToken) -> TurnEvents {
        let (data, init) = match (serde_json::to_value(&input), serde_json::to_value(&init)) {
            (Ok(d), Ok(i)) => (d, i),
            (Err(e), _) | (_, Err(e)) => return futures::stream::iter([Err(Error::internal(e))]).boxed(),
        };
        let frames = self.caller.stream(&self.options.url, data, Some(init), self.options.resolve_headers());
        // Aborting closes the connection (the server cancels the turn); the stream then ends
        // without an output, which the chat reports as an aborted turn.
        frames
            .take_until(cancel.cancelled_owned())
            .map(|frame| match frame? {
                FlowEvent::Chunk(c) => chunk_event(c),
                FlowEvent::Output(o) => output_event(o),
            })
            .boxed()
    }

    fn get_snapshot(&self, request: GetSnapshotRequest) -> BoxFuture<'static, Result<Option<SessionSnapshot>>> {
        let data = serde_json::to_value(&request);
        let call = data.map(|d| self.caller.run(&self.options.get_snapshot_url(), d, self.options.resolve_headers()));
        async move {
            match call.map_err(Error::internal)?.await {
                Ok(Value::Null) => Ok(None),
                Ok(v) => decode(v, "snapshot").map(Some),
                Err(e) if e.status() == Status::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        }
        .boxed()
    }

    fn abort(&self, snapshot_id: String) -> BoxFuture<'static, Result<Option<SnapshotStatus>>> {
        let data = serde_json::to_value(AgentAbortRequest { snapshot_id });
        let call = data.map(|d| self.caller.run(&self.options.abort_url(), d, self.options.resolve_headers()));
        async move {
            let out: AgentAbortResponse = decode(call.map_err(Error::internal)?.await?, "abort response")?;
            Ok(out.status)
        }
        .boxed()
    }
}
