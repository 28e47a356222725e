//! Streaming plumbing: producers push chunks into a [`StreamSink`]; consumers pull
//! an [`ActionStream`] and then await its final output.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use futures::future::BoxFuture;
use futures::task::AtomicWaker;

use crate::Result;

/// Where an action sends its streamed chunks. Cheap to clone; a no-op when the caller did
/// not ask for streaming.
pub struct StreamSink<S> {
    f: Option<Arc<dyn Fn(S) + Send + Sync>>,
}

impl<S> Clone for StreamSink<S> {
    fn clone(&self) -> Self {
        StreamSink { f: self.f.clone() }
    }
}

impl<S> fmt::Debug for StreamSink<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSink").field("active", &self.f.is_some()).finish()
    }
}

impl<S> Default for StreamSink<S> {
    fn default() -> Self {
        StreamSink { f: None }
    }
}

impl<S: 'static> StreamSink<S> {
    /// A sink that drops every chunk (streaming not requested).
    pub fn noop() -> Self {
        StreamSink { f: None }
    }

    /// A sink that calls `f` for every chunk.
    pub fn new(f: impl Fn(S) + Send + Sync + 'static) -> Self {
        StreamSink { f: Some(Arc::new(f)) }
    }

    /// Sends one chunk.
    pub fn send(&self, chunk: S) {
        if let Some(f) = &self.f {
            f(chunk);
        }
    }

    /// Whether a consumer is listening (JS `streamingRequested`).
    pub fn is_active(&self) -> bool {
        self.f.is_some()
    }

    /// A sink of `T` that converts each chunk with `map` and forwards it here.
    pub fn map<T: 'static>(&self, map: impl Fn(T) -> Option<S> + Send + Sync + 'static) -> StreamSink<T>
    where
        S: Send,
    {
        match &self.f {
            None => StreamSink::noop(),
            Some(f) => {
                let f = f.clone();
                StreamSink::new(move |t| {
                    if let Some(s) = map(t) {
                        f(s);
                    }
                })
            }
        }
    }

    /// A queue-backed sink and the queue its chunks land in.
    pub(crate) fn queue() -> (StreamSink<S>, Arc<ChunkQueue<S>>)
    where
        S: Send,
    {
        let queue = Arc::new(ChunkQueue { items: Mutex::new(Items::default()), waker: AtomicWaker::new() });
        let q = queue.clone();
        (StreamSink::new(move |c| q.push(c)), queue)
    }
}

/// The chunks a streaming call produced and its consumer has not taken yet. The producer
/// usually runs inside the consumer's own poll (the call is polled by the stream), so a push
/// is an uncontended lock and a queue append; the consumer's waker is woken only when it
/// is parked waiting for a chunk (a producer on another task or thread).
pub(crate) struct ChunkQueue<S> {
    items: Mutex<Items<S>>,
    waker: AtomicWaker,
}

struct Items<S> {
    queue: VecDeque<S>,
    closed: bool,
}

impl<S> Default for Items<S> {
    fn default() -> Self {
        // Room for a burst of chunks produced in one poll before the consumer drains them.
        Items { queue: VecDeque::with_capacity(16), closed: false }
    }
}

impl<S> ChunkQueue<S> {
    fn items(&self) -> std::sync::MutexGuard<'_, Items<S>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a chunk. Only the chunk that makes the queue non-empty wakes the consumer: a
    /// consumer parks only after finding the queue empty, and once woken it takes everything
    /// queued, so later pushes need no wake-up of their own.
    fn push(&self, chunk: S) {
        let was_empty = {
            let mut items = self.items();
            if items.closed {
                return;
            }
            let was_empty = items.queue.is_empty();
            items.queue.push_back(chunk);
            was_empty
        };
        if was_empty {
            self.waker.wake();
        }
    }

    /// Moves every queued chunk into `local` (which the consumer has emptied): one lock per
    /// batch rather than per chunk, and the two buffers swap, so neither reallocates.
    fn take_all(&self, local: &mut VecDeque<S>) {
        let mut items = self.items();
        if !items.queue.is_empty() {
            std::mem::swap(&mut items.queue, local);
        }
    }

    /// Drops queued chunks and every later one.
    fn close(&self) {
        let mut items = self.items();
        items.closed = true;
        items.queue.clear();
    }
}

/// A running streaming call: a [`Stream`] of chunks, then the final output.
///
/// The call runs as the stream is polled (no task is spawned), so dropping the stream
/// cancels it. Iterating yields each chunk, then, if the call failed, its error once.
/// [`ActionStream::output`] drives the call to completion and returns its result.
///
/// ```no_run
/// # async fn demo(mut s: genkit_core::ActionStream<String, String>) -> genkit_core::Result<()> {
/// use futures::StreamExt;
/// while let Some(chunk) = s.next().await {
///     print!("{}", chunk?);
/// }
/// let output = s.output().await?;
/// # Ok(()) }
/// ```
pub struct ActionStream<S, O> {
    run: Option<BoxFuture<'static, Result<O>>>,
    rx: Arc<ChunkQueue<S>>,
    /// Chunks taken from `rx` and not yielded yet.
    local: VecDeque<S>,
    result: Option<Result<O>>,
    error_yielded: bool,
}

impl<S, O> fmt::Debug for ActionStream<S, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionStream").field("done", &self.run.is_none()).finish()
    }
}

impl<S: Send + 'static, O: Send + 'static> ActionStream<S, O> {
    /// Builds a stream from a function that, given a sink, returns the call's future.
    pub fn new<F>(start: impl FnOnce(StreamSink<S>) -> F) -> Self
    where
        F: Future<Output = Result<O>> + Send + 'static,
    {
        let (sink, rx) = StreamSink::queue();
        ActionStream {
            run: Some(Box::pin(start(sink))),
            rx,
            local: VecDeque::new(),
            result: None,
            error_yielded: false,
        }
    }

    /// Awaits the final output, discarding chunks not yet consumed.
    ///
    /// # Errors
    /// The call's error.
    pub async fn output(mut self) -> Result<O> {
        self.rx.close();
        self.local.clear();
        if let Some(run) = self.run.take() {
            return run.await;
        }
        self.result
            .take()
            .unwrap_or_else(|| Err(crate::Error::new(crate::Status::FailedPrecondition, "stream output already taken")))
    }
}

impl<S, O> Unpin for ActionStream<S, O> {}

impl<S, O> ActionStream<S, O> {
    /// The next chunk: from the local batch, else a fresh batch from the queue.
    fn pop(&mut self) -> Option<S> {
        if self.local.is_empty() {
            self.rx.take_all(&mut self.local);
        }
        self.local.pop_front()
    }
}

impl<S, O: Send> Stream for ActionStream<S, O> {
    type Item = Result<S>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(c) = this.pop() {
            return Poll::Ready(Some(Ok(c)));
        }
        if let Some(run) = this.run.as_mut() {
            match run.as_mut().poll(cx) {
                Poll::Pending => {
                    // Parked: a chunk pushed from another task or thread from now on wakes
                    // this one; one pushed before is seen by the check below.
                    this.rx.waker.register(cx.waker());
                    return match this.pop() {
                        Some(c) => Poll::Ready(Some(Ok(c))),
                        None => Poll::Pending,
                    };
                }
                Poll::Ready(r) => {
                    this.run = None;
                    this.result = Some(r);
                }
            }
        }
        if let Some(c) = this.pop() {
            return Poll::Ready(Some(Ok(c)));
        }
        match &this.result {
            Some(Err(e)) if !this.error_yielded => {
                this.error_yielded = true;
                Poll::Ready(Some(Err(e.clone())))
            }
            _ => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn chunks_then_output() {
        let mut s = ActionStream::new(|sink: StreamSink<u32>| async move {
            for i in 0..3 {
                sink.send(i);
                tokio::task::yield_now().await;
            }
            Ok("done")
        });
        let mut got = vec![];
        while let Some(c) = s.next().await {
            got.push(c.unwrap());
        }
        assert_eq!(got, vec![0, 1, 2]);
        assert_eq!(s.output().await.unwrap(), "done");
    }

    #[tokio::test]
    async fn error_is_yielded_after_chunks_and_from_output() {
        let mut s = ActionStream::new(|sink: StreamSink<u32>| async move {
            sink.send(7);
            Err::<(), _>(crate::Error::invalid_argument("boom"))
        });
        assert_eq!(s.next().await.unwrap().unwrap(), 7);
        assert_eq!(s.next().await.unwrap().unwrap_err().message(), "boom");
        assert!(s.next().await.is_none());
        assert_eq!(s.output().await.unwrap_err().message(), "boom");
    }

    #[tokio::test]
    async fn output_without_iterating() {
        let s = ActionStream::new(|sink: StreamSink<u32>| async move {
            sink.send(1);
            Ok(5)
        });
        assert_eq!(s.output().await.unwrap(), 5);
    }

    #[tokio::test]
    async fn chunks_from_spawned_tasks_arrive() {
        let mut s = ActionStream::new(|sink: StreamSink<u32>| async move {
            let h = tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                sink.send(1);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            });
            h.await.unwrap();
            Ok(())
        });
        assert_eq!(s.next().await.unwrap().unwrap(), 1);
        assert!(s.next().await.is_none());
    }
}
