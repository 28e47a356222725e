//! `genkitEval/faithfulness`: how much of the output the context supports. The judge first
//! splits the output into statements, then gives a verdict on each against the context;
//! `score = supported / statements`, PASS when above 0.5.

use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::Result;
use serde_json::{Value, json};

use crate::judge::{Judge, JudgePrompt, Malformed, Reply, lenient_bool};
use crate::{data, score};

/// The metric with its two prompts.
#[derive(Debug, Clone)]
pub(crate) struct Faithfulness {
    statements: JudgePrompt,
    verdicts: JudgePrompt,
}

/// One verdict of the judge.
#[derive(Debug)]
struct Verdict {
    supported: bool,
    reason: String,
}

impl Faithfulness {
    /// Compiles the prompts.
    ///
    /// # Errors
    /// `INTERNAL` when a prompt does not compile.
    pub(crate) fn new() -> Result<Self> {
        Ok(Faithfulness {
            statements: JudgePrompt::load("faithfulness_statements.prompt")?,
            verdicts: JudgePrompt::load("faithfulness_verdicts.prompt")?,
        })
    }

    /// Scores one data point.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the input, the output or the context is missing; the judge
    /// call's errors. Unreadable replies are an `UNKNOWN` score.
    pub(crate) async fn score(&self, judge: &Judge<'_>, d: &BaseDataPoint) -> Result<Score> {
        let question = data::text_of(data::input(d)?);
        let answer = data::text_of(data::output(d)?);
        let context = data::context(d)?;
        let reply = judge.ask_json(&self.statements, json!({"question": question, "answer": answer})).await?;
        let statements = match read_statements(&reply) {
            Ok(s) if s.is_empty() => return Ok(score::unknown("the judge found no statements in the output")),
            Ok(s) => s,
            Err(why) => return Ok(score::unknown(why)),
        };
        let vars = json!({"context": context.join("\n"), "statements": statements});
        let reply = judge.ask_json(&self.verdicts, vars).await?;
        let verdicts = match read_verdicts(&reply, statements.len()) {
            Ok(v) => v,
            Err(why) => return Ok(score::unknown(why)),
        };
        let supported = verdicts.iter().filter(|v| v.supported).count();
        let value = supported as f64 / verdicts.len() as f64;
        let reasons: Vec<&str> = verdicts.iter().map(|v| v.reason.as_str()).filter(|r| !r.is_empty()).collect();
        Ok(score::number(value, value > 0.5, Some(reasons.join("; "))))
    }
}

fn read_statements(reply: &Reply) -> std::result::Result<Vec<String>, Malformed> {
    reply
        .array_field("statements")?
        .iter()
        .map(|s| match s {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err(reply.problem("has a statement that is not a non-empty string")),
        })
        .collect()
}

/// One verdict per statement, in order.
fn read_verdicts(reply: &Reply, statements: usize) -> std::result::Result<Vec<Verdict>, Malformed> {
    let items = reply.array_field("responses")?;
    if items.len() != statements {
        return Err(reply.problem(&format!("has {} verdicts for {statements} statements", items.len())));
    }
    items
        .iter()
        .map(|item| {
            let supported = item
                .get("verdict")
                .and_then(lenient_bool)
                .ok_or_else(|| reply.problem("has a response without a true or false \"verdict\""))?;
            let reason = item.get("reason").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
            Ok(Verdict { supported, reason })
        })
        .collect()
}
