//! Chat Completions wire types: the request body we send and the completion and chunk
//! bodies we read. Unknown response fields are ignored; provider extras that matter
//! (`reasoning_content`, `prompt_cache_hit_tokens`) are read.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `POST /chat/completions` body.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatRequest {
    pub(crate) model: String,
    pub(crate) messages: Vec<ChatMessage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tools: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_logprobs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) store: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_effort: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stream_options: Option<StreamOptions>,
    /// Unknown config keys, passed through as given.
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}

impl ChatRequest {
    /// The body as JSON (for tests and debugging).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct StreamOptions {
    pub(crate) include_usage: bool,
}

/// One message of the request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ChatMessage {
    pub(crate) role: &'static str,
    pub(crate) content: Option<MessageContent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_calls: Option<Vec<ToolCallOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_call_id: Option<String>,
}

/// A string, or content parts.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A content part of a user message.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentPart {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
    InputAudio { input_audio: InputAudio },
    File { file: FileData },
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ImageUrl {
    pub(crate) url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct InputAudio {
    pub(crate) data: String,
    pub(crate) format: String,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filename: Option<String>,
    pub(crate) file_data: String,
}

/// A tool call of an assistant message in the history.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ToolCallOut {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) function: FunctionOut,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct FunctionOut {
    pub(crate) name: String,
    pub(crate) arguments: String,
}

/// `chat.completion`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChatCompletion {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default)]
    pub(crate) choices: Vec<Choice>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Choice {
    #[serde(default)]
    pub(crate) index: u32,
    #[serde(default)]
    pub(crate) message: Option<ResponseMessage>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ResponseMessage {
    #[serde(default)]
    pub(crate) content: Option<ContentIn>,
    #[serde(default)]
    pub(crate) reasoning_content: Option<String>,
    #[serde(default)]
    pub(crate) reasoning: Option<String>,
    #[serde(default)]
    pub(crate) refusal: Option<String>,
    #[serde(default)]
    pub(crate) tool_calls: Option<Vec<ToolCallIn>>,
}

/// The `content` of an answer or a delta: a string (OpenAI), or content parts, which
/// OpenAI-compatible servers send too (`[{"type": "text", "text": "…"}]`; Mistral's
/// reasoning models add `{"type": "thinking", "thinking": [{"type": "text", "text": "…"}]}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum ContentIn {
    Text(String),
    Parts(Vec<ContentPartIn>),
}

/// One content part of an answer. Parts of other types (images, audio) carry no text and
/// are skipped.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ContentPartIn {
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) thinking: Option<ContentIn>,
    #[serde(default)]
    pub(crate) refusal: Option<String>,
}

/// The text of an answer's content, sorted by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ContentText {
    pub(crate) text: String,
    pub(crate) reasoning: String,
    pub(crate) refusal: String,
}

impl ContentIn {
    /// The text, reasoning and refusal the content holds.
    pub(crate) fn split(self) -> ContentText {
        let mut out = ContentText::default();
        self.split_into(&mut out, false);
        out
    }

    /// Appends the content to `out`; inside a thinking part (`thinking`), text is reasoning.
    fn split_into(self, out: &mut ContentText, thinking: bool) {
        let parts = match self {
            ContentIn::Text(t) if thinking => return out.reasoning.push_str(&t),
            ContentIn::Text(t) => return out.text.push_str(&t),
            ContentIn::Parts(parts) => parts,
        };
        for p in parts {
            let text = p.text.as_deref().unwrap_or("");
            match p.kind.as_str() {
                "thinking" | "reasoning" => {
                    if let Some(t) = p.thinking {
                        t.split_into(out, true);
                    }
                    out.reasoning.push_str(text);
                }
                "refusal" => out.refusal.push_str(p.refusal.as_deref().unwrap_or(text)),
                "text" | "output_text" | "" if thinking => out.reasoning.push_str(text),
                "text" | "output_text" | "" => out.text.push_str(text),
                _ => {}
            }
        }
    }
}

/// A token count: an integer, or what some OpenAI-compatible servers send instead (a float
/// such as `12.0`, a numeric string). Anything else (negative, not a number) counts as
/// absent rather than failing the whole answer over its usage.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let from_f64 = |f: f64| (f.is_finite() && f >= 0.0).then(|| f.round() as u64);
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().and_then(from_f64)),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok().and_then(from_f64),
        _ => None,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ToolCallIn {
    #[serde(default)]
    pub(crate) index: Option<u32>,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) function: Option<FunctionIn>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct FunctionIn {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) arguments: Option<String>,
}

/// `usage`, with OpenAI's token details and DeepSeek's cache counters.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Usage {
    #[serde(default, deserialize_with = "count")]
    pub(crate) prompt_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub(crate) completion_tokens: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub(crate) total_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    pub(crate) completion_tokens_details: Option<CompletionDetails>,
    #[serde(default, deserialize_with = "count")]
    pub(crate) prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PromptDetails {
    #[serde(default, deserialize_with = "count")]
    pub(crate) cached_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CompletionDetails {
    #[serde(default, deserialize_with = "count")]
    pub(crate) reasoning_tokens: Option<u64>,
}

/// `chat.completion.chunk`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChatChunk {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) model: Option<String>,
    #[serde(default)]
    pub(crate) choices: Vec<ChunkChoice>,
    #[serde(default)]
    pub(crate) usage: Option<Usage>,
    /// Some servers report a failure inside the stream.
    #[serde(default)]
    pub(crate) error: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ChunkChoice {
    #[serde(default)]
    pub(crate) index: u32,
    #[serde(default)]
    pub(crate) delta: Option<ResponseMessage>,
    #[serde(default)]
    pub(crate) finish_reason: Option<String>,
}
