//! Wire types round-trip JSON unchanged and what we emit validates against the published
//! `genkit-schema.json` (genkit-tools 1.43, copied to `tests/data`).

use std::sync::OnceLock;

use genkit_ai::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn schema_doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let s = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/genkit-schema.json")).unwrap();
        serde_json::from_str(&s).unwrap()
    })
}

fn assert_valid(def: &str, v: &Value) {
    let mut root = schema_doc().clone();
    root.as_object_mut().unwrap().insert("$ref".into(), json!(format!("#/$defs/{def}")));
    let validator = jsonschema::draft7::new(&root).unwrap();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{def} rejects {v}: {errors:?}");
}

/// Deserializes, re-serializes, and checks the JSON is unchanged and valid as `def`.
#[allow(clippy::needless_pass_by_value)] // callers pass `json!` literals
fn round_trip<T: Serialize + DeserializeOwned>(def: &str, v: Value) {
    assert_valid(def, &v);
    let t: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{def}: {e}: {v}"));
    let back = serde_json::to_value(&t).unwrap();
    assert_eq!(back, v, "{def} did not round-trip");
}

#[test]
fn parts_of_every_kind() {
    let parts = [
        json!({"text": "hello"}),
        json!({"text": "hi", "metadata": {"source": "user"}}),
        json!({"media": {"url": "https://x/y.png", "contentType": "image/png"}}),
        json!({"media": {"url": "data:image/png;base64,AAAA"}}),
        json!({"toolRequest": {"name": "weather", "ref": "r1", "input": {"city": "Paris"}}}),
        json!({"toolRequest": {"name": "noInput"}}),
        json!({"toolRequest": {"name": "p", "input": {"a": 1}, "partial": true}}),
        json!({"toolResponse": {"name": "weather", "ref": "r1", "output": {"temp": 21.5}}}),
        json!({"toolResponse": {"name": "n", "output": null}}),
        json!({"toolResponse": {"name": "mp", "output": "x", "content": [{"text": "a"}, {"media": {"url": "https://m"}}]}}),
        json!({"data": {"a": [1, 2]}}),
        json!({"data": null}),
        json!({"custom": {"vendor": {"x": 1}}}),
        json!({"custom": {"k": 1}, "data": 3}),
        json!({"reasoning": "thinking...", "metadata": {"thoughtSignature": "abc"}}),
        json!({"resource": {"uri": "file:///a.txt"}}),
    ];
    for p in parts {
        round_trip::<Part>("Part", p);
    }
}

#[test]
fn messages_documents_and_roles() {
    round_trip::<Message>(
        "Message",
        json!({"role": "model", "content": [{"text": "a"}, {"toolRequest": {"name": "t", "input": 1}}], "metadata": {"x": true}}),
    );
    for r in ["system", "user", "model", "tool"] {
        round_trip::<Role>("Role", json!(r));
    }
    round_trip::<DocumentData>("DocumentData", json!({"content": [{"text": "doc"}], "metadata": {"id": 7}}));
    assert!(serde_json::from_value::<Role>(json!("assistant")).is_err());
}

#[test]
fn requests() {
    let req = json!({
        "messages": [
            {"role": "system", "content": [{"text": "be brief"}]},
            {"role": "user", "content": [{"text": "weather?"}]}
        ],
        "config": {"temperature": 0.2, "maxOutputTokens": 100},
        "tools": [{
            "name": "weather", "key": "/tool/weather", "description": "gets weather",
            "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
            "outputSchema": {"type": "string"}, "metadata": {"multipart": false}
        }],
        "toolChoice": "auto",
        "output": {"format": "json", "schema": {"type": "object"}, "constrained": true, "contentType": "application/json"},
        "docs": [{"content": [{"text": "ctx"}]}]
    });
    round_trip::<GenerateRequest>("GenerateRequest", req.clone());
    round_trip::<ModelRequest>("ModelRequest", req);
    round_trip::<GenerateRequest>("GenerateRequest", json!({"messages": [], "candidates": 2}));
    round_trip::<ToolDefinition>("ToolDefinition", json!({"name": "t", "description": ""}));
    for c in ["auto", "required", "none"] {
        round_trip::<ToolChoice>("GenerateRequest/properties/toolChoice", json!(c));
    }
}

#[test]
fn generate_action_options() {
    round_trip::<GenerateActionOptions>(
        "GenerateActionOptions",
        json!({
            "model": "googleai/gemini-2.5-flash",
            "docs": [{"content": [{"text": "d"}]}],
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "tools": ["weather", "/dynamic-action-provider/mcp:tool/*"],
            "resources": ["my-res"],
            "toolChoice": "required",
            "config": {"temperature": 1},
            "output": {"format": "json", "contentType": "application/json", "instructions": true, "jsonSchema": {"type": "object"}, "constrained": false},
            "resume": {
                "respond": [{"toolResponse": {"name": "ask", "ref": "1", "output": "yes"}}],
                "restart": [{"toolRequest": {"name": "ask", "ref": "1", "input": {}}}],
                "metadata": {"by": "user"}
            },
            "returnToolRequests": false,
            "maxTurns": 3,
            "stepName": "generate",
            "use": [{"name": "retry", "config": {"maxRetries": 2}}, {"name": "noConfig"}]
        }),
    );
    round_trip::<GenerateActionOutputConfig>(
        "GenerateActionOutputConfig",
        json!({"instructions": "Reply in JSON please"}),
    );
}

#[test]
fn responses_chunks_and_usage() {
    let resp = json!({
        "message": {"role": "model", "content": [{"text": "sunny"}]},
        "finishReason": "stop",
        "finishMessage": "done",
        "latencyMs": 12.5,
        "usage": {
            "inputTokens": 10, "outputTokens": 3, "totalTokens": 13, "inputCharacters": 40,
            "outputCharacters": 5, "inputImages": 1, "outputImages": 0, "inputVideos": 0,
            "outputVideos": 0, "inputAudioFiles": 0, "outputAudioFiles": 0,
            "custom": {"x": 1}, "thoughtsTokens": 2, "cachedContentTokens": 4
        },
        "custom": {"safety": []},
        "raw": {"id": "abc"},
        "request": {"messages": [{"role": "user", "content": [{"text": "w"}]}]}
    });
    round_trip::<GenerateResponse>("GenerateResponse", resp.clone());
    round_trip::<ModelResponse>("ModelResponse", resp);
    for r in ["stop", "length", "blocked", "aborted", "failed", "interrupted", "other", "unknown"] {
        round_trip::<FinishReason>("FinishReason", json!(r));
    }
    round_trip::<GenerateResponse>(
        "GenerateResponse",
        json!({"finishReason": "failed", "error": {"status": "UNAVAILABLE", "message": "down", "details": {"retry": true}}}),
    );
    round_trip::<GenerateResponse>(
        "GenerateResponse",
        json!({"operation": {"action": "/background-model/veo", "id": "op-1", "done": true, "output": {"x": 1}, "error": {"message": "m", "code": 3}, "metadata": {}}}),
    );
    round_trip::<GenerateResponse>(
        "GenerateResponse",
        json!({"candidates": [{"index": 0, "message": {"role": "model", "content": []}, "finishReason": "stop", "usage": {}, "finishMessage": "f", "custom": 1}]}),
    );
    round_trip::<GenerateResponseChunk>(
        "GenerateResponseChunk",
        json!({"role": "model", "index": 0, "content": [{"text": "par"}], "custom": {"k": 1}, "aggregated": false}),
    );
    round_trip::<ModelResponseChunk>("ModelResponseChunk", json!({"content": []}));
    round_trip::<MultipartToolResponse>(
        "MultipartToolResponse",
        json!({"output": {"a": 1}, "content": [{"text": "t"}], "metadata": {"m": 1}}),
    );
}

#[test]
fn model_info_reference_and_common_config() {
    round_trip::<ModelInfo>(
        "ModelInfo",
        json!({
            "versions": ["v1"], "label": "Echo", "configSchema": {"type": "object"},
            "supports": {"multiturn": true, "media": false, "tools": true, "systemRole": true, "output": ["text", "json"],
                         "contentType": ["application/json"], "context": false, "constrained": "no-tools",
                         "toolChoice": true, "longRunning": false},
            "stage": "stable"
        }),
    );
    round_trip::<ModelReference>("ModelReference", json!({"name": "googleai/gemini", "config": {"temperature": 0}}));
    round_trip::<GenerationCommonConfig>(
        "GenerationCommonConfig",
        json!({"version": "v2", "temperature": 0.7, "maxOutputTokens": 256, "topK": 40, "topP": 0.95,
               "stopSequences": ["\n"], "apiKey": "k", "safetySettings": [{"x": 1}]}),
    );
}

#[test]
fn emitted_values_from_constructors_are_valid() {
    let m = Message::new(
        Role::Model,
        vec![
            Part::text("a"),
            Part::media("https://x", Some("image/png".into())),
            Part::data(json!({"k": 1})),
            Part::reasoning("r"),
            Part::tool_request("t", Some(json!({})), Some("1".into())),
            Part::tool_response("t", Some(json!(2)), Some("1".into())),
            Part::resource("file:///x").with_metadata("m", json!(1)),
        ],
    );
    assert_valid("Message", &serde_json::to_value(&m).unwrap());
    assert_eq!(m.text(), "a");
    assert_eq!(m.tool_requests().count(), 1);
    let resp = ModelResponse {
        message: Some(Message::model("ok")),
        finish_reason: Some(FinishReason::Stop),
        usage: Some(GenerationUsage { input_tokens: Some(3.0), ..GenerationUsage::default() }),
        latency_ms: Some(1.0),
        ..ModelResponse::default()
    };
    let v = serde_json::to_value(&resp).unwrap();
    assert_eq!(v["usage"]["inputTokens"], json!(3));
    assert_eq!(v["latencyMs"], json!(1));
    assert_valid("ModelResponse", &v);
    assert_eq!(resp.text(), "ok");
}

#[test]
fn unknown_fields_are_tolerated_and_bad_shapes_rejected() {
    let m: Message =
        serde_json::from_value(json!({"role": "user", "content": [{"text": "x", "future": 1}], "extra": 2})).unwrap();
    assert_eq!(m.text(), "x");
    assert!(serde_json::from_value::<Message>(json!({"role": "user"})).is_err());
    assert!(serde_json::from_value::<GenerateRequest>(json!({"messages": "hi"})).is_err());
}

#[test]
#[should_panic(expected = "Part rejects")]
fn the_schema_check_itself_rejects_invalid_parts() {
    assert_valid("Part", &json!({"text": 1}));
}

#[test]
fn middleware_descriptions_are_valid_middleware_desc() {
    use genkit_ai::middleware::{Middleware, MiddlewareDef};
    struct Noop;
    impl Middleware for Noop {}
    #[derive(Default, serde::Deserialize, schemars::JsonSchema)]
    struct Config {
        _n: Option<u32>,
    }
    let typed = MiddlewareDef::typed("typed", "typed config", |_: Config, _| Ok(Noop));
    let v = typed.to_json();
    assert_valid("MiddlewareDesc", &v);
    assert_eq!(v["name"], json!("typed"));
    assert!(v["configSchema"].is_object(), "{v}");
    let bare = MiddlewareDef::new("bare", |_| Ok(Noop));
    assert_eq!(bare.to_json(), json!({"name": "bare"}));
    assert_valid("MiddlewareDesc", &bare.to_json());
    let full = MiddlewareDef::new("full", |_| Ok(Noop))
        .description("does things")
        .config_schema(json!({"type": "object", "properties": {"n": {"type": "integer"}}}))
        .metadata("dynamic", json!(true));
    assert_eq!(
        full.to_json(),
        json!({"name": "full", "description": "does things",
               "configSchema": {"type": "object", "properties": {"n": {"type": "integer"}}},
               "metadata": {"dynamic": true}})
    );
    assert_valid("MiddlewareDesc", &full.to_json());
}

#[test]
fn message_content_may_be_a_string_when_read() {
    let m: Message = serde_json::from_value(json!({"role": "user", "content": "hi"})).unwrap();
    assert_eq!(m.content, vec![Part::text("hi")]);
    let back = serde_json::to_value(&m).unwrap();
    assert_eq!(back, json!({"role": "user", "content": [{"text": "hi"}]}));
    assert_valid("Message", &back);
    assert!(serde_json::from_value::<Message>(json!({"role": "user", "content": 3})).is_err());
    assert!(serde_json::from_value::<Message>(json!({"role": "user", "content": {"text": "x"}})).is_err());
}
