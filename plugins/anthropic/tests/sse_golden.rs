//! SSE golden test: raw Messages API event transcripts (`tests/fixtures/sse/*.sse`, written
//! from the documented event shapes) decoded into the chunks and final response (or error)
//! recorded next to them in `*.expected.json`. Each transcript is decoded whole, split in two
//! at every byte, and one byte at a time: every way a body can arrive must give the same
//! result.
//!
//! The transcripts cover the hard cases the Anthropic SDKs' own streaming fixtures list:
//! out-of-order and interleaved blocks, tool input JSON cut across deltas and left incomplete
//! by the token limit, missing usage, a refusal, server tool calls and results, `pause_turn`,
//! thinking with signatures and redacted thinking, citations, cache usage, and errors in the
//! middle of a stream.
//!
//! To record new expectations after an intended change: `GENKIT_UPDATE_GOLDEN=1 cargo test
//! -p genkit-anthropic --test sse_golden`, then review the diff.

use std::path::{Path, PathBuf};

use genkit_ai::ModelResponseChunk;
use genkit_anthropic::codec::StreamDecoder;
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse")
}

/// Decodes `pieces` in order: the chunks emitted and the final response or error, as JSON.
fn decode(pieces: &[&[u8]]) -> Value {
    let mut chunks: Vec<ModelResponseChunk> = Vec::new();
    let mut d = StreamDecoder::new("anthropic");
    let mut result = Ok(());
    for p in pieces {
        result = d.push(p, &mut |c| chunks.push(c));
        if result.is_err() {
            break;
        }
    }
    let end = result.and_then(|()| d.finish(&mut |c| chunks.push(c)));
    // Adjacent text (and reasoning) chunks are merged, so any split gives the same list.
    let mut merged: Vec<Value> = Vec::new();
    for c in chunks {
        for p in c.content {
            let v = serde_json::to_value(&p).unwrap();
            let key =
                ["text", "reasoning"].into_iter().find(|k| v.get(*k).is_some() && v.as_object().unwrap().len() == 1);
            if let (Some(k), Some(last)) = (key, merged.last_mut())
                && last.as_object().is_some_and(|o| o.len() == 1 && o.contains_key(k))
            {
                let joined = format!("{}{}", last[k].as_str().unwrap(), v[k].as_str().unwrap());
                last[k] = Value::String(joined);
                continue;
            }
            merged.push(v);
        }
    }
    match end {
        Ok(r) => json!({"chunks": merged, "response": r}),
        Err(e) => {
            json!({"chunks": merged, "error": {"status": e.status().as_str(), "message": e.message(), "details": e.details()}})
        }
    }
}

fn check(name: &str) {
    let body = std::fs::read(fixtures().join(format!("{name}.sse"))).unwrap();
    let whole = decode(&[&body]);
    let expected_path = fixtures().join(format!("{name}.expected.json"));
    if std::env::var("GENKIT_UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&expected_path, serde_json::to_string_pretty(&whole).unwrap() + "\n").unwrap();
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e} (record it with GENKIT_UPDATE_GOLDEN=1)", expected_path.display())),
    )
    .unwrap();
    assert_eq!(whole, expected, "{name}: whole body");
    for i in 0..=body.len() {
        assert_eq!(decode(&[&body[..i], &body[i..]]), expected, "{name}: split at byte {i}");
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(decode(&bytes), expected, "{name}: one byte at a time");
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => { $( #[test] fn $name() { check(stringify!($name)); } )* };
}

golden!(
    basic_text,
    tool_use,
    thinking,
    citations,
    interleaved_out_of_order,
    incomplete_partial_json,
    missing_usage,
    refusal,
    server_tools,
    pause_turn,
    caching_usage,
    error_midstream,
    cut_stream,
    rate_limited_midstream,
);

#[test]
fn every_fixture_has_a_test() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".sse").map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names.len(), 14, "{names:?}");
}
