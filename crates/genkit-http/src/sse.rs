//! Server-Sent Events, decoded as the WHATWG HTML standard says (§9.2 "Server-sent events",
//! "Interpreting an event stream"): the framing of OpenAI, Anthropic, Gemini
//! (`alt=sse`), Mistral and the Genkit flow protocol.

use std::borrow::Cow;
use std::time::Duration;

use futures::Stream;
use genkit_core::Result;

use crate::line::{Endings, LineBuffer, TooLong, over_limit};
use crate::stream::{Decoded, Decoder};

/// The default cap on one line and on one event's data: 8 MiB. Chat deltas are bytes to
/// kilobytes; the largest events providers send (a streamed base64 image) stay well below it,
/// and a peer that never ends a line cannot make the reader buffer more.
pub const DEFAULT_MAX_LINE: usize = 8 << 20;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` type; `None` for the default type, `message`.
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The last event id the stream set (`id:` persists across events), if any.
    pub id: Option<String>,
}

impl SseEvent {
    /// The event type: the `event:` field, else `"message"`.
    ///
    /// ```
    /// let ev = genkit_http::SseEvent { data: "hi".into(), ..Default::default() };
    /// assert_eq!(ev.kind(), "message");
    /// ```
    pub fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Limits and dialect of an [`SseDecoder`].
///
/// ```
/// use genkit_http::SseOptions;
/// let opts = SseOptions::new().max_line(1 << 20).max_event(4 << 20).event_field("error");
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct SseOptions {
    max_line: usize,
    max_event: usize,
    event_fields: Vec<String>,
}

impl Default for SseOptions {
    fn default() -> Self {
        SseOptions { max_line: DEFAULT_MAX_LINE, max_event: DEFAULT_MAX_LINE, event_fields: Vec::new() }
    }
}

impl SseOptions {
    /// The defaults: lines and events up to [`DEFAULT_MAX_LINE`], standard fields only.
    pub fn new() -> SseOptions {
        SseOptions::default()
    }

    /// The longest line accepted, in bytes (line end excluded).
    #[must_use]
    pub fn max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// The most data one event may collect, in bytes.
    #[must_use]
    pub fn max_event(mut self, bytes: usize) -> Self {
        self.max_event = bytes;
        self
    }

    /// Reads lines `<name>: <value>` (not a standard field, so the spec ignores them) as
    /// `event: <name>` plus `data: <value>`. The Genkit flow protocol sends its errors as
    /// `error: {…}`.
    #[must_use]
    pub fn event_field(mut self, name: impl Into<String>) -> Self {
        self.event_fields.push(name.into());
        self
    }
}

/// The event being collected, and what interprets lines into it.
#[derive(Debug, Default)]
struct State {
    data: String,
    event: String,
    last_id: String,
    retry: Option<Duration>,
    max_event: usize,
    event_fields: Vec<String>,
}

impl State {
    /// Interprets one line; returns the event a blank line dispatches.
    fn line(&mut self, line: &[u8]) -> Result<Option<SseEvent>> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        // `from_utf8` first: it is much faster than `from_utf8_lossy` on valid text.
        let text = std::str::from_utf8(line).map_or_else(|_| String::from_utf8_lossy(line), Cow::Borrowed);
        let (field, value) = match text.find(':') {
            Some(i) => (&text[..i], text[i + 1..].strip_prefix(' ').unwrap_or(&text[i + 1..])),
            None => (&*text, ""),
        };
        match field {
            "data" => self.append(value)?,
            "event" => value.clone_into(&mut self.event),
            "id" if !value.contains('\0') => value.clone_into(&mut self.last_id),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            f if self.event_fields.iter().any(|e| e == f) => {
                let name = f.to_owned();
                self.append(value)?;
                self.event = name;
            }
            _ => {}
        }
        Ok(None)
    }

    fn append(&mut self, value: &str) -> Result<()> {
        if self.data.len() + value.len() + 1 > self.max_event {
            self.data = String::new();
            self.event.clear();
            return Err(over_limit("a server-sent event's data is", self.max_event, "SseOptions::max_event"));
        }
        self.data.push_str(value);
        self.data.push('\n');
        Ok(())
    }

    /// Dispatches at a blank line: nothing when no `data` came.
    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        Some(SseEvent {
            event: (!event.is_empty()).then_some(event),
            data,
            id: (!self.last_id.is_empty()).then(|| self.last_id.clone()),
        })
    }
}

/// An incremental Server-Sent Events decoder.
///
/// Push body chunks with [`Decoder::push`], pull events with [`Decoder::next_item`]. Lines end
/// with CR, LF or CRLF (a CRLF split across chunks included); bytes are decoded as UTF-8 with
/// replacement; a leading byte order mark is skipped; a field value loses one leading space;
/// `data:` lines join with `\n`; `id:` persists and ignores values with NUL; `retry:` sets
/// [`SseDecoder::retry`]; comments (`:`) and unknown fields are skipped; a blank line
/// dispatches the event unless it has no data. At end of stream an event whose blank line
/// never came is discarded, as the spec says ([`SseDecoder::take_incomplete`] returns it).
///
/// Each byte is scanned once however the body is split, and a line or an event over its cap
/// ([`SseOptions`]) is a `RESOURCE_EXHAUSTED` error instead of unbounded memory. An error
/// empties the decoder.
///
/// ```
/// use genkit_http::{Decoder, SseDecoder};
/// let mut d = SseDecoder::new();
/// d.push(b"event: delta\ndata: {\"a\":");
/// assert_eq!(d.next_item().unwrap(), None);
/// d.push(b"1}\r\n\r\ndata: [DONE]\n\n");
/// let ev = d.next_item().unwrap().unwrap();
/// assert_eq!((ev.kind(), ev.data.as_str()), ("delta", "{\"a\":1}"));
/// assert_eq!(d.next_item().unwrap().unwrap().data, "[DONE]");
/// ```
#[derive(Debug)]
pub struct SseDecoder {
    lines: LineBuffer,
    state: State,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new()
    }
}

impl SseDecoder {
    /// A decoder with the default [`SseOptions`].
    pub fn new() -> SseDecoder {
        SseDecoder::with_options(SseOptions::default())
    }

    /// A decoder with `options`.
    pub fn with_options(options: SseOptions) -> SseDecoder {
        SseDecoder {
            lines: LineBuffer::new(Endings::Any, options.max_line),
            state: State { max_event: options.max_event, event_fields: options.event_fields, ..State::default() },
        }
    }

    /// The reconnection time the server last set with `retry:`, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.state.retry
    }

    /// The event the end of the stream cut off: its fields so far plus a last line without
    /// line end, if it has data. The spec discards it (so do [`Decoder::finish`] and
    /// [`sse_stream`]); a client can use it to tell a cut body (`data: {"trunc`) from a
    /// complete one. Call it once [`Decoder::next_item`] has returned `None`; it empties the
    /// decoder.
    ///
    /// ```
    /// use genkit_http::{Decoder, SseDecoder};
    /// let mut d = SseDecoder::new();
    /// d.push(b"data: [DONE]");
    /// assert_eq!(d.next_item().unwrap(), None);
    /// assert_eq!(d.take_incomplete().unwrap().unwrap().data, "[DONE]");
    /// ```
    ///
    /// # Errors
    /// `RESOURCE_EXHAUSTED` when the last line or the event is over its cap.
    pub fn take_incomplete(&mut self) -> Result<Option<SseEvent>> {
        let rest = self.lines.take_rest().map_err(|TooLong| self.line_too_long())?;
        if let Some(line) = rest {
            self.state.line(&line)?;
        }
        Ok(self.state.dispatch())
    }

    fn line_too_long(&self) -> genkit_core::Error {
        over_limit("a server-sent event line is", self.lines.max_line(), "SseOptions::max_line")
    }
}

impl Decoder for SseDecoder {
    type Item = SseEvent;

    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_item(&mut self) -> Result<Option<SseEvent>> {
        loop {
            match self.lines.next_line() {
                Ok(Some(line)) => match self.state.line(line) {
                    Ok(Some(ev)) => return Ok(Some(ev)),
                    Ok(None) => {}
                    Err(e) => {
                        self.lines.clear();
                        return Err(e);
                    }
                },
                Ok(None) => return Ok(None),
                Err(TooLong) => return Err(self.line_too_long()),
            }
        }
    }

    /// Discards an event the end of the stream cut off, as the spec says.
    fn finish(&mut self) -> Result<Option<SseEvent>> {
        self.take_incomplete().map(|_| None)
    }
}

/// The events of a Server-Sent Events body (default [`SseOptions`]).
///
/// ```
/// use futures::{StreamExt, executor::block_on, stream};
/// let body = stream::iter([Ok::<_, genkit_core::Error>("data: a\n\nda"), Ok("ta: b\n\n")]);
/// let events: Vec<_> = block_on(genkit_http::sse_stream(body).collect());
/// assert_eq!(events.iter().map(|e| e.as_ref().unwrap().data.as_str()).collect::<Vec<_>>(), ["a", "b"]);
/// ```
pub fn sse_stream<S>(body: S) -> Decoded<S, SseDecoder>
where
    S: Stream,
{
    Decoded::new(body, SseDecoder::new())
}

#[cfg(test)]
mod tests;
