//! Reading the fields of a data point: presence checks with the JS messages, and the text
//! the judge prompts show for inputs, outputs and context items.

use genkit_ai::evaluator::BaseDataPoint;
use genkit_core::{Error, Result};
use serde_json::Value;

/// A field that is absent or `null` is not provided.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// The output, or `INVALID_ARGUMENT` `Output was not provided`.
pub(crate) fn output(d: &BaseDataPoint) -> Result<&Value> {
    present(d.output.as_ref()).ok_or_else(|| Error::invalid_argument("Output was not provided"))
}

/// The input, or `INVALID_ARGUMENT` `Input was not provided`.
pub(crate) fn input(d: &BaseDataPoint) -> Result<&Value> {
    present(d.input.as_ref()).ok_or_else(|| Error::invalid_argument("Input was not provided"))
}

/// The reference, or `INVALID_ARGUMENT` `Reference was not provided`.
pub(crate) fn reference(d: &BaseDataPoint) -> Result<&Value> {
    present(d.reference.as_ref()).ok_or_else(|| Error::invalid_argument("Reference was not provided"))
}

/// The reference as a non-empty string (a regex or a JSONata expression).
///
/// # Errors
/// `INVALID_ARGUMENT`: `Reference was not provided`, or `Reference must be a string (<what>)`.
pub(crate) fn reference_str<'a>(d: &'a BaseDataPoint, what: &str) -> Result<&'a str> {
    match reference(d)? {
        Value::String(s) if s.is_empty() => Err(Error::invalid_argument("Reference was not provided")),
        Value::String(s) => Ok(s),
        _ => Err(Error::invalid_argument(format!("Reference must be a string ({what})"))),
    }
}

/// The context items, or `INVALID_ARGUMENT` `Context was not provided` when there are none.
pub(crate) fn context(d: &BaseDataPoint) -> Result<Vec<String>> {
    let items: Vec<String> = d.context.iter().flatten().filter(|v| !v.is_null()).map(text_of).collect();
    if items.is_empty() {
        return Err(Error::invalid_argument("Context was not provided"));
    }
    Ok(items)
}

/// The context items, or none.
pub(crate) fn optional_context(d: &BaseDataPoint) -> Vec<String> {
    context(d).unwrap_or_default()
}

/// How a value reads in a judge prompt: a string as is; a document (`{content: [{text}, …]}`)
/// as its text; anything else as compact JSON (JS `JSON.stringify`).
pub(crate) fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => match document_text(o.get("content")) {
            Some(text) => text,
            None => v.to_string(),
        },
        _ => v.to_string(),
    }
}

/// The text of a document's `content` when it is a list of text parts.
fn document_text(content: Option<&Value>) -> Option<String> {
    let parts = content?.as_array()?;
    let texts: Option<Vec<&str>> = parts.iter().map(|p| p.get("text").and_then(Value::as_str)).collect();
    texts.filter(|t| !t.is_empty()).map(|t| t.concat())
}

/// The output (or any value) as a string to match against: a string as is, anything else as
/// compact JSON (JS `typeof output === 'string' ? output : JSON.stringify(output)`).
pub(crate) fn as_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn presence_and_text() {
        let d = BaseDataPoint { output: Some(Value::Null), ..BaseDataPoint::default() };
        assert_eq!(output(&d).unwrap_err().message(), "Output was not provided");
        let d = BaseDataPoint { output: Some(json!(false)), reference: Some(json!(3)), ..BaseDataPoint::default() };
        assert_eq!(output(&d).unwrap(), &json!(false));
        assert_eq!(reference_str(&d, "regex").unwrap_err().message(), "Reference must be a string (regex)");
        assert_eq!(context(&d).unwrap_err().message(), "Context was not provided");
        assert_eq!(text_of(&json!("plain")), "plain");
        assert_eq!(text_of(&json!({"content": [{"text": "a"}, {"text": "b"}], "metadata": {}})), "ab");
        assert_eq!(text_of(&json!({"content": [{"media": {"url": "x"}}]})), r#"{"content":[{"media":{"url":"x"}}]}"#);
        assert_eq!(text_of(&json!({"b": 1, "a": [1, 2]})), r#"{"b":1,"a":[1,2]}"#);
        assert_eq!(as_string(&json!(12)), "12");
    }
}
