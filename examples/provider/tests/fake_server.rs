//! The provider example against a fake OpenAI-compatible server on 127.0.0.1: the request it
//! sends and the answer it reads back.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<Value>>>;

/// A chat completion as llama.cpp's `llama-server` returns it.
fn completion() -> Value {
    json!({
        "id": "chatcmpl-8f3a", "object": "chat.completion", "created": 1_735_689_600, "model": "qwen2.5-0.5b-instruct",
        "system_fingerprint": "b4600-5f0db954",
        "choices": [{"index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Sunlight scatters off air molecules, and blue scatters most."}}],
        "usage": {"prompt_tokens": 31, "completion_tokens": 13, "total_tokens": 44}
    })
}

async fn chat_completions(State(seen): State<Seen>, body: Bytes) -> impl IntoResponse {
    seen.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
    ([(CONTENT_TYPE, "application/json")], completion().to_string())
}

/// Serves the fake API on a free port; returns its base URL and what it received.
async fn fake_server() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new().route("/v1/chat/completions", post(chat_completions)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

#[tokio::test]
async fn asks_the_server_and_reads_its_answer() {
    let (base_url, seen) = fake_server().await;
    let g = example_provider::build_app(&base_url).await.unwrap();
    let answer = example_provider::ask(&g, "qwen2.5-0.5b-instruct", "Why is the sky blue?").await.unwrap();
    assert_eq!(answer, "Sunlight scatters off air molecules, and blue scatters most.");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req["model"], "qwen2.5-0.5b-instruct");
    assert_eq!(req["temperature"], 0.2);
    assert_eq!(req["max_tokens"], 64);
    assert_eq!(
        req["messages"],
        json!([
            {"role": "system", "content": "Answer in one short sentence."},
            {"role": "user", "content": "Why is the sky blue?"}
        ])
    );
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let g = example_provider::build_app(&format!("http://127.0.0.1:{port}/v1")).await.unwrap();
    let e = example_provider::ask(&g, "any", "Hello?").await.unwrap_err();
    assert_eq!(e.status(), genkit::Status::Unavailable, "{e}");
}
