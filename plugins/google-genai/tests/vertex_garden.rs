//! Vertex AI Model Garden (feature `model-garden`): Claude on Vertex over `rawPredict` /
//! `streamRawPredict` (wiremock replays of the Messages API shapes Vertex returns), and the
//! OpenAI-compatible endpoint (wiremock, and llm-katan's Vertex OpenAI-compatible route).
#![cfg(feature = "model-garden")]

mod common;

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{FinishReason, GenerateOptions};
use genkit_core::{Registry, Status};
use genkit_google_genai::{ApiKey, Credentials, VertexAi};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLAUDE: &str = "/v1/projects/my-project/locations/us-east5/publishers/anthropic/models";

fn plugin(url: &str) -> VertexAi {
    VertexAi::new()
        .base_url(url)
        .project("my-project")
        .location("us-east5")
        .credentials(Credentials::AccessToken(ApiKey::new("ya29.garden")))
}

fn registry(p: VertexAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

async fn body_of(server: &MockServer, i: usize) -> Value {
    serde_json::from_slice(&server.received_requests().await.unwrap()[i].body).unwrap()
}

#[tokio::test]
async fn claude_raw_predict_sends_the_vertex_body_and_decodes_the_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{CLAUDE}/claude-sonnet-4-5@20250929:rawPredict")))
        .and(header("authorization", "Bearer ya29.garden"))
        .and(body_partial_json(json!({
            "anthropic_version": "vertex-2023-10-16",
            "system": "Be brief.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello Claude"}]}],
            "max_tokens": 100
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_vrtx_0162rhgehxa9rvJM5BSVLZ9j", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": [{"type": "text", "text": "Hello from Vertex!"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 6}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server.uri())),
        GenerateOptions::new()
            .model("vertexai/claude-sonnet-4-5")
            .system("Be brief.")
            .prompt("Hello Claude")
            .config(json!({"maxOutputTokens": 100})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Hello from Vertex!");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let u = r.usage.clone().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens), (Some(12.0), Some(6.0)));
    let body = body_of(&server, 0).await;
    assert!(body.get("model").is_none(), "Vertex takes the model from the URL: {body}");
}

#[tokio::test]
async fn claude_stream_raw_predict_streams_anthropic_events_and_tool_use() {
    let server = MockServer::start().await;
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_vrtx_01", "type": "message", "role": "assistant",
            "model": "claude-haiku-4-5-20251001", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 20, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " the weather."}}),
        ),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use",
            "id": "toolu_vrtx_01", "name": "get_weather", "input": {}}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta",
            "partial_json": "{\"city\": \"Rome\"}"}}),
        ),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"output_tokens": 30}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let sse: String = events.iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect();
    Mock::given(method("POST"))
        .and(path(format!("{CLAUDE}/claude-haiku-4-5@20251001:streamRawPredict")))
        .and(body_partial_json(json!({"anthropic_version": "vertex-2023-10-16", "stream": true,
            "tools": [{"name": "get_weather"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Weather of a city")
            .input_schema(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
        |_i: Value, _cx| async move { Ok(json!({"temp": 25})) },
    );
    let mut s = generate_stream(
        &registry(plugin(&server.uri())),
        GenerateOptions::new()
            .model("vertexai/claude-haiku-4-5")
            .prompt("Weather in Rome?")
            .tool(&weather)
            .return_tool_requests(true),
    );
    let mut text = String::new();
    while let Some(c) = s.next().await {
        text.push_str(&c.unwrap().text());
    }
    let r = s.output().await.unwrap();
    assert_eq!(text, "Checking the weather.");
    let reqs = r.tool_requests();
    assert_eq!(reqs.len(), 1);
    let tr = reqs[0].tool_request.as_ref().unwrap();
    assert_eq!((tr.name.as_str(), tr.input.clone()), ("get_weather", Some(json!({"city": "Rome"}))));
}

#[tokio::test]
async fn claude_errors_keep_vertex_statuses() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{CLAUDE}/claude-opus-4-1@20250805:rawPredict")))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7").set_body_json(json!({"error": {"code": 429,
            "message": "Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model with base model: anthropic-claude-opus-4-1.",
            "status": "RESOURCE_EXHAUSTED"}})))
        .mount(&server)
        .await;
    let e = generate(
        &registry(plugin(&server.uri())),
        GenerateOptions::new().model("vertexai/claude-opus-4-1").prompt("hi"),
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(7)));
}

#[tokio::test]
async fn garden_models_need_a_project_not_express_mode() {
    let server = MockServer::start().await;
    let p = VertexAi::new().base_url(server.uri()).api_key("AQ.key");
    let e = generate(&registry(p), GenerateOptions::new().model("vertexai/claude-sonnet-4-5").prompt("hi"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
}

#[tokio::test]
async fn openai_compatible_garden_models_use_the_openapi_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/my-project/locations/us-east5/endpoints/openapi/chat/completions"))
        .and(header("authorization", "Bearer ya29.garden"))
        .and(body_partial_json(json!({"model": "meta/llama-3.3-70b-instruct-maas",
            "messages": [{"role": "user", "content": "Hi Llama"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1750000000, "model": "meta/llama-3.3-70b-instruct-maas",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from Llama"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = plugin(&server.uri()).model_garden("meta/llama-3.3-70b-instruct-maas");
    let r = generate(
        &registry(p),
        GenerateOptions::new().model("vertexai/meta/llama-3.3-70b-instruct-maas").prompt("Hi Llama"),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Hello from Llama");
    assert_eq!(r.usage.clone().unwrap().total_tokens, Some(9.0));
}

#[tokio::test]
async fn openai_compatible_garden_models_against_llm_katan() {
    let Some(url) = common::katan_url() else { return };
    let r = registry(plugin(&url));
    let out = generate(
        &r,
        GenerateOptions::new().model("vertexai/meta/llama-3.3-70b-instruct-maas").prompt("Hello Model Garden"),
    )
    .await
    .unwrap();
    assert!(out.text().contains("Hello Model Garden"), "{}", out.text());
    let mut s = generate_stream(
        &r,
        GenerateOptions::new().model("vertexai/meta/llama-3.3-70b-instruct-maas").prompt("Stream it"),
    );
    let mut streamed = String::new();
    while let Some(c) = s.next().await {
        streamed.push_str(&c.unwrap().text());
    }
    assert_eq!(streamed, s.output().await.unwrap().text());
    assert!(streamed.contains("Stream it"), "{streamed}");
}
