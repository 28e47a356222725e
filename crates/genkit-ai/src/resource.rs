//! Resources: content addressed by URI or URI template (RFC 6570). A `resource`
//! part in a `generate` message is replaced by the matching resource's content before the
//! model is called.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use genkit_core::{Action, ActionCx, ActionDef, ActionType, Error, Registry, Result, RunOptions};
use genkit_uri_template::{UriTemplate, VarValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::{GenerateActionOptions, Part};

/// Input of a resource action: `{uri}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceInput {
    /// The requested URI.
    pub uri: String,
}

/// Output of a resource action: `{content}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceOutput {
    /// The resource's content parts.
    pub content: Vec<Part>,
}

/// A resource action.
pub type Resource = ActionDef<ResourceInput, ResourceOutput>;

/// Options of a resource: a fixed `uri` or a `template`, optional name and description.
#[derive(Debug, Clone, Default)]
pub struct ResourceOptions {
    /// Action name (defaults to the uri or template).
    pub name: Option<String>,
    /// Exact URI this resource serves.
    pub uri: Option<String>,
    /// RFC 6570 template of the URIs this resource serves.
    pub template: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Extra metadata.
    pub metadata: Map<String, Value>,
}

impl ResourceOptions {
    /// A resource serving exactly `uri`.
    pub fn uri(uri: impl Into<String>) -> Self {
        ResourceOptions { uri: Some(uri.into()), ..Self::default() }
    }

    /// A resource serving the URIs matching `template`.
    pub fn template(template: impl Into<String>) -> Self {
        ResourceOptions { template: Some(template.into()), ..Self::default() }
    }

    /// Sets the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
}

/// What a resource function receives: the template variables extracted from the URI (like
/// Go's `ResourceInput.Variables`) and the action context.
pub struct ResourceCx {
    /// Variables of the template match (empty for fixed-URI resources).
    pub variables: BTreeMap<String, String>,
    /// The action context.
    pub cx: ActionCx<()>,
}

impl fmt::Debug for ResourceCx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceCx").field("variables", &self.variables).finish()
    }
}

#[derive(Clone)]
enum Matcher {
    Exact(String),
    Template(Arc<UriTemplate>),
}

impl Matcher {
    fn new(uri: Option<&str>, template: Option<&str>) -> Result<Matcher> {
        match (uri, template) {
            (Some(u), _) => Ok(Matcher::Exact(u.to_owned())),
            (None, Some(t)) => UriTemplate::parse(t)
                .map(|t| Matcher::Template(Arc::new(t)))
                .map_err(|e| Error::invalid_argument(format!("invalid resource template '{t}': {e}"))),
            (None, None) => Err(Error::invalid_argument("must specify either url or template options")),
        }
    }

    fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        match self {
            Matcher::Exact(u) => (u == uri).then(BTreeMap::new),
            Matcher::Template(t) => t.match_uri(uri).map(|vars| {
                vars.into_iter()
                    .map(|(k, v)| {
                        let s = match v {
                            VarValue::String(s) => s,
                            VarValue::List(l) => l.join(","),
                            VarValue::Assoc(a) => {
                                a.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
                            }
                        };
                        (k, s)
                    })
                    .collect()
            }),
        }
    }
}

/// Builds a resource action (JS `resource()`); register it with `Genkit::define_resource`,
/// or pass it to `generate` as a dynamic resource.
///
/// # Errors
/// `INVALID_ARGUMENT` `must specify either url or template options`, or an invalid template.
pub fn new<F, Fut>(opts: ResourceOptions, f: F) -> Result<Resource>
where
    F: Fn(ResourceInput, ResourceCx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ResourceOutput>> + Send + 'static,
{
    let ResourceOptions { name, uri, template, description, metadata } = opts;
    let matcher = Matcher::new(uri.as_deref(), template.as_deref())?;
    let shown = uri.clone().or_else(|| template.clone()).unwrap_or_default();
    let name = name.unwrap_or_else(|| shown.clone());
    let mut res = Map::new();
    if let Some(u) = &uri {
        res.insert("uri".into(), json!(u));
    }
    if let Some(t) = &template {
        res.insert("template".into(), json!(t));
    }
    let mut b = ActionDef::<ResourceInput, ResourceOutput>::builder(ActionType::Resource, name)
        .metadata("resource", Value::Object(res));
    if let Some(d) = description {
        b = b.description(d);
    }
    for (k, v) in metadata {
        b = b.metadata(k, v);
    }
    let f = Arc::new(f);
    Ok(b.metadata("type", json!("resource")).build(move |input: ResourceInput, cx| {
        let f = f.clone();
        let matcher = matcher.clone();
        let template = template.clone();
        let shown = shown.clone();
        async move {
            let Some(variables) = matcher.matches(&input.uri) else {
                return Err(Error::invalid_argument(format!("input {} did not match template {shown}", input.uri)));
            };
            let uri = input.uri.clone();
            let mut out = f(input, ResourceCx { variables, cx }).await?;
            for p in &mut out.content {
                stamp(p, &uri, template.as_deref());
            }
            Ok(out)
        }
    }))
}

fn stamp(p: &mut Part, uri: &str, template: Option<&str>) {
    let mut origin = Map::new();
    origin.insert("uri".into(), json!(uri));
    if let Some(t) = template {
        origin.insert("template".into(), json!(t));
    }
    let meta = p.metadata.get_or_insert_with(Map::new);
    match meta.get_mut("resource").and_then(Value::as_object_mut) {
        Some(r) => {
            if !r.contains_key("parent") {
                r.insert("parent".into(), Value::Object(origin));
            }
        }
        None => {
            meta.insert("resource".into(), Value::Object(origin));
        }
    }
}

/// Whether the resource action `a` serves `uri`.
pub fn resource_matches(a: &dyn Action, uri: &str) -> bool {
    let Some(r) = a.metadata().metadata.as_ref().and_then(|m| m.get("resource")) else { return false };
    let u = r.get("uri").and_then(Value::as_str);
    let t = r.get("template").and_then(Value::as_str);
    Matcher::new(u, t).ok().and_then(|m| m.matches(uri)).is_some()
}

/// Resolves a resource reference: full key, `/resource/<n>`, `/dynamic-action-provider/<n>`.
///
/// # Errors
/// `NOT_FOUND` `Resource <n> not found`.
pub async fn lookup_resource(registry: &Registry, name: &str) -> Result<Arc<dyn Action>> {
    if name.starts_with('/')
        && let Some(a) = registry.lookup_action(name).await?
    {
        return Ok(a);
    }
    for prefix in ["/resource/", "/dynamic-action-provider/"] {
        if let Some(a) = registry.lookup_action(&format!("{prefix}{name}")).await? {
            return Ok(a);
        }
    }
    Err(Error::not_found(format!("Resource {name} not found")))
}

async fn find_matching(registry: &Registry, listed: &[Arc<dyn Action>], uri: &str) -> Result<Option<Arc<dyn Action>>> {
    if let Some(a) = listed.iter().find(|a| resource_matches(&***a, uri)) {
        return Ok(Some(a.clone()));
    }
    for key in registry.list_resolvable_actions().await?.keys() {
        if key.starts_with("/resource/")
            && let Some(a) = registry.lookup_action(key).await?
            && resource_matches(&*a, uri)
        {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// Replaces every `resource` part of the request's messages with the matching resource's
/// content.
///
/// # Errors
/// `NOT_FOUND` `failed to find matching resource for <uri>`; a resource's error.
pub(crate) async fn apply_resources(
    registry: &Registry,
    mut request: GenerateActionOptions,
) -> Result<GenerateActionOptions> {
    if !request.messages.iter().any(|m| m.content.iter().any(|p| p.resource.is_some())) {
        return Ok(request);
    }
    let mut listed = Vec::new();
    for n in request.resources.iter().flatten() {
        listed.push(lookup_resource(registry, n).await?);
    }
    for m in &mut request.messages {
        if !m.content.iter().any(|p| p.resource.is_some()) {
            continue;
        }
        let mut content = Vec::with_capacity(m.content.len());
        for p in std::mem::take(&mut m.content) {
            let Some(r) = &p.resource else {
                content.push(p);
                continue;
            };
            let Some(action) = find_matching(registry, &listed, &r.uri).await? else {
                return Err(Error::not_found(format!("failed to find matching resource for {}", r.uri)));
            };
            let out = action.run_json(json!({ "uri": r.uri }), RunOptions::new()).await?.result;
            let out: ResourceOutput = serde_json::from_value(out)
                .map_err(|e| Error::internal(format!("resource returned invalid content: {e}")))?;
            content.extend(out.content);
        }
        m.content = content;
    }
    Ok(request)
}
