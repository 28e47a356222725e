//! `genkitEval/answer_accuracy`: how well the output matches the reference. The judge rates
//! the output against the reference, then the reference against the output, each on JS's
//! scale (4 equivalent, 2 partly, 0 not); `score = (first + second) / 8`, PASS when at least 0.5.

use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::Result;
use serde_json::json;

use crate::judge::{Judge, JudgePrompt, Malformed};
use crate::{data, score};

/// The highest rating.
const MAX_RATING: u32 = 4;

/// The metric with its prompt.
#[derive(Debug, Clone)]
pub(crate) struct AnswerAccuracy {
    prompt: JudgePrompt,
}

impl AnswerAccuracy {
    /// Compiles the prompt.
    ///
    /// # Errors
    /// `INTERNAL` when the prompt does not compile.
    pub(crate) fn new() -> Result<Self> {
        Ok(AnswerAccuracy { prompt: JudgePrompt::load("answer_accuracy.prompt")? })
    }

    /// Scores one data point.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the output or the reference is missing; the judge call's
    /// errors. A reply without a rating is an `UNKNOWN` score.
    pub(crate) async fn score(&self, judge: &Judge<'_>, d: &BaseDataPoint) -> Result<Score> {
        let output = data::text_of(data::output(d)?);
        let reference = data::text_of(data::reference(d)?);
        let question = d.input.as_ref().filter(|v| !v.is_null()).map(data::text_of).unwrap_or_default();
        let ask = |answer: &str, reference: &str| {
            judge.ask_text(&self.prompt, json!({"question": question, "answer": answer, "reference": reference}))
        };
        let original = match rating(&ask(&output, &reference).await?) {
            Ok(r) => r,
            Err(why) => return Ok(score::unknown(format!("rating the output against the reference: {why}"))),
        };
        let inverted = match rating(&ask(&reference, &output).await?) {
            Ok(r) => r,
            Err(why) => return Ok(score::unknown(format!("rating the reference against the output: {why}"))),
        };
        let value = f64::from(original + inverted) / f64::from(2 * MAX_RATING);
        let why = format!("ratings: {original} (output against reference), {inverted} (reference against output)");
        Ok(score::number(value, value >= 0.5, Some(why)))
    }
}

/// The first whole number of the reply (like JS `parseInt`, but anywhere in the text), which
/// must be a rating from 0 to 4.
fn rating(reply: &str) -> std::result::Result<u32, Malformed> {
    let shown = score::excerpt(reply, 200);
    let digits: String = reply.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    let n: u32 = digits.parse().map_err(|_| format!("the judge's reply has no rating: {shown:?}"))?;
    if n > MAX_RATING {
        return Err(format!("the judge's rating {n} is not between 0 and {MAX_RATING}: {shown:?}"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings() {
        assert_eq!(rating("4"), Ok(4));
        assert_eq!(rating(" 2\n"), Ok(2));
        assert_eq!(rating("Rating: 0"), Ok(0));
        assert_eq!(rating("3.5"), Ok(3));
        assert!(rating("excellent").unwrap_err().contains("no rating"));
        assert!(rating("").unwrap_err().contains("no rating"));
        assert!(rating("10").unwrap_err().contains("not between 0 and 4"));
        assert!(rating("99999999999999999999").is_err());
    }
}
