//! The Messages API codec without HTTP: decoding streamed events (SSE framing + JSON + Genkit
//! chunk) per event, assembling streamed tool input, and encoding a typical tool-using request.
//! Run with `cargo bench -p genkit-anthropic --bench wire`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use genkit_ai::{Message, ModelRequest, Part, Role, ToolDefinition};
use genkit_anthropic::AnthropicConfig;
use genkit_anthropic::codec::{EncodeOptions, StreamDecoder, encode_request};
use serde_json::json;

const START: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5-20250929\",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":2}}}\n\n";
const END: &str = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":210}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

/// A text stream as the API sends it: message_start, a text block with `n` deltas, the end.
fn text_stream(n: usize) -> Vec<u8> {
    let mut s = String::from(START);
    s.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    let words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."];
    for i in 0..n {
        let w = words[i % words.len()];
        s.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{w}\"}}}}\n\n"
        ));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
    s.push_str(END);
    s.into_bytes()
}

/// A tool-use stream: `n` input_json_delta fragments of one call.
fn tool_stream(n: usize) -> Vec<u8> {
    let mut s = String::from(START);
    s.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n");
    for i in 0..n {
        let frag = if i == 0 {
            r#"{\"location\": \""#
        } else if i + 1 == n {
            r#"\"}"#
        } else {
            "Par"
        };
        s.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":\"{frag}\"}}}}\n\n"
        ));
    }
    s.push_str("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
    s.push_str(END);
    s.into_bytes()
}

/// Splits a body into network-sized reads (≈ 1.4 KB, arbitrary boundaries).
fn reads(body: &[u8]) -> Vec<Vec<u8>> {
    body.chunks(1400).map(<[u8]>::to_vec).collect()
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
                vec![Part::tool_request("get_weather", Some(json!({"location": "Paris"})), Some("toolu_1".into()))],
            ),
            Message::new(
                Role::Tool,
                vec![Part::tool_response(
                    "get_weather",
                    Some(json!({"temp": 21, "sky": "clear"})),
                    Some("toolu_1".into()),
                )],
            ),
            Message::model("It's 21°C and clear in Paris."),
            Message::user("And in Rome tomorrow?"),
        ],
        config: Some(json!({"temperature": 0.2, "maxOutputTokens": 256, "metadata": {"user_id": "u-1"}})),
        tools: Some(vec![tool]),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    const N: usize = 200;
    let text = reads(&text_stream(N));
    let mut g = c.benchmark_group("sse_decode");
    // Per-event time = reported time / (N + 5 events).
    g.throughput(Throughput::Elements((N + 5) as u64));
    g.bench_function("text_stream_205_events", |b| b.iter(|| decode(black_box(&text))));
    let tools = reads(&tool_stream(N));
    g.bench_function("tool_use_stream_205_events", |b| b.iter(|| decode(black_box(&tools))));
    g.finish();

    let req = request();
    let mut g = c.benchmark_group("encode");
    g.bench_function("messages_request_6_messages_1_tool", |b| {
        b.iter(|| {
            let r = black_box(&req);
            let cfg: AnthropicConfig = serde_json::from_value(r.config.clone().unwrap_or_default()).unwrap();
            let opts = EncodeOptions {
                model: "claude-sonnet-4-5",
                stream: true,
                structured_output: true,
                cache_system_prompt: false,
            };
            let enc = encode_request(r, cfg, &opts).unwrap();
            serde_json::to_vec(&enc.body).unwrap().len()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
