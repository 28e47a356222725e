//! Rendering a typical prompt (frontmatter with input schema and config; template with role, history, json, if
//! and each) from a cached compile, and from source for comparison.
//! Run with `cargo bench --bench render`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dotprompt::{DataArgument, Dotprompt, Message, Part, Role};
use serde_json::json;

const SOURCE: &str = r#"---
model: googleai/gemini-2.5-flash
config:
  temperature: 0.4
  maxOutputTokens: 512
input:
  schema:
    customer: string, the customer's name
    tier?(enum, loyalty tier): [gold, silver, bronze]
    orders(array, recent orders):
      id: string
      total: number
      items(array): string
    question: string
output:
  format: json
  schema:
    answer: string
    followUp?: boolean
---
{{role "system"}}
You are a support agent for ACME. Be concise and friendly.
{{#if tier}}The customer has {{tier}} status; offer priority handling.{{/if}}
Known context (JSON): {{json orders indent=2}}
{{history}}
{{role "user"}}
Hi, I'm {{customer}}.
{{#each orders}}
- Order {{id}} ({{total}} USD): {{#each items}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}
{{/each}}
{{question}}
"#;

fn data() -> DataArgument {
    DataArgument::new()
        .input(json!({
            "customer": "Ada Lovelace",
            "tier": "gold",
            "orders": [
                {"id": "A-1001", "total": 42.5, "items": ["analytical engine manual", "punch cards"]},
                {"id": "A-1002", "total": 7, "items": ["brass gear"]},
                {"id": "A-1003", "total": 129.99, "items": ["difference engine kit", "oil", "gloves"]}
            ],
            "question": "Where is my last order?"
        }))
        .messages(vec![
            Message::new(Role::User, vec![Part::text("Hello!")]),
            Message::new(Role::Model, vec![Part::text("Hi! How can I help you today?")]),
        ])
        .context_value("auth", json!({"uid": "u-123"}))
}

fn bench(c: &mut Criterion) {
    let dp = Dotprompt::default();
    let compiled = dp.compile(SOURCE).expect("prompt compiles");
    let data = data();
    let rendered = compiled.render(&data, None).expect("prompt renders");
    assert_eq!(rendered.messages.len(), 4);

    c.bench_function("render_compiled", |b| b.iter(|| compiled.render(black_box(&data), None).expect("renders")));
    c.bench_function("render_from_source", |b| {
        b.iter(|| dp.render(black_box(SOURCE), black_box(&data), None).expect("renders"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
