//! Finding the JSON in a model's text: prose around it, markdown fences, unfinished output
//! (JS `extractJson`).

use serde_json::Value;

use super::{parse_json5, parse_partial_json};

/// Error message prefix used by [`extract_json_strict`] (JS: `Invalid JSON extracted
/// from model output: ${text}`).
const INVALID_JSON_PREFIX: &str = "Invalid JSON extracted from model output: ";

/// Extracts the first JSON object or array embedded in `text` (JS `extractJson(text)`).
///
/// The text is scanned for the first `{` or `[` outside a double-quoted string (a
/// backslash escapes the next character, as in JS); only that kind of bracket is then
/// counted. When the count returns to zero the enclosed text is parsed with
/// [`parse_json5`] (`None` if it is invalid; JS lets that parse error escape even
/// without `throwOnBadJson`). When the text ends first, the text from
/// the opening bracket onwards is parsed with [`parse_partial_json`], so a streamed
/// document yields its partial value. Text without any opening bracket yields `None`.
///
/// Prose before and after the JSON, markdown code fences and non-breaking spaces
/// (U+00A0, JSON5 whitespace) are therefore tolerated.
///
/// ```
/// use genkit_ai::extract::extract_json;
/// use serde_json::json;
///
/// let text = "Here you go:\n```json\n{\"title\": \"Dune\", \"year\": 1965}\n```\nEnjoy!";
/// assert_eq!(extract_json(text), Some(json!({"title": "Dune", "year": 1965})));
/// assert_eq!(extract_json("Sure! {\"items\": [1, 2"), Some(json!({"items": [1, 2]})));
/// assert_eq!(extract_json("no json here"), None);
/// ```
#[must_use]
pub fn extract_json(text: &str) -> Option<Value> {
    match locate_json(text) {
        Located::NotFound => None,
        Located::Complete(slice) => parse_json5(slice),
        Located::Partial(slice) => parse_partial_json(slice),
    }
}

/// Like [`extract_json`], but failing instead of returning `None` (JS
/// `extractJson(text, true)`).
///
/// As in JS, both "no JSON object or array found" and "the extracted JSON is invalid"
/// are errors, with the message `Invalid JSON extracted from model output: <text>`
/// (where `<text>` is the whole input). Successful extraction is `Ok(Some(value))`;
/// `Ok(None)` is not currently produced.
///
/// ```
/// use genkit_ai::extract::extract_json_strict;
/// use serde_json::json;
///
/// assert_eq!(extract_json_strict("result: [1, 2]"), Ok(Some(json!([1, 2]))));
/// assert_eq!(
///     extract_json_strict("not json"),
///     Err("Invalid JSON extracted from model output: not json".to_string())
/// );
/// ```
pub fn extract_json_strict(text: &str) -> Result<Option<Value>, String> {
    extract_json(text).map(Some).ok_or_else(|| format!("{INVALID_JSON_PREFIX}{text}"))
}

/// Where [`locate_json`] found JSON in a text.
enum Located<'a> {
    /// No `{` or `[` outside a string.
    NotFound,
    /// A balanced slice from the opening to the matching closing bracket.
    Complete(&'a str),
    /// The slice from the opening bracket to the end of the text (never closed).
    Partial(&'a str),
}

/// The bracket scan of JS `extractJson`.
fn locate_json(text: &str) -> Located<'_> {
    let bytes = text.as_bytes();
    // (opening bracket, closing bracket, byte offset of the opening bracket)
    let mut open: Option<(u8, u8, usize)> = None;
    let mut nesting: usize = 0;

    // JS also maps U+00A0 to a space here; that cannot affect the scan, which only
    // looks at ASCII delimiters (and U+00A0 is JSON5 whitespace for the parsers).
    for (i, b) in outside_strings(bytes, 0) {
        match open {
            None => {
                if b == b'{' || b == b'[' {
                    open = Some((b, if b == b'{' { b'}' } else { b']' }, i));
                    nesting = 1;
                }
            }
            Some((opening, closing, start)) => {
                if b == opening {
                    nesting += 1;
                } else if b == closing {
                    nesting -= 1;
                    if nesting == 0 {
                        return text.get(start..=i).map_or(Located::NotFound, Located::Complete);
                    }
                }
            }
        }
    }

    match open {
        Some((_, _, start)) => text.get(start..).map_or(Located::NotFound, Located::Partial),
        None => Located::NotFound,
    }
}

/// The bytes of `bytes[from..]` outside double-quoted strings, with their offsets, as the
/// scans of JS `extractJson` and `extractItems` see them: a backslash escapes the next byte
/// wherever it stands, and neither backslashes nor quotes are returned.
pub(super) fn outside_strings(bytes: &[u8], from: usize) -> impl Iterator<Item = (usize, u8)> + '_ {
    let mut in_string = false;
    let mut escape_next = false;
    bytes.iter().copied().enumerate().skip(from).filter(move |&(_, b)| {
        if escape_next {
            escape_next = false;
            return false;
        }
        match b {
            b'\\' => escape_next = true,
            b'"' => in_string = !in_string,
            _ => return !in_string,
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn extract_json_genkit_js_cases() {
        assert_eq!(extract_json(r#"prefix{"a":1}suffix"#), Some(json!({"a": 1})));
        assert_eq!(extract_json("prefix[1,2,3]suffix"), Some(json!([1, 2, 3])));
        assert_eq!(extract_json(r#"text{"a":{"b":[1,2]}}more"#), Some(json!({"a": {"b": [1, 2]}})));
        assert_eq!(extract_json(r#"{"text": "not {a} json"}"#), Some(json!({"text": "not {a} json"})));
        assert_eq!(extract_json("not json at all"), None);
        assert_eq!(
            extract_json_strict("not json at all"),
            Err("Invalid JSON extracted from model output: not json at all".to_string())
        );
    }

    #[test]
    fn extract_json_markdown_fences_and_prose() {
        let text = "Here is the data you asked for:\n\n```json\n{\n  \"name\": \"Ada\",\n  \"langs\": [\"en\", \"fr\"]\n}\n```\n\nLet me know if you need more [details].";
        assert_eq!(extract_json(text), Some(json!({"name": "Ada", "langs": ["en", "fr"]})));
        let text = "```\n[{\"a\": 1}, {\"b\": [2, 3]}]\n```";
        assert_eq!(extract_json(text), Some(json!([{"a": 1}, {"b": [2, 3]}])));
        let text = "Result: {answer: 'yes', /* JSON5 */ score: .9,} (done)";
        assert_eq!(extract_json(text), Some(json!({"answer": "yes", "score": 0.9})));
    }

    #[test]
    fn extract_json_brackets_inside_strings() {
        let text = r#"Output: {"code": "fn main() { let v = [1, 2]; }", "note": "}}]]"} trailing }"#;
        assert_eq!(extract_json(text), Some(json!({"code": "fn main() { let v = [1, 2]; }", "note": "}}]]"})));
        let text = r#"["a]", "\"]", "[["] after"#;
        assert_eq!(extract_json(text), Some(json!(["a]", "\"]", "[["])));
        // Only the first bracket kind is counted.
        assert_eq!(extract_json(r#"[{"a": "x"}, {"b": 2}] and {"c": 3}"#), Some(json!([{"a": "x"}, {"b": 2}])));
        assert_eq!(extract_json(r#"{"a": [1, [2]]} [3]"#), Some(json!({"a": [1, [2]]})));
    }

    #[test]
    fn extract_json_unterminated_in_prose() {
        assert_eq!(
            extract_json(r#"Sure! Here: {"items": [{"n": 1}, {"n": 2"#),
            Some(json!({"items": [{"n": 1}, {"n": 2}]}))
        );
        assert_eq!(extract_json("Sure! [1, 2, 3"), Some(json!([1, 2, 3])));
        assert_eq!(extract_json(r#"{"a": "unterminated {"#), Some(json!({"a": "unterminated {"})));
        assert_eq!(extract_json("{"), Some(json!({})));
        assert_eq!(extract_json_strict(r#"{"a": 1, "b": "#), Ok(Some(json!({"a": 1}))));
    }

    #[test]
    fn extract_json_nbsp() {
        let text = "Answer:\u{A0}{\u{A0}\"a\":\u{A0}1,\u{A0}\"b\":\u{A0}[2]\u{A0}}\u{A0}done";
        assert_eq!(extract_json(text), Some(json!({"a": 1, "b": [2]})));
        let text = "{\u{A0}\"a\":\u{A0}\"x\u{A0}y\",\u{A0}\"b\"";
        assert_eq!(extract_json(text), Some(json!({"a": "x\u{A0}y"})));
    }

    #[test]
    fn extract_json_invalid_balanced_json() {
        let text = "look: {not valid json at all} ok";
        assert_eq!(extract_json(text), None);
        assert_eq!(extract_json_strict(text), Err(format!("Invalid JSON extracted from model output: {text}")));
        // The first balanced candidate decides, like in JS.
        assert_eq!(extract_json(r#"{oops} {"a": 1}"#), None);
        assert_eq!(extract_json_strict(r#"x [1, 2] y"#), Ok(Some(json!([1, 2]))));
    }

    #[test]
    fn extract_json_backslash_escapes_outside_strings() {
        // JS treats a backslash anywhere as escaping the next character.
        assert_eq!(extract_json(r#"\{ {"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(extract_json(r#"\"{"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(extract_json(r"\[ \{"), None);
    }
}
