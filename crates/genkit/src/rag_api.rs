//! Retrieval and evaluation on [`Genkit`]: retrievers, indexers, rerankers and evaluators.

use std::future::Future;

use genkit_ai::Document;
use genkit_ai::evaluator::{BaseDataPoint, EvalFnResponse, EvaluatorAction, EvaluatorOptions};
use genkit_ai::reranker::{RankedDocumentData, RerankerAction, RerankerResponse};
use genkit_ai::retriever::{
    IndexerAction, Query, RetrieverAction, RetrieverOptions, RetrieverResponse, SimpleRetrieverOptions,
};
use genkit_core::Result;
use serde_json::Value;

use crate::Genkit;

impl Genkit {
    /// Defines and registers a retriever (R3): `f(query, options)` returns the documents found.
    pub fn define_retriever<F, Fut>(&self, opts: RetrieverOptions, f: F) -> RetrieverAction
    where
        F: Fn(Document, Option<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<RetrieverResponse>> + Send + 'static,
    {
        let r = genkit_ai::retriever::new_retriever(opts, f);
        self.register(r.as_action());
        r
    }

    /// Defines and registers a retriever whose handler returns plain items (R5).
    pub fn define_simple_retriever<F, Fut>(&self, opts: SimpleRetrieverOptions, f: F) -> RetrieverAction
    where
        F: Fn(Document, Option<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Value>>> + Send + 'static,
    {
        let r = genkit_ai::retriever::new_simple_retriever(opts, f);
        self.register(r.as_action());
        r
    }

    /// Defines and registers an indexer (R4): `f(documents, options)` stores them.
    pub fn define_indexer<F, Fut>(&self, opts: RetrieverOptions, f: F) -> IndexerAction
    where
        F: Fn(Vec<Document>, Option<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let i = genkit_ai::retriever::new_indexer(opts, f);
        self.register(i.as_action());
        i
    }

    /// Defines and registers a reranker (R6).
    pub fn define_reranker<F, Fut>(&self, opts: RetrieverOptions, f: F) -> RerankerAction
    where
        F: Fn(Document, Vec<Document>, Option<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<RerankerResponse>> + Send + 'static,
    {
        let r = genkit_ai::reranker::new(opts, f);
        self.register(r.as_action());
        r
    }

    /// Defines and registers an evaluator scoring one data point at a time (R7).
    pub fn define_evaluator<F, Fut>(&self, opts: EvaluatorOptions, f: F) -> EvaluatorAction
    where
        F: Fn(BaseDataPoint, Option<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<EvalFnResponse>> + Send + 'static,
    {
        let e = genkit_ai::evaluator::new(opts, f);
        self.register(e.as_action());
        e
    }

    /// Defines and registers an evaluator scoring the whole dataset in one call.
    pub fn define_batch_evaluator<F, Fut>(&self, opts: EvaluatorOptions, f: F) -> EvaluatorAction
    where
        F: Fn(Vec<BaseDataPoint>, Option<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<EvalFnResponse>>> + Send + 'static,
    {
        let e = genkit_ai::evaluator::new_batch(opts, f);
        self.register(e.as_action());
        e
    }

    /// Retrieves documents (JS `ai.retrieve`); `options` e.g. `{"k": 3}`.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown retriever; the retriever's errors.
    pub async fn retrieve(
        &self,
        retriever: &str,
        query: impl Into<Query>,
        options: Option<Value>,
    ) -> Result<Vec<Document>> {
        genkit_ai::retriever::retrieve(self.registry(), retriever, query, options).await
    }

    /// Indexes documents (JS `ai.index`).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown indexer; the indexer's errors.
    pub async fn index(&self, indexer: &str, documents: Vec<Document>, options: Option<Value>) -> Result<()> {
        genkit_ai::retriever::index(self.registry(), indexer, documents, options).await
    }

    /// Reranks documents against a query (JS `ai.rerank`).
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown reranker; the reranker's errors.
    pub async fn rerank(
        &self,
        reranker: &str,
        query: impl Into<Query>,
        documents: Vec<Document>,
        options: Option<Value>,
    ) -> Result<Vec<RankedDocumentData>> {
        genkit_ai::reranker::rerank(self.registry(), reranker, query, documents, options).await
    }

    /// Evaluates a dataset (JS `ai.evaluate`); the run id defaults to a UUID.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown evaluator.
    pub async fn evaluate(
        &self,
        evaluator: &str,
        dataset: Vec<BaseDataPoint>,
        options: Option<Value>,
    ) -> Result<Vec<EvalFnResponse>> {
        genkit_ai::evaluator::evaluate(self.registry(), evaluator, dataset, None, options).await
    }
}
