//! Chat, streaming and a tool call against a live provider. Needs a key:
//!
//! ```text
//! OPENAI_API_KEY=sk-… cargo run -p genkit-openai-compat --example chat
//! DEEPSEEK_API_KEY=… cargo run -p genkit-openai-compat --example chat -- deepseek/deepseek-chat
//! XAI_API_KEY=… cargo run -p genkit-openai-compat --example chat -- xai/grok-3-mini
//! OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=x cargo run -p genkit-openai-compat --example chat -- openai/<model>
//! ```
//! Without any key it says so and exits successfully (nothing to show).

use std::sync::Arc;

use futures::StreamExt;
use genkit_ai::GenerateOptions;
use genkit_ai::generate::{generate, generate_stream};
use genkit_ai::tool::{self, Tool, ToolConfig};
use genkit_core::Registry;
use genkit_openai_compat::OpenAiCompat;
use serde_json::{Value, json};

/// Registers every provider whose key is set; returns the registry and a default model.
fn setup() -> genkit_core::Result<Option<(Registry, String)>> {
    let registry = Registry::new();
    let mut default = None;
    for (var, plugin, model) in [
        ("OPENAI_API_KEY", OpenAiCompat::openai(), "openai/gpt-4o-mini"),
        ("DEEPSEEK_API_KEY", OpenAiCompat::deepseek(), "deepseek/deepseek-chat"),
        ("XAI_API_KEY", OpenAiCompat::xai(), "xai/grok-3-mini"),
    ] {
        if std::env::var(var).is_ok_and(|v| !v.is_empty()) {
            registry.register_plugin(Arc::new(plugin))?;
            default.get_or_insert(model.to_owned());
        }
    }
    Ok(default.map(|m| (registry, m)))
}

#[tokio::main]
async fn main() -> genkit_core::Result<()> {
    let Some((registry, default)) = setup()? else {
        eprintln!("Set OPENAI_API_KEY, DEEPSEEK_API_KEY or XAI_API_KEY to run this example.");
        return Ok(());
    };
    let model = std::env::args().nth(1).unwrap_or(default);

    let r =
        generate(&registry, GenerateOptions::new().model(model.as_str()).prompt("Say hello in five words.")).await?;
    println!("plain: {}\n  usage: {:?}", r.text(), r.usage);

    let mut s = generate_stream(&registry, GenerateOptions::new().model(model.as_str()).prompt("Count from 1 to 10."));
    print!("streamed: ");
    while let Some(chunk) = s.next().await {
        print!("{}", chunk?.text());
    }
    println!();
    s.output().await?;

    let weather: Tool<Value, Value> = tool::dynamic(
        ToolConfig::new("get_weather", "Current weather of a city").input_schema(json!({
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]
        })),
        |input: Value, _cx| async move { Ok(json!({"city": input["city"], "temperature_c": 21, "sky": "clear"})) },
    );
    let r = generate(
        &registry,
        GenerateOptions::new().model(model.as_str()).prompt("What's the weather in Paris?").tool(&weather),
    )
    .await?;
    println!("with a tool: {}", r.text());
    Ok(())
}
