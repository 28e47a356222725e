//! The Message Batches API: many Messages requests processed asynchronously at half price.
//! Create a batch from Genkit requests, poll it until it ends, then read each request's
//! result as a Genkit response or error.

use std::time::Duration;

use genkit_ai::{ModelRequest, ModelResponse};
use genkit_core::{Error, Result, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{api_error, bad_response};
use crate::messages::decode::decode_message;
use crate::messages::encode_for;
use crate::messages::wire::MessageResponse;
use crate::plugin::Anthropic;

/// One request of a batch: an id of your choosing, the model and the Genkit request.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    /// `custom_id`: how its result is found (unique in the batch).
    pub custom_id: String,
    /// Model id (`claude-haiku-4-5` or `anthropic/claude-haiku-4-5`).
    pub model: String,
    /// The request, encoded as a generate call would send it.
    pub request: ModelRequest,
}

impl BatchRequest {
    /// A batch request.
    pub fn new(custom_id: impl Into<String>, model: impl Into<String>, request: ModelRequest) -> BatchRequest {
        BatchRequest { custom_id: custom_id.into(), model: model.into(), request }
    }
}

/// How many requests of a batch are in each state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    /// Still processing.
    #[serde(default)]
    pub processing: u64,
    /// Succeeded.
    #[serde(default)]
    pub succeeded: u64,
    /// Failed.
    #[serde(default)]
    pub errored: u64,
    /// Canceled before processing.
    #[serde(default)]
    pub canceled: u64,
    /// Expired (batches end after 24 hours).
    #[serde(default)]
    pub expired: u64,
}

/// A message batch as the API describes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageBatch {
    /// `msgbatch_…`.
    pub id: String,
    /// `in_progress`, `canceling` or `ended`.
    pub processing_status: String,
    /// Requests per state.
    #[serde(default)]
    pub request_counts: BatchCounts,
    /// RFC 3339 creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When processing ended.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// When the batch expires.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// When cancellation was asked.
    #[serde(default)]
    pub cancel_initiated_at: Option<String>,
    /// When the batch was archived.
    #[serde(default)]
    pub archived_at: Option<String>,
    /// Where the results are, once the batch has ended.
    #[serde(default)]
    pub results_url: Option<String>,
}

impl MessageBatch {
    /// Whether processing has ended (results can be read).
    pub fn is_ended(&self) -> bool {
        self.processing_status == "ended"
    }
}

/// What happened to one request of a batch.
#[derive(Debug)]
#[non_exhaustive]
pub enum BatchOutcome {
    /// The model answered.
    Succeeded(Box<ModelResponse>),
    /// The request failed (typed as an HTTP error of that kind would be).
    Errored(Error),
    /// The batch was canceled before this request ran.
    Canceled,
    /// The batch expired before this request ran.
    Expired,
}

/// One line of a batch's results.
#[derive(Debug)]
pub struct BatchResult {
    /// The request's `custom_id`.
    pub custom_id: String,
    /// Its outcome.
    pub outcome: BatchOutcome,
}

/// Parses a batch results file (JSON Lines, in any order).
pub(crate) fn parse_results(origin: &str, body: &[u8]) -> Result<Vec<BatchResult>> {
    #[derive(Deserialize)]
    struct Line {
        custom_id: String,
        result: Value,
    }
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let Line { custom_id, result } = serde_json::from_str(line).map_err(|e| bad_response(origin, e))?;
        let outcome = match result.get("type").and_then(Value::as_str) {
            Some("succeeded") => {
                let m: MessageResponse = serde_json::from_value(result.get("message").cloned().unwrap_or(Value::Null))
                    .map_err(|e| bad_response(origin, e))?;
                BatchOutcome::Succeeded(Box::new(decode_message(m)))
            }
            Some("errored") => BatchOutcome::Errored(api_error(
                origin,
                &format!("batch request '{custom_id}' failed"),
                result.get("error").unwrap_or(&Value::Null),
            )),
            Some("canceled") => BatchOutcome::Canceled,
            Some("expired") => BatchOutcome::Expired,
            other => return Err(bad_response(origin, format!("unknown batch result type {other:?}"))),
        };
        out.push(BatchResult { custom_id, outcome });
    }
    Ok(out)
}

impl Anthropic {
    /// Creates a batch (`POST /v1/messages/batches`); each request is encoded as a generate
    /// call would send it (streaming off).
    ///
    /// ```no_run
    /// # async fn demo() -> genkit_core::Result<()> {
    /// use std::time::Duration;
    /// use genkit_ai::{Message, ModelRequest};
    /// use genkit_anthropic::{Anthropic, BatchOutcome, BatchRequest};
    /// let claude = Anthropic::new();
    /// let ask = |q: &str| ModelRequest { messages: vec![Message::user(q)], ..Default::default() };
    /// let batch = claude
    ///     .create_batch(vec![
    ///         BatchRequest::new("q1", "claude-haiku-4-5", ask("Capital of France?")),
    ///         BatchRequest::new("q2", "claude-haiku-4-5", ask("Capital of Japan?")),
    ///     ])
    ///     .await?;
    /// let batch = claude.wait_for_batch(&batch.id, Duration::from_secs(30)).await?;
    /// for r in claude.batch_results(&batch).await? {
    ///     if let BatchOutcome::Succeeded(resp) = r.outcome {
    ///         println!("{}: {}", r.custom_id, resp.text());
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A request that cannot be encoded (`INVALID_ARGUMENT`), HTTP errors.
    pub async fn create_batch(&self, requests: Vec<BatchRequest>) -> Result<MessageBatch> {
        let client = self.client()?;
        let mut betas = Vec::new();
        let mut items = Vec::with_capacity(requests.len());
        for r in requests {
            let enc = encode_for(&self.spec_for(&r.model), self.behaviour(), &r.request, false)?;
            betas.extend(enc.betas);
            items.push(json!({ "custom_id": r.custom_id, "params": enc.body }));
        }
        let betas = client.merged_betas(&betas);
        let resp = client.post_json("v1/messages/batches", &json!({ "requests": items }), None, &betas).await?;
        client.json(resp).await
    }

    /// The batch's current state (`GET /v1/messages/batches/{id}`).
    ///
    /// # Errors
    /// HTTP errors (`NOT_FOUND` for an unknown id).
    pub async fn get_batch(&self, id: &str) -> Result<MessageBatch> {
        let client = self.client()?;
        let resp = client.get(&format!("v1/messages/batches/{id}"), &[], &client.betas).await?;
        client.json(resp).await
    }

    /// Asks to cancel the batch (`POST /v1/messages/batches/{id}/cancel`).
    ///
    /// # Errors
    /// HTTP errors.
    pub async fn cancel_batch(&self, id: &str) -> Result<MessageBatch> {
        let client = self.client()?;
        let resp = client.post_empty(&format!("v1/messages/batches/{id}/cancel"), &client.betas).await?;
        client.json(resp).await
    }

    /// Polls the batch every `interval` until it has ended.
    ///
    /// # Errors
    /// As [`Anthropic::get_batch`].
    pub async fn wait_for_batch(&self, id: &str, interval: Duration) -> Result<MessageBatch> {
        loop {
            let b = self.get_batch(id).await?;
            if b.is_ended() {
                return Ok(b);
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// The results of an ended batch, one per request, as Genkit responses or errors.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` when the batch has not ended (no `results_url`); HTTP errors; an
    /// unreadable results file (`INTERNAL`).
    pub async fn batch_results(&self, batch: &MessageBatch) -> Result<Vec<BatchResult>> {
        let client = self.client()?;
        let Some(url) = &batch.results_url else {
            return Err(Error::new(
                Status::FailedPrecondition,
                format!("batch {} has no results yet (status {})", batch.id, batch.processing_status),
            )
            .with_origin(client.origin.clone()));
        };
        let resp = client.get_url(url, &client.betas).await?;
        let body = client.bytes(resp).await?;
        parse_results(&client.origin, &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_lines_become_outcomes() {
        let body = concat!(
            r#"{"custom_id":"a","result":{"type":"succeeded","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"Paris"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":1}}}}"#,
            "\n",
            r#"{"custom_id":"b","result":{"type":"errored","error":{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}}}"#,
            "\n\n",
            r#"{"custom_id":"c","result":{"type":"canceled"}}"#,
            "\n",
            r#"{"custom_id":"d","result":{"type":"expired"}}"#,
        );
        let r = parse_results("anthropic", body.as_bytes()).unwrap();
        assert_eq!(r.len(), 4);
        assert!(matches!(&r[0].outcome, BatchOutcome::Succeeded(m) if m.text() == "Paris"));
        match &r[1].outcome {
            BatchOutcome::Errored(e) => {
                assert_eq!(e.status(), Status::InvalidArgument);
                assert!(e.message().contains("max_tokens: too large"), "{}", e.message());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(r[2].outcome, BatchOutcome::Canceled));
        assert!(matches!(r[3].outcome, BatchOutcome::Expired));
        assert!(parse_results("a", b"{\"custom_id\":\"x\",\"result\":{\"type\":\"new\"}}").is_err());
    }
}
