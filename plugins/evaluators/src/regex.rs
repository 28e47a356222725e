//! `genkitEval/regex`: the reference is a regular expression that must match somewhere in the
//! output (JS `new RegExp(reference).test(output)`).
//!
//! Patterns are JavaScript patterns, compiled without flags by `regress`, an ECMAScript regex
//! engine, so they mean what they mean in JS: `\d`, `\w` and `\b` are ASCII, `\s` is Unicode
//! white space, `.` stops at every line terminator, `^` and `$` anchor the whole output, and
//! look-behind, named groups, backreferences and the web-compatibility syntax (`{` that starts
//! no quantifier, `\/`, `\cJ`, `[^]`, …) work. One difference remains: the output is read as
//! Unicode characters, as JS reads it with the `u` flag, so `.` matches a whole emoji where JS
//! without flags sees two UTF-16 code units.
//!
//! A backtracking engine can take exponential time (`^(a+)+b` on a long run of `a`), and
//! `regress` cannot be interrupted. Each match therefore runs on a thread of its own; a case
//! whose match has not finished within [`TIME_LIMIT`] fails with `INVALID_ARGUMENT`, while its
//! thread runs on in the background until the match ends or the process exits.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::{Error, Result};
use regress::Regex;

use crate::{data, score};

/// Longest a match may run.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// Scores one data point.
///
/// # Errors
/// `INVALID_ARGUMENT` when the output or the reference is missing, the reference is not a
/// string or not a valid pattern, or matching takes longer than [`TIME_LIMIT`].
pub(crate) fn score(d: &BaseDataPoint) -> Result<Score> {
    score_within(d, TIME_LIMIT)
}

fn score_within(d: &BaseDataPoint, limit: Duration) -> Result<Score> {
    let output = data::as_string(data::output(d)?);
    let pattern = data::reference_str(d, "regex")?;
    let re = compile(pattern)?;
    let matched = is_match_within(re, output, limit)
        .map_err(|why| Error::invalid_argument(format!("matching /{pattern}/ failed: {why}")))?;
    let why = format!("/{}/ does not match the output", score::excerpt(pattern, 200));
    Ok(score::boolean(matched, Some(why)))
}

/// Compiles a JS pattern (no flags).
///
/// # Errors
/// `INVALID_ARGUMENT` `Invalid regular expression: /<pattern>/: <reason>`.
fn compile(pattern: &str) -> Result<Regex> {
    Regex::new(pattern)
        .map_err(|e| Error::invalid_argument(format!("Invalid regular expression: /{pattern}/: {e}")).with_source(e))
}

/// Whether `re` matches somewhere in `text`, found on a thread of its own; the reason when
/// that takes longer than `limit` (the thread is left to finish) or the thread fails.
fn is_match_within(re: Regex, text: String, limit: Duration) -> std::result::Result<bool, String> {
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("genkitEval-regex".to_owned())
        .spawn(move || {
            // The receiver is gone once the case has given up; nothing is waiting for the answer.
            let _ = tx.send(re.find(&text).is_some());
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    rx.recv_timeout(limit).map_err(|e| match e {
        RecvTimeoutError::Timeout => format!("gave up after {limit:?}"),
        RecvTimeoutError::Disconnected => "the regex engine failed".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use genkit_ai::evaluator::EvalStatus;
    use serde_json::json;

    use super::*;

    fn is_match(pattern: &str, text: &str) -> bool {
        let re = compile(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        is_match_within(re, text.to_owned(), TIME_LIMIT).unwrap()
    }

    fn point(output: &str, pattern: &str) -> BaseDataPoint {
        BaseDataPoint { output: Some(json!(output)), reference: Some(json!(pattern)), ..BaseDataPoint::default() }
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
    fn no_flags() {
        // Case-sensitive, `^`/`$` anchor the whole text (not lines), `.` is not dotAll.
        assert!(!is_match("abc", "ABC"));
        assert!(!is_match("^b", "a\nb"));
        assert!(!is_match("a$", "a\nb"));
        assert!(!is_match("a.b", "a\nb"));
        assert!(!is_match("a.b", "a\u{2028}b"));
        // Flags cannot be smuggled in: `(?i)` is a syntax error in JS as well; the ES2025
        // modifier group `(?i:…)` scopes a flag to its group.
        assert!(compile("(?i)abc").is_err());
        assert!(is_match("(?i:a)bc", "Abc"));
        assert!(!is_match("(?i:a)bc", "ABC"));
    }

    #[test]
    fn lookbehind_and_named_groups() {
        // Variable-width look-behind, with captures inside, as in JS.
        assert!(is_match(r"(?<=a+)b", "aaab"));
        assert!(!is_match(r"(?<!x)y", "xy"));
        assert!(is_match(r"(?<!x)y", "zy"));
        assert!(is_match(r"(?<=(\d+)-)\1$", "12-12"));
        assert!(is_match(r"(?<year>\d{4})-\k<year>", "2024-2024"));
        assert!(!is_match(r"(?<year>\d{4})-\k<year>", "2024-2025"));
        // Without named groups `\k` is an identity escape (web compatibility).
        assert!(is_match(r"\k<x>", "k<x>"));
        assert!(compile("(?<a>x)(?<a>y)").is_err());
    }

    #[test]
    fn unicode_classes_as_in_js() {
        // `\d` and `\w` stay ASCII (Arabic-Indic and fullwidth digits, long s are not).
        assert!(!is_match(r"\d", "٣"));
        assert!(!is_match(r"\d", "１"));
        assert!(!is_match(r"^\w$", "ſ"));
        // `\s` is Unicode white space, as in JS.
        for space in ["\u{A0}", "\u{FEFF}", "\u{2028}", "\u{3000}"] {
            assert!(is_match(r"^\s$", space), "{space:?}");
        }
        // Without the `u` flag `\p{L}` is `p{L}`.
        assert!(is_match(r"\p{L}", "p{L}"));
        // The documented difference: characters, not UTF-16 code units.
        assert!(is_match("^.$", "😀"));
        assert!(is_match(r"^\ud83d\ude00$", "😀"));
    }

    #[test]
    fn catastrophic_patterns_give_up() {
        // `^(a+)+b` backtracks exponentially on a run of `a` without `b`: the case gives up
        // when the limit is reached and reports it as its error.
        let d = point(&format!("{}c", "a".repeat(40)), "^(a+)+b");
        let e = score_within(&d, Duration::from_millis(50)).unwrap_err();
        assert_eq!(e.message(), "matching /^(a+)+b/ failed: gave up after 50ms");
        // The same engine answers quickly when backtracking stays small.
        let s = score_within(&point(&format!("{}b", "a".repeat(40)), "^(a+)+b"), TIME_LIMIT).unwrap();
        assert_eq!(s.status, Some(EvalStatus::Pass));
    }

    #[test]
    fn invalid_patterns() {
        for p in ["(", "a)", "[a", "*a", "\\", "a{2,1}", "[z-a]", "x{2}{3}"] {
            let e = compile(p).unwrap_err();
            assert!(e.message().starts_with(&format!("Invalid regular expression: /{p}/: ")), "{p}: {e}");
        }
    }
}
