//! A `tokenizers` tokenizer rebuilt from the vocabulary a GGUF file carries
//! (`tokenizer.ggml.*`), so a GGUF needs no separate `tokenizer.json`.

use std::collections::HashMap;

use candle_core::quantized::gguf_file::{Content, Value as GgufValue};
use genkit_core::{Error, Result, Status};
use serde_json::{Map, Value, json};
use tokenizers::Tokenizer;

/// Special token ids read from the GGUF metadata.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpecialTokens {
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) add_bos: bool,
}

fn md<'a>(ct: &'a Content, key: &str) -> Option<&'a GgufValue> {
    ct.metadata.get(key)
}

fn md_strings(ct: &Content, key: &str) -> Result<Vec<String>> {
    let v = md(ct, key).ok_or_else(|| missing(key))?;
    let items = v.to_vec().map_err(|e| bad(key, &e))?;
    items.iter().map(|s| s.to_string().cloned().map_err(|e| bad(key, &e))).collect()
}

fn missing(key: &str) -> Error {
    Error::new(
        Status::FailedPrecondition,
        format!("the GGUF file has no '{key}': give the model a tokenizer.json with `LocalModel::tokenizer_json`"),
    )
}

fn bad(key: &str, e: &dyn std::fmt::Display) -> Error {
    Error::new(Status::DataLoss, format!("GGUF metadata '{key}' is malformed: {e}"))
}

/// Reads the special token ids.
pub(crate) fn special_tokens(ct: &Content) -> SpecialTokens {
    let id = |k: &str| md(ct, k).and_then(|v| v.to_u32().ok());
    SpecialTokens {
        bos: id("tokenizer.ggml.bos_token_id"),
        eos: id("tokenizer.ggml.eos_token_id"),
        add_bos: md(ct, "tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false),
    }
}

/// Builds the tokenizer of a GGUF whose `tokenizer.ggml.model` is `gpt2` (byte-level BPE, used
/// by SmolLM, Qwen, Llama 3 and most recent models).
///
/// # Errors
/// `UNIMPLEMENTED` for other tokenizer models (SentencePiece `llama`): pass a `tokenizer.json`
/// instead; `DATA_LOSS` when the metadata is malformed.
pub(crate) fn from_gguf(ct: &Content) -> Result<Tokenizer> {
    let model = md(ct, "tokenizer.ggml.model").and_then(|v| v.to_string().ok()).map(String::as_str);
    if model != Some("gpt2") {
        return Err(Error::new(
            Status::Unimplemented,
            format!(
                "GGUF tokenizer model {:?} is not supported (only byte-level BPE 'gpt2'): give the model a \
                 tokenizer.json with `LocalModel::tokenizer_json`",
                model.unwrap_or("<none>")
            ),
        ));
    }
    let tokens = md_strings(ct, "tokenizer.ggml.tokens")?;
    let merges = md_strings(ct, "tokenizer.ggml.merges")?;
    let types: Vec<i32> = match md(ct, "tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|e| bad("tokenizer.ggml.token_type", &e))?
            .iter()
            .map(|t| t.to_i32().unwrap_or(1))
            .collect(),
        None => Vec::new(),
    };
    let pre = md(ct, "tokenizer.ggml.pre").and_then(|v| v.to_string().ok()).map(String::as_str);
    let mut vocab = Map::with_capacity(tokens.len());
    let mut added = Vec::new();
    let mut seen = HashMap::with_capacity(tokens.len());
    for (id, tok) in tokens.iter().enumerate() {
        // Keep the first id of a duplicated token, like llama.cpp's vocabulary map.
        if seen.insert(tok.as_str(), id).is_some() {
            continue;
        }
        vocab.insert(tok.clone(), json!(id));
        // 3 = control, 4 = user defined: matched as whole special tokens.
        if matches!(types.get(id), Some(3 | 4)) {
            added.push(json!({
                "id": id, "content": tok, "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": true
            }));
        }
    }
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    let pre_tokenizer = match pre {
        // SmolLM and StarCoder split digits one by one before the byte-level regex.
        Some("smollm" | "starcoder" | "refact") => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            byte_level
        ]}),
        _ => byte_level,
    };
    let spec = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": Value::Object(vocab), "merges": merges
        }
    });
    let bytes = serde_json::to_vec(&spec).map_err(Error::internal)?;
    Tokenizer::from_bytes(bytes)
        .map_err(|e| Error::new(Status::DataLoss, format!("could not build the tokenizer from the GGUF metadata: {e}")))
}
