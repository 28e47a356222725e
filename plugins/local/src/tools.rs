//! Tool calls for models whose chat template has no tool format (SmolLM2's has none): the
//! tools are described in the system message, and a call is written as
//!
//! ```text
//! <tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>
//! ```
//!
//! (the format of Hermes/Qwen-style templates). Decoding is constrained so that a turn is
//! either text (never starting with `<`) or one such call whose name is one of the
//! tools and whose arguments validate against that tool's input schema; `toolChoice:
//! required` allows only calls, `none` only text.

use genkit_ai::{Message, Part, Role, ToolChoice, ToolDefinition};
use genkit_core::{Error, Result};
use llguidance::api::{GrammarWithLexer, TopLevelGrammar};
use serde_json::{Value, json};

use crate::constrain::{Body, lark_string};

/// Opens a tool call.
pub(crate) const OPEN: &str = "<tool_call>";
/// Closes a tool call.
pub(crate) const CLOSE: &str = "</tool_call>";

/// The tools of one request and how they may be used.
#[derive(Debug, Clone)]
pub(crate) struct ToolPlan {
    pub(crate) tools: Vec<ToolDefinition>,
    pub(crate) choice: ToolChoice,
}

impl ToolPlan {
    /// The plan of a request: `None` without tools or with `toolChoice: none`.
    pub(crate) fn of(tools: Option<&Vec<ToolDefinition>>, choice: Option<ToolChoice>) -> Option<ToolPlan> {
        let tools = tools.filter(|t| !t.is_empty())?;
        let choice = choice.unwrap_or(ToolChoice::Auto);
        (choice != ToolChoice::None).then(|| ToolPlan { tools: tools.clone(), choice })
    }

    /// The system text that tells the model about the tools (the wording of Hermes-style
    /// function-calling prompts, which small instruct models have seen in training).
    pub(crate) fn instructions(&self) -> String {
        let mut s = String::from(
            "You are a function calling AI model. You are provided with function signatures within <tools></tools> \
             XML tags. You may call a function to assist with the user query. Don't make assumptions \
             about what values to plug into functions. Here are the available tools:\n<tools>\n",
        );
        for t in &self.tools {
            let d = json!({"name": t.name, "description": t.description, "parameters": input_schema(t)});
            s.push_str(&crate::constrain::spaced_json(&d));
            s.push('\n');
        }
        s.push_str("</tools>\nTo call a function, return a JSON object with the function name and arguments within ");
        s.push_str("<tool_call></tool_call> XML tags:\n");
        s.push_str(OPEN);
        s.push_str(r#"{"name": <function-name>, "arguments": <args-json-object>}"#);
        s.push_str(CLOSE);
        if self.choice == ToolChoice::Required {
            s.push_str("\nAlways call a function.");
        }
        s
    }

    /// The grammar of a turn: tool calls, or (unless a call is required) `body`.
    pub(crate) fn grammar(&self, body: &Body) -> TopLevelGrammar {
        let calls: Vec<Value> = self
            .tools
            .iter()
            .map(|t| {
                json!({
                    "type": "object",
                    "properties": {"name": {"const": t.name}, "arguments": input_schema(t)},
                    "required": ["name", "arguments"],
                    "additionalProperties": false
                })
            })
            .collect();
        let schema = json!({
            "anyOf": calls,
            "x-guidance": {"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": ",
                           "coerce_one_of": true, "lenient": true}
        });
        let call = format!(
            "call: {} %json {} {}\n",
            lark_string(OPEN),
            serde_json::to_string(&schema).unwrap_or_else(|_| "{}".into()),
            lark_string(CLOSE)
        );
        // One call per turn: small models asked for "one or more" repeat the call endlessly;
        // the tool loop gives them another turn for the next call.
        let calls = "calls: call\n";
        let mut grammars = Vec::new();
        let start = match (self.choice, body) {
            (ToolChoice::Required, _) => "start: calls\n".to_owned(),
            // Text that does not start like a tool call.
            (_, Body::Text) => "start: calls | TEXT\nTEXT: /[^<](?s:.)*/\n".to_owned(),
            (_, b) => {
                if let Some(g) = b.grammar("body") {
                    grammars.push(g);
                }
                "start: calls | @body\n".to_owned()
            }
        };
        grammars.insert(0, GrammarWithLexer::from_lark(format!("{start}{calls}{call}")));
        TopLevelGrammar { grammars, max_tokens: None }
    }
}

fn input_schema(t: &ToolDefinition) -> Value {
    let mut s = t.input_schema.clone().filter(Value::is_object).unwrap_or_else(|| json!({"type": "object"}));
    // `$schema` and `additionalProperties: true` add nothing for the model and the grammar.
    if let Value::Object(m) = &mut s {
        m.remove("$schema");
    }
    s
}

/// A call as the model writes it.
pub(crate) fn render_call(name: &str, input: Option<&Value>) -> String {
    let body = json!({"name": name, "arguments": input.cloned().unwrap_or_else(|| json!({}))});
    format!("{OPEN}{}{CLOSE}", crate::constrain::spaced_json(&body))
}

/// Parses one call (the text between the tags) into a `toolRequest` part.
pub(crate) fn parse_call(inner: &str, index: usize) -> Result<Part> {
    let v: Value = serde_json::from_str(inner.trim())
        .map_err(|e| Error::internal(format!("the model wrote a malformed tool call ({e}): {inner}")))?;
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::internal(format!("the model wrote a tool call without a name: {inner}")))?;
    let args = v.get("arguments").cloned().unwrap_or_else(|| json!({}));
    Ok(Part::tool_request(name, Some(args), Some(format!("call_{index}"))))
}

/// Collects completed calls from streamed text: each `<tool_call>…</tool_call>` once closed.
#[derive(Debug, Default)]
pub(crate) struct CallScanner {
    buf: String,
    pub(crate) parts: Vec<Part>,
}

impl CallScanner {
    /// Adds text; returns the calls it completes.
    pub(crate) fn push(&mut self, text: &str) -> Result<Vec<Part>> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        while let Some(end) = self.buf.find(CLOSE) {
            let start = self.buf.find(OPEN).map_or(0, |s| s + OPEN.len());
            let inner = self.buf.get(start..end).unwrap_or_default().to_owned();
            self.buf.drain(..end + CLOSE.len());
            let part = parse_call(&inner, self.parts.len())?;
            self.parts.push(part.clone());
            out.push(part);
        }
        Ok(out)
    }
}

/// Messages as the template sees them: the tool instructions added to the system message
/// (or as a first system message).
pub(crate) fn with_instructions(messages: &[Message], plan: Option<&ToolPlan>) -> Vec<Message> {
    let mut out = messages.to_vec();
    let Some(plan) = plan else { return out };
    let text = plan.instructions();
    match out.iter_mut().find(|m| m.role == Role::System) {
        Some(sys) => {
            sys.content.push(Part::text(format!("\n\n{text}")));
        }
        None => out.insert(0, Message::system(text)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weather() -> ToolDefinition {
        ToolDefinition {
            name: "weather".into(),
            key: None,
            description: "Weather in a city".into(),
            input_schema: Some(
                json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
            ),
            output_schema: None,
            metadata: None,
        }
    }

    #[test]
    fn plan_honours_tool_choice() {
        let tools = vec![weather()];
        assert!(ToolPlan::of(Some(&tools), Some(ToolChoice::None)).is_none());
        assert!(ToolPlan::of(Some(&vec![]), None).is_none());
        assert_eq!(ToolPlan::of(Some(&tools), None).unwrap().choice, ToolChoice::Auto);
    }

    #[test]
    fn calls_round_trip_through_the_scanner() {
        let text = render_call("weather", Some(&json!({"city": "Paris"})));
        let mut s = CallScanner::default();
        let (a, b) = text.split_at(7);
        assert!(s.push(a).unwrap().is_empty());
        let parts = s.push(b).unwrap();
        let tr = parts[0].tool_request.as_ref().unwrap();
        assert_eq!(tr.name, "weather");
        assert_eq!(tr.input, Some(json!({"city": "Paris"})));
        assert_eq!(tr.reference.as_deref(), Some("call_0"));
    }

    #[test]
    fn instructions_go_into_the_system_message() {
        let plan = ToolPlan::of(Some(&vec![weather()]), Some(ToolChoice::Required)).unwrap();
        let m = with_instructions(&[Message::user("hi")], Some(&plan));
        assert_eq!(m[0].role, Role::System);
        assert!(m[0].text().contains("\"name\": \"weather\""), "{}", m[0].text());
        assert!(m[0].text().contains("Always call a function"));
    }
}
