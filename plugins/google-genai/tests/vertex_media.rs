//! The media families under `vertexai/` against wiremock replays of Vertex AI's documented
//! shapes: Imagen `:predict` and Lyria (in the `global` location) on the publisher paths,
//! Veo started with `:predictLongRunning` and checked with `:fetchPredictOperation`, the
//! multimodal embedder, context caches under the project and location, and the listing of
//! every family once.

use std::sync::Arc;

use genkit_ai::generate::generate;
use genkit_ai::{FinishReason, GenerateOptions, Message, Part};
use genkit_core::{ActionType, Plugin, Registry, Status};
use genkit_google_genai::{ApiKey, Credentials, VertexAi};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ya29.a0-media-token";
const SCOPE: &str = "/v1/projects/my-project/locations/europe-west4";
const PREFIX: &str = "/v1/projects/my-project/locations/europe-west4/publishers/google/models";

fn plugin(server: &MockServer) -> VertexAi {
    VertexAi::new()
        .base_url(server.uri())
        .project("my-project")
        .location("europe-west4")
        .credentials(Credentials::AccessToken(ApiKey::new(TOKEN)))
        .list_remote_models(false)
}

fn registry(p: VertexAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn bearer() -> wiremock::matchers::HeaderExactMatcher {
    header("authorization", format!("Bearer {TOKEN}").as_str())
}

#[tokio::test]
async fn imagen_predicts_on_the_vertex_publisher_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/imagen-4.0-generate-001:predict")))
        .and(bearer())
        .and(header("x-goog-user-project", "my-project"))
        .and(body_json(json!({
            "instances": [{"prompt": "a lighthouse at dusk"}],
            "parameters": {"sampleCount": 1, "aspectRatio": "1:1", "storageUri": "gs://bucket/out/"}
        })))
        .respond_with(ok(json!({"predictions": [
            {"gcsUri": "gs://bucket/out/sample_0.png", "mimeType": "image/png"},
            {"bytesBase64Encoded": "iVBORw0KGgo=", "mimeType": "image/png", "prompt": "a lighthouse at dusk"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new()
            .model("vertexai/imagen-4.0-generate-001")
            .prompt("a lighthouse at dusk")
            .config(json!({"numberOfImages": 1, "aspectRatio": "1:1", "storageUri": "gs://bucket/out/"})),
    )
    .await
    .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let urls: Vec<String> =
        r.message.clone().unwrap().content.iter().filter_map(|p| p.media.as_ref().map(|m| m.url.clone())).collect();
    assert!(urls.contains(&"data:image/png;base64,iVBORw0KGgo=".to_owned()), "{urls:?}");
}

#[tokio::test]
async fn veo_under_vertexai_is_checked_with_fetch_predict_operation() {
    use genkit_ai::generate::generate_operation;
    use genkit_ai::model::background::{cancel_operation, check_operation};
    let server = MockServer::start().await;
    let op_name =
        "projects/my-project/locations/europe-west4/publishers/google/models/veo-3.1-generate-001/operations/7f3a-91";
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/veo-3.1-generate-001:predictLongRunning")))
        .and(bearer())
        .and(body_partial_json(json!({"instances": [{"prompt": "a cat surfing"}],
                                      "parameters": {"durationSeconds": 8}})))
        .respond_with(ok(json!({"name": op_name})))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let op = generate_operation(
        &reg,
        GenerateOptions::new()
            .model("vertexai/veo-3.1-generate-001")
            .prompt("a cat surfing")
            .config(json!({"durationSeconds": 8})),
    )
    .await
    .unwrap();
    assert_eq!(op.id, op_name);
    assert_eq!(op.action.as_deref(), Some("/background-model/vertexai/veo-3.1-generate-001"));

    // Vertex AI has no `GET {operation}` for predictions: the check posts the name to the model.
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/veo-3.1-generate-001:fetchPredictOperation")))
        .and(bearer())
        .and(body_json(json!({"operationName": op_name})))
        .respond_with(ok(json!({"name": op_name})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let running = check_operation(&reg, op.clone()).await.unwrap();
    assert_eq!((running.done, running.output.is_none()), (None, true));
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/veo-3.1-generate-001:fetchPredictOperation")))
        .and(body_json(json!({"operationName": op_name})))
        .respond_with(ok(json!({"name": op_name, "done": true, "response": {
            "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount": 0,
            "videos": [{"gcsUri": "gs://bucket/veo/sample_0.mp4", "mimeType": "video/mp4"}]}})))
        .mount(&server)
        .await;
    let done = check_operation(&reg, running).await.unwrap();
    assert_eq!(done.done, Some(true));
    assert_eq!(done.output.unwrap()["message"]["content"][0]["media"]["url"], "gs://bucket/veo/sample_0.mp4");
    assert!(server.received_requests().await.unwrap().iter().all(|r| r.method.as_str() == "POST"));

    Mock::given(method("POST"))
        .and(path(format!("/v1/{op_name}:cancel")))
        .and(bearer())
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(cancel_operation(&reg, op).await.unwrap().id, op_name);
    // Every Veo id resolves on demand, for each of the three actions.
    for key in [
        "/background-model/vertexai/veo-3.0-generate-001",
        "/check-operation/vertexai/veo-3.0-generate-001/check",
        "/cancel-operation/vertexai/veo-3.0-generate-001/cancel",
    ] {
        assert!(reg.lookup_action(key).await.unwrap().is_some(), "{key}");
    }
}

#[tokio::test]
async fn lyria_runs_in_the_global_location_unless_told_otherwise() {
    let server = MockServer::start().await;
    let wav = json!({"predictions": [{"bytesBase64Encoded": "UklGRiQAAABXQVZF", "mimeType": "audio/wav"}]});
    Mock::given(method("POST"))
        .and(path("/v1/projects/my-project/locations/global/publishers/google/models/lyria-002:predict"))
        .and(bearer())
        .and(body_json(json!({"instances": [{"prompt": "calm piano", "negative_prompt": "drums"}],
                              "parameters": {"sample_count": 1}})))
        .respond_with(ok(wav.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/projects/my-project/locations/us-central1/publishers/google/models/lyria-002:predict"))
        .respond_with(ok(wav))
        .expect(2)
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let r = generate(
        &reg,
        GenerateOptions::new()
            .model("vertexai/lyria-002")
            .prompt("calm piano")
            .config(json!({"negativePrompt": "drums"})),
    )
    .await
    .unwrap();
    let part = r.message.clone().unwrap().content[0].clone();
    assert_eq!(part.media.as_ref().unwrap().url, "data:audio/wav;base64,UklGRiQAAABXQVZF");
    // A per-request location, and a plugin-wide one for the model.
    let r = generate(
        &reg,
        GenerateOptions::new().model("vertexai/lyria-002").prompt("jazz").config(json!({"location": "us-central1"})),
    )
    .await
    .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let moved = registry(plugin(&server).model_location("lyria-002", "us-central1"));
    generate(&moved, GenerateOptions::new().model("vertexai/lyria-002").prompt("rock")).await.unwrap();
    let bad = generate(
        &reg,
        GenerateOptions::new().model("vertexai/lyria-002").prompt("x").config(json!({"location": "../evil"})),
    )
    .await
    .unwrap_err();
    assert_eq!(bad.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn the_multimodal_embedder_predicts_under_the_project() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/multimodalembedding@001:predict")))
        .and(bearer())
        .and(body_json(json!({
            "instances": [{"text": "a cat"}, {"image": {"bytesBase64Encoded": "iVBO", "mimeType": "image/png"}}],
            "parameters": {"dimension": 128}
        })))
        .respond_with(ok(json!({
            "predictions": [{"textEmbedding": [0.1, 0.2]}, {"imageEmbedding": [0.3, 0.4]}], "deployedModelId": "7"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(plugin(&server));
    let docs: Vec<genkit_ai::embedder::EmbedContent> = vec![
        "a cat".into(),
        genkit_ai::DocumentData::from_parts(vec![Part::media("data:image/png;base64,iVBO", None)], None).into(),
    ];
    let out = genkit_ai::embedder::embed_many(
        &reg,
        "vertexai/multimodalembedding@001",
        docs,
        Some(json!({"outputDimensionality": 128})),
    )
    .await
    .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].embedding, vec![0.3, 0.4]);
    assert_eq!(out[1].metadata.as_ref().unwrap()["embedType"], "imageEmbedding");
    let meta = reg.lookup_action("/embedder/vertexai/multimodalembedding@001").await.unwrap().unwrap();
    assert_eq!(meta.metadata().metadata.as_ref().unwrap()["info"]["dimensions"], 1408);
}

#[tokio::test]
async fn context_caches_live_under_the_project_and_location() {
    let server = MockServer::start().await;
    let cache = "projects/my-project/locations/europe-west4/cachedContents/3141592653";
    Mock::given(method("GET"))
        .and(path(format!("{SCOPE}/cachedContents")))
        .and(query_param("pageSize", "100"))
        .and(bearer())
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{SCOPE}/cachedContents")))
        .and(bearer())
        .and(body_partial_json(json!({
            "model": "projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash",
            "contents": [{"role": "user", "parts": [{"text": "Here is a long manual: ..."}]},
                         {"role": "model", "parts": [{"text": "Read it."}]}],
            "ttl": "300s"
        })))
        .respond_with(ok(json!({"name": cache, "model":
            "projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-flash",
            "expireTime": "2026-12-06T09:00:00Z"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{PREFIX}/gemini-2.5-flash:generateContent")))
        .and(body_partial_json(json!({"cachedContent": cache,
            "contents": [{"role": "user", "parts": [{"text": "Where is the fuse?"}]}]})))
        .respond_with(ok(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Page 3."}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4100, "cachedContentTokenCount": 4090, "totalTokenCount": 4105}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut ack = Message::model("Read it.");
    ack.metadata = Some([("cache".to_owned(), json!(true))].into_iter().collect());
    let r = generate(
        &registry(plugin(&server)),
        GenerateOptions::new().model("vertexai/gemini-2.5-flash").messages(vec![
            Message::user("Here is a long manual: ..."),
            ack,
            Message::user("Where is the fuse?"),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Page 3.");
    assert_eq!(r.usage.clone().unwrap().cached_content_tokens, Some(4090.0));
}

#[tokio::test]
async fn listing_shows_every_media_family_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta1/publishers/google/models"))
        .respond_with(ok(json!({"publisherModels": [
            {"name": "publishers/google/models/imagen-4.0-generate-001"},
            {"name": "publishers/google/models/imagen-3.0-generate-002"},
            {"name": "publishers/google/models/veo-3.1-generate-001"},
            {"name": "publishers/google/models/veo-3.0-generate-001"},
            {"name": "publishers/google/models/lyria-002"},
            {"name": "publishers/google/models/gemini-2.5-flash-preview-tts"},
            {"name": "publishers/google/models/multimodalembedding@001"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let listed = plugin(&server).list_remote_models(true).list().await.unwrap();
    let names: Vec<String> = listed.iter().map(|m| m.name.to_string()).collect();
    let count = |n: &str| names.iter().filter(|m| *m == n).count();
    for n in [
        "vertexai/imagen-4.0-generate-001",
        "vertexai/imagen-3.0-generate-002",
        "vertexai/veo-3.1-generate-001",
        "vertexai/veo-3.0-generate-001",
        "vertexai/lyria-002",
        "vertexai/gemini-2.5-flash-preview-tts",
        "vertexai/gemini-2.5-flash-image",
        "vertexai/multimodalembedding@001",
    ] {
        assert_eq!(count(n), 1, "{n}: {names:?}");
    }
    let veo = listed.iter().find(|m| *m.name == *"vertexai/veo-3.0-generate-001").unwrap();
    assert_eq!(veo.key.as_ref(), "/background-model/vertexai/veo-3.0-generate-001");
    assert_eq!(veo.metadata.as_ref().unwrap()["model"]["label"], "Vertex AI - Veo 3.0 Generate 001");
    let p = plugin(&server);
    for (ty, id) in [
        (ActionType::Model, "vertexai/imagen-3.0-fast-generate-001"),
        (ActionType::Model, "vertexai/lyria-002"),
        (ActionType::Model, "vertexai/virtual-try-on-preview-08-04"),
        (ActionType::Model, "vertexai/gemini-2.5-pro-preview-tts"),
        (ActionType::Embedder, "vertexai/multimodalembedding@001"),
    ] {
        assert!(p.resolve(ty, id).await.unwrap().is_some(), "{id}");
    }
    assert!(p.resolve(ActionType::BackgroundModel, "vertexai/gemini-2.5-flash").await.unwrap().is_none());
}
