//! Agents (Genkit 1.42 `defineAgent`, `definePromptAgent`, `defineCustomAgent`): multi-turn
//! conversations served as the bidi action `/agent/<name>`, with their state kept by the
//! client or in a [`SessionStore`](super::session::SessionStore).
//!
//! This module holds the wire types every part of the agent surface shares.

mod types;

pub use types::{
    AgentAbortRequest, AgentAbortResponse, AgentInit, AgentInput, AgentMetadata, AgentOutput, AgentResult, AgentResume,
    AgentStateManagement, AgentStreamChunk, GetSnapshotRequest, TurnEnd,
};
