//! Responses: `GenerateResponse`/`ModelResponse`, chunks, usage, finish reasons, operations.

use std::sync::Arc;

use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{GenerateRequest, Message, Part, Role, concat_text};
use crate::format::{ChunkView, FormatHandler};

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

/// A model's response (`GenerateResponse` on the wire; `ModelResponse` requires
/// `finishReason` and has no `candidates`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponse {
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
    /// The output parser of the request's format (set by `generate`; not serialized).
    #[serde(skip)]
    #[schemars(skip)]
    #[doc(hidden)]
    pub parser: OutputParser,
}

/// The output parser `generate` attaches to a response (its format's message parser).
/// Compares equal to any other parser; never serialized.
#[derive(Clone, Default)]
pub struct OutputParser(pub(crate) Option<std::sync::Arc<dyn crate::format::FormatHandler>>);

impl PartialEq for OutputParser {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for OutputParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "OutputParser(Some)" } else { "OutputParser(None)" })
    }
}

/// The response a model action returns.
pub type ModelResponse = GenerateResponse;

impl GenerateResponse {
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

    /// Structured output: the format's parse of the message, else its data part, else JSON
    /// extracted from its text (JS `response.output`). `None` without a message.
    pub fn output(&self) -> Option<Value> {
        let m = self.message()?;
        if let Some(p) = &self.parser.0
            && let Some(v) = p.parse_message(m)
            && !is_falsy(&v)
        {
            return Some(v);
        }
        m.output()
    }

    /// The output deserialized into `T`.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when there is no output; `INVALID_ARGUMENT` when it does not
    /// fit `T`.
    pub fn output_as<T: serde::de::DeserializeOwned>(&self) -> genkit_core::Result<T> {
        let v = self.output().ok_or_else(|| {
            genkit_core::Error::new(
                genkit_core::Status::FailedPrecondition,
                format!("the response has no structured output; text was: {:?}", self.text()),
            )
        })?;
        serde_json::from_value(v).map_err(|e| {
            genkit_core::Error::invalid_argument(format!("the model's output does not match the expected type: {e}"))
        })
    }

    /// The tool request parts of the message.
    pub fn tool_requests(&self) -> Vec<&Part> {
        self.message().map(|m| m.tool_requests().collect()).unwrap_or_default()
    }

    /// The interrupted tool requests (`metadata.interrupt`).
    pub fn interrupts(&self) -> Vec<&Part> {
        self.message().map(|m| m.interrupts().collect()).unwrap_or_default()
    }

    /// The whole conversation: the request's messages plus the generated one.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` without a request or a message.
    pub fn messages(&self) -> genkit_core::Result<Vec<Message>> {
        let req = self.request.as_ref().ok_or_else(|| {
            genkit_core::Error::new(
                genkit_core::Status::FailedPrecondition,
                "Can't construct history for response without request reference.",
            )
        })?;
        let m = self.message().ok_or_else(|| {
            genkit_core::Error::new(
                genkit_core::Status::FailedPrecondition,
                "Can't construct history for response without generated message.",
            )
        })?;
        let mut out = Vec::with_capacity(req.messages.len() + 1);
        out.extend(req.messages.iter().cloned());
        out.push(m.clone());
        Ok(out)
    }

    /// Fails when generation was blocked or produced no message (G16).
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` `Generation blocked…` or `Model did not generate a message…`,
    /// with `details.response`.
    pub fn assert_valid(&self) -> genkit_core::Result<()> {
        if self.finish_reason == Some(FinishReason::Blocked) {
            let msg = match self.finish_message.as_deref() {
                Some(m) if !m.is_empty() => format!("Generation blocked: {m}"),
                _ => "Generation blocked.".to_owned(),
            };
            return Err(self.response_error(genkit_core::Status::FailedPrecondition, msg));
        }
        if self.message().is_none() && self.operation.is_none() {
            let reason = self.finish_reason.map_or_else(|| "undefined".to_owned(), |r| r.as_str().to_owned());
            let fm = self.finish_message.clone().unwrap_or_else(|| "undefined".to_owned());
            return Err(self.response_error(
                genkit_core::Status::FailedPrecondition,
                format!("Model did not generate a message. Finish reason: '{reason}': {fm}"),
            ));
        }
        Ok(())
    }

    /// Fails when the request asked for a schema and the output does not satisfy it (G16).
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` with the validation errors.
    pub fn assert_valid_schema(&self) -> genkit_core::Result<()> {
        let Some(schema) = self.request.as_ref().and_then(|r| r.output.as_ref()).and_then(|o| o.schema.as_ref()) else {
            return Ok(());
        };
        let output = self.output().unwrap_or(Value::Null);
        crate::schema_cache::validate(schema, &output)
    }

    /// Whether `assert_valid` and `assert_valid_schema` both pass.
    pub fn is_valid(&self) -> bool {
        self.assert_valid().is_ok() && self.assert_valid_schema().is_ok()
    }

    /// A `GenerationResponseError`: the status and message, with `details.response`.
    pub(crate) fn response_error(&self, status: genkit_core::Status, message: String) -> genkit_core::Error {
        let mut resp = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(o) = resp.as_object_mut() {
            o.remove("request");
        }
        genkit_core::Error::new(status, message).with_details(serde_json::json!({ "response": resp }))
    }
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !*b,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
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

/// A streamed piece of a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GenerateResponseChunk {
    /// Role of the message the chunk belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Index of the message in the response's message list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Content parts of this chunk.
    pub content: Vec<Part>,
    /// Provider-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::part::present")]
    pub custom: Option<Value>,
    /// Whether `content` is the whole message so far (not a delta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregated: Option<bool>,
    /// Where the chunk was streamed: the earlier chunks of its turn and the request's output
    /// parser (JS `previousChunks` and `parser`). `generate` sets it; it is empty (the
    /// default) on chunks built or deserialized elsewhere. Not part of the chunk's value:
    /// never serialized, and ignored by `==`.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: ChunkOrigin,
}

/// The chunks streamed so far in one turn of a generation, shared by the chunks of that turn.
pub(crate) struct TurnChunks {
    streamed: std::sync::Mutex<Streamed>,
    parser: std::sync::OnceLock<Arc<dyn FormatHandler>>,
}

struct Streamed {
    text: String,
    count: u32,
    role: Role,
    index: u32,
}

impl TurnChunks {
    /// A new turn with nothing streamed yet.
    pub(crate) fn new() -> Arc<Self> {
        let streamed = Streamed { text: String::new(), count: 0, role: Role::Model, index: 0 };
        Arc::new(TurnChunks { streamed: std::sync::Mutex::new(streamed), parser: std::sync::OnceLock::new() })
    }

    /// Starts the turn's chunks at message index `index` (JS `makeChunk`'s `messageIndex`).
    pub(crate) fn start_at(&self, index: u32) {
        let mut st = self.streamed();
        st.index = index;
        st.role = Role::Model;
    }

    /// The message index of the turn's latest chunk (its start index before any).
    pub(crate) fn index(&self) -> u32 {
        self.streamed().index
    }

    /// Makes the turn's next chunk (JS `makeChunk`): the message index moves on when the role
    /// changes after earlier chunks; the chunk gets its index, role and origin.
    pub(crate) fn make(self: &Arc<Self>, role: Role, mut chunk: GenerateResponseChunk) -> GenerateResponseChunk {
        let mut st = self.streamed();
        if role != st.role && st.count > 0 {
            st.index += 1;
        }
        st.role = role;
        chunk.index = Some(st.index);
        chunk.role = Some(role);
        chunk.aggregated = None;
        self.append(st, &mut chunk);
        chunk
    }

    /// Sets the turn's output parser (once; later calls are ignored).
    pub(crate) fn set_parser(&self, parser: Option<&Arc<dyn FormatHandler>>) {
        if let Some(p) = parser {
            let _ = self.parser.set(p.clone());
        }
    }

    fn streamed(&self) -> std::sync::MutexGuard<'_, Streamed> {
        self.streamed.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records `chunk` as the turn's next chunk: its origin points at what was streamed
    /// before it, then its text is appended.
    pub(crate) fn record(self: &Arc<Self>, chunk: &mut GenerateResponseChunk) {
        self.append(self.streamed(), chunk);
    }

    /// Appends `chunk`'s text under the held lock and points its origin at what came before.
    fn append(self: &Arc<Self>, mut st: std::sync::MutexGuard<'_, Streamed>, chunk: &mut GenerateResponseChunk) {
        let (start, count) = (st.text.len(), st.count);
        for p in &chunk.content {
            if let Some(t) = &p.text {
                st.text.push_str(t);
            }
        }
        st.count += 1;
        drop(st);
        chunk.origin = ChunkOrigin { turn: Some(self.clone()), start, count };
    }

    /// An origin with no earlier chunks (JS `previousChunks: []`), not recorded in the turn.
    pub(crate) fn fresh(self: &Arc<Self>) -> ChunkOrigin {
        ChunkOrigin { turn: Some(self.clone()), start: 0, count: 0 }
    }

    fn prefix(&self, len: usize) -> String {
        self.streamed().text.get(..len).unwrap_or_default().to_owned()
    }
}

/// Where a streamed chunk came from; see [`GenerateResponseChunk::origin`].
#[derive(Clone, Default)]
pub struct ChunkOrigin {
    turn: Option<Arc<TurnChunks>>,
    start: usize,
    count: u32,
}

impl ChunkOrigin {
    /// Whether the chunk was streamed by `generate` (and so knows its earlier chunks).
    pub fn is_streamed(&self) -> bool {
        self.turn.is_some()
    }

    /// How many chunks came before this one in its turn (`None` when not streamed).
    pub fn previous_chunk_count(&self) -> Option<u32> {
        self.turn.as_ref().map(|_| self.count)
    }
}

impl std::fmt::Debug for ChunkOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.turn {
            Some(_) => f.debug_struct("ChunkOrigin").field("previous_chunks", &self.count).finish(),
            None => f.write_str("ChunkOrigin(none)"),
        }
    }
}

impl PartialEq for ChunkOrigin {
    /// Always equal: the origin is not part of a chunk's value.
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// A chunk streamed by a model action.
pub type ModelResponseChunk = GenerateResponseChunk;

impl GenerateResponseChunk {
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
        self.content.iter().find_map(|p| p.data.as_ref())
    }

    /// The first media part.
    pub fn media(&self) -> Option<&super::Media> {
        self.content.iter().find_map(|p| p.media.as_ref())
    }

    /// The tool request parts.
    pub fn tool_requests(&self) -> Vec<&Part> {
        self.content.iter().filter(|p| p.tool_request.is_some()).collect()
    }

    /// The text of the earlier chunks of this chunk's turn (JS `previousText`).
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` (`Cannot compose accumulated text without previous chunks.`)
    /// when the chunk was not streamed by `generate` (see [`Self::origin`]).
    pub fn previous_text(&self) -> Result<String> {
        match &self.origin.turn {
            Some(turn) => Ok(turn.prefix(self.origin.start)),
            None => Err(no_previous_chunks()),
        }
    }

    /// The text of the earlier chunks of this turn followed by this chunk's text (JS
    /// `accumulatedText`).
    ///
    /// # Errors
    /// As [`Self::previous_text`].
    pub fn accumulated_text(&self) -> Result<String> {
        let mut s = self.previous_text()?;
        for p in &self.content {
            if let Some(t) = &p.text {
                s.push_str(t);
            }
        }
        Ok(s)
    }

    /// The structured output streamed so far (JS `chunk.output`): parsed by the request's
    /// output format (`json` → the partial object, `array`/`jsonl` → the items completed in
    /// this chunk, `text` → this chunk's text); without a format, the first data part or
    /// JSON extracted from the accumulated text.
    pub fn output(&self) -> Option<Value> {
        let Some(turn) = &self.origin.turn else {
            return self.data().cloned().or_else(|| crate::extract::extract_json(&self.text()));
        };
        let prefix = turn.prefix(self.origin.start);
        if let Some(parser) = turn.parser.get() {
            return parser.parse_chunk(ChunkView {
                chunk: self,
                previous_text: &prefix,
                has_previous: self.origin.count > 0,
            });
        }
        if let Some(d) = self.data() {
            return Some(d.clone());
        }
        let mut text = prefix;
        for p in &self.content {
            if let Some(t) = &p.text {
                text.push_str(t);
            }
        }
        crate::extract::extract_json(&text)
    }

    /// [`Self::output`] deserialized as `T` (`None` while it does not deserialize yet).
    pub fn output_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.output().and_then(|v| serde_json::from_value(v).ok())
    }
}

fn no_previous_chunks() -> Error {
    Error::new(Status::FailedPrecondition, "Cannot compose accumulated text without previous chunks.")
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
