//! Property tests: arbitrary templates, frontmatter, schemas and data never make the crate panic
//! (errors are fine). A panic hook also catches panics that the crate would recover from internally.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use dotprompt::{DataArgument, Dotprompt, DotpromptOptions, Message, Part, Role, parse_strict, picoschema};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

fn watch_panics() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            default(info);
        }));
    });
}

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{{",
    "}}}",
    "{{~",
    "~}}",
    "{{!",
    "{{!--",
    "--}}",
    "(",
    ")",
    "\"",
    "'",
    "[",
    "]",
    "=",
    " ",
    "\n",
    "\r\n",
    "\t",
    "x",
    "name",
    "items",
    "this",
    "..",
    "../",
    "@root",
    "@index",
    "@key",
    "@first",
    "@auth.u",
    "@metadata.prompt",
    "@state",
    "@",
    "{{name}}",
    "{{this}}",
    "{{.}}",
    "{{../name}}",
    "{{@root.name}}",
    "{{#if name}}",
    "{{#if}}",
    "{{/if}}",
    "{{else}}",
    "{{^}}",
    "{{else if x}}",
    "{{#unless x}}",
    "{{/unless}}",
    "{{#each items}}",
    "{{#each items as |v k|}}",
    "{{/each}}",
    "{{#with name}}",
    "{{/with}}",
    "{{lookup . \"x\"}}",
    "{{role \"system\"}}",
    "{{role \"user\"}}",
    "{{role \"model\"}}",
    "{{role \"bogus\"}}",
    "{{role}}",
    "{{role name}}",
    "{{history}}",
    "{{section \"output\"}}",
    "{{section}}",
    "{{media url=name}}",
    "{{media url=x contentType=\"a/b\"}}",
    "{{json this}}",
    "{{json name indent=2}}",
    "{{json}}",
    "{{#ifEquals name x}}",
    "{{/ifEquals}}",
    "{{#unlessEquals 1 1}}",
    "{{/unlessEquals}}",
    "{{> p}}",
    "{{> missing}}",
    "{{#> layout}}",
    "{{/layout}}",
    "{{> @partial-block}}",
    "{{#*inline \"q\"}}",
    "{{/inline}}",
    "{{> q}}",
    "{{*decorator}}",
    "{{shout x}}",
    "{{#shout}}",
    "{{/shout}}",
    "{{{{raw}}}}",
    "{{{{/raw}}}}",
    "\\{{",
    "{{log x}}",
    "{{upper name}}",
    "<<<dotprompt:role:user>>>",
    "<<<dotprompt:role:zzz>>>",
    "<<<dotprompt:history>>>",
    "<<<dotprompt:media:url",
    "<<<dotprompt:section",
    ">>>",
    "<<<",
    "---",
    "---\n",
    "# c\n",
    "é",
    "日本語",
    "👋🏽",
    "\u{200b}",
    "\u{feff}",
    "\u{0}",
];

/// Well-formed leaves: text and complete mustaches.
const LEAVES: &[&str] = &[
    "text ",
    "\n",
    "  ",
    "é日本👋 ",
    "{{name}}",
    "{{this}}",
    "{{.}}",
    "{{x}}",
    "{{@index}}",
    "{{@key}}",
    "{{@first}}",
    "{{@auth.u}}",
    "{{@state.x.y}}",
    "{{@metadata.prompt.model}}",
    "{{json this}}",
    "{{json @metadata indent=2}}",
    "{{role \"system\"}}",
    "{{role \"user\"}}",
    "{{role \"model\"}}",
    "{{history}}",
    "{{section \"output\"}}",
    "{{media url=name}}",
    "{{media url=x contentType=name}}",
    "{{lookup this \"name\"}}",
    "{{upper name}}",
    "{{upper (lookup this \"x\")}}",
    "{{> p}}",
    "{{> leaf}}",
    "{{> p name=x}}",
    "{{~name~}}",
    "{{! note }}",
    "{{{name}}}",
    "{{../name}}",
    "{{@root.items}}",
    "<<<dotprompt:role:model>>>",
    "<<<dotprompt:media:url u>>>",
];

/// Balanced templates built from blocks around leaves, so most of them compile and render.
fn well_formed() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(LEAVES).prop_map(str::to_owned);
    leaf.prop_recursive(5, 48, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4).prop_map(|v| v.concat());
        (
            proptest::sample::select(&["if", "unless", "each", "with", "ifEquals", "unlessEquals"][..]),
            body.clone(),
            body,
        )
            .prop_map(|(block, a, b)| {
                let open = match block {
                    "ifEquals" | "unlessEquals" => format!("{{{{#{block} name x}}}}"),
                    "each" => "{{#each items}}".to_owned(),
                    other => format!("{{{{#{other} x}}}}"),
                };
                format!("{open}\n{a}{{{{else}}}}{b}{{{{/{block}}}}}\n")
            })
    })
}

fn template() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(TOKENS).prop_map(str::to_owned),
        1 => "\\PC{0,6}",
    ];
    let random = prop::collection::vec(piece, 0..40).prop_map(|v| v.concat());
    prop_oneof![random, well_formed()]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,8}".prop_map(Value::String),
        proptest::sample::select(TOKENS).prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z@(*)?,. ]{0,6}|name|items|x|u|state|auth", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn environment() -> Dotprompt {
    let dp = Dotprompt::new(
        DotpromptOptions::new()
            .partial("p", "[{{name}}{{#if x}}{{> leaf}}{{/if}}]")
            .partial("layout", "<{{> @partial-block}}>")
            .partial_resolver(|n| (n == "leaf").then(|| "leaf {{@index}}".to_owned()))
            .schema_resolver(|n| (n == "Known").then(|| json!({"type": "string"}))),
    );
    dp.define_helper("upper", |args, _| {
        Ok(Value::String(args.first().map(|v| v.to_string().to_uppercase()).unwrap_or_default()))
    });
    dp
}

fn data(input: Value, context: Value) -> DataArgument {
    let mut d = DataArgument::new().input(input).messages(vec![
        Message::new(Role::User, vec![Part::text("earlier")]),
        Message::new(Role::Model, vec![Part::media("http://x", None)]),
    ]);
    if let Value::Object(ctx) = context {
        d.context = Some(ctx);
    }
    d
}

proptest! {
    // 512 cases by default; set PROPTEST_CASES for longer runs.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        ..ProptestConfig::default()
    })]

    #[test]
    fn rendering_random_templates_never_panics(src in template(), input in json_value(), ctx in json_value()) {
        watch_panics();
        let dp = environment();
        let data = data(input, ctx);
        let _ = dp.render(&src, &data, None);
        if let Ok(compiled) = dp.compile(&src) {
            let _ = compiled.render(&data, None);
            let _ = compiled.render(&DataArgument::new(), None);
        }
        prop_assert!(!PANICKED.load(Ordering::SeqCst), "a panic happened for template {src:?}");
    }

    #[test]
    fn random_frontmatter_never_panics(
        fm in template(),
        yaml in "[a-z.:\\- \\n\\[\\]{},'\"#|>&*!?]{0,60}",
        body in template(),
    ) {
        watch_panics();
        let dp = environment();
        let sources = [
            format!("---\n{fm}\n---\n{body}"),
            format!("---\n{yaml}\n---\n{body}"),
            format!("---\r\n{yaml}\r\n---\r\n"),
        ];
        for src in sources {
            let _ = dotprompt::parse(&src);
            let _ = parse_strict(&src, "random.prompt");
            let _ = dp.render_metadata(&src, None);
            let _ = dp.render(&src, &DataArgument::new(), None);
        }
        prop_assert!(!PANICKED.load(Ordering::SeqCst), "a panic happened");
    }

    #[test]
    fn random_picoschema_never_panics(schema in json_value()) {
        watch_panics();
        let resolver = |n: &str| (n == "Known").then(|| json!({"type": "number"}));
        let _ = picoschema(&schema, None);
        let _ = picoschema(&schema, Some(&resolver));
        let dp = environment();
        let _ = dp.render_metadata("---\noutput:\n  format: json\n---\n", Some(
            &dotprompt::PromptMetadata::default().output_schema(schema.clone()).input_schema(schema),
        ));
        prop_assert!(!PANICKED.load(Ordering::SeqCst), "a panic happened");
    }
}
