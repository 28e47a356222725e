use futures::StreamExt;
use genkit_core::{Registry, RunOptions, Status};
use serde_json::json;

use super::testing::{ProgrammableModel, echo_model};
use super::*;
use crate::{FinishReason, Message, ModelResponse, ModelResponseChunk, Part};

fn req(text: &str) -> ModelRequest {
    ModelRequest { messages: vec![Message::user(text)], ..ModelRequest::default() }
}

#[tokio::test]
async fn define_model_registers_with_model_metadata() {
    let m = new(
        ModelOptions::new("test/m")
            .label("Test Model")
            .versions(vec!["v1".into()])
            .supports(ModelSupports { multiturn: Some(true), tools: Some(false), ..ModelSupports::default() })
            .config_schema(json!({"type": "object", "properties": {"temperature": {"type": "number"}}})),
        |_r, _cx| async move { Ok(ModelResponse { finish_reason: Some(FinishReason::Stop), ..Default::default() }) },
    );
    let meta = m.metadata();
    assert_eq!(&*meta.key, "/model/test/m");
    assert_eq!(meta.description.as_deref(), Some("Test Model"));
    assert_eq!(
        meta.metadata_value("model").unwrap(),
        &json!({
            "label": "Test Model",
            "customOptions": {"type": "object", "properties": {"temperature": {"type": "number"}}},
            "versions": ["v1"],
            "supports": {"multiturn": true, "tools": false}
        })
    );
    assert!(meta.input_schema.as_ref().unwrap()["properties"].get("messages").is_some());
    let r = Registry::new();
    r.register_action(m.as_action()).unwrap();
    let out = r
        .require_action("/model/test/m")
        .await
        .unwrap()
        .run_json(json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}), RunOptions::new())
        .await
        .unwrap();
    assert_eq!(out.result["finishReason"], "stop");
    assert!(out.result["latencyMs"].is_number());
    // Bad requests are rejected by the schema.
    let e = r
        .require_action("/model/test/m")
        .await
        .unwrap()
        .run_json(json!({"messages": [{"role": "robot", "content": []}]}), RunOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn echo_model_echoes_and_streams() {
    let echo = echo_model("test/echo");
    let mut r = req("hello");
    r.messages.insert(0, Message::system("sys"));
    r.config = Some(json!({"temperature": 1}));
    assert_eq!(echo.run(r.clone()).await.unwrap().text(), "Echo: sys\nhello; config: {\"temperature\":1}");
    let mut s = echo.stream(r);
    let mut chunks = vec![];
    while let Some(c) = s.next().await {
        chunks.push(c.unwrap().text());
    }
    assert_eq!(chunks, vec!["sys", "hello"]);
    assert!(s.output().await.unwrap().text().starts_with("Echo: "));
}

#[tokio::test]
async fn programmable_model_replays_queue_handler_and_errors() {
    let pm = ProgrammableModel::new("test/pm");
    pm.respond_text("one").respond_streaming(
        vec![ModelResponseChunk { content: vec![Part::text("t")], ..Default::default() }],
        ModelResponse { message: Some(Message::model("two")), ..Default::default() },
    );
    pm.fail(genkit_core::Error::new(Status::Unavailable, "overloaded"));
    let m = pm.action();
    assert_eq!(m.run(req("a")).await.unwrap().text(), "one");
    let mut s = m.stream(req("b"));
    assert_eq!(s.next().await.unwrap().unwrap().text(), "t");
    assert_eq!(s.output().await.unwrap().text(), "two");
    assert_eq!(m.run(req("c")).await.unwrap_err().status(), Status::Unavailable);
    let e = m.run(req("d")).await.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    pm.set_handler(|r, _cx| {
        Ok(ModelResponse { message: Some(Message::model(format!("n={}", r.messages.len()))), ..Default::default() })
    });
    assert_eq!(m.run(req("e")).await.unwrap().text(), "n=1");
    assert_eq!(pm.requests().len(), 5);
    assert_eq!(pm.last_request().unwrap().messages[0].text(), "e");
}

#[test]
fn usage_counts_media_kinds() {
    let input = vec![Message::new(
        crate::Role::User,
        vec![
            Part::text("héllo"),
            Part::media("data:image/png;base64,AA", None),
            Part::media("https://x/v.mp4", Some("video/mp4".into())),
            Part::media("https://x/a", Some("audio/wav".into())),
        ],
    )];
    let u = basic_usage_stats(&input, None);
    assert_eq!(
        (u.input_characters, u.input_images, u.input_videos, u.input_audio_files, u.output_characters),
        (Some(5.0), Some(1.0), Some(1.0), Some(1.0), Some(0.0))
    );
}

/// A plugin resolving `fast` (a model) and `veo` (a background model), listing both with
/// the metadata helpers.
struct Acme;

fn acme_fast() -> ModelOptions {
    ModelOptions::new("acme/fast").info(crate::ModelInfo {
        label: Some("Acme Fast".into()),
        versions: Some(vec!["1".into()]),
        supports: Some(ModelSupports { tools: Some(true), ..ModelSupports::default() }),
        stage: Some(crate::ModelStage::Stable),
        config_schema: Some(serde_json::from_value(json!({"type": "object"})).unwrap()),
    })
}

fn acme_veo() -> ModelOptions {
    ModelOptions::new("acme/veo").supports(ModelSupports { long_running: Some(true), ..ModelSupports::default() })
}

fn acme_embed() -> crate::EmbedderOptions {
    crate::EmbedderOptions::new("acme/embed")
        .info(crate::EmbedderInfo { label: Some("Embed".into()), dimensions: Some(3), ..Default::default() })
        .config_schema(json!({"type": "object", "properties": {"k": {"type": "integer"}}}))
}

impl genkit_core::Plugin for Acme {
    fn name(&self) -> &str {
        "acme"
    }
    async fn resolve(&self, ty: ActionType, name: &str) -> Result<Option<Arc<dyn Action>>> {
        Ok(match (ty, name) {
            (ActionType::Model, "fast") => {
                Some(new(acme_fast(), |_r, _cx| async { Ok(ModelResponse::default()) }).as_action())
            }
            (ActionType::BackgroundModel, "veo") => Some(
                background::new(
                    &acme_veo(),
                    |_r, _cx| async {
                        Ok(crate::Operation {
                            action: None,
                            id: "1".into(),
                            done: None,
                            output: None,
                            error: None,
                            metadata: None,
                        })
                    },
                    |op, _cx| async move { Ok(op) },
                    None,
                )
                .start
                .as_action(),
            ),
            (ActionType::Embedder, "embed") => {
                Some(crate::embedder::new(acme_embed(), |_r, _cx| async { Ok(Default::default()) }).as_action())
            }
            _ => None,
        })
    }
    async fn list(&self) -> Result<Vec<genkit_core::ActionMetadata>> {
        Ok(vec![
            model_action_metadata(&acme_fast(), false),
            model_action_metadata(&acme_veo(), true),
            crate::embedder::embedder_action_metadata(&acme_embed()),
        ])
    }
}

#[tokio::test]
async fn listed_metadata_equals_the_resolved_actions() {
    let r = Registry::new();
    r.register_plugin(Arc::new(Acme)).unwrap();
    let listed = genkit_core::Plugin::list(&Acme).await.unwrap();
    let keys = ["/model/acme/fast", "/background-model/acme/veo", "/embedder/acme/embed"];
    for (meta, key) in listed.iter().zip(keys) {
        assert_eq!(&*meta.key, key);
        let action = r.lookup_action(key).await.unwrap().unwrap();
        assert_eq!(meta, action.metadata(), "{key}");
    }
    let fast = &listed[0];
    assert_eq!(fast.description.as_deref(), Some("Acme Fast"));
    assert_eq!(
        fast.metadata_value("model"),
        Some(&json!({"label": "Acme Fast", "customOptions": {"type": "object"}, "versions": ["1"],
                     "supports": {"tools": true}, "stage": "stable"}))
    );
    assert!(fast.stream_schema.is_some());
    let veo = &listed[1];
    assert!(veo.stream_schema.is_none());
    assert!(veo.output_schema.as_ref().unwrap()["properties"].get("id").is_some());
    assert_eq!(
        listed[2].metadata_value("embedder"),
        Some(&json!({"customOptions": {"type": "object", "properties": {"k": {"type": "integer"}}}}))
    );
}

#[tokio::test]
async fn plugin_model_resolves_or_is_not_found() {
    let fast = plugin_model(&Acme, "fast").await.unwrap();
    assert_eq!(fast.key(), "/model/acme/fast");
    let dyn_plugin: &dyn genkit_core::DynPlugin = &Acme;
    let err = plugin_model(dyn_plugin, "slow").await.unwrap_err();
    assert_eq!((err.status(), err.message()), (Status::NotFound, "Failed to resolve model slow for plugin acme"));
    // a background model is not a `model`
    let err = plugin_model(&Acme, "veo").await.unwrap_err();
    assert_eq!(err.message(), "Failed to resolve model veo for plugin acme");
}
