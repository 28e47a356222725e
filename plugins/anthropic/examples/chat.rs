//! Chat, streaming, a tool call and token counting with Claude through the Genkit facade-free
//! API. Needs a key:
//!
//! ```text
//! ANTHROPIC_API_KEY=sk-ant-… cargo run -p genkit-anthropic --example chat [-- anthropic/claude-sonnet-4-5]
//! ```
//! Without a key it says so and exits successfully (nothing to show).

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_ai::{GenerateOptions, Message, ModelRequest};
use genkit_anthropic::Anthropic;
use genkit_core::Registry;
use serde_json::{Value, json};

/// The plugin (kept for the helpers) and a registry with it, or `None` without a key.
fn setup() -> genkit_core::Result<Option<(Anthropic, Registry)>> {
    if std::env::var("ANTHROPIC_API_KEY").map_or(true, |v| v.is_empty()) {
        return Ok(None);
    }
    let claude = Anthropic::new();
    let registry = Registry::new();
    registry.register_plugin(Arc::new(claude.clone()))?;
    Ok(Some((claude, registry)))
}

#[tokio::main]
async fn main() -> genkit_core::Result<()> {
    let Some((claude, registry)) = setup()? else {
        println!("Set ANTHROPIC_API_KEY to run this example.");
        return Ok(());
    };
    let model = std::env::args().nth(1).unwrap_or_else(|| "anthropic/claude-haiku-4-5".to_owned());

    let r = generate(&registry, GenerateOptions::new().model(model.as_str()).prompt("Say hello in French.")).await?;
    println!("{}", r.text());

    let mut s = generate_stream(&registry, GenerateOptions::new().model(model.as_str()).prompt("Count to five."));
    while let Some(chunk) = s.next().await {
        print!("{}", chunk?.text());
    }
    println!();

    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Current weather of a city")
            .input_schema(json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})),
        |input: Value, _cx| async move { Ok(json!({"city": input["city"], "temperature_c": 21})) },
    );
    let r =
        generate(&registry, GenerateOptions::new().model(model.as_str()).prompt("Weather in Paris?").tool(&weather))
            .await?;
    println!("{}", r.text());

    let request = ModelRequest { messages: vec![Message::user("Say hello in French.")], ..ModelRequest::default() };
    println!("input tokens: {}", claude.count_tokens(&model, &request).await?);
    Ok(())
}
