//! Newline-delimited JSON (one JSON text per line): the framing of Ollama and other streaming
//! APIs that do not use Server-Sent Events.

use std::fmt;
use std::marker::PhantomData;

use futures::Stream;
use genkit_core::{Error, Result, Status};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::line::{Endings, LineBuffer, TooLong, over_limit};
use crate::sse::DEFAULT_MAX_LINE;
use crate::stream::{Decoded, Decoder};

/// An incremental NDJSON decoder yielding each line parsed as `T` (`serde_json::Value` by
/// default).
///
/// Lines end with LF (a CR before it is dropped); blank lines are skipped; a last line
/// without LF is still parsed at the end of the stream. Each byte is scanned once however the
/// body is split; a line longer than the cap ([`DEFAULT_MAX_LINE`] unless set with
/// [`NdjsonDecoder::max_line`]) is a `RESOURCE_EXHAUSTED` error. A line that is not JSON of
/// the expected shape is an `INTERNAL` error naming the line: the peer sent something broken.
/// An error empties the decoder.
///
/// ```
/// use genkit_http::{Decoder, NdjsonDecoder};
/// #[derive(serde::Deserialize)]
/// struct Chunk { response: String, done: bool }
/// let mut d = NdjsonDecoder::<Chunk>::new();
/// d.push(b"{\"response\":\"Hel\",\"done\":false}\n{\"response\":\"lo\",");
/// assert_eq!(d.next_item().unwrap().unwrap().response, "Hel");
/// assert!(d.next_item().unwrap().is_none());
/// d.push(b"\"done\":true}\n");
/// assert!(d.next_item().unwrap().unwrap().done);
/// ```
pub struct NdjsonDecoder<T = Value> {
    lines: LineBuffer,
    line_no: u64,
    _item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for NdjsonDecoder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NdjsonDecoder").field("lines", &self.lines).field("line_no", &self.line_no).finish()
    }
}

impl<T> Default for NdjsonDecoder<T> {
    fn default() -> Self {
        NdjsonDecoder::new()
    }
}

impl<T> NdjsonDecoder<T> {
    /// A decoder with lines up to [`DEFAULT_MAX_LINE`].
    pub fn new() -> NdjsonDecoder<T> {
        NdjsonDecoder { lines: LineBuffer::new(Endings::Lf, DEFAULT_MAX_LINE), line_no: 0, _item: PhantomData }
    }

    /// The longest line accepted, in bytes (line end excluded).
    #[must_use]
    pub fn max_line(self, bytes: usize) -> Self {
        NdjsonDecoder { lines: LineBuffer::new(Endings::Lf, bytes), ..self }
    }

    /// The next non-blank line as text, unparsed.
    ///
    /// ```
    /// use genkit_http::{Decoder, NdjsonDecoder};
    /// let mut d = NdjsonDecoder::<serde_json::Value>::new();
    /// d.push(b"\n{\"a\": 1}\r\n");
    /// assert_eq!(d.next_line().unwrap().as_deref(), Some("{\"a\": 1}"));
    /// ```
    ///
    /// # Errors
    /// `RESOURCE_EXHAUSTED` for a line over the cap, `INTERNAL` for one that is not UTF-8.
    pub fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            let text = match self.lines.next_line() {
                Ok(Some(line)) if line.iter().all(u8::is_ascii_whitespace) => {
                    self.line_no += 1;
                    continue;
                }
                Ok(Some(line)) => {
                    self.line_no += 1;
                    String::from_utf8(line.to_vec())
                }
                Ok(None) => return Ok(None),
                Err(TooLong) => return Err(self.too_long()),
            };
            return text.map(Some).map_err(|e| {
                self.lines.clear();
                Error::new(Status::Internal, format!("line {} of the NDJSON stream is not UTF-8: {e}", self.line_no))
            });
        }
    }

    fn too_long(&self) -> Error {
        over_limit("an NDJSON line is", self.lines.max_line(), "NdjsonDecoder::max_line")
    }

    fn invalid(&mut self, e: serde_json::Error) -> Error {
        self.lines.clear();
        Error::new(Status::Internal, format!("line {} of the NDJSON stream is not valid: {e}", self.line_no))
            .with_source(e)
    }
}

impl<T: DeserializeOwned> Decoder for NdjsonDecoder<T> {
    type Item = T;

    fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    fn next_item(&mut self) -> Result<Option<T>> {
        loop {
            let parsed = match self.lines.next_line() {
                Ok(Some(line)) => {
                    self.line_no += 1;
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    serde_json::from_slice(line)
                }
                Ok(None) => return Ok(None),
                Err(TooLong) => return Err(self.too_long()),
            };
            return parsed.map(Some).map_err(|e| self.invalid(e));
        }
    }

    /// Parses a last line that no LF ended.
    fn finish(&mut self) -> Result<Option<T>> {
        let rest = self.lines.take_rest().map_err(|TooLong| self.too_long())?;
        let Some(line) = rest.filter(|l| !l.iter().all(u8::is_ascii_whitespace)) else { return Ok(None) };
        self.line_no += 1;
        serde_json::from_slice(&line).map(Some).map_err(|e| self.invalid(e))
    }
}

/// The values of an NDJSON body, each line parsed as `T`.
///
/// ```
/// use futures::{StreamExt, executor::block_on, stream};
/// let body = stream::iter([Ok::<_, genkit_core::Error>("{\"n\":1}\n{\"n\":"), Ok("2}")]);
/// let values: Vec<_> = block_on(genkit_http::ndjson_stream::<serde_json::Value, _>(body).collect());
/// assert_eq!(values[1].as_ref().unwrap()["n"], 2);
/// ```
pub fn ndjson_stream<T: DeserializeOwned, S: Stream>(body: S) -> Decoded<S, NdjsonDecoder<T>> {
    Decoded::new(body, NdjsonDecoder::new())
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::{StreamExt, stream};
    use serde_json::json;

    use super::*;

    fn values(chunks: &[&[u8]]) -> Result<Vec<Value>> {
        let mut d = NdjsonDecoder::<Value>::new();
        let mut out = Vec::new();
        for c in chunks {
            d.push(c);
            while let Some(v) = d.next_item()? {
                out.push(v);
            }
        }
        out.extend(d.finish()?);
        Ok(out)
    }

    const BODY: &[u8] = "{\"a\":\"héllo 🌍\"}\r\n\n  \n[1,\r2]\n\"x\"\r\n{\"b\":null}".as_bytes();

    #[test]
    fn every_split_decodes_the_same() {
        let whole = values(&[BODY]).unwrap();
        assert_eq!(whole, [json!({"a": "héllo 🌍"}), json!([1, 2]), json!("x"), json!({"b": null})]);
        for i in 0..=BODY.len() {
            for j in i..=BODY.len() {
                assert_eq!(values(&[&BODY[..i], &BODY[i..j], &BODY[j..]]).unwrap(), whole, "split at {i}, {j}");
            }
        }
        let bytes: Vec<&[u8]> = BODY.chunks(1).collect();
        assert_eq!(values(&bytes).unwrap(), whole);
    }

    #[test]
    fn a_bom_and_a_trailing_newline_are_fine() {
        assert_eq!(values(&[b"\xEF\xBB\xBF1\n2\n"]).unwrap(), [json!(1), json!(2)]);
        assert_eq!(values(&[b"", b"\n\r\n"]).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = values(&[b"1\n\n{oops}\n3\n"]).unwrap_err();
        assert_eq!(e.status(), Status::Internal);
        assert!(e.message().starts_with("line 3 of the NDJSON stream is not valid"), "{}", e.message());
        let e = values(&[b"1\n{\"cut"]).unwrap_err();
        assert!(e.message().starts_with("line 2 "), "{}", e.message());
        let mut d = NdjsonDecoder::<Value>::new();
        d.push(b"\xff\n");
        assert_eq!(d.next_line().unwrap_err().status(), Status::Internal);
    }

    #[test]
    fn typed_lines_and_raw_lines() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Chunk {
            n: u32,
        }
        let mut d = NdjsonDecoder::<Chunk>::new();
        d.push(b"{\"n\":1}\n{\"n\":\"two\"}\n");
        assert_eq!(d.next_item().unwrap(), Some(Chunk { n: 1 }));
        assert_eq!(d.next_item().unwrap_err().status(), Status::Internal);
        let mut d = NdjsonDecoder::<Value>::new();
        d.push(b" {\"n\": 1} \r\n\nnot json\n");
        assert_eq!(d.next_line().unwrap().as_deref(), Some(" {\"n\": 1} "));
        assert_eq!(d.next_line().unwrap().as_deref(), Some("not json"));
        assert_eq!(d.next_line().unwrap(), None);
    }

    #[test]
    fn lines_over_the_cap_fail_clearly() {
        let mut d = NdjsonDecoder::<Value>::new().max_line(8);
        d.push(b"12345678\n123456789\n");
        assert_eq!(d.next_item().unwrap(), Some(json!(12_345_678)));
        let e = d.next_item().unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
        assert!(e.message().contains("8 bytes") && e.message().contains("NdjsonDecoder::max_line"), "{}", e.message());
        let mut d = NdjsonDecoder::<Value>::new().max_line(8);
        let mut failed = false;
        for _ in 0..10 {
            d.push(b"11");
            failed |= d.next_item().is_err();
        }
        assert!(failed);
        let mut d = NdjsonDecoder::<Value>::new().max_line(2);
        d.push(b"123");
        assert_eq!(d.finish().unwrap_err().status(), Status::ResourceExhausted);
    }

    #[test]
    fn the_stream_adapter_parses_the_last_line_too() {
        let body = stream::iter(["{\"n\":1}\n", "{\"n\"", ":2}"].map(Ok::<_, Error>));
        let got: Vec<Value> = block_on(ndjson_stream::<Value, _>(body).map(Result::unwrap).collect());
        assert_eq!(got, [json!({"n": 1}), json!({"n": 2})]);
    }
}
