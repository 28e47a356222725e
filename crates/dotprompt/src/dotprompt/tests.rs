use serde_json::json;

use super::*;
use crate::{Part, Role};

fn input(v: Value) -> DataArgument {
    DataArgument::new().input(v)
}

fn text(dp: &Dotprompt, src: &str, data: &DataArgument) -> String {
    let out = dp.render(src, data, None).unwrap();
    out.messages.iter().map(crate::Message::text).collect::<Vec<_>>().join("|")
}

#[test]
fn unknown_helper_is_a_compile_error_with_source_line() {
    let dp = Dotprompt::default();
    let err = dp.compile("---\nmodel: m\n---\nHello\n{{#shout}}x{{/shout}}").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownHelper { name: "shout".into(), line: Some(5) });
    assert!(err.to_string().contains("define_helper"), "{err}");

    let err = dp.compile("{{upper name}}").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownHelper { name, line: Some(1) } if name == "upper"));
    dp.define_helper("upper", |args, _| Ok(json!(args[0].as_str().unwrap_or_default().to_uppercase())));
    assert_eq!(text(&dp, "{{upper name}}", &input(json!({"name": "ada"}))), "ADA");
}

#[test]
fn template_syntax_error_reports_line() {
    let dp = Dotprompt::default();
    let err = dp.compile("---\nmodel: m\n---\nline one\n{{#if x}}\nunclosed").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Template { .. }), "{err:?}");
}

#[test]
fn missing_partial_is_not_found() {
    let dp = Dotprompt::default();
    let err = dp.compile("Hi {{> nope}}").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotFound { item: Missing::Partial, name } if name == "nope"));
    // A partial block has a fallback, so it is not an error.
    assert_eq!(text(&dp, "{{#> nope}}fallback{{/nope}}", &DataArgument::new()), "fallback");
}

#[test]
fn missing_named_schema_is_not_found() {
    let dp = Dotprompt::default();
    let err = dp.render_metadata("---\noutput:\n  schema: Missing\n---\n", None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotFound { item: Missing::Schema, name } if name == "Missing"));
    assert_eq!(err.message(), "Picoschema: could not find schema with name 'Missing'");

    let err = dp.render_metadata("---\noutput:\n  schema:\n    a(map): string\n---\n", None).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Schema);

    dp.define_schema("Missing", json!({"type": "string"}));
    let meta = dp.render_metadata("---\noutput:\n  schema: Missing\n---\n", None).unwrap();
    assert_eq!(meta.output.unwrap().schema, Some(json!({"type": "string"})));
}

#[test]
fn schema_resolver_is_used() {
    let dp =
        Dotprompt::new(DotpromptOptions::new().schema_resolver(|n| (n == "R").then(|| json!({"type": "integer"}))));
    let meta = dp.render_metadata("---\ninput:\n  schema:\n    r: R\n---\n", None).unwrap();
    assert_eq!(meta.input.unwrap().schema.unwrap()["properties"]["r"], json!({"type": "integer"}));
}

#[test]
fn partials_registered_resolved_and_cycle_safe() {
    let dp = Dotprompt::new(DotpromptOptions::new().partial("greet", "Hello {{name}}").partial_resolver(|n| match n {
        "a" => Some("A{{> b}}".to_owned()),
        "b" => Some("B{{> a}}".to_owned()),
        "leaf" => Some("leaf".to_owned()),
        _ => None,
    }));
    assert_eq!(text(&dp, "{{> greet}}!", &input(json!({"name": "Bo"}))), "Hello Bo!");
    assert_eq!(text(&dp, "{{> leaf}}", &DataArgument::new()), "leaf");
    let err = dp.compile("{{> a}}").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Template { .. }), "{err:?}");
    assert!(err.to_string().contains("cycle"), "{err}");

    // Redefining a partial after compiling is picked up, and a cycle introduced that way is rejected.
    let compiled = dp.compile("{{> greet}}").unwrap();
    dp.define_partial("greet", "Bye {{name}}");
    let out = compiled.render(&input(json!({"name": "Bo"})), None).unwrap();
    assert_eq!(out.messages[0].text(), "Bye Bo");
    dp.define_partial("greet", "{{> greet}}");
    assert!(compiled.render(&DataArgument::new(), None).is_err());
}

#[test]
fn unknown_helper_in_partial_names_the_partial() {
    let dp = Dotprompt::new(DotpromptOptions::new().partial("p", "x\n{{nope 1}}"));
    let err = dp.compile("{{> p}}").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::UnknownHelper { line: Some(2), .. }));
    assert!(err.to_string().contains("partial `p`"), "{err}");
}

#[test]
fn data_variables_and_context() {
    let dp = Dotprompt::default();
    let data = input(json!({"items": [1, 2]}))
        .context_value("auth", json!({"u": "ada", "roles": ["a", "b"]}))
        .context_value("state", json!({"n": 2.0}));
    let src = "{{@auth.u}} {{#each items}}{{@index}}:{{this}}/{{@auth.u}}{{#if @first}}F{{/if}} {{/each}}\
               {{@state.n}} {{@auth.roles}} {{@auth.roles.[1]}} {{@missing.x}}|{{@metadata.prompt.model}}";
    assert_eq!(text(&dp, &format!("---\nmodel: m\n---\n{src}"), &data), "ada 0:1/adaF 1:2/ada 2 a,b b |m");
}

#[test]
fn values_print_like_javascript() {
    let dp = Dotprompt::default();
    let data = input(json!({"f": 2.0, "a": [1, "x", null], "o": {"k": 1}, "n": null, "b": false}));
    assert_eq!(text(&dp, "{{f}} {{a}} {{o}} [{{n}}] {{b}} {{json f}}", &data), "2 1,x, [object Object] [] false 2");
    assert_eq!(text(&dp, "{{lookup o \"k\"}}", &data), "1");
}

#[test]
fn if_uses_javascript_truthiness() {
    let dp = Dotprompt::default();
    let data = input(json!({"e": {}, "z": 0, "arr": []}));
    assert_eq!(text(&dp, "{{#if e}}obj{{/if}}{{#if z}}zero{{/if}}{{#if z includeZero=true}}Z{{/if}}", &data), "objZ");
    assert_eq!(text(&dp, "{{#unless arr}}empty{{else}}full{{/unless}}", &data), "empty");
    assert_eq!(text(&dp, "{{#if nope}}a{{else if e}}b{{else}}c{{/if}}", &data), "b");
}

#[test]
fn defaults_merge_under_input_and_options_override() {
    let dp = Dotprompt::new(
        DotpromptOptions::new()
            .default_model("dm")
            .model_config("dm", json!({"t": 1, "k": 1}).as_object().unwrap().clone()),
    );
    let src = "---\nconfig:\n  t: 2\ninput:\n  default:\n    who: World\n---\nHi {{who}} {{what}}";
    let out = dp.render(src, &input(json!({"what": "x"})), None).unwrap();
    assert_eq!(out.messages[0].text(), "Hi World x");
    // Like the JavaScript implementation, the default model only selects the model config.
    assert_eq!(out.meta.model, None);
    assert_eq!(out.meta.config.as_ref().unwrap(), json!({"t": 2, "k": 1}).as_object().unwrap());
    assert_eq!(out.meta.input, None);

    let opts = PromptMetadata::default().config_value("k", json!(9)).model("other");
    let out = dp.render(src, &DataArgument::new(), Some(&opts)).unwrap();
    assert_eq!(out.meta.model.as_deref(), Some("other"));
    assert_eq!(out.meta.config.unwrap(), *json!({"t": 2, "k": 9}).as_object().unwrap());
}

#[test]
fn tools_resolve_into_tool_defs() {
    let dp = Dotprompt::new(DotpromptOptions::new().tool(ToolDefinition::new("weather", json!({"type": "object"}))));
    let meta = dp.render_metadata("---\ntools: [weather, other]\n---\n", None).unwrap();
    assert_eq!(meta.tool_defs.unwrap()[0].name, "weather");
    assert_eq!(meta.tools.unwrap(), vec!["other".to_owned()]);

    let dp = Dotprompt::new(DotpromptOptions::new().tool_resolver(|_| None));
    let err = dp.render_metadata("---\ntools: [x]\n---\n", None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::NotFound { item: Missing::Tool, .. }));
}

#[test]
fn compiled_prompt_renders_many_times() {
    let dp = Dotprompt::default();
    let p = dp.compile("{{role \"system\"}}S{{role \"user\"}}{{q}}{{section \"output\"}}").unwrap();
    for q in ["a", "b", "c"] {
        let out = p.render(&input(json!({"q": q})), None).unwrap();
        assert_eq!(out.messages[0].role, Role::System);
        assert_eq!(out.messages[1].content, vec![Part::text(q), Part::pending("output")]);
    }
}

#[test]
fn helper_errors_become_render_errors() {
    let dp = Dotprompt::default();
    dp.define_helper("fail", |_, _| Err(Error::helper("nope, pass a name")));
    let err = dp.render("ok\n{{fail 1}}", &DataArgument::new(), None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Render { line: Some(2) }), "{err:?}");
    assert!(err.to_string().contains("nope"));
    let err = dp.render("{{role \"boss\"}}hi", &DataArgument::new(), None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Render { .. }));
}

#[test]
fn inline_partials_work() {
    let dp = Dotprompt::default();
    assert_eq!(text(&dp, "{{#*inline \"x\"}}[{{v}}]{{/inline}}{{> x}}", &input(json!({"v": 1}))), "[1]");
}

#[test]
fn dotprompt_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<Dotprompt>();
    check::<CompiledPrompt>();
}

#[test]
fn deepest_allowed_nesting_compiles_and_renders() {
    let dp = Dotprompt::default();
    let depth = 64;
    let src = format!("{}x{}", "{{#if a}}".repeat(depth), "{{/if}}".repeat(depth));
    assert_eq!(text(&dp, &src, &input(json!({"a": true}))), "x");
    let src = format!("{{{{json {}a{}}}}}", "(lookup ".repeat(depth), " \"k\")".repeat(depth));
    let _ = dp.render(&src, &input(json!({"a": {"k": 1}})), None);
    let src = format!("{}x{}", "{{#each a}}".repeat(depth), "{{/each}}".repeat(depth));
    let _ = dp.render(&src, &input(json!({"a": [[[1]]]})), None);
}

#[test]
fn nested_unknown_helper_reports_its_own_line() {
    let dp = Dotprompt::default();
    let err = dp.compile("---\nmodel: m\n---\na\n{{#if x}}\n\n{{shout y}}{{/if}}").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::UnknownHelper { name: "shout".into(), line: Some(7) });
}

#[test]
fn helpers_may_call_back_into_the_environment() {
    let dp = Dotprompt::default();
    let inner = dp.clone();
    dp.define_helper("nested", move |args, _| {
        inner.define_partial("late", "late partial");
        let out = inner.render("[{{x}}]", &DataArgument::new().input(json!({"x": args[0].clone()})), None)?;
        Ok(Value::String(out.messages[0].text()))
    });
    assert_eq!(text(&dp, "{{nested 5}}", &DataArgument::new()), "[5]");
    assert_eq!(text(&dp, "{{> late}}", &DataArgument::new()), "late partial");
}
