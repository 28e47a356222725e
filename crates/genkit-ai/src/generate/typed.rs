//! The typed API: `generate_data::<T>` and `generate_data_stream::<T>`, with `T`'s JSON
//! schema from `schemars` (computed once per type).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{OnceLock, RwLock};
use std::task::{Context, Poll};

use futures::Stream;
use genkit_core::{Registry, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{GenerateOptions, GenerateStream, OutputOptions, generate, generate_stream};
use crate::GenerateResponseChunk;

/// `T`'s JSON schema (draft-07), computed once per type.
pub(crate) fn schema_of<T: schemars::JsonSchema>() -> Value {
    static CACHE: OnceLock<RwLock<HashMap<&'static str, Value>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
    let key = std::any::type_name::<T>();
    if let Some(v) = cache.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return v.clone();
    }
    let v = genkit_core::schema_for::<T>();
    cache.write().unwrap_or_else(|e| e.into_inner()).insert(key, v.clone());
    v
}

fn with_schema<T: schemars::JsonSchema>(mut opts: GenerateOptions) -> GenerateOptions {
    let out = opts.output.get_or_insert_with(OutputOptions::default);
    if out.schema.is_none() {
        out.schema = Some(schema_of::<T>());
    }
    opts
}

/// Generates structured output of type `T`: the request carries `T`'s schema, the output is
/// validated against it and deserialized.
///
/// # Errors
/// As `generate`; `INVALID_ARGUMENT` when the output does not fit `T`; `FAILED_PRECONDITION`
/// when the model produced no output.
pub async fn generate_data<T: DeserializeOwned + schemars::JsonSchema>(
    registry: &Registry,
    opts: GenerateOptions,
) -> Result<T> {
    let resp = generate(registry, with_schema::<T>(opts)).await?;
    resp.output_as::<T>()
}

/// One item of a [`DataStream`]: the raw chunk, the output parsed so far (partial JSON),
/// and that output as `T` once it fits.
#[derive(Debug, Clone)]
pub struct DataChunk<T> {
    /// The chunk.
    pub chunk: GenerateResponseChunk,
    /// The accumulated output so far, partially parsed.
    pub partial: Option<Value>,
    /// The accumulated output as `T`, when it already deserializes.
    pub data: Option<T>,
}

/// A streaming typed generation: [`DataChunk`]s, then [`DataStream::output`].
pub struct DataStream<T> {
    inner: GenerateStream,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for DataStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataStream").finish_non_exhaustive()
    }
}

impl<T> DataStream<T> {
    /// Parses the chunks of `inner` as `T`.
    pub(crate) fn from_stream(inner: GenerateStream) -> Self {
        DataStream { inner, _t: PhantomData }
    }
}

impl<T: DeserializeOwned> DataStream<T> {
    /// The final output as `T`.
    ///
    /// # Errors
    /// As [`generate_data`].
    pub async fn output(self) -> Result<T> {
        self.inner.output().await?.output_as::<T>()
    }
}

impl<T> Unpin for DataStream<T> {}

impl<T: DeserializeOwned> Stream for DataStream<T> {
    type Item = Result<DataChunk<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                // Parsed by the request's format from the text streamed so far in this turn.
                let partial = chunk.output();
                let data = partial.clone().and_then(|v| serde_json::from_value(v).ok());
                Poll::Ready(Some(Ok(DataChunk { chunk, partial, data })))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Streams a typed generation: each chunk comes with the output parsed so far.
pub fn generate_data_stream<T: DeserializeOwned + schemars::JsonSchema>(
    registry: &Registry,
    opts: GenerateOptions,
) -> DataStream<T> {
    DataStream { inner: generate_stream(registry, with_schema::<T>(opts)), _t: PhantomData }
}
