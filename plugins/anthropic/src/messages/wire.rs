//! The Messages API's JSON shapes: the request body the plugin sends and the message,
//! usage and stream events it reads. Content blocks the plugin does not model (new server
//! tool results, compaction blocks, …) travel as raw JSON so nothing is lost.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /v1/messages` body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessagesRequest {
    /// The model id at the API.
    pub model: String,
    /// `max_tokens`.
    pub max_tokens: u32,
    /// Top-level system prompt: a string, or text blocks when one carries `cache_control`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    /// The conversation.
    pub messages: Vec<MessageParam>,
    /// Function tools, then server tools from the config.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    /// `tool_choice`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// `temperature`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// `top_p`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// `top_k`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// `stop_sequences`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// `metadata`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// `thinking`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// `output_config` (effort, task budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_config: Option<Map<String, Value>>,
    /// `output_format` (structured output: `{"type":"json_schema","schema":…}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format: Option<Value>,
    /// `stream: true` for SSE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Config keys passed through unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The top-level `system` field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    /// A plain string.
    Text(String),
    /// Text blocks (needed for `cache_control`).
    Blocks(Vec<Block>),
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageParam {
    /// `user` or `assistant`.
    pub role: &'static str,
    /// Its content blocks.
    pub content: Vec<Block>,
}

/// A content block the plugin sends: a known kind, or raw JSON (server tool blocks sent back
/// as they came, custom documents, blocks of kinds newer than this plugin).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Block {
    /// A known block.
    Known(KnownBlock),
    /// Any other block, as JSON.
    Raw(Value),
}

/// The block kinds the plugin builds.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KnownBlock {
    /// `text`.
    Text {
        /// The text.
        text: String,
        /// `cache_control`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// `image`.
    Image {
        /// Where the image is.
        source: Source,
        /// `cache_control`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// `document` (PDF, plain text, custom content, file).
    Document {
        /// Where the document is.
        source: Source,
        /// `title`.
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// `context`.
        #[serde(skip_serializing_if = "Option::is_none")]
        context: Option<String>,
        /// `citations` (`{"enabled": true}`).
        #[serde(skip_serializing_if = "Option::is_none")]
        citations: Option<Value>,
        /// `cache_control`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// `tool_use` (a tool call the model made earlier).
    ToolUse {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: Value,
        /// `cache_control`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// `tool_result`.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// Text and image blocks.
        content: Vec<Block>,
        /// `is_error`.
        #[serde(skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
        /// `cache_control`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<Value>,
    },
    /// `thinking` sent back with its signature.
    Thinking {
        /// The thinking text.
        thinking: String,
        /// Its signature.
        signature: String,
    },
    /// `redacted_thinking` sent back unchanged.
    RedactedThinking {
        /// The encrypted thinking.
        data: String,
    },
}

/// A media source.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// Inline base64 data.
    Base64 {
        /// MIME type.
        media_type: String,
        /// Base64 data.
        data: String,
    },
    /// A URL the API fetches.
    Url {
        /// The URL.
        url: String,
    },
    /// Plain text (documents).
    Text {
        /// `text/plain`.
        media_type: String,
        /// The text.
        data: String,
    },
    /// A file of the Files API (beta).
    File {
        /// The file id.
        file_id: String,
    },
    /// Custom content blocks (documents).
    Content {
        /// The blocks.
        content: Vec<Value>,
    },
}

/// A whole message (the non-streamed answer, `message_start`'s message, a batch result).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MessageResponse {
    /// `msg_…`.
    #[serde(default)]
    pub id: Option<String>,
    /// The model that answered.
    #[serde(default)]
    pub model: Option<String>,
    /// Content blocks.
    #[serde(default)]
    pub content: Vec<Value>,
    /// `stop_reason`.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// `stop_sequence`.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// `usage`.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// `container` (code execution).
    #[serde(default)]
    pub container: Option<Value>,
}

/// `usage` (cache and server tool counts included). Every field is optional: streams and
/// batch results omit some.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Usage {
    /// Input tokens not read from or written to the cache.
    #[serde(default)]
    pub input_tokens: Option<u64>,
    /// Output tokens (thinking included).
    #[serde(default)]
    pub output_tokens: Option<u64>,
    /// Input tokens written to the cache.
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
    /// Cache writes by TTL.
    #[serde(default)]
    pub cache_creation: Option<Map<String, Value>>,
    /// Server tool requests (`web_search_requests`, `web_fetch_requests`).
    #[serde(default)]
    pub server_tool_use: Option<Map<String, Value>>,
    /// `service_tier`.
    #[serde(default)]
    pub service_tier: Option<String>,
}

impl Usage {
    /// Takes every field `later` has (a `message_delta`'s cumulative usage).
    pub(crate) fn merge(&mut self, later: Usage) {
        macro_rules! take {
            ($($f:ident),*) => { $( if later.$f.is_some() { self.$f = later.$f; } )* };
        }
        take!(
            input_tokens,
            output_tokens,
            cache_creation_input_tokens,
            cache_read_input_tokens,
            cache_creation,
            server_tool_use,
            service_tier
        );
    }
}

/// One SSE event's data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message starts (id, model, input usage).
    MessageStart {
        /// The message so far.
        message: MessageResponse,
    },
    /// A content block starts.
    ContentBlockStart {
        /// Its index in the message.
        index: usize,
        /// The block as it starts (complete for server tool results).
        content_block: Value,
    },
    /// More of a block.
    ContentBlockDelta {
        /// The block's index.
        index: usize,
        /// The delta.
        delta: Delta,
    },
    /// A block is complete.
    ContentBlockStop {
        /// The block's index.
        index: usize,
    },
    /// Stop reason and cumulative usage.
    MessageDelta {
        /// `stop_reason`, `stop_sequence`, `container`.
        #[serde(default)]
        delta: MessageDeltaBody,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<Usage>,
    },
    /// The message is complete.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// An error after the stream started.
    Error {
        /// `{"type", "message"}`.
        error: Value,
    },
    /// An event type newer than this plugin: ignored.
    #[serde(other)]
    Unknown,
}

/// `message_delta.delta`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MessageDeltaBody {
    /// `stop_reason`.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// `stop_sequence`.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// `container`.
    #[serde(default)]
    pub container: Option<Value>,
}

/// `content_block_delta.delta`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    /// Text.
    TextDelta {
        /// More text.
        text: String,
    },
    /// Tool input JSON, in fragments that only parse once joined.
    InputJsonDelta {
        /// A fragment.
        partial_json: String,
    },
    /// Thinking text.
    ThinkingDelta {
        /// More thinking.
        thinking: String,
    },
    /// The thinking block's signature.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// A citation of the current text block.
    CitationsDelta {
        /// The citation.
        citation: Value,
    },
    /// A delta type newer than this plugin: ignored.
    #[serde(other)]
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_serialize_as_the_api_takes_them() {
        let b = Block::Known(KnownBlock::Image {
            source: Source::Base64 { media_type: "image/png".into(), data: "AAA".into() },
            cache_control: None,
        });
        assert_eq!(
            serde_json::to_value(&b).unwrap(),
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}})
        );
        let raw = Block::Raw(json!({"type": "server_tool_use", "id": "x"}));
        assert_eq!(serde_json::to_value(&raw).unwrap()["type"], "server_tool_use");
    }

    #[test]
    fn unknown_events_and_deltas_are_tolerated() {
        let e: StreamEvent = serde_json::from_value(json!({"type": "brand_new", "x": 1})).unwrap();
        assert_eq!(e, StreamEvent::Unknown);
        let e: StreamEvent = serde_json::from_value(
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "compaction_delta", "content": "x"}}),
        )
        .unwrap();
        assert!(matches!(e, StreamEvent::ContentBlockDelta { delta: Delta::Unknown, .. }));
    }

    #[test]
    fn later_usage_fields_win() {
        let mut u = Usage { input_tokens: Some(10), output_tokens: Some(1), ..Usage::default() };
        u.merge(Usage { output_tokens: Some(50), cache_read_input_tokens: Some(7), ..Usage::default() });
        assert_eq!((u.input_tokens, u.output_tokens, u.cache_read_input_tokens), (Some(10), Some(50), Some(7)));
    }
}
