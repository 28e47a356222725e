//! `Part` and its payloads (text, media, tool request/response, data, custom, reasoning,
//! resource), exactly as the wire schema's `Part` union.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Deserializes a present JSON value, keeping `null` as `Some(Value::Null)` (absent stays
/// `None`), so `{"data": null}` round-trips.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Deserializes a present JSON value into a box, keeping `null` as `Some` (see [`present`]).
pub(crate) fn present_boxed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<Value>>, D::Error> {
    Value::deserialize(d).map(|v| Some(Box::new(v)))
}

/// A piece of message content. On the wire a part is an object with one payload key
/// (`text`, `media`, `toolRequest`, `toolResponse`, `data`, `custom`, `reasoning`,
/// `resource`) and optional `metadata`; this struct mirrors that shape field for field so
/// every valid part round-trips unchanged. The large payloads are boxed, so a text part (the
/// common case, and every streamed chunk's) stays small to move.
///
/// ```
/// use genkit_ai::Part;
/// let p = Part::text("hi");
/// assert_eq!(serde_json::to_value(&p).unwrap(), serde_json::json!({"text": "hi"}));
/// assert_eq!(p.as_text(), Some("hi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// Text content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media content (a URL or data URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Box<Media>>,
    /// A request from the model to call a tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_request: Option<Box<ToolRequest>>,
    /// The result of a tool call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_response: Option<Box<ToolResponse>>,
    /// Structured data.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present_boxed")]
    pub data: Option<Box<Value>>,
    /// Provider-specific content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Box<Map<String, Value>>>,
    /// Model reasoning ("thinking") text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// A reference to a resource, expanded before the model call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// Media: a URL (`https:`, `gs:`, or a `data:` URL) and an optional MIME type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// MIME type, e.g. `image/png`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The URL.
    pub url: String,
}

/// A tool call requested by a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolRequest {
    /// Call id, matched by the response's `ref`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Tool name.
    pub name: String,
    /// Tool input.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub input: Option<Value>,
    /// Whether the request is still being streamed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<bool>,
}

/// The result of a tool call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolResponse {
    /// The `ref` of the request it answers.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Tool name.
    pub name: String,
    /// Tool output.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub output: Option<Value>,
    /// Multipart content (for multipart tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<Part>>,
}

/// A resource reference part payload: `{uri}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ResourceRef {
    /// The resource URI.
    pub uri: String,
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Part {
        Part { text: Some(text.into()), ..Part::default() }
    }

    /// A media part.
    pub fn media(url: impl Into<String>, content_type: Option<String>) -> Part {
        Part { media: Some(Box::new(Media { url: url.into(), content_type })), ..Part::default() }
    }

    /// A data part.
    pub fn data(data: Value) -> Part {
        Part { data: Some(Box::new(data)), ..Part::default() }
    }

    /// A reasoning part.
    pub fn reasoning(text: impl Into<String>) -> Part {
        Part { reasoning: Some(text.into()), ..Part::default() }
    }

    /// A tool request part.
    pub fn tool_request(name: impl Into<String>, input: Option<Value>, reference: Option<String>) -> Part {
        Part {
            tool_request: Some(Box::new(ToolRequest { reference, name: name.into(), input, partial: None })),
            ..Part::default()
        }
    }

    /// A tool response part.
    pub fn tool_response(name: impl Into<String>, output: Option<Value>, reference: Option<String>) -> Part {
        Part {
            tool_response: Some(Box::new(ToolResponse { reference, name: name.into(), output, content: None })),
            ..Part::default()
        }
    }

    /// A resource part.
    pub fn resource(uri: impl Into<String>) -> Part {
        Part { resource: Some(ResourceRef { uri: uri.into() }), ..Part::default() }
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: Value) -> Part {
        self.metadata.get_or_insert_with(Map::new).insert(key.into(), value);
        self
    }

    /// The text, for text parts.
    pub fn as_text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Whether this is a text part.
    pub fn is_text(&self) -> bool {
        self.text.is_some()
    }

    /// The media, for media parts.
    pub fn as_media(&self) -> Option<&Media> {
        self.media.as_deref()
    }

    /// The tool request, for tool request parts.
    pub fn as_tool_request(&self) -> Option<&ToolRequest> {
        self.tool_request.as_deref()
    }

    /// The tool response, for tool response parts.
    pub fn as_tool_response(&self) -> Option<&ToolResponse> {
        self.tool_response.as_deref()
    }

    /// The data, for data parts.
    pub fn as_data(&self) -> Option<&Value> {
        self.data.as_deref()
    }

    /// A metadata entry.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata.as_ref().and_then(|m| m.get(key))
    }

    /// Whether this is a tool request that was interrupted (`metadata.interrupt` set).
    pub fn is_interrupt(&self) -> bool {
        self.tool_request.is_some()
            && self.metadata_value("interrupt").is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)))
    }
}

impl From<&str> for Part {
    fn from(s: &str) -> Part {
        Part::text(s)
    }
}

impl From<String> for Part {
    fn from(s: String) -> Part {
        Part::text(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts and chunks are moved on every streamed chunk: the large payloads stay boxed.
    #[test]
    fn parts_and_chunks_stay_small() {
        assert!(std::mem::size_of::<Part>() <= 192, "Part is {} bytes", std::mem::size_of::<Part>());
        let chunk = std::mem::size_of::<crate::ModelResponseChunk>();
        assert!(chunk <= 64, "ModelResponseChunk is {chunk} bytes");
    }

    #[test]
    fn boxed_payloads_round_trip() {
        let v = serde_json::json!([
            {"data": null},
            {"data": {"a": 1}},
            {"media": {"url": "https://x/y.png", "contentType": "image/png"}},
            {"toolRequest": {"name": "t", "ref": "1", "input": {"q": 1}}},
            {"toolResponse": {"name": "t", "ref": "1", "output": 2}},
            {"custom": {"k": true}}
        ]);
        let parts: Vec<Part> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(parts[0].as_data(), Some(&Value::Null));
        assert_eq!(parts[3].as_tool_request().map(|t| t.name.as_str()), Some("t"));
        assert_eq!(serde_json::to_value(&parts).unwrap(), v);
    }
}
