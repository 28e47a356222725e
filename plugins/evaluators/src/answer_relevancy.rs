//! `genkitEval/answer_relevancy`: how well the output answers the input. The judge writes the
//! question the output answers and says whether the output answers the input and whether it is
//! noncommittal; `score = |cosine(embed(input), embed(generated question))|`, minus 0.5 (not
//! below 0) when not answered, 0 when noncommittal; PASS when above 0.5.

use genkit_ai::embedder::{EmbedParams, embed};
use genkit_ai::evaluator::{BaseDataPoint, Score};
use genkit_core::{Error, Registry, Result};
use serde_json::json;

use crate::config::EmbedderChoice;
use crate::judge::{Judge, JudgePrompt};
use crate::{data, score};

/// The metric with its prompt.
#[derive(Debug, Clone)]
pub(crate) struct AnswerRelevancy {
    prompt: JudgePrompt,
}

impl AnswerRelevancy {
    /// Compiles the prompt.
    ///
    /// # Errors
    /// `INTERNAL` when the prompt does not compile.
    pub(crate) fn new() -> Result<Self> {
        Ok(AnswerRelevancy { prompt: JudgePrompt::load("answer_relevancy.prompt")? })
    }

    /// Scores one data point.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` when the input or the output is missing; the judge's and the
    /// embedder's errors. An unreadable judge reply is an `UNKNOWN` score.
    pub(crate) async fn score(&self, judge: &Judge<'_>, embedder: &EmbedderChoice, d: &BaseDataPoint) -> Result<Score> {
        let question = data::text_of(data::input(d)?);
        let answer = data::text_of(data::output(d)?);
        let context = data::optional_context(d);
        let mut vars = json!({"question": question, "answer": answer});
        if !context.is_empty() {
            vars["context"] = json!(context.join(" "));
        }
        let reply = judge.ask_json(&self.prompt, vars).await?;
        let read = || -> std::result::Result<(String, bool, bool), String> {
            Ok((reply.string_field("question")?, reply.bool_field("answered")?, reply.bool_field("noncommittal")?))
        };
        let (generated, answered, noncommittal) = match read() {
            Ok(r) => r,
            Err(why) => return Ok(score::unknown(why)),
        };
        let (a, b) = futures::try_join!(
            embed_text(judge.registry, embedder, &question),
            embed_text(judge.registry, embedder, &generated)
        )?;
        let similarity = cosine(&a, &b)?.abs();
        let penalty = if answered { 0.0 } else { 0.5 };
        let adjusted = (similarity - penalty).max(0.0);
        let value = if noncommittal { 0.0 } else { adjusted };
        let why = if noncommittal {
            "Noncommittal"
        } else if answered {
            "Cosine similarity"
        } else {
            "Cosine similarity with penalty for insufficient answer"
        };
        Ok(score::number(value, value > 0.5, Some(why.to_owned())))
    }
}

async fn embed_text(registry: &Registry, embedder: &EmbedderChoice, text: &str) -> Result<Vec<f32>> {
    let mut params = EmbedParams::new(embedder.name.as_str(), text);
    params.options.clone_from(&embedder.options);
    let mut embeddings = embed(registry, params).await?;
    if embeddings.is_empty() {
        return Err(Error::internal(format!("embedder {} returned no embedding", embedder.name)));
    }
    Ok(embeddings.swap_remove(0).embedding)
}

/// Cosine similarity, computed in `f64`.
///
/// # Errors
/// `INVALID_ARGUMENT` when the vectors differ in length or one is all zeros.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::invalid_argument(format!(
            "the embeddings of the question and of the generated question differ in length ({} and {})",
            a.len(),
            b.len()
        )));
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return Err(Error::invalid_argument("Unable to compute cosine similarity: an embedding is all zeros"));
    }
    Ok(dot / (na.sqrt() * nb.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_in_f64() {
        assert_eq!(cosine(&[3.0, 4.0], &[4.0, 3.0]).unwrap(), 0.96);
        assert_eq!(cosine(&[1.0, 0.0], &[-2.0, 0.0]).unwrap(), -1.0);
        assert!(cosine(&[1.0], &[1.0, 0.0]).is_err());
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_err());
    }
}
