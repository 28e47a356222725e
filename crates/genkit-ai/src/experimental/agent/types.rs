//! The agent wire types (`AgentInput`, `AgentInit`, `AgentOutput`, `AgentStreamChunk`,
//! `TurnEnd`, `GetSnapshotRequest`, `AgentAbortRequest`, `AgentAbortResponse`,
//! `AgentMetadata`, `AgentResult` in genkit-schema.json).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::experimental::session::{AgentFinishReason, Artifact, SessionState, SnapshotStatus};
use crate::{Message, ModelResponseChunk, Part, RuntimeError};

/// Tool answers and restarts that resume an interrupted turn (wire `AgentInput.resume`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentResume {
    /// `toolResponse` parts answering interrupted tool requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond: Option<Vec<Part>>,
    /// `toolRequest` parts to run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Vec<Part>>,
}

/// One input of an agent's input stream: a turn (wire `AgentInput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentInput {
    /// Detach: the server answers at once and the turn goes on in the background.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detach: Option<bool>,
    /// The user's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Resumes an interrupted turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<AgentResume>,
}

/// How an agent run starts (wire `AgentInit`): from a snapshot or session of the agent's
/// store (server-managed state) or from state the client sends (client-managed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentInit {
    /// Continue this session (its latest leaf snapshot), or start it fresh under this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Continue from this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Client-managed state to continue from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
}

/// What an agent run returns (wire `AgentOutput`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentOutput {
    /// The session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The snapshot saved by the last turn (server-managed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// The whole state (client-managed state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SessionState>,
    /// The last message of the last turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// The session's artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Why the last turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
    /// Why the run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RuntimeError>,
}

/// The end of one turn in an agent's stream (wire `TurnEnd`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnEnd {
    /// The snapshot saved for the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Why the turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
}

/// One chunk of an agent's stream (wire `AgentStreamChunk`); exactly one field is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentStreamChunk {
    /// A chunk of the model's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_chunk: Option<ModelResponseChunk>,
    /// An RFC 6902 JSON Patch of the custom state (the first of a turn replaces the whole
    /// document: `[{"op": "replace", "path": "", "value": ...}]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<Value>")]
    pub custom_patch: Option<json_patch::Patch>,
    /// An added or replaced artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The end of a turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_end: Option<TurnEnd>,
}

/// The input of `/agent-snapshot/<name>` (wire `GetSnapshotRequest`): one of the two ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GetSnapshotRequest {
    /// The snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// The session (its latest leaf snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Leave the state out of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata_only: Option<bool>,
}

/// The input of `/agent-abort/<name>` (wire `AgentAbortRequest`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentAbortRequest {
    /// The snapshot of the running (detached) turn.
    pub snapshot_id: String,
}

/// The output of `/agent-abort/<name>` (wire `AgentAbortResponse`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentAbortResponse {
    /// The snapshot.
    pub snapshot_id: String,
    /// Its status before the abort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SnapshotStatus>,
}

/// Who keeps an agent's state between runs (wire `AgentStateManagement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AgentStateManagement {
    /// The agent's session store; clients name a snapshot or session.
    Server,
    /// The client, which sends the state with each run and gets it back.
    Client,
}

/// The `agent` entry of an agent action's metadata (wire `AgentMetadata`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentMetadata {
    /// Who keeps the state.
    pub state_management: AgentStateManagement,
    /// Whether runs can be aborted (the store can watch snapshots).
    pub abortable: bool,
    /// The JSON schema of the custom state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_schema: Option<Map<String, Value>>,
}

/// What a custom agent's turn returns (wire `AgentResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentResult {
    /// The answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Artifacts of the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<Artifact>>,
    /// Why the turn ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<AgentFinishReason>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agent_wire_types_round_trip() {
        let chunk = json!({"customPatch": [{"op": "replace", "path": "", "value": {"n": 1}}]});
        let c: AgentStreamChunk = serde_json::from_value(chunk.clone()).unwrap();
        assert_eq!(serde_json::to_value(&c).unwrap(), chunk);
        let end = json!({"turnEnd": {"snapshotId": "s1", "finishReason": "stop"}});
        let c: AgentStreamChunk = serde_json::from_value(end.clone()).unwrap();
        assert_eq!(serde_json::to_value(&c).unwrap(), end);
        let input = json!({"message": {"role": "user", "content": [{"text": "hi"}]},
            "resume": {"respond": [{"toolResponse": {"name": "t", "ref": "1", "output": 1}}]}});
        let i: AgentInput = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(serde_json::to_value(&i).unwrap(), input);
        let out = json!({"sessionId": "s", "finishReason": "failed", "error": {"status": "INTERNAL", "message": "x"}});
        let o: AgentOutput = serde_json::from_value(out.clone()).unwrap();
        assert_eq!(serde_json::to_value(&o).unwrap(), out);
        let meta = json!({"stateManagement": "server", "abortable": true});
        let m: AgentMetadata = serde_json::from_value(meta.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), meta);
    }
}
