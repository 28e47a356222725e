//! Response shapes of the Messages API reference (messages, thinking, citations, PDFs, prompt
//! caching, server tools, errors, Message Batches, token counting, model listing) served by a
//! local wiremock server: everything an echo server cannot show. Request bodies and headers
//! are matched too.

// The JSON builders take values to read like the fixtures they build.
#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{FinishReason, GenerateOptions, Message, ModelRequest, OutputOptions, Part, Role};
use genkit_anthropic::{Anthropic, BatchOutcome, BatchRequest, DocumentPart};
use genkit_core::{ActionType, Plugin, Registry, Status};
use genkit_middleware::{RetryOptions, retry};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn plugin(server: &MockServer) -> Anthropic {
    Anthropic::new().api_key("sk-ant-test").base_url(server.uri())
}

fn registry(p: Anthropic) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

fn message(content: Value, stop: &str, usage: Value) -> Value {
    json!({"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
        "model": "claude-haiku-4-5-20251001", "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage})
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn body_of(server: &MockServer, i: usize) -> Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs[i].body).unwrap()
}

async fn header_of(server: &MockServer, i: usize, name: &str) -> Option<String> {
    let reqs: Vec<Request> = server.received_requests().await.unwrap();
    reqs[i].headers.get(name).map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn plain_messages_with_headers_config_and_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
        .and(body_partial_json(json!({
            "model": "claude-haiku-4-5", "max_tokens": 200, "system": "Be brief.", "temperature": 0.3, "top_k": 10,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}]
        })))
        .respond_with(ok(message(
            json!([{"type": "text", "text": "Hi! My name is Claude."}]),
            "end_turn",
            json!({"input_tokens": 2095, "output_tokens": 503}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("anthropic/claude-haiku-4-5")
            .system("Be brief.")
            .prompt("Hello, Claude")
            .config(json!({"maxOutputTokens": 200, "temperature": 0.3, "topK": 10})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Hi! My name is Claude.");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let u = r.usage.clone().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.total_tokens), (Some(2095.0), Some(503.0), Some(2598.0)));
    assert!(header_of(&server, 0, "anthropic-beta").await.is_none(), "no beta unless asked");
}

#[tokio::test]
async fn dated_aliases_betas_and_a_per_request_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-per-request"))
        .and(header("anthropic-version", "2024-01-01"))
        .and(body_partial_json(json!({"model": "claude-sonnet-4-20250514"})))
        .respond_with(ok(message(
            json!([{"type": "text", "text": "ok"}]),
            "end_turn",
            json!({"input_tokens": 1, "output_tokens": 1}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let p = plugin(&server).beta("context-1m-2025-08-07").anthropic_version("2024-01-01");
    let r = generate(
        &registry(p),
        GenerateOptions::new()
            .model("anthropic/claude-sonnet-4")
            .prompt("hi")
            .config(json!({"apiKey": "sk-per-request", "betas": ["token-efficient-tools-2025-02-19"]})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "ok");
    assert_eq!(
        header_of(&server, 0, "anthropic-beta").await.as_deref(),
        Some("context-1m-2025-08-07,token-efficient-tools-2025-02-19"),
        "the plugin's betas, then the request's, as one comma list"
    );
}

fn sse(events: &[(&str, Value)]) -> ResponseTemplate {
    let body: String = events.iter().map(|(e, d)| format!("event: {e}\ndata: {d}\n\n")).collect();
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

#[tokio::test]
async fn streaming_text_and_tool_use_over_http() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"stream": true, "tool_choice": {"type": "auto"}})))
        .respond_with(sse(&[
            ("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude-haiku-4-5", "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 472, "output_tokens": 2}}})),
            ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
            ("ping", json!({"type": "ping"})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Okay, let's check"}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " the weather."}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
            ("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "name": "get_weather", "input": {}}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"San"}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": " Francisco\"}"}})),
            ("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
            ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 89}})),
            ("message_stop", json!({"type": "message_stop"})),
        ]))
        .mount(&server)
        .await;
    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Weather of a city")
            .input_schema(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
        |_input: Value, _cx| async move { Ok(json!({"temp": 18})) },
    );
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("anthropic/claude-haiku-4-5")
            .prompt("Weather in SF?")
            .tool(&weather)
            .tool_choice(genkit_ai::ToolChoice::Auto)
            .return_tool_requests(true),
    );
    let mut texts = Vec::new();
    let mut tool_chunks = 0;
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        if !c.text().is_empty() {
            texts.push(c.text());
        }
        tool_chunks += c.into_data().content.iter().filter(|p| p.tool_request.is_some()).count();
    }
    let r = s.output().await.unwrap();
    assert_eq!(texts, ["Okay, let's check", " the weather."]);
    assert_eq!(tool_chunks, 1, "the assembled tool call is streamed once");
    let t = r.tool_requests()[0].tool_request.clone().unwrap();
    assert_eq!((t.name.as_str(), t.input), ("get_weather", Some(json!({"city": "San Francisco"}))));
    assert_eq!(r.usage.clone().unwrap().output_tokens, Some(89.0));
}

#[tokio::test]
async fn thinking_signatures_come_back_and_are_sent_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"thinking": {"type": "enabled", "budget_tokens": 10000}, "max_tokens": 16000})))
        .respond_with(ok(message(
            json!([
                {"type": "thinking", "thinking": "Let me analyze this step by step...", "signature": "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"},
                {"type": "text", "text": "Based on my analysis..."}
            ]),
            "end_turn",
            json!({"input_tokens": 50, "output_tokens": 700}),
        )))
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let cfg = json!({"thinking": {"enabled": true, "budgetTokens": 10000}, "maxOutputTokens": 16000});
    let r =
        generate(&reg, GenerateOptions::new().model("anthropic/claude-sonnet-4-5").prompt("Q?").config(cfg.clone()))
            .await
            .unwrap();
    assert_eq!(r.reasoning(), "Let me analyze this step by step...");
    assert_eq!(r.text(), "Based on my analysis...");
    let parts = r.message().unwrap().content.clone();
    assert_eq!(parts[0].metadata_value("thoughtSignature").unwrap(), "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve");

    let mut history = r.messages().unwrap();
    history.push(Message::user("And then?"));
    generate(&reg, GenerateOptions::new().model("anthropic/claude-sonnet-4-5").messages(history).config(cfg))
        .await
        .unwrap();
    let sent = body_of(&server, 1).await;
    assert_eq!(
        sent["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "Let me analyze this step by step...", "signature": "WaUjzkypQ2mUEVM36O2TxuC06KN8xyfbJwyem2dw3URve"},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"},
            {"type": "text", "text": "Based on my analysis..."}
        ])
    );
}

#[tokio::test]
async fn documents_pdfs_and_citations() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"messages": [{"role": "user", "content": [
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green. The sky is blue."},
             "title": "My Document", "context": "This is a trustworthy document.", "citations": {"enabled": true}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjcK"}},
            {"type": "document", "source": {"type": "url", "url": "https://assets.anthropic.com/m/1cd9d098ac3e6467/original/Claude-3-Model-Card-October-Addendum.pdf"}},
            {"type": "text", "text": "What color is the grass and sky?"}
        ]}]})))
        .respond_with(ok(message(
            json!([
                {"type": "text", "text": "According to your document, "},
                {"type": "text", "text": "the grass is green", "citations": [{"type": "char_location", "cited_text": "The grass is green.", "document_index": 0, "document_title": "My Document", "start_char_index": 0, "end_char_index": 20}]},
                {"type": "text", "text": " and "},
                {"type": "text", "text": "the sky is blue", "citations": [{"type": "page_location", "cited_text": "The sky is blue.", "document_index": 1, "document_title": null, "start_page_number": 1, "end_page_number": 2}]}
            ]),
            "end_turn",
            json!({"input_tokens": 1500, "output_tokens": 30}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let doc = DocumentPart::text("The grass is green. The sky is blue.")
        .title("My Document")
        .context("This is a trustworthy document.")
        .citations(true)
        .part();
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt(vec![
            doc,
            Part::media("data:application/pdf;base64,JVBERi0xLjcK", Some("application/pdf".into())),
            Part::media(
                "https://assets.anthropic.com/m/1cd9d098ac3e6467/original/Claude-3-Model-Card-October-Addendum.pdf",
                Some("application/pdf".into()),
            ),
            Part::text("What color is the grass and sky?"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "According to your document, the grass is green and the sky is blue");
    let parts = r.message().unwrap().content.clone();
    assert_eq!(parts[1].metadata_value("citations").unwrap()[0]["cited_text"], "The grass is green.");
    assert_eq!(parts[3].metadata_value("citations").unwrap()[0]["type"], "page_location");
    assert!(parts[0].metadata.is_none());
}

#[tokio::test]
async fn prompt_caching_marks_blocks_and_reports_cache_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({
            "system": [{"type": "text", "text": "You are an AI assistant analyzing literary works.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "<the entire contents of Pride and Prejudice>", "cache_control": {"type": "ephemeral", "ttl": "1h"}},
                {"type": "text", "text": "Analyze the major themes."}
            ]}]
        })))
        .respond_with(ok(message(json!([{"type": "text", "text": "Themes: ..."}]), "end_turn", json!({
            "input_tokens": 21, "cache_creation_input_tokens": 188086, "cache_read_input_tokens": 0, "output_tokens": 393,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 188086}
        }))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ok(message(json!([{"type": "text", "text": "Themes again"}]), "end_turn", json!({
            "input_tokens": 21, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 188086, "output_tokens": 393
        }))))
        .mount(&server)
        .await;
    let reg = registry(plugin(&server).cache_system_prompt(true));
    let opts = || {
        GenerateOptions::new()
            .model("anthropic/claude-haiku-4-5")
            .system("You are an AI assistant analyzing literary works.")
            .prompt(vec![
                Part::text("<the entire contents of Pride and Prejudice>")
                    .with_metadata("cache_control", json!({"type": "ephemeral", "ttl": "1h"})),
                Part::text("Analyze the major themes."),
            ])
    };
    let first = generate(&reg, opts()).await.unwrap().usage.clone().unwrap();
    assert_eq!(first.cached_content_tokens, Some(0.0));
    let c = first.custom.unwrap();
    assert_eq!(
        (c["cache_creation_input_tokens"].as_u64(), c["ephemeral_1h_input_tokens"].as_u64()),
        (Some(188_086), Some(188_086))
    );
    let second = generate(&reg, opts()).await.unwrap().usage.clone().unwrap();
    assert_eq!(second.cached_content_tokens, Some(188_086.0));
    assert_eq!(second.total_tokens, Some(21.0 + 188_086.0 + 393.0));
}

#[tokio::test]
async fn server_tools_are_passed_through_and_their_results_surface() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(body_partial_json(json!({"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
            "container": "container_011CPR5CNjB747bTd36fQLFk"})))
        .respond_with(ok(message(
            json!([
                {"type": "text", "text": "I'll search for when Claude Shannon was born."},
                {"type": "server_tool_use", "id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "name": "web_search", "input": {"query": "claude shannon birth date"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01WYG3ziw53XMcoyKL4XcZmE", "content": [
                    {"type": "web_search_result", "url": "https://en.wikipedia.org/wiki/Claude_Shannon", "title": "Claude Shannon - Wikipedia", "encrypted_content": "EqgfCioIARgBIiQ3YTAwMjY1Mi1mZjM5LTQ1NGUtODgxNC1kNjNjNTk1ZWI3Y", "page_age": "April 30, 2025"}
                ]},
                {"type": "text", "text": "Claude Shannon was born on April 30, 1916, in Petoskey, Michigan", "citations": [
                    {"type": "web_search_result_location", "url": "https://en.wikipedia.org/wiki/Claude_Shannon", "title": "Claude Shannon - Wikipedia", "encrypted_index": "Eo8BCioIAhgBIiQyYjQ0OWJmZi1lNm", "cited_text": "Claude Elwood Shannon (April 30, 1916 – February 24, 2001) was an American mathematician"}
                ]}
            ]),
            "end_turn",
            json!({"input_tokens": 6039, "output_tokens": 931, "server_tool_use": {"web_search_requests": 1}}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("anthropic/claude-sonnet-4-5").prompt("When was Claude Shannon born?").config(
            json!({
                "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
                "container": "container_011CPR5CNjB747bTd36fQLFk"
            }),
        ),
    )
    .await
    .unwrap();
    let parts = r.message().unwrap().content.clone();
    assert_eq!(parts.len(), 4);
    assert_eq!(
        parts[1].metadata_value("anthropicServerToolUse").unwrap()["input"]["query"],
        "claude shannon birth date"
    );
    let result = &parts[2].custom.as_ref().unwrap()["anthropicServerToolResult"];
    assert_eq!(result["type"], "web_search_tool_result");
    assert_eq!(result["content"][0]["title"], "Claude Shannon - Wikipedia");
    assert_eq!(parts[3].metadata_value("citations").unwrap()[0]["type"], "web_search_result_location");
    assert_eq!(r.usage.clone().unwrap().custom.unwrap()["web_search_requests"], 1);
    assert!(r.tool_requests().is_empty(), "server tools are never run locally");
}

#[tokio::test]
async fn structured_output_is_native_on_the_newer_models() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("anthropic-beta", "structured-outputs-2025-11-13"))
        .and(body_partial_json(json!({"output_format": {"type": "json_schema", "schema": {
            "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"],
            "additionalProperties": false}}})))
        .respond_with(ok(message(json!([{"type": "text", "text": "{\"name\":\"John Doe\",\"age\":30}"}]), "end_turn", json!({"input_tokens": 5, "output_tokens": 9}))))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt("A profile for John Doe").output(OutputOptions::format("json").with_schema(json!({
            "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]
        }))),
    )
    .await
    .unwrap();
    assert_eq!(r.output().unwrap(), json!({"name": "John Doe", "age": 30}));
}

#[tokio::test]
async fn every_error_status_maps_with_the_providers_message() {
    let cases = [
        (400, "invalid_request_error", "messages: roles must alternate", Status::InvalidArgument),
        (401, "authentication_error", "invalid x-api-key sk-ant-test", Status::Unauthenticated),
        (403, "permission_error", "Your API key does not have permission", Status::PermissionDenied),
        (404, "not_found_error", "model: claude-nope", Status::NotFound),
        (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", Status::InvalidArgument),
        (
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            Status::ResourceExhausted,
        ),
        (500, "api_error", "Internal server error", Status::Unavailable),
        (529, "overloaded_error", "Overloaded", Status::Unavailable),
    ];
    for (code, kind, msg, status) in cases {
        let server = MockServer::start().await;
        let mut resp = ResponseTemplate::new(code)
            .set_body_json(json!({"type": "error", "error": {"type": kind, "message": msg}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}));
        if code == 429 || code == 529 {
            resp = resp.insert_header("retry-after", "7");
        }
        Mock::given(method("POST")).and(path("/v1/messages")).respond_with(resp).mount(&server).await;
        let e = generate(
            &registry(plugin(&server)),
            GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt("hi"),
        )
        .await
        .unwrap_err();
        assert_eq!(e.status(), status, "{code}");
        assert_eq!(e.provider_http_status(), Some(code));
        assert_eq!(e.details().unwrap()["error"]["type"], kind, "{code}");
        assert!(!e.message().contains("sk-ant-test"), "the key is redacted: {}", e.message());
        if code == 401 {
            assert!(e.message().contains("invalid x-api-key <redacted>"), "{}", e.message());
        } else {
            assert!(e.message().contains(msg), "{code}: {}", e.message());
        }
        if code == 429 || code == 529 {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(7)), "{code}");
            assert!(e.status().is_retryable());
        }
    }
}

#[tokio::test]
async fn the_retry_middleware_recovers_from_an_overloaded_api() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(529).insert_header("retry-after-ms", "5").set_body_json(
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ok(message(
            json!([{"type": "text", "text": "Recovered."}]),
            "end_turn",
            json!({"input_tokens": 1, "output_tokens": 1}),
        )))
        .with_priority(2)
        .mount(&server)
        .await;
    let r =
        generate(
            &registry(plugin(&server)),
            GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt("hi").use_middleware(retry(
                RetryOptions { max_retries: 2, initial_delay_ms: 1, no_jitter: true, ..RetryOptions::default() },
            )),
        )
        .await
        .unwrap();
    assert_eq!(r.text(), "Recovered.");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(sse(&[
            ("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "content": [], "usage": {"input_tokens": 3, "output_tokens": 1}}})),
            ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
            ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Half an"}})),
            ("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
        ]))
        .mount(&server)
        .await;
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt("hi"),
    );
    while s.next().await.is_some() {}
    let e = s.output().await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert!(e.status().is_retryable());
    assert!(e.message().contains("Overloaded (overloaded_error)"), "{}", e.message());
}

#[tokio::test]
async fn count_tokens_sends_only_what_it_takes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages/count_tokens"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(body_partial_json(json!({"model": "claude-sonnet-4-5", "system": "Be brief.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, world"}]}]})))
        .respond_with(ok(json!({"input_tokens": 2095})))
        .expect(1)
        .mount(&server)
        .await;
    let p = plugin(&server);
    let req = ModelRequest {
        messages: vec![Message::system("Be brief."), Message::user("Hello, world")],
        config: Some(json!({"temperature": 0.2, "maxOutputTokens": 10})),
        ..ModelRequest::default()
    };
    assert_eq!(p.count_tokens("anthropic/claude-sonnet-4-5", &req).await.unwrap(), 2095);
    let sent = body_of(&server, 0).await;
    assert!(sent.get("max_tokens").is_none() && sent.get("temperature").is_none(), "{sent}");
}

#[tokio::test]
async fn message_batches_create_poll_and_results() {
    let server = MockServer::start().await;
    let batch = |status: &str, results: Option<String>| {
        json!({"id": "msgbatch_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message_batch", "processing_status": status,
            "request_counts": {"processing": if status == "ended" { 0 } else { 2 }, "succeeded": if status == "ended" { 1 } else { 0 }, "errored": if status == "ended" { 1 } else { 0 }, "canceled": 0, "expired": 0},
            "ended_at": null, "created_at": "2024-09-24T18:37:24.100435Z", "expires_at": "2024-09-25T18:37:24.100435Z",
            "cancel_initiated_at": null, "archived_at": null, "results_url": results})
    };
    Mock::given(method("POST"))
        .and(path("/v1/messages/batches"))
        .and(body_partial_json(json!({"requests": [
            {"custom_id": "my-first-request", "params": {"model": "claude-haiku-4-5", "max_tokens": 4096, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, world"}]}]}},
            {"custom_id": "my-second-request", "params": {"model": "claude-haiku-4-5", "max_tokens": 4096, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi again, friend"}]}]}}
        ]})))
        .respond_with(ok(batch("in_progress", None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"))
        .respond_with(ok(batch("in_progress", None)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let results_url = format!("{}/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results", server.uri());
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF"))
        .respond_with(ok(batch("ended", Some(results_url))))
        .with_priority(2)
        .mount(&server)
        .await;
    let jsonl = [
        json!({"custom_id": "my-second-request", "result": {"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error", "message": "Validation error"}}}}),
        json!({"custom_id": "my-first-request", "result": {"type": "succeeded", "message": message(json!([{"type": "text", "text": "Hello! How can I help?"}]), "end_turn", json!({"input_tokens": 10, "output_tokens": 8}))}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    Mock::given(method("GET"))
        .and(path("/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/results"))
        .and(header("x-api-key", "sk-ant-test"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(jsonl, "application/binary"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages/batches/msgbatch_013Zva2CMHLNnXjNJJKqJ2EF/cancel"))
        .respond_with(ok(batch("canceling", None)))
        .expect(1)
        .mount(&server)
        .await;

    let p = plugin(&server);
    let ask = |q: &str| ModelRequest { messages: vec![Message::user(q)], ..ModelRequest::default() };
    let created = p
        .create_batch(vec![
            BatchRequest::new("my-first-request", "claude-haiku-4-5", ask("Hello, world")),
            BatchRequest::new("my-second-request", "anthropic/claude-haiku-4-5", ask("Hi again, friend")),
        ])
        .await
        .unwrap();
    assert_eq!(created.processing_status, "in_progress");
    assert_eq!(p.batch_results(&created).await.unwrap_err().status(), Status::FailedPrecondition);
    let ended = p.wait_for_batch(&created.id, Duration::ZERO).await.unwrap();
    assert!(ended.is_ended());
    assert_eq!(ended.request_counts.succeeded, 1);
    let results = p.batch_results(&ended).await.unwrap();
    assert_eq!(results.len(), 2);
    assert!(matches!(&results[1].outcome, BatchOutcome::Succeeded(r) if r.text() == "Hello! How can I help?"));
    match &results[0].outcome {
        BatchOutcome::Errored(e) => assert_eq!(e.status(), Status::InvalidArgument),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.cancel_batch(&created.id).await.unwrap().processing_status, "canceling");
    let missing = Mock::given(method("GET")).and(path("/v1/messages/batches/nope")).respond_with(
        ResponseTemplate::new(404).set_body_json(
            json!({"type": "error", "error": {"type": "not_found_error", "message": "batch not found"}}),
        ),
    );
    missing.mount(&server).await;
    assert_eq!(p.get_batch("nope").await.unwrap_err().status(), Status::NotFound);
}

#[tokio::test]
async fn listing_merges_the_catalogue_with_the_models_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(query_param("limit", "1000"))
        .and(wiremock::matchers::query_param_is_missing("after_id"))
        .respond_with(ok(json!({"data": [
            {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5", "created_at": "2025-10-15T00:00:00Z"},
            {"type": "model", "id": "claude-opus-4-5-20251101", "display_name": "Claude Opus 4.5", "created_at": "2025-11-24T00:00:00Z"}
        ], "has_more": true, "first_id": "claude-haiku-4-5", "last_id": "claude-opus-4-5-20251101"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(query_param("after_id", "claude-opus-4-5-20251101"))
        .respond_with(ok(json!({"data": [
            {"type": "model", "id": "claude-3-7-sonnet-20250219", "display_name": "Claude Sonnet 3.7", "created_at": "2025-02-24T00:00:00Z"}
        ], "has_more": false, "first_id": "claude-3-7-sonnet-20250219", "last_id": "claude-3-7-sonnet-20250219"})))
        .mount(&server)
        .await;
    let p = plugin(&server);
    let listed = p.list().await.unwrap();
    let names: Vec<String> = listed.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names.iter().filter(|n| *n == "anthropic/claude-haiku-4-5").count(), 1);
    for n in ["anthropic/claude-sonnet-4", "anthropic/claude-opus-4-5-20251101", "anthropic/claude-3-7-sonnet-20250219"]
    {
        assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
    }
    let opus = listed.iter().find(|m| &*m.name == "anthropic/claude-opus-4-5-20251101").unwrap();
    let info = &opus.metadata.as_ref().unwrap()["model"];
    assert_eq!(info["label"], "Anthropic - Claude Opus 4.5");
    assert_eq!(info["supports"]["constrained"], "all");
    let sonnet37 = listed.iter().find(|m| &*m.name == "anthropic/claude-3-7-sonnet-20250219").unwrap();
    assert!(sonnet37.metadata.as_ref().unwrap()["model"]["supports"].get("constrained").is_none());
    let a = p.resolve(ActionType::Model, "anthropic/claude-future-9").await.unwrap().unwrap();
    assert_eq!(a.name(), "anthropic/claude-future-9");
}

#[tokio::test]
async fn a_failed_listing_still_lists_the_catalogue() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1/models")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let listed = plugin(&server).list().await.unwrap();
    assert_eq!(listed.len(), genkit_anthropic::claude_models().len());
    let _ = Role::User;
}

/// Whole bodies are read within `max_response_bytes` (the shared HTTP core's limit): a larger
/// answer fails with `RESOURCE_EXHAUSTED`, naming the option, instead of filling memory; an
/// error answer's body is read only in part, and its message still comes through.
#[tokio::test]
async fn answers_over_the_size_limit_fail_instead_of_filling_memory() {
    let server = MockServer::start().await;
    let long = "x".repeat(4096);
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ok(message(
            json!([{"type": "text", "text": long}]),
            "end_turn",
            json!({"input_tokens": 1, "output_tokens": 1}),
        )))
        .mount(&server)
        .await;
    let opts = || GenerateOptions::new().model("anthropic/claude-haiku-4-5").prompt("hi");
    let e = generate(&registry(plugin(&server).max_response_bytes(1024)), opts()).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
    assert!(e.message().contains("max_response_bytes"), "{}", e.message());
    let r = generate(&registry(plugin(&server)), opts()).await.unwrap();
    assert_eq!(r.text().len(), 4096);

    // An error answer with a huge body: its JSON message is at the start and is kept.
    let server = MockServer::start().await;
    let huge = format!(
        "{{\"type\":\"error\",\"error\":{{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}}}{}",
        " ".repeat(4 << 20)
    );
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(529).set_body_raw(huge, "application/json"))
        .mount(&server)
        .await;
    let e = generate(&registry(plugin(&server)), opts()).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable, "{e}");
    assert!(e.message().contains("Overloaded"), "{}", e.message());
}
