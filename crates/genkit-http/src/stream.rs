//! [`Decoder`], what every framing implements, and [`Decoded`], the `Stream` adapter that runs
//! one over a body of byte chunks from any HTTP client.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use genkit_core::{Error, Result};

/// An incremental decoder: body bytes in, items out.
///
/// [`SseDecoder`](crate::SseDecoder) and [`NdjsonDecoder`](crate::NdjsonDecoder) implement it;
/// a plugin with another framing implements it too and gets [`Decoded`] for free.
pub trait Decoder {
    /// What the decoder yields (an event, a JSON value, …).
    type Item;

    /// Buffers more of the body. Nothing is decoded until [`Decoder::next_item`].
    fn push(&mut self, bytes: &[u8]);

    /// The next complete item in the bytes pushed so far, or `None` until more come.
    ///
    /// # Errors
    /// When the input is malformed or over a size limit.
    fn next_item(&mut self) -> Result<Option<Self::Item>>;

    /// Ends the body: the item that the end of the stream completes, if the framing has one.
    ///
    /// # Errors
    /// As [`Decoder::next_item`].
    fn finish(&mut self) -> Result<Option<Self::Item>>;
}

/// A `Stream` of decoded items over a `Stream` of byte chunks (`reqwest::Response::bytes_stream`,
/// a hyper body, a test vector, …). Build one with [`sse_stream`](crate::sse_stream),
/// [`ndjson_stream`](crate::ndjson_stream) or [`Decoded::new`].
///
/// The stream ends after the first error, whether the body's (converted with `Into<Error>`)
/// or the decoder's.
///
/// ```
/// use futures::{StreamExt, executor::block_on, stream};
/// use genkit_http::{NdjsonDecoder, Decoded};
/// let body = stream::iter([Ok::<_, genkit_core::Error>(&b"{\"n\":1}\n{\"n\""[..]), Ok(b":2}\n")]);
/// let values: Vec<_> = block_on(Decoded::new(body, NdjsonDecoder::<serde_json::Value>::new()).collect());
/// assert_eq!(values.len(), 2);
/// assert_eq!(values[1].as_ref().unwrap()["n"], 2);
/// ```
pub struct Decoded<S, D> {
    body: Pin<Box<S>>,
    decoder: D,
    eof: bool,
    done: bool,
}

impl<S, D> Decoded<S, D> {
    /// Decodes `body` with `decoder`.
    pub fn new(body: S, decoder: D) -> Decoded<S, D> {
        Decoded { body: Box::pin(body), decoder, eof: false, done: false }
    }

    /// The decoder, for state it keeps besides the items (such as the SSE `retry` time).
    pub fn decoder(&self) -> &D {
        &self.decoder
    }
}

impl<S, D: fmt::Debug> fmt::Debug for Decoded<S, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoded").field("decoder", &self.decoder).field("done", &self.done).finish_non_exhaustive()
    }
}

impl<S, B, E, D> Stream for Decoded<S, D>
where
    S: Stream<Item = std::result::Result<B, E>>,
    B: AsRef<[u8]>,
    E: Into<Error>,
    D: Decoder + Unpin,
{
    type Item = Result<D::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let decoded = if this.eof { this.decoder.finish() } else { this.decoder.next_item() };
            match decoded {
                Ok(Some(item)) => return Poll::Ready(Some(Ok(item))),
                Ok(None) if this.eof => this.done = true,
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if this.done {
                return Poll::Ready(None);
            }
            match this.body.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(bytes))) => this.decoder.push(bytes.as_ref()),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(None) => this.eof = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::{StreamExt, stream};
    use genkit_core::Status;

    /// Yields each byte as its own line.
    #[derive(Debug, Default)]
    struct Bytes(Vec<u8>, bool);

    impl Decoder for Bytes {
        type Item = u8;
        fn push(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
        fn next_item(&mut self) -> Result<Option<u8>> {
            if self.0.first() == Some(&b'!') {
                return Err(Error::new(Status::Internal, "bang"));
            }
            Ok((!self.0.is_empty()).then(|| self.0.remove(0)))
        }
        fn finish(&mut self) -> Result<Option<u8>> {
            Ok((!std::mem::replace(&mut self.1, true)).then_some(b'$'))
        }
    }

    fn run(chunks: Vec<std::result::Result<&'static [u8], Error>>) -> Vec<Result<u8>> {
        block_on(Decoded::new(stream::iter(chunks), Bytes::default()).collect())
    }

    #[test]
    fn items_then_the_final_one_then_the_end() {
        let got: Vec<u8> = run(vec![Ok(b"ab"), Ok(b""), Ok(b"c")]).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, b"abc$");
    }

    #[test]
    fn the_first_error_ends_the_stream() {
        let got = run(vec![Ok(b"a!b")]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap_err().message(), "bang");
        let got = run(vec![Ok(b"a"), Err(Error::new(Status::Unavailable, "cut")), Ok(b"b")]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap_err().status(), Status::Unavailable);
    }
}
