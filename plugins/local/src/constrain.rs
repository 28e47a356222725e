//! Constrained decoding: a grammar (from a JSON schema, the request's tools, a Lark grammar or a
//! regex) turned into a token mask by [`llguidance`], applied before every sampled token, so the
//! output is valid by construction.
//!
//! llguidance works on token *bytes*. [`vocabulary`] rebuilds them from our `tokenizers`
//! tokenizer (byte-level BPE: each character of a token's string stands for one byte, as in
//! GPT-2), so no second tokenizer library is needed.

use std::collections::HashMap;
use std::sync::Arc;

use genkit_core::{Error, Result, Status};
use llguidance::api::{GrammarWithLexer, TopLevelGrammar};
use llguidance::toktrie::{SimpleVob, TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::{Matcher, ParserFactory};
use serde_json::{Value, json};
use tokenizers::Tokenizer;

/// The byte each character of a byte-level BPE token stands for (GPT-2's reversible mapping:
/// printable Latin-1 stands for itself, the other bytes are shifted to U+0100 onwards).
fn byte_level_chars() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut next = 0x100u32;
    let mut map = HashMap::with_capacity(256);
    for b in 0..=255u8 {
        if printable(b) {
            map.insert(char::from(b), b);
        } else {
            if let Some(c) = char::from_u32(next) {
                map.insert(c, b);
            }
            next += 1;
        }
    }
    map
}

/// The tokenizer as llguidance sees it: every token's bytes (special tokens marked with
/// [`TokTrie::SPECIAL_TOKEN_MARKER`], so grammars never produce them as text) and a trie.
struct Vocabulary {
    trie: TokTrie,
    tokenizer: Tokenizer,
}

impl TokenizerEnv for Vocabulary {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        // Greedy trie tokenization for bytes that are not UTF-8, the real tokenizer otherwise.
        self.trie.tokenize_with_greedy_fallback(s, |text| {
            self.tokenizer.encode(text, false).map(|e| e.get_ids().to_vec()).unwrap_or_default()
        })
    }
}

/// Builds llguidance's view of a byte-level BPE tokenizer whose logits have `n_vocab` entries;
/// `stops` are the end-of-turn tokens (the first is the one a finished grammar asks for).
pub(crate) fn vocabulary(tokenizer: &Tokenizer, n_vocab: usize, stops: &[u32]) -> Result<TokEnv> {
    let unsupported = |why: &str| {
        Error::new(Status::Unimplemented, format!("constrained decoding needs a byte-level BPE tokenizer: {why}"))
    };
    let vocab_size = tokenizer.get_vocab_size(true).max(n_vocab);
    let Some(&eos) = stops.first() else { return Err(unsupported("the model has no end-of-turn token")) };
    let specials: HashMap<u32, String> = tokenizer
        .get_added_tokens_decoder()
        .into_iter()
        .filter(|(_, t)| t.special)
        .map(|(id, t)| (id, t.content))
        .collect();
    let chars = byte_level_chars();
    let mut words: Vec<Vec<u8>> = Vec::with_capacity(vocab_size);
    let mut unmapped = 0usize;
    for id in 0..vocab_size as u32 {
        let word = if let Some(s) = specials.get(&id) {
            let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
            w.extend_from_slice(s.as_bytes());
            w
        } else if let Some(tok) = tokenizer.id_to_token(id) {
            match tok.chars().map(|c| chars.get(&c).copied()).collect::<Option<Vec<u8>>>() {
                Some(b) => b,
                None => {
                    unmapped += 1;
                    Vec::new()
                }
            }
        } else {
            // Padding rows of the output layer: never allowed by a grammar.
            let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
            w.extend_from_slice(format!("<[{id}]>").as_bytes());
            w
        };
        words.push(word);
    }
    // A tokenizer that is not byte-level maps almost nothing; a few odd tokens are tolerated.
    if unmapped > vocab_size / 10 {
        return Err(unsupported(&format!("{unmapped} of {vocab_size} tokens are not byte-level")));
    }
    let mut info = TokRxInfo::new(vocab_size as u32, eos);
    info.tok_end_of_turn = Some(eos);
    let trie = TokTrie::from(&info, &words).with_eos_tokens(stops);
    Ok(Arc::new(Vocabulary { trie, tokenizer: tokenizer.clone() }))
}

/// Objects with `properties` and no `additionalProperties` get `additionalProperties: false`
/// (as strict structured-output modes do): otherwise a small model invents extra keys without
/// end. The output still validates against the schema as given, which allows more.
fn close_objects(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (k, child) in m.iter_mut() {
                // Literal values and names, not schemas.
                if !matches!(k.as_str(), "enum" | "const" | "default" | "examples" | "required" | "x-guidance") {
                    close_objects(child);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// JSON-schema compile options: compact JSON on one line (`{"a": 1, "b": 2}`, the spacing small
/// models are used to, and no room for endless whitespace), `oneOf` read as `anyOf`, and
/// unsupported keywords ignored rather than failing the request.
fn with_compile_options(mut schema: Value) -> Value {
    close_objects(&mut schema);
    if let Value::Object(m) = &mut schema {
        m.entry("x-guidance").or_insert_with(|| {
            json!({"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": ",
                   "coerce_one_of": true, "lenient": true})
        });
    }
    schema
}

/// JSON on one line with the separators grammars use (`{"a": 1, "b": [1, 2]}`), so text the
/// model reads back (earlier tool calls) looks like what it is made to write.
pub(crate) fn spaced_json(v: &Value) -> String {
    let mut out = String::new();
    write_spaced(v, &mut out);
    out
}

fn write_spaced(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&lark_string(k));
                out.push_str(": ");
                write_spaced(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_spaced(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// What the model's output must match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// Any text.
    Text,
    /// One JSON value valid against this schema.
    Json(Value),
    /// One of these strings, exactly.
    Choice(Vec<String>),
    /// Lines, each one JSON value valid against this schema (JSON Lines).
    JsonLines(Value),
    /// A Lark grammar (llguidance's dialect).
    Lark(String),
    /// A regular expression (Rust `regex` syntax) matching the whole output.
    Regex(String),
}

/// Lark string literal for `s` (JSON string syntax, which llguidance's Lark accepts).
pub(crate) fn lark_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

impl Body {
    /// The grammar of this body, named `name` so another grammar can refer to it as `@name`.
    pub(crate) fn grammar(&self, name: &str) -> Option<GrammarWithLexer> {
        let mut g = match self {
            Body::Text => return None,
            Body::Json(schema) => GrammarWithLexer::from_json_schema(with_compile_options(schema.clone())),
            Body::Choice(items) => {
                let alts: Vec<String> = items.iter().map(|s| lark_string(s)).collect();
                GrammarWithLexer::from_lark(format!("start: {}\n", alts.join(" | ")))
            }
            Body::JsonLines(item) => {
                let item = serde_json::to_string(&with_compile_options(item.clone())).unwrap_or_else(|_| "{}".into());
                GrammarWithLexer::from_lark(format!("start: line+\nline: item \"\\n\"\nitem: %json {item}\n"))
            }
            Body::Lark(src) => GrammarWithLexer::from_lark(src.clone()),
            Body::Regex(rx) => GrammarWithLexer::from_regex(rx),
        };
        g.name = Some(name.to_owned());
        Some(g)
    }
}

/// Compiles grammars for one model's vocabulary (built once per model, on first use).
pub(crate) struct Compiler {
    factory: ParserFactory,
}

impl std::fmt::Debug for Compiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiler").finish_non_exhaustive()
    }
}

impl Compiler {
    pub(crate) fn new(env: &TokEnv) -> Result<Self> {
        let mut factory = ParserFactory::new_simple(env)
            .map_err(|e| Error::internal(format!("cannot set up constrained decoding: {e}")))?;
        factory.quiet();
        Ok(Compiler { factory })
    }

    /// A fresh matcher for `grammar`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming the problem when the grammar or schema does not compile.
    pub(crate) fn matcher(&self, grammar: TopLevelGrammar) -> Result<Constraint> {
        let parser = self.factory.create_parser(grammar).map_err(|e| {
            Error::new(Status::InvalidArgument, format!("the output grammar of this request does not compile: {e}"))
        })?;
        let m = Matcher::new(Ok(parser));
        if let Some(e) = m.get_error() {
            return Err(Error::invalid_argument(format!("the output grammar of this request is invalid: {e}")));
        }
        Ok(Constraint { matcher: m, vocab: self.factory.tok_env().tok_trie().vocab_size() })
    }
}

/// One generation's grammar state.
pub(crate) struct Constraint {
    matcher: Matcher,
    vocab: usize,
}

impl std::fmt::Debug for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Constraint").finish_non_exhaustive()
    }
}

fn grammar_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("constrained decoding failed: {e}"))
}

impl Constraint {
    /// The tokens allowed next (the end-of-turn tokens once the grammar may end).
    pub(crate) fn mask(&mut self) -> Result<SimpleVob> {
        self.matcher.compute_mask_or_eos().map_err(grammar_error)
    }

    /// Sets the logits of every token the grammar rejects to minus infinity.
    pub(crate) fn apply(&mut self, logits: &mut [f32]) -> Result<()> {
        let mask = self.mask()?;
        for (i, l) in logits.iter_mut().enumerate() {
            if i >= self.vocab || !mask.is_allowed(i as TokenId) {
                *l = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }

    /// Advances the grammar by the sampled token.
    pub(crate) fn commit(&mut self, token: u32) -> Result<()> {
        self.matcher.consume_token(token).map_err(grammar_error)
    }

    /// The tokens the grammar forces next (at most `max`), already committed.
    pub(crate) fn forced(&mut self, max: usize) -> Result<Vec<u32>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut ff = self.matcher.compute_ff_tokens();
        ff.truncate(max);
        if !ff.is_empty() {
            self.matcher.consume_tokens(&ff).map_err(grammar_error)?;
        }
        Ok(ff)
    }

    /// Whether the grammar admits nothing more (the output is complete).
    pub(crate) fn finished(&mut self) -> bool {
        self.matcher.is_stopped()
    }
}

/// A top-level grammar whose whole output is `body`.
pub(crate) fn single(body: &Body) -> Option<TopLevelGrammar> {
    body.grammar("body").map(|g| TopLevelGrammar { grammars: vec![g], max_tokens: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A small byte-level BPE tokenizer: the 256 byte tokens, every two-character merge of
    /// JSON-ish characters (so a token may cross a grammar boundary, like `":` or `,"`), and
    /// an end-of-turn special token.
    fn toy_tokenizer() -> (Tokenizer, u32) {
        let chars = byte_level_chars();
        let mut by_byte: Vec<(u8, char)> = chars.iter().map(|(c, b)| (*b, *c)).collect();
        by_byte.sort_unstable();
        let mut vocab = serde_json::Map::new();
        for (b, c) in &by_byte {
            vocab.insert(c.to_string(), json!(*b as u32));
        }
        let interesting = ['{', '}', '"', ':', ',', '[', ']', 'a', 'b', 'c', '1', '2', 'Ġ'];
        let mut merges = Vec::new();
        for x in interesting {
            for y in interesting {
                let t = format!("{x}{y}");
                if !vocab.contains_key(&t) {
                    vocab.insert(t, json!(vocab.len() as u32));
                    merges.push(format!("{x} {y}"));
                }
            }
        }
        let eos = vocab.len() as u32;
        let spec = json!({
            "version": "1.0", "truncation": null, "padding": null,
            "added_tokens": [{"id": eos, "content": "<|im_end|>", "single_word": false, "lstrip": false,
                              "rstrip": false, "normalized": false, "special": true}],
            "normalizer": null,
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
            "post_processor": null,
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                      "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                      "vocab": vocab, "merges": merges}
        });
        (Tokenizer::from_bytes(serde_json::to_vec(&spec).unwrap()).unwrap(), eos)
    }

    fn nested_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "a": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 99}, "maxItems": 3},
                "b": {"type": "object", "properties": {"c": {"type": "string", "maxLength": 3}}, "required": ["c"]}
            },
            "required": ["a", "b"]
        })
    }

    fn compiler() -> &'static (Compiler, Tokenizer, u32) {
        static C: std::sync::OnceLock<(Compiler, Tokenizer, u32)> = std::sync::OnceLock::new();
        C.get_or_init(|| {
            let (tok, eos) = toy_tokenizer();
            let env = vocabulary(&tok, tok.get_vocab_size(true), &[eos]).unwrap();
            (Compiler::new(&env).unwrap(), tok, eos)
        })
    }

    /// Pseudo-random logits (xorshift), so each proptest case explores a different path.
    fn logits(seed: u64, n: usize) -> Vec<f32> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 10_000) as f32 / 1000.0
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the model's logits, the masked sampler picks only tokens an independent
        /// matcher of the same grammar accepts, and a finished output parses and validates
        /// (checked with serde_json and jsonschema, not with llguidance).
        #[test]
        fn masked_sampler_never_emits_a_rejected_token(seeds in proptest::collection::vec(any::<u64>(), 48), temperature in prop_oneof![Just(0.0), 0.1f64..2.0]) {
            let (compiler, tok, eos) = compiler();
            let schema = nested_schema();
            let grammar = single(&Body::Json(schema.clone())).unwrap();
            let mut c = compiler.matcher(grammar.clone()).unwrap();
            let mut checker = compiler.matcher(grammar).unwrap();
            let sampling = if temperature == 0.0 {
                candle_transformers::generation::Sampling::ArgMax
            } else {
                candle_transformers::generation::Sampling::All { temperature }
            };
            let mut sampler = candle_transformers::generation::LogitsProcessor::from_sampling(seeds[0], sampling);
            let n = tok.get_vocab_size(true);
            let mut ids = Vec::new();
            let mut finished = false;
            for seed in &seeds {
                let mut v = logits(*seed, n);
                c.apply(&mut v).unwrap();
                let t = candle_core::Tensor::from_vec(v, n, &candle_core::Device::Cpu).unwrap();
                let next = sampler.sample(&t).unwrap();
                if next == *eos {
                    finished = true;
                    break;
                }
                prop_assert!(checker.matcher.validate_tokens(&[next]).unwrap() == 1, "token {next} rejected after {ids:?}");
                checker.commit(next).unwrap();
                c.commit(next).unwrap();
                ids.push(next);
                if c.finished() {
                    finished = true;
                    break;
                }
            }
            let text = tok.decode(&ids, false).unwrap();
            if finished {
                let v: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                let validator = jsonschema::validator_for(&schema).unwrap();
                prop_assert!(validator.is_valid(&v), "{text}");
            }
        }
    }

    #[test]
    fn byte_level_mapping_is_a_bijection() {
        let m = byte_level_chars();
        assert_eq!(m.len(), 256);
        let mut bytes: Vec<u8> = m.values().copied().collect();
        bytes.sort_unstable();
        bytes.dedup();
        assert_eq!(bytes.len(), 256);
        assert_eq!(m[&'Ġ'], b' ');
        assert_eq!(m[&'Ċ'], b'\n');
        assert_eq!(m[&'a'], b'a');
    }

    #[test]
    fn lark_strings_escape_quotes_and_newlines() {
        assert_eq!(lark_string("a\"b\n"), r#""a\"b\n""#);
    }

    #[test]
    fn objects_are_closed_unless_they_say_otherwise() {
        let s = with_compile_options(json!({"type": "object", "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string"}}},
            "c": {"type": "object", "properties": {}, "additionalProperties": true},
            "properties": {"type": "array", "items": {"properties": {"x": {}}}}
        }}));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["a"]["additionalProperties"], json!(false));
        assert_eq!(s["properties"]["c"]["additionalProperties"], json!(true));
        assert_eq!(s["properties"]["properties"]["items"]["additionalProperties"], json!(false));
    }

    #[test]
    fn spaced_json_matches_the_grammar_separators() {
        assert_eq!(spaced_json(&json!({"a": [1, {"b": "x"}], "c": null})), r#"{"a": [1, {"b": "x"}], "c": null}"#);
    }

    #[test]
    fn schema_gets_compact_options_unless_given() {
        let s = with_compile_options(json!({"type": "object"}));
        assert_eq!(s["x-guidance"]["whitespace_flexible"], json!(false));
        let own = with_compile_options(json!({"type": "object", "x-guidance": {"whitespace_flexible": true}}));
        assert_eq!(own["x-guidance"], json!({"whitespace_flexible": true}));
    }
}
