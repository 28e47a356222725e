//! The wire types of sessions and snapshots (`SessionState`, `Artifact`, `SessionSnapshot`,
//! `SnapshotStatus`, `AgentFinishReason` in genkit-schema.json).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{FinishReason, Message, Part, RuntimeError};

/// What a conversation keeps between turns (wire `SessionState`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionState {
    /// The session this state belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The conversation so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// App-defined state (validated against the agent's state schema, if it has one).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::types::part::present")]
    pub custom: Option<Value>,
    /// Named outputs of the conversation (documents, code, images), one per name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
}

/// A named output of a conversation (wire `Artifact`). Adding one with the name of an
/// existing one replaces it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The name; artifacts without one are never replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The content.
    pub parts: Vec<Part>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl Artifact {
    /// A named artifact with these parts.
    pub fn new(name: impl Into<String>, parts: Vec<Part>) -> Artifact {
        Artifact { name: Some(name.into()), parts, metadata: None }
    }
}

/// The lifecycle of a snapshot (wire `SnapshotStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SnapshotStatus {
    /// A detached turn is still running (its heartbeat is recent).
    Pending,
    /// An abort was requested and the running turn has not stopped yet.
    Aborting,
    /// The turn finished; only completed snapshots can be resumed.
    Completed,
    /// The turn was aborted.
    Aborted,
    /// The turn failed; the snapshot's `error` says why.
    Failed,
    /// A pending snapshot whose heartbeat stopped: the process running it is gone.
    Expired,
}

impl SnapshotStatus {
    /// The wire name (`"pending"`, `"completed"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotStatus::Pending => "pending",
            SnapshotStatus::Aborting => "aborting",
            SnapshotStatus::Completed => "completed",
            SnapshotStatus::Aborted => "aborted",
            SnapshotStatus::Failed => "failed",
            SnapshotStatus::Expired => "expired",
        }
    }
}

/// Why an agent turn ended (wire `AgentFinishReason`): a model's reasons plus `aborted`,
/// `detached` and `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AgentFinishReason {
    /// Natural stop.
    Stop,
    /// Token limit reached.
    Length,
    /// Blocked by safety filters.
    Blocked,
    /// A tool interrupted the turn; resume it with `respond`/`restart`.
    Interrupted,
    /// Another reason.
    Other,
    /// Unknown.
    Unknown,
    /// The turn was aborted.
    Aborted,
    /// The client detached; the turn goes on in the background.
    Detached,
    /// The turn failed.
    Failed,
}

impl From<FinishReason> for AgentFinishReason {
    fn from(r: FinishReason) -> Self {
        match r {
            FinishReason::Stop => AgentFinishReason::Stop,
            FinishReason::Length => AgentFinishReason::Length,
            FinishReason::Blocked => AgentFinishReason::Blocked,
            FinishReason::Interrupted => AgentFinishReason::Interrupted,
            FinishReason::Aborted => AgentFinishReason::Aborted,
            FinishReason::Failed => AgentFinishReason::Failed,
            FinishReason::Other => AgentFinishReason::Other,
            _ => AgentFinishReason::Unknown,
        }
    }
}

/// A saved state of a session (wire `SessionSnapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionSnapshot {
    /// The id. A store fills it in when a snapshot is saved without one.
    pub snapshot_id: String,
    /// The session it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The snapshot this one continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// When it was created (ISO-8601 UTC).
    pub created_at: String,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The last heartbeat of the detached turn writing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<String>,
    /// Its lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
    /// Why the turn that wrote it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
    /// Why the turn failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RuntimeError>,
    /// The session state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
}

impl SessionSnapshot {
    /// A snapshot with this id (empty: the store assigns one), created now.
    pub fn new(snapshot_id: impl Into<String>) -> SessionSnapshot {
        SessionSnapshot {
            snapshot_id: snapshot_id.into(),
            created_at: genkit_core::time::now_iso(),
            ..SessionSnapshot::default()
        }
    }

    /// Sets the session id.
    #[must_use]
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the parent snapshot.
    #[must_use]
    pub fn with_parent(mut self, id: impl Into<String>) -> Self {
        self.parent_id = Some(id.into());
        self
    }

    /// Sets the status.
    #[must_use]
    pub fn with_status(mut self, status: SnapshotStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Sets the state.
    #[must_use]
    pub fn with_state(mut self, state: SessionState) -> Self {
        self.state = Some(state);
        self
    }

    /// The session it belongs to: `sessionId`, else its state's `sessionId` (as JS looks it up).
    pub fn owner(&self) -> Option<&str> {
        self.session_id.as_deref().or_else(|| self.state.as_ref().and_then(|s| s.session_id.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn snapshots_round_trip_the_wire_shape_with_optional_fields_omitted() {
        let wire = json!({
            "snapshotId": "a", "sessionId": "s", "parentId": "p", "createdAt": "2026-12-06T00:00:00.000Z",
            "status": "completed", "finishReason": "detached",
            "error": {"status": "INTERNAL", "message": "boom"},
            "state": {"sessionId": "s", "messages": [{"role": "user", "content": [{"text": "hi"}]}],
                      "custom": {"n": 1}, "artifacts": [{"name": "doc", "parts": [{"text": "v1"}]}]}
        });
        let s: SessionSnapshot = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(s.status, Some(SnapshotStatus::Completed));
        assert_eq!(s.finish_reason, Some(AgentFinishReason::Detached));
        assert_eq!(serde_json::to_value(&s).unwrap(), wire);
        let bare = json!({"snapshotId": "b", "createdAt": "x"});
        let s: SessionSnapshot = serde_json::from_value(bare.clone()).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), bare);
    }

    #[test]
    fn a_null_custom_state_is_kept_apart_from_none() {
        let s: SessionState = serde_json::from_value(json!({"custom": null})).unwrap();
        assert_eq!(s.custom, Some(Value::Null));
        assert_eq!(serde_json::to_value(&s).unwrap(), json!({"custom": null}));
    }

    #[test]
    fn every_status_has_its_wire_name() {
        for s in [
            SnapshotStatus::Pending,
            SnapshotStatus::Aborting,
            SnapshotStatus::Completed,
            SnapshotStatus::Aborted,
            SnapshotStatus::Failed,
            SnapshotStatus::Expired,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
    }
}
