//! Parsing truncated JSON(5), as a streamed response leaves it (npm `partial-json`).

use serde_json::Value;

use super::json5::{Frame, Parser};
use super::trivia::is_json5_space;

/// Parses possibly truncated JSON(5), completing it the way npm `partial-json` with
/// `Allow.ALL` does (followed, as in Genkit JS, by a JSON round trip that turns
/// non-finite numbers into `null`).
///
/// * Unterminated strings are closed; an incomplete escape at the very end
///   (`"ab\u00`, `"ab\`, a lone high surrogate) is dropped. Trailing whitespace of the
///   input is ignored (JS trims it), also inside an unterminated string.
/// * Unterminated arrays and objects are closed.
/// * An object key without a value (`{"a": 1, "b"`, `{"a": 1, "b":`, `{"a": 1, "b`) is
///   dropped together with its key.
/// * Literals cut at the end are completed: `t`/`tr`/`tru` → `true`, `f`… → `false`,
///   `n`… → `null`, `I`…/`-I`…/`N`… → `null` (non-finite).
/// * A number cut at the end is kept when it is already a number (`12` → `12`), loses
///   an incomplete exponent (`1.5e-` → `1.5`), and is dropped when it cannot be one yet
///   (`-`, `12.`, `0x`).
/// * A syntax error inside a container stops parsing there: the containers opened so
///   far are returned with the members completed before the error (partial-json also
///   returns a container's parsed members when an error occurs inside it). A top-level
///   scalar that cannot be completed yields `None`, as does empty input.
/// * Anything after a complete top-level value is ignored.
///
/// Complete, valid input parses exactly like [`parse_json5`](super::parse_json5), except that a top-level
/// number ending in a decimal point (`12.`) counts as unfinished.
///
/// ```
/// use genkit_ai::extract::parse_partial_json;
/// use serde_json::json;
///
/// assert_eq!(parse_partial_json(r#"{"a": 1, "b": ["x", "y"#), Some(json!({"a": 1, "b": ["x", "y"]})));
/// assert_eq!(parse_partial_json(r#"{"a": 1, "b":"#), Some(json!({"a": 1})));
/// assert_eq!(parse_partial_json("[true, fal"), Some(json!([true, false])));
/// ```
#[must_use]
pub fn parse_partial_json(text: &str) -> Option<Value> {
    Parser::new(text.trim_end_matches(is_json5_space), true).parse_document()
}

/// Partial mode, after a failure: closes every open container, each becoming the value
/// of its parent's pending member; the innermost pending member is dropped.
pub(super) fn close_all(mut stack: Vec<Frame>) -> Option<Value> {
    let mut child: Option<Value> = None;
    while let Some(mut frame) = stack.pop() {
        if let Some(value) = child.take() {
            frame.attach(value);
        }
        child = Some(frame.into_value());
    }
    child
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::extract::tests::{SAMPLE, prefix_lengths};
    use crate::extract::{extract_json, parse_json5};

    fn partial(text: &str) -> Option<Value> {
        parse_partial_json(text)
    }

    #[test]
    fn partial_genkit_js_cases() {
        assert_eq!(partial(r#"{"a":1,"b":2}"#), Some(json!({"a": 1, "b": 2})));
        assert_eq!(partial(r#"{"a":1,"b":"#), Some(json!({"a": 1})));
        assert_eq!(partial("[1,2,3,"), Some(json!([1, 2, 3])));
        assert_eq!(partial(r#"{"a":{"b":1,"c":]}}"#), Some(json!({"a": {"b": 1}})));
    }

    #[test]
    fn partial_closes_containers() {
        assert_eq!(partial("["), Some(json!([])));
        assert_eq!(partial("{"), Some(json!({})));
        assert_eq!(partial("[[["), Some(json!([[[]]])));
        assert_eq!(partial(r#"{"a": [1, {"b": [2"#), Some(json!({"a": [1, {"b": [2]}]})));
        assert_eq!(partial(r#"{"a": {"#), Some(json!({"a": {}})));
        assert_eq!(partial(r#"{"a": ["#), Some(json!({"a": []})));
        assert_eq!(partial("[1, 2"), Some(json!([1, 2])));
        assert_eq!(partial("[1, 2 "), Some(json!([1, 2])));
    }

    #[test]
    fn partial_drops_dangling_keys() {
        assert_eq!(partial(r#"{"a": 1, ""#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b""#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b" "#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b":"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b": "#), Some(json!({"a": 1})));
        assert_eq!(partial("{a: 1, bc"), Some(json!({"a": 1})));
        assert_eq!(partial("{a: 1, bc:"), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1,"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1"#), Some(json!({"a": 1})));
    }

    #[test]
    fn partial_closes_strings() {
        assert_eq!(partial(r#"{"a": ""#), Some(json!({"a": ""})));
        assert_eq!(partial(r#"{"a": "hel"#), Some(json!({"a": "hel"})));
        assert_eq!(partial(r#"["one", "tw"#), Some(json!(["one", "tw"])));
        assert_eq!(partial(r#"""#), Some(json!("")));
        assert_eq!(partial(r#""abc"#), Some(json!("abc")));
        assert_eq!(partial("{'a': 'single"), Some(json!({"a": "single"})));
        // Trailing whitespace is trimmed first, as JS `trim()` does in partial-json.
        assert_eq!(partial(r#"{"a": "hello "#), Some(json!({"a": "hello"})));
        assert_eq!(partial(r#"{"a": "multi byte 中"#), Some(json!({"a": "multi byte 中"})));
    }

    #[test]
    fn partial_drops_incomplete_escapes() {
        assert_eq!(partial(r#"["ab\"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\n"#), Some(json!(["ab\n"])));
        assert_eq!(partial(r#"["ab\u"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\u00"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\u00e9"#), Some(json!(["abé"])));
        assert_eq!(partial(r#"["ab\x4"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d\"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d\ude"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d\ude00"#), Some(json!(["ab😀"])));
        assert_eq!(partial(r#"" \x12"#), Some(json!(" \u{12}")));
        assert_eq!(partial(r#"" \x1"#), Some(json!(" "))); // partial-json test: `" \x12` (JS) → " "
    }

    #[test]
    fn partial_completes_literals() {
        assert_eq!(partial("[t"), Some(json!([true])));
        assert_eq!(partial("[tr"), Some(json!([true])));
        assert_eq!(partial("[tru"), Some(json!([true])));
        assert_eq!(partial("[f"), Some(json!([false])));
        assert_eq!(partial("[fal"), Some(json!([false])));
        assert_eq!(partial("[n"), Some(json!([null])));
        assert_eq!(partial("[nul"), Some(json!([null])));
        assert_eq!(partial(r#"{"a": tr"#), Some(json!({"a": true})));
        assert_eq!(partial(r#"{"a": nu  "#), Some(json!({"a": null})));
        assert_eq!(partial("[I"), Some(json!([null])));
        assert_eq!(partial("[-Inf"), Some(json!([null])));
        assert_eq!(partial("[-I"), Some(json!([null])));
        assert_eq!(partial("[Na"), Some(json!([null])));
        assert_eq!(partial("t"), Some(json!(true)));
        assert_eq!(partial("fals"), Some(json!(false)));
        assert_eq!(partial("n"), Some(json!(null)));
        // Only at the very end, and only real prefixes.
        assert_eq!(partial("[tr, 1"), Some(json!([])));
        assert_eq!(partial("[tx"), Some(json!([])));
        assert_eq!(partial("[1, trux"), Some(json!([1])));
        assert_eq!(partial("x"), None);
    }

    #[test]
    fn partial_numbers() {
        assert_eq!(partial("[1"), Some(json!([1])));
        assert_eq!(partial("[12"), Some(json!([12])));
        assert_eq!(partial(r#"{"a": 12"#), Some(json!({"a": 12})));
        assert_eq!(partial("[1, -"), Some(json!([1])));
        assert_eq!(partial("[1, +"), Some(json!([1])));
        assert_eq!(partial("[1, 12."), Some(json!([1])));
        assert_eq!(partial(r#"{"a": 1, "b": 12."#), Some(json!({"a": 1})));
        assert_eq!(partial("[1, 12.5"), Some(json!([1, 12.5])));
        assert_eq!(partial("[1e"), Some(json!([1])));
        assert_eq!(partial("[1e+"), Some(json!([1])));
        assert_eq!(partial("[-1.25e"), Some(json!([-1.25])));
        assert_eq!(partial("[-1.25e+"), Some(json!([-1.25])));
        assert_eq!(partial("[-1.25e+4"), Some(json!([-12500.0])));
        assert_eq!(partial("[1.E"), Some(json!([]))); // mantissa `1.` is unfinished as well
        assert_eq!(partial("[0x"), Some(json!([])));
        assert_eq!(partial("[0x1f"), Some(json!([31])));
        assert_eq!(partial("[."), Some(json!([])));
        assert_eq!(partial("[.5"), Some(json!([0.5])));
        // `12.` is complete when something follows it.
        assert_eq!(partial("[12., 3"), Some(json!([12.0, 3])));
        // Top level (partial-json: `-` and `12.` fail, `1e` is 1).
        assert_eq!(partial("-"), None);
        assert_eq!(partial("12."), None);
        assert_eq!(partial("12"), Some(json!(12)));
        assert_eq!(partial("-1.25e"), Some(json!(-1.25)));
        assert_eq!(partial("0"), Some(json!(0)));
    }

    #[test]
    fn partial_errors_keep_what_was_parsed() {
        assert_eq!(partial(r#"{"a": 1, "b": @@@"#), Some(json!({"a": 1})));
        assert_eq!(partial("[1, foo, 3]"), Some(json!([1])));
        assert_eq!(partial(r#"{"a": [1, 2]]"#), Some(json!({"a": [1, 2]})));
        assert_eq!(partial(r#"[{"a": 1} {"b": 2}]"#), Some(json!([{"a": 1}])));
        assert_eq!(partial(r#""bad \q escape" x"#), Some(json!("bad q escape")));
        assert_eq!(partial("@"), None);
        assert_eq!(partial(""), None);
        assert_eq!(partial(" \n\u{A0}"), None);
    }

    #[test]
    fn partial_json5_features_and_comments() {
        assert_eq!(
            partial("{a: 'x', b: [1, 2,], // note\n c: 0x10, d: .5"),
            Some(json!({"a": "x", "b": [1, 2], "c": 16, "d": 0.5}))
        );
        assert_eq!(partial(r#"{"a": 1, // comment"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1 /* unterminated"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1 /"#), Some(json!({"a": 1})));
        assert_eq!(partial("[12. /* c"), Some(json!([])));
    }

    #[test]
    fn partial_ignores_content_after_complete_value() {
        assert_eq!(partial(r#"{"a": 1} trailing text {"#), Some(json!({"a": 1})));
        assert_eq!(partial("[1] [2"), Some(json!([1])));
        assert_eq!(partial(r#""done" more"#), Some(json!("done")));
    }

    #[test]
    fn partial_complete_input_matches_json5() {
        let docs = [
            r#"{"a": [1, 2.5, -3e2, true, false, null, "s"], "b": {"c": {}}, "d": []}"#,
            "{unquoted: 'single', trailing: [1,], hex: 0xff, /* c */ inf: -Infinity,}",
            "[]",
            "\"str\"",
            "42",
            "-1.5e3",
            "true",
        ];
        for doc in docs {
            assert_eq!(partial(doc), parse_json5(doc), "{doc}");
            assert!(partial(doc).is_some(), "{doc}");
        }
    }

    #[test]
    fn partial_every_prefix_of_sample_document() {
        let full = parse_json5(SAMPLE);
        assert!(full.is_some());
        let mut previous_len = 0;
        for len in prefix_lengths(SAMPLE) {
            let prefix = SAMPLE.get(..len).unwrap_or_default();
            let value = partial(prefix);
            if len == 0 {
                assert_eq!(value, None);
                continue;
            }
            // Every non-empty prefix starts with `{`, so it always yields an object.
            let Some(Value::Object(map)) = value else {
                panic!("prefix {prefix:?} gave {value:?}");
            };
            // Members only ever get added as the prefix grows (values may still change).
            assert!(map.len() + 1 >= previous_len, "{prefix:?}");
            previous_len = map.len();
            // And the same holds for extract_json with prose around it.
            let wrapped = format!("Sure:\n```json\n{prefix}");
            assert_eq!(extract_json(&wrapped), Some(Value::Object(map)), "{prefix:?}");
        }
        assert_eq!(partial(SAMPLE), full);
    }

    #[test]
    fn partial_prefix_sequence_of_small_document() {
        let doc = r#"{"a": [1, "xy"], "b": true}"#;
        let expected = [
            json!({}),                          // {
            json!({}),                          // {"
            json!({}),                          // {"a
            json!({}),                          // {"a"
            json!({}),                          // {"a":
            json!({}),                          // {"a": (trimmed)
            json!({"a": []}),                   // {"a": [
            json!({"a": [1]}),                  // {"a": [1
            json!({"a": [1]}),                  // {"a": [1,
            json!({"a": [1]}),                  // {"a": [1, (trimmed)
            json!({"a": [1, ""]}),              // {"a": [1, "
            json!({"a": [1, "x"]}),             // {"a": [1, "x
            json!({"a": [1, "xy"]}),            // {"a": [1, "xy
            json!({"a": [1, "xy"]}),            // {"a": [1, "xy"
            json!({"a": [1, "xy"]}),            // ]
            json!({"a": [1, "xy"]}),            // ,
            json!({"a": [1, "xy"]}),            // space
            json!({"a": [1, "xy"]}),            // "
            json!({"a": [1, "xy"]}),            // "b
            json!({"a": [1, "xy"]}),            // "b"
            json!({"a": [1, "xy"]}),            // :
            json!({"a": [1, "xy"]}),            // space
            json!({"a": [1, "xy"], "b": true}), // t
            json!({"a": [1, "xy"], "b": true}), // r
            json!({"a": [1, "xy"], "b": true}), // u
            json!({"a": [1, "xy"], "b": true}), // e
            json!({"a": [1, "xy"], "b": true}), // }
        ];
        assert_eq!(doc.len(), expected.len());
        for (len, want) in (1..=doc.len()).zip(expected) {
            assert_eq!(partial(&doc[..len]), Some(want), "prefix {:?}", &doc[..len]);
        }
    }
}
