//! Gemini `GenerateContentResponse` → Genkit: candidates → messages, finish reasons, usage,
//! and the streaming aggregator that merges SSE chunks into the final response.

use genkit_ai::{Candidate, FinishReason, GenerationUsage, Message, ModelResponse, ModelResponseChunk, Part, Role};
use genkit_core::{Error, Result, Status};
use genkit_http::{Decoder, SseDecoder};
use serde_json::{Map, Value, json};

use crate::encode::{THOUGHT_SIGNATURE_KEY, tool_name_from_wire};

/// Gemini's `finishReason` as a Genkit finish reason (the table of Genkit JS).
pub fn finish_reason(reason: &str) -> FinishReason {
    match reason {
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "LANGUAGE" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            FinishReason::Blocked
        }
        "MALFORMED_FUNCTION_CALL" | "MISSING_THOUGHT_SIGNATURE" | "OTHER" | "UNEXPECTED_TOOL_CALL" => {
            FinishReason::Other
        }
        _ => FinishReason::Unknown,
    }
}

/// `usageMetadata` as Genkit usage (tokens, thoughts, cached content; the raw counts also in
/// `custom`).
pub fn usage(meta: &Value) -> GenerationUsage {
    let n = |k: &str| meta.get(k).and_then(Value::as_f64);
    GenerationUsage {
        input_tokens: n("promptTokenCount"),
        output_tokens: n("candidatesTokenCount"),
        total_tokens: n("totalTokenCount"),
        thoughts_tokens: n("thoughtsTokenCount"),
        cached_content_tokens: n("cachedContentTokenCount"),
        ..GenerationUsage::default()
    }
}

/// One Gemini part as a Genkit part (`None` for an empty part).
pub fn decode_part(p: &Value) -> Option<Part> {
    let obj = p.as_object()?;
    let mut part = if let Some(text) = obj.get("text").and_then(Value::as_str) {
        if obj.get("thought").and_then(Value::as_bool) == Some(true) { Part::reasoning(text) } else { Part::text(text) }
    } else if let Some(d) = obj.get("inlineData") {
        let mime = d.get("mimeType").and_then(Value::as_str).unwrap_or("application/octet-stream");
        let data = d.get("data").and_then(Value::as_str).unwrap_or("");
        // Raw PCM (the TTS models' audio) becomes a playable WAV.
        match crate::tts::pcm_to_wav_url(mime, data) {
            Some(url) => Part::media(url, Some("audio/wav".to_owned())),
            None => Part::media(format!("data:{mime};base64,{data}"), Some(mime.to_owned())),
        }
    } else if let Some(d) = obj.get("fileData") {
        let uri = d.get("fileUri").and_then(Value::as_str).unwrap_or("");
        Part::media(uri, d.get("mimeType").and_then(Value::as_str).map(str::to_owned))
    } else if let Some(c) = obj.get("functionCall") {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        let id = c.get("id").and_then(Value::as_str).map(str::to_owned);
        let mut part =
            Part::tool_request(tool_name_from_wire(name), Some(c.get("args").cloned().unwrap_or(json!({}))), id);
        crate::partial_args::decorate(&mut part, c);
        part
    } else if let Some(r) = obj.get("functionResponse") {
        let name = r.get("name").and_then(Value::as_str).unwrap_or("");
        let id = r.get("id").and_then(Value::as_str).map(str::to_owned);
        let out = r.get("response").map(|v| v.get("content").cloned().unwrap_or_else(|| v.clone()));
        Part::tool_response(tool_name_from_wire(name), out, id)
    } else {
        // executableCode, codeExecutionResult and parts this plugin does not know yet.
        let custom: Map<String, Value> =
            obj.iter().filter(|(k, _)| *k != "thoughtSignature").map(|(k, v)| (k.clone(), v.clone())).collect();
        if custom.is_empty() && !obj.contains_key("thoughtSignature") {
            return None;
        }
        Part { custom: Some(Box::new(custom)), ..Part::default() }
    };
    if let Some(sig) = obj.get("thoughtSignature").filter(|v| v.is_string()) {
        part = part.with_metadata(THOUGHT_SIGNATURE_KEY, sig.clone());
    }
    Some(part)
}

fn candidate_parts(c: &Value) -> Vec<Part> {
    c.pointer("/content/parts")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().filter_map(decode_part).collect())
        .unwrap_or_default()
}

fn candidate_custom(c: &Value) -> Option<Value> {
    let mut m = Map::new();
    for k in ["safetyRatings", "citationMetadata", "groundingMetadata", "urlContextMetadata", "finishMessage"] {
        if let Some(v) = c.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

/// The response's own fields and the first candidate's metadata (safety ratings, citations,
/// grounding), so a single-candidate answer keeps them.
fn response_custom(r: &Value, first: Option<&Value>) -> Option<Value> {
    let mut m = first.and_then(Value::as_object).cloned().unwrap_or_default();
    for k in ["promptFeedback", "modelVersion", "responseId"] {
        if let Some(v) = r.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    (!m.is_empty()).then_some(Value::Object(m))
}

fn message(parts: Vec<Part>) -> Message {
    Message { role: Role::Model, content: parts, metadata: None }
}

/// Builds the Genkit response from candidates' parts and the response's other fields.
fn assemble(cands: Vec<(Vec<Part>, Option<String>, Option<Value>)>, raw: &Value) -> ModelResponse {
    let mut resp = ModelResponse {
        usage: raw.get("usageMetadata").map(usage),
        custom: response_custom(raw, cands.first().and_then(|c| c.2.as_ref())),
        ..ModelResponse::default()
    };
    if cands.is_empty() {
        // No candidate: the prompt itself was blocked.
        let block = raw.pointer("/promptFeedback/blockReason").and_then(Value::as_str);
        resp.finish_reason = Some(if block.is_some() { FinishReason::Blocked } else { FinishReason::Unknown });
        resp.finish_message = block.map(|b| format!("the prompt was blocked: {b}"));
        return resp;
    }
    let many = cands.len() > 1;
    let mut list = Vec::new();
    for (i, (parts, reason, custom)) in cands.into_iter().enumerate() {
        let fr = reason.as_deref().map_or(FinishReason::Unknown, finish_reason);
        if i == 0 {
            resp.message = Some(message(parts.clone()));
            resp.finish_reason = Some(fr);
            resp.finish_message =
                custom.as_ref().and_then(|c| c.get("finishMessage")).and_then(Value::as_str).map(str::to_owned);
        }
        if many {
            list.push(Candidate {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                message: message(parts),
                usage: None,
                finish_reason: fr,
                finish_message: None,
                custom,
            });
        }
    }
    if many {
        resp.candidates = Some(list);
    }
    resp
}

/// Decodes a whole `GenerateContentResponse`.
pub fn decode_response(raw: &Value) -> ModelResponse {
    let cands = raw
        .get("candidates")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let reason = c.get("finishReason").and_then(Value::as_str).map(str::to_owned);
                    (candidate_parts(c), reason, candidate_custom(c))
                })
                .collect()
        })
        .unwrap_or_default();
    assemble(cands, raw)
}

/// Appends a streamed part, merging text into the previous part of the same kind (text with
/// text, reasoning with reasoning) so the final message has whole parts; a signature that
/// arrives on a later piece is kept.
fn merge_part(parts: &mut Vec<Part>, p: Part) {
    if let Some(last) = parts.last_mut() {
        // A streamed call's later piece carries everything gathered so far: it replaces it.
        if last.tool_request.as_ref().is_some_and(|t| t.partial == Some(true)) && p.tool_request.is_some() {
            *last = p;
            return;
        }
        let same_text = last.text.is_some() && p.text.is_some();
        let same_reasoning = last.reasoning.is_some() && p.reasoning.is_some();
        let last_signed = last.metadata.as_ref().is_some_and(|m| m.contains_key(THOUGHT_SIGNATURE_KEY));
        if (same_text || same_reasoning) && !last_signed {
            if let (Some(a), Some(b)) = (last.text.as_mut(), p.text.as_ref()) {
                a.push_str(b);
            }
            if let (Some(a), Some(b)) = (last.reasoning.as_mut(), p.reasoning.as_ref()) {
                a.push_str(b);
            }
            if let Some(meta) = p.metadata {
                last.metadata.get_or_insert_with(Map::new).extend(meta);
            }
            return;
        }
    }
    parts.push(p);
}

/// Decodes a `streamGenerateContent?alt=sse` body: each event's data is a whole
/// `GenerateContentResponse` chunk. Chunks are emitted as they come; [`StreamDecoder::finish`]
/// returns the merged response.
#[derive(Debug)]
pub struct StreamDecoder {
    origin: String,
    sse: SseDecoder,
    cands: Vec<(Vec<Part>, Option<String>, Option<Value>)>,
    last: Value,
    chunks: usize,
}

impl StreamDecoder {
    /// A decoder whose errors carry `origin`.
    pub fn new(origin: &str) -> StreamDecoder {
        StreamDecoder {
            origin: origin.to_owned(),
            sse: SseDecoder::new(),
            cands: Vec::new(),
            last: Value::Null,
            chunks: 0,
        }
    }

    /// Feeds body bytes, emitting a chunk per decoded event with content. An `error` object
    /// in the stream becomes the error of its status.
    pub fn push(&mut self, bytes: &[u8], emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        self.sse.push(bytes);
        while let Some(ev) = self.sse.next_item().map_err(|e| e.with_origin(self.origin.clone()))? {
            let data = ev.data.trim();
            if data.is_empty() || data == "[DONE]" {
                continue;
            }
            let v: Value = serde_json::from_str(data).map_err(|e| crate::error::bad_response(&self.origin, e))?;
            self.chunk(v, emit)?;
        }
        Ok(())
    }

    fn chunk(&mut self, v: Value, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<()> {
        if let Some(err) = v.get("error").filter(|e| e.is_object()) {
            let status = err.get("status").and_then(Value::as_str).and_then(|s| s.parse::<Status>().ok());
            let msg = err.get("message").and_then(Value::as_str).unwrap_or("the stream reported an error");
            let mut e = Error::new(status.unwrap_or(Status::Unavailable), msg.to_owned())
                .with_origin(self.origin.clone())
                .with_details(json!({"error": err}));
            if let Some(d) = crate::error::retry_info(err) {
                e = e.with_retry_after(d);
            }
            return Err(e);
        }
        self.chunks += 1;
        if let Some(cs) = v.get("candidates").and_then(Value::as_array) {
            for (pos, c) in cs.iter().enumerate() {
                let idx = c.get("index").and_then(Value::as_u64).map_or(pos, |i| usize::try_from(i).unwrap_or(pos));
                while self.cands.len() <= idx {
                    self.cands.push((Vec::new(), None, None));
                }
                let mut parts = candidate_parts(c);
                if let Some(raw) = c.pointer("/content/parts").and_then(Value::as_array) {
                    crate::partial_args::continue_stream(raw, &mut parts, self.cands[idx].0.last());
                }
                if idx == 0 && !parts.is_empty() {
                    emit(ModelResponseChunk {
                        role: Some(Role::Model),
                        index: Some(0),
                        ..ModelResponseChunk::new(parts.clone())
                    });
                }
                let slot = &mut self.cands[idx];
                for p in parts {
                    merge_part(&mut slot.0, p);
                }
                if let Some(r) = c.get("finishReason").and_then(Value::as_str) {
                    slot.1 = Some(r.to_owned());
                }
                if let Some(custom) = candidate_custom(c) {
                    slot.2 = Some(custom);
                }
            }
        }
        // The last chunk carries the final usage; keep the latest of the top-level fields.
        if let (Some(o), Value::Object(last)) = (v.as_object(), &mut self.last) {
            for (k, val) in o {
                if k != "candidates" {
                    last.insert(k.clone(), val.clone());
                }
            }
        } else {
            let mut v = v;
            if let Some(o) = v.as_object_mut() {
                o.remove("candidates");
            }
            self.last = v;
        }
        Ok(())
    }

    /// Ends the stream: the merged response. A stream that ends before any candidate
    /// finished (and was not a blocked prompt) is `UNAVAILABLE`, never a silently short answer.
    pub fn finish(&mut self, emit: &mut dyn FnMut(ModelResponseChunk)) -> Result<ModelResponse> {
        if let Some(ev) = self.sse.take_incomplete().map_err(|e| e.with_origin(self.origin.clone()))? {
            let data = ev.data.trim().to_owned();
            if !data.is_empty() {
                let v: Value = serde_json::from_str(&data).map_err(|e| crate::error::bad_response(&self.origin, e))?;
                self.chunk(v, emit)?;
            }
        }
        let blocked = self.last.pointer("/promptFeedback/blockReason").is_some();
        let finished = self.cands.iter().any(|c| c.1.is_some());
        if self.chunks == 0 || (!finished && !blocked) {
            return Err(Error::new(Status::Unavailable, "the stream ended before the model finished")
                .with_origin(self.origin.clone()));
        }
        let mut cands = std::mem::take(&mut self.cands);
        // Streamed speech arrives as many PCM pieces: the final message holds one WAV.
        for c in &mut cands {
            c.0 = crate::tts::join_wav_parts(std::mem::take(&mut c.0));
        }
        Ok(assemble(cands, &self.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_map_like_genkit_js() {
        for (r, f) in [
            ("STOP", FinishReason::Stop),
            ("MAX_TOKENS", FinishReason::Length),
            ("SAFETY", FinishReason::Blocked),
            ("RECITATION", FinishReason::Blocked),
            ("PROHIBITED_CONTENT", FinishReason::Blocked),
            ("SPII", FinishReason::Blocked),
            ("MALFORMED_FUNCTION_CALL", FinishReason::Other),
            ("OTHER", FinishReason::Other),
            ("FINISH_REASON_UNSPECIFIED", FinishReason::Unknown),
        ] {
            assert_eq!(finish_reason(r), f, "{r}");
        }
    }

    #[test]
    fn responses_decode_parts_usage_and_signatures() {
        let raw = json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"text": "plan", "thought": true, "thoughtSignature": "s1"},
                {"text": "hello"},
                {"functionCall": {"name": "ns__f", "args": {"a": 1}, "id": "x"}, "thoughtSignature": "s2"},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                {"executableCode": {"language": "PYTHON", "code": "1+1"}}
            ]}, "finishReason": "STOP", "safetyRatings": []}],
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 7, "thoughtsTokenCount": 3,
                              "cachedContentTokenCount": 2, "totalTokenCount": 15},
            "modelVersion": "gemini-2.5-flash"
        });
        let r = decode_response(&raw);
        let m = r.message.as_ref().unwrap();
        assert_eq!(m.content[0].reasoning.as_deref(), Some("plan"));
        assert_eq!(m.content[0].metadata.as_ref().unwrap()[THOUGHT_SIGNATURE_KEY], "s1");
        assert_eq!(m.content[1].text.as_deref(), Some("hello"));
        let tr = m.content[2].tool_request.as_ref().unwrap();
        assert_eq!((tr.name.as_str(), tr.reference.as_deref()), ("ns/f", Some("x")));
        assert_eq!(m.content[3].media.as_ref().unwrap().url, "data:image/png;base64,AAAA");
        assert!(m.content[4].custom.as_ref().unwrap().contains_key("executableCode"));
        assert_eq!(r.finish_reason, Some(FinishReason::Stop));
        let u = r.usage.unwrap();
        assert_eq!((u.input_tokens, u.output_tokens, u.total_tokens), (Some(5.0), Some(7.0), Some(15.0)));
        assert_eq!((u.thoughts_tokens, u.cached_content_tokens), (Some(3.0), Some(2.0)));
        assert_eq!(r.custom.unwrap()["modelVersion"], "gemini-2.5-flash");

        let blocked = decode_response(&json!({"promptFeedback": {"blockReason": "SAFETY"}}));
        assert_eq!(blocked.finish_reason, Some(FinishReason::Blocked));
        assert!(blocked.finish_message.unwrap().contains("SAFETY"));
    }

    #[test]
    fn every_byte_split_of_a_stream_decodes_the_same() {
        let body = concat!(
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"plan\",\"thought\":true}]}}]}\n\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"héllo \"}]}}]}\r\n\r\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}},",
            "\"thoughtSignature\":\"s\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"totalTokenCount\":9}}\n\n"
        )
        .as_bytes();
        let decode = |split: usize| {
            let mut d = StreamDecoder::new("googleai");
            let mut n = 0;
            d.push(&body[..split], &mut |_| n += 1).unwrap();
            d.push(&body[split..], &mut |_| n += 1).unwrap();
            (d.finish(&mut |_| n += 1).unwrap(), n)
        };
        let (whole, chunks) = decode(0);
        assert_eq!(chunks, 3);
        assert_eq!(whole.text(), "héllo ");
        assert_eq!(whole.reasoning(), "plan");
        for split in 1..body.len() {
            assert_eq!(decode(split), (whole.clone(), chunks), "split at {split}");
        }
    }

    #[test]
    fn streams_merge_text_and_fail_when_cut() {
        let body = concat!(
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}],\"role\":\"model\"},\"index\":0}]}\r\n\r\n",
            "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"lo\",\"thoughtSignature\":\"sig\"}],\"role\":\"model\"},",
            "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1,\"totalTokenCount\":3}}\r\n\r\n"
        );
        let mut d = StreamDecoder::new("googleai");
        let mut chunks = Vec::new();
        for b in body.as_bytes().chunks(7) {
            d.push(b, &mut |c| chunks.push(c)).unwrap();
        }
        let r = d.finish(&mut |c| chunks.push(c)).unwrap();
        assert_eq!(chunks.len(), 2);
        assert_eq!(r.text(), "Hello");
        assert_eq!(r.message.unwrap().content[0].metadata.clone().unwrap()[THOUGHT_SIGNATURE_KEY], "sig");
        assert_eq!(r.usage.unwrap().total_tokens, Some(3.0));

        let mut d = StreamDecoder::new("googleai");
        d.push(b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel\"}]}}]}\n\n", &mut |_| {}).unwrap();
        assert_eq!(d.finish(&mut |_| {}).unwrap_err().status(), Status::Unavailable);

        let mut d = StreamDecoder::new("googleai");
        let e = d
            .push(
                b"data: {\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n",
                &mut |_| {},
            )
            .unwrap_err();
        assert_eq!(e.status(), Status::ResourceExhausted);
    }
}
