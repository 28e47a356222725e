//! A Genkit app made for the Genkit developer tools: `genkit start -- cargo run -p
//! example-devtools` shows its flows, models, tool, retriever, evaluator and prompt in the Dev
//! UI; `genkit flow:run`, `genkit eval:flow`, `genkit dev:test-model` and the trace commands
//! work against it. No API key: the models are test models.
//!
//! - `test/echo`: answers with the text of the request (`Echo: …`).
//! - `test/scripted`: a rule-based test model. It calls the first tool it is given (with
//!   input made from the tool's schema), answers JSON made from the output schema when JSON
//!   is requested, reports tool outputs once the tools answered, and otherwise echoes the
//!   conversation. It streams its answer word by word.
//!
//! The setup lives in [`build_app`] so that the integration tests can call it.

use genkit::ai::evaluator::{BaseDataPoint, DataPointRequest, EvalFnResponse, EvalStatus, Score, ScoreValue};
use genkit::ai::model::{ModelCx, ModelOptions};
use genkit::ai::retriever::{RetrieverRequest, RetrieverResponse};
use genkit::ai::{
    Constrained, Document, FinishReason, Message, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports, Part,
    Role,
};
use genkit::prelude::*;
use genkit::testing::echo_model;
use genkit::{EmbeddedPrompts, Error, EvaluatorOptions, RetrieverOptions, Status};
use serde_json::{Map, Value, json};

/// The facts the `devtools/facts` retriever searches.
pub const FACTS: [&str; 4] = [
    "Paris is the capital of France.",
    "Rust is a programming language that guarantees memory safety.",
    "Bread is baked from flour, water and yeast.",
    "The Pacific is the largest ocean on Earth.",
];

static PROMPTS: EmbeddedPrompts = genkit::embed_prompts!("prompts");

/// Builds the app: in dev mode (`GENKIT_ENV=dev`, as the Genkit CLI sets it) this also starts
/// the reflection bridge, so the tools see every action defined here.
///
/// # Errors
/// When the instance cannot be built.
pub async fn build_app() -> Result<Genkit> {
    let g = Genkit::builder().default_model("test/echo").embedded_prompts(PROMPTS).build().await?;
    g.register(echo_model("test/echo").as_action());
    g.define_model(
        ModelOptions::new("test/scripted").label("Scripted test model (rule-based)").supports(ModelSupports {
            multiturn: Some(true),
            tools: Some(true),
            system_role: Some(true),
            media: Some(false),
            output: Some(vec!["text".into(), "json".into()]),
            constrained: Some(Constrained::All),
            ..ModelSupports::default()
        }),
        scripted,
    );

    g.define_flow("hello", |name: String, _cx| async move {
        let upper = genkit::genkit_core::run("upper", None, async { Ok(name.to_uppercase()) }).await?;
        Ok(format!("Hello {upper}"))
    });

    g.define_streaming_flow("countdown", |from: u32, cx: ActionCx<u32>| async move {
        for n in (1..=from).rev() {
            cx.send_chunk(n);
        }
        Ok(format!("counted down from {from}"))
    });

    g.define_flow("failing", |_: Value, _cx| async move {
        Err::<String, _>(Error::new(Status::FailedPrecondition, "boom"))
    });

    // Runs until cancelled (the Dev UI's stop button, `POST /api/cancelAction`) or 60 s pass.
    g.define_flow("slow", |_: Value, cx| async move {
        tokio::select! {
            () = cx.cancellation().cancelled() => Err(Error::cancelled("aborted")),
            () = tokio::time::sleep(std::time::Duration::from_secs(60)) => Ok("done".to_owned()),
        }
    });

    g.define_retriever(RetrieverOptions::new("devtools/facts"), |req: RetrieverRequest, _cx| async move {
        let q = words(&req.query.text());
        let mut scored: Vec<(usize, &str)> =
            FACTS.iter().map(|f| (words(f).iter().filter(|w| q.contains(w)).count(), *f)).collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        let documents = scored.into_iter().take(1).map(|(_, f)| Document::from_text(f)).collect();
        Ok(RetrieverResponse { documents })
    });

    let g2 = g.clone();
    g.define_flow("qa", move |question: String, _cx| {
        let g = g2.clone();
        async move {
            let docs = g.retrieve(RetrieveOptions::new("devtools/facts").query(question.as_str())).await?;
            let fact = docs.first().map(Document::text).unwrap_or_default();
            let answer = g.generate(GenerateOptions::new().model("test/scripted").prompt(fact)).await?;
            Ok(answer.text())
        }
    });

    g.define_tool(
        genkit::ai::tool::ToolConfig::new("weather", "Get the weather for a city"),
        |input: WeatherInput, _cx| async move { Ok(format!("21C and sunny in {}", input.city)) },
    );

    g.define_evaluator(
        EvaluatorOptions::new(
            "devtools/grounded",
            "Grounded",
            "Whether the output uses a word (4+ letters) of the retrieved context",
        )
        .not_billed(),
        |req: DataPointRequest, _cx| async move { Ok(grounded(&req.data_point)) },
    );
    Ok(g)
}

/// Input of the `weather` tool.
#[derive(Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct WeatherInput {
    /// The city.
    pub city: String,
}

fn words(text: &str) -> Vec<String> {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 4).map(str::to_owned).collect()
}

/// PASS when the output contains a word (4+ letters) of the context; the score is the share of
/// context words found.
pub fn grounded(d: &BaseDataPoint) -> EvalFnResponse {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let context: Vec<String> = d.context.iter().flatten().flat_map(|c| words(&text(c))).collect();
    let output = d.output.as_ref().map(|o| words(&text(o))).unwrap_or_default();
    let found = context.iter().filter(|w| output.contains(w)).count();
    let score = if context.is_empty() { 0.0 } else { found as f64 / context.len() as f64 };
    EvalFnResponse::new(
        d.test_case_id.clone().unwrap_or_default(),
        Score {
            score: Some(ScoreValue::Number(score)),
            status: Some(if found > 0 { EvalStatus::Pass } else { EvalStatus::Fail }),
            ..Score::default()
        },
    )
}

/// A JSON value shaped like `schema`: strings `"sample"`, numbers 1, booleans true.
pub fn sample_from_schema(schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut m = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, s) in props {
                    m.insert(k.clone(), sample_from_schema(s));
                }
            }
            Value::Object(m)
        }
        Some("array") => json!([sample_from_schema(schema.get("items").unwrap_or(&Value::Null))]),
        Some("number" | "integer") => json!(1),
        Some("boolean") => json!(true),
        Some("null") => Value::Null,
        _ => json!("sample"),
    }
}

async fn scripted(req: ModelRequest, cx: ModelCx) -> Result<ModelResponse> {
    let answered = req.messages.iter().any(|m| m.role == Role::Tool);
    let tool = req.tools.as_ref().and_then(|t| t.first()).filter(|_| !answered);
    let part = if let Some(tool) = tool {
        let schema = tool.input_schema.clone().unwrap_or(Value::Null);
        Part::tool_request(tool.name.clone(), Some(sample_from_schema(&schema)), Some("call-1".into()))
    } else if let Some(schema) = req
        .output
        .as_ref()
        .filter(|o| o.format.as_deref() == Some("json"))
        .map(|o| o.schema.clone().map_or_else(|| json!({"type": "object"}), Value::Object))
    {
        Part::text(sample_from_schema(&schema).to_string())
    } else if answered {
        let outputs: Vec<String> = req
            .messages
            .iter()
            .filter(|m| m.role == Role::Tool)
            .flat_map(|m| m.content.iter())
            .filter_map(|p| p.tool_response.as_ref())
            .map(|r| {
                r.output.as_ref().map_or_else(String::new, |o| o.as_str().map_or_else(|| o.to_string(), str::to_owned))
            })
            .collect();
        Part::text(format!("The tool said: {}", outputs.join(", ")))
    } else {
        let said: Vec<String> = req.messages.iter().map(Message::text).filter(|t| !t.is_empty()).collect();
        Part::text(said.join("\n"))
    };
    if cx.streaming_requested() {
        let chunk = |content| ModelResponseChunk {
            role: Some(Role::Model),
            index: Some(0),
            content,
            ..ModelResponseChunk::default()
        };
        match part.text.as_deref() {
            Some(text) => {
                for piece in text.split_inclusive(' ') {
                    cx.send_chunk(chunk(vec![Part::text(piece)]));
                }
            }
            None => cx.send_chunk(chunk(vec![part.clone()])),
        }
    }
    Ok(ModelResponse {
        message: Some(Message { role: Role::Model, content: vec![part], metadata: None }),
        finish_reason: Some(FinishReason::Stop),
        ..ModelResponse::default()
    })
}
