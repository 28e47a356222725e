//! Gemini models: the model action that encodes a Genkit request, calls
//! `models/{id}:generateContent` or `:streamGenerateContent?alt=sse`, and decodes the answer.

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::model::{Model, ModelCx, ModelOptions};
use genkit_ai::{ModelRequest, ModelResponse, ModelResponseChunk};
use genkit_core::{Error, Result, Status};
use serde_json::Value;

use crate::client::Client;
use crate::config::{GeminiConfig, parse_config};
use crate::decode::{StreamDecoder, decode_response};
use crate::encode::{EncodeOptions, Encoded, encode_request};
use crate::models::ModelSpec;

/// Builds the model action `<plugin>/<id>`.
pub(crate) fn gemini_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec, response_json_schema: bool) -> Model {
    let opts = model_options(plugin, spec);
    let id: Arc<str> = spec.id.as_str().into();
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let id = id.clone();
        async move { run(&client, &id, response_json_schema, req, cx).await }
    })
}

/// The options (name, label, capabilities, config schema) of a model.
pub(crate) fn model_options(plugin: &str, spec: &ModelSpec) -> ModelOptions {
    let mut opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label())
        .supports(spec.supports.clone())
        .config_schema(genkit_core::schema_for::<GeminiConfig>());
    if let Some(stage) = spec.stage {
        opts = opts.stage(stage);
    }
    opts
}

/// Whether an answer is an SSE stream (by its content type).
fn is_sse(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

async fn run(
    client: &Client,
    id: &str,
    response_json_schema: bool,
    req: ModelRequest,
    cx: ModelCx,
) -> Result<ModelResponse> {
    let stream = cx.streaming_requested();
    let mut cfg = parse_config(req.config.as_ref())?;
    if cfg.response_modalities.is_none() {
        cfg.response_modalities = crate::models::default_modalities(cfg.version.as_deref().unwrap_or(id));
    }
    let cancel = cx.cancellation().clone();
    let mut used_cache: Option<String> = None;
    let call = async {
        // A cache marker moves the marked prefix into a `cachedContents` entry.
        let model_id = cfg.version.clone().unwrap_or_else(|| id.to_owned());
        let split = crate::cache::split(client, &model_id, &req, &cfg)?;
        let req = match split {
            Some((prefix, rest, ttl)) => {
                let name = crate::cache::cache_for(client, prefix, ttl, cfg.api_key.as_deref()).await?;
                used_cache = Some(name.clone());
                cfg.extra.insert("cachedContent".into(), Value::String(name));
                std::borrow::Cow::Owned(rest)
            }
            None => std::borrow::Cow::Borrowed(&req),
        };
        let Encoded { body, model, api_key } =
            encode_request(&req, cfg, EncodeOptions { model: id, response_json_schema })?;
        let mut emit = |c: ModelResponseChunk| cx.send_chunk(c);
        if stream {
            let path = client.model_path(&model, "streamGenerateContent");
            let resp = client.post_json(&path, &[("alt", "sse")], &body, api_key.as_deref()).await?;
            if !is_sse(&resp) {
                // A server that answers a streamed request with one JSON response (some
                // proxies and fakes): the whole answer becomes one chunk.
                let raw: Value = client.json(resp).await?;
                let r = decode_response(&raw);
                if let Some(m) = &r.message {
                    emit(ModelResponseChunk {
                        role: Some(genkit_ai::Role::Model),
                        index: Some(0),
                        content: m.content.clone(),
                        ..ModelResponseChunk::default()
                    });
                }
                return Ok(r);
            }
            let mut dec = StreamDecoder::new(&client.origin);
            let mut bytes = std::pin::pin!(client.http.byte_stream(resp));
            while let Some(b) = bytes.next().await {
                let b = b?;
                dec.push(&b, &mut emit)?;
            }
            dec.finish(&mut emit)
        } else {
            let path = client.model_path(&model, "generateContent");
            let resp = client.post_json(&path, &[], &body, api_key.as_deref()).await?;
            let raw: Value = client.json(resp).await?;
            Ok(decode_response(&raw))
        }
    };
    let r = tokio::select! {
        r = call => r,
        () = cancel.cancelled() => Err(Error::cancelled("the model call was cancelled").with_origin(client.origin.clone())),
    };
    // A cache that is gone (deleted or expired early) is forgotten, so the next call makes a
    // new one instead of failing until its remembered lifetime ends.
    if let (Err(e), Some(name)) = (&r, used_cache.as_deref())
        && matches!(e.status(), Status::NotFound | Status::PermissionDenied | Status::InvalidArgument)
    {
        client.caches.forget(name);
    }
    r
}
