//! Test models for running conformance without a provider: this repo's echo model and a
//! scripted "conformant" model that knows the built-in prompts and answers each the way
//! the validators expect (a fake for exercising the passing path, not evidence about any
//! real model).

use genkit_ai::model::testing::{ProgrammableModel, echo_model};
use genkit_ai::{
    Constrained, FinishReason, Message, ModelOptions, ModelRequest, ModelResponse, ModelResponseChunk, ModelSupports,
    Part, Role,
};
use genkit_core::{Registry, Result};
use serde_json::{Map, Value};

use crate::builtin::GENKIT_LOGO_PNG_BASE64;

/// The name of the echo model registered by [`register_test_models`].
pub const ECHO_MODEL: &str = "test/echo";

/// The name of the conformant model registered by [`register_test_models`].
pub const CONFORMANT_MODEL: &str = "test/conformant";

/// Registers [`ECHO_MODEL`] (`genkit_ai::model::testing::echo_model`) and
/// [`CONFORMANT_MODEL`] ([`conformant_model`]) in `registry`.
///
/// # Errors
/// A registration error (e.g. the names are taken).
pub fn register_test_models(registry: &Registry) -> Result<()> {
    registry.register_action(echo_model(ECHO_MODEL).as_action())?;
    registry.register_action(conformant_model(CONFORMANT_MODEL).action().as_action())?;
    Ok(())
}

/// A scripted model that passes every built-in test case: it calls the first tool when
/// given tools (and no tool response yet), answers JSON shaped by the output schema when
/// asked for JSON, prefixes `RESPONSE:` when there is a system message, "reads" the Genkit
/// logo and the Google logo, returns audio or an image when asked to say or draw
/// something, and otherwise repeats the conversation. When streaming, it streams the same
/// content as its final message (text in two chunks).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let registry = genkit_core::Registry::new();
/// registry.register_action(genkit_conformance::testing::conformant_model("t/ok").action().as_action()).unwrap();
/// let suite = genkit_conformance::Suite::for_model("t/ok").supports(genkit_conformance::CAPABILITIES);
/// let report = genkit_conformance::run_suites(&registry, &[suite]).await;
/// assert!(report.is_success(), "{report}");
/// # }
/// ```
pub fn conformant_model(name: &str) -> ProgrammableModel {
    let supports = ModelSupports {
        multiturn: Some(true),
        media: Some(true),
        tools: Some(true),
        system_role: Some(true),
        tool_choice: Some(true),
        output: Some(vec!["text".into(), "json".into(), "media".into()]),
        constrained: Some(Constrained::All),
        ..ModelSupports::default()
    };
    let pm = ProgrammableModel::with_options(ModelOptions::new(name).label("Conformant test model").supports(supports));
    pm.set_handler(|req, cx| {
        let content = answer(req);
        if cx.streaming_requested() {
            for part in &content {
                match part.text.as_deref() {
                    Some(t) => {
                        let mid = t.char_indices().nth(t.chars().count() / 2).map_or(t.len(), |(i, _)| i);
                        for piece in [&t[..mid], &t[mid..]] {
                            cx.send_chunk(chunk(Part::text(piece)));
                        }
                    }
                    None => cx.send_chunk(chunk(part.clone())),
                }
            }
        }
        Ok(ModelResponse {
            message: Some(Message::new(Role::Model, content)),
            finish_reason: Some(FinishReason::Stop),
            ..ModelResponse::default()
        })
    });
    pm
}

fn chunk(part: Part) -> ModelResponseChunk {
    ModelResponseChunk { role: Some(Role::Model), index: Some(0), content: vec![part], ..ModelResponseChunk::default() }
}

fn answer(req: &ModelRequest) -> Vec<Part> {
    let answered = req.messages.iter().any(|m| m.content.iter().any(|p| p.tool_response.is_some()));
    if let Some(tool) = req.tools.iter().flatten().next()
        && !answered
    {
        return vec![Part::tool_request(&tool.name, Some(serde_json::json!({"city": "New York"})), None)];
    }
    if let Some(out) = &req.output
        && (out.format.as_deref() == Some("json") || out.schema.is_some())
    {
        let v = out.schema.as_ref().map_or(Value::Object(Map::new()), |s| sample(&Value::Object(s.clone())));
        return vec![Part::text(v.to_string())];
    }
    let last = req.messages.iter().rev().find(|m| m.role == Role::User);
    let last_text = last.map(Message::text).unwrap_or_default();
    if last_text.starts_with("Say ") {
        return vec![Part::media("data:audio/wav;base64,UklGRiQAAABXQVZF", Some("audio/wav".into()))];
    }
    if last_text.contains("Generate an image") {
        return vec![Part::media(
            format!("data:image/png;base64,{}", GENKIT_LOGO_PNG_BASE64.trim()),
            Some("image/png".into()),
        )];
    }
    let mut text = String::new();
    if req.messages.iter().any(|m| m.role == Role::System) {
        text.push_str("RESPONSE: ");
    }
    let media: Vec<&str> =
        last.iter().flat_map(|m| m.content.iter()).filter_map(|p| p.media.as_ref()).map(|m| m.url.as_str()).collect();
    for url in &media {
        if url.starts_with("data:image/") {
            text.push_str("The image says Genkit. ");
        } else if url.contains("google") && !url.contains("youtube") {
            text.push_str("That is the Google logo. ");
        } else {
            text.push_str("A video. ");
        }
    }
    if media.is_empty() {
        let said: Vec<String> = req.messages.iter().filter(|m| m.role != Role::System).map(Message::text).collect();
        text.push_str(&format!("You said: {}", said.join(" ")));
    }
    vec![Part::text(text.trim_end())]
}

/// A value of a JSON schema: objects with every property, `"Genkit"` for strings, `42` for
/// numbers, `true` for booleans, one-item arrays.
fn sample(schema: &Value) -> Value {
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let props = schema.get("properties").and_then(Value::as_object);
            Value::Object(props.into_iter().flatten().map(|(k, s)| (k.clone(), sample(s))).collect())
        }
        Some("array") => Value::Array(vec![schema.get("items").map_or(Value::Null, sample)]),
        Some("string") => Value::String("Genkit".into()),
        Some("number" | "integer") => Value::from(42),
        Some("boolean") => Value::Bool(true),
        _ => Value::Null,
    }
}
