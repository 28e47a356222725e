//! The streamed form: SSE events decoded as they arrive. Text and thinking deltas are
//! forwarded as chunks at once; tool input arrives as JSON fragments that only parse once
//! joined, so a tool request (and any server tool block) is forwarded whole when its block
//! stops. Blocks are kept by index, so interleaved or out-of-order blocks end up in order.

use std::collections::BTreeMap;

use genkit_ai::extract::parse_partial_json;
use genkit_ai::{ModelResponse, ModelResponseChunk, Part, Role};
use genkit_core::{Error, Result, Status};
use genkit_http::{Decoder, SseDecoder, SseEvent};
use serde_json::{Map, Value, json};

use super::decode::{block_part, response, server_tool_use_part, text_part, thinking_part, tool_use_part};
use super::wire::{Delta, MessageResponse, StreamEvent};
use crate::error::api_error;

/// A content block being streamed.
#[derive(Debug, Clone)]
enum Pending {
    Text {
        text: String,
        citations: Vec<Value>,
    },
    Thinking {
        thinking: String,
        signature: Option<String>,
    },
    ToolUse {
        id: Option<String>,
        name: String,
        start: Value,
        json: String,
    },
    ServerToolUse {
        block: Map<String, Value>,
        json: String,
    },
    /// Complete at start (server tool results, redacted thinking, unknown kinds).
    Whole(Value),
}

#[derive(Debug)]
struct Slot {
    block: Pending,
    stopped: bool,
}

/// The tool input of joined JSON fragments: the JSON itself, else (a stream cut by the token
/// limit) the longest prefix that parses, marked partial, else the text as a string.
fn tool_input(start: &Value, json: &str) -> (Value, bool) {
    if json.trim().is_empty() {
        return (if start.is_null() { json!({}) } else { start.clone() }, false);
    }
    match serde_json::from_str(json) {
        Ok(v) => (v, false),
        Err(_) => (parse_partial_json(json).unwrap_or_else(|| Value::String(json.to_owned())), true),
    }
}

impl Pending {
    fn start(block: Value) -> Pending {
        let kind = block.get("type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "text" => Pending::Text {
                text: block.get("text").and_then(Value::as_str).unwrap_or_default().to_owned(),
                citations: block.get("citations").and_then(Value::as_array).cloned().unwrap_or_default(),
            },
            "thinking" => Pending::Thinking {
                thinking: block.get("thinking").and_then(Value::as_str).unwrap_or_default().to_owned(),
                signature: block.get("signature").and_then(Value::as_str).map(str::to_owned),
            },
            "tool_use" => Pending::ToolUse {
                id: block.get("id").and_then(Value::as_str).map(str::to_owned),
                name: block.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                start: block.get("input").cloned().unwrap_or(Value::Null),
                json: String::new(),
            },
            "server_tool_use" | "mcp_tool_use" => match block {
                Value::Object(block) => Pending::ServerToolUse { block, json: String::new() },
                other => Pending::Whole(other),
            },
            _ => Pending::Whole(block),
        }
    }

    /// A block for a delta whose block never started (tolerated: the delta says what it is).
    fn from_delta(delta: &Delta) -> Option<Pending> {
        Some(match delta {
            Delta::TextDelta { .. } | Delta::CitationsDelta { .. } => {
                Pending::Text { text: String::new(), citations: Vec::new() }
            }
            Delta::ThinkingDelta { .. } | Delta::SignatureDelta { .. } => {
                Pending::Thinking { thinking: String::new(), signature: None }
            }
            Delta::InputJsonDelta { .. } => {
                Pending::ToolUse { id: None, name: String::new(), start: Value::Null, json: String::new() }
            }
            Delta::Unknown => return None,
        })
    }

    /// The finished part (`None` for an empty text block).
    fn finish(self) -> Option<Part> {
        match self {
            Pending::Text { text, citations } => {
                (!text.is_empty() || !citations.is_empty()).then(|| text_part(text, citations))
            }
            Pending::Thinking { thinking, signature } => Some(thinking_part(thinking, signature)),
            Pending::ToolUse { id, name, start, json } => {
                let (input, partial) = tool_input(&start, &json);
                let mut p = tool_use_part(id, name, input);
                if partial && let Some(t) = p.tool_request.as_mut() {
                    t.partial = Some(true);
                }
                Some(p)
            }
            Pending::ServerToolUse { mut block, json } => {
                let start = block.get("input").cloned().unwrap_or(Value::Null);
                block.insert("input".into(), tool_input(&start, &json).0);
                Some(server_tool_use_part(&block))
            }
            Pending::Whole(v) => block_part(v),
        }
    }

    /// Whether a stopped block is forwarded whole (its content was not streamed as deltas).
    fn forwarded_at_stop(&self) -> bool {
        matches!(self, Pending::ToolUse { .. } | Pending::ServerToolUse { .. } | Pending::Whole(_))
    }
}

/// Decodes a streamed message: push body bytes as they arrive (text and thinking deltas are
/// emitted as chunks, tool calls when complete), then [`StreamDecoder::finish`] for the
/// final response.
///
/// ```
/// use genkit_anthropic::codec::StreamDecoder;
/// let body = concat!(
///     "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
///     "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
///     "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
///     "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n",
///     "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
///     "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
///     "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
/// );
/// let mut d = StreamDecoder::new("demo");
/// let mut chunks = Vec::new();
/// d.push(body.as_bytes(), &mut |c| chunks.push(c)).unwrap();
/// let r = d.finish(&mut |c| chunks.push(c)).unwrap();
/// assert_eq!(chunks.len(), 2);
/// assert_eq!(r.text(), "Hello");
/// assert_eq!(r.usage.unwrap().output_tokens, Some(2.0));
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    origin: String,
    sse: SseDecoder,
    message: MessageResponse,
    blocks: BTreeMap<usize, Slot>,
    started: bool,
    stopped: bool,
}

impl StreamDecoder {
    /// A decoder; `origin` names the plugin in errors.
    pub fn new(origin: &str) -> StreamDecoder {
        StreamDecoder {
            origin: origin.to_owned(),
            sse: SseDecoder::new(),
            message: MessageResponse::default(),
            blocks: BTreeMap::new(),
            started: false,
            stopped: false,
        }
    }

    /// Parses more of the body, emitting chunks as events complete.
    ///
    /// # Errors
    /// A malformed event, an `error` event (typed by its error type: `overloaded_error` is
    /// `UNAVAILABLE`, `rate_limit_error` `RESOURCE_EXHAUSTED`, …), or a line or event over the
    /// [`SseDecoder`] caps (`RESOURCE_EXHAUSTED`).
    pub fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        self.sse.push(bytes);
        while let Some(ev) = self.sse.next_item().map_err(|e| e.with_origin(self.origin.clone()))? {
            self.event(&ev, emit)?;
        }
        Ok(())
    }

    fn malformed(&self, what: &str) -> Error {
        Error::new(Status::Internal, format!("malformed event stream from Anthropic: {what}"))
            .with_origin(self.origin.clone())
    }

    fn chunk(part: Part) -> ModelResponseChunk {
        ModelResponseChunk {
            role: Some(Role::Model),
            index: Some(0),
            content: vec![part],
            ..ModelResponseChunk::default()
        }
    }

    /// Decodes one SSE event.
    ///
    /// # Errors
    /// As [`StreamDecoder::push`].
    pub fn event(&mut self, ev: &SseEvent, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        let data = ev.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let parsed: StreamEvent = match serde_json::from_str(data) {
            Ok(e) => e,
            Err(_) if ev.kind() == "error" => {
                // An error event whose data is not the documented JSON still ends the stream.
                let v = serde_json::from_str(data).unwrap_or_else(|_| json!({"message": data}));
                return Err(api_error(&self.origin, "Anthropic reported an error in the stream", &v));
            }
            Err(e) => {
                let mut end = data.len().min(200);
                while !data.is_char_boundary(end) {
                    end -= 1;
                }
                return Err(self.malformed(&format!("{e} in event data {:?}", &data[..end])));
            }
        };
        self.apply(parsed, emit)
    }

    fn apply(&mut self, ev: StreamEvent, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        match ev {
            StreamEvent::MessageStart { mut message } => {
                self.started = true;
                for (i, b) in std::mem::take(&mut message.content).into_iter().enumerate() {
                    self.blocks.insert(i, Slot { block: Pending::Whole(b), stopped: true });
                }
                self.message = message;
            }
            StreamEvent::ContentBlockStart { index, content_block } => {
                let block = Pending::start(content_block);
                match &block {
                    Pending::Text { text, .. } if !text.is_empty() => emit(Self::chunk(Part::text(text.clone()))),
                    Pending::Thinking { thinking, .. } if !thinking.is_empty() => {
                        emit(Self::chunk(Part::reasoning(thinking.clone())));
                    }
                    _ => {}
                }
                self.blocks.insert(index, Slot { block, stopped: false });
            }
            StreamEvent::ContentBlockDelta { index, delta } => self.delta(index, delta, emit),
            StreamEvent::ContentBlockStop { index } => {
                if let Some(slot) = self.blocks.get_mut(&index)
                    && !slot.stopped
                {
                    slot.stopped = true;
                    if slot.block.forwarded_at_stop()
                        && let Some(p) = slot.block.clone().finish()
                    {
                        // A copy is finished for the chunk; the slot keeps the block for the response.
                        emit(Self::chunk(p));
                    }
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.message.stop_reason = delta.stop_reason;
                }
                if delta.stop_sequence.is_some() {
                    self.message.stop_sequence = delta.stop_sequence;
                }
                if delta.container.is_some() {
                    self.message.container = delta.container;
                }
                if let Some(u) = usage {
                    match &mut self.message.usage {
                        Some(known) => known.merge(u),
                        None => self.message.usage = Some(u),
                    }
                }
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Ping | StreamEvent::Unknown => {}
            StreamEvent::Error { error } => {
                return Err(api_error(&self.origin, "Anthropic reported an error in the stream", &error));
            }
        }
        Ok(())
    }

    fn delta(&mut self, index: usize, delta: Delta, emit: &mut dyn FnMut(ModelResponseChunk)) {
        let slot = match self.blocks.entry(index) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let Some(block) = Pending::from_delta(&delta) else { return };
                e.insert(Slot { block, stopped: false })
            }
        };
        match (&mut slot.block, delta) {
            (Pending::Text { text, .. }, Delta::TextDelta { text: t }) => {
                if !t.is_empty() {
                    text.push_str(&t);
                    emit(Self::chunk(Part::text(t)));
                }
            }
            (Pending::Text { citations, .. }, Delta::CitationsDelta { citation }) => citations.push(citation),
            (Pending::Thinking { thinking, .. }, Delta::ThinkingDelta { thinking: t }) => {
                if !t.is_empty() {
                    thinking.push_str(&t);
                    emit(Self::chunk(Part::reasoning(t)));
                }
            }
            (Pending::Thinking { signature, .. }, Delta::SignatureDelta { signature: s }) => {
                signature.get_or_insert_with(String::new).push_str(&s);
            }
            (
                Pending::ToolUse { json, .. } | Pending::ServerToolUse { json, .. },
                Delta::InputJsonDelta { partial_json },
            ) => {
                json.push_str(&partial_json);
            }
            // A delta that does not fit its block (or of a kind newer than this plugin).
            (_, other) => tracing::debug!(index, ?other, "ignored a content block delta of another kind"),
        }
    }

    /// Ends the stream: emits the blocks that never stopped and returns the final response.
    ///
    /// # Errors
    /// `UNAVAILABLE` when the stream stopped before the message did (no `message_stop` and
    /// no stop reason): a cut connection never yields a silently short answer.
    pub fn finish(&mut self, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<ModelResponse> {
        // An event cut by the end of the body is decoded anyway (the SSE spec would drop it), so
        // a body cut mid-JSON is reported as malformed rather than as a short answer.
        if let Some(ev) = self.sse.take_incomplete().map_err(|e| e.with_origin(self.origin.clone()))? {
            self.event(&ev, emit)?;
        }
        if !self.stopped && self.message.stop_reason.is_none() {
            let text: usize = self
                .blocks
                .values()
                .map(|s| match &s.block {
                    Pending::Text { text, .. } => text.len(),
                    _ => 0,
                })
                .sum();
            let what = if self.started { "before the message stopped" } else { "before the message started" };
            return Err(Error::new(
                Status::Unavailable,
                format!(
                    "the response stream ended {what} (no message_stop or stop_reason) after {text} characters of \
                     text; the connection was probably cut"
                ),
            )
            .with_origin(self.origin.clone()));
        }
        let mut content = Vec::with_capacity(self.blocks.len());
        for (_, slot) in std::mem::take(&mut self.blocks) {
            let forward = !slot.stopped && slot.block.forwarded_at_stop();
            if let Some(p) = slot.block.finish() {
                if forward {
                    emit(Self::chunk(p.clone()));
                }
                content.push(p);
            }
        }
        Ok(response(&self.message, content))
    }
}

#[cfg(test)]
mod tests;
