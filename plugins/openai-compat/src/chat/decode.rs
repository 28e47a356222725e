//! Chat Completions answer → Genkit response: reasoning before text before tool requests,
//! finish reasons, usage (cached and reasoning tokens), and the streamed form, where text and
//! reasoning deltas are forwarded as they come and tool-call fragments are assembled by index.

use genkit_ai::{FinishReason, GenerationUsage, Message, ModelResponse, ModelResponseChunk, Part, Role};
use genkit_core::{Error, Result, Status};
use genkit_http::{Decoder, SseDecoder, SseEvent, SseOptions};
use serde_json::{Map, Value, json};

use super::wire::{ChatChunk, ChatCompletion, ContentIn, ToolCallIn, Usage};

/// Genkit's finish reason for an OpenAI `finish_reason`.
pub(crate) fn finish_reason(r: Option<&str>) -> FinishReason {
    match r {
        Some("stop" | "tool_calls" | "function_call" | "end_turn") => FinishReason::Stop,
        Some("length" | "max_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::Blocked,
        Some(_) => FinishReason::Other,
        None => FinishReason::Unknown,
    }
}

/// Genkit usage for OpenAI `usage` (DeepSeek's `prompt_cache_hit_tokens` counts as cached).
pub(crate) fn usage(u: &Usage) -> GenerationUsage {
    let f = |n: Option<u64>| n.map(|n| n as f64);
    let cached = u.prompt_tokens_details.as_ref().and_then(|d| d.cached_tokens).or(u.prompt_cache_hit_tokens);
    GenerationUsage {
        input_tokens: f(u.prompt_tokens),
        output_tokens: f(u.completion_tokens),
        total_tokens: f(u.total_tokens),
        thoughts_tokens: f(u.completion_tokens_details.as_ref().and_then(|d| d.reasoning_tokens)),
        cached_content_tokens: f(cached),
        ..GenerationUsage::default()
    }
}

/// How much of a tool call's bad arguments an error quotes.
const ARGS_PREFIX: usize = 200;

/// A tool request part. Empty arguments are `{}`. Arguments that are not JSON are an
/// `INTERNAL` error naming the tool and quoting their start: the model produced a broken call,
/// which a retry may fix, and running the tool on a guess would be a wrong result. (Genkit JS
/// fails here too, with the bare `JSON.parse` message.)
fn tool_part(origin: &str, id: Option<String>, name: String, args: &str, finish: Option<&str>) -> Result<Part> {
    let input = if args.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(args).map_err(|e| {
            let mut end = args.len().min(ARGS_PREFIX);
            while !args.is_char_boundary(end) {
                end -= 1;
            }
            let more = if end < args.len() { "…" } else { "" };
            let cut = if matches!(finish, Some("length" | "max_tokens")) {
                " (the answer was cut at the output token limit)"
            } else {
                ""
            };
            Error::new(
                Status::Internal,
                format!(
                    "the model called tool '{name}' with arguments that are not valid JSON{cut}: {e}; \
                     arguments: {:?}{more}",
                    &args[..end]
                ),
            )
            .with_origin(origin.to_owned())
            .with_details(json!({"tool": name, "arguments": &args[..end]}))
        })?
    };
    Ok(Part::tool_request(name, Some(input), id))
}

fn custom(id: Option<String>, model: Option<String>) -> Option<Value> {
    let mut m = Map::new();
    if let Some(id) = id {
        m.insert("id".into(), Value::String(id));
    }
    if let Some(model) = model {
        m.insert("model".into(), Value::String(model));
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

fn response(content: Vec<Part>, finish: Option<&str>, refusal: Option<String>, u: Option<&Usage>) -> ModelResponse {
    let mut reason = finish_reason(finish);
    let finish_message = refusal.filter(|r| !r.is_empty()).inspect(|_| reason = FinishReason::Blocked);
    ModelResponse {
        message: Some(Message::new(Role::Model, content)),
        finish_reason: Some(reason),
        finish_message,
        usage: u.map(usage),
        ..ModelResponse::default()
    }
}

/// Decodes a whole (non-streamed) completion.
///
/// # Errors
/// `INTERNAL` when the completion has no choice.
pub fn decode_completion(origin: &str, c: ChatCompletion) -> Result<ModelResponse> {
    let ChatCompletion { id, model, choices, usage: u } = c;
    let Some(choice) = choices.into_iter().find(|c| c.index == 0) else {
        return Err(crate::error::bad_response(origin, "the completion has no choices"));
    };
    let msg = choice.message.unwrap_or_default();
    let body = msg.content.map(ContentIn::split).unwrap_or_default();
    let mut content = Vec::new();
    let reasoning = msg.reasoning_content.or(msg.reasoning).unwrap_or_default() + &body.reasoning;
    if !reasoning.is_empty() {
        content.push(Part::reasoning(reasoning));
    }
    if !body.text.is_empty() {
        content.push(Part::text(body.text));
    }
    let finish = choice.finish_reason.as_deref();
    for ToolCallIn { id, function, .. } in msg.tool_calls.into_iter().flatten() {
        let f = function.unwrap_or_default();
        content.push(tool_part(origin, id, f.name.unwrap_or_default(), f.arguments.as_deref().unwrap_or(""), finish)?);
    }
    let refusal = msg.refusal.unwrap_or_default() + &body.refusal;
    let mut r = response(content, finish, Some(refusal), u.as_ref());
    r.custom = custom(id, model);
    Ok(r)
}

#[derive(Debug, Default)]
struct PendingCall {
    index: Option<u32>,
    id: Option<String>,
    name: String,
    args: String,
}

/// Decodes a streamed completion: push body bytes as they arrive (each text or reasoning
/// delta is emitted as a chunk), then [`StreamDecoder::finish`] for the final response.
///
/// ```
/// use genkit_openai_compat::codec::StreamDecoder;
/// let mut d = StreamDecoder::new("demo");
/// let mut chunks = Vec::new();
/// d.push(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n", &mut |c| chunks.push(c)).unwrap();
/// d.push(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", &mut |c| chunks.push(c)).unwrap();
/// let r = d.finish(&mut |c| chunks.push(c)).unwrap();
/// assert_eq!(chunks.len(), 2);
/// assert_eq!(r.text(), "Hello");
/// ```
#[derive(Debug)]
pub struct StreamDecoder {
    origin: String,
    sse: SseDecoder,
    text: String,
    reasoning: String,
    refusal: String,
    calls: Vec<PendingCall>,
    finish: Option<String>,
    usage: Option<Usage>,
    id: Option<String>,
    model: Option<String>,
    done: bool,
}

impl StreamDecoder {
    /// A decoder; `origin` names the plugin in errors. Lines and events are capped at
    /// [`genkit_http::DEFAULT_MAX_LINE`] unless [`StreamDecoder::max_event`] says otherwise.
    pub fn new(origin: &str) -> StreamDecoder {
        StreamDecoder {
            origin: origin.to_owned(),
            sse: SseDecoder::new(),
            text: String::new(),
            reasoning: String::new(),
            refusal: String::new(),
            calls: Vec::new(),
            finish: None,
            usage: None,
            id: None,
            model: None,
            done: false,
        }
    }

    /// Caps one line and one event of the stream at `bytes` (`RESOURCE_EXHAUSTED` past it).
    /// Set it before pushing any bytes.
    ///
    /// ```
    /// use genkit_openai_compat::codec::StreamDecoder;
    /// let mut d = StreamDecoder::new("demo").max_event(16);
    /// let e = d.push(b"data: {\"choices\": [], \"padding\": 1}\n\n", &mut |_| {}).unwrap_err();
    /// assert_eq!(e.status(), genkit_core::Status::ResourceExhausted);
    /// ```
    #[must_use]
    pub fn max_event(mut self, bytes: usize) -> Self {
        self.sse = SseDecoder::with_options(SseOptions::new().max_line(bytes).max_event(bytes));
        self
    }

    /// Parses more of the body, emitting a chunk per text/reasoning delta.
    ///
    /// # Errors
    /// A malformed event, an error event from the provider, or a line or event over the
    /// [`SseDecoder`] caps (`RESOURCE_EXHAUSTED`).
    pub fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        self.sse.push(bytes);
        while let Some(ev) = self.sse.next_item().map_err(|e| e.with_origin(self.origin.clone()))? {
            self.event(&ev, emit)?;
        }
        Ok(())
    }

    /// Decodes one `data:` payload (a `chat.completion.chunk` or `[DONE]`).
    ///
    /// # Errors
    /// As [`StreamDecoder::push`].
    pub fn event(&mut self, ev: &SseEvent, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: ChatChunk = serde_json::from_str(data).map_err(|e| {
            let mut end = data.len().min(200);
            while !data.is_char_boundary(end) {
                end -= 1;
            }
            self.malformed(&format!("{e} in event data {:?}", &data[..end]))
        })?;
        if let Some(err) = &chunk.error {
            return Err(self.stream_error(err));
        }
        if ev.event.as_deref() == Some("error") {
            return Err(self.stream_error(&serde_json::from_str(data).unwrap_or(Value::Null)));
        }
        self.apply(chunk, emit);
        Ok(())
    }

    fn malformed(&self, what: &str) -> Error {
        Error::new(Status::Internal, format!("malformed event stream from the provider: {what}"))
            .with_origin(self.origin.clone())
    }

    fn stream_error(&self, err: &Value) -> Error {
        let err = err.get("error").unwrap_or(err);
        let msg = err.get("message").and_then(Value::as_str).map_or_else(|| err.to_string(), str::to_owned);
        let status = err
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .filter(|c| (400..600).contains(c))
            .map_or(Status::Unavailable, Status::from_http);
        Error::new(status, format!("the provider reported an error in the stream: {msg}"))
            .with_origin(self.origin.clone())
            .with_details(json!({"error": err}))
    }

    fn apply(&mut self, chunk: ChatChunk, emit: &mut dyn FnMut(ModelResponseChunk)) {
        if self.id.is_none() {
            self.id = chunk.id;
        }
        if self.model.is_none() {
            self.model = chunk.model;
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        for choice in chunk.choices {
            if choice.index != 0 {
                continue;
            }
            if let Some(r) = choice.finish_reason {
                self.finish = Some(r);
            }
            let Some(delta) = choice.delta else { continue };
            let body = delta.content.map(ContentIn::split).unwrap_or_default();
            let mut parts = Vec::new();
            let reasoning = delta.reasoning_content.or(delta.reasoning).unwrap_or_default() + &body.reasoning;
            if !reasoning.is_empty() {
                self.reasoning.push_str(&reasoning);
                parts.push(Part::reasoning(reasoning));
            }
            if !body.text.is_empty() {
                self.text.push_str(&body.text);
                parts.push(Part::text(body.text));
            }
            self.refusal.push_str(delta.refusal.as_deref().unwrap_or(""));
            self.refusal.push_str(&body.refusal);
            for call in delta.tool_calls.into_iter().flatten() {
                self.tool_delta(call);
            }
            if !parts.is_empty() {
                emit(ModelResponseChunk {
                    role: Some(Role::Model),
                    index: Some(0),
                    content: parts,
                    ..ModelResponseChunk::default()
                });
            }
        }
    }

    /// Appends a tool-call fragment: fragments with the same `index` belong together; a
    /// fragment without `index` continues the last call unless it brings a new `id`.
    fn tool_delta(&mut self, call: ToolCallIn) {
        let pos = match call.index {
            Some(i) => self.calls.iter().position(|c| c.index == Some(i)),
            None => match (&call.id, self.calls.last()) {
                (Some(id), Some(last)) if last.id.as_deref() != Some(id) => None,
                (_, Some(_)) => Some(self.calls.len() - 1),
                (_, None) => None,
            },
        };
        let pos = pos.unwrap_or_else(|| {
            self.calls.push(PendingCall { index: call.index, ..PendingCall::default() });
            self.calls.len() - 1
        });
        let Some(p) = self.calls.get_mut(pos) else { return };
        if let Some(id) = call.id.filter(|s| !s.is_empty())
            && p.id.is_none()
        {
            p.id = Some(id);
        }
        if let Some(f) = call.function {
            if let Some(n) = f.name.filter(|n| !n.is_empty())
                && p.name.is_empty()
            {
                p.name = n;
            }
            if let Some(a) = f.arguments {
                p.args.push_str(&a);
            }
        }
    }

    /// Ends the stream: emits the assembled tool requests as one chunk and returns the
    /// final response.
    ///
    /// # Errors
    /// `UNAVAILABLE` when the stream stopped before the provider finished (no
    /// `finish_reason` and no `[DONE]`): a cut connection never yields a short answer.
    pub fn finish(&mut self, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<ModelResponse> {
        // An event cut by the end of the body is decoded anyway (the SSE spec would drop it), so
        // a body cut mid-JSON is reported as such rather than as a silently short answer.
        if let Some(ev) = self.sse.take_incomplete().map_err(|e| e.with_origin(self.origin.clone()))? {
            self.event(&ev, emit)?;
        }
        if !self.done && self.finish.is_none() {
            return Err(Error::new(
                Status::Unavailable,
                format!(
                    "the response stream ended before the model finished (no finish_reason or [DONE]) after {} \
                     characters of text; the connection was probably cut",
                    self.text.len()
                ),
            )
            .with_origin(self.origin.clone()));
        }
        let mut content = Vec::new();
        if !self.reasoning.is_empty() {
            content.push(Part::reasoning(std::mem::take(&mut self.reasoning)));
        }
        if !self.text.is_empty() {
            content.push(Part::text(std::mem::take(&mut self.text)));
        }
        let finish = self.finish.as_deref();
        let calls = std::mem::take(&mut self.calls)
            .into_iter()
            .map(|c| tool_part(&self.origin, c.id, c.name, &c.args, finish))
            .collect::<Result<Vec<Part>>>()?;
        if !calls.is_empty() {
            emit(ModelResponseChunk {
                role: Some(Role::Model),
                index: Some(0),
                content: calls.clone(),
                ..ModelResponseChunk::default()
            });
            content.extend(calls);
        }
        let refusal = std::mem::take(&mut self.refusal);
        let mut r = response(content, self.finish.as_deref(), Some(refusal), self.usage.as_ref());
        r.custom = custom(self.id.take(), self.model.take());
        Ok(r)
    }
}

#[cfg(test)]
mod tests;
