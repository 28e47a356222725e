//! Gemini through the Genkit facade (`genkit::google_genai`):
//! `cargo run -p example-provider --bin gemini -- [--base-url URL] [--key-in-query] [MODEL]`.
//!
//! Needs `GEMINI_API_KEY` (or `GOOGLE_API_KEY`), or a base URL naming a Gemini-compatible
//! server (`--base-url` or `GOOGLE_GENAI_BASE_URL`, e.g. llm-katan's echo server, which needs no
//! real key but takes it only as `?key=`: add `--key-in-query` or
//! `GOOGLE_GENAI_KEY_TRANSPORT=query`). Without a key or a base URL it says what to set and
//! exits with success (nothing to run); a bad argument exits with status 2, a failed call
//! with status 1 and Genkit's error. The model defaults to `googleai/gemini-2.5-flash`.

use std::process::ExitCode;

use genkit::google_genai::{GoogleAi, KeyTransport};
use genkit::prelude::*;

const USAGE: &str = "usage: gemini [--base-url URL] [--key-in-query] [MODEL]";

/// The command line and environment, read once.
struct Args {
    base_url: Option<String>,
    key_in_query: bool,
    model: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        base_url: env("GOOGLE_GENAI_BASE_URL"),
        key_in_query: env("GOOGLE_GENAI_KEY_TRANSPORT").is_some_and(|v| v.eq_ignore_ascii_case("query")),
        model: "googleai/gemini-2.5-flash".to_owned(),
    };
    let mut it = std::env::args().skip(1);
    let mut model = None;
    while let Some(a) = it.next() {
        match a.as_str() {
            "--base-url" => args.base_url = Some(it.next().ok_or("--base-url needs a URL")?),
            "--key-in-query" => args.key_in_query = true,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s if model.is_none() => model = Some(s.to_owned()),
            s => return Err(format!("unexpected argument {s}")),
        }
    }
    if let Some(m) = model {
        // A bare id is a Gemini API model.
        args.model = if m.contains('/') { m } else { format!("googleai/{m}") };
    }
    Ok(args)
}

async fn run(args: Args) -> genkit::Result<()> {
    let mut plugin = GoogleAi::new();
    if let Some(url) = &args.base_url {
        plugin = plugin.base_url(url.as_str()).list_remote_models(false);
    }
    if args.key_in_query {
        plugin = plugin.key_transport(KeyTransport::Query);
    }
    let g = Genkit::builder().plugin(plugin).build().await?;
    let model = args.model.as_str();
    let answer = g.generate(GenerateOptions::new().model(model).prompt("Why is the sky blue?")).await?;
    println!("{}", answer.text());
    let mut stream = g.generate_stream(GenerateOptions::new().model(model).prompt("Count to five."));
    while let Some(chunk) = stream.next().await {
        print!("{}", chunk?.text());
    }
    println!();
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gemini: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let has_key = genkit::google_genai::API_KEY_ENV.iter().any(|v| env(v).is_some());
    if !has_key && args.base_url.is_none() {
        println!(
            "Set GEMINI_API_KEY (or GOOGLE_API_KEY) to run this example, or point it at a Gemini-compatible \
             server with --base-url URL (or GOOGLE_GENAI_BASE_URL), e.g. llm-katan with --key-in-query."
        );
        return ExitCode::SUCCESS;
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gemini: {e}");
            ExitCode::FAILURE
        }
    }
}
