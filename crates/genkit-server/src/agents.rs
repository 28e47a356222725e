//! **Experimental**: serving agents over HTTP, with the URL layout Genkit's `remoteAgent`
//! client expects, and (feature `client`) [`remote_agent`], the typed Rust client of a served
//! agent.
//!
//! An agent is three actions: the turn action `/agent/<name>` (bidirectional), the snapshot
//! lookup `/agent-snapshot/<name>` and the abort `/agent-abort/<name>`. Served at `<path>`:
//!
//! - `POST <path>` with `{"data": AgentInput, "init": AgentInit}`: one turn, streamed
//!   (`Accept: text/event-stream`) as `AgentStreamChunk` frames then the `AgentOutput`, or
//!   answered whole;
//! - `POST <path>/getSnapshot` with `{"data": GetSnapshotRequest}`: the `SessionSnapshot`
//!   (404 `NOT_FOUND` when there is none);
//! - `POST <path>/abort` with `{"data": AgentAbortRequest}`: the `AgentAbortResponse`.

use std::fmt;
use std::sync::Arc;

use axum::Router;
use genkit_core::{Action, Error, Registry, Result};

use crate::handler::{HandlerOptions, IntoAction, routes};

/// The actions of one agent to serve (JS: the agent, `agent.getSnapshotDataAction` and
/// `agent.abortAgentAction`).
#[derive(Clone)]
pub struct AgentEndpoints {
    pub(crate) agent: Arc<dyn Action>,
    pub(crate) get_snapshot: Option<Arc<dyn Action>>,
    pub(crate) abort: Option<Arc<dyn Action>>,
}

impl fmt::Debug for AgentEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentEndpoints")
            .field("agent", &self.agent.key())
            .field("get_snapshot", &self.get_snapshot.is_some())
            .field("abort", &self.abort.is_some())
            .finish()
    }
}

impl AgentEndpoints {
    /// Serves only the turn action (an agent without a store has no snapshots to read or
    /// abort).
    pub fn new(agent: impl IntoAction) -> AgentEndpoints {
        AgentEndpoints { agent: agent.into_action(), get_snapshot: None, abort: None }
    }

    /// Serves `action` (the agent's `/agent-snapshot/<name>`) at `<path>/getSnapshot`.
    #[must_use]
    pub fn get_snapshot(mut self, action: impl IntoAction) -> Self {
        self.get_snapshot = Some(action.into_action());
        self
    }

    /// Serves `action` (the agent's `/agent-abort/<name>`) at `<path>/abort`.
    #[must_use]
    pub fn abort(mut self, action: impl IntoAction) -> Self {
        self.abort = Some(action.into_action());
        self
    }

    /// The agent `name` of `registry`: its `/agent/<name>` action and, when registered, its
    /// `/agent-snapshot/<name>` and `/agent-abort/<name>` actions.
    ///
    /// # Errors
    /// `NOT_FOUND` when the registry has no `/agent/<name>`; the registry's errors.
    pub async fn from_registry(registry: &Registry, name: &str) -> Result<AgentEndpoints> {
        let agent = registry
            .lookup_action(&format!("/agent/{name}"))
            .await?
            .ok_or_else(|| Error::not_found(format!("no agent '{name}' is registered (action /agent/{name})")))?;
        Ok(AgentEndpoints {
            agent,
            get_snapshot: registry.lookup_action(&format!("/agent-snapshot/{name}")).await?,
            abort: registry.lookup_action(&format!("/agent-abort/{name}")).await?,
        })
    }

    /// The routes of this agent at `base` (no leading `/`), each with `options` (context
    /// provider, stream manager).
    pub(crate) fn flows(&self, options: HandlerOptions) -> Vec<(Arc<dyn Action>, HandlerOptions)> {
        let base = options.path.clone().unwrap_or_else(|| self.agent.name().to_owned());
        let base = base.trim_end_matches('/').to_owned();
        let mut out = Vec::with_capacity(3);
        if let Some(a) = &self.get_snapshot {
            out.push((a.clone(), options.clone().path(format!("{base}/getSnapshot"))));
        }
        if let Some(a) = &self.abort {
            out.push((a.clone(), options.clone().path(format!("{base}/abort"))));
        }
        out.push((self.agent.clone(), options.path(base)));
        out
    }
}

/// A router serving one agent at `/<path>` (its name unless `options` set a path), with
/// `/<path>/getSnapshot` and `/<path>/abort` beside it and a JSON 404 for other paths (see
/// [`crate::flow_router`] about merging it).
pub fn agent_router(agent: &AgentEndpoints, options: HandlerOptions) -> Router {
    routes(agent.flows(options), "")
}

#[cfg(feature = "client")]
mod client {
    use std::sync::Arc;

    use futures::future::BoxFuture;
    use futures::stream::BoxStream;
    use futures::{FutureExt, StreamExt};
    use genkit_ai::experimental::agent::{
        AgentClient, FlowCaller, FlowEvent, RemoteAgentOptions, remote::Headers, remote_agent_with,
    };
    use genkit_core::Result;
    use serde_json::Value;

    use crate::{FlowClient, FlowStream};

    fn header_refs(headers: &Headers) -> Vec<(&str, &str)> {
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    impl FlowCaller for FlowClient {
        fn stream(
            &self,
            url: &str,
            data: Value,
            init: Option<Value>,
            headers: Headers,
        ) -> BoxStream<'static, Result<FlowEvent>> {
            let (client, url) = (self.clone(), url.to_owned());
            let started = async move {
                client.stream_with_init::<Value, Value, Value>(&url, &data, init.as_ref(), &header_refs(&headers)).await
            };
            futures::stream::once(started)
                .flat_map(|started: Result<FlowStream<Value, Value>>| match started {
                    Err(e) => futures::stream::iter([Err(e)]).boxed(),
                    Ok(frames) => futures::stream::unfold(Some(frames), |frames| async move {
                        let mut frames = frames?;
                        match frames.next().await {
                            Some(Ok(chunk)) => Some((Ok(FlowEvent::Chunk(chunk)), Some(frames))),
                            Some(Err(e)) => Some((Err(e), None)),
                            None => Some((frames.output().await.map(FlowEvent::Output), None)),
                        }
                    })
                    .boxed(),
                })
                .boxed()
        }

        fn run(&self, url: &str, data: Value, headers: Headers) -> BoxFuture<'static, Result<Value>> {
            let (client, url) = (self.clone(), url.to_owned());
            async move { client.run::<Value, Value>(&url, &data, &header_refs(&headers)).await }.boxed()
        }
    }

    /// A client of the agent served at `url` (JS `remoteAgent({url})`): turns at `url`,
    /// snapshots at `<url>/getSnapshot`, aborts at `<url>/abort`.
    ///
    /// ```no_run
    /// # async fn demo() -> genkit_core::Result<()> {
    /// let agent = genkit_server::remote_agent("http://127.0.0.1:3400/assistant");
    /// let mut chat = agent.chat();
    /// println!("{}", chat.send("Hello!").await?.text());
    /// # Ok(()) }
    /// ```
    pub fn remote_agent(url: impl Into<String>) -> AgentClient {
        remote_agent_options(RemoteAgentOptions::new(url))
    }

    /// [`remote_agent`] with options (other endpoint URLs, headers, state management), over
    /// a new [`FlowClient`].
    pub fn remote_agent_options(options: RemoteAgentOptions) -> AgentClient {
        remote_agent_with(options, Arc::new(FlowClient::new()))
    }
}

#[cfg(feature = "client")]
pub use client::{remote_agent, remote_agent_options};
