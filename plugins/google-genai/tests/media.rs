//! The media model families against wiremock replays of the documented Gemini API / Vertex
//! AI response shapes: Imagen `:predict`, Gemini image output, TTS audio, Veo long-running
//! operations, Lyria, context caching and multimodal embeddings. Request paths, headers and
//! bodies are matched too.

#![allow(clippy::needless_pass_by_value)]

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use genkit_ai::generate::generate;
use genkit_ai::{FinishReason, GenerateOptions, Message, Part};
use genkit_core::{Registry, Status};
use genkit_google_genai::GoogleAi;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AIzaSyTest-media-key-0123";

fn registry(server: &MockServer) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(GoogleAi::new().api_key(KEY).base_url(server.uri()).list_remote_models(false))).unwrap();
    r
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

async fn body_of(server: &MockServer, i: usize) -> Value {
    let reqs = server.received_requests().await.unwrap();
    serde_json::from_slice(&reqs[i].body).unwrap()
}

#[tokio::test]
async fn imagen_predicts_images_as_data_urls() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/imagen-4.0-generate-001:predict"))
        .and(header("x-goog-api-key", KEY))
        .and(body_json(json!({
            "instances": [{"prompt": "a lighthouse at dusk"}],
            "parameters": {"sampleCount": 2, "aspectRatio": "16:9", "personGeneration": "dont_allow",
                           "imageSize": "2K"}
        })))
        .respond_with(ok(json!({"predictions": [
            {"bytesBase64Encoded": "iVBORw0KGgo=", "mimeType": "image/png"},
            {"bytesBase64Encoded": "/9j/4AAQ", "mimeType": "image/jpeg"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(&server),
        GenerateOptions::new().model("googleai/imagen-4.0-generate-001").prompt("a lighthouse at dusk").config(
            json!({"numberOfImages": 2, "aspectRatio": "16:9", "personGeneration": "dont_allow", "imageSize": "2K"}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let m = r.message.clone().unwrap();
    let urls: Vec<&str> = m.content.iter().map(|p| p.media.as_ref().unwrap().url.as_str()).collect();
    assert_eq!(urls, ["data:image/png;base64,iVBORw0KGgo=", "data:image/jpeg;base64,/9j/4AAQ"]);
    assert_eq!(r.usage.as_ref().unwrap().custom.as_ref().unwrap()["generations"], 2);
}

#[tokio::test]
async fn imagen_edits_with_an_image_and_reports_filtered_results() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/imagen-3.0-capability-001:predict"))
        .and(body_partial_json(json!({
            "instances": [{"prompt": "make it snow", "image": {"bytesBase64Encoded": "SU1H"},
                           "mask": {"image": {"gcsUri": "gs://bucket/mask.png"}}}]
        })))
        .respond_with(ok(json!({"predictions": [{"raiFilteredReason": "56562880: violates policy"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let mut msg = Message::user("make it snow");
    msg.content.push(Part::media("data:image/png;base64,SU1H", None));
    msg.content.push(Part::media("gs://bucket/mask.png", None).with_metadata("type", json!("mask")));
    let r = generate(
        &registry(&server),
        GenerateOptions::new().model("googleai/imagen-3.0-capability-001").messages(vec![msg]),
    )
    .await;
    // Every image filtered: a blocked answer, which generate reports with the reasons.
    let e = r.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    assert!(e.message().contains("violates policy"), "{}", e.message());
    assert_eq!(e.details().unwrap()["response"]["finishReason"], "blocked");

    // An http(s) image cannot be sent to Imagen: a clear error before any request.
    let mut msg = Message::user("x");
    msg.content.push(Part::media("https://example.test/cat.png", Some("image/png".into())));
    let e = generate(
        &registry(&server),
        GenerateOptions::new().model("googleai/imagen-3.0-capability-001").messages(vec![msg]),
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn imagen_errors_keep_googles_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/imagen-4.0-fast-generate-001:predict"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "message": "Imagen API is only accessible to billed users at this time.",
            "status": "INVALID_ARGUMENT"}})))
        .mount(&server)
        .await;
    let e =
        generate(&registry(&server), GenerateOptions::new().model("googleai/imagen-4.0-fast-generate-001").prompt("x"))
            .await
            .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("billed users"), "{}", e.message());
}

#[tokio::test]
async fn gemini_image_models_ask_for_images_and_return_them_as_media() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash-image:generateContent"))
        .and(body_partial_json(json!({"generationConfig": {
            "responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "4:3"}}})))
        .respond_with(ok(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "Here is your banana."},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
            ]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 1290, "totalTokenCount": 1296}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(&server),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash-image")
            .prompt("a banana on a bike")
            .config(json!({"imageConfig": {"aspectRatio": "4:3"}})),
    )
    .await
    .unwrap();
    assert_eq!(r.text(), "Here is your banana.");
    let media = r.media().unwrap();
    assert_eq!(media.url, "data:image/png;base64,iVBORw0KGgo=");
    assert_eq!(media.content_type.as_deref(), Some("image/png"));
}

#[tokio::test]
async fn tts_returns_playable_wav_audio() {
    let server = MockServer::start().await;
    let pcm: Vec<u8> = (0..48u8).collect();
    let speech = json!({"multiSpeakerVoiceConfig": {"speakerVoiceConfigs": [
        {"speaker": "Joe", "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}},
        {"speaker": "Jane", "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Puck"}}}
    ]}});
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash-preview-tts:generateContent"))
        .and(body_partial_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "Joe: Hi Jane! Jane: Hi Joe!"}]}],
            "generationConfig": {"responseModalities": ["AUDIO"], "speechConfig": speech}
        })))
        .respond_with(ok(json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": STANDARD.encode(&pcm)}}
            ]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 40, "totalTokenCount": 52},
            "modelVersion": "gemini-2.5-flash-preview-tts"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let r = generate(
        &registry(&server),
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash-preview-tts")
            .prompt("Joe: Hi Jane! Jane: Hi Joe!")
            .config(json!({"speechConfig": speech})),
    )
    .await
    .unwrap();
    let media = r.media().unwrap();
    assert_eq!(media.content_type.as_deref(), Some("audio/wav"));
    let wav = STANDARD.decode(media.url.strip_prefix("data:audio/wav;base64,").unwrap()).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    assert_eq!(u32::from_le_bytes(wav[24..28].try_into().unwrap()), 24_000);
    assert_eq!(&wav[44..], &pcm[..]);
    assert_eq!(body_of(&server, 0).await["generationConfig"]["responseModalities"], json!(["AUDIO"]));
}

#[tokio::test]
async fn veo_starts_checks_and_cancels_long_running_operations() {
    use genkit_ai::generate::generate_operation;
    use genkit_ai::model::background::{cancel_operation, check_operation};
    let server = MockServer::start().await;
    let op_name = "models/veo-3.1-generate-preview/operations/5x9dl8k2q1";
    Mock::given(method("POST"))
        .and(path("/v1beta/models/veo-3.1-generate-preview:predictLongRunning"))
        .and(header("x-goog-api-key", KEY))
        .and(body_json(json!({
            "instances": [{"prompt": "a cat surfing", "image": {"bytesBase64Encoded": "iVBO", "mimeType": "image/png"}}],
            "parameters": {"aspectRatio": "16:9", "durationSeconds": 8, "enhancePrompt": false}
        })))
        .respond_with(ok(json!({"name": op_name})))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(&server);
    let mut msg = Message::user("a cat surfing");
    msg.content.push(Part::media("data:image/png;base64,iVBO", None));
    let op = generate_operation(
        &reg,
        GenerateOptions::new()
            .model("googleai/veo-3.1-generate-preview")
            .messages(vec![msg])
            .config(json!({"aspectRatio": "16:9", "durationSeconds": 8, "enhancePrompt": false})),
    )
    .await
    .unwrap();
    assert_eq!(op.id, op_name);
    assert_eq!(op.action.as_deref(), Some("/background-model/googleai/veo-3.1-generate-preview"));
    assert_ne!(op.done, Some(true));

    // Still running, then done with a video.
    Mock::given(method("GET"))
        .and(path(format!("/v1beta/{op_name}")))
        .and(header("x-goog-api-key", KEY))
        .respond_with(ok(json!({"name": op_name, "metadata": {"@type": "x"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let running = check_operation(&reg, op.clone()).await.unwrap();
    assert_eq!((running.done, running.output.is_none()), (None, true));
    Mock::given(method("GET"))
        .and(path(format!("/v1beta/{op_name}")))
        .respond_with(ok(json!({"name": op_name, "done": true, "response": {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        "generateVideoResponse": {"generatedSamples": [
            {"video": {"uri": "https://generativelanguage.googleapis.com/v1beta/files/abc:download?alt=media"}}
        ]}}})))
        .mount(&server)
        .await;
    let done = check_operation(&reg, running).await.unwrap();
    assert_eq!(done.done, Some(true));
    let out = done.output.unwrap();
    assert_eq!(out["finishReason"], "stop");
    assert_eq!(
        out["message"]["content"][0]["media"]["url"],
        "https://generativelanguage.googleapis.com/v1beta/files/abc:download?alt=media"
    );

    // Cancel asks `:cancel`, then reports the operation's state.
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/{op_name}:cancel")))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let cancelled = cancel_operation(&reg, op.clone()).await.unwrap();
    assert_eq!(cancelled.id, op_name);

    // A forged operation id never reaches the server as another path.
    let mut forged = op.clone();
    forged.id = "models/veo/operations/../../../files/secret".into();
    assert_eq!(check_operation(&reg, forged).await.unwrap_err().status(), Status::InvalidArgument);
}

#[tokio::test]
async fn veo_failures_become_operation_errors() {
    use genkit_ai::model::background::check_operation;
    let server = MockServer::start().await;
    let op_name = "models/veo-3.1-fast-generate-preview/operations/zz1";
    Mock::given(method("GET"))
        .and(path(format!("/v1beta/{op_name}")))
        .respond_with(ok(json!({"name": op_name, "done": true,
            "error": {"code": 3, "message": "The prompt could not be submitted."}})))
        .mount(&server)
        .await;
    let reg = registry(&server);
    let op = genkit_ai::Operation {
        action: Some("/background-model/googleai/veo-3.1-fast-generate-preview".into()),
        id: op_name.into(),
        done: None,
        output: None,
        error: None,
        metadata: None,
    };
    let done = check_operation(&reg, op).await.unwrap();
    assert_eq!(done.error.unwrap()["message"], "The prompt could not be submitted.");
    // A model that was never started resolves on demand too (here: the check action).
    assert!(reg.lookup_action("/check-operation/googleai/veo-2.0-generate-001/check").await.unwrap().is_some());
    assert!(reg.lookup_action("/background-model/googleai/gemini-2.5-flash").await.unwrap().is_none());
    // Lyria is a Vertex AI model: the Gemini API plugin neither lists nor resolves it.
    assert!(reg.lookup_action("/model/googleai/lyria-002").await.unwrap().is_none());
}

fn cached_conversation(question: &str) -> Vec<Message> {
    let mut doc = Message::user("Here is a long manual: ...");
    doc.content.push(Part::media("data:application/pdf;base64,JVBERi0x", None));
    let mut ack = Message::model("I have read the manual.");
    ack.metadata = Some([("cache".to_owned(), json!({"ttlSeconds": 3600}))].into_iter().collect());
    vec![Message::system("Answer from the manual."), doc, ack, Message::user(question)]
}

fn gemini_answer(text: &str) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 4100, "cachedContentTokenCount": 4090, "candidatesTokenCount": 5,
                          "totalTokenCount": 4105}
    })
}

#[tokio::test]
async fn context_caching_creates_a_cache_once_and_sends_only_the_rest() {
    use wiremock::matchers::query_param;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .and(query_param("pageSize", "100"))
        .and(header("x-goog-api-key", KEY))
        .respond_with(ok(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .and(header("x-goog-api-key", KEY))
        .and(body_partial_json(json!({
            "model": "models/gemini-2.5-flash",
            "systemInstruction": {"role": "user", "parts": [{"text": "Answer from the manual."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Here is a long manual: ..."},
                                           {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0x"}}]},
                {"role": "model", "parts": [{"text": "I have read the manual."}]}
            ],
            "ttl": "3600s"
        })))
        .respond_with(ok(json!({
            "name": "cachedContents/4f8k2j1x9q", "model": "models/gemini-2.5-flash",
            "createTime": "2026-12-06T07:40:00Z", "expireTime": "2026-12-06T08:40:00Z",
            "usageMetadata": {"totalTokenCount": 4090}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(body_partial_json(json!({"cachedContent": "cachedContents/4f8k2j1x9q"})))
        .respond_with(ok(gemini_answer("Page 12.")))
        .expect(2)
        .mount(&server)
        .await;
    let reg = registry(&server);
    for q in ["Where is the reset button?", "And the fuse?"] {
        let r =
            generate(&reg, GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(cached_conversation(q)))
                .await
                .unwrap();
        assert_eq!(r.text(), "Page 12.");
        assert_eq!(r.usage.as_ref().unwrap().cached_content_tokens, Some(4090.0));
    }
    let create = body_of(&server, 1).await;
    let key = create["displayName"].as_str().unwrap();
    assert_eq!(key.len(), 64, "a SHA-256 hex display name: {key}");
    let sent = body_of(&server, 2).await;
    assert_eq!(sent["contents"], json!([{"role": "user", "parts": [{"text": "Where is the reset button?"}]}]));
    assert!(sent.get("systemInstruction").is_none(), "the system instruction lives in the cache: {sent}");
    // The second call reused the cache known in this process: no second list or create.
    let sent = body_of(&server, 3).await;
    assert_eq!(sent["contents"][0]["parts"][0]["text"], "And the fuse?");
}

#[tokio::test]
async fn context_caching_finds_an_earlier_cache_by_its_hash() {
    let server = MockServer::start().await;
    // Learn the key of the prefix from a first plugin's create call.
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ok(json!({})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ok(json!({"name": "cachedContents/first"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ok(gemini_answer("ok")))
        .mount(&server)
        .await;
    let reg = registry(&server);
    generate(&reg, GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(cached_conversation("q1")))
        .await
        .unwrap();
    let key = body_of(&server, 1).await["displayName"].as_str().unwrap().to_owned();
    // Another key (another process's view): not in memory, found by listing (second page).
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .and(wiremock::matchers::query_param("pageToken", "p2"))
        .respond_with(ok(json!({"cachedContents": [
            {"name": "cachedContents/other", "displayName": "something-else"},
            {"name": "cachedContents/first", "displayName": key, "model": "models/gemini-2.5-flash"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ok(
            json!({"cachedContents": [{"name": "cachedContents/x", "displayName": "nope"}], "nextPageToken": "p2"}),
        ))
        .mount(&server)
        .await;
    generate(
        &reg,
        GenerateOptions::new()
            .model("googleai/gemini-2.5-flash")
            .messages(cached_conversation("q2"))
            .config(json!({"apiKey": "AIza-another-key-0000000"})),
    )
    .await
    .unwrap();
    let reqs = server.received_requests().await.unwrap();
    let last: Value = serde_json::from_slice(&reqs.last().unwrap().body).unwrap();
    assert_eq!(last["cachedContent"], "cachedContents/first");
    assert_eq!(last["contents"][0]["parts"][0]["text"], "q2");
}

#[tokio::test]
async fn context_caching_refuses_tools_and_a_marker_on_the_last_message() {
    let server = MockServer::start().await;
    let reg = registry(&server);
    let tool: genkit_ai::tool::Tool<Value, Value> = genkit_ai::tool::dynamic(
        genkit_ai::tool::ToolConfig::new("lookup", "looks up").input_schema(json!({"type": "object"})),
        |_: Value, _cx| async move { Ok(json!("x")) },
    );
    let e = generate(
        &reg,
        GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(cached_conversation("q")).tool(&tool),
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("tools are not supported with context caching"), "{}", e.message());
    let mut only = cached_conversation("q");
    only.pop();
    let e = generate(&reg, GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(only)).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn context_caching_passes_the_apis_minimum_size_refusal_on() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1beta/cachedContents")).respond_with(ok(json!({}))).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {"code": 400,
            "message": "Cached content is too small. total_token_count=12, min_total_token_count=1024",
            "status": "INVALID_ARGUMENT"}})))
        .mount(&server)
        .await;
    let e = generate(
        &registry(&server),
        GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(cached_conversation("q")),
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("min_total_token_count"), "{}", e.message());
}

#[tokio::test]
async fn gemini_embedders_send_media_documents_as_parts() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-embedding-001:batchEmbedContents"))
        .and(body_json(json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a red bike"}]},
             "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 2},
            {"model": "models/gemini-embedding-001", "content": {"parts": [
                {"text": "photo:"}, {"inlineData": {"mimeType": "image/png", "data": "iVBO"}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "gs://b/bike.jpg"}}]},
             "taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 2}
        ]})))
        .respond_with(ok(json!({"embeddings": [{"values": [0.1, 0.2]}, {"values": [0.3, 0.4]}]})))
        .expect(1)
        .mount(&server)
        .await;
    let reg = registry(&server);
    let docs: Vec<genkit_ai::embedder::EmbedContent> = vec![
        "a red bike".into(),
        genkit_ai::DocumentData::from_parts(
            vec![
                Part::text("photo:"),
                Part::media("data:image/png;base64,iVBO", None),
                Part::media("gs://b/bike.jpg", Some("image/jpeg".into())),
            ],
            None,
        )
        .into(),
    ];
    let out = genkit_ai::embedder::embed_many(
        &reg,
        "googleai/gemini-embedding-001",
        docs,
        Some(json!({"taskType": "RETRIEVAL_DOCUMENT", "outputDimensionality": 2})),
    )
    .await
    .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].embedding, vec![0.3, 0.4]);
}

#[tokio::test]
async fn structured_output_with_tools_is_native_on_gemini_3_and_prompted_before() {
    use genkit_ai::OutputOptions;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
                        "required": ["city", "temp"]});
    let tool: genkit_ai::tool::Tool<Value, Value> = genkit_ai::tool::dynamic(
        genkit_ai::tool::ToolConfig::new("get_weather", "Weather of a city")
            .input_schema(json!({"type": "object", "properties": {"city": {"type": "string"}}})),
        |_: Value, _cx| async move { Ok(json!({"temp": 18})) },
    );
    let server = MockServer::start().await;
    for model in ["gemini-3-flash-preview", "gemini-2.5-flash"] {
        Mock::given(method("POST"))
            .and(path(format!("/v1beta/models/{model}:generateContent")))
            .respond_with(ok(json!({"candidates": [{"content": {"role": "model", "parts": [
                {"text": "{\"city\": \"Paris\", \"temp\": 18}"}]}, "finishReason": "STOP"}]})))
            .mount(&server)
            .await;
    }
    let reg = registry(&server);
    for (i, model) in ["gemini-3-flash-preview", "gemini-2.5-flash"].into_iter().enumerate() {
        let r = generate(
            &reg,
            GenerateOptions::new()
                .model(format!("googleai/{model}"))
                .prompt("Weather in Paris as JSON")
                .tool(&tool)
                .output(OutputOptions {
                    format: Some("json".into()),
                    schema: Some(schema.clone()),
                    ..OutputOptions::default()
                }),
        )
        .await
        .unwrap();
        assert_eq!(r.output().unwrap(), json!({"city": "Paris", "temp": 18}));
        let body = body_of(&server, i).await;
        assert_eq!(body["tools"][0]["functionDeclarations"][0]["name"], "get_weather");
        if i == 0 {
            // Gemini 3: the schema is enforced by the API next to the tools.
            assert_eq!(body["generationConfig"]["responseMimeType"], "application/json", "{body}");
            assert_eq!(body["generationConfig"]["responseSchema"]["required"], json!(["city", "temp"]));
        } else {
            // Gemini 2.5 refuses tools with a JSON response type: the schema goes into the prompt.
            assert!(body.get("generationConfig").and_then(|g| g.get("responseMimeType")).is_none(), "{body}");
            assert!(body.to_string().contains("temp"), "the schema is in the prompt: {body}");
        }
    }
}

#[tokio::test]
async fn streamed_speech_plays_per_chunk_and_ends_as_one_wav() {
    use futures::StreamExt;
    let server = MockServer::start().await;
    let piece = |pcm: &[u8], finish: bool| {
        let mut c = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": STANDARD.encode(pcm)}}]}, "index": 0}]});
        if finish {
            c["candidates"][0]["finishReason"] = json!("STOP");
        }
        format!("data: {c}\r\n\r\n")
    };
    let sse = piece(&[1, 0, 2, 0], false) + &piece(&[3, 0, 4, 0], true);
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-pro-preview-tts:streamGenerateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let mut s = genkit_ai::generate::generate_stream(
        &registry(&server),
        GenerateOptions::new().model("googleai/gemini-2.5-pro-preview-tts").prompt("Say hi"),
    );
    let mut chunks = 0;
    while let Some(c) = s.next().await {
        let c = c.unwrap();
        let url = &c.content[0].media.as_ref().unwrap().url;
        assert!(url.starts_with("data:audio/wav;base64,UklGR"), "each chunk is a playable WAV: {url}");
        chunks += 1;
    }
    assert_eq!(chunks, 2);
    let r = s.output().await.unwrap();
    let m = r.message.as_ref().unwrap();
    assert_eq!(m.content.len(), 1, "one WAV at the end");
    let wav = STANDARD
        .decode(m.content[0].media.as_ref().unwrap().url.strip_prefix("data:audio/wav;base64,").unwrap())
        .unwrap();
    assert_eq!(&wav[44..], &[1, 0, 2, 0, 3, 0, 4, 0]);
}

#[tokio::test]
async fn listing_shows_the_media_models_once() {
    use genkit_core::Plugin;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .respond_with(ok(json!({"models": [
            {"name": "models/veo-2.0-generate-001", "supportedGenerationMethods": ["predictLongRunning"]},
            {"name": "models/veo-3.1-generate-preview", "supportedGenerationMethods": ["predictLongRunning"]},
            {"name": "models/imagen-3.0-generate-002", "supportedGenerationMethods": ["predict"]},
            {"name": "models/gemini-2.5-flash-preview-tts", "supportedGenerationMethods": ["generateContent"]}
        ]})))
        .mount(&server)
        .await;
    let p = GoogleAi::new().api_key(KEY).base_url(server.uri());
    let listed = p.list().await.unwrap();
    let count = |n: &str| listed.iter().filter(|m| *m.name == *n).count();
    for n in [
        "googleai/veo-2.0-generate-001",
        "googleai/veo-3.1-generate-preview",
        "googleai/imagen-3.0-generate-002",
        "googleai/imagen-4.0-generate-001",
        "googleai/gemini-2.5-flash-preview-tts",
        "googleai/gemini-2.5-flash-image",
    ] {
        assert_eq!(count(n), 1, "{n}: {:?}", listed.iter().map(|m| m.name.to_string()).collect::<Vec<_>>());
    }
    let veo = listed.iter().find(|m| *m.name == *"googleai/veo-2.0-generate-001").unwrap();
    assert_eq!(veo.key.as_ref(), "/background-model/googleai/veo-2.0-generate-001");
    assert_eq!(count("googleai/lyria-002"), 0);
}

#[tokio::test]
async fn a_cache_that_is_gone_is_made_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/v1beta/cachedContents")).respond_with(ok(json!({}))).mount(&server).await;
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ok(json!({"name": "cachedContents/c1"})))
        .expect(2)
        .mount(&server)
        .await;
    // First call fine, second finds the cache gone, third works again with a new cache.
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ok(gemini_answer("ok")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {"code": 403,
            "message": "CachedContent not found (or permission denied)", "status": "PERMISSION_DENIED"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ok(gemini_answer("ok again")))
        .mount(&server)
        .await;
    let reg = registry(&server);
    let call = |q: &'static str| {
        generate(&reg, GenerateOptions::new().model("googleai/gemini-2.5-flash").messages(cached_conversation(q)))
    };
    assert_eq!(call("q1").await.unwrap().text(), "ok");
    assert_eq!(call("q2").await.unwrap_err().status(), Status::PermissionDenied);
    assert_eq!(call("q3").await.unwrap().text(), "ok again");
}
