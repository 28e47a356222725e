//! Secrets never reach HTTP callers: an error whose details hold a request's `config.apiKey`,
//! the caller's `auth` context or `secrets` is answered (plain, streamed, and replayed from a
//! durable stream) with those values redacted, over a real socket.

mod common;

use common::serve;
use genkit_core::{ActionCx, ActionDef, ActionType, Error, Flow, Status};
use genkit_server::{FlowServerOptions, HandlerOptions, InMemoryStreamManager, api_key_any};
use serde_json::{Value, json};

const SECRETS: [&str; 4] = ["sk-secret-1", "Bearer tok-secret-2", "pw-secret-3", "tok-secret-2"];

/// Fails like a tool loop that copies its whole request, and the caller's context, into the
/// error's details.
fn leaky() -> Flow<Value, Value, String> {
    ActionDef::builder(ActionType::Flow, "leaky").build(|_: Value, cx: ActionCx<String>| async move {
        cx.send_chunk("tick".into());
        Err(Error::new(Status::NotFound, "Tool not found").with_details(json!({
            "request": {"config": {"apiKey": "sk-secret-1", "temperature": 0.3}},
            "context": cx.context(),
            "secrets": {"db": "pw-secret-3"},
        })))
    })
}

fn assert_clean(what: &str, body: &str) {
    for s in SECRETS {
        assert!(!body.contains(s), "{what} leaks {s}: {body}");
    }
    assert!(body.contains("Tool not found") && body.contains("<redacted>"), "{what}: {body}");
    assert!(body.contains("\"temperature\":0.3"), "{what}: other details stay: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_carry_no_api_key_auth_or_secrets() {
    let (server, url) = serve(
        FlowServerOptions::new().flow_with(leaky(), HandlerOptions::new().context_provider(api_key_any())).flow_with(
            leaky(),
            HandlerOptions::new()
                .path("durable")
                .context_provider(api_key_any())
                .stream_manager(InMemoryStreamManager::new()),
        ),
    )
    .await;
    let http = reqwest::Client::new();
    let post = |path: &str, accept: &str| {
        http.post(format!("{url}/{path}"))
            .header("content-type", "application/json")
            .header("authorization", "Bearer tok-secret-2")
            .header("accept", accept)
            .body(r#"{"data":null}"#)
    };
    let res = post("leaky", "application/json").send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_clean("the JSON answer", &res.text().await.unwrap());
    let res = post("leaky", "text/event-stream").send().await.unwrap();
    assert_clean("the error frame", &res.text().await.unwrap());
    let res = post("durable", "text/event-stream").send().await.unwrap();
    let id = res.headers()["x-genkit-stream-id"].to_str().unwrap().to_owned();
    assert_clean("the durable stream", &res.text().await.unwrap());
    let res = post("durable", "text/event-stream").header("x-genkit-stream-id", id).send().await.unwrap();
    assert_clean("the replayed durable stream", &res.text().await.unwrap());
    server.stop().await.unwrap();
}
