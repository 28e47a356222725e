//! Tests across the whole module: helpers the files' tests share, and randomised documents and
//! inputs run through every entry point.

use serde_json::{Value, json};

use super::trivia::is_json5_space;
use super::{extract_items, extract_json, extract_json_strict, parse_json5, parse_partial_json};

pub(super) fn j5(text: &str) -> Value {
    match parse_json5(text) {
        Some(value) => value,
        None => panic!("expected {text:?} to parse as JSON5"),
    }
}

/// Byte offsets of all char boundaries of `text`, i.e. every valid prefix length.
pub(super) fn prefix_lengths(text: &str) -> impl Iterator<Item = usize> + '_ {
    (0..=text.len()).filter(|&i| text.is_char_boundary(i))
}

pub(super) const SAMPLE: &str = r#"{
  "title": "Partial \"JSON\" — ünïcödé 😀 \u00e9\ud83d\ude00",
  'tags': ['a', "b\\c", [], {}],
  count: 12.5e-1,
  neg: -42,
  hex: 0x1F,
  flags: [true, false, null, Infinity, NaN],
  // a comment
  nested: {"deep": [[1, 2], {"x": "y"}], /* block */ "empty": ""},
  last: "end",
}"#;

/// A tiny deterministic xorshift generator (no external crates).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }
}

const PIECES: &[&str] = &[
    "{", "}", "[", "]", ",", ":", "\"", "'", "\\", "\\u", "\\x", "d83d", "\\ude00", "0", "1", "9", "-", "+", ".", "e",
    "E", "0x", "f", "t", "tr", "true", "n", "nul", "I", "Inf", "NaN", "a", "key", "$", "_", " ", "\n", "\r", "\t",
    "\u{A0}", "\u{2028}", "\u{FEFF}", "/", "*", "//", "/*", "*/", "é", "中", "😀", "\u{200C}", "```json", "Here: ",
];

#[test]
fn fuzz_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..4000 {
        let len = rng.below(40);
        let mut text = String::new();
        for _ in 0..len {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
        let strict = parse_json5(&text);
        let lenient = parse_partial_json(&text);
        if let Some(value) = &strict {
            // Anything valid is also accepted by the partial parser, identically
            // (except a top-level number that ends with a decimal point).
            if !text.trim_end_matches(is_json5_space).ends_with('.') {
                assert_eq!(lenient.as_ref(), Some(value), "{text:?}");
            }
            // Output always round-trips through serde_json.
            let serialized = value.to_string();
            assert_eq!(serde_json::from_str::<Value>(&serialized).ok().as_ref(), Some(value), "{text:?}");
        }
        let _ = extract_json(&text);
        let _ = extract_json_strict(&text);
        let cursor = rng.below(text.len() + 2);
        let (_, next) = extract_items(&text, cursor);
        assert!(next <= text.len().max(cursor));
        let (_, next) = extract_items(&text, 0);
        assert!(next <= text.len());
    }
}

const STRING_PIECES: &[&str] = &[
    "a", "Z", " ", "'", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{7f}", "é", "中", "😀", "\u{2028}", "{", "]", "\u{A0}",
];

fn random_string(rng: &mut Rng) -> String {
    (0..rng.below(6)).map(|_| STRING_PIECES[rng.below(STRING_PIECES.len())]).collect()
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth >= 4 { 6 } else { 8 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 1),
        2 => json!(rng.next() >> rng.below(64)),
        3 => json!(-i64::try_from(rng.next() >> (1 + rng.below(63))).unwrap_or(0)),
        4 => {
            let f = f64::from_bits(rng.next());
            if f.is_finite() { json!(f) } else { json!(f64::from(u32::try_from(rng.below(1000)).unwrap_or(0)) / 8.0) }
        }
        5 => Value::String(random_string(rng)),
        6 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::Object((0..rng.below(4)).map(|_| (random_string(rng), random_value(rng, depth + 1))).collect()),
    }
}

/// Writes `value` as JSON5 using many of its extensions.
fn write_json5(rng: &mut Rng, value: &Value, out: &mut String) {
    let trivia = |rng: &mut Rng, out: &mut String| match rng.below(8) {
        0 => out.push_str(" /* c */ "),
        1 => out.push_str(" // c\n"),
        2 => out.push('\u{A0}'),
        _ => {}
    };
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) if rng.below(2) == 0 => out.push_str(&format!("0x{u:X}")),
            (Some(u), _) if rng.below(2) == 0 => out.push_str(&format!("+{u}")),
            (None, Some(i)) if rng.below(2) == 0 => out.push_str(&format!("-0x{:x}", i.unsigned_abs())),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => {
            out.push('\'');
            for c in s.chars() {
                match c {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str(if rng.below(2) == 0 { "\\n" } else { "\\x0A" }),
                    c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    '😀' if rng.below(2) == 0 => out.push_str("\\uD83D\\uDE00"),
                    c => out.push(c),
                }
            }
            out.push('\'');
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                trivia(rng, out);
                write_json5(rng, item, out);
                out.push(',');
            }
            if !items.is_empty() && rng.below(2) == 0 {
                out.pop();
            }
            trivia(rng, out);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (key, item) in map {
                trivia(rng, out);
                let identifier = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && key.chars().all(|c| c.is_ascii_alphanumeric());
                if identifier {
                    out.push_str(key);
                } else {
                    out.push_str(&Value::String(key.clone()).to_string());
                }
                out.push(':');
                trivia(rng, out);
                write_json5(rng, item, out);
                out.push(',');
            }
            if !map.is_empty() && rng.below(2) == 0 {
                out.pop();
            }
            trivia(rng, out);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[test]
fn random_documents_round_trip_and_all_prefixes_parse() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for round in 0..300 {
        let value = random_value(&mut rng, 0);
        let compact = value.to_string();
        let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
        let mut json5 = String::new();
        write_json5(&mut rng, &value, &mut json5);
        for doc in [&compact, &pretty, &json5] {
            assert_eq!(parse_json5(doc).as_ref(), Some(&value), "{doc}");
            assert_eq!(parse_partial_json(doc).as_ref(), Some(&value), "{doc}");
        }
        if value.is_array() || value.is_object() {
            let prose = format!("Sure, here it is:\n```json\n{pretty}\n```\nAnything else?");
            assert_eq!(extract_json(&prose).as_ref(), Some(&value), "{prose}");
            // Every prefix of a container document yields a container.
            if round % 3 == 0 {
                for doc in [&compact, &json5] {
                    for len in prefix_lengths(doc).skip(1) {
                        let prefix = doc.get(..len).unwrap_or_default();
                        let parsed = parse_partial_json(prefix);
                        assert!(matches!(parsed, Some(Value::Array(_) | Value::Object(_))), "{prefix:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn fuzz_all_prefixes_and_cursors_never_panic() {
    let text = format!("Intro ✓ {SAMPLE} outro [{{\"a\": \"]\\\"\"}}, {{\"b\": [1, {{}}]}}]");
    for len in prefix_lengths(&text) {
        let prefix = text.get(..len).unwrap_or_default();
        let _ = parse_partial_json(prefix);
        let _ = parse_json5(prefix);
        let _ = extract_json(prefix);
        for cursor in [0, 1, len / 2, len, len + 5] {
            let _ = extract_items(prefix, cursor);
        }
    }
    // Cursors inside multi-byte characters are tolerated too.
    for cursor in 0..text.len() {
        let _ = extract_items(&text, cursor);
    }
}
