//! Built-in Dotprompt helpers and the Handlebars registry setup.

use std::sync::{Arc, OnceLock};

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError, RenderErrorReason,
    Renderable, ScopedJson,
};
use serde_json::Value;

use crate::error::Result;
use crate::jsfmt::{hbs_output, js_string, json_indent, json_stringify};
use crate::message::{Document, JsonMap, Message};
use crate::metadata::PromptMetadata;
use crate::template::VALUE_HELPER;

/// A custom helper: receives the positional arguments and the `key=value` hash arguments, returns a value that is
/// printed like Handlebars.js prints values (or passed on when the helper is used in a subexpression).
pub type HelperFn = Arc<dyn Fn(&[Value], &JsonMap) -> Result<Value> + Send + Sync>;

/// Helpers every template may use.
pub(crate) const BUILTIN_HELPERS: [&str; 13] = [
    "if",
    "unless",
    "each",
    "with",
    "lookup",
    "log",
    "json",
    "role",
    "history",
    "section",
    "media",
    "ifEquals",
    "unlessEquals",
];

/// Built-in helpers whose expression output is already the final text (no JS-style value formatting needed).
pub(crate) fn builtin_prints_text(name: &str) -> bool {
    matches!(
        name,
        "json"
            | "role"
            | "history"
            | "section"
            | "media"
            | "log"
            | "if"
            | "unless"
            | "each"
            | "with"
            | "ifEquals"
            | "unlessEquals"
    )
}

/// A fresh registry with Dotprompt semantics: no HTML escaping, lenient missing values, built-in helpers.
pub(crate) fn new_registry() -> Handlebars<'static> {
    let mut r = Handlebars::new();
    r.register_escape_fn(handlebars::no_escape);
    r.register_helper("if", Box::new(IfHelper { negate: false }));
    r.register_helper("unless", Box::new(IfHelper { negate: true }));
    r.register_helper("ifEquals", Box::new(EqualsHelper { negate: false }));
    r.register_helper("unlessEquals", Box::new(EqualsHelper { negate: true }));
    r.register_helper("json", Box::new(JsonHelper));
    r.register_helper("role", Box::new(MarkerHelper::Role));
    r.register_helper("history", Box::new(MarkerHelper::History));
    r.register_helper("section", Box::new(MarkerHelper::Section));
    r.register_helper("media", Box::new(MarkerHelper::Media));
    r.register_helper(VALUE_HELPER, Box::new(ValueHelper));
    r
}

/// The value of an argument, `None` when absent or undefined.
fn arg<'a>(h: &'a Helper<'_>, idx: usize) -> Option<&'a Value> {
    h.param(idx).filter(|p| !p.is_value_missing()).map(|p| p.value())
}

fn hash_arg<'a>(h: &'a Helper<'_>, key: &str) -> Option<&'a Value> {
    h.hash_get(key).filter(|p| !p.is_value_missing()).map(|p| p.value())
}

/// `${value}` in a JavaScript template literal.
fn template_literal(v: Option<&Value>) -> String {
    v.map_or_else(|| "undefined".to_owned(), js_string)
}

/// Truthiness as the Handlebars.js `if` helper sees it.
fn hbs_truthy(v: Option<&Value>, include_zero: bool) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => include_zero || n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(_)) => true,
    }
}

/// `a === b` for JSON values (numbers compare by value; objects and arrays compare structurally).
fn strict_equals(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Value::Number(x)), Some(Value::Number(y))) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn render_branch<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    branch: bool,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let template = if branch { h.template() } else { h.inverse() };
    match template {
        Some(t) => t.render(r, ctx, rc, out),
        None => Ok(()),
    }
}

struct IfHelper {
    negate: bool,
}

impl HelperDef for IfHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        if h.params().len() != 1 {
            let name = if self.negate { "unless" } else { "if" };
            return Err(RenderErrorReason::Other(format!("#{name} requires exactly one argument")).into());
        }
        let include_zero = hbs_truthy(hash_arg(h, "includeZero"), false);
        let truthy = hbs_truthy(arg(h, 0), include_zero);
        render_branch(h, truthy != self.negate, r, ctx, rc, out)
    }
}

struct EqualsHelper {
    negate: bool,
}

impl HelperDef for EqualsHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let equal = strict_equals(arg(h, 0), arg(h, 1));
        render_branch(h, equal != self.negate, r, ctx, rc, out)
    }
}

struct JsonHelper;

impl HelperDef for JsonHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = match arg(h, 0) {
            Some(v) => json_stringify(v, &json_indent(hash_arg(h, "indent"))),
            None => String::new(),
        };
        Ok(ScopedJson::Derived(Value::String(text)))
    }
}

enum MarkerHelper {
    Role,
    History,
    Section,
    Media,
}

impl HelperDef for MarkerHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let text = match self {
            MarkerHelper::Role => format!("<<<dotprompt:role:{}>>>", template_literal(arg(h, 0))),
            MarkerHelper::History => "<<<dotprompt:history>>>".to_owned(),
            MarkerHelper::Section => format!("<<<dotprompt:section {}>>>", template_literal(arg(h, 0))),
            MarkerHelper::Media => {
                let url = template_literal(hash_arg(h, "url"));
                let content_type = hash_arg(h, "contentType").filter(|v| hbs_truthy(Some(v), false));
                match content_type {
                    Some(ct) => format!("<<<dotprompt:media:url {url} {}>>>", js_string(ct)),
                    None => format!("<<<dotprompt:media:url {url}>>>"),
                }
            }
        };
        Ok(ScopedJson::Derived(Value::String(text)))
    }
}

/// Prints its argument like Handlebars.js (`null`/missing → empty, `2.0` → `2`, arrays joined with `,`).
struct ValueHelper;

impl HelperDef for ValueHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        Ok(ScopedJson::Derived(Value::String(arg(h, 0).map(hbs_output).unwrap_or_default())))
    }
}

/// Wraps a user helper function.
pub(crate) struct FnHelper(pub(crate) HelperFn);

impl HelperDef for FnHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let args: Vec<Value> = h.params().iter().map(|p| p.value().clone()).collect();
        let hash: JsonMap = h.hash().iter().map(|(k, v)| ((*k).to_owned(), v.value().clone())).collect();
        match (self.0)(&args, &hash) {
            Ok(v) => Ok(ScopedJson::Derived(v)),
            Err(e) => Err(RenderErrorReason::NestedError(Box::new(e)).into()),
        }
    }
}

/// The render's `@`-data: `{metadata: {prompt, docs, messages}, ...context}`. Registered per render.
pub(crate) struct DataHelper<'a> {
    pub(crate) context: Option<&'a JsonMap>,
    pub(crate) prompt: &'a PromptMetadata,
    pub(crate) docs: Option<&'a Vec<Document>>,
    pub(crate) messages: Option<&'a Vec<Message>>,
    pub(crate) metadata: OnceLock<Value>,
}

impl DataHelper<'_> {
    fn metadata(&self) -> &Value {
        self.metadata.get_or_init(|| {
            let mut prompt = serde_json::to_value(self.prompt).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut prompt {
                m.remove("input");
            }
            let mut md = JsonMap::new();
            md.insert("prompt".into(), prompt);
            if let Some(docs) = self.docs {
                md.insert("docs".into(), serde_json::to_value(docs).unwrap_or(Value::Null));
            }
            if let Some(messages) = self.messages {
                md.insert("messages".into(), serde_json::to_value(messages).unwrap_or(Value::Null));
            }
            Value::Object(md)
        })
    }
}

impl HelperDef for DataHelper<'_> {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let Some(Value::Array(spec)) = arg(h, 0) else { return Ok(ScopedJson::Missing) };
        let level = spec.first().and_then(Value::as_u64).unwrap_or(0) as usize;
        let Some(name) = spec.get(1).and_then(Value::as_str) else { return Ok(ScopedJson::Missing) };

        let mut value: Option<Value> = None;
        let mut block_var = None;
        if matches!(name, "index" | "first" | "last" | "key") {
            if level == 0 {
                block_var = rc.block().and_then(|b| b.get_local_var(name));
            } else if let Ok(v) = rc.evaluate(ctx, &format!("@{}{name}", "../".repeat(level)))
                && !v.is_missing()
            {
                value = Some(v.as_json().clone());
            }
        }
        let base = match block_var.or(value.as_ref()) {
            Some(v) => Some(v),
            None => match self.context.and_then(|c| c.get(name)) {
                Some(v) => Some(v),
                None if name == "metadata" => Some(self.metadata()),
                None => None,
            },
        };
        let mut current = base;
        for seg in spec.iter().skip(2).filter_map(Value::as_str) {
            current = match current {
                Some(Value::Object(m)) => m.get(seg),
                Some(Value::Array(a)) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
                _ => None,
            };
        }
        Ok(current.map_or(ScopedJson::Missing, |v| ScopedJson::Derived(v.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_equality_like_javascript() {
        assert!(strict_equals(Some(&json!(5)), Some(&json!(5.0))));
        assert!(!strict_equals(Some(&json!(5)), Some(&json!("5"))));
        assert!(!strict_equals(None, Some(&json!(null))));
        assert!(strict_equals(None, None));
        assert!(strict_equals(Some(&json!(null)), Some(&json!(null))));
    }

    #[test]
    fn truthiness_like_handlebars_js() {
        assert!(hbs_truthy(Some(&json!({})), false));
        assert!(!hbs_truthy(Some(&json!([])), false));
        assert!(!hbs_truthy(Some(&json!(0)), false));
        assert!(hbs_truthy(Some(&json!(0)), true));
        assert!(!hbs_truthy(Some(&json!("")), true));
    }
}
