//! Stream decoding edge cases not covered by the golden transcripts of `tests/sse_golden.rs`.

use genkit_core::Status;

use super::*;

fn run(body: &str) -> (Vec<ModelResponseChunk>, Result<ModelResponse>) {
    let mut chunks = Vec::new();
    let mut d = StreamDecoder::new("anthropic");
    let r = d.push(body.as_bytes(), &mut |c| chunks.push(c)).and_then(|()| d.finish(&mut |c| chunks.push(c)));
    (chunks, r)
}

#[test]
fn malformed_event_data_is_an_internal_error() {
    let (_, r) = run("event: message_start\ndata: {\"type\":\"message_start\",\"message\":\n\n");
    let e = r.unwrap_err();
    assert_eq!(e.status(), Status::Internal);
    assert!(e.message().contains("malformed event stream"), "{}", e.message());
}

#[test]
fn a_body_cut_mid_event_is_reported_not_dropped() {
    let (_, r) = run(concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[]}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_"
    ));
    assert_eq!(r.unwrap_err().status(), Status::Internal);
}

#[test]
fn an_error_event_with_plain_text_data_is_still_an_error() {
    let (_, r) = run("event: error\ndata: upstream connect error\n\n");
    let e = r.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert!(e.message().contains("upstream connect error"), "{}", e.message());
}

#[test]
fn unknown_events_are_ignored_and_prefilled_content_is_kept() {
    let (chunks, r) = run(concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"Prefilled\"}]}}\n\n",
        "event: something_new\ndata: {\"type\":\"something_new\",\"x\":1}\n\n",
        ": a comment line\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n",
    ));
    let r = r.unwrap();
    assert_eq!(r.text(), "Prefilled");
    assert!(chunks.is_empty());
    assert_eq!(r.finish_reason, Some(genkit_ai::FinishReason::Stop), "a stop reason without message_stop is enough");
}

#[test]
fn tool_input_falls_back_from_json_to_partial_to_text() {
    assert_eq!(tool_input(&Value::Null, ""), (json!({}), false));
    assert_eq!(tool_input(&json!({"a": 1}), " "), (json!({"a": 1}), false));
    assert_eq!(tool_input(&Value::Null, "{\"a\": [1, 2"), (json!({"a": [1, 2]}), true));
    assert_eq!(tool_input(&Value::Null, "not json"), (json!("not json"), true));
}
