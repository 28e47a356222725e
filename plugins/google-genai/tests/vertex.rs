//! Vertex AI over wiremock with the real API's paths and shapes: the project/location
//! publisher paths with a bearer token and `x-goog-user-project`, SSE streaming, express mode
//! with an API key, `:predict` embeddings, the publisher model list, and auth errors.

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::GenerateOptions;
use genkit_ai::generate::{generate, generate_stream};
use genkit_core::{ActionType, Plugin, Registry, Status};
use genkit_google_genai::{ApiKey, Credentials, KeyTransport, VertexAi};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ya29.a0-test-token";
const PREFIX: &str = "/v1/projects/my-project/locations/europe-west4/publishers/google/models";

fn plugin(server: &MockServer) -> VertexAi {
    VertexAi::new()
        .base_url(server.uri())
        .project("my-project")
        .location("europe-west4")
        .credentials(Credentials::AccessToken(ApiKey::new(TOKEN)))
}

fn registry(p: VertexAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

fn answer(text: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP",
                        "avgLogprobs": -0.12}],
        "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6,
                          "trafficType": "ON_DEMAND"},
        "modelVersion": "gemini-2.5-flash", "createTime": "2025-06-01T10:00:00.000000Z", "responseId": "r1"
    })
}

#[tokio::test]
async fn generate_goes_to_the_publisher_path_with_bearer_and_user_project() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-2.5-flash:generateContent")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-goog-user-project", "my-project"))
        .and(body_partial_json(json!({
            "systemInstruction": {"role": "user", "parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
            "generationConfig": {"temperature": 0.5}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("Hi from Vertex")))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("vertexai/gemini-2.5-flash")
            .system("Be brief.")
            .prompt("Hello")
            .config(json!({"temperature": 0.5})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Hi from Vertex");
    assert_eq!(r.usage.clone().unwrap().total_tokens, Some(6.0));
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("x-goog-api-key").is_none());
}

#[tokio::test]
async fn streaming_uses_sse_on_the_vertex_path() {
    let server = MockServer::start().await;
    let sse: String = [
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}),
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}, "finishReason": "STOP"}],
               "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2, "totalTokenCount": 3}}),
    ]
    .iter()
    .map(|v| format!("data: {v}\r\n\r\n"))
    .collect();
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-2.5-pro:streamGenerateContent")))
        .and(query_param("alt", "sse"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new().model("vertexai/gemini-2.5-pro").prompt("hi"),
    );
    let mut chunks = Vec::new();
    while let Some(c) = s.next().await {
        chunks.push(c.unwrap().text());
    }
    assert_eq!(chunks, ["Hel", "lo"]);
    assert_eq!(s.output().await.unwrap().text(), "Hello");
}

#[tokio::test]
async fn express_mode_sends_the_key_on_the_projectless_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/publishers/google/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", "AQ.express-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("express")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/publishers/google/models/gemini-2.5-flash:generateContent"))
        .and(query_param("key", "AQ.express-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("express by query")))
        .expect(1)
        .mount(&server)
        .await;
    let p = VertexAi::new().base_url(server.uri()).api_key("AQ.express-key");
    let r = generate(&registry(p.clone()), GenerateOptions::new().model("vertexai/gemini-2.5-flash").prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text(), "express");
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none() && reqs[0].headers.get("x-goog-user-project").is_none());
    let p = p.key_transport(KeyTransport::Query);
    let r =
        generate(&registry(p), GenerateOptions::new().model("vertexai/gemini-2.5-flash").prompt("hi")).await.unwrap();
    assert_eq!(r.text(), "express by query");
}

#[tokio::test]
async fn the_global_location_keeps_global_in_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/v1/projects/my-project/locations/global/publishers/google/models/gemini-3-flash-preview:generateContent",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer("global")))
        .expect(1)
        .mount(&server)
        .await;
    let p = plugin(&server).location("global");
    let r = generate(&registry(p), GenerateOptions::new().model("vertexai/gemini-3-flash-preview").prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text(), "global");
}

#[tokio::test]
async fn embedders_call_predict_with_instances() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/text-embedding-005:predict")))
        .and(body_json(json!({
            "instances": [{"content": "a", "task_type": "RETRIEVAL_DOCUMENT"}, {"content": "b", "task_type": "RETRIEVAL_DOCUMENT"}],
            "parameters": {"outputDimensionality": 3}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "predictions": [
                {"embeddings": {"values": [0.1, 0.2, 0.3], "statistics": {"truncated": false, "token_count": 1}}},
                {"embeddings": {"values": [0.4, 0.5, 0.6], "statistics": {"truncated": false, "token_count": 1}}}
            ],
            "metadata": {"billableCharacterCount": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let out = genkit_ai::embedder::embed_many(
        &registry(plugin(&server)),
        "vertexai/text-embedding-005",
        vec!["a".into(), "b".into()],
        Some(json!({"taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 3})),
    )
    .await
    .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].embedding, vec![0.4f32, 0.5, 0.6]);
}

#[tokio::test]
async fn auth_errors_map_to_unauthenticated_and_permission_denied() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-2.5-flash:generateContent")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403,
            "message": "Permission 'aiplatform.endpoints.predict' denied on resource '//aiplatform.googleapis.com/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash' (or it may not exist).",
            "status": "PERMISSION_DENIED",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
                         "domain": "aiplatform.googleapis.com"}]}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-2.5-pro:generateContent")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"code": 401,
            "message": "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            "status": "UNAUTHENTICATED"}})))
        .mount(&server)
        .await;
    let r = registry(plugin(&server));
    let e = generate(&r, GenerateOptions::new().model("vertexai/gemini-2.5-flash").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::PermissionDenied);
    assert!(e.message().contains("aiplatform.endpoints.predict"), "{}", e.message());
    let e = generate(&r, GenerateOptions::new().model("vertexai/gemini-2.5-pro").prompt("hi")).await.unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert!(!e.message().contains(TOKEN));
    // A fixed token cannot be refreshed: the 401 is retried once with the same token.
    let hits =
        server.received_requests().await.unwrap().iter().filter(|q| q.url.path().contains("gemini-2.5-pro")).count();
    assert_eq!(hits, 2);
}

#[tokio::test]
async fn listing_adds_the_publisher_models_vertex_reports() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta1/publishers/google/models"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "publisherModels": [
                {"name": "publishers/google/models/gemini-2.5-flash", "versionId": "001", "openSourceCategory": "PROPRIETARY"},
                {"name": "publishers/google/models/gemini-9.0-ultra", "versionId": "001"},
                {"name": "publishers/google/models/text-embedding-006", "versionId": "001"},
                {"name": "publishers/google/models/imagen-4.0-generate-001", "versionId": "001"}
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let names: Vec<String> = plugin(&server).list().await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert!(names.contains(&"vertexai/gemini-9.0-ultra".to_owned()), "{names:?}");
    assert!(names.contains(&"vertexai/text-embedding-006".to_owned()), "{names:?}");
    assert_eq!(names.iter().filter(|n| *n == "vertexai/gemini-2.5-flash").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "vertexai/imagen-4.0-generate-001").count(), 1, "{names:?}");
    let p = plugin(&server);
    assert!(p.resolve(ActionType::Model, "vertexai/gemini-9.0-ultra").await.unwrap().is_some());
    assert!(p.resolve(ActionType::Model, "vertexai/gemma-3-4b-it").await.unwrap().is_none());
}

#[tokio::test]
async fn no_project_anywhere_is_a_clear_precondition_error() {
    if ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "VERTEX_API_KEY"].iter().any(|v| std::env::var(v).is_ok()) {
        return;
    }
    let p = VertexAi::new().credentials(Credentials::AccessToken(ApiKey::new(TOKEN)));
    let e = p.init().await.err().unwrap();
    assert_eq!(e.status(), Status::FailedPrecondition);
    assert!(e.message().contains("GOOGLE_CLOUD_PROJECT"), "{}", e.message());
}

#[tokio::test]
async fn a_streamed_request_answered_with_plain_json_becomes_one_chunk() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-2.5-flash:streamGenerateContent")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "all at once"}]},
                            "finishReason": "STOP", "index": 0}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new().model("vertexai/gemini-2.5-flash").prompt("hi"),
    );
    let mut chunks = Vec::new();
    while let Some(c) = s.next().await {
        chunks.push(c.unwrap());
    }
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text(), "all at once");
    let r = s.output().await.unwrap();
    assert_eq!(r.text(), "all at once");
    assert_eq!(r.finish_reason, Some(genkit_ai::FinishReason::Stop));
}

#[tokio::test]
async fn streamed_function_call_arguments_build_up_partial_tool_requests() {
    let server = MockServer::start().await;
    // Vertex AI with `streamFunctionCallArguments`: the call's arguments arrive in pieces.
    let call = |fc: Value| json!({"candidates": [{"content": {"role": "model", "parts": [{"functionCall": fc}]}, "index": 0}]});
    let mut last = call(json!({}));
    last["candidates"][0]["finishReason"] = json!("STOP");
    last["usageMetadata"] = json!({"promptTokenCount": 9, "candidatesTokenCount": 12, "totalTokenCount": 21});
    let sse: String = [
        call(json!({"name": "get_weather", "id": "fc-1", "willContinue": true,
            "partialArgs": [{"jsonPath": "$.location", "stringValue": "Bos", "willContinue": true}]})),
        call(json!({"willContinue": true, "partialArgs": [{"jsonPath": "$.location", "stringValue": "ton"}]})),
        call(json!({"willContinue": true, "partialArgs": [{"jsonPath": "$.days", "numberValue": 3}]})),
        last,
    ]
    .iter()
    .map(|v| format!("data: {v}\r\n\r\n"))
    .collect();
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-3-flash-preview:streamGenerateContent")))
        .and(body_partial_json(json!({"toolConfig": {"functionCallingConfig": {"streamFunctionCallArguments": true}}})))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let weather: genkit_ai::tool::Tool<Value, Value> = genkit_ai::tool::dynamic(
        genkit_ai::tool::ToolConfig::new("get_weather", "Weather").input_schema(
            json!({"type": "object", "properties": {"location": {"type": "string"}, "days": {"type": "integer"}}}),
        ),
        |_i: Value, _cx| async move { Ok(json!({"temp": 20})) },
    );
    let mut s = generate_stream(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("vertexai/gemini-3-flash-preview")
            .prompt("Weather in Boston for 3 days?")
            .tool(&weather)
            .return_tool_requests(true)
            .config(json!({"toolConfig": {"functionCallingConfig": {"streamFunctionCallArguments": true}}})),
    );
    let mut seen = Vec::new();
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        for p in &c.content {
            if let Some(t) = &p.tool_request {
                seen.push((t.name.clone(), t.reference.clone(), t.input.clone(), t.partial));
            }
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    let id = Some("fc-1".to_owned());
    assert_eq!(seen[0], ("get_weather".into(), id.clone(), Some(json!({"location": "Bos"})), Some(true)));
    assert_eq!(seen[1], ("get_weather".into(), id.clone(), Some(json!({"location": "Boston"})), Some(true)));
    assert_eq!(seen[2].2, Some(json!({"location": "Boston", "days": 3})));
    assert_eq!(seen[3], ("get_weather".into(), id.clone(), Some(json!({"location": "Boston", "days": 3})), None));
    let r = s.output().await.unwrap();
    let reqs = r.tool_requests();
    assert_eq!(reqs.len(), 1, "one whole call in the final message");
    let t = reqs[0].tool_request.as_ref().unwrap();
    assert_eq!((t.input.clone(), t.partial), (Some(json!({"location": "Boston", "days": 3})), None));
}
