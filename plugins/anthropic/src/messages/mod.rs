//! Claude models: the model action that encodes a Genkit request, calls `POST /v1/messages`
//! (plain or SSE-streamed) and decodes the answer.

pub(crate) mod decode;
pub(crate) mod encode;
pub(crate) mod stream;
pub(crate) mod wire;

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::model::{Model, ModelCx, ModelOptions};
use genkit_ai::{Constrained, ModelRequest, ModelResponse, ModelResponseChunk};
use genkit_core::{Error, Result};

use crate::client::Client;
use crate::config::{AnthropicConfig, parse_config};
use crate::models::ModelSpec;
use decode::decode_message;
use encode::{EncodeOptions, Encoded, encode_request};
use stream::StreamDecoder;
use wire::MessageResponse;

/// Per-plugin behaviour of the models.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Behaviour {
    /// Mark the system prompt for caching.
    pub(crate) cache_system_prompt: bool,
}

/// Builds the model action `<plugin>/<id>`.
pub(crate) fn claude_model(plugin: &str, client: Arc<Client>, spec: &ModelSpec, b: Behaviour) -> Model {
    let opts = model_options(plugin, spec);
    let spec = Arc::new(spec.clone());
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let spec = spec.clone();
        async move { run(&client, &spec, b, req, cx).await }
    })
}

/// The options (name, label, capabilities, config schema) of a model.
pub(crate) fn model_options(plugin: &str, spec: &ModelSpec) -> ModelOptions {
    let mut opts = ModelOptions::new(format!("{plugin}/{}", spec.id))
        .label(spec.display_label())
        .supports(spec.supports.clone())
        .config_schema(genkit_core::schema_for::<AnthropicConfig>());
    if let Some(stage) = spec.stage {
        opts = opts.stage(stage);
    }
    opts
}

/// Encodes `req` for `spec` the way the model action does.
pub(crate) fn encode_for(spec: &ModelSpec, b: Behaviour, req: &ModelRequest, stream: bool) -> Result<Encoded> {
    let cfg = parse_config(req.config.as_ref())?;
    encode_request(
        req,
        cfg,
        &EncodeOptions {
            model: &spec.api_id,
            stream,
            structured_output: spec.supports.constrained == Some(Constrained::All),
            cache_system_prompt: b.cache_system_prompt,
        },
    )
}

async fn run(client: &Client, spec: &ModelSpec, b: Behaviour, req: ModelRequest, cx: ModelCx) -> Result<ModelResponse> {
    let stream = cx.streaming_requested();
    let Encoded { body, betas, api_key } = encode_for(spec, b, &req, stream)?;
    let betas = client.merged_betas(&betas);
    let cancel = cx.cancellation().clone();
    let call = async {
        let resp = client.post_json("v1/messages", &body, api_key.as_deref(), &betas).await?;
        let sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let mut emit = |c: ModelResponseChunk| cx.send_chunk(c);
        if sse {
            read_stream(client, resp, &mut emit).await
        } else {
            // Also for a streamed request answered with plain JSON: the whole message
            // becomes one chunk.
            let m: MessageResponse = client.json(resp).await?;
            let r = decode_message(m);
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
        () = cancel.cancelled() => Err(Error::cancelled("the model call was cancelled").with_origin(client.origin.clone())),
    }
}

async fn read_stream(
    client: &Client,
    resp: reqwest::Response,
    emit: &mut (dyn FnMut(ModelResponseChunk) + Send),
) -> Result<ModelResponse> {
    let mut dec = StreamDecoder::new(&client.origin);
    let mut body = std::pin::pin!(client.http.byte_stream(resp));
    while let Some(bytes) = body.next().await {
        let bytes = bytes?;
        dec.push(&bytes, emit)?;
    }
    dec.finish(emit)
}
