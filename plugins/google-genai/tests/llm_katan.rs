//! Over real HTTP against llm-katan's echo backend with its Vertex AI provider, which also
//! serves the Gemini API paths (`/v1beta/models/{m}:generateContent`, started by
//! `tests/start-llm-katan`, or the server in `LLM_KATAN_GEMINI_URL`): plain and streamed
//! generation, system instruction, config mapping, multi-turn with tool history, function
//! calls, and the auth error. llm-katan takes the key only as `?key=`, so these tests use
//! [`KeyTransport::Query`].
//!
//! The echo backend answers `[echo] model=… messages=N max_tokens=M temperature=T\nUser: <last
//! user message>`, so what the server parsed from our request is visible in the answer; with
//! tools it calls the first one.

mod common;

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{FinishReason, GenerateOptions, Message, Part, Role};
use genkit_core::{Registry, Status};
use genkit_google_genai::{GoogleAi, KeyTransport};
use serde_json::{Value, json};

fn plugin(url: &str) -> GoogleAi {
    GoogleAi::new().api_key("test-key").base_url(url).key_transport(KeyTransport::Query)
}

fn registry(p: GoogleAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

#[tokio::test]
async fn plain_generation_maps_system_config_and_usage() {
    let Some(url) = common::katan_url() else { return };
    let r = generate(
        &registry(plugin(&url)),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash")
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
}

#[tokio::test]
async fn streamed_chunks_add_up_to_the_final_text() {
    let Some(url) = common::katan_url() else { return };
    let mut s = generate_stream(
        &registry(plugin(&url)),
        GenerateOptions::new().model("googleai/gemini-2.5-pro").prompt("Stream me, please"),
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
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
}

#[tokio::test]
async fn function_calls_come_back_as_tool_requests() {
    let Some(url) = common::katan_url() else { return };
    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Current weather of a city")
            .input_schema(json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})),
        |_input: Value, _cx| async move { Ok(json!({"temperature": 21})) },
    );
    let r = generate(
        &registry(plugin(&url)),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash")
            .prompt("Weather in Paris?")
            .tool(&weather)
            .return_tool_requests(true),
    )
    .await
    .unwrap();
    let reqs = r.tool_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].tool_request.as_ref().unwrap().name, "get_weather");
}

#[tokio::test]
async fn multi_turn_and_tool_history_are_accepted() {
    let Some(url) = common::katan_url() else { return };
    let history = vec![
        Message::user("Weather in Paris?"),
        Message::new(Role::Model, vec![Part::tool_request("get_weather", Some(json!({"city": "Paris"})), None)]),
        Message::new(Role::Tool, vec![Part::tool_response("get_weather", Some(json!({"temp": 21})), None)]),
        Message::model("It is 21 degrees."),
        Message::user("And tomorrow?"),
    ];
    let r =
        generate(&registry(plugin(&url)), GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(history))
            .await
            .unwrap();
    assert!(r.text().contains("User: And tomorrow?"), "{}", r.text());
}

#[tokio::test]
async fn a_key_in_the_header_only_is_refused_as_unauthenticated() {
    let Some(url) = common::katan_url() else { return };
    // llm-katan refuses the header transport: a real 401 in Google's error shape.
    let reg = registry(GoogleAi::new().api_key("test-key").base_url(&url));
    let e = generate(&reg, GenerateOptions::new().model("googleai/gemini-2.5-flash").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert_eq!(e.provider_http_status(), Some(401));
    assert_eq!(e.details().unwrap()["error"]["status"], "UNAUTHENTICATED");
}
