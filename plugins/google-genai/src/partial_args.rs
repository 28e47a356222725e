//! Streamed function-call arguments (Vertex AI's `streamFunctionCallArguments`, Gemini 3):
//! a call arrives over several chunks as `functionCall {name, partialArgs: [{jsonPath,
//! stringValue | numberValue | boolValue | nullValue, willContinue}], willContinue}`, later
//! pieces without the name or id, and a last piece without `willContinue`. Each piece becomes a
//! Genkit tool request carrying the arguments gathered so far (`partial: true` until the last),
//! and the final message keeps one whole request (as Genkit JS's `applyGeminiPartialArgs`).

use genkit_ai::Part;
use serde_json::{Map, Value};

/// One step of a JSONPath (`$.a.b[0]['c']`).
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parses the JSONPath subset Gemini sends: `$`, `.key`, `[n]`, `['key']` / `["key"]`.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$')?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let mut key = String::new();
                while let Some(&n) = chars.peek() {
                    if n == '.' || n == '[' {
                        break;
                    }
                    key.push(n);
                    chars.next();
                }
                if key.is_empty() {
                    return None;
                }
                steps.push(Step::Key(key));
            }
            '[' => {
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inner.push(n);
                }
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                match quoted {
                    Some(k) => steps.push(Step::Key(k.to_owned())),
                    None => steps.push(Step::Index(inner.trim().parse().ok()?)),
                }
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// The slot `step` names in `v`, created (as an object or array, whichever `next` needs) when
/// absent. `None` when `v` is a scalar or an index is far past the end.
fn child<'a>(v: &'a mut Value, step: &Step, next: Option<&Step>) -> Option<&'a mut Value> {
    let fresh = || match next {
        Some(Step::Index(_)) => Value::Array(Vec::new()),
        _ => Value::Object(Map::new()),
    };
    match step {
        Step::Key(k) => {
            if v.is_null() {
                *v = Value::Object(Map::new());
            }
            let o = v.as_object_mut()?;
            if !o.contains_key(k) && next.is_some() {
                o.insert(k.clone(), fresh());
            }
            Some(o.entry(k.clone()).or_insert(Value::Null))
        }
        Step::Index(i) => {
            if v.is_null() {
                *v = Value::Array(Vec::new());
            }
            let a = v.as_array_mut()?;
            // Arguments grow in order; a gap of more than a few slots is not a real stream.
            if *i > a.len() + 64 {
                return None;
            }
            while a.len() <= *i {
                a.push(if next.is_some() { fresh() } else { Value::Null });
            }
            a.get_mut(*i)
        }
    }
}

/// The slot at `steps` under `v`, created on the way.
fn slot_at<'a>(v: &'a mut Value, steps: &[Step]) -> Option<&'a mut Value> {
    match steps.split_first() {
        None => Some(v),
        Some((first, rest)) => slot_at(child(v, first, rest.first())?, rest),
    }
}

/// Applies `partialArgs` to `target`: a string piece is appended to a string already at its
/// path, any other value replaces it. Pieces with an unreadable path are skipped.
pub(crate) fn apply_partial_args(target: &mut Value, partial_args: &[Value]) {
    for pa in partial_args {
        let Some(steps) = pa.get("jsonPath").and_then(Value::as_str).and_then(parse_path) else { continue };
        let value = if let Some(b) = pa.get("boolValue").filter(|v| v.is_boolean()) {
            b.clone()
        } else if pa.get("nullValue").is_some() {
            Value::Null
        } else if let Some(n) = pa.get("numberValue").filter(|v| v.is_number()) {
            n.clone()
        } else if let Some(s) = pa.get("stringValue").filter(|v| v.is_string()) {
            s.clone()
        } else {
            continue;
        };
        if steps.is_empty() {
            continue;
        }
        let Some(cur) = slot_at(target, &steps) else { continue };
        match (cur, &value) {
            (Value::String(existing), Value::String(piece)) => existing.push_str(piece),
            (slot, _) => *slot = value,
        }
    }
}

/// Marks a decoded `functionCall` part: `partial` while `willContinue`, and the arguments of
/// its `partialArgs` (applied to `{}`; [`continue_stream`] adds earlier pieces).
pub(crate) fn decorate(part: &mut Part, call: &Value) {
    let Some(tr) = part.tool_request.as_mut() else { return };
    if call.get("willContinue").and_then(Value::as_bool) == Some(true) {
        tr.partial = Some(true);
    }
    if let Some(pa) = call.get("partialArgs").and_then(Value::as_array) {
        let mut input = Value::Object(Map::new());
        apply_partial_args(&mut input, pa);
        tr.input = Some(input);
    }
}

/// Continues the streamed calls of one chunk's `parts` (decoded from `raw`, empty parts left
/// out) from `prev`, the last part gathered before: a call following a partial call takes its
/// name and id when it has none, and its arguments are the earlier ones plus its own pieces.
pub(crate) fn continue_stream(raw: &[Value], parts: &mut [Part], prev: Option<&Part>) {
    let mut last: Option<Part> = prev.cloned();
    let decoded = raw.iter().filter(|p| crate::decode::decode_part(p).is_some());
    for (raw_part, part) in decoded.zip(parts.iter_mut()) {
        if let (Some(call), Some(tr)) = (raw_part.get("functionCall"), part.tool_request.as_mut())
            && let Some(before) =
                last.as_ref().and_then(|p| p.tool_request.as_ref()).filter(|t| t.partial == Some(true))
        {
            if tr.name.is_empty() {
                tr.name.clone_from(&before.name);
            }
            if tr.reference.is_none() {
                tr.reference.clone_from(&before.reference);
            }
            let mut input = before.input.clone().unwrap_or_else(|| Value::Object(Map::new()));
            match call.get("partialArgs").and_then(Value::as_array) {
                Some(pa) => apply_partial_args(&mut input, pa),
                None if call.get("args").is_some_and(|a| a.as_object().is_some_and(|o| !o.is_empty())) => {
                    input = call.get("args").cloned().unwrap_or(input);
                }
                None => {}
            }
            tr.input = Some(input);
        }
        last = Some(part.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_parse_and_pieces_apply_like_genkit_js() {
        assert_eq!(
            parse_path("$.a[0]['b c']"),
            Some(vec![Step::Key("a".into()), Step::Index(0), Step::Key("b c".into())])
        );
        assert_eq!(parse_path("a.b"), None);
        let mut v = json!({});
        apply_partial_args(
            &mut v,
            &[
                json!({"jsonPath": "$.location", "stringValue": "Bos"}),
                json!({"jsonPath": "$.location", "stringValue": "ton"}),
                json!({"jsonPath": "$.days[1]", "numberValue": 3}),
                json!({"jsonPath": "$.opts.metric", "boolValue": true}),
                json!({"jsonPath": "$.note", "nullValue": "NULL_VALUE"}),
                json!({"jsonPath": "$.bad[99999999]", "numberValue": 1}),
                json!({"jsonPath": "nonsense", "stringValue": "x"}),
            ],
        );
        assert_eq!(
            v,
            json!({"location": "Boston", "days": [null, 3], "opts": {"metric": true}, "note": null, "bad": []})
        );
    }
}
