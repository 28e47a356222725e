//! Prompts through the `Genkit` facade: `.prompt` files in `tests/prompts`,
//! prompts defined in code, rendering, generate/stream on test models, prompts as tools,
//! typed prompts, lookups, folder loading and its errors, embedded prompts.
//!
//! Expected JSON marked "JS" was printed by Genkit JS 1.42 for the same files and calls.

use std::path::PathBuf;

use futures::StreamExt;
use genkit::ai::model::testing::{ProgrammableModel, echo_model};
use genkit::ai::{FinishReason, ModelResponse, ModelResponseChunk, ToolArg};
use genkit::opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
use genkit::prelude::*;
use genkit::{DocumentData, EmbeddedPrompts, PromptCx};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn prompt_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/prompts")
}

async fn app() -> Genkit {
    let g = Genkit::builder().prompt_dir(prompt_dir()).build().await.unwrap();
    g.register(echo_model("test/echo").as_action());
    g
}

async fn metadata_json(g: &Genkit, key: &str) -> Value {
    let a = g.lookup_action(key).await.unwrap().unwrap_or_else(|| panic!("{key} not registered"));
    serde_json::to_value(a.metadata()).unwrap()
}

fn as_json<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

/// A fresh folder under the system temp dir with the given files.
fn temp_prompts(tag: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("genkit-prompts-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, source) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, source).unwrap();
    }
    dir
}

const KITCHENSINK_TEMPLATE: &str = "{{role \"system\"}}You forecast the weather for {{city}}.\n{{history}}\n{{role \"user\"}}What is the weather {{#if days}}in {{days}} days{{else}}today{{/if}}?";

fn kitchensink_input_schema() -> Value {
    json!({"type":"object","properties":{"city":{"type":"string"},"days":{"type":["integer","null"],
        "description":"how many days ahead"}},"required":["city"],"additionalProperties":false})
}

fn kitchensink_output_schema() -> Value {
    json!({"type":"object","properties":{"summary":{"type":"string"},"alerts":{"type":["array","null"],
        "items":{"type":"string"},"description":"weather alerts"}},"required":["summary"],"additionalProperties":false})
}

// ---- metadata of both actions ----

#[tokio::test]
async fn file_prompt_actions_have_the_js_metadata() {
    let g = app().await;
    // JS: `__action.metadata` of /prompt/kitchensink (identical for /executable-prompt/kitchensink).
    let want = json!({"type":"prompt","prompt":{"ext":{"forecast":{"style":"terse"}},"metadata":{},
        "config":{"temperature":0.4,"topK":3},"model":"test/echo",
        "description":"A forecast prompt that sets every frontmatter key","tools":["lookupWeather","getTime"],
        "input":{"schema":kitchensink_input_schema()},
        "output":{"format":"json","schema":kitchensink_output_schema()},
        "raw":{"model":"test/echo","description":"A forecast prompt that sets every frontmatter key",
            "config":{"temperature":0.4,"topK":3},"tools":["lookupWeather","getTime"],"returnToolRequests":true,
            "input":{"schema":{"city":"string","days?":"integer, how many days ahead"}},
            "output":{"format":"json","schema":{"summary":"string","alerts?(array, weather alerts)":"string"}},
            "maxTurns":9,"toolChoice":"required","metadata":{"owner":"weather-team"},
            "use":[{"name":"retry","config":{"maxRetries":2}}],"forecast.style":"terse"},
        "toolDefs":[],"use":[{"name":"retry","config":{"maxRetries":2}}],"toolChoice":"required",
        "template":KITCHENSINK_TEMPLATE,"name":"kitchensink"},"metadata":{"owner":"weather-team"}});
    for key in ["/prompt/kitchensink", "/executable-prompt/kitchensink"] {
        let m = metadata_json(&g, key).await;
        assert_eq!(m["metadata"], want, "{key}");
        assert_eq!(m["name"], "kitchensink");
        assert_eq!(m["key"], key);
        assert_eq!(m["description"], "A forecast prompt that sets every frontmatter key");
        assert_eq!(m["inputSchema"], kitchensink_input_schema());
    }
    // The prompt action has no output schema (JS); the executable one outputs `GenerateActionOptions`.
    assert!(metadata_json(&g, "/prompt/kitchensink").await.get("outputSchema").is_none());
    assert!(
        metadata_json(&g, "/executable-prompt/kitchensink").await["outputSchema"]["properties"]["messages"].is_object()
    );

    // JS: a variant, and a prompt in a sub-folder without an input schema.
    let m = metadata_json(&g, "/prompt/greeting.formal").await;
    assert_eq!(
        m["metadata"],
        json!({"type":"prompt","prompt":{"ext":{},"metadata":{},"config":{"temperature":0.1},"model":"test/echo",
            "input":{"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],
                "additionalProperties":false}},
            "raw":{"model":"test/echo","config":{"temperature":0.1},"input":{"schema":{"name":"string"}}},
            "variant":"formal","use":[],"template":"Good evening, {{name}}.\n{{> signature}}","name":"greeting",
            "tools":[]}})
    );
    assert_eq!(m["name"], "greeting.formal");
    let m = metadata_json(&g, "/prompt/sub/deep").await;
    assert_eq!(
        m["metadata"],
        json!({"type":"prompt","prompt":{"ext":{},"metadata":{},"config":{},"model":"test/echo",
            "description":"A prompt in a sub-folder","raw":{"model":"test/echo","description":"A prompt in a sub-folder"},
            "use":[],"template":"Hello from a sub-folder, {{@auth.uid}}.","input":{"schema":null},"name":"sub/deep",
            "tools":[]}})
    );
    assert!(m.get("inputSchema").is_none());
}

#[tokio::test]
async fn code_prompt_actions_have_the_js_metadata() {
    let g = app().await;
    let p = g.define_prompt(
        PromptConfig::new("codePrompt")
            .variant("v2")
            .model("test/echo")
            .description("defined in code")
            .config(json!({"temperature": 1}))
            .input_schema(json!({"type": "object", "properties": {"who": {"type": "string"}}}))
            .system("Be {{mood}}.")
            .prompt("Hello {{who}} from {{@auth.uid}}")
            .tool("lookupWeather")
            .tool_choice(genkit::ai::ToolChoice::Auto)
            .max_turns(2)
            .return_tool_requests(false)
            .metadata("team", json!("x"))
            .metadata("prompt", json!({"extra": 1}))
            .use_middleware(genkit::ai::middleware::MiddlewareUse::named("retry", Some(json!({"maxRetries": 1}))))
            .output(OutputOptions::format("text")),
    );
    // JS: the same `definePrompt`.
    let want = json!({"team":"x","prompt":{"extra":1,"config":{"temperature":1},"input":{"schema":{"type":"object",
        "properties":{"who":{"type":"string"}}}},"name":"codePrompt","model":"test/echo","tools":["lookupWeather"],
        "toolChoice":"auto","use":[{"name":"retry","config":{"maxRetries":1}}],"variant":"v2"},"type":"prompt"});
    for key in ["/prompt/codePrompt.v2", "/executable-prompt/codePrompt.v2"] {
        let m = metadata_json(&g, key).await;
        assert_eq!(m["metadata"], want);
        assert_eq!(m["description"], "defined in code");
        assert_eq!(m["inputSchema"], json!({"type": "object", "properties": {"who": {"type": "string"}}}));
    }
    assert_eq!(as_json(&p.reference()), json!({"name":"codePrompt.v2","metadata":{"team":"x","prompt":{"extra":1}}}));
    assert_eq!(as_json(&g.prompt("kitchensink").reference()), json!({"name": "kitchensink"}));

    let bare = g.define_prompt(PromptConfig::new("bare").prompt("just text"));
    assert_eq!(
        metadata_json(&g, "/prompt/bare").await["metadata"],
        json!({"prompt":{"input":{},"name":"bare","tools":[],"use":[]},"type":"prompt"})
    );
    assert_eq!(as_json(&bare.reference()), json!({"name": "bare"}));
}

#[tokio::test]
async fn prompts_are_registered_lazily() {
    let g = Genkit::builder().no_prompt_dir().build().await.unwrap();
    // A file whose schema is defined only after loading resolves, because metadata is
    // resolved on first lookup.
    let dir = temp_prompts("lazy", &[("later.prompt", "---\ninput:\n  schema: Later\n---\nHi {{x}}")]);
    assert_eq!(g.load_prompt_dir(&dir).unwrap(), 1);
    g.define_schema("Later", json!({"type": "object", "properties": {"x": {"type": "string"}}})).unwrap();
    let m = metadata_json(&g, "/prompt/later").await;
    assert_eq!(m["inputSchema"]["properties"]["x"]["type"], "string");
    let keys: Vec<String> = g.registry().list_actions().await.unwrap().into_keys().collect();
    assert!(keys.contains(&"/executable-prompt/later".to_owned()), "{keys:?}");
}

// ---- rendering ----

#[tokio::test]
async fn render_places_history_merges_config_and_carries_options() {
    let g = app().await;
    let history = vec![Message::user("earlier q"), Message::model("earlier a")];
    let opts = GenerateOptions::new().messages(history).config(json!({"topK": 5}));
    let r = g.prompt("kitchensink").render_with(json!({"city": "Oslo", "days": 2}), opts).await.unwrap();
    // JS: `ai.prompt('kitchensink').render(...)` with the same history and config.
    assert_eq!(
        as_json(&r.messages),
        json!([{"role":"system","content":[{"text":"You forecast the weather for Oslo.\n"}]},
            {"role":"user","content":[{"text":"earlier q"}],"metadata":{"purpose":"history"}},
            {"role":"model","content":[{"text":"earlier a"}],"metadata":{"purpose":"history"}},
            {"role":"user","content":[{"text":"What is the weather in 2 days?"}]}])
    );
    assert_eq!(r.config, Some(json!({"temperature": 0.4, "topK": 5})));
    assert_eq!(r.max_turns, Some(9));
    assert_eq!(r.return_tool_requests, Some(true));
    assert_eq!(r.tool_choice, Some(genkit::ai::ToolChoice::Required));
    let tools: Vec<String> = r.tools.iter().map(|t| format!("{t:?}")).collect();
    assert_eq!(tools, ["Name(lookupWeather)", "Name(getTime)"]);
    let out = r.output.as_ref().unwrap();
    assert_eq!(out.format.as_deref(), Some("json"));
    assert_eq!(out.schema, Some(kitchensink_output_schema()));
    assert_eq!(
        as_json(&r.middleware.iter().map(|m| m.to_ref()).collect::<Vec<_>>()),
        json!([{"name":"retry","config":{"maxRetries":2}}])
    );
    assert_eq!(as_json(&r.metadata), json!({"prompt": {"owner": "weather-team"}}));
    assert!(matches!(&r.model, Some(genkit::ai::ModelArg::Name(n)) if n == "test/echo"));

    // Without history the template's messages stand alone; the empty config is dropped.
    let r = g.prompt("chat_preamble").render(json!({"persona": "a pirate"})).await.unwrap();
    assert_eq!(
        as_json(&r.messages),
        json!([{"role":"system","content":[{"text":"You are a pirate.\n"}]},{"role":"user","content":[{"text":"Keep it short."}]}])
    );
    let r = g.prompt("sub/deep").render(json!({})).await.unwrap();
    assert_eq!(r.config, None);
}

#[tokio::test]
async fn render_reads_context_as_data_and_calls_prompt_functions() {
    let g = app().await;
    let auth = ActionContext::new().with("auth", json!({"uid": "u1"})).with("state", json!({"step": 3}));
    let r = g.prompt("sub/deep").render_with(Value::Null, GenerateOptions::new().context(auth.clone())).await.unwrap();
    assert_eq!(r.messages[0].text(), "Hello from a sub-folder, u1.");
    assert_eq!(r.context.as_ref(), Some(&auth));

    let p = g.define_prompt(
        PromptConfig::new("ctx")
            .system("Step {{@state.step}} for {{@auth.uid}}.")
            .messages_fn(|input: Value, cx: PromptCx| async move {
                let history = cx.history.as_ref().map_or(0, Vec::len);
                Ok(vec![Message::user(format!("fn {} history={history} state={}", input["x"], cx.state().unwrap()))])
            })
            .prompt_fn(|input: Value, _cx| async move { Ok(format!("x is {}", input["x"])) })
            .docs_fn(|_: Value, _cx| async move { Ok(vec![DocumentData::from_text("doc1")]) })
            .input_default(json!({"x": 1, "y": 2})),
    );
    let opts = GenerateOptions::new().context(auth).messages(vec![Message::user("h")]);
    let r = p.render_with(json!({"y": 5}), opts).await.unwrap();
    let texts: Vec<String> = r.messages.iter().map(Message::text).collect();
    assert_eq!(texts, ["Step 3 for u1.", "fn 1 history=1 state={\"step\":3}", "x is 1"]);
    assert_eq!(r.messages[0].role, Role::System);
    assert_eq!(r.messages[2].role, Role::User);
    assert_eq!(r.docs[0].text(), "doc1");

    // Fixed parts and fixed messages; with no messages config the history is appended.
    let p = g.define_prompt(PromptConfig::new("parts").system(vec![Part::text("sys")]).prompt(Part::text("usr")));
    let r = p.render_with(Value::Null, GenerateOptions::new().messages(vec![Message::model("m")])).await.unwrap();
    assert_eq!(r.messages.iter().map(Message::text).collect::<Vec<_>>(), ["sys", "m", "usr"]);

    // A system template must render to exactly one message.
    let p = g.define_prompt(PromptConfig::new("multi").system("{{role \"user\"}}a{{role \"model\"}}b"));
    let e = p.render(Value::Null).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("must render exactly one message"), "{e}");
}

#[tokio::test]
async fn render_is_traced_as_a_prompt_template_span() {
    let exp = InMemorySpanExporter::default();
    let g = Genkit::builder()
        .prompt_dir(prompt_dir())
        .span_processor(SimpleSpanProcessor::new(exp.clone()))
        .build()
        .await
        .unwrap();
    g.register(echo_model("test/echo").as_action());
    g.prompt("greeting").generate(json!({"name": "Bo"})).await.unwrap();
    let spans = exp.get_finished_spans().unwrap();
    let attr = |name: &str, k: &str| {
        let s = spans.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no span {name}"));
        s.attributes.iter().find(|kv| kv.key.as_str() == k).map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("render", "genkit:type").as_deref(), Some("promptTemplate"));
    assert_eq!(attr("render", "genkit:metadata:promptName").as_deref(), Some("greeting"));
    assert_eq!(attr("greeting", "genkit:type").as_deref(), Some("dotprompt"));
    assert_eq!(attr("render", "genkit:path").as_deref(), Some("/{greeting,t:dotprompt}/{render,t:promptTemplate}"));
    assert_eq!(attr("generate", "genkit:path").as_deref(), Some("/{greeting,t:dotprompt}/{generate,t:util}"));
}

// ---- the actions ----

#[tokio::test]
async fn prompt_action_renders_a_generate_request() {
    let g = app().await;
    let r = g.run_action("/prompt/chat_preamble", json!({"persona": "a cat"}), RunOptions::new()).await.unwrap();
    // JS (minus its empty `resources`, which is not part of `GenerateRequest`).
    assert_eq!(
        r.result,
        json!({"messages":[{"role":"system","content":[{"text":"You are a cat.\n"}]},
            {"role":"user","content":[{"text":"Keep it short."}]}],"config":{"temperature":0.7},"tools":[],"output":{}})
    );
    // Format instructions are injected and format defaults applied, like a real request.
    let r = g.run_action("/prompt/output", json!({"topic": "cats"}), RunOptions::new()).await.unwrap();
    assert_eq!(r.result["output"]["format"], "json");
    assert_eq!(r.result["output"]["contentType"], "application/json");
    assert_eq!(r.result["output"]["schema"]["required"], json!(["title", "points"]));
    // Input is validated against the prompt's input schema.
    let e = g.run_action("/prompt/output", json!({"topic": 3}), RunOptions::new()).await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn executable_prompt_action_renders_generate_action_options() {
    let g = app().await;
    let r = g.run_action("/executable-prompt/output", json!({"topic": "cats"}), RunOptions::new()).await.unwrap();
    // JS.
    assert_eq!(
        r.result,
        json!({"model":"test/echo","messages":[{"role":"user","content":[{"text":"List the key points about cats."}]}],
            "config":{},"output":{"jsonSchema":{"type":"object","properties":{"title":{"type":"string"},
            "points":{"type":"array","items":{"type":"string"},"description":"the main points"},
            "rating":{"type":["number","null"]}},"required":["title","points"],"additionalProperties":false},
            "format":"json"}})
    );
    let r = g.run_action("/executable-prompt/chat_preamble", json!({}), RunOptions::new()).await.unwrap();
    assert_eq!(r.result["messages"][0]["content"][0]["text"], "You are a helpful assistant.\n");
    assert_eq!(r.result["config"], json!({"temperature": 0.7}));
}

// ---- generate, stream, as a tool ----

#[tokio::test]
async fn generate_renders_then_calls_the_model() {
    let g = app().await;
    let history = vec![Message::user("q1"), Message::model("a1")];
    let r = g
        .prompt("chat_preamble")
        .generate_with(json!({"persona": "a cat"}), GenerateOptions::new().messages(history))
        .await
        .unwrap();
    // JS, on an equivalent echo model.
    assert_eq!(r.text(), "Echo: You are a cat.\n\nq1\na1\nKeep it short.; config: {\"temperature\":0.7}");
    let req = r.request.as_ref().unwrap();
    assert_eq!(req.messages[1].metadata.as_ref().unwrap()["purpose"], "history");

    // Call options override the prompt's: another model, more config.
    g.register(echo_model("test/other").as_action());
    let opts = GenerateOptions::new().model("test/other").config(json!({"temperature": 0.2, "seed": 1}));
    let r = g.prompt_variant("greeting", "formal").generate_with(json!({"name": "Ada"}), opts).await.unwrap();
    assert_eq!(
        r.text(),
        "Echo: Good evening, Ada.\n-- sent by the prompt folder\n; config: {\"temperature\":0.2,\"seed\":1}"
    );
}

#[tokio::test]
async fn stream_yields_chunks_then_the_response() {
    let g = app().await;
    let pm = ProgrammableModel::new("test/pm");
    g.register(pm.action().as_action());
    let chunk = |t: &str| ModelResponseChunk { content: vec![Part::text(t)], ..ModelResponseChunk::default() };
    pm.respond_streaming(
        vec![chunk("Hel"), chunk("lo")],
        ModelResponse {
            message: Some(Message::model("Hello")),
            finish_reason: Some(FinishReason::Stop),
            ..ModelResponse::default()
        },
    );
    let p = g.define_prompt(PromptConfig::new("streamer").model("test/pm").prompt("Say hello to {{name}}"));
    let mut s = p.stream(json!({"name": "Ann"}));
    let mut got = String::new();
    while let Some(c) = s.next().await {
        got.push_str(&c.unwrap().text());
    }
    assert_eq!(got, "Hello");
    assert_eq!(s.output().await.unwrap().text(), "Hello");
    assert_eq!(pm.last_request().unwrap().messages[0].text(), "Say hello to Ann");

    // A failing render surfaces through the stream.
    let mut s = g.prompt("nope").stream(json!({}));
    let e = s.next().await.unwrap().unwrap_err();
    assert_eq!(e.message(), "Prompt nope not found");
}

#[tokio::test]
async fn a_prompt_used_as_a_tool_returns_its_rendered_request() {
    let g = app().await;
    let pm = ProgrammableModel::new("test/pm");
    g.register(pm.action().as_action());
    pm.respond(ModelResponse {
        message: Some(Message::new(
            Role::Model,
            vec![Part::tool_request("toolPrompt", Some(json!({"subject": "rain"})), Some("r1".into()))],
        )),
        finish_reason: Some(FinishReason::Stop),
        ..ModelResponse::default()
    });
    pm.respond_text("done");
    let tool_prompt = g.prompt("toolPrompt");
    let action = tool_prompt.as_tool().await.unwrap();
    assert_eq!(action.key(), "/prompt/toolPrompt");
    let r = g.generate(GenerateOptions::new().model("test/pm").prompt("write one").tool(&tool_prompt)).await.unwrap();
    assert_eq!(r.text(), "done");
    let reqs = pm.requests();
    let def = &reqs[0].tools.as_ref().unwrap()[0];
    assert_eq!(def.name, "toolPrompt");
    assert_eq!(def.description, "Drafts a haiku about a subject; returns the request it would send");
    assert_eq!(def.input_schema.as_ref().unwrap()["required"], json!(["subject"]));
    let response = reqs[1].messages[2].content[0].tool_response.as_ref().unwrap();
    assert_eq!(response.name, "toolPrompt");
    // Genkit 1.42: an ordinary tool whose output is the rendered `GenerateRequest`.
    assert_eq!(
        response.output,
        Some(json!({"messages":[{"role":"system","content":[{"text":"You only write haiku.\n"}]},
            {"role":"user","content":[{"text":"A haiku about rain, please."}]}],"config":{},"tools":[],"output":{}}))
    );
    // By name too.
    pm.respond_text("again");
    let r =
        g.generate(GenerateOptions::new().model("test/pm").prompt("x").tool(ToolArg::Action(action))).await.unwrap();
    assert_eq!(r.text(), "again");
}

// ---- typed prompts ----

#[derive(Debug, Serialize, schemars::JsonSchema)]
struct RecipeRequest {
    dish: String,
    servings: u32,
}

#[derive(Debug, PartialEq, Deserialize, schemars::JsonSchema)]
struct Recipe {
    title: String,
    steps: Vec<String>,
}

#[tokio::test]
async fn typed_prompts_take_rust_input_and_parse_rust_output() {
    let g = app().await;
    let pm = ProgrammableModel::new("test/pm");
    g.register(pm.action().as_action());
    pm.respond_text(
        r#"```json
{"title": "Pancakes", "steps": ["mix", "fry"]}
```"#,
    );
    let p = g.define_typed_prompt::<RecipeRequest, Recipe>(
        PromptConfig::new("recipe").model("test/pm").prompt("A recipe for {{dish}} serving {{servings}}."),
    );
    let recipe = p.generate_data(RecipeRequest { dish: "pancakes".into(), servings: 2 }).await.unwrap();
    assert_eq!(recipe, Recipe { title: "Pancakes".into(), steps: vec!["mix".into(), "fry".into()] });
    let req = pm.last_request().unwrap();
    assert!(req.messages[0].text().starts_with("A recipe for pancakes serving 2."));
    // The model does not constrain output natively, so the schema travels as format instructions.
    let instructions = req.messages[0].content[1].text.as_deref().unwrap();
    assert!(instructions.contains(r#""required":["title","steps"]"#), "{instructions}");
    let m = metadata_json(&g, "/prompt/recipe").await;
    assert_eq!(m["inputSchema"]["properties"]["servings"]["type"], "integer");

    // A typed handle on a file prompt with named schemas.
    g.define_schema_for::<RecipeRequest>("DishRequest").unwrap();
    g.define_schema_for::<Recipe>("Recipe").unwrap();
    pm.respond_text(r#"{"title": "Soup", "steps": ["boil"]}"#);
    let typed = g.prompt("schemaRef").typed::<RecipeRequest, Recipe>();
    let r = typed.render(RecipeRequest { dish: "soup".into(), servings: 4 }).await.unwrap();
    assert_eq!(r.messages[0].text(), "Give me a recipe for soup serving 4.");
    let soup = typed
        .generate_data_with(RecipeRequest { dish: "soup".into(), servings: 4 }, GenerateOptions::new().model("test/pm"))
        .await
        .unwrap();
    assert_eq!(soup.title, "Soup");
}

// ---- lookup ----

#[tokio::test]
async fn lookup_finds_variants_and_reports_missing_prompts() {
    let g = app().await;
    let r = g.prompt_variant("greeting", "formal").render(json!({"name": "Ada"})).await.unwrap();
    // JS.
    assert_eq!(r.messages[0].text(), "Good evening, Ada.\n-- sent by the prompt folder\n");
    assert_eq!(r.config, Some(json!({"temperature": 0.1})));
    let r = g.prompt("greeting").render(json!({"name": "Bo"})).await.unwrap();
    assert_eq!(r.messages[0].text(), "Hi Bo!\n-- sent by the prompt folder\n");

    let e = g.prompt_variant("nope", "x").render(json!({})).await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::NotFound, "Prompt nope (variant x) not found"));
    let e = g.prompt("nope").generate(json!({})).await.unwrap_err();
    assert_eq!((e.status(), e.message()), (Status::NotFound, "Prompt nope not found"));
    let e = g.prompt("nope").as_tool().await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    // A handle taken before the prompt exists finds it once defined.
    let later = g.prompt("later");
    g.define_prompt(PromptConfig::new("later").prompt("now"));
    assert_eq!(later.render(Value::Null).await.unwrap().messages[0].text(), "now");
}

// ---- folders ----

#[tokio::test]
async fn folder_loading_handles_partials_sub_folders_and_options() {
    let g = app().await;
    for k in [
        "/prompt/greeting",
        "/prompt/greeting.formal",
        "/prompt/sub/deep",
        "/prompt/toolPrompt",
        "/executable-prompt/sub/deep",
    ] {
        assert!(g.lookup_action(k).await.unwrap().is_some(), "{k} missing");
    }
    // Partials are not prompts.
    assert!(g.lookup_action("/prompt/_signature").await.unwrap().is_none());
    assert!(g.lookup_action("/prompt/signature").await.unwrap().is_none());
    // Like JS, listing every action resolves every prompt, so one with an unknown schema fails it.
    let e = g.registry().list_actions().await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.message().starts_with("Schema '"), "{e}");

    // Disabled, and a missing folder: nothing loaded, no error.
    let g = Genkit::builder().no_prompt_dir().build().await.unwrap();
    assert_eq!(g.prompt("greeting").render(json!({})).await.unwrap_err().status(), Status::NotFound);
    let g = Genkit::builder().prompt_dir("/definitely/not/here").build().await.unwrap();
    assert_eq!(g.load_prompt_dir("/definitely/not/here").unwrap(), 0);
    // The default folder is `./prompts` relative to the working directory (absent here).
    Genkit::builder().build().await.unwrap();

    // Like JS, a file's `input.default` is not applied; a namespace prefixes the names.
    let dir = temp_prompts(
        "default",
        &[("d.prompt", "---\ninput:\n  schema:\n    name?: string\n  default:\n    name: World\n---\nHi {{name}}!")],
    );
    let g = Genkit::builder().no_prompt_dir().build().await.unwrap();
    assert_eq!(genkit::ai::prompt::load_prompt_dir(g.registry(), &dir, Some("ns")).unwrap(), 1);
    let r = g.prompt("ns/d").render(json!({})).await.unwrap();
    assert_eq!(r.messages[0].text(), "Hi !");
    assert_eq!(metadata_json(&g, "/prompt/ns/d").await["metadata"]["prompt"]["name"], "ns/d");
}

#[tokio::test]
async fn malformed_files_fail_at_load_naming_file_and_line() {
    let dir = temp_prompts(
        "badyaml",
        &[("ok.prompt", "hi"), ("sub/bad.prompt", "---\nmodel: m\nconfig: [unclosed\n---\nHi")],
    );
    let e = Genkit::builder().prompt_dir(&dir).build().await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    let file = dir.join("sub/bad.prompt").display().to_string();
    assert!(e.message().contains(&format!("{file}:")), "{e}");
    assert!(e.message().contains("invalid prompt frontmatter"), "{e}");

    let dir = temp_prompts("badtemplate", &[("t.prompt", "---\nmodel: m\n---\nline one\n{{#if x}}unclosed")]);
    let e = Genkit::builder().prompt_dir(&dir).build().await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains("t.prompt:"), "{e}");

    let dir = temp_prompts("helper", &[("h.prompt", "---\nmodel: m\n---\nfirst\n{{shout name}}")]);
    let e = Genkit::builder().prompt_dir(&dir).build().await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
    assert!(e.message().contains(&format!("{}:5:", dir.join("h.prompt").display())), "{e}");
    assert!(e.message().contains("shout"), "{e}");
    // Registered on the builder, the helper is known at load.
    let g = Genkit::builder()
        .prompt_dir(&dir)
        .helper("shout", |args, _| Ok(json!(args[0].as_str().unwrap_or_default().to_uppercase())))
        .build()
        .await
        .unwrap();
    let r = g.prompt("h").render(json!({"name": "ada"})).await.unwrap();
    assert_eq!(r.messages[0].text(), "first\nADA");
}

#[tokio::test]
async fn missing_partials_and_schemas_are_not_found_at_use() {
    let g = app().await;
    let e = g.prompt("badSchemaRef").render(json!({})).await.unwrap_err();
    // JS.
    assert_eq!((e.status(), e.message()), (Status::NotFound, "Schema 'NoSuchSchema' not found"));

    let dir = temp_prompts("partial", &[("p.prompt", "Hello {{> footer}}")]);
    let g = Genkit::builder().prompt_dir(&dir).partial("unused", "x").build().await.unwrap();
    let e = g.prompt("p").render(json!({})).await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    assert!(e.message().contains("footer"), "{e}");
    g.define_partial("footer", "-- the end");
    assert_eq!(g.prompt("p").render(json!({})).await.unwrap().messages[0].text(), "Hello -- the end");

    // Schemas referenced by name, defined after loading.
    let g = app().await;
    g.define_schema("DishRequest", json!({"type": "object", "properties": {"dish": {"type": "string"}}})).unwrap();
    g.define_schema_for::<Recipe>("Recipe").unwrap();
    let m = metadata_json(&g, "/prompt/schemaRef").await;
    assert_eq!(m["inputSchema"]["properties"]["dish"]["type"], "string");
    assert_eq!(m["metadata"]["prompt"]["output"]["schema"]["required"], json!(["title", "steps"]));
    assert_eq!(m["metadata"]["prompt"]["raw"]["input"]["schema"], "DishRequest");
}

// ---- helpers and partials in code ----

#[tokio::test]
async fn helpers_and_partials_are_global_to_the_instance() {
    let g = app().await;
    g.define_helper("join", |args, hash| {
        let sep = hash.get("sep").and_then(Value::as_str).unwrap_or(",");
        let items: Vec<String> =
            args[0].as_array().into_iter().flatten().map(|v| v.as_str().unwrap_or_default().to_owned()).collect();
        Ok(json!(items.join(sep)))
    });
    g.define_partial("sig", "Cheers, {{author}}");
    let p = g.define_prompt(PromptConfig::new("mail").prompt("Items: {{join items sep=\" | \"}}\n{{> sig}}"));
    let r = p.render(json!({"items": ["a", "b"], "author": "Zoe"})).await.unwrap();
    assert_eq!(r.messages[0].text(), "Items: a | b\nCheers, Zoe");
    let failing = g.define_prompt(PromptConfig::new("failing").prompt("{{boom}}"));
    g.define_helper("boom", |_, _| Err(Error::invalid_argument("kaboom")));
    let e = failing.render(json!({})).await.unwrap_err();
    assert!(e.message().contains("kaboom"), "{e}");
}

// ---- embedding ----

static EMBEDDED: EmbeddedPrompts = genkit::embed_prompts!("tests/prompts");

#[tokio::test]
async fn embedded_prompts_load_like_a_folder() {
    let names: Vec<&str> = EMBEDDED.iter().map(|(p, _)| *p).collect();
    assert!(names.contains(&"sub/deep.prompt") && names.contains(&"_signature.prompt"), "{names:?}");
    let g = Genkit::builder().embedded_prompts(EMBEDDED).build().await.unwrap();
    g.register(echo_model("test/echo").as_action());
    let folder = app().await;
    for key in ["/prompt/kitchensink", "/prompt/greeting.formal", "/executable-prompt/sub/deep"] {
        assert_eq!(metadata_json(&g, key).await, metadata_json(&folder, key).await, "{key}");
    }
    let r = g.prompt("greeting").generate(json!({"name": "Bo"})).await.unwrap();
    assert_eq!(r.text(), "Echo: Hi Bo!\n-- sent by the prompt folder\n; config: {}");
    assert_eq!(g.load_embedded_prompts(&[("x.txt", "ignored"), ("y.prompt", "Y")]).unwrap(), 1);
}

#[tokio::test]
async fn defining_a_prompt_while_an_action_runs_fails_precondition() {
    let g = app().await;
    let g2 = g.clone();
    let f = g.define_flow("prompt-definer", move |_: (), _cx| {
        let g = g2.clone();
        async move {
            let e = genkit::ai::prompt::define_prompt(g.registry(), PromptConfig::new("late").prompt("hi"))
                .err()
                .map(|e| (e.status().as_str().to_owned(), e.message().to_owned()));
            let h = tokio::spawn(genkit::genkit_core::propagate(async move {
                g.define_prompt(PromptConfig::new("late2").prompt("hi"));
            }));
            let panic = match h.await {
                Err(e) if e.is_panic() => e.into_panic().downcast_ref::<String>().cloned().unwrap_or_default(),
                _ => String::new(),
            };
            Ok((e, panic))
        }
    });
    let (err, panic) = f.run(()).await.unwrap();
    let (status, message) = err.expect("defining a prompt inside a flow fails");
    assert_eq!(status, "FAILED_PRECONDITION");
    assert!(message.starts_with("Cannot define new actions at runtime"), "{message}");
    assert!(panic.starts_with("FAILED_PRECONDITION: Cannot define new actions at runtime"), "{panic}");
    // Nothing was registered.
    assert!(g.lookup_action("/prompt/late").await.unwrap().is_none());
    assert!(g.lookup_action("/prompt/late2").await.unwrap().is_none());
}
