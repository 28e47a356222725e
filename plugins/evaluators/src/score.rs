//! Building scores: pass/fail booleans, numeric scores with a threshold, and `UNKNOWN` scores
//! for judge replies that cannot be read.

use genkit_ai::evaluator::{EvalStatus, Score, ScoreValue};
use serde_json::{Map, Value};

/// PASS when `ok`, else FAIL.
pub(crate) fn status(ok: bool) -> EvalStatus {
    if ok { EvalStatus::Pass } else { EvalStatus::Fail }
}

/// `details: {reasoning}`.
pub(crate) fn reasoning(text: impl Into<String>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("reasoning".into(), Value::String(text.into()));
    m
}

/// A boolean score: PASS when true; `details.reasoning` on failure when given.
pub(crate) fn boolean(ok: bool, why_not: Option<String>) -> Score {
    Score {
        score: Some(ScoreValue::Bool(ok)),
        status: Some(status(ok)),
        details: if ok { None } else { why_not.map(reasoning) },
        ..Score::default()
    }
}

/// A numeric score with its status and reasoning.
pub(crate) fn number(value: f64, pass: bool, why: Option<String>) -> Score {
    Score {
        score: Some(ScoreValue::Number(value)),
        status: Some(status(pass)),
        details: why.map(reasoning),
        ..Score::default()
    }
}

/// A score the judge's reply did not allow to compute: `UNKNOWN`, with the problem in `error`.
pub(crate) fn unknown(error: impl Into<String>) -> Score {
    Score { status: Some(EvalStatus::Unknown), error: Some(error.into()), ..Score::default() }
}

/// Shortens a text shown in an error or reasoning to about `max` characters.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    format!("{cut}…")
}
