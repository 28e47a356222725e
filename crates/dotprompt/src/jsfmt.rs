//! JavaScript-compatible formatting of JSON values (`String(v)`, `JSON.stringify(v, null, indent)`), so
//! templates render the same text as the JavaScript implementation.

use serde_json::{Number, Value};

/// Formats a number like JavaScript's `Number.prototype.toString()`.
pub(crate) fn js_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    js_f64(n.as_f64().unwrap_or(0.0))
}

fn js_f64(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    if x < 0.0 {
        return format!("-{}", js_f64(-x));
    }
    if (1e-6..1e21).contains(&x) {
        // Rust's `Display` prints the same shortest round-trip digits in plain decimal form, as JavaScript does
        // in this range.
        return x.to_string();
    }
    // Shortest round-trip digits in scientific form, e.g. "1.2345e-7".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        let mut s = digits.to_owned();
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
        s
    } else if 0 < n && n <= 21 {
        let (a, b) = digits.split_at(n as usize);
        format!("{a}.{b}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let sign = if e < 0 { '-' } else { '+' };
        let (first, rest) = digits.split_at(1);
        if rest.is_empty() { format!("{first}e{sign}{}", e.abs()) } else { format!("{first}.{rest}e{sign}{}", e.abs()) }
    }
}

/// `String(value)` in JavaScript: `null` → `"null"`, arrays joined with `,`, objects → `[object Object]`.
pub(crate) fn js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        _ => {
            let mut s = String::new();
            push_js_string(v, &mut s);
            s
        }
    }
}

fn push_js_string(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&js_number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                // Array.prototype.join renders null/undefined elements as empty strings.
                if !item.is_null() {
                    push_js_string(item, out);
                }
            }
        }
        Value::Object(_) => out.push_str("[object Object]"),
    }
}

/// What a Handlebars `{{expression}}` prints for a value (no HTML escaping): `null` → `""`.
pub(crate) fn hbs_output(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => js_string(other),
    }
}

/// `JSON.stringify(value, null, indent)`.
pub(crate) fn json_stringify(v: &Value, indent: &str) -> String {
    let mut out = String::new();
    write_json(v, indent, 0, &mut out);
    out
}

fn newline_indent(indent: &str, level: usize, out: &mut String) {
    out.push('\n');
    for _ in 0..level {
        out.push_str(indent);
    }
}

fn write_json(v: &Value, indent: &str, level: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&js_number(n)),
        Value::String(s) => push_json_string(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !indent.is_empty() {
                    newline_indent(indent, level + 1, out);
                }
                write_json(item, indent, level + 1, out);
            }
            if !indent.is_empty() {
                newline_indent(indent, level, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if !indent.is_empty() {
                    newline_indent(indent, level + 1, out);
                }
                push_json_string(k, out);
                out.push(':');
                if !indent.is_empty() {
                    out.push(' ');
                }
                write_json(item, indent, level + 1, out);
            }
            if !indent.is_empty() {
                newline_indent(indent, level, out);
            }
            out.push('}');
        }
    }
}

fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The `gap` string of `JSON.stringify` for an `indent` argument: numbers clamp to 10 spaces, strings to 10 chars.
pub(crate) fn json_indent(indent: Option<&Value>) -> String {
    match indent {
        Some(Value::Number(n)) => {
            let width = n.as_f64().unwrap_or(0.0).clamp(0.0, 10.0) as usize;
            " ".repeat(width)
        }
        Some(Value::String(s)) => s.chars().take(10).collect(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_format_like_javascript() {
        let cases = [
            (json!(1), "1"),
            (json!(-7), "-7"),
            (json!(2.0), "2"),
            (json!(1.5), "1.5"),
            (json!(0.1), "0.1"),
            (json!(-0.000001), "-0.000001"),
            (json!(1e-7), "1e-7"),
            (json!(1.25e-7), "1.25e-7"),
            (json!(1e21), "1e+21"),
            (json!(1.5e300), "1.5e+300"),
            (json!(123456789012345680000.0), "123456789012345680000"),
            (json!(0.0), "0"),
        ];
        for (v, want) in cases {
            assert_eq!(js_string(&v), want, "{v}");
        }
    }

    #[test]
    fn string_conversion_like_javascript() {
        assert_eq!(js_string(&json!([1, null, "a", [2, 3]])), "1,,a,2,3");
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
        assert_eq!(js_string(&json!(null)), "null");
        assert_eq!(hbs_output(&json!(null)), "");
        assert_eq!(hbs_output(&json!(false)), "false");
    }

    #[test]
    fn stringify_like_javascript() {
        let v = json!({"a": [1, 2.0, {"b": null}], "c": "q\"\n\u{1}", "d": {}, "e": []});
        assert_eq!(json_stringify(&v, ""), r#"{"a":[1,2,{"b":null}],"c":"q\"\n\u0001","d":{},"e":[]}"#);
        assert_eq!(json_stringify(&json!({"a": [1], "b": {}}), "  "), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
        assert_eq!(json_indent(Some(&json!(40))).len(), 10);
        assert_eq!(json_indent(Some(&json!(-1))), "");
        assert_eq!(json_indent(Some(&json!("\t"))), "\t");
    }
}
