//! Genkit request → Gemini `GenerateContentRequest` (JSON), following Genkit JS's
//! `converters.ts`: roles, parts, tools with their schemas rewritten for Gemini, tool
//! config, generation config and structured output.

use genkit_ai::{Message, ModelRequest, Part, Role, ToolChoice};
use genkit_core::{Error, Result};
use serde_json::{Map, Value, json};

use crate::config::GeminiConfig;

/// The part metadata key holding a Gemini thought signature (read and written).
pub const THOUGHT_SIGNATURE_KEY: &str = "thoughtSignature";

/// Config keys that turn on one of Gemini's server-side tools (sent as `{"<key>": {...}}`).
const SERVER_TOOL_FLAGS: [&str; 5] =
    ["codeExecution", "googleSearch", "googleSearchRetrieval", "urlContext", "fileSearch"];

/// How deep schema rewriting follows nested schemas and `$ref`s before giving up.
const MAX_SCHEMA_DEPTH: usize = 32;

/// A Genkit tool name as a Gemini function name: `/` is not allowed there, so it becomes
/// `__` (as Genkit JS does); [`tool_name_from_wire`] reverses it.
pub fn tool_name_to_wire(name: &str) -> String {
    name.replace('/', "__")
}

/// A Gemini function name back as the Genkit tool name.
pub fn tool_name_from_wire(name: &str) -> String {
    name.replace("__", "/")
}

fn signature(part: &Part) -> Option<&Value> {
    part.metadata.as_ref().and_then(|m| m.get(THOUGHT_SIGNATURE_KEY)).filter(|v| v.is_string())
}

/// Splits a `data:` URL into its MIME type and base64 payload.
fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    Some((mime, data))
}

/// One Genkit part as a Gemini part; `None` for parts Gemini has no form for (and reasoning
/// parts for a model that cannot take them back).
fn encode_part(part: &Part, keep_reasoning: bool) -> Result<Option<Value>> {
    let mut out = Map::new();
    if let Some(text) = &part.reasoning {
        if !keep_reasoning {
            return Ok(None);
        }
        out.insert("thought".into(), Value::Bool(true));
        out.insert("text".into(), Value::String(text.clone()));
    } else if let Some(text) = &part.text {
        out.insert("text".into(), Value::String(text.clone()));
    } else if let Some(media) = &part.media {
        if let Some((mime, data)) = data_url(&media.url) {
            let mime = media.content_type.as_deref().unwrap_or(mime);
            out.insert("inlineData".into(), json!({"mimeType": mime, "data": data}));
        } else if media.url.starts_with("data:") {
            return Err(Error::invalid_argument("a media data: URL must be base64 (data:<type>;base64,<data>)"));
        } else {
            let mut fd = Map::new();
            if let Some(ct) = &media.content_type {
                fd.insert("mimeType".into(), Value::String(ct.clone()));
            }
            fd.insert("fileUri".into(), Value::String(media.url.clone()));
            out.insert("fileData".into(), Value::Object(fd));
        }
        if let Some(meta) = &part.metadata {
            for k in ["videoMetadata", "mediaResolution"] {
                if let Some(v) = meta.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
        }
    } else if let Some(tr) = &part.tool_request {
        let mut call = Map::new();
        call.insert("name".into(), Value::String(tool_name_to_wire(&tr.name)));
        call.insert("args".into(), tr.input.clone().unwrap_or_else(|| json!({})));
        if let Some(r) = &tr.reference {
            call.insert("id".into(), Value::String(r.clone()));
        }
        out.insert("functionCall".into(), Value::Object(call));
    } else if let Some(tr) = &part.tool_response {
        let mut resp = Map::new();
        resp.insert("name".into(), Value::String(tool_name_to_wire(&tr.name)));
        resp.insert(
            "response".into(),
            json!({"name": tool_name_to_wire(&tr.name), "content": tr.output.clone().unwrap_or(Value::Null)}),
        );
        if let Some(r) = &tr.reference {
            resp.insert("id".into(), Value::String(r.clone()));
        }
        // Multimodal tool output (media in `content`) travels as the response's own parts.
        if let Some(content) = &tr.content {
            let media: Vec<Value> = content
                .iter()
                .filter(|p| p.media.is_some())
                .filter_map(|p| encode_part(p, false).ok().flatten())
                .collect();
            if !media.is_empty() {
                resp.insert("parts".into(), Value::Array(media));
            }
        }
        out.insert("functionResponse".into(), Value::Object(resp));
    } else if let Some(custom) = &part.custom {
        // Code execution parts come back as custom parts and go to the API as they came.
        for k in ["executableCode", "codeExecutionResult"] {
            if let Some(v) = custom.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
    } else if let Some(data) = &part.data {
        out.insert("text".into(), Value::String(data.to_string()));
    } else {
        return Ok(None);
    }
    if keep_reasoning && let Some(sig) = signature(part) {
        out.insert("thoughtSignature".into(), sig.clone());
    }
    Ok(Some(Value::Object(out)))
}

pub(crate) fn encode_parts(parts: &[Part], keep_reasoning: bool) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        if let Some(v) = encode_part(p, keep_reasoning)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// A JSON schema rewritten into the OpenAPI subset Gemini's `parameters` and
/// `responseSchema` take: local `$ref`s inlined, `type: [T, "null"]` → `type: T` +
/// `nullable`, types in upper case, and keys Gemini rejects (`$schema`,
/// `additionalProperties`, `default`, …) dropped.
pub fn gemini_schema(schema: &Value) -> Value {
    let defs = schema.get("$defs").or_else(|| schema.get("definitions")).cloned().unwrap_or(Value::Null);
    rewrite(schema, &defs, 0)
}

fn rewrite(schema: &Value, defs: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else { return schema.clone() };
    if depth > MAX_SCHEMA_DEPTH {
        return json!({"type": "OBJECT"});
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        if let Some(target) = defs.get(name) {
            return rewrite(target, defs, depth + 1);
        }
    }
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "type" => {
                let (ty, nullable) = match v {
                    Value::Array(types) => {
                        let nullable = types.iter().any(|t| t == "null");
                        (types.iter().find(|t| *t != "null").cloned(), nullable)
                    }
                    other => (Some(other.clone()), false),
                };
                if let Some(t) = ty.as_ref().and_then(Value::as_str) {
                    out.insert("type".into(), Value::String(t.to_ascii_uppercase()));
                }
                if nullable {
                    out.insert("nullable".into(), Value::Bool(true));
                }
            }
            "properties" => {
                if let Some(props) = v.as_object() {
                    let p: Map<String, Value> =
                        props.iter().map(|(n, s)| (n.clone(), rewrite(s, defs, depth + 1))).collect();
                    out.insert("properties".into(), Value::Object(p));
                }
            }
            "items" => {
                out.insert("items".into(), rewrite(v, defs, depth + 1));
            }
            "anyOf" | "oneOf" => {
                if let Some(alts) = v.as_array() {
                    let alts: Vec<Value> = alts.iter().map(|s| rewrite(s, defs, depth + 1)).collect();
                    out.insert("anyOf".into(), Value::Array(alts));
                }
            }
            "enum" => {
                // Gemini takes string enums only.
                if let Some(vals) = v.as_array() {
                    let vals: Vec<Value> = vals
                        .iter()
                        .map(|x| match x {
                            Value::String(_) => x.clone(),
                            other => Value::String(other.to_string()),
                        })
                        .collect();
                    out.insert("enum".into(), Value::Array(vals));
                    out.entry("type").or_insert_with(|| Value::String("STRING".into()));
                }
            }
            "description" | "required" | "format" | "nullable" | "title" | "minItems" | "maxItems" | "minimum"
            | "maximum" | "minLength" | "maxLength" | "pattern" | "propertyOrdering" | "example" => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    // An enum forces STRING even when the source typed it otherwise.
    if out.contains_key("enum") {
        out.insert("type".into(), Value::String("STRING".into()));
    }
    Value::Object(out)
}

/// What an encoded request needs besides its body.
#[derive(Debug)]
pub struct Encoded {
    /// The `GenerateContentRequest` body.
    pub body: Value,
    /// The model id to call (the config's `version`, else the action's).
    pub model: String,
    /// The per-request API key from the config.
    pub api_key: Option<String>,
}

/// A tool message's parts ordered by their numeric `ref`s (parallel calls answered out of
/// order), as Genkit JS sends them; left as they are unless every ref is a number.
fn tool_parts_in_order(parts: &[Part]) -> Vec<Part> {
    let key =
        |p: &Part| p.tool_response.as_ref().and_then(|t| t.reference.as_deref()).and_then(|r| r.parse::<u64>().ok());
    let mut out = parts.to_vec();
    if out.iter().all(|p| key(p).is_some()) {
        out.sort_by_key(|p| key(p));
    }
    out
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Model => "model",
        Role::Tool => "function",
        Role::User | Role::System => "user",
    }
}

/// How a request is encoded besides its own content.
#[derive(Debug, Clone, Copy)]
pub struct EncodeOptions<'a> {
    /// The model id to call unless the config's `version` names another.
    pub model: &'a str,
    /// Send an output schema as `responseJsonSchema` (JSON Schema as given, for the models
    /// that take it) instead of `responseSchema` (rewritten by [`gemini_schema`]).
    pub response_json_schema: bool,
}

/// Encodes a Genkit request (Gemma models get no reasoning parts back).
pub fn encode_request(req: &ModelRequest, cfg: GeminiConfig, opts: EncodeOptions<'_>) -> Result<Encoded> {
    let model = cfg.version.clone().unwrap_or_else(|| opts.model.to_owned());
    let keep_reasoning = !model.starts_with("gemma-");
    let mut body = Map::new();
    let mut contents = Vec::new();
    let mut system: Option<&Message> = None;
    for m in &req.messages {
        if m.role == Role::System {
            // Gemini takes one system instruction: the first; later ones go inline as user turns.
            if system.is_none() {
                system = Some(m);
                continue;
            }
        }
        let parts = if m.role == Role::Tool {
            encode_parts(&tool_parts_in_order(&m.content), keep_reasoning)?
        } else {
            encode_parts(&m.content, keep_reasoning)?
        };
        if parts.is_empty() {
            continue;
        }
        contents.push(json!({"role": role(m.role), "parts": parts}));
    }
    if let Some(s) = system {
        body.insert("systemInstruction".into(), json!({"role": "user", "parts": encode_parts(&s.content, false)?}));
    }
    body.insert("contents".into(), Value::Array(contents));

    let mut tools = Vec::new();
    let has_tools = req.tools.as_ref().is_some_and(|t| !t.is_empty());
    if let Some(defs) = req.tools.as_ref().filter(|t| !t.is_empty()) {
        let decls: Vec<Value> = defs
            .iter()
            .map(|t| {
                let mut d = Map::new();
                d.insert("name".into(), Value::String(tool_name_to_wire(&t.name)));
                d.insert("description".into(), Value::String(t.description.clone()));
                if let Some(s) = &t.input_schema {
                    let s = gemini_schema(s);
                    // A parameterless tool sends no `parameters` (an empty OBJECT is rejected).
                    let empty = s.get("properties").and_then(Value::as_object).is_none_or(Map::is_empty)
                        && s.get("type").and_then(Value::as_str) == Some("OBJECT");
                    if !empty {
                        d.insert("parameters".into(), s);
                    }
                }
                Value::Object(d)
            })
            .collect();
        tools.push(json!({"functionDeclarations": decls}));
    }
    let mut extra = cfg.extra;
    // The server-side tools Genkit JS takes as config flags: `true` or an options object.
    for key in SERVER_TOOL_FLAGS {
        match extra.remove(key) {
            None | Some(Value::Null | Value::Bool(false)) => {}
            Some(v) => {
                let opts = if v == Value::Bool(true) { json!({}) } else { v };
                let mut t = Map::new();
                t.insert(key.to_owned(), opts);
                tools.push(Value::Object(t));
            }
        }
    }
    if let Some(raw) = cfg.tools {
        tools.extend(raw);
    }
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
    }

    let mut tool_config = cfg.tool_config.unwrap_or_default();
    let fcc = match (cfg.function_calling_config, req.tool_choice) {
        (Some(f), _) => serde_json::to_value(f).ok(),
        (None, Some(choice)) if has_tools => {
            let mode = match choice {
                ToolChoice::Auto => "AUTO",
                ToolChoice::Required => "ANY",
                ToolChoice::None => "NONE",
            };
            Some(json!({"mode": mode}))
        }
        _ => None,
    };
    if let Some(f) = fcc {
        tool_config.insert("functionCallingConfig".into(), f);
    }
    if let Some(r) = extra.remove("retrievalConfig") {
        tool_config.insert("retrievalConfig".into(), r);
    }
    // Request-level fields (not generation settings).
    for key in ["serviceTier", "cachedContent"] {
        if let Some(v) = extra.remove(key) {
            body.insert(key.into(), v);
        }
    }
    if !tool_config.is_empty() {
        body.insert("toolConfig".into(), Value::Object(tool_config));
    }

    let mut gc = extra;
    for k in ["apiKey", "baseUrl", "apiVersion", "contextCache"] {
        gc.remove(k);
    }
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            gc.insert(k.into(), v);
        }
    };
    put("temperature", cfg.temperature.map(Value::from));
    put("topP", cfg.top_p.map(Value::from));
    put("topK", cfg.top_k.map(Value::from));
    put("maxOutputTokens", cfg.max_output_tokens.map(Value::from));
    put("stopSequences", cfg.stop_sequences.map(Value::from));
    put("candidateCount", cfg.candidate_count.or(req.candidates).map(Value::from));
    put("responseModalities", cfg.response_modalities.map(Value::from));
    put("thinkingConfig", cfg.thinking_config.and_then(|t| serde_json::to_value(t).ok()));
    if let Some(out) = &req.output {
        let json_out = out.format.as_deref() == Some("json")
            || out.content_type.as_deref() == Some("application/json")
            || out.schema.is_some() && out.format.is_none();
        if json_out {
            put("responseMimeType", Some(Value::String("application/json".into())));
            // Constrained decoding with tools only where the model takes both (Gemini 3+);
            // for older models Genkit's `constrained: no-tools` already moved the schema into
            // the prompt.
            if let Some(schema) = &out.schema
                && out.constrained != Some(false)
                && (!has_tools || crate::models::schema_with_tools(&model))
            {
                if opts.response_json_schema {
                    put("responseJsonSchema", Some(Value::Object(schema.clone())));
                } else {
                    put("responseSchema", Some(gemini_schema(&Value::Object(schema.clone()))));
                }
            }
        }
    }
    if !gc.is_empty() {
        body.insert("generationConfig".into(), Value::Object(gc));
    }
    if let Some(s) = cfg.safety_settings {
        body.insert("safetySettings".into(), serde_json::to_value(s).unwrap_or(Value::Null));
    }
    Ok(Encoded { body: Value::Object(body), model, api_key: cfg.api_key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_ai::{OutputConfig, ToolDefinition};

    fn opts(model: &str) -> EncodeOptions<'_> {
        EncodeOptions { model, response_json_schema: false }
    }

    fn req(messages: Vec<Message>) -> ModelRequest {
        ModelRequest { messages, ..ModelRequest::default() }
    }

    #[test]
    fn roles_system_and_parts_map_like_genkit_js() {
        let mut model = Message::model("");
        model.content = vec![
            Part::reasoning("thinking…").with_metadata(THOUGHT_SIGNATURE_KEY, json!("sig1")),
            Part::tool_request("ns/weather", Some(json!({"city": "Paris"})), Some("c1".into()))
                .with_metadata(THOUGHT_SIGNATURE_KEY, json!("sig2")),
        ];
        let mut tool = Message::user("");
        tool.role = Role::Tool;
        tool.content = vec![Part::tool_response("ns/weather", Some(json!({"t": 20})), Some("c1".into()))];
        let mut user = Message::user("look");
        user.content.push(Part::media("data:image/png;base64,AAAA", None));
        user.content.push(Part::media("https://x.test/a.pdf", Some("application/pdf".into())));
        let r = req(vec![Message::system("be brief"), user, model, tool]);
        let e = encode_request(&r, GeminiConfig::default(), opts("gemini-2.5-flash")).unwrap();
        assert_eq!(e.body["systemInstruction"], json!({"role": "user", "parts": [{"text": "be brief"}]}));
        let c = &e.body["contents"];
        assert_eq!(c[0]["role"], "user");
        assert_eq!(c[0]["parts"][1], json!({"inlineData": {"mimeType": "image/png", "data": "AAAA"}}));
        assert_eq!(
            c[0]["parts"][2],
            json!({"fileData": {"mimeType": "application/pdf", "fileUri": "https://x.test/a.pdf"}})
        );
        assert_eq!(c[1]["role"], "model");
        assert_eq!(c[1]["parts"][0], json!({"thought": true, "text": "thinking…", "thoughtSignature": "sig1"}));
        assert_eq!(
            c[1]["parts"][1],
            json!({"functionCall": {"name": "ns__weather", "args": {"city": "Paris"}, "id": "c1"}, "thoughtSignature": "sig2"})
        );
        assert_eq!(c[2]["role"], "function");
        assert_eq!(
            c[2]["parts"][0]["functionResponse"],
            json!({"name": "ns__weather", "response": {"name": "ns__weather", "content": {"t": 20}}, "id": "c1"})
        );
        // Gemma gets no reasoning or signatures back.
        let e = encode_request(&r, GeminiConfig::default(), opts("gemma-3-4b-it")).unwrap();
        assert_eq!(e.body["contents"][1]["parts"].as_array().unwrap().len(), 1);
        assert!(e.body["contents"][1]["parts"][0].get("thoughtSignature").is_none());
    }

    #[test]
    fn tool_responses_go_in_ref_order_with_their_media() {
        let mut tool = Message::user("");
        tool.role = Role::Tool;
        let mut with_media = Part::tool_response("snap", Some(json!("ok")), Some("1".into()));
        if let Some(tr) = with_media.tool_response.as_mut() {
            tr.content = Some(vec![Part::media("data:image/png;base64,AAAA", None)]);
        }
        tool.content = vec![Part::tool_response("a", Some(json!(2)), Some("2".into())), with_media];
        let e =
            encode_request(&req(vec![Message::user("hi"), tool]), GeminiConfig::default(), opts("gemini-2.5-flash"))
                .unwrap();
        let parts = &e.body["contents"][1]["parts"];
        assert_eq!(parts[0]["functionResponse"]["name"], "snap");
        assert_eq!(
            parts[0]["functionResponse"]["parts"],
            json!([{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}])
        );
        assert_eq!(parts[1]["functionResponse"]["id"], "2");
    }

    #[test]
    fn schemas_are_rewritten_for_gemini() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
            "properties": {
                "name": {"type": ["string", "null"], "description": "who"},
                "kind": {"enum": ["a", "b", 3]},
                "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "default": []}
            },
            "required": ["name"],
            "$defs": {"Tag": {"type": "object", "properties": {"v": {"type": "integer"}}}}
        });
        assert_eq!(
            gemini_schema(&s),
            json!({"type": "OBJECT", "required": ["name"], "properties": {
                "name": {"type": "STRING", "nullable": true, "description": "who"},
                "kind": {"type": "STRING", "enum": ["a", "b", "3"]},
                "tags": {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"v": {"type": "INTEGER"}}}}
            }})
        );
    }

    #[test]
    fn tools_tool_choice_config_and_structured_output() {
        let mut r = req(vec![Message::user("hi")]);
        r.tools = Some(vec![
            ToolDefinition {
                name: "get_time".into(),
                key: None,
                description: "now".into(),
                input_schema: Some(json!({"type": "object", "properties": {}})),
                output_schema: None,
                metadata: None,
            },
            ToolDefinition {
                name: "add".into(),
                key: None,
                description: "sum".into(),
                input_schema: Some(json!({"type": "object", "properties": {"a": {"type": "number"}}})),
                output_schema: None,
                metadata: None,
            },
        ]);
        r.tool_choice = Some(ToolChoice::Required);
        r.candidates = Some(2);
        let cfg = crate::config::parse_config(Some(&json!({
            "temperature": 0.5, "topP": 0.9, "topK": 3, "maxOutputTokens": 100, "stopSequences": ["END"],
            "thinkingConfig": {"thinkingBudget": 0}, "seed": 4, "apiKey": "k",
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "tools": [{"googleSearch": {}}]
        })))
        .unwrap();
        let e = encode_request(&r, cfg, opts("gemini-2.5-flash")).unwrap();
        let decls = &e.body["tools"][0]["functionDeclarations"];
        assert!(decls[0].get("parameters").is_none());
        assert_eq!(decls[1]["parameters"]["properties"]["a"]["type"], "NUMBER");
        assert_eq!(e.body["tools"][1], json!({"googleSearch": {}}));
        assert_eq!(e.body["toolConfig"], json!({"functionCallingConfig": {"mode": "ANY"}}));
        assert_eq!(
            e.body["generationConfig"],
            json!({"temperature": 0.5, "topP": 0.9, "topK": 3, "maxOutputTokens": 100, "stopSequences": ["END"],
                   "candidateCount": 2, "thinkingConfig": {"thinkingBudget": 0}, "seed": 4})
        );
        assert_eq!(e.body["safetySettings"][0]["threshold"], "BLOCK_NONE");
        assert_eq!(e.api_key.as_deref(), Some("k"));

        let cfg = crate::config::parse_config(Some(&json!({
            "codeExecution": true, "urlContext": {}, "googleSearch": false,
            "fileSearch": {"fileSearchStoreNames": ["fileSearchStores/s1"]},
            "retrievalConfig": {"languageCode": "en"}, "serviceTier": "flex", "contextCache": true
        })))
        .unwrap();
        let e = encode_request(&req(vec![Message::user("hi")]), cfg, opts("gemini-2.5-flash")).unwrap();
        assert_eq!(
            e.body["tools"],
            json!([{"codeExecution": {}}, {"urlContext": {}}, {"fileSearch": {"fileSearchStoreNames": ["fileSearchStores/s1"]}}])
        );
        assert_eq!(e.body["toolConfig"], json!({"retrievalConfig": {"languageCode": "en"}}));
        assert_eq!(e.body["serviceTier"], "flex");
        assert!(e.body.get("generationConfig").is_none(), "{}", e.body);

        let mut r = req(vec![Message::user("hi")]);
        let schema = json!({"type": "object", "properties": {"x": {"type": "string"}}});
        r.output = Some(OutputConfig {
            format: Some("json".into()),
            schema: schema.as_object().cloned(),
            constrained: Some(true),
            content_type: None,
        });
        let e = encode_request(&r, GeminiConfig::default(), opts("gemini-2.5-flash")).unwrap();
        assert_eq!(e.body["generationConfig"]["responseMimeType"], "application/json");
        assert_eq!(e.body["generationConfig"]["responseSchema"]["properties"]["x"]["type"], "STRING");
        let json_opts = EncodeOptions { model: "gemini-2.5-flash", response_json_schema: true };
        let e = encode_request(&r, GeminiConfig::default(), json_opts).unwrap();
        assert_eq!(e.body["generationConfig"]["responseJsonSchema"], schema);
        assert!(e.body["generationConfig"].get("responseSchema").is_none());
    }
}
