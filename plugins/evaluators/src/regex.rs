//! `genkitEval/regex`: the reference is a regular expression that must match somewhere in the
//! output (JS `new RegExp(reference).test(output)`).
//!
//! Patterns are JavaScript patterns (no flags). They run on `fancy-regex`, which has
//! look-around and backreferences; [`translate`] first rewrites the constructs whose meaning
//! differs between the two syntaxes, so that a pattern matches what it matches in JS:
//!
//! | JS | becomes | why |
//! |---|---|---|
//! | `\d`, `\w`, `\D`, `\W` | ASCII classes | Rust's are Unicode-aware |
//! | `\b`, `\B` | ASCII look-around | same |
//! | `.` | `[^\n\r\u2028\u2029]` | JS `.` stops at every line terminator |
//! | `[^]`, `[]` | any character, nothing | not valid in Rust |
//! | `[` `&` `~` inside a class, `--` | escaped | set operations in Rust |
//! | `[\b]` | backspace | |
//! | `{` not starting a quantifier, `}` | escaped | literal in JS, an error in Rust |
//! | `\0`, `\cX`, `\uXXXX`, `\/` | `\x{…}`, `/` | escapes Rust does not know |

use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::{Error, Result};

use crate::{data, score};

const WORD: &str = "0-9A-Za-z_";
const WORD_BOUNDARY: &str = "(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))";
const NOT_WORD_BOUNDARY: &str = "(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))";

/// Scores one data point.
///
/// # Errors
/// `INVALID_ARGUMENT` when the output or the reference is missing, the reference is not a
/// string or not a valid pattern, or matching gives up (catastrophic backtracking).
pub(crate) fn score(d: &BaseDataPoint) -> Result<Score> {
    let output = data::as_string(data::output(d)?);
    let pattern = data::reference_str(d, "regex")?;
    let re = compile(pattern)?;
    let matched = re
        .is_match(&output)
        .map_err(|e| Error::invalid_argument(format!("matching /{pattern}/ failed: {e}")).with_source(e))?;
    let why = format!("/{}/ does not match the output", score::excerpt(pattern, 200));
    Ok(score::boolean(matched, Some(why)))
}

/// Compiles a JS pattern.
///
/// # Errors
/// `INVALID_ARGUMENT` `Invalid regular expression: /<pattern>/: <reason>`.
pub(crate) fn compile(pattern: &str) -> Result<fancy_regex::Regex> {
    let invalid = |why: String| Error::invalid_argument(format!("Invalid regular expression: /{pattern}/: {why}"));
    let translated = translate(pattern).map_err(invalid)?;
    fancy_regex::Regex::new(&translated).map_err(|e| invalid(e.to_string()))
}

/// Rewrites a JS pattern into `fancy-regex` syntax with the same meaning (see the module docs).
///
/// # Errors
/// The reason, for a trailing `\`.
pub(crate) fn translate(js: &str) -> std::result::Result<String, String> {
    let chars: Vec<char> = js.chars().collect();
    let mut out = String::with_capacity(js.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    // Position in `out` of the last character emitted inside the current class, to spot `--`.
    let mut last_class_char: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            let Some(&e) = chars.get(i + 1) else {
                return Err("\\ at end of pattern".into());
            };
            i += 2;
            i = escape(&chars, i, e, in_class, &mut out);
            last_class_char = None;
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' | '&' | '~' => {
                    out.push('\\');
                    out.push(c);
                }
                '-' if last_class_char == Some('-') => out.push_str("\\-"),
                _ => out.push(c),
            }
            last_class_char = Some(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                    out.push_str("[\\s\\S]");
                    i += 3;
                } else if chars.get(i + 1) == Some(&']') {
                    out.push_str("[^\\s\\S]");
                    i += 2;
                } else {
                    in_class = true;
                    last_class_char = None;
                    out.push('[');
                    i += 1;
                    if chars.get(i) == Some(&'^') {
                        out.push('^');
                        i += 1;
                    }
                    // A `]` right after `[` or `[^` closes an empty class in JS; handled above
                    // for the two special forms, otherwise it is the usual closing bracket.
                }
            }
            '.' => {
                out.push_str("[^\\n\\r\\u{2028}\\u{2029}]");
                i += 1;
            }
            '{' => match quantifier_len(&chars[i..]) {
                Some(n) => {
                    out.extend(&chars[i..i + n]);
                    i += n;
                }
                None => {
                    out.push_str("\\{");
                    i += 1;
                }
            },
            '}' => {
                out.push_str("\\}");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Emits the translation of the escape `\e` (whose letter is at `i - 1`); returns the index
/// after it.
fn escape(chars: &[char], mut i: usize, e: char, in_class: bool, out: &mut String) -> usize {
    let class = |set: &str, negated: bool| match (in_class, negated) {
        (true, false) => set.to_owned(),
        (_, true) => format!("[^{set}]"),
        (false, false) => format!("[{set}]"),
    };
    match e {
        'd' => out.push_str(&class("0-9", false)),
        'D' => out.push_str(&class("0-9", true)),
        'w' => out.push_str(&class(WORD, false)),
        'W' => out.push_str(&class(WORD, true)),
        'b' if in_class => out.push_str("\\x08"),
        'b' => out.push_str(WORD_BOUNDARY),
        'B' if !in_class => out.push_str(NOT_WORD_BOUNDARY),
        '0' if !chars.get(i).is_some_and(char::is_ascii_digit) => out.push_str("\\x00"),
        'c' if chars.get(i).is_some_and(char::is_ascii_alphabetic) => {
            let code = (chars[i] as u32) % 32;
            out.push_str(&format!("\\x{{{code:x}}}"));
            i += 1;
        }
        'u' if chars.len() >= i + 4 && chars[i..i + 4].iter().all(char::is_ascii_hexdigit) => {
            let hex: String = chars[i..i + 4].iter().collect();
            out.push_str(&format!("\\x{{{hex}}}"));
            i += 4;
        }
        '/' => out.push('/'),
        // Identity escapes of characters that are not special in Rust either: JS lets any
        // non-alphanumeric character be escaped; Rust only its meta characters.
        c if !c.is_ascii_alphanumeric() && !is_rust_escapable(c) => out.push(c),
        c => {
            out.push('\\');
            out.push(c);
        }
    }
    i
}

/// Characters Rust's regex syntax accepts after `\` as a literal.
fn is_rust_escapable(c: char) -> bool {
    c.is_ascii_punctuation() || c == ' '
}

/// Length of a JS quantifier `{n}`, `{n,}` or `{n,m}` at the start of `s`, if there is one.
fn quantifier_len(s: &[char]) -> Option<usize> {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let start = *i;
        while s.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    if s.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    (s.get(i) == Some(&'}')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, text: &str) -> bool {
        compile(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")).is_match(text).unwrap()
    }

    #[test]
    fn js_semantics() {
        assert!(is_match("ba?a?a", "banana"));
        assert!(!is_match("^ba?a?a$", "banana"));
        // Look-around and backreferences.
        assert!(is_match(r"foo(?=bar)", "foobar"));
        assert!(!is_match(r"foo(?!bar)", "foobar"));
        assert!(is_match(r"(?<=\$)\d+", "cost: $42"));
        assert!(is_match(r"(\w)\1", "hello"));
        assert!(is_match(r"(?<q>['\x22]).*\k<q>", "say 'hi'"));
        // ASCII classes and word boundaries, as in JS.
        assert!(!is_match(r"^\d+$", "١٢٣"));
        assert!(!is_match(r"^\w+$", "héllo"));
        assert!(is_match(r"\bcat\b", "a cat."));
        // é is not a word character in JS: no boundary before it, one between x and é.
        assert!(!is_match(r"\bé", "é"));
        assert!(is_match(r"x\b", "xé"));
        assert!(is_match(r"[\w-]+@[\d.]+", "a-b@1.2"));
        assert!(is_match(r"^[^\W]+$", "abc_1"));
        // `.` stops at \r too; [^] matches anything.
        assert!(!is_match("a.b", "a\rb"));
        assert!(is_match("a[^]b", "a\nb"));
        assert!(!is_match("a[]b", "ab"));
        // Literal braces and brackets, escapes JS knows.
        assert!(is_match("{a}", "x{a}y"));
        assert!(is_match("a{2}", "aa"));
        assert!(is_match("a{,2}", "a{,2}"));
        assert!(is_match("[[]", "["));
        assert!(is_match("[a&&b]", "&"));
        assert!(is_match(r"\/path\/", "/path/"));
        assert!(is_match(r"\u0041\x42", "AB"));
        assert!(is_match(r"\cJ", "\n"));
        assert!(is_match(r"a\0", "a\0"));
        assert!(is_match(r"[\b]", "\u{8}"));
        assert!(is_match(r"\@\#", "@#"));
    }

    #[test]
    fn catastrophic_patterns_end() {
        // Backtracking is bounded: such a pattern either fails to match or gives up with an
        // error (the case's error), and never hangs the evaluation.
        for pattern in [r"^(a+)+\1b", r"^(a|aa)+(?=x)\1$", r"(?<=(a+)+)b"] {
            let d = BaseDataPoint {
                output: Some(serde_json::json!(format!("{}c", "a".repeat(40)))),
                reference: Some(serde_json::json!(pattern)),
                ..BaseDataPoint::default()
            };
            match score(&d) {
                Ok(s) => assert_eq!(s.status, Some(genkit_ai::evaluator::EvalStatus::Fail), "{pattern}"),
                Err(e) => assert!(e.message().starts_with(&format!("matching /{pattern}/ failed: ")), "{e}"),
            }
        }
    }

    #[test]
    fn invalid_patterns() {
        for p in ["(", "a)", "[a", "*a", "\\"] {
            let e = compile(p).unwrap_err();
            assert!(e.message().starts_with(&format!("Invalid regular expression: /{p}/")), "{p}: {e}");
        }
    }
}
