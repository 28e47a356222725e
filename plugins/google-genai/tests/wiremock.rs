//! Gemini API response shapes (from the API reference and Genkit JS's client tests) served by
//! a local wiremock server: plain and streamed generation, the tool loop with thought
//! signatures, structured output, embeddings, listing and every error status. Request
//! bodies, paths and headers are matched too.

// The JSON builders take values to read like the fixtures they build.
#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{FinishReason, GenerateOptions, OutputOptions};
use genkit_core::{ActionType, Plugin, Registry, Status};
use genkit_google_genai::GoogleAi;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AIzaSyTest-key-0123456789";

fn plugin(server: &MockServer) -> GoogleAi {
    GoogleAi::new().api_key(KEY).base_url(server.uri())
}

fn registry(p: GoogleAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn answer(parts: Value, finish: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": finish, "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 27,
                          "thoughtsTokenCount": 12, "cachedContentTokenCount": 4},
        "modelVersion": "gemini-2.5-flash", "responseId": "abc"
    })
}

async fn body_of(server: &MockServer, i: usize) -> Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs[i].body).unwrap()
}

#[tokio::test]
async fn plain_generate_content_with_key_config_and_usage() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", KEY))
        .and(body_partial_json(json!({
            "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
            "generationConfig": {"temperature": 0.3, "topK": 10, "maxOutputTokens": 200},
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]
        })))
        .respond_with(ok(answer(json!([{"text": "Hi there!"}]), "STOP")))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("googleai/gemini-2.5-flash").system("Be brief.").prompt("Hello").config(json!({
            "temperature": 0.3, "topK": 10, "maxOutputTokens": 200,
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}]
        })),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Hi there!");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let u = r.usage.clone().unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.total_tokens), (Some(10.0), Some(5.0), Some(27.0)));
    assert_eq!((u.thoughts_tokens, u.cached_content_tokens), (Some(12.0), Some(4.0)));
}

#[tokio::test]
async fn streaming_over_sse_emits_chunks_and_merges_the_answer() {
    let server = MockServer::start().await;
    let sse = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "The sky", "thought": true}]}, "index": 0}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Blue"}]}, "index": 0}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": " light."}]}, "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7}}),
    ]
    .iter()
    .map(|v| format!("data: {v}\r\n\r\n"))
    .collect::<String>();
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-pro:streamGenerateContent"))
        .and(query_param("alt", "sse"))
        .and(header("x-goog-api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new().model("googleai/gemini-2.5-pro").prompt("Why is the sky blue?"),
    );
    let mut texts = Vec::new();
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        if !c.text().is_empty() {
            texts.push(c.text());
        }
    }
    let r = s.output().await.unwrap();
    assert_eq!(texts, ["Blue", " light."]);
    assert_eq!(r.text(), "Blue light.");
    assert_eq!(r.reasoning(), "The sky");
    assert_eq!(r.usage.clone().unwrap().total_tokens, Some(7.0));
}

#[tokio::test]
async fn a_cut_stream_is_unavailable() {
    let server = MockServer::start().await;
    let sse = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hal\"}]}}]}\n\n";
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:streamGenerateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .mount(&server)
        .await;
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new().model("googleai/gemini-2.5-flash").prompt("hi"),
    );
    while s.next().await.is_some() {}
    assert_eq!(s.output().await.unwrap_err().status(), Status::Unavailable);
}

#[tokio::test]
async fn the_tool_loop_sends_function_responses_and_thought_signatures_back() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(body_partial_json(json!({
            "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Weather of a city",
                "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
            "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}}
        })))
        .respond_with(ok(answer(
            json!([
                {"text": "I should call the weather tool.", "thought": true},
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb8sig=="}
            ]),
            "STOP",
        )))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ok(answer(json!([{"text": "It is 18 degrees in Paris."}]), "STOP")))
        .expect(1)
        .mount(&server)
        .await;
    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Weather of a city").input_schema(json!({
            "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false
        })),
        |_input: Value, _cx| async move { Ok(json!({"temp": 18})) },
    );
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash")
            .prompt("Weather in Paris?")
            .tool(&weather)
            .tool_choice(genkit_ai::ToolChoice::Auto)
            .config(json!({"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "It is 18 degrees in Paris.");
    let second = body_of(&server, 1).await;
    let contents = second["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3, "{second}");
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(contents[1]["parts"][0], json!({"thought": true, "text": "I should call the weather tool."}));
    assert_eq!(
        contents[1]["parts"][1],
        json!({"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb8sig=="})
    );
    assert_eq!(contents[2]["role"], "function");
    assert_eq!(
        contents[2]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"name": "get_weather", "content": {"temp": 18}}})
    );
}

#[tokio::test]
async fn structured_output_sends_a_response_schema() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(body_partial_json(json!({"generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": {"type": "OBJECT", "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER"}}}
        }})))
        .respond_with(ok(answer(json!([{"text": "{\"name\": \"John Doe\", \"age\": 30}"}]), "STOP")))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("googleai/gemini-2.5-flash").prompt("A profile for John Doe").output(
            OutputOptions::format("json").with_schema(json!({
                "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}
            })),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.output().unwrap(), json!({"name": "John Doe", "age": 30}));
}

#[tokio::test]
async fn media_inline_and_file_data_and_a_blocked_prompt() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(body_partial_json(json!({"contents": [{"role": "user", "parts": [
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "video/mp4", "fileUri": "https://generativelanguage.googleapis.com/v1beta/files/abc"}},
            {"text": "Describe"}
        ]}]})))
        .respond_with(ok(json!({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                                "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}})))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(vec![genkit_ai::Message {
            role: genkit_ai::Role::User,
            content: vec![
                genkit_ai::Part::media("data:image/png;base64,iVBORw0KGgo=", None),
                genkit_ai::Part::media(
                    "https://generativelanguage.googleapis.com/v1beta/files/abc",
                    Some("video/mp4".into()),
                ),
                genkit_ai::Part::text("Describe"),
            ],
            metadata: None,
        }]),
    )
    .await;
    // A blocked prompt: the response says `blocked`, which generate reports as an error
    // naming the block reason.
    let e = r.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    assert!(e.message().contains("the prompt was blocked: SAFETY"), "{}", e.message());
}

#[tokio::test]
async fn embeddings_single_and_batched_with_task_type_and_dimensions() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-embedding-001:embedContent"))
        .and(header("x-goog-api-key", KEY))
        .and(body_partial_json(json!({
            "model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]},
            "taskType": "RETRIEVAL_QUERY", "outputDimensionality": 3
        })))
        .respond_with(ok(json!({"embedding": {"values": [0.1, 0.2, 0.3]}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/text-embedding-004:batchEmbedContents"))
        .and(body_partial_json(json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "a"}]}, "taskType": "RETRIEVAL_DOCUMENT"},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "b"}]}, "taskType": "RETRIEVAL_DOCUMENT"}
        ]})))
        .respond_with(ok(json!({"embeddings": [{"values": [1.0, 0.0]}, {"values": [0.0, 1.0]}]})))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let one = genkit_ai::embedder::embed_many(
        &reg,
        "googleai/gemini-embedding-001",
        vec!["hello".into()],
        Some(json!({"taskType": "RETRIEVAL_QUERY", "outputDimensionality": 3})),
    )
    .await
    .unwrap();
    assert_eq!(one[0].embedding, vec![0.1, 0.2, 0.3]);
    let two = genkit_ai::embedder::embed_many(
        &reg,
        "googleai/text-embedding-004",
        vec!["a".into(), "b".into()],
        Some(json!({"taskType": "RETRIEVAL_DOCUMENT"})),
    )
    .await
    .unwrap();
    assert_eq!(two[1].embedding, vec![0.0, 1.0]);
}

#[tokio::test]
async fn listing_reads_the_models_endpoint_and_any_gemini_id_resolves() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(query_param("pageSize", "1000"))
        .and(header("x-goog-api-key", KEY))
        .respond_with(ok(json!({"models": [
            {"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "supportedGenerationMethods": ["generateContent"]},
            {"name": "models/gemini-9-ultra", "displayName": "Gemini 9 Ultra", "supportedGenerationMethods": ["generateContent", "countTokens"]},
            {"name": "models/gemini-embedding-exp", "supportedGenerationMethods": ["embedContent"]},
            {"name": "models/imagen-4.0-generate-001", "supportedGenerationMethods": ["predict"]}
        ]})))
        .mount(&server)
        .await;
    let p = plugin(&server);
    let listed = p.list().await.unwrap();
    let names: Vec<String> = listed.iter().map(|m| m.name.to_string()).collect();
    assert!(names.contains(&"googleai/gemini-9-ultra".to_owned()), "{names:?}");
    assert!(names.contains(&"googleai/gemini-embedding-exp".to_owned()), "{names:?}");
    assert!(names.contains(&"googleai/text-embedding-004".to_owned()), "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "googleai/imagen-4.0-generate-001").count(), 1, "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "googleai/gemini-2.5-flash").count(), 1);
    assert!(p.resolve(ActionType::Model, "googleai/gemini-future-1").await.unwrap().is_some());
    assert!(p.resolve(ActionType::Model, "googleai/gemma-5-1b-it").await.unwrap().is_some());
    assert!(p.resolve(ActionType::Model, "googleai/not-a-gemini").await.unwrap().is_none());
    assert!(p.resolve(ActionType::Embedder, "googleai/gemini-embedding-2").await.unwrap().is_some());
}

#[tokio::test]
async fn every_error_status_maps_with_retry_delays_and_no_key() {
    let cases = [
        (400, "INVALID_ARGUMENT", "Invalid JSON payload received.", Status::InvalidArgument),
        (400, "FAILED_PRECONDITION", "User location is not supported for the API use.", Status::FailedPrecondition),
        (403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.", Status::PermissionDenied),
        (401, "UNAUTHENTICATED", "API key not valid: AIzaSyTest-key-0123456789", Status::Unauthenticated),
        (404, "NOT_FOUND", "models/gemini-nope is not found for API version v1beta", Status::NotFound),
        (429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", Status::ResourceExhausted),
        (500, "INTERNAL", "An internal error has occurred.", Status::Internal),
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later.", Status::Unavailable),
        (504, "DEADLINE_EXCEEDED", "The request timed out.", Status::DeadlineExceeded),
    ];
    for (code, name, msg, status) in cases {
        let server = MockServer::start().await;
        let mut error = json!({"code": code, "message": msg, "status": name});
        let mut resp = ResponseTemplate::new(code);
        if code == 429 {
            error["details"] = json!([
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}
            ]);
        }
        if code == 503 {
            resp = resp.insert_header("retry-after", "7");
        }
        let resp = resp.set_body_json(json!({ "error": error }));
        Mock::given(method("POST")).respond_with(resp).mount(&server).await;
        let e = generate(
            &registry(plugin(&server)),
            GenerateOptions::new().model("googleai/gemini-2.5-flash").prompt("hi"),
        )
        .await
        .unwrap_err();
        assert_eq!(e.status(), status, "{code} {name}");
        assert_eq!(e.provider_http_status(), Some(code));
        assert_eq!(e.details().unwrap()["error"]["status"], name);
        assert!(!e.message().contains(KEY), "the key is redacted: {}", e.message());
        if code != 401 {
            assert!(e.message().contains(msg), "{code}: {}", e.message());
        }
        match code {
            429 => assert_eq!(e.retry_after(), Some(Duration::from_secs(31))),
            503 => assert_eq!(e.retry_after(), Some(Duration::from_secs(7))),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_per_request_key_and_version_override_the_plugin() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash-lite:generateContent"))
        .and(header("x-goog-api-key", "AIza-request-key"))
        .respond_with(ok(answer(json!([{"text": "ok"}]), "MAX_TOKENS")))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash")
            .prompt("hi")
            .config(json!({"apiKey": "AIza-request-key", "version": "gemini-2.5-flash-lite"})),
    )
    .await
    .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
    let body = body_of(&server, 0).await;
    assert!(body.get("apiKey").is_none() && body["generationConfig"].get("apiKey").is_none(), "{body}");
}

#[tokio::test]
async fn streamed_function_calls_surface_as_tool_requests() {
    let server = MockServer::start().await;
    let sse = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Checking."}]}, "index": 0}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}, "thoughtSignature": "c2ln"}
        ]}, "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 9}}),
    ]
    .iter()
    .map(|v| format!("data: {v}\n\n"))
    .collect::<String>();
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:streamGenerateContent"))
        .and(body_partial_json(json!({"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Weather of a city")
            .input_schema(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
        |_input: Value, _cx| async move { Ok(json!({"temp": 3})) },
    );
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash")
            .prompt("Weather in Oslo?")
            .tool(&weather)
            .tool_choice(genkit_ai::ToolChoice::Required)
            .return_tool_requests(true),
    );
    let mut tool_chunks = 0;
    while let Some(c) = s.next().await {
        tool_chunks += c.unwrap().into_data().content.iter().filter(|p| p.tool_request.is_some()).count();
    }
    let r = s.output().await.unwrap();
    assert_eq!(tool_chunks, 1);
    let part = r.tool_requests()[0].clone();
    let t = part.tool_request.clone().unwrap();
    assert_eq!((t.name.as_str(), t.input), ("get_weather", Some(json!({"city": "Oslo"}))));
    assert_eq!(part.metadata.unwrap()["thoughtSignature"], "c2ln");
}

#[tokio::test]
async fn several_candidates_and_grounding_metadata_are_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(body_partial_json(json!({"generationConfig": {"candidateCount": 2}})))
        .respond_with(ok(json!({
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": "First"}]}, "finishReason": "STOP", "index": 0,
                 "groundingMetadata": {"webSearchQueries": ["first"]}},
                {"content": {"role": "model", "parts": [{"text": "Second"}]}, "finishReason": "SAFETY", "index": 1}
            ],
            "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let action = reg.lookup_action("/model/googleai/gemini-2.5-flash").await.unwrap().unwrap();
    let req = genkit_ai::ModelRequest {
        messages: vec![genkit_ai::Message::user("hi")],
        config: Some(json!({"candidateCount": 2})),
        ..genkit_ai::ModelRequest::default()
    };
    let out = action.run_json(serde_json::to_value(req).unwrap(), Default::default()).await.unwrap();
    let r: genkit_ai::ModelResponse = serde_json::from_value(out.result).unwrap();
    assert_eq!(r.text(), "First");
    assert_eq!(r.custom.as_ref().unwrap()["groundingMetadata"]["webSearchQueries"][0], "first");
    let cands = r.candidates.unwrap();
    assert_eq!(cands[1].message.text(), "Second");
    assert_eq!(cands[1].finish_reason, FinishReason::Blocked);
}

#[tokio::test]
async fn cancelling_the_action_aborts_the_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ok(answer(json!([{"text": "late"}]), "STOP")).set_delay(Duration::from_secs(300)))
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let action = reg.lookup_action("/model/googleai/gemini-2.5-flash").await.unwrap().unwrap();
    let token = tokio_util::sync::CancellationToken::new();
    let req = genkit_ai::ModelRequest {
        messages: vec![genkit_ai::Message::user("hi")],
        ..genkit_ai::ModelRequest::default()
    };
    let run =
        tokio::spawn(action.run_json(
            serde_json::to_value(req).unwrap(),
            genkit_core::RunOptions::default().cancellation(token.clone()),
        ));
    // Cancel once the server has the request in hand.
    while server.received_requests().await.unwrap().is_empty() {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    token.cancel();
    let e = run.await.unwrap().unwrap_err();
    assert_eq!(e.status(), Status::Cancelled);
}

#[tokio::test]
async fn the_key_can_travel_as_a_query_parameter() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(query_param("key", KEY))
        .respond_with(ok(answer(json!([{"text": "ok"}]), "STOP")))
        .expect(1)
        .mount(&server)
        .await;
    let p = plugin(&server).key_transport(genkit_google_genai::KeyTransport::Query);
    let r =
        generate(&registry(p), GenerateOptions::new().model("googleai/gemini-2.5-flash").prompt("hi")).await.unwrap();
    assert_eq!(r.text(), "ok");
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("x-goog-api-key").is_none());
}

/// The HTTP options every provider plugin shares: extra headers go with each request, and a
/// whole answer over `max_response_bytes` fails with `RESOURCE_EXHAUSTED` naming the option.
#[tokio::test]
async fn shared_http_options_send_headers_and_bound_bodies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-team", "blue"))
        .respond_with(ok(answer(json!([{"text": "y".repeat(4096)}]), "STOP")))
        .mount(&server)
        .await;
    let opts = || GenerateOptions::new().model("googleai/gemini-2.5-flash").prompt("hi");
    let r = generate(&registry(plugin(&server).header("x-team", "blue")), opts()).await.unwrap();
    assert_eq!(r.text().len(), 4096);
    let small = plugin(&server).header("x-team", "blue").max_response_bytes(1024);
    let e = generate(&registry(small), opts()).await.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
    assert!(e.message().contains("max_response_bytes"), "{}", e.message());
}
