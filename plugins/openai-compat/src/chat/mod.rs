//! Chat models: the model action that encodes a Genkit request, calls
//! `POST {base}/chat/completions` (plain or SSE-streamed) and decodes the answer.

pub(crate) mod config;
pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod schema;
pub(crate) mod wire;

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::model::{Model, ModelCx, ModelOptions};
use genkit_ai::{ModelRequest, ModelResponse, ModelResponseChunk};
use genkit_core::{Error, Result};

use crate::client::Client;
use crate::models::ModelSpec;
use config::ChatConfig;
use decode::{StreamDecoder, decode_completion};
use encode::{EncodeOptions, encode_chat_request, parse_config};
use wire::ChatCompletion;

/// Per-provider behaviour of chat models.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChatBehaviour {
    /// Send JSON schemas with `strict: true` unless the config says otherwise.
    pub(crate) strict_default: bool,
}

/// Builds the model action `<plugin>/<id>`.
pub(crate) fn chat_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec, b: ChatBehaviour) -> Model {
    let opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label(plugin))
        .supports(spec.supports.clone())
        .config_schema(genkit_core::schema_for::<ChatConfig>());
    let spec = Arc::new(spec.clone());
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let spec = spec.clone();
        async move { run(&client, &spec, b, req, cx).await }
    })
}

fn warn_reasoner(plugin: &str, spec: &ModelSpec, cfg: &ChatConfig, req: &ModelRequest) {
    let mut ignored = Vec::new();
    if cfg.temperature.is_some() {
        ignored.push("temperature");
    }
    if cfg.top_p.is_some() {
        ignored.push("topP");
    }
    if req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        ignored.push("tools");
    }
    if !ignored.is_empty() {
        tracing::warn!(
            plugin,
            model = spec.id.as_str(),
            "{} not supported by reasoning model {}: the provider ignores or rejects them",
            ignored.join(", "),
            spec.id
        );
    }
}

async fn run(
    client: &Client,
    spec: &ModelSpec,
    b: ChatBehaviour,
    req: ModelRequest,
    cx: ModelCx,
) -> Result<ModelResponse> {
    let cfg = parse_config(req.config.as_ref())?;
    if spec.reasoner {
        warn_reasoner(&client.origin, spec, &cfg, &req);
    }
    let key = cfg.api_key.clone();
    let stream = cx.streaming_requested();
    let body = encode_chat_request(
        &req,
        cfg,
        &EncodeOptions {
            model: &spec.id,
            max_completion_tokens: spec.max_completion_tokens,
            strict_default: b.strict_default,
            stream,
        },
    )?;
    let cancel = cx.cancellation().clone();
    let call = async {
        let resp = client.post_json("chat/completions", &body.model, &body, key.as_deref()).await?;
        let sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut emit = |c: ModelResponseChunk| cx.send_chunk(c);
        if sse {
            read_stream(client, resp, &mut emit).await
        } else {
            // Also for a streamed request answered with plain JSON (some servers do this
            // when tools are given): the whole message becomes one chunk.
            let c: ChatCompletion = client.json(resp).await?;
            let r = decode_completion(&client.origin, c)?;
            if stream && let Some(m) = &r.message {
                emit(ModelResponseChunk {
                    role: Some(genkit_ai::Role::Model),
                    index: Some(0),
                    content: m.content.clone(),
                    ..ModelResponseChunk::default()
                });
            }
            Ok(r)
        }
    };
    tokio::select! {
        r = call => r,
        () = cancel.cancelled() => Err(Error::cancelled("the model call was cancelled").with_origin(client.origin.to_string())),
    }
}

async fn read_stream(
    client: &Client,
    resp: reqwest::Response,
    emit: &mut (dyn FnMut(ModelResponseChunk) + Send),
) -> Result<ModelResponse> {
    let mut dec = StreamDecoder::new(&client.origin).max_event(client.max_body().min(genkit_http::DEFAULT_MAX_LINE));
    let mut body = std::pin::pin!(client.http.byte_stream(resp));
    while let Some(bytes) = body.next().await {
        let bytes = bytes?;
        dec.push(&bytes, emit)?;
    }
    dec.finish(emit)
}
