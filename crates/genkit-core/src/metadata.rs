//! `ActionMetadata`, the wire description of an action.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ActionType;

/// Describes an action: serialized exactly as the wire schema's `ActionMetadata`
/// (camelCase, optional fields omitted). JSON schemas are carried as JSON.
///
/// ```
/// use genkit_core::{ActionMetadata, ActionType};
/// let m = ActionMetadata::new(ActionType::Flow, "hello");
/// assert_eq!(
///     serde_json::to_value(&m).unwrap(),
///     serde_json::json!({"actionType": "flow", "key": "/flow/hello", "name": "hello"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionMetadata {
    /// The action type.
    pub action_type: ActionType,
    /// The registry key `/<type>/<name>`.
    #[serde(default)]
    pub key: Arc<str>,
    /// The action name (`plugin/name` for plugin actions).
    pub name: Arc<str>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON schema of the input.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "inputJsonSchema")]
    pub input_schema: Option<Value>,
    /// JSON schema of the output.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "outputJsonSchema")]
    pub output_schema: Option<Value>,
    /// JSON schema of streamed chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_schema: Option<Value>,
    /// JSON schema of the `init` value of bidirectional actions (1.42).
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "initJsonSchema")]
    pub init_schema: Option<Value>,
    /// Type-specific metadata (`model`, `type`, `bidi`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

impl ActionMetadata {
    /// Metadata with a type and name; the key is derived.
    pub fn new(action_type: ActionType, name: impl Into<String>) -> Self {
        let name: String = name.into();
        ActionMetadata {
            action_type,
            key: crate::action_key(action_type, &name).into(),
            name: name.into(),
            description: None,
            input_schema: None,
            output_schema: None,
            stream_schema: None,
            init_schema: None,
            metadata: None,
        }
    }

    /// Sets the name and re-derives the key.
    pub fn set_name(&mut self, name: impl Into<String>) {
        let name: String = name.into();
        self.key = crate::action_key(self.action_type, &name).into();
        self.name = name.into();
    }

    /// Inserts one `metadata` entry.
    pub fn insert_metadata(&mut self, key: impl Into<String>, value: Value) {
        self.metadata.get_or_insert_with(Map::new).insert(key.into(), value);
    }

    /// Reads one `metadata` entry.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata.as_ref()?.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_wire_json() {
        let wire = json!({
            "actionType": "model",
            "key": "/model/test/echo",
            "name": "test/echo",
            "description": "echoes",
            "inputSchema": {"type": "object"},
            "outputSchema": {"type": "object"},
            "metadata": {"model": {"supports": {"multiturn": true}}}
        });
        let m: ActionMetadata = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), wire);
        assert_eq!(m.metadata_value("model").unwrap()["supports"]["multiturn"], true);
    }

    #[test]
    fn accepts_json_schema_aliases() {
        let m: ActionMetadata = serde_json::from_value(json!({
            "actionType": "tool", "name": "t", "inputJsonSchema": {"type": "string"}
        }))
        .unwrap();
        assert_eq!(m.input_schema, Some(json!({"type": "string"})));
        assert_eq!(&*m.key, "");
    }
}
