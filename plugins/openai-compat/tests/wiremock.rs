//! Recorded response shapes of the real APIs (OpenAI API reference, DeepSeek and xAI docs,
//! Genkit JS compat-oai fixtures) served by a local wiremock server: everything an echo
//! server cannot show. Request bodies and headers are matched too.

// The JSON builders take values to read like the fixtures they build.
#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::embedder::{EmbedParams, embed};
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{EmbedContent, EmbedderRef, FinishReason, GenerateOptions, Message, Part, Role};
use genkit_core::{Registry, Status};
use genkit_middleware::{RetryOptions, retry};
use genkit_openai_compat::{OpenAiCompat, openai_compatible};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn registry(plugin: OpenAiCompat) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(plugin)).unwrap();
    r
}

fn openai(server: &MockServer) -> Registry {
    registry(OpenAiCompat::openai().api_key("sk-test").base_url(format!("{}/v1", server.uri())))
}

fn sse(events: &[Value]) -> String {
    let mut s: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    s.push_str("data: [DONE]\n\n");
    s
}

fn sse_response(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

fn completion(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-123", "object": "chat.completion", "created": 1677652288, "model": "m",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}
    })
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "chatcmpl-123", "object": "chat.completion.chunk", "created": 1694268190, "model": "m",
        "system_fingerprint": "fp_44709d6fcb", "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
}

async fn body_of(server: &MockServer, i: usize) -> Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs[i].body).unwrap()
}

#[tokio::test]
async fn embeddings_in_index_order_with_options() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", "Bearer sk-test"))
        .and(body_partial_json(json!({
            "model": "text-embedding-3-small", "input": ["first", "second"], "dimensions": 3, "encoding_format": "float"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 1, "embedding": [0.4, 0.5, 0.6]},
                {"object": "embedding", "index": 0, "embedding": [0.1, 0.2, 0.3]}
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 4, "total_tokens": 4}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let reg = openai(&server);
    let out = genkit_ai::embedder::embed_many(
        &reg,
        "openai/text-embedding-3-small",
        vec!["first".into(), "second".into()],
        Some(json!({"dimensions": 3})),
    )
    .await
    .unwrap();
    assert_eq!(out[0].embedding, vec![0.1, 0.2, 0.3]);
    assert_eq!(out[1].embedding, vec![0.4, 0.5, 0.6]);
}

#[tokio::test]
async fn azure_embeddings_use_the_deployment_url_api_version_and_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/my-embeddings/embeddings"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", "azure-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}],
            "model": "text-embedding-3-small", "usage": {"prompt_tokens": 1, "total_tokens": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(OpenAiCompat::azure().base_url(server.uri()).api_key("azure-key"));
    let out = embed(
        &reg,
        EmbedParams {
            embedder: EmbedderRef::new("microsoft-foundry/my-embeddings"),
            content: EmbedContent::Text("hi".into()),
            metadata: None,
            options: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(out[0].embedding, vec![1.0, 0.0]);
    assert!(server.received_requests().await.unwrap()[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn dall_e_3_images_come_back_as_data_urls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "created": 1713833628,
            "data": [{"b64_json": "iVBORw0KGgoAAAANSUhEUg==", "revised_prompt": "A watercolor cat on a windowsill"}]
        })))
        .mount(&server)
        .await;
    let r = generate(
        &openai(&server),
        GenerateOptions::new()
            .model("openai/dall-e-3")
            .prompt("a cat")
            .config(json!({"size": "1024x1792", "quality": "hd", "style": "natural"})),
    )
    .await
    .unwrap();
    let media = r.media().unwrap();
    assert_eq!(media.url, "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==");
    assert_eq!(media.content_type.as_deref(), Some("image/png"));
    assert_eq!(
        body_of(&server, 0).await,
        json!({"model": "dall-e-3", "prompt": "a cat", "size": "1024x1792", "quality": "hd", "style": "natural",
            "response_format": "b64_json"})
    );
}

#[tokio::test]
async fn xai_image_generation_and_reasoning_effort() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .and(header("authorization", "Bearer xai-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"b64_json": "/9j/4AAQSkZJRg==", "revised_prompt": "A cat."}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"model": "grok-3-mini", "reasoning_effort": "high"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            json!({"role": "assistant", "content": "101 is prime.", "reasoning_content": "Check divisors up to 10."}),
            "stop",
        )))
        .mount(&server)
        .await;
    let reg = registry(OpenAiCompat::xai().api_key("xai-key").base_url(format!("{}/v1", server.uri())));
    let img = generate(&reg, GenerateOptions::new().model("xai/grok-2-image-1212").prompt("a cat")).await.unwrap();
    assert_eq!(img.media().unwrap().content_type.as_deref(), Some("image/jpeg"));
    let r = generate(
        &reg,
        GenerateOptions::new()
            .model("xai/grok-3-mini")
            .prompt("Is 101 prime?")
            .config(json!({"reasoningEffort": "high"})),
    )
    .await
    .unwrap();
    assert_eq!(r.reasoning(), "Check divisors up to 10.");
    assert_eq!(r.text(), "101 is prime.");
}

#[tokio::test]
async fn text_to_speech_returns_audio_media() {
    let server = MockServer::start().await;
    let audio = b"ID3\x04\x00fake-mp3-bytes".to_vec();
    Mock::given(method("POST"))
        .and(path("/v1/audio/speech"))
        .and(body_partial_json(
            json!({"model": "gpt-4o-mini-tts", "input": "Hello!", "voice": "coral", "response_format": "mp3"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(audio.clone(), "audio/mpeg"))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &openai(&server),
        GenerateOptions::new().model("openai/gpt-4o-mini-tts").prompt("Hello!").config(json!({"voice": "coral"})),
    )
    .await
    .unwrap();
    let media = r.media().unwrap();
    assert_eq!(media.content_type.as_deref(), Some("audio/mpeg"));
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&audio);
    assert_eq!(media.url, format!("data:audio/mpeg;base64,{b64}"));
}

#[tokio::test]
async fn speech_to_text_sends_multipart_and_reads_the_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/transcriptions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "text": "Imagine the wildest idea that you've ever had.",
            "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 45, "total_tokens": 59}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/audio/translations"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("Hello, world.", "text/plain"))
        .mount(&server)
        .await;
    let audio = Part::media("data:audio/mpeg;base64,SUQzBAA=", Some("audio/mpeg".into()));
    let reg = openai(&server);
    let r = generate(
        &reg,
        GenerateOptions::new()
            .model("openai/gpt-4o-transcribe")
            .prompt(vec![audio.clone()])
            .config(json!({"language": "en"})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Imagine the wildest idea that you've ever had.");
    let reqs = server.received_requests().await.unwrap();
    let ct = reqs[0].headers.get("content-type").unwrap().to_str().unwrap().to_owned();
    assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
    let body = String::from_utf8_lossy(&reqs[0].body).into_owned();
    for needle in ["name=\"model\"", "gpt-4o-transcribe", "name=\"language\"", "filename=\"audio.mp3\"", "ID3"] {
        assert!(body.contains(needle), "{needle} missing from {body}");
    }
    let t = generate(
        &reg,
        GenerateOptions::new()
            .model("openai/whisper-1")
            .prompt(vec![audio])
            .config(json!({"translate": true, "responseFormat": "text"})),
    )
    .await
    .unwrap();
    assert_eq!(t.text(), "Hello, world.");
}

#[tokio::test]
async fn deepseek_reasoning_plain_streamed_and_never_sent_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .and(body_partial_json(json!({"stream": true})))
        .respond_with(sse_response(sse(&[
            chunk(json!({"role": "assistant", "content": null, "reasoning_content": ""}), None),
            chunk(json!({"content": null, "reasoning_content": "9.11 vs 9.8:"}), None),
            chunk(json!({"content": null, "reasoning_content": " compare tenths."}), None),
            chunk(json!({"content": "9.8", "reasoning_content": null}), None),
            chunk(json!({"content": " is larger.", "reasoning_content": null}), None),
            json!({"id": "x", "object": "chat.completion.chunk", "model": "deepseek-reasoner",
                "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 13, "completion_tokens": 50, "total_tokens": 63,
                    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 40},
                    "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 13}}),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            json!({"role": "assistant", "content": "Still 9.8.", "reasoning_content": "Same as before."}),
            "stop",
        )))
        .mount(&server)
        .await;
    let reg = registry(OpenAiCompat::deepseek().api_key("ds-key").base_url(server.uri()));
    let mut s =
        generate_stream(&reg, GenerateOptions::new().model("deepseek/deepseek-reasoner").prompt("9.11 or 9.8?"));
    let mut kinds = Vec::new();
    while let Some(c) = s.next().await {
        for p in c.unwrap().into_data().content {
            kinds.push(if p.reasoning.is_some() { "reasoning" } else { "text" });
        }
    }
    let r = s.output().await.unwrap();
    assert_eq!(kinds, ["reasoning", "reasoning", "text", "text"]);
    let parts = &r.message.as_ref().unwrap().content;
    assert_eq!(parts[0], Part::reasoning("9.11 vs 9.8: compare tenths."));
    assert_eq!(parts[1], Part::text("9.8 is larger."));
    assert_eq!(r.usage.as_ref().unwrap().thoughts_tokens, Some(40.0));

    let history = r.messages().unwrap();
    let mut history = history;
    history.push(Message::user("Sure?"));
    let again =
        generate(&reg, GenerateOptions::new().model("deepseek/deepseek-reasoner").messages(history)).await.unwrap();
    assert_eq!(again.reasoning(), "Same as before.");
    let body = body_of(&server, 1).await;
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "9.11 or 9.8?"},
            {"role": "assistant", "content": "9.8 is larger."},
            {"role": "user", "content": "Sure?"}
        ])
    );
    assert!(!body.to_string().contains("compare tenths"));
}

#[tokio::test(flavor = "current_thread")]
async fn deepseek_reasoner_warns_about_ignored_settings() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(completion(json!({"role": "assistant", "content": "ok"}), "stop")),
        )
        .mount(&server)
        .await;
    let (logs, _guard) = genkit_core::testing::LogCapture::start();
    let reg = registry(OpenAiCompat::deepseek().api_key("ds-secret-key").base_url(server.uri()));
    generate(
        &reg,
        GenerateOptions::new()
            .model("deepseek/deepseek-reasoner")
            .prompt("hi")
            .config(json!({"temperature": 0.7, "topP": 0.5})),
    )
    .await
    .unwrap();
    generate(
        &reg,
        GenerateOptions::new().model("deepseek/deepseek-chat").prompt("hi").config(json!({"temperature": 0.7})),
    )
    .await
    .unwrap();
    let out = logs.text();
    assert!(out.contains("temperature, topP not supported by reasoning model deepseek-reasoner"), "{out}");
    assert_eq!(out.matches("not supported by reasoning model").count(), 1, "{out}");
    assert!(!out.contains("ds-secret-key"));
}

#[tokio::test]
async fn streamed_tool_call_deltas_over_http_drive_the_tool_loop() {
    let server = MockServer::start().await;
    let call = |index: u32, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut c = json!({"index": index, "function": {"arguments": args}});
        if let Some(id) = id {
            c["id"] = json!(id);
            c["type"] = json!("function");
            c["function"]["name"] = json!(name);
        }
        chunk(json!({"tool_calls": [c]}), None)
    };
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(json!({"messages": [{"role": "user", "content": "Weather in Paris and Rome?"}]})))
        .respond_with(sse_response(sse(&[
            chunk(json!({"role": "assistant", "content": null}), None),
            call(0, Some("call_P"), Some("get_weather"), ""),
            call(0, None, None, "{\"location\""),
            call(1, Some("call_R"), Some("get_weather"), ""),
            call(0, None, None, ": \"Paris\"}"),
            call(1, None, None, "{\"location\": \"Rome\"}"),
            chunk(json!({}), Some("tool_calls")),
        ])))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse_response(sse(&[
            chunk(json!({"role": "assistant", "content": "Paris 21, Rome 25."}), None),
            chunk(json!({}), Some("stop")),
        ])))
        .mount(&server)
        .await;
    let tool: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Weather of a place").input_schema(json!({
            "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]
        })),
        |input: Value, _cx| async move { Ok(json!({"temp": if input["location"] == "Paris" { 21 } else { 25 }})) },
    );
    let mut s = generate_stream(
        &openai(&server),
        GenerateOptions::new().model("openai/gpt-4o").prompt("Weather in Paris and Rome?").tool(&tool),
    );
    while let Some(c) = s.next().await {
        c.unwrap();
    }
    let r = s.output().await.unwrap();
    assert_eq!(r.text(), "Paris 21, Rome 25.");
    let second = body_of(&server, 1).await;
    assert_eq!(
        second["messages"][1]["tool_calls"],
        json!([
            {"id": "call_P", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
            {"id": "call_R", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Rome\"}"}}
        ])
    );
    assert_eq!(second["messages"][2], json!({"role": "tool", "content": "{\"temp\":21}", "tool_call_id": "call_P"}));
    assert_eq!(second["messages"][3], json!({"role": "tool", "content": "{\"temp\":25}", "tool_call_id": "call_R"}));
    assert_eq!(second["tools"][0]["function"]["name"], "get_weather");
}

#[tokio::test]
async fn every_error_status_maps_with_the_providers_message() {
    let cases = [
        (400, Status::InvalidArgument, "Invalid 'messages': empty array"),
        // The key the provider echoes is redacted.
        (401, Status::Unauthenticated, "Incorrect API key provided: <redacted>. You can find your API key at …"),
        (403, Status::PermissionDenied, "Project does not have access to model gpt-4o"),
        (404, Status::NotFound, "The model `gpt-9` does not exist or you do not have access to it."),
        (
            429,
            Status::ResourceExhausted,
            "Rate limit reached for gpt-4o in organization org-x on requests per min (RPM)",
        ),
        (500, Status::Unavailable, "The server had an error while processing your request."),
        (502, Status::Unavailable, "Bad gateway."),
        (503, Status::Unavailable, "The engine is currently overloaded, please try again later."),
        (504, Status::DeadlineExceeded, "Gateway timeout."),
    ];
    for (code, status, message) in cases {
        let server = MockServer::start().await;
        let sent = message.replace("<redacted>", "sk-test");
        let mut resp = ResponseTemplate::new(code).set_body_json(json!({
            "error": {"message": sent, "type": "invalid_request_error", "param": null, "code": "some_code"}
        }));
        if code == 429 {
            resp = resp.insert_header("retry-after", "20").insert_header("retry-after-ms", "20000");
        }
        Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(resp).mount(&server).await;
        let e =
            generate(&openai(&server), GenerateOptions::new().model("openai/gpt-4o").prompt("hi")).await.unwrap_err();
        assert_eq!(e.status(), status, "HTTP {code}: {e}");
        assert!(e.message().contains(message), "HTTP {code}: {}", e.message());
        assert!(!format!("{e:?}").contains("sk-test"), "HTTP {code}: {e:?}");
        assert_eq!(e.provider_http_status(), Some(code));
        if code == 429 {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(20)));
        }
    }
}

#[tokio::test]
async fn absurd_retry_after_values_are_capped_or_ignored_never_a_panic() {
    let cases = [
        (vec![("retry-after-ms", "1e400"), ("retry-after", "99999999999999999999999")], Some(Duration::from_secs(60))),
        (vec![("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], Some(Duration::ZERO)),
        (vec![("retry-after", "-1"), ("retry-after-ms", "NaN")], None),
    ];
    for (headers, expected) in cases {
        let server = MockServer::start().await;
        let mut resp = ResponseTemplate::new(429).set_body_json(json!({"error": {"message": "slow down"}}));
        for (k, v) in &headers {
            resp = resp.insert_header(*k, *v);
        }
        Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(resp).mount(&server).await;
        let e =
            generate(&openai(&server), GenerateOptions::new().model("openai/gpt-4o").prompt("hi")).await.unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
        assert_eq!(e.retry_after(), expected, "{headers:?}");
    }
}

/// Gateways (OpenRouter, LiteLLM proxies) sometimes answer HTTP 200 with `{"error": …}`:
/// every endpoint reports it as the provider's error, never as an empty success.
#[tokio::test]
async fn an_error_inside_an_http_200_answer_is_that_error_on_every_endpoint() {
    let server = MockServer::start().await;
    let answer = |code: Value| {
        ResponseTemplate::new(200).set_body_json(
            json!({"error": {"message": "Provider returned error", "code": code, "metadata": {"raw": "x"}}}),
        )
    };
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(answer(json!(429))).mount(&server).await;
    Mock::given(method("POST")).and(path("/v1/embeddings")).respond_with(answer(json!("502"))).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1/images/generations"))
        .respond_with(answer(json!("content_policy_violation")))
        .mount(&server)
        .await;
    let reg = openai(&server);
    let e = generate(&reg, GenerateOptions::new().model("openai/gpt-4o").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
    assert_eq!(e.message(), "Provider returned error (code 429, in an HTTP 200 answer)");
    assert_eq!(e.details().unwrap()["error"]["metadata"]["raw"], "x");
    let e = genkit_ai::embedder::embed_many(&reg, "openai/text-embedding-3-small", vec!["a".into()], None)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::Unavailable, "{e}");
    let e = generate(&reg, GenerateOptions::new().model("openai/dall-e-3").prompt("a cat")).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable, "{e}");
    assert!(e.message().contains("code content_policy_violation"), "{}", e.message());
}

#[tokio::test]
async fn html_error_pages_and_plain_text_bodies_still_give_a_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(502).set_body_raw("<html>upstream connect error</html>", "text/html"))
        .mount(&server)
        .await;
    let reg = registry(openai_compatible("proxy", format!("{}/v1", server.uri()), None));
    let e = generate(&reg, GenerateOptions::new().model("proxy/m").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert!(e.message().contains("upstream connect error"), "{}", e.message());
}

#[tokio::test]
async fn the_retry_middleware_recovers_from_429_then_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after-ms", "10")
                .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests"}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": {"message": "overloaded"}})))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(completion(json!({"role": "assistant", "content": "Recovered."}), "stop")),
        )
        .with_priority(3)
        .mount(&server)
        .await;
    let r = generate(
        &openai(&server),
        GenerateOptions::new().model("openai/gpt-4o-mini").prompt("hi").use_middleware(retry(RetryOptions {
            max_retries: 3,
            initial_delay_ms: 1,
            no_jitter: true,
            ..RetryOptions::default()
        })),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Recovered.");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_stream_cut_mid_answer_is_an_error() {
    let server = MockServer::start().await;
    let body = format!(
        "data: {}\n\ndata: {}\n\ndata: {{\"id\":\"chatcmpl-123\",\"choi",
        chunk(json!({"role": "assistant", "content": "The answer"}), None),
        chunk(json!({"content": " is"}), None)
    );
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(sse_response(body)).mount(&server).await;
    let mut s = generate_stream(&openai(&server), GenerateOptions::new().model("openai/gpt-4o").prompt("?"));
    while s.next().await.is_some() {}
    let e = s.output().await.unwrap_err();
    assert_eq!(e.status(), Status::Internal, "{e}");
    assert!(e.message().contains("malformed event stream"), "{}", e.message());

    let server = MockServer::start().await;
    let body = format!("data: {}\n\n", chunk(json!({"content": "The answer"}), None));
    Mock::given(method("POST")).and(path("/v1/chat/completions")).respond_with(sse_response(body)).mount(&server).await;
    let mut s = generate_stream(&openai(&server), GenerateOptions::new().model("openai/gpt-4o").prompt("?"));
    while s.next().await.is_some() {}
    let e = s.output().await.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable, "{e}");
}

#[tokio::test]
async fn timeouts_are_configurable_and_deadline_exceeded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(5))
                .set_body_json(completion(json!({"role": "assistant", "content": "late"}), "stop")),
        )
        .mount(&server)
        .await;
    let reg = registry(
        OpenAiCompat::openai()
            .api_key("k")
            .base_url(format!("{}/v1", server.uri()))
            .timeout(Duration::from_millis(200)),
    );
    let e = generate(&reg, GenerateOptions::new().model("openai/gpt-4o").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::DeadlineExceeded, "{e}");
}

#[tokio::test]
async fn per_request_keys_custom_headers_and_structured_output() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer per-call-key"))
        .and(header("x-team", "genkit"))
        .and(body_partial_json(
            json!({"response_format": {"type": "json_schema", "json_schema": {"name": "output", "strict": true}}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            json!({"role": "assistant", "content": "{\"name\":\"Rex\",\"legs\":4}"}),
            "stop",
        )))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(
        OpenAiCompat::openai()
            .api_key("sk-default")
            .base_url(format!("{}/v1", server.uri()))
            .header("x-team", "genkit"),
    );
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Dog {
        name: String,
        legs: u32,
    }
    let r = generate(
        &reg,
        GenerateOptions::new()
            .model("openai/gpt-4o")
            .prompt("A dog")
            .output_type::<Dog>()
            .config(json!({"apiKey": "per-call-key"})),
    )
    .await
    .unwrap();
    let dog: Dog = r.output_as().unwrap();
    assert_eq!((dog.name.as_str(), dog.legs), ("Rex", 4));
    let body = body_of(&server, 0).await;
    let schema = &body["response_format"]["json_schema"]["schema"];
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(body["messages"][0]["role"], "user");
    assert!(!body.to_string().contains("per-call-key"));
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let _ = Role::User;
}
