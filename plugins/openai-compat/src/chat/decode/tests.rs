use super::*;
use genkit_core::Status;

fn completion(v: Value) -> ModelResponse {
    decode_completion("openai", serde_json::from_value(v).unwrap()).unwrap()
}

/// Decodes an SSE body fed in pieces of `step` bytes; returns chunks and the result.
fn stream(body: &str, step: usize) -> (Vec<ModelResponseChunk>, Result<ModelResponse>) {
    let mut d = StreamDecoder::new("openai");
    let mut chunks = Vec::new();
    for piece in body.as_bytes().chunks(step.max(1)) {
        if let Err(e) = d.push(piece, &mut |c| chunks.push(c)) {
            return (chunks, Err(e));
        }
    }
    let r = d.finish(&mut |c| chunks.push(c));
    (chunks, r)
}

fn sse(events: &[Value]) -> String {
    let mut s = String::new();
    for e in events {
        s.push_str(&format!("data: {e}\n\n"));
    }
    s.push_str("data: [DONE]\n\n");
    s
}

#[test]
fn an_openai_completion_with_usage_details() {
    let r = completion(json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!", "refusal": null, "annotations": []},
            "logprobs": null, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_fc9f1d7035"
    }));
    assert_eq!(r.text(), "Hello!");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let u = r.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.total_tokens), (Some(1117.0), Some(46.0), Some(1163.0)));
    assert_eq!((u.cached_content_tokens, u.thoughts_tokens), (Some(1024.0), Some(12.0)));
    assert_eq!(r.custom, Some(json!({"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "model": "gpt-4o-2024-08-06"})));
}

#[test]
fn deepseek_reasoning_comes_before_the_text() {
    let r = completion(json!({
        "id": "x", "object": "chat.completion", "model": "deepseek-reasoner",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "9.11 < 9.8",
            "reasoning_content": "Compare the decimals..."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50,
            "prompt_cache_hit_tokens": 16, "prompt_cache_miss_tokens": 4,
            "completion_tokens_details": {"reasoning_tokens": 25}}
    }));
    let parts = &r.message.as_ref().unwrap().content;
    assert_eq!(parts[0], Part::reasoning("Compare the decimals..."));
    assert_eq!(parts[1], Part::text("9.11 < 9.8"));
    let u = r.usage.unwrap();
    assert_eq!((u.cached_content_tokens, u.thoughts_tokens), (Some(16.0), Some(25.0)));
}

#[test]
fn tool_calls_become_tool_requests() {
    let r = completion(json!({
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [
                {"id": "call_abc", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_def", "type": "function", "function": {"name": "time", "arguments": ""}},
                {"id": "call_str", "type": "function", "function": {"name": "echo", "arguments": "\"hi\""}}
            ]}}]
    }));
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    let reqs = r.tool_requests();
    let t = |i: usize| reqs[i].tool_request.as_ref().unwrap();
    assert_eq!((t(0).name.as_str(), t(0).reference.as_deref()), ("weather", Some("call_abc")));
    assert_eq!(t(0).input, Some(json!({"city": "Paris"})));
    assert_eq!(t(1).input, Some(json!({})));
    assert_eq!(t(2).input, Some(json!("hi")));
}

fn bad_call(args: &str, finish: &str) -> Value {
    json!({"choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "tool_calls": [
        {"id": "call_ok", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
        {"id": "call_bad", "type": "function", "function": {"name": "get_weather", "arguments": args}}
    ]}}]})
}

#[test]
fn tool_arguments_that_are_not_json_are_an_error_naming_the_tool() {
    let decode = |v: Value| decode_completion("openai", serde_json::from_value(v).unwrap());
    let e = decode(bad_call("{city: Paris}", "tool_calls")).unwrap_err();
    assert_eq!(e.status(), Status::Internal);
    assert_eq!(e.origin(), Some("openai"));
    assert!(
        e.message().starts_with(
            "the model called tool 'get_weather' with arguments that are not valid JSON: key must be a string"
        ),
        "{}",
        e.message()
    );
    assert!(e.message().ends_with(r#"arguments: "{city: Paris}""#), "{}", e.message());
    assert_eq!(e.details().unwrap()["tool"], "get_weather");
    // Long arguments are quoted by their start only (cut at a character boundary).
    let long = format!("{{\"city\": \"{}", "é".repeat(500));
    let e = decode(bad_call(&long, "length")).unwrap_err();
    assert!(e.message().contains("not valid JSON (the answer was cut at the output token limit)"), "{}", e.message());
    assert!(e.message().ends_with("…"), "{}", e.message());
    assert!(e.message().len() < 600, "{}", e.message().len());

    // Streamed: the assembled arguments are checked at the end, at every byte split.
    let call = |args: &str| json!({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "lookup", "arguments": args}}]});
    let body = sse(&[delta(call("{\"q\": "), None), delta(call("oops}"), None), delta(json!({}), Some("tool_calls"))]);
    for step in [1, 5, body.len()] {
        let e = stream(&body, step).1.unwrap_err();
        assert_eq!(e.status(), Status::Internal);
        assert!(e.message().contains("tool 'lookup'") && e.message().contains(r#"{\"q\": oops}"#), "{}", e.message());
    }
}

#[test]
fn content_parts_and_float_token_counts_from_compatible_servers() {
    let r = completion(json!({
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "Hmm. "}]},
            {"type": "text", "text": "Hello"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            {"type": "text", "text": ", world"}
        ]}}],
        "usage": {"prompt_tokens": 12.0, "completion_tokens": 3.0, "total_tokens": "15",
            "prompt_tokens_details": {"cached_tokens": 2.0}, "completion_tokens_details": {"reasoning_tokens": -1}}
    }));
    let parts = &r.message.as_ref().unwrap().content;
    assert_eq!(parts, &vec![Part::reasoning("Hmm. "), Part::text("Hello, world")]);
    let u = r.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.total_tokens), (Some(12.0), Some(3.0), Some(15.0)));
    assert_eq!((u.cached_content_tokens, u.thoughts_tokens), (Some(2.0), None));
    let r = completion(json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": [
        {"type": "refusal", "refusal": "No."}]}}]}));
    assert_eq!((r.finish_reason, r.finish_message.as_deref()), (Some(FinishReason::Blocked), Some("No.")));
    let r = completion(json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"content": []}}],
        "usage": {"prompt_tokens": null, "completion_tokens": 1.5e300, "total_tokens": true}}));
    assert!(r.message.unwrap().content.is_empty());
    let u = r.usage.unwrap();
    assert_eq!((u.input_tokens, u.output_tokens, u.total_tokens), (None, Some(u64::MAX as f64), None));

    // Streamed deltas with content parts.
    let body = sse(&[
        delta(json!({"content": [{"type": "thinking", "thinking": "Let me see."}]}), None),
        delta(json!({"content": [{"type": "text", "text": "Hi"}]}), None),
        delta(json!({"content": [{"type": "text", "text": " there"}]}), Some("stop")),
        json!({"choices": [], "usage": {"prompt_tokens": 4.0, "completion_tokens": 2.0, "total_tokens": 6.0}}),
    ]);
    let (chunks, r) = stream(&body, 3);
    let r = r.unwrap();
    assert_eq!(chunks[0].reasoning(), "Let me see.");
    assert_eq!(r.text(), "Hi there");
    assert_eq!(r.usage.unwrap().total_tokens, Some(6.0));
}

#[test]
fn finish_reasons_and_refusals() {
    assert_eq!(finish_reason(Some("length")), FinishReason::Length);
    assert_eq!(finish_reason(Some("content_filter")), FinishReason::Blocked);
    assert_eq!(finish_reason(Some("function_call")), FinishReason::Stop);
    assert_eq!(finish_reason(Some("weird")), FinishReason::Other);
    assert_eq!(finish_reason(None), FinishReason::Unknown);
    let r = completion(json!({"choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]}));
    assert_eq!(r.finish_reason, Some(FinishReason::Blocked));
    assert_eq!(r.finish_message.as_deref(), Some("I can't help with that."));
    assert!(decode_completion("openai", serde_json::from_value(json!({"choices": []})).unwrap()).is_err());
}

#[allow(clippy::needless_pass_by_value)]
fn delta(d: Value, finish: Option<&str>) -> Value {
    json!({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o",
        "choices": [{"index": 0, "delta": d, "logprobs": null, "finish_reason": finish}]})
}

#[test]
fn streamed_text_and_usage_at_every_split() {
    let body = sse(&[
        // Azure sends a first chunk without choices, carrying prompt filter results.
        json!({"id": "", "object": "", "choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]}),
        delta(json!({"role": "assistant", "content": ""}), None),
        delta(json!({"content": "Hel"}), None),
        delta(json!({"content": "lo 🌍"}), None),
        delta(json!({}), Some("stop")),
        json!({"id": "c1", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}),
    ]);
    for step in [1, 3, 7, 64, body.len()] {
        let (chunks, r) = stream(&body, step);
        let r = r.unwrap();
        assert_eq!(chunks.iter().map(ModelResponseChunk::text).collect::<Vec<_>>(), ["Hel", "lo 🌍"]);
        assert_eq!(r.text(), "Hello 🌍");
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        assert_eq!(r.usage.as_ref().unwrap().total_tokens, Some(7.0));
        assert_eq!(chunks[0].role, Some(Role::Model));
    }
}

#[test]
fn streamed_reasoning_precedes_text() {
    let body = sse(&[
        delta(json!({"role": "assistant", "content": null, "reasoning_content": "Let me"}), None),
        delta(json!({"content": null, "reasoning_content": " think."}), None),
        delta(json!({"content": "Answer", "reasoning_content": null}), None),
        delta(json!({"content": ""}), Some("stop")),
    ]);
    let (chunks, r) = stream(&body, 5);
    let r = r.unwrap();
    assert_eq!(chunks[0].reasoning(), "Let me");
    assert_eq!(chunks[2].text(), "Answer");
    let parts = &r.message.as_ref().unwrap().content;
    assert_eq!(parts, &vec![Part::reasoning("Let me think."), Part::text("Answer")]);
}

#[test]
fn streamed_parallel_tool_call_deltas_are_assembled_by_index() {
    let call = |index: u32, id: Option<&str>, name: Option<&str>, args: &str| {
        let mut f = json!({"arguments": args});
        if let Some(n) = name {
            f["name"] = json!(n);
        }
        let mut c = json!({"index": index, "function": f});
        if let Some(id) = id {
            c["id"] = json!(id);
            c["type"] = json!("function");
        }
        delta(json!({"tool_calls": [c]}), None)
    };
    let body = sse(&[
        delta(json!({"role": "assistant", "content": null}), None),
        call(0, Some("call_A"), Some("weather"), ""),
        call(0, None, None, "{\"ci"),
        call(1, Some("call_B"), Some("time"), ""),
        call(0, None, None, "ty\": \"Par"),
        call(1, None, None, "{\"tz\":\"CET\"}"),
        call(0, None, None, "is\"}"),
        delta(json!({}), Some("tool_calls")),
    ]);
    for step in [1, 13, body.len()] {
        let (chunks, r) = stream(&body, step);
        let r = r.unwrap();
        let reqs: Vec<_> = r.tool_requests().into_iter().map(|p| p.tool_request.clone().unwrap()).collect();
        assert_eq!(reqs.len(), 2);
        assert_eq!((reqs[0].name.as_str(), reqs[0].reference.as_deref()), ("weather", Some("call_A")));
        assert_eq!(reqs[0].input, Some(json!({"city": "Paris"})));
        assert_eq!((reqs[1].name.as_str(), reqs[1].input.clone()), ("time", Some(json!({"tz": "CET"}))));
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        // Tool requests are streamed once, complete, at the end.
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].tool_requests().len(), 2);
    }
}

#[test]
fn tool_calls_without_index_are_split_by_id() {
    let body = sse(&[
        delta(json!({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{\"x\":1}"}}]}), None),
        delta(json!({"tool_calls": [{"id": "b", "function": {"name": "g", "arguments": "{}"}}]}), Some("tool_calls")),
    ]);
    let r = stream(&body, 1000).1.unwrap();
    let names: Vec<_> = r.tool_requests().iter().map(|p| p.tool_request.as_ref().unwrap().name.clone()).collect();
    assert_eq!(names, ["f", "g"]);
}

#[test]
fn a_cut_stream_is_an_error_not_a_short_answer() {
    let body = format!(
        "data: {}\n\ndata: {}\n\n",
        delta(json!({"content": "Hel"}), None),
        delta(json!({"content": "lo"}), None)
    );
    let (chunks, r) = stream(&body, 10);
    assert_eq!(chunks.len(), 2);
    let e = r.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    assert!(e.message().contains("ended before the model finished"), "{}", e.message());
    // Cut in the middle of an event's JSON.
    let full = sse(&[delta(json!({"content": "Hello"}), Some("stop"))]);
    let cut = &full[..full.len() / 2];
    let e = stream(cut, 4).1.unwrap_err();
    assert_eq!(e.status(), Status::Internal);
    assert!(e.message().contains("malformed event stream"), "{}", e.message());
    // Cut after the finish chunk but before [DONE] is complete: still a full answer.
    let body = format!("data: {}\n\n", delta(json!({"content": "Hi"}), Some("stop")));
    assert_eq!(stream(&body, 3).1.unwrap().text(), "Hi");
}

#[test]
fn malformed_json_and_error_events_fail_clearly() {
    let e = stream("data: {not json}\n\n", 100).1.unwrap_err();
    assert_eq!(e.status(), Status::Internal);
    assert!(e.message().contains("{not json}"), "{}", e.message());
    let e = stream(
        "data: {\"error\": {\"message\": \"Rate limit reached\", \"type\": \"requests\", \"code\": 429}}\n\n",
        100,
    )
    .1
    .unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    assert!(e.message().contains("Rate limit reached"));
    let e = stream("data: {\"error\": {\"message\": \"overloaded\"}}\n\n", 100).1.unwrap_err();
    assert_eq!(e.status(), Status::Unavailable);
    let e = stream("data: \u{1}\n\n", 100).1.unwrap_err();
    assert_eq!(e.status(), Status::Internal);
}

#[test]
fn events_after_done_are_ignored_and_empty_streams_fail() {
    let body = format!("{}data: {}\n\n", sse(&[delta(json!({"content": "A"}), Some("stop"))]), "garbage");
    assert_eq!(stream(&body, 100).1.unwrap().text(), "A");
    assert_eq!(stream("", 1).1.unwrap_err().status(), Status::Unavailable);
    assert_eq!(stream(": ping\n\n", 1).1.unwrap_err().status(), Status::Unavailable);
}
