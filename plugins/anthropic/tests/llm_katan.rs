//! Over real HTTP against llm-katan's echo backend with its Anthropic provider (started by
//! `tests/start-llm-katan`, or the server in `LLM_KATAN_ANTHROPIC_URL`): messages plain and
//! streamed (SSE with the documented event names), system prompt, config mapping, multi-turn
//! and tool history, tool use plain and streamed, images, auth errors, listing.
//!
//! The echo backend answers `[echo] model=… messages=N max_tokens=M temperature=T\nUser: <last
//! user message>`, so what the server parsed from our request is visible in the answer; with
//! tools it also calls the first tool with arguments made from its schema.

mod common;

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{FinishReason, GenerateOptions, Message, Part, Role};
use genkit_anthropic::Anthropic;
use genkit_core::{ActionType, Plugin, Registry, Status};
use serde_json::{Value, json};

fn plugin(url: &str) -> Anthropic {
    Anthropic::new().api_key("test-key").base_url(url)
}

fn registry(p: Anthropic) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

#[tokio::test]
async fn plain_messages_map_system_config_and_usage() {
    let Some(url) = common::katan_url() else { return };
    let r = generate(
        &registry(plugin(&url)),
        GenerateOptions::new()
            .model("anthropic/claude-haiku-4-5")
            .system("Be brief.")
            .prompt("Hello from Rust")
            .config(json!({"temperature": 0.25, "maxOutputTokens": 77})),
    )
    .await
    .unwrap();
    let text = r.text();
    assert!(text.contains("messages=2 max_tokens=77 temperature=0.25"), "system + user: {text}");
    assert!(text.contains("User: Hello from Rust"), "{text}");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let u = r.usage.clone().unwrap();
    assert!(u.input_tokens.unwrap() > 0.0 && u.output_tokens.unwrap() > 0.0, "{u:?}");
    assert_eq!(r.custom.as_ref().unwrap()["model"], "claude-haiku-4-5");
}

#[tokio::test]
async fn streamed_chunks_add_up_to_the_final_text() {
    let Some(url) = common::katan_url() else { return };
    let mut s = generate_stream(
        &registry(plugin(&url)),
        GenerateOptions::new()
            .model("anthropic/claude-sonnet-4-5")
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
    assert!(chunks > 5, "the echo server streams 4 characters per text_delta; got {chunks} chunks");
    assert_eq!(streamed, r.text());
    assert!(r.text().ends_with("User: Stream me, please"), "{}", r.text());
    assert!(r.text().contains("max_tokens=5"));
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert!(r.usage.as_ref().unwrap().output_tokens.unwrap() > 0.0, "usage from message_delta");
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
async fn tool_use_plain_and_streamed_from_partial_json() {
    let Some(url) = common::katan_url() else { return };
    let reg = registry(plugin(&url));
    let tool = weather_tool();
    let opts = || {
        GenerateOptions::new()
            .model("anthropic/claude-haiku-4-5")
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
    assert!(t.reference.as_deref().is_some_and(|id| id.starts_with("toolu_")));

    // Streamed: the input arrives as input_json_delta fragments of 4 characters.
    let mut s = generate_stream(&reg, opts());
    let mut streamed = Vec::new();
    while let Some(c) = s.next().await {
        streamed.extend(c.unwrap().into_data().content);
    }
    let r = s.output().await.unwrap();
    let t = r.tool_requests()[0].tool_request.clone().unwrap();
    assert_eq!(t.input, Some(json!({"city": "test_city", "days": 1})));
    assert_eq!(streamed.iter().filter(|p| p.tool_request.is_some()).count(), 1);
    assert!(r.text().contains("User: Weather in Paris?"), "{}", r.text());
}

#[tokio::test]
async fn multi_turn_and_tool_history_are_accepted() {
    let Some(url) = common::katan_url() else { return };
    let history = vec![
        Message::user("Weather in Paris?"),
        Message::new(
            Role::Model,
            vec![Part::tool_request("get_weather", Some(json!({"city": "Paris"})), Some("toolu_1".into()))],
        ),
        Message::new(
            Role::Tool,
            vec![Part::tool_response("get_weather", Some(json!({"temp": 21})), Some("toolu_1".into()))],
        ),
        Message::model("It is 21 degrees."),
        Message::user("And tomorrow?"),
    ];
    let r =
        generate(&registry(plugin(&url)), GenerateOptions::new().model("anthropic/claude-haiku-4-5").messages(history))
            .await
            .unwrap();
    assert!(r.text().contains("messages=5"), "{}", r.text());
    assert!(r.text().contains("User: And tomorrow?"), "{}", r.text());
}

#[tokio::test]
async fn images_by_data_url_and_by_url() {
    let Some(url) = common::katan_url() else { return };
    let reg = registry(plugin(&url));
    let r = generate(
        &reg,
        GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt(vec![
            Part::text("What is this?"),
            Part::media("data:image/png;base64,iVBORw0KGgo=", Some("image/png".into())),
            Part::media("https://example.com/cat.jpg", Some("image/jpeg".into())),
        ]),
    )
    .await
    .unwrap();
    // The server prints a base64 image's media type; a URL image has none.
    assert!(r.text().contains("User: What is this?\n[image:image/png]\n[image:unknown]"), "{}", r.text());
}

#[tokio::test]
async fn a_missing_key_is_unauthenticated_with_the_servers_message() {
    let Some(url) = common::katan_url() else { return };
    let reg = registry(Anthropic::new().name("nokey").base_url(&url));
    let e = generate(&reg, GenerateOptions::new().model("nokey/claude-haiku-4-5").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert!(e.message().contains("missing x-api-key header"), "{}", e.message());
    assert_eq!(e.provider_http_status(), Some(401));
    assert_eq!(e.details().unwrap()["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn listing_without_a_models_endpoint_keeps_the_catalogue() {
    let Some(url) = common::katan_url() else { return };
    let p = plugin(&url);
    let names: Vec<String> = p.list().await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names.len(), genkit_anthropic::claude_models().len(), "{names:?}");
    let a = p.resolve(ActionType::Model, "claude-anything").await.unwrap().unwrap();
    assert_eq!(a.name(), "anthropic/claude-anything");
}
