//! The pieces of the generate path, one by one: building the wire request, partial JSON
//! parsing, chunk assembly of a 200-chunk stream, and a whole generate turn.

use std::hint::black_box;

use bench_micro::{Workload, run_op, setup};
use criterion::{Criterion, criterion_group, criterion_main};
use genkit::GenerateOptions;
use genkit::ai::extract::{extract_json, parse_partial_json};
use genkit::ai::generate::to_generate_action_options;
use serde_json::json;

/// A ~300-byte JSON object, as a model would stream it.
const DOC: &str = r#"{"name":"Ada Lovelace","born":1815,"died":1852,"fields":["mathematics","computing","poetry of science"],"knownFor":{"work":"Notes on the Analytical Engine","year":1843,"collaborator":"Charles Babbage"},"quote":"That brain of mine is something more than merely mortal; as time will show.","tags":["math","engines"]}"#;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let g = rt.block_on(setup()).unwrap();

    // (a) options -> wire request: system + prompt + 1 tool + config.
    let opts = GenerateOptions::new()
        .model("fake/text")
        .system("You are a terse assistant.")
        .prompt("Say hello.")
        .tool("lookup")
        .config(json!({"temperature": 0.2, "maxOutputTokens": 256}));
    c.bench_function("to_generate_action_options (system+prompt+tool+config)", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(to_generate_action_options(g.registry(), black_box(&opts)).await.unwrap()) });
    });

    // (b) partial JSON: the document cut in the middle, and complete inside a markdown fence.
    assert!((280..=340).contains(&DOC.len()), "DOC is {} bytes", DOC.len());
    let half = &DOC[..DOC.len() / 2];
    assert!(parse_partial_json(half).is_some());
    let fenced = format!("Here you go:\n```json\n{DOC}\n```\n");
    assert_eq!(extract_json(&fenced), serde_json::from_str(DOC).ok());
    c.bench_function("parse_partial_json (300 B doc cut at half)", |b| {
        b.iter(|| black_box(parse_partial_json(black_box(half))));
    });
    c.bench_function("extract_json (300 B doc cut at half)", |b| b.iter(|| black_box(extract_json(black_box(half)))));
    c.bench_function("extract_json (300 B doc, complete, in a md fence)", |b| {
        b.iter(|| black_box(extract_json(black_box(&fenced))));
    });
    c.bench_function("reference: serde_json::from_str (300 B doc, complete)", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(DOC)).unwrap()));
    });

    // (c) chunk assembly: one generate_stream of fake/stream (200 chunks) consumed to the end.
    c.bench_function("generate_stream 200 chunks consumed (per run)", |b| {
        b.to_async(&rt).iter(|| async { run_op(&g, Workload::Stream200).await.unwrap() });
    });

    // (d) a whole generate turn (= generate_turn).
    c.bench_function("generate turn (fake/text)", |b| {
        b.to_async(&rt).iter(|| async { run_op(&g, Workload::GenerateTurn).await.unwrap() });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
