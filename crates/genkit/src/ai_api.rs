//! The AI half of [`Genkit`]: models, tools, resources, formats, middleware and `generate`.

use std::future::Future;
use std::sync::Arc;

use genkit_ai::embedder::{EmbedContent, EmbedParams, EmbedderCx, EmbedderRef};
use genkit_ai::format::{Format, FormatConfig, FormatHandler};
use genkit_ai::generate::{DataStream, GenerateStream};
use genkit_ai::middleware::MiddlewareDef;
use genkit_ai::resource::{Resource, ResourceCx, ResourceInput, ResourceOptions, ResourceOutput};
use genkit_ai::tool::{self, ToolCx};
use genkit_ai::{
    EmbedRequest, EmbedResponse, Embedder, EmbedderOptions, Embedding, GenerateOptions, GenerateResponse, Model,
    ModelCx, ModelOptions, ModelRequest, ModelResponse, MultipartToolResponse, Tool, ToolConfig,
};
use genkit_core::{ActionDef, Result};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Genkit;

impl Genkit {
    /// Defines and registers a model from an async function of `(request, cx)`.
    ///
    /// # Panics
    /// When called while an action runs (define models at start-up).
    pub fn define_model<F, Fut>(&self, opts: ModelOptions, f: F) -> Model
    where
        F: Fn(ModelRequest, ModelCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ModelResponse>> + Send + 'static,
    {
        let m = genkit_ai::model::new(opts, f);
        self.register(m.as_action());
        m
    }

    /// Defines and registers a tool: `/tool/<name>` plus the `/tool.v2/<name>` companion
    /// JS registers. The input and output schemas come from `I` and `O`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::{Genkit, ToolConfig};
    /// let g = Genkit::builder().build().await?;
    /// let add = g.define_tool(ToolConfig::new("add", "Adds two numbers"), |(a, b): (i64, i64), _cx| async move {
    ///     Ok(a + b)
    /// });
    /// assert_eq!(add.run((2, 3)).await?, 5);
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    /// When called while an action runs.
    pub fn define_tool<I, O, F, Fut>(&self, config: ToolConfig, f: F) -> Tool<I, O>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
        F: Fn(I, ToolCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O>> + Send + 'static,
    {
        let t = tool::new(config, f);
        self.register(t.as_action());
        self.register(t.v2_action().as_action());
        t
    }

    /// Defines and registers an interrupt: a tool that always interrupts with the
    /// metadata `request_metadata(input)` returns.
    ///
    /// # Panics
    /// When called while an action runs.
    pub fn define_interrupt<I, O>(
        &self,
        config: ToolConfig,
        request_metadata: impl Fn(&I) -> Option<Value> + Send + Sync + 'static,
    ) -> Tool<I, O>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        O: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static,
    {
        let t = tool::interrupt(config, request_metadata);
        self.register(t.as_action());
        t
    }

    /// Defines and registers a multipart tool (`/tool.v2/<name>` only).
    ///
    /// # Panics
    /// When called while an action runs.
    pub fn define_multipart_tool<I, F, Fut>(&self, config: ToolConfig, f: F) -> ActionDef<I, MultipartToolResponse>
    where
        I: DeserializeOwned + Serialize + JsonSchema + Send + Sync + 'static,
        F: Fn(I, ToolCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<MultipartToolResponse>> + Send + 'static,
    {
        let t = genkit_ai::tool::multipart(config, f);
        self.register(t.as_action());
        t
    }

    /// Defines and registers a resource, addressed by a URI or a URI template.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` without a uri or template, or with an invalid template.
    pub fn define_resource<F, Fut>(&self, opts: ResourceOptions, f: F) -> Result<Resource>
    where
        F: Fn(ResourceInput, ResourceCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResourceOutput>> + Send + 'static,
    {
        let r = genkit_ai::resource::new(opts, f)?;
        self.try_register(r.as_action())?;
        Ok(r)
    }

    /// Registers a custom output format.
    pub fn define_format(
        &self,
        name: &str,
        config: FormatConfig,
        handler: impl Fn(Option<&Value>) -> Result<Arc<dyn FormatHandler>> + Send + Sync + 'static,
    ) -> Arc<dyn Format> {
        genkit_ai::format::define_format(self.registry(), name, config, handler)
    }

    /// Registers a generate middleware so `use` refs (and `/util/generate`) find it by name.
    pub fn define_middleware(&self, def: MiddlewareDef) -> MiddlewareDef {
        def.register(self.registry());
        def
    }

    /// Generates a response: a prompt string, or full [`GenerateOptions`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::{Genkit, GenerateOptions};
    /// let g = Genkit::builder().build().await?;
    /// g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    /// let r = g.generate(GenerateOptions::new().model("echo").prompt("hello")).await?;
    /// assert_eq!(r.text(), "Echo: hello; config: {}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// See [`genkit_ai::generate::generate`].
    pub async fn generate(&self, opts: impl Into<GenerateOptions>) -> Result<GenerateResponse> {
        genkit_ai::generate::generate(self.registry(), opts.into()).await
    }

    /// Streams a generation: iterate the chunks, then `.output()` for the response.
    pub fn generate_stream(&self, opts: impl Into<GenerateOptions>) -> GenerateStream {
        genkit_ai::generate::generate_stream(self.registry(), opts.into())
    }

    /// Generates structured output of type `T` (JSON schema from `schemars`, validated).
    ///
    /// # Errors
    /// As [`Genkit::generate`]; `INVALID_ARGUMENT` when the output does not fit `T`.
    pub async fn generate_data<T: DeserializeOwned + JsonSchema>(&self, opts: impl Into<GenerateOptions>) -> Result<T> {
        genkit_ai::generate::generate_data(self.registry(), opts.into()).await
    }

    /// Streams structured output of type `T`, partially parsed as it arrives.
    pub fn generate_data_stream<T: DeserializeOwned + JsonSchema>(
        &self,
        opts: impl Into<GenerateOptions>,
    ) -> DataStream<T> {
        genkit_ai::generate::generate_data_stream(self.registry(), opts.into())
    }

    /// Defines and registers an embedder from an async function of `(request, cx)`.
    ///
    /// # Panics
    /// When called while an action runs (define embedders at start-up).
    pub fn define_embedder<F, Fut>(&self, opts: EmbedderOptions, f: F) -> Embedder
    where
        F: Fn(EmbedRequest, EmbedderCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<EmbedResponse>> + Send + 'static,
    {
        let e = genkit_ai::embedder::new(opts, f);
        self.register(e.as_action());
        e
    }

    /// Embeds one text or document (JS `ai.embed`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::prelude::*;
    /// use genkit::ai::{EmbedResponse, Embedding, EmbedderOptions};
    /// let g = Genkit::builder().build().await?;
    /// g.define_embedder(EmbedderOptions::new("len"), |req, _| async move {
    ///     let embeddings = req.input.iter().map(|d| Embedding { embedding: vec![d.text().len() as f32], metadata: None });
    ///     Ok(EmbedResponse { embeddings: embeddings.collect() })
    /// });
    /// assert_eq!(g.embed("len", "four").await?[0].embedding, vec![4.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `Unable to resolve embedder <name>`, or the embedder's error.
    pub async fn embed(
        &self,
        embedder: impl Into<EmbedderRef>,
        content: impl Into<EmbedContent>,
    ) -> Result<Vec<Embedding>> {
        genkit_ai::embedder::embed(self.registry(), EmbedParams::new(embedder, content)).await
    }

    /// Embeds with full parameters (metadata, options).
    ///
    /// # Errors
    /// As [`Genkit::embed`].
    pub async fn embed_with(&self, params: EmbedParams) -> Result<Vec<Embedding>> {
        genkit_ai::embedder::embed(self.registry(), params).await
    }

    /// Embeds many texts or documents in one call (JS `ai.embedMany`).
    ///
    /// # Errors
    /// As [`Genkit::embed`].
    pub async fn embed_many<C: Into<EmbedContent>>(
        &self,
        embedder: impl Into<EmbedderRef>,
        content: impl IntoIterator<Item = C>,
    ) -> Result<Vec<Embedding>> {
        let content = content.into_iter().map(Into::into).collect();
        genkit_ai::embedder::embed_many(self.registry(), embedder, content, None).await
    }
}
