//! Vertex AI Model Garden (feature `model-garden`): Anthropic's Claude models on Vertex
//! (`publishers/anthropic/models/{m}:rawPredict` / `:streamRawPredict`, the Messages API body
//! without `model` and with `anthropic_version: "vertex-2023-10-16"`), encoded and decoded by
//! `genkit-anthropic`'s codec; and the OpenAI-compatible endpoint for Model Garden's
//! managed open models (`endpoints/openapi/chat/completions`, models named
//! `publisher/model`, e.g. `meta/llama-3.3-70b-instruct-maas`), by `genkit-openai-compat`'s.

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::model::{Model, ModelCx, ModelOptions};
use genkit_ai::{ModelRequest, ModelResponse, ModelResponseChunk, Role};
use genkit_anthropic::AnthropicConfig;
use genkit_anthropic::codec as claude;
use genkit_core::{Error, Result, Status};
use genkit_openai_compat::codec as oai;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{Backend, Client};

/// The `anthropic_version` Vertex AI wants in the body.
pub const VERTEX_ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Claude models registered under `vertexai/` and their Vertex AI model ids (any other
/// `claude-*` id, dated as `claude-…@YYYYMMDD` or not, resolves as given).
pub const VERTEX_CLAUDE_MODELS: [(&str, &str); 6] = [
    ("claude-sonnet-4-5", "claude-sonnet-4-5@20250929"),
    ("claude-haiku-4-5", "claude-haiku-4-5@20251001"),
    ("claude-opus-4-1", "claude-opus-4-1@20250805"),
    ("claude-sonnet-4", "claude-sonnet-4@20250514"),
    ("claude-opus-4", "claude-opus-4@20250514"),
    ("claude-3-5-haiku", "claude-3-5-haiku@20241022"),
];

/// Whether an id names a Claude model.
pub(crate) fn is_claude_id(id: &str) -> bool {
    id.starts_with("claude-")
}

/// Whether an id names an OpenAI-compatible Model Garden model (`publisher/model`).
pub(crate) fn is_openai_id(id: &str) -> bool {
    id.split_once('/').is_some_and(|(p, m)| !p.is_empty() && !m.is_empty() && !m.contains('/'))
}

/// The Vertex AI model id of a Claude model.
pub(crate) fn claude_api_id(id: &str) -> String {
    VERTEX_CLAUDE_MODELS.iter().find(|(g, _)| *g == id).map_or_else(|| id.to_owned(), |(_, v)| (*v).to_owned())
}

/// The model action `<plugin>/<id>` for a Claude model on Vertex AI.
pub(crate) fn claude_model(plugin: &str, client: Arc<Client>, id: &str) -> Model {
    let opts = ModelOptions::new(format!("{plugin}/{id}"))
        .label(format!("Vertex AI Model Garden - {id}"))
        .supports(genkit_anthropic::claude_supports())
        .config_schema(genkit_core::schema_for::<AnthropicConfig>());
    let api_id: Arc<str> = claude_api_id(id).into();
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let api_id = api_id.clone();
        async move { cancellable(&client, &cx, run_claude(&client, &api_id, req, &cx)).await }
    })
}

/// The rawPredict body: the Messages API request without `model`, with the Vertex version.
pub fn vertex_claude_body(body: &claude::MessagesRequest) -> Result<Value> {
    let mut v =
        serde_json::to_value(body).map_err(|e| Error::invalid_argument(format!("cannot encode the request: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.remove("model");
        o.insert("anthropic_version".into(), Value::String(VERTEX_ANTHROPIC_VERSION.into()));
    }
    Ok(v)
}

fn vertex_only(client: &Client, what: &str) -> Result<()> {
    match client.backend() {
        Backend::Vertex { .. } => Ok(()),
        _ => Err(Error::new(
            Status::FailedPrecondition,
            format!("{what} on Vertex AI need a project and location (not express mode)"),
        )
        .with_origin(client.origin.clone())),
    }
}

async fn cancellable(
    client: &Client,
    cx: &ModelCx,
    call: impl std::future::Future<Output = Result<ModelResponse>>,
) -> Result<ModelResponse> {
    let cancel = cx.cancellation().clone();
    tokio::select! {
        r = call => r,
        () = cancel.cancelled() => Err(Error::cancelled("the model call was cancelled").with_origin(client.origin.clone())),
    }
}

async fn run_claude(client: &Client, api_id: &str, req: ModelRequest, cx: &ModelCx) -> Result<ModelResponse> {
    vertex_only(client, "Claude models")?;
    let stream = cx.streaming_requested();
    let cfg = match req.config.as_ref() {
        None | Some(Value::Null) => AnthropicConfig::default(),
        Some(v) => {
            AnthropicConfig::deserialize(v).map_err(|e| Error::invalid_argument(format!("invalid config: {e}")))?
        }
    };
    let opts = claude::EncodeOptions { model: api_id, stream, structured_output: false, cache_system_prompt: false };
    let claude::Encoded { body, betas, api_key: _ } = claude::encode_request(&req, cfg, &opts)?;
    let model = body.model.clone();
    let body = vertex_claude_body(&body)?;
    let method = if stream { "streamRawPredict" } else { "rawPredict" };
    let url = client.url(&client.model_path(&format!("publishers/anthropic/models/{model}"), method));
    let headers: Vec<(&'static str, String)> =
        if betas.is_empty() { Vec::new() } else { vec![("anthropic-beta", betas.join(","))] };
    let resp = client.post_json_with(&url, &[], &body, None, &headers).await?;
    let sse = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut emit = |c: ModelResponseChunk| cx.send_chunk(c);
    if sse {
        let mut dec = claude::StreamDecoder::new(&client.origin);
        let mut bytes = std::pin::pin!(client.http.byte_stream(resp));
        while let Some(b) = bytes.next().await {
            dec.push(&b?, &mut emit)?;
        }
        dec.finish(&mut emit)
    } else {
        let m: claude::MessageResponse = client.json(resp).await?;
        let r = claude::decode_message(m);
        if stream && let Some(m) = &r.message {
            emit(ModelResponseChunk {
                role: Some(Role::Model),
                index: Some(0),
                content: m.content.clone(),
                ..ModelResponseChunk::default()
            });
        }
        Ok(r)
    }
}

/// The model action `<plugin>/<publisher>/<model>` on the OpenAI-compatible endpoint.
pub(crate) fn openai_model(plugin: &str, client: Arc<Client>, id: &str) -> Model {
    let opts = ModelOptions::new(format!("{plugin}/{id}"))
        .label(format!("Vertex AI Model Garden - {id}"))
        .supports(genkit_openai_compat::multimodal_chat())
        .config_schema(genkit_core::schema_for::<genkit_openai_compat::ChatConfig>());
    let id: Arc<str> = id.into();
    genkit_ai::model::new(opts, move |req, cx| {
        let client = client.clone();
        let id = id.clone();
        async move { cancellable(&client, &cx, run_openai(&client, &id, req, &cx)).await }
    })
}

async fn run_openai(client: &Client, id: &str, req: ModelRequest, cx: &ModelCx) -> Result<ModelResponse> {
    vertex_only(client, "Model Garden's OpenAI-compatible models")?;
    let stream = cx.streaming_requested();
    let cfg = oai::parse_config(req.config.as_ref())?;
    let body = oai::encode_chat_request(
        &req,
        cfg,
        &oai::EncodeOptions { model: id, stream, ..oai::EncodeOptions::default() },
    )?;
    let url = client.url(&client.scoped("endpoints/openapi/chat/completions"));
    let resp = client.post_json_url(&url, &[], &body, None).await?;
    let mut emit = |c: ModelResponseChunk| cx.send_chunk(c);
    if stream {
        let mut dec = oai::StreamDecoder::new(&client.origin);
        let mut bytes = std::pin::pin!(client.http.byte_stream(resp));
        while let Some(b) = bytes.next().await {
            dec.push(&b?, &mut emit)?;
        }
        dec.finish(&mut emit)
    } else {
        let c: oai::ChatCompletion = client.json(resp).await?;
        oai::decode_completion(&client.origin, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_route_to_the_right_family() {
        assert!(is_claude_id("claude-sonnet-4-5") && !is_claude_id("gemini-2.5-flash"));
        assert!(is_openai_id("meta/llama-3.3-70b-instruct-maas"));
        assert!(!is_openai_id("gemini-2.5-flash") && !is_openai_id("a/b/c") && !is_openai_id("/x"));
        assert_eq!(claude_api_id("claude-sonnet-4-5"), "claude-sonnet-4-5@20250929");
        assert_eq!(claude_api_id("claude-3-7-sonnet@20250219"), "claude-3-7-sonnet@20250219");
    }
}
