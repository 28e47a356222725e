//! Rendering a typical prompt through `ExecutablePrompt::render` (templates compiled once and
//! cached): a system template, a messages template with history, and a user template.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use genkit::{GenerateOptions, Genkit, Message, PromptConfig};
use serde_json::json;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let g = rt.block_on(Genkit::builder().no_prompt_dir().build()).unwrap();
    let prompt = g.define_prompt(
        PromptConfig::new("support")
            .model("test/echo")
            .config(json!({"temperature": 0.3}))
            .input_schema(
                json!({"type": "object", "properties": {"name": {"type": "string"}, "topic": {"type": "string"}}}),
            )
            .system("You are a support agent for {{product}}. Be concise and friendly.")
            .messages("{{role \"user\"}}My name is {{name}}.{{role \"model\"}}Hi {{name}}, how can I help?{{history}}")
            .prompt("I have a question about {{topic}}{{#if urgent}} and it is urgent{{/if}}."),
    );
    let input = json!({"name": "Ada", "topic": "billing", "product": "Genkit", "urgent": true});
    let history = vec![Message::user("Earlier question"), Message::model("Earlier answer")];
    // Warm up: resolves the prompt and compiles its templates once.
    rt.block_on(prompt.render(input.clone())).unwrap();
    c.bench_function("prompt render (system + messages with history + prompt)", |b| {
        b.to_async(&rt).iter(|| async {
            let opts = GenerateOptions::new().messages(history.clone());
            black_box(prompt.render_with(black_box(input.clone()), opts).await.unwrap())
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
