//! Request encoding: every mapping of `encode_request`, checked against the JSON the
//! Messages API documents.

use genkit_ai::{Message, ModelRequest, OutputConfig, Part, Role, ToolChoice, ToolDefinition};
use genkit_core::Status;
use serde_json::{Value, json};

use super::*;
use crate::config::parse_config;
use crate::messages::decode::block_part;

fn opts(structured: bool) -> EncodeOptions<'static> {
    EncodeOptions {
        model: "claude-haiku-4-5",
        stream: false,
        structured_output: structured,
        cache_system_prompt: false,
    }
}

fn encode_with(req: &ModelRequest, o: &EncodeOptions<'_>) -> (Value, Vec<String>) {
    let cfg = parse_config(req.config.as_ref()).unwrap();
    let e = encode_request(req, cfg, o).unwrap();
    (serde_json::to_value(&e.body).unwrap(), e.betas)
}

fn encode(req: &ModelRequest) -> Value {
    encode_with(req, &opts(true)).0
}

fn req(messages: Vec<Message>) -> ModelRequest {
    ModelRequest { messages, ..ModelRequest::default() }
}

fn err(req: &ModelRequest) -> genkit_core::Error {
    let cfg = parse_config(req.config.as_ref()).unwrap();
    encode_request(req, cfg, &opts(true)).unwrap_err()
}

#[test]
fn roles_system_and_defaults() {
    let r = req(vec![
        Message::system("Be brief."),
        Message::user("Hi"),
        Message::model("Hello!"),
        Message::new(Role::User, vec![Part::text(""), Part::text("Again")]),
    ]);
    assert_eq!(
        encode(&r),
        json!({
            "model": "claude-haiku-4-5", "max_tokens": 4096, "system": "Be brief.",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
                {"role": "user", "content": [{"type": "text", "text": "Again"}]}
            ]
        })
    );
    let mut s = r;
    s.messages[0].content.push(Part::text("Use French."));
    assert_eq!(encode(&s)["system"], "Be brief.\n\nUse French.");
    s.messages[0].content.push(Part::media("https://x/y.png", None));
    assert_eq!(err(&s).status(), Status::InvalidArgument);
}

#[test]
fn config_maps_to_body_fields_and_passes_the_rest_through() {
    let mut r = req(vec![Message::user("Hi")]);
    r.config = Some(json!({
        "version": "claude-haiku-4-5-20251001", "temperature": 0.5, "maxOutputTokens": 100, "topK": 5, "topP": 0.9,
        "stopSequences": ["END"], "metadata": {"user_id": "u1"}, "service_tier": "auto",
        "max_tokens": 7, "model": "ignored", "stream": true, "apiKey": "sk-per-request"
    }));
    let cfg = parse_config(r.config.as_ref()).unwrap();
    let e = encode_request(&r, cfg, &EncodeOptions { stream: true, ..opts(true) }).unwrap();
    assert_eq!(e.api_key.as_deref(), Some("sk-per-request"));
    let b = serde_json::to_value(&e.body).unwrap();
    assert_eq!(b["model"], "claude-haiku-4-5-20251001");
    assert_eq!(b["max_tokens"], 100, "maxOutputTokens wins over a raw max_tokens");
    assert_eq!((b["temperature"].as_f64(), b["top_k"].as_u64(), b["top_p"].as_f64()), (Some(0.5), Some(5), Some(0.9)));
    assert_eq!(b["stop_sequences"], json!(["END"]));
    assert_eq!(b["metadata"], json!({"user_id": "u1"}));
    assert_eq!(b["service_tier"], "auto");
    assert_eq!(b["stream"], true);
    assert!(b.get("apiKey").is_none());
    let text = serde_json::to_string(&e.body).unwrap();
    assert_eq!(text.matches("\"max_tokens\"").count(), 1, "{text}");
    assert_eq!(text.matches("\"model\"").count(), 1, "{text}");
    r.config = Some(json!({"max_tokens": 7}));
    assert_eq!(encode(&r)["max_tokens"], 7);
}

#[test]
fn images_documents_and_unsupported_media() {
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let pdf = "data:application/pdf;base64,JVBERi0xLjQ=";
    let text = "data:text/plain;base64,SGVsbG8gd29ybGQ="; // "Hello world"
    let r = req(vec![Message::new(
        Role::User,
        vec![
            Part::media(png, Some("image/png".into())),
            Part::media("https://example.com/cat.jpg", Some("image/jpeg".into())),
            Part::media("https://example.com/dog.webp", None),
            Part::media(pdf, None),
            Part::media("https://example.com/paper.pdf", Some("application/pdf".into())),
            Part::media(text, Some("text/plain".into())),
            Part::media("file_011CNha8iCJcU1wXNR6q4V8w", Some("anthropic/file".into())),
        ],
    )]);
    let (b, betas) = encode_with(&r, &opts(true));
    assert_eq!(
        b["messages"][0]["content"],
        json!([
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/dog.webp"}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQ="}},
            {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Hello world"}},
            {"type": "document", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}}
        ])
    );
    assert_eq!(betas, [FILES_BETA]);
    for bad in [
        Part::media("gs://bucket/cat.png", Some("image/png".into())),
        Part::media("data:video/mp4;base64,AAAA", None),
        Part::media("data:text/plain;base64,!!!", None),
        Part::resource("file:///x"),
    ] {
        let e = err(&req(vec![Message::new(Role::User, vec![bad.clone()])]));
        assert_eq!(e.status(), Status::InvalidArgument, "{bad:?}");
    }
}

#[test]
fn document_parts_and_data_parts() {
    let doc = crate::DocumentPart::text("The sky is blue.").title("Facts").citations(true).part();
    let r = req(vec![Message::new(Role::User, vec![doc, Part::data(json!({"k": 1}))])]);
    assert_eq!(
        encode(&r)["messages"][0]["content"],
        json!([
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is blue."},
             "title": "Facts", "citations": {"enabled": true}},
            {"type": "text", "text": "{\"k\":1}"}
        ])
    );
}

fn weather() -> ToolDefinition {
    ToolDefinition {
        name: "get_weather".into(),
        description: "Weather of a city".into(),
        input_schema: Some(json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
            "properties": {"city": {"type": "string"}}, "required": ["city"]})),
        key: None,
        output_schema: None,
        metadata: None,
    }
}

#[test]
fn tools_tool_calls_and_results() {
    let mut r = req(vec![
        Message::user("Weather in Paris?"),
        Message::new(
            Role::Model,
            vec![
                Part::text("Let me check."),
                Part::tool_request("get_weather", Some(json!({"city": "Paris"})), Some("toolu_1".into())),
            ],
        ),
        Message::new(
            Role::Tool,
            vec![
                Part::tool_response("get_weather", Some(json!({"temp": 21})), Some("toolu_1".into())),
                Part::tool_response("get_weather", Some(json!("sunny")), Some("toolu_2".into())),
                Part::tool_response(
                    "get_weather",
                    Some(json!({"url": "data:image/png;base64,AAA", "contentType": "image/png"})),
                    Some("toolu_3".into()),
                ),
                Part::tool_response("get_weather", None, Some("toolu_4".into())).with_metadata("is_error", json!(true)),
            ],
        ),
    ]);
    r.tools = Some(vec![weather()]);
    r.tool_choice = Some(ToolChoice::Required);
    let b = encode(&r);
    assert_eq!(
        b["tools"],
        json!([{"name": "get_weather", "description": "Weather of a city", "input_schema":
            {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
    );
    assert_eq!(b["tool_choice"], json!({"type": "any"}));
    assert_eq!(
        b["messages"][1]["content"][1],
        json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}})
    );
    assert_eq!(
        b["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "{\"temp\":21}"}]},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "sunny"}]},
            {"type": "tool_result", "tool_use_id": "toolu_3", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]},
            {"type": "tool_result", "tool_use_id": "toolu_4", "content": [], "is_error": true}
        ]})
    );
    for (choice, kind) in [(ToolChoice::Auto, "auto"), (ToolChoice::None, "none")] {
        r.tool_choice = Some(choice);
        assert_eq!(encode(&r)["tool_choice"]["type"], kind);
    }
    r.config = Some(json!({"tool_choice": {"type": "tool", "name": "get_weather"},
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}));
    let b = encode(&r);
    assert_eq!(b["tool_choice"], json!({"type": "tool", "name": "get_weather"}), "the config wins");
    assert_eq!(b["tools"][1], json!({"type": "web_search_20250305", "name": "web_search", "max_uses": 3}));
    assert_eq!(b["tools"].as_array().unwrap().len(), 2, "server tools are appended, not replacing");
    r.tools = None;
    r.config = None;
    assert!(encode(&r).get("tool_choice").is_none(), "no tool_choice without tools");
    let no_ref = req(vec![Message::new(Role::Model, vec![Part::tool_request("f", None, None)])]);
    assert!(err(&no_ref).message().contains("no ref"));
}

#[test]
fn thinking_goes_back_with_its_signature() {
    let mut js_style = Part::reasoning("js thought");
    js_style.custom =
        Some(Box::new(serde_json::from_value(json!({"anthropicThinking": {"signature": "js-sig"}})).unwrap()));
    let redacted = Part {
        custom: Some(Box::new(serde_json::from_value(json!({"redactedThinking": "EmwKAhgB"})).unwrap())),
        ..Part::default()
    };
    let r = req(vec![
        Message::user("Q"),
        Message::new(
            Role::Model,
            vec![
                Part::reasoning("Let me think.").with_metadata("thoughtSignature", json!("sig-1")),
                js_style,
                redacted,
                Part::reasoning("from another model, unsigned"),
                Part::text("A"),
            ],
        ),
    ]);
    assert_eq!(
        encode(&r)["messages"][1]["content"],
        json!([
            {"type": "thinking", "thinking": "Let me think.", "signature": "sig-1"},
            {"type": "thinking", "thinking": "js thought", "signature": "js-sig"},
            {"type": "redacted_thinking", "data": "EmwKAhgB"},
            {"type": "text", "text": "A"}
        ])
    );
}

#[test]
fn thinking_effort_and_betas() {
    let mut r = req(vec![Message::user("Q")]);
    r.config = Some(json!({"thinking": {"enabled": true, "budgetTokens": 2048}}));
    let b = encode(&r);
    assert_eq!(b["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
    assert_eq!(b["max_tokens"], 4096 + 2048, "the default leaves room for the answer");
    r.config = Some(
        json!({"thinking": {"adaptive": true}, "effort": "high", "output_config": {"task_budget": {"type": "tokens", "total": 20000}}}),
    );
    let (b, betas) = encode_with(&r, &opts(true));
    assert_eq!(b["thinking"], json!({"type": "adaptive"}));
    assert_eq!(b["output_config"], json!({"task_budget": {"type": "tokens", "total": 20000}, "effort": "high"}));
    assert_eq!(betas, [EFFORT_BETA]);
    r.config = Some(json!({"apiVersion": "beta", "betas": ["context-1m-2025-08-07"]}));
    let (_, betas) = encode_with(&r, &opts(true));
    assert_eq!(betas.len(), DEFAULT_BETAS.len() + 1);
    assert_eq!(betas.last().map(String::as_str), Some("context-1m-2025-08-07"));
    r.config = Some(json!({"apiVersion": "stable"}));
    assert!(encode_with(&r, &opts(true)).1.is_empty());
}

#[test]
fn cache_control_from_part_and_tool_metadata() {
    let eph = json!({"type": "ephemeral"});
    let mut tool = weather();
    tool.metadata = Some(serde_json::from_value(json!({"cache_control": {"type": "ephemeral"}})).unwrap());
    let mut r = req(vec![
        Message::new(
            Role::System,
            vec![
                Part::text("Long instructions")
                    .with_metadata("cache_control", json!({"type": "ephemeral", "ttl": "1h"})),
            ],
        ),
        Message::new(
            Role::User,
            vec![
                Part::text("Big context").with_metadata("cache_control", json!(true)),
                Part::media("data:image/png;base64,AAA", None).with_metadata("cache_control", json!("5m")),
                Part::media("data:application/pdf;base64,JVBE", None).with_metadata("cacheControl", eph.clone()),
            ],
        ),
    ]);
    r.tools = Some(vec![tool]);
    let b = encode(&r);
    assert_eq!(
        b["system"],
        json!([{"type": "text", "text": "Long instructions", "cache_control": {"type": "ephemeral", "ttl": "1h"}}])
    );
    let c = &b["messages"][0]["content"];
    assert_eq!(c[0]["cache_control"], eph);
    assert_eq!(c[1]["cache_control"], json!({"type": "ephemeral", "ttl": "5m"}));
    assert_eq!(c[2]["cache_control"], eph);
    assert_eq!(b["tools"][0]["cache_control"], eph);

    let r = req(vec![Message::system("a"), Message::system("b"), Message::user("Q")]);
    let (b, _) = encode_with(&r, &EncodeOptions { cache_system_prompt: true, ..opts(true) });
    assert_eq!(
        b["system"],
        json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": eph}])
    );
}

#[test]
fn structured_output_is_native_where_supported() {
    let mut r = req(vec![Message::user("A cat")]);
    r.output = Some(OutputConfig {
        format: Some("json".into()),
        schema: Some(
            serde_json::from_value(json!({"type": "object", "properties": {"name": {"type": "string"}}})).unwrap(),
        ),
        constrained: Some(true),
        content_type: Some("application/json".into()),
    });
    let (b, betas) = encode_with(&r, &opts(true));
    assert_eq!(
        b["output_format"],
        json!({"type": "json_schema", "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": false}})
    );
    assert_eq!(betas, [STRUCTURED_OUTPUTS_BETA]);
    let (b, betas) = encode_with(&r, &opts(false));
    assert!(b.get("output_format").is_none() && betas.is_empty(), "older models get Genkit's simulation");
    r.output.as_mut().unwrap().constrained = Some(false);
    assert!(encode(&r).get("output_format").is_none());
}

#[test]
fn structured_schemas_close_every_object() {
    let s = structured_schema(&json!({
        "type": "object",
        "properties": {"type": {"type": "object", "additionalProperties": true}, "list": {"type": "array", "items": {"type": ["object", "null"]}}},
        "$defs": {"P": {"type": "object", "properties": {}}},
        "anyOf": [{"type": "object"}],
        "default": {"type": "object"}
    }));
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["properties"]["type"]["additionalProperties"], true, "an explicit setting is kept");
    assert_eq!(s["properties"]["list"]["items"]["additionalProperties"], false);
    assert_eq!(s["$defs"]["P"]["additionalProperties"], false);
    assert_eq!(s["anyOf"][0]["additionalProperties"], false);
    assert!(s["default"].get("additionalProperties").is_none(), "values are not schemas");
}

#[test]
fn server_tool_blocks_go_back_as_they_came() {
    let blocks = [
        json!({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "rust"}}),
        json!({"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
               "content": [{"type": "web_search_result", "url": "https://rust-lang.org", "title": "Rust", "encrypted_content": "enc", "page_age": null}]}),
        json!({"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "echo", "server_name": "srv", "input": {"x": 1}}),
        json!({"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "is_error": false, "content": [{"type": "text", "text": "1"}]}),
        json!({"type": "compaction", "content": "summary of earlier turns"}),
    ];
    let parts: Vec<Part> = blocks.iter().cloned().filter_map(block_part).collect();
    let r = req(vec![Message::user("Q"), Message::new(Role::Model, parts)]);
    assert_eq!(encode(&r)["messages"][1]["content"], Value::Array(blocks.to_vec()));
}
