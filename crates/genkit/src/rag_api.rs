//! Retrieval and evaluation on [`Genkit`]: retrievers, indexers, rerankers and evaluators.

use std::future::Future;

use genkit_ai::Document;
use genkit_ai::evaluator::{
    DataPointRequest, EvalFnResponse, EvalRequest, EvaluateOptions, Evaluator, EvaluatorCx, EvaluatorOptions,
};
use genkit_ai::indexer::{IndexOptions, Indexer, IndexerCx, IndexerOptions, IndexerRequest};
use genkit_ai::reranker::{
    RankedDocumentData, RerankOptions, Reranker, RerankerCx, RerankerOptions, RerankerRequest, RerankerResponse,
};
use genkit_ai::retriever::{
    RetrieveOptions, Retriever, RetrieverCx, RetrieverOptions, RetrieverRequest, RetrieverResponse,
    SimpleRetrieverOptions,
};
use genkit_core::Result;
use serde_json::Value;

use crate::Genkit;

impl Genkit {
    /// Defines and registers a retriever: `f(request, cx)` returns the documents found
    /// for `request.query`; `cx.registry()` reaches the rest of the app (e.g. an embedder).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::ai::retriever::{RetrieverOptions, RetrieverResponse};
    /// use genkit::{Document, Genkit, RetrieveOptions};
    ///
    /// let g = Genkit::builder().build().await?;
    /// g.define_retriever(RetrieverOptions::new("words"), |req, _cx| async move {
    ///     let documents = req.query.text().split(' ').map(Document::from_text).collect();
    ///     Ok(RetrieverResponse { documents })
    /// });
    /// let docs = g.retrieve(RetrieveOptions::new("words").query("a b")).await?;
    /// assert_eq!(docs.len(), 2);
    /// # Ok(()) }
    /// ```
    pub fn define_retriever<F, Fut>(&self, opts: RetrieverOptions, f: F) -> Retriever
    where
        F: Fn(RetrieverRequest, RetrieverCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<RetrieverResponse>> + Send + 'static,
    {
        let r = genkit_ai::retriever::new(opts, f);
        self.register(r.as_action());
        r
    }

    /// Defines and registers a retriever whose handler returns plain items.
    pub fn define_simple_retriever<F, Fut>(&self, opts: SimpleRetrieverOptions, f: F) -> Retriever
    where
        F: Fn(RetrieverRequest, RetrieverCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Value>>> + Send + 'static,
    {
        let r = genkit_ai::retriever::new_simple(opts, f);
        self.register(r.as_action());
        r
    }

    /// Defines and registers an indexer: `f(request, cx)` stores `request.documents`.
    pub fn define_indexer<F, Fut>(&self, opts: IndexerOptions, f: F) -> Indexer
    where
        F: Fn(IndexerRequest, IndexerCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let i = genkit_ai::indexer::new(opts, f);
        self.register(i.as_action());
        i
    }

    /// Defines and registers a reranker: `f(request, cx)` scores `request.documents`
    /// against `request.query`.
    pub fn define_reranker<F, Fut>(&self, opts: RerankerOptions, f: F) -> Reranker
    where
        F: Fn(RerankerRequest, RerankerCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<RerankerResponse>> + Send + 'static,
    {
        let r = genkit_ai::reranker::new(opts, f);
        self.register(r.as_action());
        r
    }

    /// Defines and registers an evaluator scoring one data point at a time: `f(request,
    /// cx)` scores `request.data_point`; `cx.registry()` reaches e.g. a judge model.
    pub fn define_evaluator<F, Fut>(&self, opts: EvaluatorOptions, f: F) -> Evaluator
    where
        F: Fn(DataPointRequest, EvaluatorCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<EvalFnResponse>> + Send + 'static,
    {
        let e = genkit_ai::evaluator::new(opts, f);
        self.register(e.as_action());
        e
    }

    /// Defines and registers an evaluator scoring the whole dataset in one call.
    pub fn define_batch_evaluator<F, Fut>(&self, opts: EvaluatorOptions, f: F) -> Evaluator
    where
        F: Fn(EvalRequest, EvaluatorCx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<EvalFnResponse>>> + Send + 'static,
    {
        let e = genkit_ai::evaluator::new_batch(opts, f);
        self.register(e.as_action());
        e
    }

    /// Retrieves documents (JS `ai.retrieve`): `RetrieveOptions::new(retriever).query(..)
    /// .options(json!({"k": 3}))`, the retriever by name, reference or handle.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown retriever; the retriever's errors.
    pub async fn retrieve(&self, opts: RetrieveOptions) -> Result<Vec<Document>> {
        genkit_ai::retriever::retrieve(self.registry(), opts).await
    }

    /// Indexes documents (JS `ai.index`): `IndexOptions::new(indexer).documents(..)`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown indexer; the indexer's errors.
    pub async fn index(&self, opts: IndexOptions) -> Result<()> {
        genkit_ai::indexer::index(self.registry(), opts).await
    }

    /// Reranks documents against a query (JS `ai.rerank`):
    /// `RerankOptions::new(reranker).query(..).documents(..)`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown reranker; the reranker's errors.
    pub async fn rerank(&self, opts: RerankOptions) -> Result<Vec<RankedDocumentData>> {
        genkit_ai::reranker::rerank(self.registry(), opts).await
    }

    /// Evaluates a dataset (JS `ai.evaluate`): `EvaluateOptions::new(evaluator).dataset(..)`;
    /// the run id defaults to a UUID.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown evaluator.
    pub async fn evaluate(&self, opts: EvaluateOptions) -> Result<Vec<EvalFnResponse>> {
        genkit_ai::evaluator::evaluate(self.registry(), opts).await
    }
}
