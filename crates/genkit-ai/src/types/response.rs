//! Responses as plain wire data: `ModelResponse`, chunks, usage, finish reasons, operations.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{GenerateRequest, Message, Part, Role, concat_text};

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FinishReason {
    /// Natural stop.
    Stop,
    /// Token limit reached.
    Length,
    /// Blocked by safety filters.
    Blocked,
    /// Aborted.
    Aborted,
    /// Failed (1.42).
    Failed,
    /// Interrupted by a tool (interrupts).
    Interrupted,
    /// Another reason.
    Other,
    /// Unknown.
    Unknown,
}

/// Token and media usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct GenerationUsage {
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub input_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub output_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub total_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub input_characters: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub output_characters: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub input_images: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub output_images: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub input_videos: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub output_videos: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub input_audio_files: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub output_audio_files: Option<f64>,
    /// Provider-specific counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub thoughts_tokens: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub cached_content_tokens: Option<f64>,
}

/// An error carried in a response (1.42 `RuntimeError`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RuntimeError {
    /// Genkit status name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Message.
    pub message: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub details: Option<Value>,
}

/// A long-running operation (background models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Operation {
    /// Key of the action that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Operation id.
    pub id: String,
    /// Whether it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    /// Its output once done.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub output: Option<Value>,
    /// Its error, if it failed (`{message, …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Map<String, Value>>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// A legacy response candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Candidate {
    pub index: u32,
    pub message: Message,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<GenerationUsage>,
    pub finish_reason: FinishReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub custom: Option<Value>,
}

/// A model's response: the plain wire data a model action returns and `generate` builds on
/// (the wire schema's `ModelResponse`, and its `GenerateResponse` with the legacy
/// `candidates`). Plugins build this struct; the accessors read it.
///
/// ```
/// use genkit_ai::{FinishReason, ModelResponse};
/// let r = ModelResponse::from_text("hello");
/// assert_eq!(r.text(), "hello");
/// assert_eq!(r.finish_reason, Some(FinishReason::Stop));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelResponse {
    /// The generated message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// Why generation stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Details of the finish reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
    /// An error (1.42), with `finishReason: failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RuntimeError>,
    /// Latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "super::num::opt")]
    pub latency_ms: Option<f64>,
    /// Usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<GenerationUsage>,
    /// Provider-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub custom: Option<Value>,
    /// The raw provider response.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub raw: Option<Value>,
    /// The request that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<GenerateRequest>,
    /// A long-running operation (background models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
    /// Legacy candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<Candidate>>,
}

impl ModelResponse {
    /// A finished response whose message is `message` (`finishReason: stop`).
    pub fn from_message(message: Message) -> Self {
        ModelResponse { message: Some(message), finish_reason: Some(FinishReason::Stop), ..ModelResponse::default() }
    }

    /// A finished response with one model text part (`finishReason: stop`): what a model
    /// that produces plain text returns.
    pub fn from_text(text: impl Into<String>) -> Self {
        ModelResponse::from_message(Message::model(text))
    }

    /// The generated message (`message`, else the first legacy candidate's).
    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref().or_else(|| self.candidates.as_ref().and_then(|c| c.first()).map(|c| &c.message))
    }

    /// The concatenated text of the message's text parts (empty if none).
    pub fn text(&self) -> String {
        self.message().map(Message::text).unwrap_or_default()
    }

    /// The concatenated reasoning parts.
    pub fn reasoning(&self) -> String {
        self.message().map(Message::reasoning).unwrap_or_default()
    }

    /// The first media part.
    pub fn media(&self) -> Option<&super::Media> {
        self.message().and_then(Message::media)
    }

    /// The first data part.
    pub fn data(&self) -> Option<&Value> {
        self.message().and_then(Message::data)
    }

    /// The tool request parts of the message.
    pub fn tool_requests(&self) -> Vec<&Part> {
        self.message().map(|m| m.tool_requests().collect()).unwrap_or_default()
    }

    /// The interrupted tool requests (`metadata.interrupt`).
    pub fn interrupts(&self) -> Vec<&Part> {
        self.message().map(|m| m.interrupts().collect()).unwrap_or_default()
    }
}

impl FinishReason {
    /// The wire name (`stop`, `length`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Blocked => "blocked",
            FinishReason::Aborted => "aborted",
            FinishReason::Failed => "failed",
            FinishReason::Interrupted => "interrupted",
            FinishReason::Other => "other",
            FinishReason::Unknown => "unknown",
        }
    }
}

/// A streamed piece of a model's response: the plain wire data (the schema's
/// `ModelResponseChunk`/`GenerateResponseChunk`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelResponseChunk {
    /// Role of the message the chunk belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Index of the message in the response's message list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Content parts of this chunk.
    pub content: Vec<Part>,
    /// Provider-specific data (boxed: rare, and chunks are moved once per hop).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present_boxed")]
    pub custom: Option<Box<Value>>,
    /// Whether `content` is the whole message so far (not a delta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated: Option<bool>,
}

impl ModelResponseChunk {
    /// A chunk of `content`.
    pub fn new(content: Vec<Part>) -> Self {
        ModelResponseChunk { content, ..ModelResponseChunk::default() }
    }

    /// A chunk with one text part.
    pub fn from_text(text: impl Into<String>) -> Self {
        ModelResponseChunk::new(vec![Part::text(text)])
    }

    /// The chunk's text.
    pub fn text(&self) -> String {
        concat_text(&self.content)
    }

    /// The chunk's reasoning text.
    pub fn reasoning(&self) -> String {
        let mut s = String::new();
        for p in &self.content {
            if let Some(t) = &p.reasoning {
                s.push_str(t);
            }
        }
        s
    }

    /// The first data part.
    pub fn data(&self) -> Option<&Value> {
        self.content.iter().find_map(|p| p.data.as_deref())
    }

    /// The first media part.
    pub fn media(&self) -> Option<&super::Media> {
        self.content.iter().find_map(|p| p.media.as_deref())
    }

    /// The tool request parts.
    pub fn tool_requests(&self) -> Vec<&Part> {
        self.content.iter().filter(|p| p.tool_request.is_some()).collect()
    }
}

/// What a multipart tool returns: output and/or content parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MultipartToolResponse {
    /// Structured output.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub output: Option<Value>,
    /// Content parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<Part>>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}
