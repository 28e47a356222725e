//! The [`Dotprompt`] environment: helpers, partials, schemas, tools, compiling and rendering.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use handlebars::template::Template;
use handlebars::{Context, Handlebars, RenderContext, RenderError, RenderErrorReason, Renderable, StringOutput};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Missing, Result};
use crate::helpers::{BUILTIN_HELPERS, DataHelper, FnHelper, HelperFn, builtin_prints_text, new_registry};
use crate::message::JsonMap;
use crate::messages::to_messages;
use crate::metadata::{DataArgument, ParsedPrompt, PromptMetadata, RenderedPrompt, ToolDefinition};
use crate::parse::parse;
use crate::picoschema::{is_falsy, picoschema};
use crate::template::{Analysis, DATA_HELPER, HelperKind, find_cycle, prepare};

/// Looks up a JSON Schema by name (`schema: MySchema` in frontmatter).
pub type SchemaResolver = Arc<dyn Fn(&str) -> Option<Value> + Send + Sync>;
/// Looks up a tool definition by name (`tools: [myTool]` in frontmatter).
pub type ToolResolver = Arc<dyn Fn(&str) -> Option<ToolDefinition> + Send + Sync>;
/// Looks up the source of a partial by name (`{{> myPartial}}`).
pub type PartialResolver = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Options for [`Dotprompt::new`], built with chainable setters.
///
/// ```
/// use dotprompt::{Dotprompt, DotpromptOptions};
/// use serde_json::json;
/// let dp = Dotprompt::new(
///     DotpromptOptions::new()
///         .default_model("googleai/gemini-2.5-flash")
///         .schema("Person", json!({"type": "object", "properties": {"name": {"type": "string"}}}))
///         .partial_resolver(|name| (name == "sig").then(|| "-- the team".to_owned())),
/// );
/// let out = dp.render("Hi\n{{> sig}}", &Default::default(), None).unwrap();
/// assert_eq!(out.messages[0].text(), "Hi\n-- the team");
/// ```
#[derive(Clone, Default)]
pub struct DotpromptOptions {
    default_model: Option<String>,
    model_configs: HashMap<String, JsonMap>,
    schemas: HashMap<String, Value>,
    schema_resolver: Option<SchemaResolver>,
    tools: HashMap<String, ToolDefinition>,
    tool_resolver: Option<ToolResolver>,
    partial_resolver: Option<PartialResolver>,
    helpers: Vec<(String, HelperFn)>,
    partials: Vec<(String, String)>,
}

impl DotpromptOptions {
    /// Empty options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The model used when neither the frontmatter nor the call options name one.
    #[must_use]
    pub fn default_model(mut self, model: impl Into<String>) -> Self {
        self.default_model = Some(model.into());
        self
    }

    /// Default config for a model, merged under the frontmatter `config`.
    #[must_use]
    pub fn model_config(mut self, model: impl Into<String>, config: JsonMap) -> Self {
        self.model_configs.insert(model.into(), config);
        self
    }

    /// A named JSON Schema usable from Picoschema.
    #[must_use]
    pub fn schema(mut self, name: impl Into<String>, schema: Value) -> Self {
        self.schemas.insert(name.into(), schema);
        self
    }

    /// Resolves schema names not given with [`schema`](Self::schema).
    #[must_use]
    pub fn schema_resolver(mut self, resolver: impl Fn(&str) -> Option<Value> + Send + Sync + 'static) -> Self {
        self.schema_resolver = Some(Arc::new(resolver));
        self
    }

    /// A tool definition, resolved from `tools` in frontmatter.
    #[must_use]
    pub fn tool(mut self, tool: ToolDefinition) -> Self {
        self.tools.insert(tool.name.clone(), tool);
        self
    }

    /// Resolves tool names not given with [`tool`](Self::tool). With a resolver, an unknown tool is an error.
    #[must_use]
    pub fn tool_resolver(mut self, resolver: impl Fn(&str) -> Option<ToolDefinition> + Send + Sync + 'static) -> Self {
        self.tool_resolver = Some(Arc::new(resolver));
        self
    }

    /// Resolves partials that are not registered; resolved partials are then registered.
    #[must_use]
    pub fn partial_resolver(mut self, resolver: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.partial_resolver = Some(Arc::new(resolver));
        self
    }

    /// A custom helper (see [`Dotprompt::define_helper`]).
    #[must_use]
    pub fn helper(
        mut self,
        name: impl Into<String>,
        helper: impl Fn(&[Value], &JsonMap) -> Result<Value> + Send + Sync + 'static,
    ) -> Self {
        self.helpers.push((name.into(), Arc::new(helper)));
        self
    }

    /// A partial (see [`Dotprompt::define_partial`]).
    #[must_use]
    pub fn partial(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.partials.push((name.into(), source.into()));
        self
    }
}

impl fmt::Debug for DotpromptOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DotpromptOptions")
            .field("default_model", &self.default_model)
            .field("model_configs", &self.model_configs.keys().collect::<Vec<_>>())
            .field("schemas", &self.schemas.keys().collect::<Vec<_>>())
            .field("schema_resolver", &self.schema_resolver.is_some())
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("tool_resolver", &self.tool_resolver.is_some())
            .field("partial_resolver", &self.partial_resolver.is_some())
            .field("helpers", &self.helpers.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .field("partials", &self.partials.iter().map(|(n, _)| n).collect::<Vec<_>>())
            .finish()
    }
}

struct State {
    /// Shared with renders in progress; copied on write, so no lock is held while templates (and user helpers)
    /// run.
    registry: Arc<Handlebars<'static>>,
    helpers: HashSet<String>,
    partial_sources: HashMap<String, String>,
    /// Partials compiled into the registry, with what they reference.
    processed: HashMap<String, Analysis>,
    schemas: HashMap<String, Value>,
    tools: HashMap<String, ToolDefinition>,
    /// Bumped by every `define_*`, so compiled prompts know to re-check partials and metadata.
    generation: u64,
}

struct Inner {
    default_model: Option<String>,
    model_configs: HashMap<String, JsonMap>,
    schema_resolver: Option<SchemaResolver>,
    tool_resolver: Option<ToolResolver>,
    partial_resolver: Option<PartialResolver>,
    state: RwLock<State>,
}

/// A Dotprompt environment: parses `.prompt` sources, compiles their Handlebars templates and renders them into
/// messages. Cheap to clone; clones share helpers, partials, schemas and tools.
///
/// ```
/// use dotprompt::{DataArgument, Dotprompt, Role};
/// use serde_json::json;
///
/// let dp = Dotprompt::default();
/// let source = "---\nmodel: googleai/gemini-2.5-flash\ninput:\n  schema:\n    name: string\n---\n\
///               {{role \"system\"}}Be brief.\n{{role \"user\"}}Say hi to {{name}}.";
/// let prompt = dp.compile(source).unwrap();
/// let out = prompt.render(&DataArgument::new().input(json!({"name": "Ada"})), None).unwrap();
/// assert_eq!(out.meta.model.as_deref(), Some("googleai/gemini-2.5-flash"));
/// assert_eq!(out.messages[0].role, Role::System);
/// assert_eq!(out.messages[1].text(), "Say hi to Ada.");
/// ```
#[derive(Clone)]
pub struct Dotprompt {
    inner: Arc<Inner>,
}

impl Default for Dotprompt {
    fn default() -> Self {
        Dotprompt::new(DotpromptOptions::default())
    }
}

impl fmt::Debug for Dotprompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.read();
        let mut helpers: Vec<&String> = st.helpers.iter().collect();
        helpers.sort();
        let mut partials: Vec<&String> = st.partial_sources.keys().collect();
        partials.sort();
        f.debug_struct("Dotprompt")
            .field("default_model", &self.inner.default_model)
            .field("helpers", &helpers)
            .field("partials", &partials)
            .finish_non_exhaustive()
    }
}

fn lock_read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn lock_write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Node name of the template body in the partial graph (cannot clash with a partial name).
const ROOT_NODE: &str = "\u{0}template";

impl Dotprompt {
    /// Creates an environment from options.
    pub fn new(options: DotpromptOptions) -> Self {
        let DotpromptOptions {
            default_model,
            model_configs,
            schemas,
            schema_resolver,
            tools,
            tool_resolver,
            partial_resolver,
            helpers,
            partials,
        } = options;
        let state = State {
            registry: Arc::new(new_registry()),
            helpers: HashSet::new(),
            partial_sources: HashMap::new(),
            processed: HashMap::new(),
            schemas,
            tools,
            generation: 0,
        };
        let dp = Dotprompt {
            inner: Arc::new(Inner {
                default_model,
                model_configs,
                schema_resolver,
                tool_resolver,
                partial_resolver,
                state: RwLock::new(state),
            }),
        };
        for (name, helper) in helpers {
            dp.register_helper(&name, helper);
        }
        for (name, source) in partials {
            dp.define_partial(&name, &source);
        }
        dp
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        lock_read(&self.inner.state)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        lock_write(&self.inner.state)
    }

    /// Registers a custom helper, usable as `{{name arg1 key=value}}` or in subexpressions `(name arg)`.
    ///
    /// The function receives the positional and hash arguments; missing values arrive as `null`. The returned
    /// value is printed like Handlebars.js prints values (strings verbatim, `null` as nothing). Registering a
    /// built-in name replaces the built-in.
    ///
    /// ```
    /// use dotprompt::Dotprompt;
    /// use serde_json::Value;
    /// let dp = Dotprompt::default();
    /// dp.define_helper("upper", |args, _hash| {
    ///     Ok(Value::String(args.first().and_then(Value::as_str).unwrap_or_default().to_uppercase()))
    /// });
    /// let data = dotprompt::DataArgument::new().input(serde_json::json!({"name": "ada"}));
    /// let out = dp.render("{{upper name}}!", &data, None).unwrap();
    /// assert_eq!(out.messages[0].text(), "ADA!");
    /// ```
    pub fn define_helper(
        &self,
        name: &str,
        helper: impl Fn(&[Value], &JsonMap) -> Result<Value> + Send + Sync + 'static,
    ) -> &Self {
        self.register_helper(name, Arc::new(helper));
        self
    }

    fn register_helper(&self, name: &str, helper: HelperFn) {
        let mut st = self.write();
        Arc::make_mut(&mut st.registry).register_helper(name, Box::new(FnHelper(helper)));
        st.helpers.insert(name.to_owned());
        st.generation += 1;
    }

    /// Registers (or replaces) a partial, usable as `{{> name}}`.
    pub fn define_partial(&self, name: &str, source: &str) -> &Self {
        let mut st = self.write();
        st.partial_sources.insert(name.to_owned(), source.to_owned());
        st.processed.remove(name);
        Arc::make_mut(&mut st.registry).unregister_template(name);
        st.generation += 1;
        drop(st);
        self
    }

    /// Registers (or replaces) a tool definition, resolved from `tools` in frontmatter.
    pub fn define_tool(&self, tool: ToolDefinition) -> &Self {
        let mut st = self.write();
        st.tools.insert(tool.name.clone(), tool);
        st.generation += 1;
        drop(st);
        self
    }

    /// Registers (or replaces) a named JSON Schema usable from Picoschema.
    pub fn define_schema(&self, name: &str, schema: Value) -> &Self {
        let mut st = self.write();
        st.schemas.insert(name.to_owned(), schema);
        st.generation += 1;
        drop(st);
        self
    }

    /// Parses a prompt source leniently (see [`parse`](crate::parse)).
    pub fn parse(&self, source: &str) -> ParsedPrompt {
        parse(source)
    }

    /// Parses and compiles a prompt source for repeated rendering.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Template`] for invalid Handlebars syntax, [`ErrorKind::UnknownHelper`] when the template calls
    /// a helper that is neither built in nor registered, and [`ErrorKind::NotFound`] when a partial cannot be
    /// found. Lines refer to the whole source.
    pub fn compile(&self, source: &str) -> Result<CompiledPrompt> {
        self.compile_parsed(parse(source))
    }

    /// Compiles an already parsed prompt (for example from [`parse_strict`](crate::parse_strict)).
    ///
    /// # Errors
    ///
    /// As for [`compile`](Self::compile).
    pub fn compile_parsed(&self, parsed: ParsedPrompt) -> Result<CompiledPrompt> {
        let generation = self.read().generation;
        let kind = self.helper_kinds();
        let (template, analysis) =
            prepare(&parsed.template, None, &|n| kind(n)).map_err(|e| e.offset_lines(parsed.template_line_offset))?;
        self.ensure_partials(&analysis)?;
        Ok(CompiledPrompt {
            dotprompt: self.clone(),
            parsed,
            template,
            analysis,
            checked_generation: AtomicU64::new(generation),
            metadata: Mutex::new(None),
        })
    }

    /// Compiles and renders a prompt source in one go.
    ///
    /// `options` override the frontmatter (see [`PromptMetadata`]); `options.input.default` supplies default
    /// template variables.
    ///
    /// # Errors
    ///
    /// Compile errors as for [`compile`](Self::compile); metadata errors as for
    /// [`render_metadata`](Self::render_metadata); [`ErrorKind::Render`] when rendering fails.
    pub fn render(
        &self,
        source: &str,
        data: &DataArgument,
        options: Option<&PromptMetadata>,
    ) -> Result<RenderedPrompt> {
        self.compile(source)?.render(data, options)
    }

    /// Resolves the metadata of a prompt: model config defaults ← frontmatter ← `options` (config merged key by
    /// key), `tools` resolved into `toolDefs`, Picoschema in `input.schema`/`output.schema` turned into JSON Schema.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] for an unknown named schema (or an unknown tool when a tool resolver is set), and
    /// [`ErrorKind::Schema`] for invalid Picoschema.
    ///
    /// ```
    /// let dp = dotprompt::Dotprompt::default();
    /// let meta = dp.render_metadata("---\noutput:\n  schema:\n    answer: string\n---\n", None).unwrap();
    /// assert_eq!(meta.output.unwrap().schema.unwrap()["required"][0], "answer");
    /// ```
    pub fn render_metadata(&self, source: &str, options: Option<&PromptMetadata>) -> Result<PromptMetadata> {
        self.resolve_metadata(&parse(source).meta, options)
    }

    /// Like [`render_metadata`](Self::render_metadata) for an already parsed prompt.
    ///
    /// # Errors
    ///
    /// As for [`render_metadata`](Self::render_metadata).
    pub fn render_metadata_parsed(
        &self,
        parsed: &ParsedPrompt,
        options: Option<&PromptMetadata>,
    ) -> Result<PromptMetadata> {
        self.resolve_metadata(&parsed.meta, options)
    }

    fn helper_kinds(&self) -> impl Fn(&str) -> HelperKind + use<> {
        let user: HashSet<String> = self.read().helpers.clone();
        move |name: &str| {
            if user.contains(name) {
                HelperKind::Value
            } else if BUILTIN_HELPERS.contains(&name) {
                if builtin_prints_text(name) { HelperKind::Text } else { HelperKind::Value }
            } else {
                HelperKind::Unknown
            }
        }
    }

    /// Makes sure every partial the template needs is compiled and registered, and that partials do not include
    /// each other in a cycle (which would recurse forever at render time).
    fn ensure_partials(&self, analysis: &Analysis) -> Result<()> {
        if analysis.partials.is_empty() {
            return Ok(());
        }
        let kind = self.helper_kinds();
        let mut inline: HashSet<String> = analysis.inline_partials.iter().cloned().collect();
        let mut graph: HashMap<String, Vec<String>> = HashMap::new();
        add_edges(&mut graph, ROOT_NODE, analysis);
        let mut queue: Vec<(String, bool)> = analysis.partials.iter().map(|r| (r.name.clone(), r.required)).collect();
        let mut visited: HashSet<String> = HashSet::new();
        let mut missing: HashSet<String> = HashSet::new();

        while let Some((name, required)) = queue.pop() {
            if inline.contains(&name) {
                continue;
            }
            if missing.contains(&name) {
                if required {
                    return Err(missing_partial(&name));
                }
                continue;
            }
            if !visited.insert(name.clone()) {
                continue;
            }
            let (known, source) = {
                let st = self.read();
                match st.processed.get(&name) {
                    Some(a) => (Some(a.clone()), None),
                    None => (None, st.partial_sources.get(&name).cloned()),
                }
            };
            let partial = match known {
                Some(a) => a,
                None => {
                    let source = source.or_else(|| {
                        let resolver = self.inner.partial_resolver.as_ref()?;
                        resolver(&name).filter(|s| !s.is_empty())
                    });
                    let Some(source) = source else {
                        if required {
                            return Err(missing_partial(&name));
                        }
                        missing.insert(name);
                        continue;
                    };
                    let (template, a) = prepare(&source, Some(&name), &|n| kind(n)).map_err(|e| e.in_partial(&name))?;
                    let mut st = self.write();
                    st.partial_sources.entry(name.clone()).or_insert(source);
                    Arc::make_mut(&mut st.registry).register_template(&name, template);
                    st.processed.insert(name.clone(), a.clone());
                    a
                }
            };
            inline.extend(partial.inline_partials.iter().cloned());
            add_edges(&mut graph, &name, &partial);
            queue.extend(partial.partials.iter().map(|r| (r.name.clone(), r.required)));
        }

        if let Some(cycle) = find_cycle(&graph, &[ROOT_NODE.to_owned()]) {
            let cycle = cycle.replace(ROOT_NODE, "template");
            return Err(Error::template(
                None,
                format!("partials include each other in a cycle ({cycle}), which would never finish rendering"),
            ));
        }
        Ok(())
    }

    fn lookup_schema(&self, name: &str) -> Option<Value> {
        let local = self.read().schemas.get(name).filter(|s| !is_falsy(s)).cloned();
        local.or_else(|| self.inner.schema_resolver.as_ref().and_then(|r| r(name)))
    }

    fn resolve_metadata(&self, parsed: &PromptMetadata, options: Option<&PromptMetadata>) -> Result<PromptMetadata> {
        let model =
            options.and_then(|o| o.model.as_ref()).or(parsed.model.as_ref()).or(self.inner.default_model.as_ref());
        let mut out = PromptMetadata::default();
        if let Some(config) = model.and_then(|m| self.inner.model_configs.get(m)) {
            out.config = Some(config.clone());
        }
        out.overlay(parsed);
        if let Some(options) = options {
            out.overlay(options);
        }
        self.resolve_tools(&mut out)?;

        let resolver = |name: &str| self.lookup_schema(name);
        if let Some(input) = out.input.as_mut()
            && let Some(schema) = input.schema.as_ref()
            && let Some(resolved) = picoschema(schema, Some(&resolver))?
        {
            input.schema = Some(resolved);
        }
        if let Some(output) = out.output.as_mut()
            && let Some(schema) = output.schema.as_ref()
            && let Some(resolved) = picoschema(schema, Some(&resolver))?
        {
            output.schema = Some(resolved);
        }
        Ok(out)
    }

    fn resolve_tools(&self, meta: &mut PromptMetadata) -> Result<()> {
        let Some(tools) = meta.tools.take() else { return Ok(()) };
        let mut defs = meta.tool_defs.take().unwrap_or_default();
        let mut unregistered = Vec::new();
        for name in tools {
            let local = self.read().tools.get(&name).cloned();
            if let Some(def) = local {
                defs.push(def);
            } else if let Some(resolver) = &self.inner.tool_resolver {
                match resolver(&name) {
                    Some(def) => defs.push(def),
                    None => {
                        return Err(Error::not_found(
                            Missing::Tool,
                            &name,
                            format!("Dotprompt: Unable to resolve tool '{name}' to a recognized tool definition."),
                        ));
                    }
                }
            } else {
                unregistered.push(name);
            }
        }
        meta.tool_defs = Some(defs);
        meta.tools = Some(unregistered);
        Ok(())
    }
}

fn missing_partial(name: &str) -> Error {
    Error::not_found(
        Missing::Partial,
        name,
        format!(
            "partial `{name}` was not found: register it with `Dotprompt::define_partial` or provide it from a \
             partial resolver"
        ),
    )
}

fn add_edges(graph: &mut HashMap<String, Vec<String>>, node: &str, analysis: &Analysis) {
    graph.entry(node.to_owned()).or_default();
    for r in &analysis.partials {
        let from = r.scope.as_deref().unwrap_or(node);
        graph.entry(from.to_owned()).or_default().push(r.name.clone());
    }
}

/// A compiled prompt, ready to be rendered many times without re-parsing. Created by [`Dotprompt::compile`].
pub struct CompiledPrompt {
    dotprompt: Dotprompt,
    parsed: ParsedPrompt,
    template: Template,
    analysis: Analysis,
    checked_generation: AtomicU64,
    metadata: Mutex<Option<(u64, Arc<PromptMetadata>)>>,
}

impl fmt::Debug for CompiledPrompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledPrompt").field("parsed", &self.parsed).finish_non_exhaustive()
    }
}

impl CompiledPrompt {
    /// The parsed prompt this was compiled from.
    pub fn parsed(&self) -> &ParsedPrompt {
        &self.parsed
    }

    /// Resolves the prompt metadata (see [`Dotprompt::render_metadata`]).
    ///
    /// # Errors
    ///
    /// As for [`Dotprompt::render_metadata`].
    pub fn render_metadata(&self, options: Option<&PromptMetadata>) -> Result<PromptMetadata> {
        self.dotprompt.resolve_metadata(&self.parsed.meta, options)
    }

    /// Metadata without call options is resolved once per environment generation and shared.
    fn base_metadata(&self, generation: u64) -> Result<Arc<PromptMetadata>> {
        let mut cache = self.metadata.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((g, meta)) = cache.as_ref()
            && *g == generation
        {
            return Ok(meta.clone());
        }
        drop(cache);
        let meta = Arc::new(self.dotprompt.resolve_metadata(&self.parsed.meta, None)?);
        cache = self.metadata.lock().unwrap_or_else(PoisonError::into_inner);
        *cache = Some((generation, meta.clone()));
        Ok(meta)
    }

    /// Renders the prompt with `data`; `options` override the frontmatter (see [`Dotprompt::render`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Render`] when a helper fails or a `{{role}}` names an unsupported role; metadata errors as for
    /// [`Dotprompt::render_metadata`]; [`ErrorKind::NotFound`] when a partial redefined since compiling is gone.
    pub fn render(&self, data: &DataArgument, options: Option<&PromptMetadata>) -> Result<RenderedPrompt> {
        let generation = self.dotprompt.read().generation;
        if self.checked_generation.load(Ordering::Acquire) != generation {
            self.dotprompt.ensure_partials(&self.analysis)?;
            self.checked_generation.store(generation, Ordering::Release);
        }
        let meta = match options.filter(|o| !o.is_empty()) {
            None => self.base_metadata(generation)?,
            Some(o) => Arc::new(self.dotprompt.resolve_metadata(&self.parsed.meta, Some(o))?),
        };
        let root = root_context(meta.input.as_ref().and_then(|i| i.default.as_ref()), data.input.as_ref());
        let rendered = self.render_string(root, data, &meta)?;
        let messages = to_messages(&rendered, data.messages.as_deref())?;
        let meta = match Arc::try_unwrap(meta) {
            Ok(mut meta) => {
                meta.input = None;
                meta
            }
            Err(shared) => without_input(&shared),
        };
        Ok(RenderedPrompt { meta, messages })
    }

    fn render_string(&self, root: Value, data: &DataArgument, meta: &PromptMetadata) -> Result<String> {
        let registry: Arc<Handlebars<'static>> = self.dotprompt.read().registry.clone();
        let registry: &Handlebars<'static> = &registry;
        let ctx = Context::from(root);
        let helper = DataHelper {
            context: data.context.as_ref(),
            prompt: meta,
            docs: data.docs.as_ref(),
            messages: data.messages.as_ref(),
            metadata: OnceLock::new(),
        };
        let offset = self.parsed.template_line_offset;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut rc = RenderContext::new(None);
            rc.register_local_helper(DATA_HELPER, Box::new(helper));
            let mut out = StringOutput::new();
            self.template.render(registry, &ctx, &mut rc, &mut out)?;
            out.into_string().map_err(RenderError::from)
        }));
        match result {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(render_error(&e, offset)),
            Err(_) => Err(Error::new(
                ErrorKind::Render { line: None },
                "the template engine failed unexpectedly while rendering this template",
            )),
        }
    }
}

/// A copy of the metadata without `input` (which rendered prompts do not carry).
fn without_input(meta: &PromptMetadata) -> PromptMetadata {
    PromptMetadata {
        name: meta.name.clone(),
        variant: meta.variant.clone(),
        version: meta.version.clone(),
        description: meta.description.clone(),
        model: meta.model.clone(),
        tools: meta.tools.clone(),
        tool_defs: meta.tool_defs.clone(),
        config: meta.config.clone(),
        input: None,
        output: meta.output.clone(),
        raw: meta.raw.clone(),
        ext: meta.ext.clone(),
        metadata: meta.metadata.clone(),
    }
}

/// The template root: `{...default, ...input}`.
fn root_context(default: Option<&JsonMap>, input: Option<&Value>) -> Value {
    match (default, input) {
        (None, None | Some(Value::Null)) => Value::Object(JsonMap::new()),
        (None, Some(v)) => v.clone(),
        (Some(d), None | Some(Value::Null)) => Value::Object(d.clone()),
        (Some(d), Some(Value::Object(i))) => {
            let mut merged = d.clone();
            for (k, v) in i {
                merged.insert(k.clone(), v.clone());
            }
            Value::Object(merged)
        }
        (Some(_), Some(other)) => other.clone(),
    }
}

fn render_error(e: &RenderError, offset: usize) -> Error {
    let in_partial = e.template_name.clone();
    let line = e.line_no.map(|l| if in_partial.is_some() { l } else { l + offset });
    let err = match e.reason() {
        RenderErrorReason::NestedError(inner) => match inner.downcast_ref::<Error>() {
            Some(own) => {
                let kind = match own.kind() {
                    ErrorKind::Render { line: None } => ErrorKind::Render { line },
                    other => other.clone(),
                };
                Error::new(kind, own.message())
            }
            None => Error::new(ErrorKind::Render { line }, format!("a helper failed: {inner}")),
        },
        RenderErrorReason::PartialNotFound(name) => missing_partial(name),
        reason => Error::new(ErrorKind::Render { line }, format!("rendering failed: {reason}")),
    };
    match in_partial {
        Some(name) => err.in_partial(&name),
        None => err,
    }
}

#[cfg(test)]
mod tests;
