//! An incremental Server-Sent Events parser: bytes in, `data` events out.
//!
//! Lines end with `\n` or `\r\n`; `data:` lines of one event are joined with `\n`; `event:`
//! names are kept; comments (`:`) and other fields are skipped; a blank line dispatches the
//! event. At end of stream a last unterminated line is still parsed, so a body cut after
//! `data: {…` surfaces as a JSON error upstream rather than as silently missing content.

/// One server-sent event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, if the server sent one.
    pub event: Option<String>,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// The stream was not valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseError(pub String);

impl std::fmt::Display for SseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SseError {}

/// Incremental SSE parser. Feed it body chunks with [`SseParser::push`] and call
/// [`SseParser::finish`] at end of stream.
///
/// ```
/// use genkit_openai_compat::sse::SseParser;
/// let mut p = SseParser::default();
/// let mut out = Vec::new();
/// p.push(b"data: {\"a\":", &mut out).unwrap();
/// assert!(out.is_empty());
/// p.push(b"1}\n\ndata: [DONE]\n\n", &mut out).unwrap();
/// assert_eq!(out[0].data, "{\"a\":1}");
/// assert_eq!(out[1].data, "[DONE]");
/// ```
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    data: String,
    event: Option<String>,
    has_data: bool,
}

impl SseParser {
    /// Parses `bytes`, appending every completed event to `out`.
    ///
    /// # Errors
    /// When a line is not valid UTF-8.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + nl;
            let line_end = if end > start && self.buf[end - 1] == b'\r' { end - 1 } else { end };
            let line = std::str::from_utf8(&self.buf[start..line_end])
                .map_err(|e| SseError(format!("invalid UTF-8 in the event stream: {e}")))?;
            if let Some(ev) = Self::line(&mut self.data, &mut self.event, &mut self.has_data, line) {
                out.push(ev);
            }
            start = end + 1;
        }
        self.buf.drain(..start);
        Ok(())
    }

    /// Ends the stream: parses a last unterminated line and dispatches a pending event.
    ///
    /// # Errors
    /// When the last line is not valid UTF-8.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, SseError> {
        let rest = std::mem::take(&mut self.buf);
        if !rest.is_empty() {
            let line =
                std::str::from_utf8(&rest).map_err(|e| SseError(format!("invalid UTF-8 in the event stream: {e}")))?;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if let Some(ev) = Self::line(&mut self.data, &mut self.event, &mut self.has_data, line) {
                return Ok(Some(ev));
            }
        }
        Ok(Self::line(&mut self.data, &mut self.event, &mut self.has_data, ""))
    }

    fn line(data: &mut String, event: &mut Option<String>, has_data: &mut bool, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            if !*has_data {
                *event = None;
                return None;
            }
            *has_data = false;
            return Some(SseEvent { event: event.take(), data: std::mem::take(data) });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "data" => {
                if *has_data {
                    data.push('\n');
                }
                data.push_str(value);
                *has_data = true;
            }
            "event" => *event = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for c in chunks {
            p.push(c, &mut out).unwrap();
        }
        out.extend(p.finish().unwrap());
        out
    }

    #[test]
    fn splits_events_across_arbitrary_chunk_boundaries() {
        let body = b"data: one\n\n: keep-alive\n\nevent: delta\ndata: two\r\ndata: lines\r\n\r\ndata:three\n\n";
        let whole = parse_all(&[body]);
        for split in 0..body.len() {
            assert_eq!(parse_all(&[&body[..split], &body[split..]]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(parse_all(&bytes), whole);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0], SseEvent { event: None, data: "one".into() });
        assert_eq!(whole[1], SseEvent { event: Some("delta".into()), data: "two\nlines".into() });
        assert_eq!(whole[2].data, "three");
    }

    #[test]
    fn last_unterminated_event_is_still_dispatched() {
        assert_eq!(parse_all(&[b"data: [DONE]"]), vec![SseEvent { event: None, data: "[DONE]".into() }]);
        assert_eq!(parse_all(&[b"data: {\"cut"])[0].data, "{\"cut");
        assert!(parse_all(&[b"event: x\n\n"]).is_empty());
    }

    #[test]
    fn multibyte_characters_split_across_chunks_survive() {
        let body = "data: héllo 🌍\n\n".as_bytes();
        for split in 0..body.len() {
            assert_eq!(parse_all(&[&body[..split], &body[split..]])[0].data, "héllo 🌍");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: \xff\xfe\n\n", &mut Vec::new()).is_err());
    }
}
