//! Over real HTTP against llm-katan's echo backend (started by `tests/start-llm-katan`, or
//! the server in `LLM_KATAN_URL`): chat plain and streamed, config mapping, tools, tool
//! history, JSON mode, vision input, model listing, auth errors, Azure routes.
//!
//! The echo backend answers `[echo] model=… messages=N max_tokens=M temperature=T\nUser: <last
//! user message>`, so what the server parsed from our request is visible in the answer.

mod common;

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{FinishReason, GenerateOptions, Message, OutputOptions, Part, Role};
use genkit_core::{ActionType, Plugin, Registry, Status};
use genkit_openai_compat::{OpenAiCompat, TokenProvider, openai_compatible};
use serde_json::{Value, json};

fn registry(url: &str) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(openai_compatible("katan", format!("{url}/v1"), Some("test-key")))).unwrap();
    r
}

#[tokio::test]
async fn plain_chat_maps_config_and_usage() {
    let Some(url) = common::katan_url() else { return };
    let r = generate(
        &registry(&url),
        GenerateOptions::new()
            .model("katan/echo-model")
            .system("Be brief.")
            .prompt("Hello from Rust")
            .config(json!({"temperature": 0.25, "maxOutputTokens": 77, "seed": 1, "some_server_option": true})),
    )
    .await
    .unwrap();
    let text = r.text();
    assert!(text.contains("User: Hello from Rust"), "{text}");
    assert!(text.contains("messages=2 max_tokens=77 temperature=0.25"), "{text}");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let u = r.usage.clone().unwrap();
    assert!(u.input_tokens.unwrap() >= 3.0 && u.output_tokens.unwrap() > 0.0, "{u:?}");
    assert_eq!(u.total_tokens, Some(u.input_tokens.unwrap() + u.output_tokens.unwrap()));
}

#[tokio::test]
async fn streamed_chunks_add_up_to_the_final_text() {
    let Some(url) = common::katan_url() else { return };
    let mut s = generate_stream(
        &registry(&url),
        GenerateOptions::new()
            .model("katan/echo-model")
            .prompt("Stream me, please")
            .config(json!({"maxOutputTokens": 5})),
    );
    let mut streamed = String::new();
    let mut chunks = 0;
    while let Some(c) = s.next().await {
        streamed.push_str(&c.unwrap().text());
        chunks += 1;
    }
    let r = s.output().await.unwrap();
    assert!(chunks > 5, "the echo server streams 4 characters per chunk; got {chunks} chunks");
    assert_eq!(streamed, r.text());
    assert!(r.text().ends_with("User: Stream me, please"), "{}", r.text());
    assert!(r.text().contains("max_tokens=5"));
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert!(r.usage.as_ref().unwrap().total_tokens.unwrap() > 0.0, "usage comes from the last stream chunk");
}

fn weather_tool() -> Tool<Value, Value> {
    tool::dynamic(
        ToolConfig::new("get_weather", "Current weather of a city").input_schema(json!({
            "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]
        })),
        |input: Value, _cx| async move { Ok(json!({"city": input["city"], "temperature": 21})) },
    )
}

#[tokio::test]
async fn tool_calls_come_back_as_tool_requests_plain_and_streamed() {
    let Some(url) = common::katan_url() else { return };
    let reg = registry(&url);
    let tool = weather_tool();
    let opts = || {
        GenerateOptions::new()
            .model("katan/echo-model")
            .prompt("Weather in Paris?")
            .tool(&tool)
            .return_tool_requests(true)
    };
    let r = generate(&reg, opts()).await.unwrap();
    let reqs = r.tool_requests();
    assert_eq!(reqs.len(), 1);
    let t = reqs[0].tool_request.as_ref().unwrap();
    assert_eq!(t.name, "get_weather");
    assert_eq!(t.input, Some(json!({"city": "test_city", "days": 1})));
    assert!(t.reference.as_deref().is_some_and(|id| id.starts_with("call_")));

    // With tools the server answers a streamed request with plain JSON: still one chunk.
    let mut s = generate_stream(&reg, opts());
    let mut streamed = Vec::new();
    while let Some(c) = s.next().await {
        streamed.extend(c.unwrap().into_data().content);
    }
    let r = s.output().await.unwrap();
    assert_eq!(r.tool_requests().len(), 1);
    assert!(streamed.iter().any(|p| p.tool_request.is_some()));
}

#[tokio::test]
async fn tool_history_is_accepted_by_the_server() {
    let Some(url) = common::katan_url() else { return };
    let history = vec![
        Message::user("Weather in Paris?"),
        Message::new(
            Role::Model,
            vec![Part::tool_request("get_weather", Some(json!({"city": "Paris"})), Some("call_1".into()))],
        ),
        Message::new(
            Role::Tool,
            vec![Part::tool_response("get_weather", Some(json!({"temp": 21})), Some("call_1".into()))],
        ),
    ];
    let r =
        generate(&registry(&url), GenerateOptions::new().model("katan/echo-model").messages(history)).await.unwrap();
    assert!(r.text().contains("messages=3"), "{}", r.text());
    assert!(r.text().contains("User: Weather in Paris?"), "{}", r.text());
}

#[tokio::test]
async fn json_mode_and_vision_input() {
    let Some(url) = common::katan_url() else { return };
    let reg = registry(&url);
    let r = generate(
        &reg,
        GenerateOptions::new().model("katan/echo-model").prompt("Give me JSON").output(OutputOptions::format("json")),
    )
    .await
    .unwrap();
    let out = r.output().unwrap();
    assert!(out["response"].as_str().unwrap().contains("User: Give me JSON"), "{out}");

    let image = Part::media("data:image/png;base64,iVBORw0KGgo=", Some("image/png".into()));
    let r = generate(
        &reg,
        GenerateOptions::new().model("katan/echo-model").prompt(vec![Part::text("What is this?"), image]),
    )
    .await
    .unwrap();
    assert!(r.text().contains("User: What is this? [image:image/png]"), "{}", r.text());
}

#[tokio::test]
async fn lists_and_resolves_the_servers_models() {
    let Some(url) = common::katan_url() else { return };
    let plugin = openai_compatible("katan", format!("{url}/v1"), Some("k"));
    let names: Vec<String> = plugin.list().await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names, ["katan/echo-model"]);
    let a = plugin.resolve(ActionType::Model, "anything-else").await.unwrap().unwrap();
    assert_eq!(a.name(), "katan/anything-else");
}

#[tokio::test]
async fn a_missing_key_is_unauthenticated_with_the_servers_message() {
    let Some(url) = common::katan_url() else { return };
    let r = Registry::new();
    r.register_plugin(Arc::new(openai_compatible("nokey", format!("{url}/v1"), None))).unwrap();
    let e = generate(&r, GenerateOptions::new().model("nokey/echo-model").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert!(e.message().contains("missing Authorization header"), "{}", e.message());
    assert_eq!(e.provider_http_status(), Some(401));
}

#[tokio::test]
async fn azure_deployment_and_v1_routes() {
    let Some(url) = common::katan_url() else { return };
    let r = Registry::new();
    r.register_plugin(Arc::new(OpenAiCompat::azure().base_url(&url).api_key("azure-key"))).unwrap();
    r.register_plugin(Arc::new(
        OpenAiCompat::azure()
            .name("foundry-v1")
            .base_url(&url)
            .api_version("v1")
            .token_provider(TokenProvider::new(|| async { Ok("entra-token".to_owned()) })),
    ))
    .unwrap();
    let a = generate(&r, GenerateOptions::new().model("microsoft-foundry/my-gpt4o").prompt("via deployment"))
        .await
        .unwrap();
    assert!(a.text().contains("User: via deployment"), "{}", a.text());
    let mut s = generate_stream(&r, GenerateOptions::new().model("foundry-v1/gpt-4o").prompt("via v1"));
    while let Some(c) = s.next().await {
        c.unwrap();
    }
    let b = s.output().await.unwrap();
    assert!(b.text().contains("User: via v1"), "{}", b.text());
}
