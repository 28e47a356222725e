//! Token counting (`POST /v1/messages/count_tokens`): how many input tokens a request would
//! use, system prompt, tools, images and documents included, without running the model.

use genkit_ai::ModelRequest;
use genkit_core::{Result, Status};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::messages::encode_for;
use crate::plugin::Anthropic;

/// Body fields `count_tokens` takes (the rest of a Messages request, such as `max_tokens`
/// or sampling options, it rejects).
const COUNTED: [&str; 10] = [
    "model",
    "messages",
    "system",
    "tools",
    "tool_choice",
    "thinking",
    "mcp_servers",
    "context_management",
    "output_config",
    "output_format",
];

impl Anthropic {
    /// The input tokens `request` would use with `model` (`claude-sonnet-4-5` or
    /// `anthropic/claude-sonnet-4-5`), as the API counts them: the request is encoded exactly
    /// as a generate call would send it.
    ///
    /// ```no_run
    /// # async fn demo() -> genkit_core::Result<()> {
    /// use genkit_ai::{Message, ModelRequest};
    /// use genkit_anthropic::Anthropic;
    /// let claude = Anthropic::new(); // also registered with Genkit, as a clone
    /// let req = ModelRequest { messages: vec![Message::user("Hello, Claude")], ..Default::default() };
    /// let n = claude.count_tokens("claude-haiku-4-5", &req).await?;
    /// println!("{n} input tokens");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` without an API key; the request's own encoding errors; HTTP
    /// errors as for generate calls.
    pub async fn count_tokens(&self, model: &str, request: &ModelRequest) -> Result<u64> {
        #[derive(Deserialize)]
        struct Count {
            input_tokens: u64,
        }
        let client = self.client()?;
        let enc = encode_for(&self.spec_for(model), self.behaviour(), request, false)?;
        let body = serde_json::to_value(&enc.body)
            .map_err(|e| genkit_core::Error::new(Status::Internal, format!("cannot encode the request: {e}")))?;
        let body: Map<String, Value> = match body {
            Value::Object(m) => m.into_iter().filter(|(k, _)| COUNTED.contains(&k.as_str())).collect(),
            _ => Map::new(),
        };
        let betas = client.merged_betas(&enc.betas);
        let resp = client.post_json("v1/messages/count_tokens", &body, enc.api_key.as_deref(), &betas).await?;
        Ok(client.json::<Count>(resp).await?.input_tokens)
    }
}
