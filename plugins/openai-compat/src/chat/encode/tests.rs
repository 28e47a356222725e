use super::*;
use genkit_ai::OutputConfig;

fn enc(req: &ModelRequest, o: EncodeOptions<'_>) -> Value {
    let cfg = parse_config(req.config.as_ref()).unwrap();
    encode_chat_request(req, cfg, &o).unwrap().to_json()
}

fn opts(model: &str) -> EncodeOptions<'_> {
    EncodeOptions { model, ..Default::default() }
}

fn tool_def(name: &str) -> ToolDefinition {
    ToolDefinition {
        name: name.into(),
        key: None,
        description: "Gets the weather".into(),
        input_schema: Some(json!({"$schema": "x", "type": "object", "properties": {"city": {"type": "string"}}})),
        output_schema: None,
        metadata: None,
    }
}

#[test]
fn a_whole_conversation_maps_role_by_role() {
    let req = ModelRequest {
        messages: vec![
            Message::system("Be brief."),
            Message::user("Weather in Paris?"),
            Message::new(
                Role::Model,
                vec![
                    Part::reasoning("I should call the tool"),
                    Part::tool_request("weather", Some(json!({"city": "Paris"})), Some("call_1".into())),
                ],
            ),
            Message::new(
                Role::Tool,
                vec![
                    Part::tool_response("weather", Some(json!({"temp": 21})), Some("call_1".into())),
                    Part::tool_response("note", Some(json!("sunny")), None),
                ],
            ),
            Message::new(Role::Model, vec![Part::reasoning("thinking"), Part::text("21°C and sunny.")]),
        ],
        ..Default::default()
    };
    assert_eq!(
        enc(&req, opts("gpt-4o"))["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "content": "{\"temp\":21}", "tool_call_id": "call_1"},
            {"role": "tool", "content": "sunny", "tool_call_id": "note"},
            {"role": "assistant", "content": "21°C and sunny."}
        ])
    );
}

#[test]
fn config_fields_map_and_unknown_keys_pass_through() {
    let req = ModelRequest {
        messages: vec![Message::user("hi")],
        config: Some(json!({
            "temperature": 0.3, "maxOutputTokens": 50, "topP": 0.9, "topK": 5, "stopSequences": ["END"],
            "frequencyPenalty": 0.1, "presencePenalty": 0.2, "seed": 42, "logProbs": true, "topLogProbs": 2,
            "user": "u1", "store": false, "reasoningEffort": "low", "parallelToolCalls": false,
            "apiKey": "sk-never-in-body", "web_search_options": {}, "temperature_extra": 1,
            "model": "hijack", "stream": true, "seed_dup": 1, "max_tokens": 999
        })),
        ..Default::default()
    };
    let body = enc(&req, opts("gpt-4o"));
    assert_eq!(
        body,
        json!({
            "model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.3, "top_p": 0.9, "max_tokens": 50, "stop": ["END"],
            "frequency_penalty": 0.1, "presence_penalty": 0.2, "seed": 42, "logprobs": true, "top_logprobs": 2,
            "user": "u1", "store": false, "reasoning_effort": "low", "parallel_tool_calls": false,
            "web_search_options": {}, "temperature_extra": 1, "seed_dup": 1
        })
    );
    assert!(!body.to_string().contains("sk-never-in-body"));
}

#[test]
fn reasoning_models_get_max_completion_tokens_and_version_overrides_the_model() {
    let req = ModelRequest {
        messages: vec![Message::user("hi")],
        config: Some(json!({"maxOutputTokens": 10, "version": "o3-mini-2025-01-31"})),
        ..Default::default()
    };
    let body = enc(&req, EncodeOptions { model: "o3-mini", max_completion_tokens: true, ..Default::default() });
    assert_eq!(body["model"], "o3-mini-2025-01-31");
    assert_eq!(body["max_completion_tokens"], 10);
    assert!(body.get("max_tokens").is_none());
}

#[test]
fn streaming_asks_for_usage() {
    let req = ModelRequest { messages: vec![Message::user("hi")], ..Default::default() };
    let body = enc(&req, EncodeOptions { model: "m", stream: true, ..Default::default() });
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert!(enc(&req, opts("m")).get("stream").is_none());
}

#[test]
fn tools_and_tool_choice() {
    let req = ModelRequest {
        messages: vec![Message::user("hi")],
        tools: Some(vec![tool_def("weather")]),
        tool_choice: Some(ToolChoice::Required),
        config: Some(json!({"tools": [{"type": "web_search_preview"}]})),
        ..Default::default()
    };
    let body = enc(&req, opts("m"));
    assert_eq!(
        body["tools"],
        json!([
            {"type": "function", "function": {"name": "weather", "description": "Gets the weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}},
            {"type": "web_search_preview"}
        ])
    );
    assert_eq!(body["tool_choice"], "required");
    let mut none = req;
    none.tools = None;
    none.config = None;
    let body = enc(&none, opts("m"));
    assert!(body.get("tool_choice").is_none() && body.get("tools").is_none());
    let mut no_schema = tool_def("ping");
    no_schema.input_schema = None;
    no_schema.description = String::new();
    assert_eq!(
        encode_tool(&no_schema),
        json!({"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}})
    );
}

fn json_req(schema: Option<Value>) -> ModelRequest {
    ModelRequest {
        messages: vec![Message::user("a cat as JSON")],
        output: Some(OutputConfig {
            format: Some("json".into()),
            schema: schema.and_then(|s| s.as_object().cloned()),
            constrained: Some(true),
            content_type: Some("application/json".into()),
        }),
        ..Default::default()
    }
}

#[test]
fn json_output_uses_json_object_or_a_strict_json_schema() {
    assert_eq!(enc(&json_req(None), opts("m"))["response_format"], json!({"type": "json_object"}));
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name"]});
    let strict =
        enc(&json_req(Some(schema.clone())), EncodeOptions { model: "m", strict_default: true, ..Default::default() });
    assert_eq!(
        strict["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "output", "strict": true, "schema": {
            "type": "object", "additionalProperties": false, "required": ["name", "age"],
            "properties": {"name": {"type": "string"}, "age": {"type": ["integer", "null"]}}
        }}})
    );
    let loose = enc(&json_req(Some(schema.clone())), opts("m"));
    assert_eq!(
        loose["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}})
    );
    let mut off = json_req(Some(schema.clone()));
    off.config = Some(json!({"strictJsonSchema": false}));
    let body = enc(&off, EncodeOptions { model: "m", strict_default: true, ..Default::default() });
    assert!(body["response_format"]["json_schema"].get("strict").is_none());
    let mut user = json_req(Some(schema));
    user.config = Some(json!({"response_format": {"type": "text"}}));
    assert_eq!(enc(&user, opts("m"))["response_format"], json!({"type": "text"}));
    let text = ModelRequest {
        messages: vec![Message::user("x")],
        output: Some(OutputConfig::default()),
        ..Default::default()
    };
    assert!(enc(&text, opts("m")).get("response_format").is_none());
}

#[test]
fn vision_audio_and_files_become_content_parts() {
    let req = ModelRequest {
        messages: vec![Message::new(
            Role::User,
            vec![
                Part::text("What is this?"),
                Part::media("https://example.com/cat.jpg", None),
                Part::media("data:image/png;base64,iVBOR", None),
                Part::media("data:audio/wav;base64,UklGRg==", Some("audio/wav".into())),
                Part::media("data:application/pdf;base64,JVBER", Some("application/pdf".into())),
            ],
        )],
        config: Some(json!({"visualDetailLevel": "low"})),
        ..Default::default()
    };
    assert_eq!(
        enc(&req, opts("gpt-4o"))["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "low"}},
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"filename": "file.pdf", "file_data": "data:application/pdf;base64,JVBER"}}
        ])
    );
}

#[test]
fn non_image_urls_are_rejected() {
    let req = ModelRequest {
        messages: vec![Message::new(Role::User, vec![Part::media("https://x/a.mp4", Some("video/mp4".into()))])],
        ..Default::default()
    };
    let e = encode_chat_request(&req, ChatConfig::default(), &opts("m")).unwrap_err();
    assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
    assert!(e.message().contains("video/mp4"), "{}", e.message());
}

#[test]
fn bad_config_is_invalid_argument() {
    let e = parse_config(Some(&json!({"temperature": "hot"}))).unwrap_err();
    assert_eq!(e.status(), genkit_core::Status::InvalidArgument);
    assert!(parse_config(Some(&Value::Null)).is_ok());
}

#[test]
fn data_urls_parse() {
    assert_eq!(parse_data_url("data:image/png;base64,AAA"), Some(("image/png", true, "AAA")));
    assert_eq!(parse_data_url("data:text/plain,hi"), Some(("text/plain", false, "hi")));
    assert_eq!(parse_data_url("https://x"), None);
}
