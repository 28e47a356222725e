//! Whole response bodies read with a size limit: a provider (or a proxy in front of it) can
//! send a body of any size, and a client that buffers it must stop somewhere.

use futures::{Stream, StreamExt};
use genkit_core::{Error, Result, Status};

/// The default limit on a whole (non-streamed) response body: 64 MiB, room for a batch of
/// base64 images or a long speech answer, far below what would exhaust memory.
pub const DEFAULT_MAX_BODY: usize = 64 << 20;

/// The error for a body over its limit: `RESOURCE_EXHAUSTED`, naming the limit and the
/// option that sets it.
fn too_large(limit: usize, option: &str) -> Error {
    Error::new(
        Status::ResourceExhausted,
        format!("the response body is larger than the limit of {limit} bytes (set by {option})"),
    )
}

/// Reads a body of byte chunks (such as `reqwest::Response::bytes_stream`, errors mapped to
/// Genkit errors) to its end, failing with `RESOURCE_EXHAUSTED` as soon as it passes `limit`
/// bytes: the rest is never read, so memory stays bounded whatever the server sends. A
/// declared `content_length` over the limit fails before anything is read. `option` names
/// the setting that raises the limit, for the error message.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::stream;
/// use genkit_core::Status;
/// let body = || stream::iter([Ok::<_, genkit_core::Error>(&b"{\"a\":"[..]), Ok(b"1}")]);
/// let bytes = genkit_http::read_body(body(), None, 16, "max_body").await.unwrap();
/// assert_eq!(bytes, b"{\"a\":1}");
/// let e = genkit_http::read_body(body(), None, 4, "max_body").await.unwrap_err();
/// assert_eq!(e.status(), Status::ResourceExhausted);
/// assert!(e.message().contains("4 bytes (set by max_body)"));
/// # });
/// ```
///
/// # Errors
/// `RESOURCE_EXHAUSTED` past the limit; the body's own error when reading it fails.
pub async fn read_body<S, B, E>(body: S, content_length: Option<u64>, limit: usize, option: &str) -> Result<Vec<u8>>
where
    S: Stream<Item = std::result::Result<B, E>>,
    B: AsRef<[u8]>,
    E: Into<Error>,
{
    if content_length.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit, option));
    }
    // Trust a declared length only as a hint for the first allocation, never past the limit.
    let hint = content_length.and_then(|n| usize::try_from(n).ok()).unwrap_or(0).min(limit);
    let mut out = Vec::with_capacity(hint);
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(Into::into)?;
        let chunk = chunk.as_ref();
        if chunk.len() > limit - out.len() {
            return Err(too_large(limit, option));
        }
        out.extend_from_slice(chunk);
    }
    Ok(out)
}

/// Reads at most the first `limit` bytes of a body and stops there: for error answers, whose
/// message is all that matters. A read error ends the body early; what came before is kept.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::stream;
/// let body = stream::iter([Ok::<_, genkit_core::Error>(&b"Bad "[..]), Ok(b"Gateway")]);
/// assert_eq!(genkit_http::read_body_prefix(body, 6).await, b"Bad Ga");
/// # });
/// ```
pub async fn read_body_prefix<S, B, E>(body: S, limit: usize) -> Vec<u8>
where
    S: Stream<Item = std::result::Result<B, E>>,
    B: AsRef<[u8]>,
{
    let mut out = Vec::new();
    let mut body = std::pin::pin!(body);
    while out.len() < limit {
        let Some(Ok(chunk)) = body.next().await else { break };
        let chunk = chunk.as_ref();
        out.extend_from_slice(&chunk[..chunk.len().min(limit - out.len())]);
    }
    out
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::stream;

    use super::*;

    fn chunks(n: usize, size: usize) -> impl Stream<Item = Result<Vec<u8>>> {
        stream::iter((0..n).map(move |_| Ok(vec![b'x'; size])))
    }

    #[test]
    fn bodies_up_to_the_limit_pass_and_one_byte_more_fails() {
        assert_eq!(block_on(read_body(chunks(4, 25), None, 100, "o")).unwrap().len(), 100);
        let e = block_on(read_body(chunks(101, 1), None, 100, "Opt::max")).unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
        assert_eq!(e.message(), "the response body is larger than the limit of 100 bytes (set by Opt::max)");
        assert!(block_on(read_body(chunks(0, 0), None, 0, "o")).unwrap().is_empty());
    }

    #[test]
    fn an_endless_body_stops_at_the_limit() {
        let endless = stream::repeat_with(|| Ok::<_, Error>(vec![0u8; 4096]));
        let e = block_on(read_body(endless, None, 1 << 20, "o")).unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
    }

    #[test]
    fn a_declared_length_over_the_limit_fails_before_reading() {
        let never = stream::iter([Err::<Vec<u8>, _>(Error::new(Status::Internal, "read"))]);
        let e = block_on(read_body(never, Some(u64::MAX), 10, "o")).unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
        // A declared length is only a hint: a server that lies is still cut at the limit.
        let e = block_on(read_body(chunks(3, 10), Some(5), 20, "o")).unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
        assert_eq!(
            block_on(read_body(chunks(1, 5), Some(u64::from(u32::MAX)), u32::MAX as usize, "o")).unwrap().len(),
            5
        );
    }

    #[test]
    fn read_errors_pass_through() {
        let body = stream::iter([Ok(b"ab".to_vec()), Err(Error::new(Status::Unavailable, "reset"))]);
        assert_eq!(block_on(read_body(body, None, 10, "o")).unwrap_err().status(), Status::Unavailable);
    }

    #[test]
    fn prefixes_stop_reading_at_the_limit_and_keep_what_came_before_an_error() {
        let endless = stream::repeat_with(|| Ok::<_, Error>(b"abc".to_vec()));
        assert_eq!(block_on(read_body_prefix(endless, 7)), b"abcabca");
        let body = stream::iter([Ok(b"ab".to_vec()), Err(Error::new(Status::Unavailable, "reset")), Ok(b"c".to_vec())]);
        assert_eq!(block_on(read_body_prefix(body, 10)), b"ab");
    }
}
