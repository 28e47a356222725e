//! `generate` examples that run without an API key, on small scripted models that behave
//! like a real model would for each scenario. Each example is a function returning the
//! lines it prints, so tests can check them; the binaries in `src/bin` print them.
//!
//! ```text
//! cargo run -p example-generate --bin tools
//! cargo run -p example-generate --bin interrupts
//! cargo run -p example-generate --bin structured
//! cargo run -p example-generate --bin streaming
//! ```

use genkit::ai::tool::{RestartOptions, ToolCx};
use genkit::prelude::*;
use genkit::{
    FinishReason, ModelOptions, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports, ResumeOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn reply(text: impl Into<String>) -> ModelResponse {
    ModelResponse { message: Some(Message::model(text)), finish_reason: Some(FinishReason::Stop), ..Default::default() }
}

/// A model that calls the first tool it is given with the user's text as `city`, then
/// answers with what the tool returned — the shape of a real tool-calling turn.
fn define_tool_caller(g: &Genkit) {
    let supports = ModelSupports { tools: Some(true), multiturn: Some(true), ..Default::default() };
    g.define_model(ModelOptions::new("demo/tool-caller").supports(supports), |req: ModelRequest, _cx| async move {
        let last = req.messages.last().cloned().unwrap_or_else(|| Message::user(""));
        if last.role == Role::Tool {
            let outputs: Vec<String> = last
                .content
                .iter()
                .filter_map(|p| p.tool_response.as_ref())
                .map(|r| r.output.as_ref().map(|o| o.to_string()).unwrap_or_default())
                .collect();
            return Ok(reply(format!("The tool said: {}", outputs.join(", "))));
        }
        let Some(tool) = req.tools.as_ref().and_then(|t| t.first()) else { return Ok(reply("No tools, no answer.")) };
        let call = Part::tool_request(tool.name.clone(), Some(json!({"city": last.text()})), Some("call-1".into()));
        Ok(ModelResponse { message: Some(Message::new(Role::Model, vec![call])), ..Default::default() })
    });
}

/// Input of the `weather` tool.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WeatherQuery {
    /// The city.
    pub city: String,
}

/// A model calls a typed tool; the tool loop runs it and feeds the result back.
///
/// # Errors
/// When generation fails.
pub async fn tools_example() -> Result<Vec<String>> {
    let g = Genkit::builder().build().await?;
    define_tool_caller(&g);
    let weather = g
        .define_tool(ToolConfig::new("weather", "Current weather in a city"), |q: WeatherQuery, _cx| async move {
            Ok(format!("sunny in {}", q.city))
        });
    let resp = g.generate(GenerateOptions::new().model("demo/tool-caller").prompt("Paris").tool(&weather)).await?;
    let mut out = vec![format!("answer: {}", resp.text())];
    for m in resp.messages()? {
        out.push(format!("  {:?}: {}", m.role, serde_json::to_string(&m.content).unwrap_or_default()));
    }
    Ok(out)
}

/// Input of the `transfer` tool.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transfer {
    /// Amount in cents.
    pub cents: u64,
    /// Recipient.
    pub city: String,
}

/// A tool interrupts to ask for confirmation; the app resumes with a restart carrying the
/// user's approval.
///
/// # Errors
/// When generation fails.
pub async fn interrupts_example() -> Result<Vec<String>> {
    let g = Genkit::builder().build().await?;
    define_tool_caller(&g);
    let pay = g.define_tool(ToolConfig::new("pay", "Sends money"), |t: serde_json::Value, cx: ToolCx| async move {
        match cx.resumed() {
            Some(r) if r["approved"] == true => Ok(format!("sent to {}", t["city"].as_str().unwrap_or("?"))),
            _ => Err(cx.interrupt(json!({"question": "Send the money?"}))),
        }
    });
    let resp = g.generate(GenerateOptions::new().model("demo/tool-caller").prompt("Lyon").tool(&pay)).await?;
    let mut out = vec![format!("finish reason: {:?}", resp.finish_reason)];
    let interrupt = resp.interrupts()[0].clone();
    out.push(format!("interrupt metadata: {}", interrupt.metadata_value("interrupt").cloned().unwrap_or_default()));

    // The user approves: restart the tool call with `resumed` metadata.
    let restart = pay.restart(&interrupt, RestartOptions::new().resumed(json!({"approved": true})))?;
    let resp = g
        .generate(
            GenerateOptions::new()
                .model("demo/tool-caller")
                .messages(resp.messages()?)
                .tool(&pay)
                .resume(ResumeOptions { restart: vec![restart], ..Default::default() }),
        )
        .await?;
    out.push(format!("after approval: {}", resp.text()));
    Ok(out)
}

/// What the structured-output example extracts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Person {
    /// Name.
    pub name: String,
    /// Age in years.
    pub age: u32,
    /// Interests.
    pub tags: Vec<String>,
}

/// Typed structured output: the request carries `Person`'s JSON schema, the model's JSON is
/// extracted (fences and prose tolerated), validated and deserialized.
///
/// # Errors
/// When generation fails.
pub async fn structured_example() -> Result<Vec<String>> {
    let g = Genkit::builder().build().await?;
    // The model has no native JSON mode, so Genkit appends JSON-schema instructions to the
    // prompt; this scripted model answers the way a chatty model would.
    g.define_model(ModelOptions::new("demo/json"), |_req: ModelRequest, _cx| async move {
        Ok(reply("Sure! ```json\n{\"name\": \"Ada\", \"age\": 36, \"tags\": [\"math\", \"engines\"]}\n```"))
    });
    let ada: Person =
        g.generate_data(GenerateOptions::new().model("demo/json").prompt("Describe Ada Lovelace.")).await?;
    Ok(vec![format!("{ada:?}")])
}

/// Streaming: chunks arrive as the model produces them, then the full response.
///
/// # Errors
/// When generation fails.
pub async fn streaming_example() -> Result<Vec<String>> {
    let g = Genkit::builder().build().await?;
    g.define_model(ModelOptions::new("demo/stream"), |_req: ModelRequest, cx| async move {
        let words = ["Streaming ", "one ", "word ", "at ", "a ", "time."];
        for w in words {
            cx.send_chunk(ModelResponseChunk { content: vec![Part::text(w)], ..Default::default() });
        }
        Ok(reply(words.concat()))
    });
    let mut stream = g.generate_stream(GenerateOptions::new().model("demo/stream").prompt("Go"));
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let c = chunk?;
        out.push(format!("chunk {} ({:?}): {:?}", c.index.unwrap_or(0), c.role.unwrap_or(Role::Model), c.text()));
    }
    out.push(format!("final: {}", stream.output().await?.text()));

    // Structured streaming: with the `array` format each chunk's `output()` holds the items
    // completed in that chunk, so a UI can show them as they arrive.
    g.define_model(ModelOptions::new("demo/planets"), |_req: ModelRequest, cx| async move {
        let pieces = ["[{\"name\": \"Mercury\"}, {\"na", "me\": \"Venus\"}, ", "{\"name\": \"Earth\"}]"];
        for p in pieces {
            cx.send_chunk(ModelResponseChunk { content: vec![Part::text(p)], ..Default::default() });
        }
        Ok(reply(pieces.concat()))
    });
    let schema = serde_json::json!({"type": "array", "items": {"type": "object"}});
    let opts = GenerateOptions::new()
        .model("demo/planets")
        .prompt("Three planets")
        .output(genkit::ai::OutputOptions::format("array").with_schema(schema));
    let mut stream = g.generate_stream(opts);
    while let Some(chunk) = stream.next().await {
        let c = chunk?;
        let items = c.output().unwrap_or_default();
        out.push(format!("new items: {items} ({} characters so far)", c.accumulated_text()?.len()));
    }
    out.push(format!("all items: {}", stream.output().await?.output().unwrap_or_default()));
    Ok(out)
}
