//! The `gemini` example binary: without a key or base URL it says what to set and succeeds;
//! with `--base-url` it talks to a fake Gemini API on 127.0.0.1 (plain `generateContent`, then
//! SSE `streamGenerateContent`) and prints both answers; a bad option exits with status 2.

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::json;

type Seen = Arc<Mutex<Vec<String>>>;

fn answer(text: &str) -> serde_json::Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
           "usageMetadata": {"promptTokenCount": 6, "candidatesTokenCount": 4, "totalTokenCount": 10}})
}

/// Answers the two Gemini API calls the example makes; records `path?query`.
async fn gemini(State(seen): State<Seen>, req: Request) -> impl IntoResponse {
    let uri = req.uri().clone();
    let _body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap();
    seen.lock().unwrap().push(format!("{}?{}", uri.path(), uri.query().unwrap_or("")));
    if uri.path().ends_with(":streamGenerateContent") {
        let sse: String = ["1, 2, ", "3, 4, 5"].iter().map(|t| format!("data: {}\r\n\r\n", answer(t))).collect();
        ([(CONTENT_TYPE, "text/event-stream")], sse)
    } else {
        ([(CONTENT_TYPE, "application/json")], answer("Rayleigh scattering.").to_string())
    }
}

async fn fake_gemini() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new().fallback(gemini).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// Runs the binary without any Gemini variable from the caller's environment.
async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_gemini"));
        for v in ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_API_KEY", "GOOGLE_GENAI_BASE_URL"] {
            c.env_remove(v);
        }
        c.env_remove("GOOGLE_GENAI_KEY_TRANSPORT").args(args).output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn without_a_key_it_says_what_to_set_and_succeeds() {
    let out = run(&[]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("GEMINI_API_KEY"));
}

#[tokio::test]
async fn with_a_base_url_it_generates_and_streams() {
    let (url, seen) = fake_gemini().await;
    let out = run(&["--base-url", &url, "--key-in-query", "gemini-2.5-flash"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout, "Rayleigh scattering.\n1, 2, 3, 4, 5\n");
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], "/v1beta/models/gemini-2.5-flash:generateContent?");
    assert_eq!(seen[1], "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
}

#[tokio::test]
async fn a_bad_option_exits_with_status_2_and_a_failed_call_with_1() {
    let out = run(&["--nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: gemini"));
    // Nothing listens on port 9 of 127.0.0.1: the call fails and the error is printed.
    let out = run(&["--base-url", "http://127.0.0.1:9"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("gemini: "));
}
