//! The Gemini codec without HTTP: decoding a `streamGenerateContent?alt=sse` body (SSE
//! framing, JSON, Genkit chunk and merging) per chunk, and encoding a typical tool-using
//! request, and wrapping a second of TTS PCM as WAV. Run with `cargo bench -p genkit-google-genai --bench wire`.

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use genkit_ai::{Message, ModelRequest, Part, Role, ToolDefinition};
use genkit_google_genai::GeminiConfig;
use genkit_google_genai::codec::{EncodeOptions, StreamDecoder, decode_part, encode_request};
use serde_json::json;

const N: usize = 200;

/// A text stream as the API sends it: `n` chunks of one word, the last with the finish
/// reason and usage.
fn text_stream(n: usize) -> Vec<u8> {
    let words = ["The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."];
    let mut s = String::new();
    for i in 0..n {
        let mut chunk = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": words[i % words.len()]}]}, "index": 0}],
            "modelVersion": "gemini-2.5-flash", "responseId": "mQ9xaK3bJ8e7nvgP"});
        if i + 1 == n {
            chunk["candidates"][0]["finishReason"] = json!("STOP");
            chunk["usageMetadata"] =
                json!({"promptTokenCount": 12, "candidatesTokenCount": 200, "totalTokenCount": 212});
        }
        s.push_str(&format!("data: {chunk}\r\n\r\n"));
    }
    s.into_bytes()
}

fn decode(body: &[u8]) -> usize {
    let mut d = StreamDecoder::new("googleai");
    let mut n = 0;
    // Feed in network-sized pieces.
    for piece in body.chunks(1400) {
        d.push(piece, &mut |_| n += 1).unwrap();
    }
    d.finish(&mut |_| n += 1).unwrap();
    n
}

fn request() -> ModelRequest {
    let mut model = Message::model("");
    model.content = vec![
        Part::tool_request("get_weather", Some(json!({"city": "Paris"})), None)
            .with_metadata("thoughtSignature", json!("CiQB0e2Kb8sig==")),
    ];
    let mut tool = Message::user("");
    tool.role = Role::Tool;
    tool.content = vec![Part::tool_response("get_weather", Some(json!({"temp": 18})), None)];
    ModelRequest {
        messages: vec![
            Message::system("You are a helpful assistant."),
            Message::user("What is the weather in Paris?"),
            model,
            tool,
            Message::model("It is 18 degrees."),
            Message::user("And tomorrow?"),
        ],
        tools: Some(vec![ToolDefinition {
            name: "get_weather".into(),
            key: None,
            description: "Weather of a city".into(),
            input_schema: Some(
                json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            ),
            output_schema: None,
            metadata: None,
        }]),
        ..ModelRequest::default()
    }
}

fn bench(c: &mut Criterion) {
    let text = text_stream(N);
    let mut g = c.benchmark_group("sse_decode");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("text_stream_200_chunks", |b| b.iter(|| decode(black_box(&text))));
    g.finish();

    let req = request();
    let mut g = c.benchmark_group("encode");
    g.bench_function("generate_content_6_messages_1_tool", |b| {
        b.iter(|| {
            let opts = EncodeOptions { model: "gemini-2.5-flash", response_json_schema: false };
            encode_request(black_box(&req), GeminiConfig::default(), opts).unwrap()
        });
    });
    g.finish();

    // One second of 24 kHz 16-bit mono speech as the TTS models return it: decoding the
    // part wraps the PCM in a WAV header (base64 decode, header, base64 encode).
    let pcm: Vec<u8> = (0..48_000u32).map(|i| (i % 251) as u8).collect();
    let part = json!({"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000", "data": STANDARD.encode(&pcm)}});
    let mut g = c.benchmark_group("tts");
    g.throughput(Throughput::Bytes(pcm.len() as u64));
    g.bench_function("pcm_to_wav_part_1s_24khz", |b| b.iter(|| decode_part(black_box(&part)).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
