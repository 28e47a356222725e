//! `genkitEval/jsonata`: the reference is a JSONata expression evaluated with the output as its
//! input; the score is whether the result is truthy in JS (`!!result`).
//!
//! Expressions run on the `jsonata-rs` crate (paths, predicates, comparison and boolean
//! operators, `in`, arithmetic, string concatenation, regex literals, lambdas and most of the
//! standard library — `$count`, `$exists`, `$contains`, `$sum`, `$max`, `$string`, `$length`,
//! `$match`, `$keys`, `$map`, `$filter`, …; not `$type`, `$average` or the date formatting
//! functions). Each evaluation is limited in time and depth, and a panic inside the engine is
//! caught and reported as that case's error. The expression is trusted code: the engine does not
//! bound every allocation (`$pad("", 1e300)` exhausts memory, which aborts the process).

use std::panic::{AssertUnwindSafe, catch_unwind};

use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::{Error, Result, js};
use serde_json::Value;

use crate::{data, score};

/// Longest an expression may run.
const TIME_LIMIT_MS: usize = 5_000;
/// Deepest an expression may recurse.
const MAX_DEPTH: usize = 500;

/// Scores one data point.
///
/// # Errors
/// `INVALID_ARGUMENT` when the output or the reference is missing, the reference is not a
/// string, or the expression does not parse or fails to evaluate.
pub(crate) fn score(d: &BaseDataPoint) -> Result<Score> {
    let output = data::output(d)?;
    let expression = data::reference_str(d, "jsonata")?;
    let result = evaluate(expression, output)?;
    let ok = result.as_ref().is_some_and(js::truthy);
    let shown = result.map_or_else(|| "undefined".to_owned(), |v| score::excerpt(&v.to_string(), 200));
    Ok(score::boolean(ok, Some(format!("The expression evaluated to {shown}"))))
}

/// Evaluates `expression` against `input`; `None` is JSONata's `undefined` (no match).
///
/// # Errors
/// `INVALID_ARGUMENT` naming the expression and the JSONata error code.
pub(crate) fn evaluate(expression: &str, input: &Value) -> Result<Option<Value>> {
    let fail = |why: String| Error::invalid_argument(format!("JSONata expression {expression:?} failed: {why}"));
    let input = input.to_string();
    let run = || -> std::result::Result<Option<String>, String> {
        let arena = bumpalo::Bump::new();
        let jsonata = jsonata_rs::JsonAta::new(expression, &arena).map_err(|e| e.to_string())?;
        let v = jsonata
            .evaluate_timeboxed(Some(&input), Some(MAX_DEPTH), Some(TIME_LIMIT_MS))
            .map_err(|e| e.to_string())?;
        if v.is_undefined() {
            return Ok(None);
        }
        if v.is_function() {
            // A function is truthy in JS; it has no JSON form.
            return Ok(Some("true".to_owned()));
        }
        Ok(Some(v.serialize(false)))
    };
    let text = match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r.map_err(fail)?,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown reason".to_owned());
            return Err(fail(format!("the JSONata engine panicked: {why}")));
        }
    };
    text.map(|t| serde_json::from_str(&t).map_err(|e| fail(format!("its result is not JSON: {e}")))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)]
    fn truthy(expr: &str, input: Value) -> bool {
        evaluate(expr, &input).unwrap().as_ref().is_some_and(js::truthy)
    }

    #[test]
    fn the_subset_eval_datasets_use() {
        let bob = json!({"name": "Bob", "age": 33, "items": [{"n": "a", "price": 5}, {"n": "b", "price": 15}],
            "text": "hello world", "tags": ["x", "y"]});
        for (expr, want) in [
            ("age=33", true),
            ("age=31", false),
            ("age = 33.0", true),
            ("name=\"Bob\" and age>30", true),
            ("age < 30 or name = 'Bob'", true),
            ("age != 33", false),
            ("$count(items)=2", true),
            ("$exists(foo)", false),
            ("$exists(name)", true),
            ("foo", false),
            ("$contains(text, \"world\")", true),
            ("$contains(text, /w.r/)", true),
            ("items[price>10].n = \"b\"", true),
            ("items[price>100]", false),
            ("$sum(items.price) >= 20", true),
            ("\"x\" in tags", true),
            ("$not(age=33)", false),
            ("$length(text) > 3", true),
            ("$count(tags) = 2 and tags[1] = \"y\"", true),
            ("tags", true),
            ("$filter(items, function($i){$i.price > 10}).n = 'b'", true),
        ] {
            assert_eq!(truthy(expr, bob.clone()), want, "{expr}");
        }
        assert!(truthy("$ > 3", json!(5)));
        assert!(truthy("$contains($, 'str')", json!("a string")));
        assert!(truthy("$count($) = 3", json!([1, 2, 3])));
        assert!(truthy("$", json!([])), "[] is truthy in JS");
        assert!(!truthy("$", json!(0)));
        assert!(!truthy("$", json!("")));
        assert_eq!(evaluate("items.price", &bob).unwrap(), Some(json!([5, 15])));
        assert_eq!(evaluate("missing", &bob).unwrap(), None);
    }

    #[test]
    fn errors_are_reported() {
        let e = evaluate("age >", &json!({})).unwrap_err();
        assert!(e.message().starts_with("JSONata expression \"age >\" failed: S0211"), "{e}");
        let e = evaluate("$nosuchfunction(1)", &json!({})).unwrap_err();
        assert!(e.message().contains("T1006"), "{e}");
        let e = evaluate("[1..1e10]", &json!({})).unwrap_err();
        assert!(e.message().contains("D2014"), "{e}");
    }

    #[test]
    fn engine_panics_are_caught() {
        // jsonata-rs 0.3 overflows an integer here: a panic in debug builds, caught and reported.
        let r = evaluate("$substring('abc', 1e20)", &json!({}));
        if cfg!(debug_assertions) {
            let e = r.unwrap_err();
            assert!(e.message().contains("failed: the JSONata engine panicked: attempt to add with overflow"), "{e}");
        }
    }
}
