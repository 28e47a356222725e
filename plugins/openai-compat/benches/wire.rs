//! The OpenAI wire codec without HTTP: decoding streamed `chat.completion.chunk` events
//! (SSE framing + JSON + Genkit chunk) per chunk, assembling streamed tool-call deltas, and
//! encoding a typical tool-using request.
//! Run with `cargo bench -p genkit-openai-compat --bench wire`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use genkit_ai::{Message, ModelRequest, Part, Role, ToolDefinition};
use genkit_openai_compat::codec::{EncodeOptions, StreamDecoder, encode_chat_request, parse_config};
use serde_json::json;

/// A text stream like OpenAI's: role chunk, `n` content chunks, finish chunk, usage chunk, `[DONE]`.
fn text_stream(n: usize) -> Vec<u8> {
    let mut s = String::new();
    let head = r#""id":"chatcmpl-AbC123xyz","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_fc9f1d7035""#;
    s.push_str(&format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
    ));
    let words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."];
    for i in 0..n {
        let w = words[i % words.len()];
        s.push_str(&format!(
            "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{w}\"}},\"logprobs\":null,\"finish_reason\":null}}]}}\n\n"
        ));
    }
    s.push_str(&format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"logprobs\":null,\"finish_reason\":\"stop\"}}]}}\n\n"
    ));
    s.push_str(&format!(
        "data: {{{head},\"choices\":[],\"usage\":{{\"prompt_tokens\":19,\"completion_tokens\":{n},\"total_tokens\":{},\"prompt_tokens_details\":{{\"cached_tokens\":0}},\"completion_tokens_details\":{{\"reasoning_tokens\":0}}}}}}\n\n",
        n + 19
    ));
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

/// A tool-call stream: `n` argument fragments of one call.
fn tool_stream(n: usize) -> Vec<u8> {
    let mut s = String::new();
    let head = r#""id":"chatcmpl-AbC123xyz","object":"chat.completion.chunk","created":1741570283,"model":"gpt-4o""#;
    s.push_str(&format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{{\"index\":0,\"id\":\"call_DdmO9pD3xa9XTPNJ32zg2hcA\",\"type\":\"function\",\"function\":{{\"name\":\"get_weather\",\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
    ));
    for i in 0..n {
        let frag = if i == 0 {
            r#"{\"location\":\""#
        } else if i + 1 == n {
            r#"\"}"#
        } else {
            "Par"
        };
        s.push_str(&format!(
            "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":\"{frag}\"}}}}]}},\"finish_reason\":null}}]}}\n\n"
        ));
    }
    s.push_str(&format!(
        "data: {{{head},\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"tool_calls\"}}]}}\n\n"
    ));
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

/// Splits a body into network-sized reads (≈ 1.4 KB, arbitrary boundaries).
fn reads(body: &[u8]) -> Vec<&[u8]> {
    body.chunks(1400).collect()
}

fn decode(body: &[Vec<u8>]) -> usize {
    let mut d = StreamDecoder::new("bench");
    let mut n = 0usize;
    let mut emit = |c: genkit_ai::ModelResponseChunk| n += c.content.len();
    for r in body {
        d.push(r, &mut emit).unwrap();
    }
    let r = d.finish(&mut emit).unwrap();
    n + r.message.map_or(0, |m| m.content.len())
}

fn request() -> ModelRequest {
    let tool = ToolDefinition {
        name: "get_weather".into(),
        key: None,
        description: "Current weather for a city".into(),
        input_schema: Some(json!({"type": "object", "properties": {"location": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["location"]})),
        output_schema: None,
        metadata: None,
    };
    ModelRequest {
        messages: vec![
            Message::system("You are a helpful assistant. Answer briefly."),
            Message::user("What's the weather in Paris?"),
            Message::new(
                Role::Model,
                vec![Part::tool_request("get_weather", Some(json!({"location": "Paris"})), Some("call_1".into()))],
            ),
            Message::new(
                Role::Tool,
                vec![Part::tool_response(
                    "get_weather",
                    Some(json!({"temp": 21, "sky": "clear"})),
                    Some("call_1".into()),
                )],
            ),
            Message::model("It's 21°C and clear in Paris."),
            Message::user("And in Rome tomorrow?"),
        ],
        config: Some(json!({"temperature": 0.2, "maxOutputTokens": 256, "seed": 7})),
        tools: Some(vec![tool]),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    const N: usize = 200;
    let text: Vec<Vec<u8>> = reads(&text_stream(N)).into_iter().map(<[u8]>::to_vec).collect();
    let mut g = c.benchmark_group("sse_decode");
    // Per-chunk time = reported time / (N + 4 events).
    g.throughput(Throughput::Elements((N + 4) as u64));
    g.bench_function("text_stream_204_events", |b| b.iter(|| decode(black_box(&text))));
    let tools: Vec<Vec<u8>> = reads(&tool_stream(N)).into_iter().map(<[u8]>::to_vec).collect();
    g.throughput(Throughput::Elements((N + 3) as u64));
    g.bench_function("tool_call_stream_203_events", |b| b.iter(|| decode(black_box(&tools))));
    g.finish();

    let req = request();
    let mut g = c.benchmark_group("encode");
    g.bench_function("chat_request_6_messages_1_tool", |b| {
        b.iter(|| {
            let r = black_box(&req);
            let cfg = parse_config(r.config.as_ref()).unwrap();
            let body =
                encode_chat_request(r, cfg, &EncodeOptions { model: "gpt-4o", stream: true, ..Default::default() })
                    .unwrap();
            serde_json::to_vec(&body).unwrap().len()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
