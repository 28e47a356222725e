//! Agents (Genkit 1.42 `defineAgent`, `definePromptAgent`, `defineCustomAgent`): multi-turn
//! conversations served as the bidi action `/agent/<name>`, with their state kept by the
//! client or in a [`SessionStore`](super::session::SessionStore).
//!
//! This module holds the wire types every part of the agent surface shares, the agent
//! runtime ([`define_custom_agent`], [`define_prompt_agent`], [`define_agent`] and the
//! [`SessionRunner`] turn loop), and the typed client ([`AgentClient`], [`AgentChat`]) over an
//! in-process or remote transport.

pub mod client;
mod define;
#[cfg(any(test, feature = "testing"))]
pub mod fixture;
mod prompt_agent;
pub mod remote;
mod runner;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
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
