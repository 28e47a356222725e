//! Fault injection: the plugin against real local servers that misbehave. A server of ours
//! (`fault_server`) cuts streams, resets connections, sends malformed JSON, answers 429 with
//! `Retry-After` or 5xx, stalls, or never stops sending; llm-katan's own fault options inject
//! HTTP 500s, 429s, latency and slow streams. Every case must end in a retry or fallback
//! success or in a typed error with the right Genkit status: never a panic, a hang past the
//! configured timeout, or a silently short answer. `docs/reliability.md` ("Faults") lists the
//! matrix these tests check.

// The JSON builders take values to read like the answers they build.
#![allow(clippy::needless_pass_by_value)]

mod common;
mod fault_server;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::middleware::MiddlewareUse;
use genkit_ai::{GenerateOptions, GenerateResponse, ModelReference};
use genkit_core::{Registry, Result, Status};
use genkit_middleware::{FallbackOptions, RetryOptions, fallback, retry};
use genkit_openai_compat::{OpenAiCompat, openai_compatible};
use serde_json::{Value, json};

use fault_server::{Fault, FaultServer};

/// The request time limit of the plugin under test: stalls must end in `DEADLINE_EXCEEDED`
/// once it passes.
const TIMEOUT: Duration = Duration::from_millis(1500);

/// The body limit of the plugin under test (small, so an endless body fails fast).
const MAX_BODY: usize = 1 << 20;

/// How long a test waits before calling a case hung. A guard against a regression blocking
/// the test run, far above [`TIMEOUT`]; not a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(60);

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn completion(message: Value, finish: &str) -> Value {
    json!({"id": "c1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}})
}

/// The answer after a fault, plain or streamed.
fn all_good(stream: bool) -> Fault {
    if stream {
        Fault::Sse(vec![
            chunk(json!({"role": "assistant", "content": "All "}), None),
            chunk(json!({"content": "good."}), None),
            chunk(json!({}), Some("stop")),
        ])
    } else {
        Fault::Json(completion(json!({"role": "assistant", "content": "All good."}), "stop"))
    }
}

fn error_body(message: &str) -> String {
    json!({"error": {"message": message, "type": "server_error", "code": null}}).to_string()
}

/// The plugin `faulty` at `url`, with the short [`TIMEOUT`] and [`MAX_BODY`].
fn faulty(url: &str) -> OpenAiCompat {
    openai_compatible("faulty", url, Some("sk-fault")).timeout(TIMEOUT).max_response_bytes(MAX_BODY)
}

fn registry(plugins: Vec<OpenAiCompat>) -> Registry {
    let r = Registry::new();
    for p in plugins {
        r.register_plugin(Arc::new(p)).unwrap();
    }
    r
}

fn fast_retry(max_retries: u32) -> RetryOptions {
    RetryOptions { max_retries, initial_delay_ms: 1, no_jitter: true, ..RetryOptions::default() }
}

/// What a call ended in: the text streamed as chunks, and the response.
#[derive(Debug)]
struct Outcome {
    streamed: String,
    result: Result<GenerateResponse>,
}

/// Calls `model` (streamed or not) through `middleware`, giving up (a failed test) if it
/// does not end within [`HANG_GUARD`].
async fn call(reg: &Registry, model: &str, stream: bool, middleware: Vec<MiddlewareUse>) -> Outcome {
    let mut opts = GenerateOptions::new().model(model).prompt("Are you well?");
    for m in middleware {
        opts = opts.use_middleware(m);
    }
    let run = async {
        if !stream {
            return Outcome { streamed: String::new(), result: generate(reg, opts).await };
        }
        let mut s = generate_stream(reg, opts);
        let mut streamed = String::new();
        while let Some(c) = s.next().await {
            if let Ok(c) = c {
                streamed.push_str(&c.text());
            }
        }
        Outcome { streamed, result: s.output().await }
    };
    tokio::time::timeout(HANG_GUARD, run).await.unwrap_or_else(|_| panic!("{model}: hung past {HANG_GUARD:?}"))
}

/// One fault of our server and what it must end in when nothing retries.
struct Case {
    name: &'static str,
    fault: Fault,
    stream: bool,
    status: Status,
    /// A part of the error message that says what happened.
    says: &'static str,
}

fn cases() -> Vec<Case> {
    let cut = vec![chunk(json!({"role": "assistant", "content": "The answer is"}), None)];
    vec![
        Case {
            name: "429 with Retry-After: 1 day",
            fault: Fault::Status(429, vec![("retry-after", "86400".into())], error_body("Rate limit reached")),
            stream: false,
            status: Status::ResourceExhausted,
            says: "Rate limit reached (HTTP 429)",
        },
        Case {
            name: "500",
            fault: Fault::Status(500, vec![], error_body("The server had an error")),
            stream: false,
            status: Status::Unavailable,
            says: "The server had an error (HTTP 500)",
        },
        Case {
            name: "503 with retry-after-ms, streamed",
            fault: Fault::Status(503, vec![("retry-after-ms", "20".into())], error_body("Overloaded")),
            stream: true,
            status: Status::Unavailable,
            says: "Overloaded (HTTP 503)",
        },
        Case {
            name: "HTTP 200 with an error body",
            fault: Fault::Json(json!({"error": {"message": "upstream overloaded", "code": 503}})),
            stream: false,
            status: Status::Unavailable,
            says: "upstream overloaded (code 503, in an HTTP 200 answer)",
        },
        Case {
            name: "malformed JSON body",
            fault: Fault::Raw("application/json", r#"{"choices": [{"index": 0, "message": {"content": "Hel"#.into()),
            stream: false,
            status: Status::Internal,
            says: "unexpected response from the provider",
        },
        Case {
            name: "malformed SSE event",
            fault: Fault::Raw("text/event-stream", "data: {\"choices\": [tru\n\n".into()),
            stream: true,
            status: Status::Internal,
            says: "malformed event stream",
        },
        Case {
            name: "tool call with arguments that are not JSON",
            fault: Fault::Json(completion(
                json!({"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\": Par"}}]}),
                "tool_calls",
            )),
            stream: false,
            status: Status::Internal,
            says: "tool 'get_weather' with arguments that are not valid JSON",
        },
        Case {
            name: "stream cut between events (clean close, no finish)",
            fault: Fault::CutStream(cut.clone()),
            stream: true,
            status: Status::Unavailable,
            says: "ended before the model finished",
        },
        Case {
            name: "stream cut inside an event",
            fault: Fault::Raw(
                "text/event-stream",
                format!("data: {}\n\ndata: {{\"choices\": [{{\"ind", chunk(json!({"content": "Hi"}), None)),
            ),
            stream: true,
            status: Status::Internal,
            says: "malformed event stream",
        },
        Case {
            name: "connection reset before the answer",
            fault: Fault::Reset,
            stream: false,
            status: Status::Unavailable,
            says: "request failed",
        },
        Case {
            name: "connection reset mid-stream",
            fault: Fault::ResetMidStream(cut.clone()),
            stream: true,
            status: Status::Unavailable,
            says: "request failed",
        },
        Case {
            name: "body shorter than its Content-Length",
            fault: Fault::ShortBody(500, r#"{"choices": [{"index": 0, "#.into()),
            stream: false,
            status: Status::Unavailable,
            says: "request failed",
        },
        Case {
            name: "stall before the answer",
            fault: Fault::Stall,
            stream: false,
            status: Status::DeadlineExceeded,
            says: "request timed out",
        },
        Case {
            name: "stall mid-stream",
            fault: Fault::StallMidStream(cut),
            stream: true,
            status: Status::DeadlineExceeded,
            says: "request timed out",
        },
        Case {
            name: "endless JSON body",
            fault: Fault::Endless("application/json"),
            stream: false,
            status: Status::ResourceExhausted,
            says: "larger than the limit of 1048576 bytes (set by the plugin's max_response_bytes option)",
        },
        Case {
            name: "endless SSE line",
            fault: Fault::Endless("text/event-stream"),
            stream: true,
            status: Status::ResourceExhausted,
            says: "longer than the limit of 1048576 bytes",
        },
    ]
}

#[tokio::test]
async fn every_fault_alone_is_a_typed_error_never_a_short_answer() {
    for case in cases() {
        let server = FaultServer::start(vec![case.fault]).await;
        let reg = registry(vec![faulty(&server.url())]);
        let out = call(&reg, "faulty/m", case.stream, vec![]).await;
        let e = match out.result {
            Ok(r) => panic!("{}: a success ({:?}) where the provider failed", case.name, r.text()),
            Err(e) => e,
        };
        assert_eq!(e.status(), case.status, "{}: {e}", case.name);
        assert!(e.message().contains(case.says), "{}: {}", case.name, e.message());
        assert_eq!(e.origin(), Some("faulty"), "{}", case.name);
        assert!(!format!("{e:?}").contains("sk-fault"), "{}: the key leaked: {e:?}", case.name);
        if case.name.starts_with("429") {
            assert_eq!(e.retry_after(), Some(Duration::from_secs(60)), "a day is capped at parse time");
        }
        // What was streamed before the fault is never more than the provider sent.
        assert!(out.streamed.is_empty() || out.streamed == "The answer is" || out.streamed == "Hi", "{}", case.name);
        assert_eq!(server.requests(), 1, "{}: without middleware nothing retries", case.name);
    }
}

#[tokio::test]
async fn every_fault_then_an_answer_recovers_with_the_retry_middleware() {
    for case in cases() {
        let server = FaultServer::start(vec![case.fault, all_good(case.stream)]).await;
        let reg = registry(vec![faulty(&server.url())]);
        // A day of Retry-After is honoured up to maxRetryAfterMs (kept tiny here).
        let opts = RetryOptions { max_retry_after_ms: 50, ..fast_retry(2) };
        let out = call(&reg, "faulty/m", case.stream, vec![retry(opts)]).await;
        let r = out.result.unwrap_or_else(|e| panic!("{}: not recovered: {e}", case.name));
        assert_eq!(r.text(), "All good.", "{}", case.name);
        assert_eq!(server.requests(), 2, "{}", case.name);
        if case.stream {
            assert!(out.streamed.ends_with("All good."), "{}: {:?}", case.name, out.streamed);
        }
    }
}

#[tokio::test]
async fn a_provider_that_keeps_failing_falls_back_to_another() {
    let healthy = FaultServer::start(vec![all_good(false)]).await;
    for fault in [Fault::Status(503, vec![], error_body("Overloaded")), Fault::Stall, Fault::Reset] {
        let broken = FaultServer::start(vec![fault.clone()]).await;
        let reg = registry(vec![faulty(&broken.url()), faulty(&healthy.url()).name("healthy")]);
        let to = FallbackOptions {
            models: vec![ModelReference { name: "healthy/m".into(), config: None }],
            ..FallbackOptions::default()
        };
        let out = call(&reg, "faulty/m", false, vec![fallback(to), retry(fast_retry(1))]).await;
        let r = out.result.unwrap_or_else(|e| panic!("{fault:?}: no fallback: {e}"));
        assert_eq!(r.text(), "All good.", "{fault:?}");
        assert_eq!(broken.requests(), 2, "{fault:?}: one retry before falling back");
    }
}

#[tokio::test]
async fn retries_exhausted_end_in_the_last_typed_error() {
    let server = FaultServer::start(vec![
        Fault::Status(500, vec![], error_body("first")),
        Fault::Reset,
        Fault::Status(429, vec![("retry-after-ms", "5".into())], error_body("still limited")),
    ])
    .await;
    let reg = registry(vec![faulty(&server.url())]);
    let e = call(&reg, "faulty/m", false, vec![retry(fast_retry(3))]).await.result.unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
    assert!(e.message().contains("still limited"), "{}", e.message());
    assert_eq!(server.requests(), 4, "attempts = maxRetries + 1");
}

/// llm-katan's fault options, on servers of their own (one per option set).
mod katan {
    use super::*;

    fn katan(url: &str) -> OpenAiCompat {
        faulty(&format!("{url}/v1"))
    }

    fn healthy() -> Option<OpenAiCompat> {
        common::katan_url().map(|u| openai_compatible("healthy", format!("{u}/v1"), Some("k")))
    }

    fn to_healthy() -> MiddlewareUse {
        fallback(FallbackOptions {
            models: vec![ModelReference { name: "healthy/echo-model".into(), config: None }],
            ..FallbackOptions::default()
        })
    }

    #[tokio::test]
    async fn error_rate_1_is_unavailable_and_falls_back() {
        let Some(url) = common::katan_with(&["--error-rate", "1.0"]) else { return };
        let Some(healthy) = healthy() else { return };
        let reg = registry(vec![katan(&url), healthy]);
        for stream in [false, true] {
            let e = call(&reg, "faulty/echo-model", stream, vec![retry(fast_retry(2))]).await.result.unwrap_err();
            assert_eq!(e.status(), Status::Unavailable, "{e}");
            assert!(e.message().contains("internal server error (HTTP 500)"), "{}", e.message());
            let out = call(&reg, "faulty/echo-model", stream, vec![to_healthy()]).await;
            assert!(out.result.unwrap().text().contains("User: Are you well?"));
        }
    }

    #[tokio::test]
    async fn error_rate_half_recovers_with_retries() {
        let Some(url) = common::katan_with(&["--error-rate", "0.5"]) else { return };
        let reg = registry(vec![katan(&url)]);
        // 31 attempts: the chance that all fail is 2^-31.
        for stream in [false, true, false, true] {
            let out = call(&reg, "faulty/echo-model", stream, vec![retry(fast_retry(30))]).await;
            assert!(out.result.unwrap().text().contains("User: Are you well?"));
        }
    }

    #[tokio::test]
    async fn rate_limited_after_one_request_is_resource_exhausted_and_falls_back() {
        let Some(url) = common::katan_with(&["--rate-limit-after", "1"]) else { return };
        let Some(healthy) = healthy() else { return };
        let reg = registry(vec![katan(&url), healthy]);
        assert!(call(&reg, "faulty/echo-model", false, vec![]).await.result.is_ok(), "the first request passes");
        let e = call(&reg, "faulty/echo-model", true, vec![retry(fast_retry(1))]).await.result.unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted, "{e}");
        let out = call(&reg, "faulty/echo-model", true, vec![to_healthy()]).await;
        assert!(out.result.unwrap().text().contains("User: Are you well?"));
    }

    #[tokio::test]
    async fn latency_past_the_timeout_is_deadline_exceeded() {
        let Some(url) = common::katan_with(&["--latency-ms", "30000"]) else { return };
        let reg = registry(vec![katan(&url)]);
        for stream in [false, true] {
            let e = call(&reg, "faulty/echo-model", stream, vec![]).await.result.unwrap_err();
            assert_eq!(e.status(), Status::DeadlineExceeded, "{e}");
        }
    }

    #[tokio::test]
    async fn a_stream_slower_than_the_timeout_is_deadline_exceeded_not_a_short_answer() {
        let Some(url) = common::katan_with(&["--chunk-delay-ms", "250"]) else { return };
        let reg = registry(vec![katan(&url)]);
        let out = call(&reg, "faulty/echo-model", true, vec![]).await;
        let e = out.result.unwrap_err();
        assert_eq!(e.status(), Status::DeadlineExceeded, "{e}");
        assert!(!out.streamed.is_empty(), "some chunks came before the time limit");
        // The delay is only between stream chunks: a plain request is unaffected.
        let r = call(&reg, "faulty/echo-model", false, vec![]).await.result.unwrap();
        assert!(r.text().contains("User: Are you well?"));
    }
}
