//! Claude through the Genkit facade: `cargo run -p example-provider --bin claude`.
//!
//! Needs `ANTHROPIC_API_KEY` (or `ANTHROPIC_BASE_URL` naming a compatible server such as
//! llm-katan's echo backend, which accepts any key). Without either it says so and exits.

use genkit::anthropic::Anthropic;
use genkit::prelude::*;

#[tokio::main]
async fn main() -> genkit::Result<()> {
    let has = |v: &str| std::env::var(v).is_ok_and(|s| !s.is_empty());
    if !has("ANTHROPIC_API_KEY") && !has("ANTHROPIC_BASE_URL") {
        println!("Set ANTHROPIC_API_KEY (or ANTHROPIC_BASE_URL) to run this example.");
        return Ok(());
    }
    let model = std::env::args().nth(1).unwrap_or_else(|| "anthropic/claude-haiku-4-5".to_owned());
    let g = Genkit::builder().plugin(Anthropic::new()).build().await?;
    let answer = g.generate(GenerateOptions::new().model(model.as_str()).prompt("Why is the sky blue?")).await?;
    println!("{}", answer.text());
    let mut stream = g.generate_stream(GenerateOptions::new().model(model.as_str()).prompt("Count to five."));
    while let Some(chunk) = stream.next().await {
        print!("{}", chunk?.text());
    }
    println!();
    Ok(())
}
