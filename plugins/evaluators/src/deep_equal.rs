//! `genkitEval/deep_equal`: the output must equal the reference as JSON values (JS
//! `assert.deepStrictEqual` on parsed JSON). Numbers compare by value (`1` equals `1.0`), object
//! keys in any order, arrays in order. A failure says where the values first differ.

use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::Result;
use serde_json::{Number, Value};

use crate::{data, score};

/// Scores one data point.
///
/// # Errors
/// `INVALID_ARGUMENT` when the output or the reference is missing.
pub(crate) fn score(d: &BaseDataPoint) -> Result<Score> {
    let output = data::output(d)?;
    let reference = data::reference(d)?;
    let mut path = String::from("$");
    let diff = difference(output, reference, &mut path);
    Ok(score::boolean(diff.is_none(), diff.map(|why| format!("Expected values to be deeply equal: {why}"))))
}

/// Where and how `output` first differs from `reference`; `None` when they are equal.
pub(crate) fn difference(output: &Value, reference: &Value, path: &mut String) -> Option<String> {
    match (output, reference) {
        (Value::Number(a), Value::Number(b)) => {
            (!numbers_equal(a, b)).then(|| format!("at {path} the output is {a} but the reference is {b}"))
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let d = difference(x, y, path);
                path.truncate(len);
                if d.is_some() {
                    return d;
                }
            }
            (a.len() != b.len())
                .then(|| format!("at {path} the output has {} items but the reference has {}", a.len(), b.len()))
        }
        (Value::Object(a), Value::Object(b)) => {
            if let Some(k) = b.keys().find(|k| !a.contains_key(*k)) {
                return Some(format!("at {path} the output lacks the key {k:?} of the reference"));
            }
            if let Some(k) = a.keys().find(|k| !b.contains_key(*k)) {
                return Some(format!("at {path} the output has the key {k:?}, which the reference lacks"));
            }
            for (k, x) in a {
                let len = path.len();
                push_key(path, k);
                let d = difference(x, &b[k], path);
                path.truncate(len);
                if d.is_some() {
                    return d;
                }
            }
            None
        }
        (a, b) if a == b => None,
        (a, b) if kind(a) == kind(b) => Some(format!(
            "at {path} the output is {} but the reference is {}",
            score::excerpt(&a.to_string(), 80),
            score::excerpt(&b.to_string(), 80)
        )),
        (a, b) => Some(format!(
            "at {path} the output is {} {} but the reference is {} {}",
            kind(a),
            score::excerpt(&a.to_string(), 80),
            kind(b),
            score::excerpt(&b.to_string(), 80)
        )),
    }
}

/// Integers compare exactly; anything involving a float compares as `f64` (like JS numbers).
fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Appends `.key` (or `["key"]` when the key is not an identifier) to a path.
fn push_key(path: &mut String, key: &str) {
    let ident = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{key:?}]"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)]
    fn diff(a: Value, b: Value) -> Option<String> {
        difference(&a, &b, &mut String::from("$"))
    }

    #[test]
    fn equal_values() {
        assert_eq!(diff(json!(1), json!(1.0)), None);
        assert_eq!(diff(json!({"a": [1, {"b": 2.0}], "c": null}), json!({"c": null, "a": [1.0, {"b": 2}]})), None);
        assert_eq!(diff(json!(u64::MAX), json!(u64::MAX)), None);
    }

    #[test]
    fn differences_name_the_place() {
        assert_eq!(diff(json!(1), json!(2)).unwrap(), "at $ the output is 1 but the reference is 2");
        assert_eq!(
            diff(json!({"a": {"my key": [1, 2]}}), json!({"a": {"my key": [1, 3]}})).unwrap(),
            r#"at $.a["my key"][1] the output is 2 but the reference is 3"#
        );
        assert_eq!(diff(json!([1]), json!([1, 2])).unwrap(), "at $ the output has 1 items but the reference has 2");
        assert_eq!(diff(json!({}), json!({"x": 1})).unwrap(), r#"at $ the output lacks the key "x" of the reference"#);
        assert_eq!(
            diff(json!({"x": 1, "y": 2}), json!({"x": 1})).unwrap(),
            r#"at $ the output has the key "y", which the reference lacks"#
        );
        assert_eq!(
            diff(json!("1"), json!(1)).unwrap(),
            r#"at $ the output is a string "1" but the reference is a number 1"#
        );
        assert_eq!(diff(json!(true), json!(false)).unwrap(), "at $ the output is true but the reference is false");
        assert!(diff(json!(9007199254740993u64), json!(9007199254740992u64)).is_some());
    }
}
