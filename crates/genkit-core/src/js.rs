//! JavaScript semantics on JSON values, where Genkit for Rust must decide as Genkit JS does.

use serde_json::Value;

/// Whether JavaScript considers the JSON value truthy (`!!value`, or what `if (value)` tests).
///
/// | value | truthy |
/// |---|---|
/// | `null` | no |
/// | `false` | no |
/// | `""` | no |
/// | `0`, `-0`, `0.0` | no |
/// | `NaN` (a `serde_json` number never holds it) | no |
/// | `true`, any other number, any non-empty string (`"0"` and `"false"` too) | yes |
/// | `[]`, `{}` and every other array or object | yes |
///
/// Genkit JS writes `if (x)` or `x ? … : …` on values that come from JSON (a part's
/// `toolRequest`, a chunk's `metadata.pending`, an evaluator's result); this is the one place
/// that answers those tests. A missing field (`undefined` in JS) is `None` on the Rust side:
/// `opt.is_some_and(truthy)`.
///
/// ```
/// use genkit_core::js::truthy;
/// use serde_json::json;
///
/// assert!(!truthy(&json!(null)));
/// assert!(!truthy(&json!(0)));
/// assert!(!truthy(&json!("")));
/// assert!(truthy(&json!([])));
/// assert!(truthy(&json!({})));
/// assert!(truthy(&json!("false")));
/// ```
#[must_use]
pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn follows_javascript() {
        let falsy = [json!(null), json!(false), json!(""), json!(0), json!(-0.0), json!(0.0), json!(0u64)];
        for v in &falsy {
            assert!(!truthy(v), "{v} is falsy in JS");
        }
        let truthy_values = [
            json!(true),
            json!(1),
            json!(-1),
            json!(0.5),
            json!(1e-300),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(" "),
            json!("0"),
            json!("false"),
            json!([]),
            json!([0]),
            json!({}),
            json!({"a": null}),
        ];
        for v in &truthy_values {
            assert!(truthy(v), "{v} is truthy in JS");
        }
    }
}
