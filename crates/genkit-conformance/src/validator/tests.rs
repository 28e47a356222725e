use genkit_ai::{Candidate, FinishReason, Message, ModelResponse, Part, Role};
use serde_json::{Value, json};

use super::*;

fn resp(parts: Vec<Part>) -> ModelResponse {
    ModelResponse { message: Some(Message::new(Role::Model, parts)), ..Default::default() }
}

fn text(t: &str) -> ModelResponse {
    resp(vec![Part::text(t)])
}

fn empty() -> ModelResponse {
    ModelResponse::default()
}

fn chunks(texts: &[&str]) -> Vec<Value> {
    texts.iter().map(|t| json!({"content": [{"text": t}]})).collect()
}

fn err(spec: &str, r: &ModelResponse, c: &[Value]) -> String {
    validate(spec, r, c).unwrap_err()
}

#[test]
fn split_at_first_colon() {
    assert_eq!(split_validator("has-tool-request"), ("has-tool-request", ""));
    assert_eq!(split_validator("text-includes:a:b"), ("text-includes", "a:b"));
    assert_eq!(split_validator("text-includes:"), ("text-includes", ""));
}

#[test]
fn unknown_validator() {
    assert_eq!(err("nope:x", &text("a"), &[]), "Unknown validator: nope");
    assert!(VALIDATORS.iter().all(|v| is_validator(v)));
    assert!(needs_stream("stream-valid-json") && !needs_stream("valid-json") && !needs_stream("stream-nope"));
}

#[test]
fn has_tool_request() {
    let tr = resp(vec![Part::text("calling"), Part::tool_request("weather", Some(json!({"city": "NY"})), None)]);
    assert!(validate("has-tool-request", &tr, &[]).is_ok());
    assert!(validate("has-tool-request:weather", &tr, &[]).is_ok());
    assert_eq!(err("has-tool-request:time", &tr, &[]), "Expected tool request 'time', got 'weather'");
    // Only the first tool request counts.
    let two = resp(vec![Part::tool_request("a", None, None), Part::tool_request("weather", None, None)]);
    assert_eq!(err("has-tool-request:weather", &two, &[]), "Expected tool request 'weather', got 'a'");
    assert!(err("has-tool-request", &text("no"), &[]).starts_with("Model did not return a tool request. Content: ["));
    assert!(err("has-tool-request", &empty(), &[]).starts_with("Response missing message content. Full response: {"));
}

#[test]
fn valid_json() {
    assert!(validate("valid-json", &text(r#"{"name":"John","age":3}"#), &[]).is_ok());
    assert!(validate("valid-json", &text(" [1, 2] \n"), &[]).is_ok());
    assert!(validate("valid-json", &text("42"), &[]).is_ok());
    // The first non-empty text part, wherever it is.
    let later = resp(vec![Part::reasoning("hmm"), Part::text(""), Part::text("{}")]);
    assert!(validate("valid-json", &later, &[]).is_ok());
    assert_eq!(
        err("valid-json", &text("```json\n{}\n```"), &[]),
        "Response text is not valid JSON. Text: ```json\n{}\n```"
    );
    assert!(
        err("valid-json", &resp(vec![Part::media("data:x", None)]), &[])
            .starts_with("Model did not return text content for JSON.")
    );
    assert!(err("valid-json", &empty(), &[]).starts_with("Response missing message content."));
}

#[test]
fn text_includes_is_case_insensitive_on_the_first_part() {
    assert!(validate("text-includes:genkit", &text("Hello GENKIT"), &[]).is_ok());
    assert!(validate("text-includes:Genkit", &text("hello genkit"), &[]).is_ok());
    assert!(validate("text-includes", &text("x"), &[]).is_ok());
    assert_eq!(
        err("text-includes:google", &text("a logo"), &[]),
        "Response text does not include 'google'. Text: a logo"
    );
    // A reasoning part first: the text validators see no text.
    let reasoning_first = resp(vec![Part::reasoning("thinking about Genkit"), Part::text("Genkit")]);
    assert_eq!(
        err("text-includes:genkit", &reasoning_first, &[]),
        "Response text does not include 'genkit'. Text: undefined"
    );
    // Only the first part.
    let second = resp(vec![Part::text("a"), Part::text("genkit")]);
    assert!(validate("text-includes:genkit", &second, &[]).is_err());
    // Empty text fails even without an argument.
    assert!(validate("text-includes", &text(""), &[]).is_err());
    assert!(validate("text-includes", &empty(), &[]).is_err());
}

#[test]
fn legacy_candidates_are_read() {
    let r = ModelResponse {
        candidates: Some(vec![Candidate {
            index: 0,
            message: Message::model("from a candidate"),
            usage: None,
            finish_reason: FinishReason::Stop,
            finish_message: None,
            custom: None,
        }]),
        ..Default::default()
    };
    assert!(validate("text-includes:candidate", &r, &[]).is_ok());
}

#[test]
fn text_starts_with_trims_and_is_case_sensitive() {
    assert!(validate("text-starts-with:RESPONSE:", &text("  \nRESPONSE: hello"), &[]).is_ok());
    assert_eq!(
        err("text-starts-with:RESPONSE:", &text("response: hello"), &[]),
        "Response text does not start with 'RESPONSE:'. Text: response: hello"
    );
    assert!(validate("text-starts-with", &text("x"), &[]).is_ok());
    assert!(validate("text-starts-with:a", &empty(), &[]).is_err());
}

#[test]
fn text_not_empty() {
    assert!(validate("text-not-empty", &text(" x "), &[]).is_ok());
    assert_eq!(err("text-not-empty", &text(" \n\t"), &[]), "Response text is empty");
    assert_eq!(
        err("text-not-empty", &resp(vec![Part::media("data:image/png;base64,", None)]), &[]),
        "Response text is empty"
    );
    assert_eq!(err("text-not-empty", &empty(), &[]), "Response text is empty");
}

#[test]
fn valid_media() {
    let audio = resp(vec![Part::text("here"), Part::media("data:audio/wav;base64,AAAA", Some("audio/wav".into()))]);
    assert!(validate("valid-media", &audio, &[]).is_ok());
    assert!(validate("valid-media:audio", &audio, &[]).is_ok());
    assert_eq!(err("valid-media:image", &audio, &[]), "Expected image content type, got audio/wav");
    assert_eq!(err("valid-media:audio", &text("no"), &[]), "Model did not return audio part.");
    assert_eq!(err("valid-media", &text("no"), &[]), "Model did not return media part.");
    // No content type: only the URL rules apply (for images).
    let no_ct = resp(vec![Part::media("data:audio/wav;base64,AAAA", None)]);
    assert!(validate("valid-media:audio", &no_ct, &[]).is_ok());
    assert_eq!(err("valid-media:image", &no_ct, &[]), "Invalid data URL content type for image");
    let img = |url: &str| resp(vec![Part::media(url, Some("image/png".into()))]);
    assert!(validate("valid-media:image", &img("data:image/png;base64,AAAA"), &[]).is_ok());
    assert!(validate("valid-media:image", &img("https://example.com/cat.png"), &[]).is_ok());
    assert!(validate("valid-media:image", &img("http://localhost:8080/x"), &[]).is_ok());
    assert_eq!(err("valid-media:image", &img("https://"), &[]), "Invalid URL: https://");
    assert_eq!(err("valid-media:image", &img("http://a:99999/"), &[]), "Invalid URL: http://a:99999/");
    assert_eq!(err("valid-media:image", &img("gs://bucket/cat.png"), &[]), "Unknown URL format: gs://bucket/cat.png");
    assert_eq!(err("valid-media:image", &img(""), &[]), "Media part missing URL");
    // Other types do not check the URL.
    assert!(
        validate("valid-media:video", &resp(vec![Part::media("gs://b/v.mp4", Some("video/mp4".into()))]), &[]).is_ok()
    );
}

#[test]
fn reasoning() {
    assert!(validate("reasoning", &resp(vec![Part::reasoning("because"), Part::text("7")]), &[]).is_ok());
    assert_eq!(err("reasoning", &text("3"), &[]), "reasoning content not found");
    assert_eq!(err("reasoning", &resp(vec![Part::reasoning("")]), &[]), "reasoning content not found");
    assert_eq!(err("reasoning", &empty(), &[]), "Response is missing message content");
}

#[test]
fn stream_text_includes_is_case_sensitive_over_chunks() {
    let c = chunks(&["My name ", "is Gen", "kit."]);
    assert!(validate("stream-text-includes:Genkit", &empty(), &c).is_ok());
    assert!(validate("stream-text-includes", &empty(), &c).is_ok());
    assert_eq!(
        err("stream-text-includes:genkit", &empty(), &c),
        "Streaming response did not include 'genkit'. Streamed text: My name is Genkit."
    );
    assert_eq!(err("stream-text-includes:x", &text("x"), &[]), "Streaming expected but no chunks were received");
    // Each chunk contributes its first non-empty text part only.
    let c = vec![
        json!({"content": [{"text": ""}, {"text": "Gen"}, {"text": "IGNORED"}]}),
        json!({"content": [{"text": "kit"}]}),
        json!({}),
    ];
    assert!(validate("stream-text-includes:Genkit", &empty(), &c).is_ok());
}

#[test]
fn stream_has_tool_request() {
    let tool_chunk = vec![json!({"content": [{"toolRequest": {"name": "weather", "input": {}}}]})];
    let final_tr = resp(vec![Part::tool_request("weather", None, None)]);
    assert!(validate("stream-has-tool-request:weather", &final_tr, &tool_chunk).is_ok());
    assert!(validate("stream-has-tool-request", &empty(), &tool_chunk).is_ok());
    // With a name, the final response must also pass has-tool-request.
    assert!(
        err("stream-has-tool-request:weather", &text("no"), &tool_chunk)
            .starts_with("Model did not return a tool request.")
    );
    assert_eq!(
        err("stream-has-tool-request:weather", &final_tr, &chunks(&["text only"])),
        "No tool request found in the streamed chunks"
    );
    assert_eq!(err("stream-has-tool-request", &final_tr, &[]), "Streaming expected but no chunks were received");
}

#[test]
fn stream_valid_json() {
    assert!(validate("stream-valid-json", &empty(), &chunks(&["{\"name\":", " \"x\", \"rating\": 5}"])).is_ok());
    assert_eq!(err("stream-valid-json", &empty(), &chunks(&["{\"a\":"])), "Streamed text is not valid JSON: {\"a\":");
    assert_eq!(err("stream-valid-json", &empty(), &chunks(&[" ", "\n"])), "Streamed response contained no text");
    assert_eq!(err("stream-valid-json", &text("{}"), &[]), "Streaming expected but no chunks were received");
}
