//! Agents (Genkit 1.42 `defineAgent`, `definePromptAgent`, `defineCustomAgent`): multi-turn
//! conversations served as the bidi action `/agent/<name>`, with their state kept by the
//! client or in a [`SessionStore`](super::session::SessionStore).
//!
<<<<<<< HEAD
//! This module holds the wire types every part of the agent surface shares, and the agent
//! runtime: [`define_custom_agent`], [`define_prompt_agent`], [`define_agent`] and the
//! [`SessionRunner`] turn loop.

mod define;
mod prompt_agent;
mod runner;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
=======
//! This module holds the wire types every part of the agent surface shares, and the typed
//! client ([`AgentClient`], [`AgentChat`]) over an in-process or remote transport.

pub mod client;
#[cfg(any(test, feature = "testing"))]
pub mod fixture;
pub mod remote;
>>>>>>> agentclient
mod types;

pub use define::{
    Agent, AgentAction, AgentFnCx, AgentOptions, ClientTransform, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT,
    abort_in_store, define_custom_agent,
};
pub use prompt_agent::{define_agent, define_prompt_agent, validate_resume_against_history};
pub use runner::{SessionRunner, TurnContext, TurnResult};
pub use types::{
    AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentMetadata, AgentOutput, AgentResult, AgentResume,
    AgentStateManagement, AgentStreamChunk, GetSnapshotRequest, TurnEnd,
};

pub use client::{
    AgentChat, AgentChunk, AgentClient, AgentFailure, AgentInterrupt, AgentResponse, AgentTransport, AgentTurn,
    DetachedTask, RegistryAgentTransport, TurnEvent, TurnEvents,
};
pub use remote::{FlowCaller, FlowEvent, RemoteAgentOptions, RemoteAgentTransport, remote_agent_with};
