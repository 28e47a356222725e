//! The Genkit JS micro benchmarks (`micro.mjs`, run by `scripts/bench-vs-js`) on Genkit for
//! Rust: the same four in-process fake models, the same `lookup` tool, the same operations and
//! sanity checks. `main.rs` times them; `benches/pieces.rs` reuses them with criterion.
#![deny(unsafe_code)]

use genkit::ai::ModelCx;
use genkit::prelude::*;
use genkit::{FinishReason, ModelOptions, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports};
use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Text of `fake/text`.
pub const FIXED_TEXT: &str = "Hello from the fake model.";
/// Number of chunks `fake/stream` sends.
pub const STREAM_CHUNKS: usize = 200;
/// Text of `fake/json`.
pub const JSON_TEXT: &str = r#"{"name":"Ada","age":36,"tags":["math","engines"]}"#;

/// The structured output type (zod `Person` in JS). Its JSON schema is the one Genkit JS
/// derives from the zod object (`tests::schemas_match_genkit_js` checks it), so the same
/// schema text reaches the model and the validator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// Name.
    pub name: String,
    /// Age (a JSON number).
    pub age: f64,
    /// Tags.
    pub tags: Vec<String>,
}

impl JsonSchema for Person {
    fn schema_name() -> Cow<'static, str> {
        "Person".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "number"},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["name", "age", "tags"],
            "additionalProperties": true
        })
    }
}

/// Input of the `lookup` tool (zod `z.object({q: z.string()})` in JS, same schema).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LookupInput {
    /// The query.
    pub q: String,
}

impl JsonSchema for LookupInput {
    fn schema_name() -> Cow<'static, str> {
        "LookupInput".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "properties": {"q": {"type": "string"}},
            "required": ["q"],
            "additionalProperties": true
        })
    }
}

/// One of the four micro workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `generate({model: 'fake/text', prompt})`.
    GenerateTurn,
    /// `generate` with the `lookup` tool: 2 model turns + 1 tool call.
    ToolLoop,
    /// `generateStream` of 200 chunks consumed to the end, reported per chunk.
    Stream200,
    /// `generate` with an output schema, reading `.output`.
    StructuredOutput,
}

impl Workload {
    /// All workloads, in the order micro.mjs lists them.
    pub const ALL: [Workload; 4] =
        [Workload::GenerateTurn, Workload::ToolLoop, Workload::Stream200, Workload::StructuredOutput];

    /// Parses a workload name (`generate_turn`, `tool_loop`, `stream_200`, `structured_output`).
    pub fn parse(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The workload's name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::GenerateTurn => "generate_turn",
            Workload::ToolLoop => "tool_loop",
            Workload::Stream200 => "stream_200",
            Workload::StructuredOutput => "structured_output",
        }
    }

    /// Default `(n, warmup)`, as in micro.mjs.
    pub fn defaults(self) -> (usize, usize) {
        match self {
            Workload::Stream200 => (1000, 100),
            _ => (20000, 2000),
        }
    }

    /// What one sample is divided by (chunks per stream for `stream_200`).
    pub fn divisor(self) -> f64 {
        if self == Workload::Stream200 { STREAM_CHUNKS as f64 } else { 1.0 }
    }

    /// The unit of the reported figures.
    pub fn unit(self) -> &'static str {
        if self == Workload::Stream200 { "us/chunk" } else { "us/call" }
    }
}

fn reply(text: impl Into<String>) -> ModelResponse {
    ModelResponse {
        message: Some(Message::model(text)),
        finish_reason: Some(FinishReason::Stop),
        ..ModelResponse::default()
    }
}

/// `tool_loop`'s model: answers the tool's output once the last message is a tool response,
/// else requests `lookup({q: 'x'})`.
fn tool_model_reply(req: &ModelRequest) -> ModelResponse {
    if let Some(last) = req.messages.last()
        && last.role == Role::Tool
    {
        let out = last.content.first().and_then(|p| p.tool_response.as_ref()).and_then(|r| r.output.as_ref());
        let out = match out {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => "undefined".to_owned(),
        };
        return reply(format!("tool said: {out}"));
    }
    let request = Part::tool_request("lookup", Some(json!({"q": "x"})), Some("1".to_owned()));
    ModelResponse {
        message: Some(Message::new(Role::Model, vec![request])),
        finish_reason: Some(FinishReason::Stop),
        ..ModelResponse::default()
    }
}

/// A Genkit instance with the fake models `fake/text`, `fake/tool`, `fake/stream`,
/// `fake/json` and the tool `lookup` (JS `setup()`, minus the flows).
///
/// # Errors
/// When the instance cannot be built.
pub async fn setup() -> Result<Genkit> {
    let g = Genkit::builder().build().await?;

    g.define_model(ModelOptions::new("fake/text"), |_req, _cx| async move { Ok(reply(FIXED_TEXT)) });

    let tools = ModelSupports { tools: Some(true), multiturn: Some(true), ..ModelSupports::default() };
    g.define_model(ModelOptions::new("fake/tool").supports(tools), |req: ModelRequest, _cx| async move {
        Ok(tool_model_reply(&req))
    });

    g.define_model(ModelOptions::new("fake/stream"), |_req, cx: ModelCx| async move {
        for _ in 0..STREAM_CHUNKS {
            cx.send_chunk(ModelResponseChunk { content: vec![Part::text("t")], ..ModelResponseChunk::default() });
        }
        Ok(reply("t".repeat(STREAM_CHUNKS)))
    });

    // No constrained/JSON support declared: the default json format path runs (instructions
    // injected, text parsed, schema-validated).
    g.define_model(ModelOptions::new("fake/json"), |_req, _cx| async move { Ok(reply(JSON_TEXT)) });

    g.define_tool(ToolConfig::new("lookup", "look something up"), |input: LookupInput, _cx| async move {
        Ok(format!("result for {}", input.q))
    });
    Ok(g)
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<()> {
    if cond { Ok(()) } else { Err(Error::internal(format!("sanity check failed: {}", what()))) }
}

/// One unit of `workload` on `g`, with micro.mjs's sanity checks.
///
/// # Errors
/// The generate error, or `INTERNAL` `sanity check failed: …`.
pub async fn run_op(g: &Genkit, workload: Workload) -> Result<()> {
    match workload {
        Workload::GenerateTurn => {
            let r = g.generate(GenerateOptions::new().model("fake/text").prompt("Say hello.")).await?;
            check(r.text() == FIXED_TEXT, || "text".into())
        }
        Workload::ToolLoop => {
            let opts = GenerateOptions::new().model("fake/tool").prompt("Use the tool.").tool("lookup");
            let r = g.generate(opts).await?;
            let text = r.text();
            check(text == "tool said: result for x", || format!("tool text: {text}"))?;
            let n = r.messages()?.len();
            check(n == 4, || format!("messages: {n}"))
        }
        Workload::Stream200 => {
            let mut stream = g.generate_stream(GenerateOptions::new().model("fake/stream").prompt("Stream please."));
            let mut chunks = 0;
            while let Some(c) = stream.next().await {
                c?;
                chunks += 1;
            }
            let r = stream.output().await?;
            check(chunks == STREAM_CHUNKS, || format!("chunks: {chunks}"))?;
            check(r.text().len() == STREAM_CHUNKS, || "stream text".into())
        }
        Workload::StructuredOutput => {
            let opts = GenerateOptions::new().model("fake/json").prompt("Describe Ada.").output_type::<Person>();
            let r = g.generate(opts).await?;
            let o = r.output();
            let ok = o.as_ref().is_some_and(|o| {
                o["name"] == "Ada"
                    && o["age"].as_f64() == Some(36.0)
                    && o["tags"].as_array().is_some_and(|t| t.len() == 2)
            });
            check(ok, || format!("output: {o:?}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schemas Genkit JS 1.42 derives from micro.mjs's zod types (printed by
    /// `toJsonSchema` in `@genkit-ai/core/schema`).
    #[test]
    fn schemas_match_genkit_js() {
        let person = r#"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","tags"],"additionalProperties":true,"$schema":"http://json-schema.org/draft-07/schema#"}"#;
        let lookup = r#"{"type":"object","properties":{"q":{"type":"string"}},"required":["q"],"additionalProperties":true,"$schema":"http://json-schema.org/draft-07/schema#"}"#;
        let js = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(genkit::genkit_core::schema_for::<Person>(), js(person));
        assert_eq!(genkit::genkit_core::schema_for::<LookupInput>(), js(lookup));
    }
}
