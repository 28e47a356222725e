//! Compile-time checks and rewrites of Handlebars templates.
//!
//! * `knownHelpersOnly`: a helper call (a mustache with parameters, any block, any subexpression) must name a
//!   built-in or registered helper, otherwise compilation fails with [`ErrorKind::UnknownHelper`].
//! * `@`-data paths (`@auth.email`, `@metadata.prompt.model`) are rewritten into calls of an internal helper
//!   that reads the render's data frame, since the Handlebars crate only supports flat local variables.
//! * Plain value mustaches (`{{name}}`) are routed through an internal helper that prints values exactly like
//!   Handlebars.js (`2.0` prints `2`, arrays print `a,b`).
//! * Partial references are collected so they can be resolved before rendering.

use std::collections::HashMap;

use handlebars::TemplateErrorReason;
use handlebars::template::{BlockParam, DecoratorTemplate, Parameter, Subexpression, Template, TemplateElement};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// Internal helper that evaluates an `@`-data path.
pub(crate) const DATA_HELPER: &str = "__dotprompt_data";
/// Internal helper that prints a value like Handlebars.js.
pub(crate) const VALUE_HELPER: &str = "__dotprompt_value";

/// Maximum nesting of blocks and subexpressions accepted, to keep parsing and rendering within the stack.
const MAX_NESTING: usize = 64;

/// A partial referenced by a template.
#[derive(Clone, Debug)]
pub(crate) struct PartialRef {
    /// The inline partial (`{{#*inline "x"}}`) the reference appears in, `None` for the template body.
    pub(crate) scope: Option<String>,
    pub(crate) name: String,
    /// `{{> name}}` requires the partial; `{{#> name}}fallback{{/name}}` does not.
    pub(crate) required: bool,
}

/// How a helper name behaves in an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HelperKind {
    /// Not a helper.
    Unknown,
    /// A helper whose output is final text (`json`, `role`, block helpers, …).
    Text,
    /// A helper returning a value that is printed like Handlebars.js prints values.
    Value,
}

/// What compiling a template found out about it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Analysis {
    pub(crate) partials: Vec<PartialRef>,
    pub(crate) inline_partials: Vec<String>,
}

/// Parses, checks and rewrites a template. `kind` tells whether (and how) a helper name is available.
pub(crate) fn prepare(
    source: &str,
    name: Option<&str>,
    kind: &dyn Fn(&str) -> HelperKind,
) -> Result<(Template, Analysis)> {
    check_nesting(source)?;
    let mut template = compile_template(source, name)?;
    let mut walker = Walker { kind, analysis: Analysis::default(), block_params: Vec::new(), scope: None };
    walker.template(&mut template)?;
    Ok((template, walker.analysis))
}

fn compile_template(source: &str, name: Option<&str>) -> Result<Template> {
    let compiled = std::panic::catch_unwind(|| match name {
        Some(name) => Template::compile_with_name(source, name.to_owned()),
        None => Template::compile(source),
    })
    .map_err(|_| {
        Error::template(None, "the template could not be parsed: check that every `{{` has a matching `}}`")
    })?;
    compiled.map_err(|e| {
        let line = e.pos().map(|(l, _)| l);
        let hint = match e.reason() {
            TemplateErrorReason::InvalidSyntax(_) => {
                "; check that every `{{` is closed by `}}` and every `{{#block}}` by a matching `{{/block}}`"
            }
            _ => "",
        };
        Error::template(line, format!("invalid Handlebars template: {}{hint}", e.reason())).with_source(e)
    })
}

/// Rejects templates nested deeper than [`MAX_NESTING`] (blocks, or brackets inside mustaches), since the
/// Handlebars parser is recursive.
fn check_nesting(source: &str) -> Result<()> {
    let bytes = source.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                let mut j = i + 2;
                while j < bytes.len() && matches!(bytes[j], b'{' | b'~' | b' ' | b'\t' | b'\r' | b'\n') {
                    j += 1;
                }
                match bytes.get(j) {
                    Some(b'#') => depth += 1,
                    Some(b'/') => depth = depth.saturating_sub(1),
                    _ => {}
                }
                let mut parens = 0usize;
                while j < bytes.len() && !(bytes[j] == b'}' && bytes.get(j + 1) == Some(&b'}')) {
                    match bytes[j] {
                        b'(' | b'[' | b'{' => parens += 1,
                        b')' | b']' | b'}' => parens = parens.saturating_sub(1),
                        b'\n' => line += 1,
                        _ => {}
                    }
                    if parens > MAX_NESTING {
                        break;
                    }
                    j += 1;
                }
                if depth > MAX_NESTING || parens > MAX_NESTING {
                    return Err(Error::template(
                        Some(line),
                        format!("the template nests blocks or subexpressions more than {MAX_NESTING} levels deep"),
                    ));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn unknown_helper(name: &str, line: Option<usize>) -> Error {
    Error::new(
        ErrorKind::UnknownHelper { name: name.to_owned(), line },
        format!(
            "unknown helper `{name}`: only built-in helpers (if, unless, each, with, lookup, log, json, role, \
             history, section, media, ifEquals, unlessEquals) and helpers registered with \
             `Dotprompt::define_helper` can be used"
        ),
    )
}

/// Splits the raw text of an `@`-path (`@auth.email`, `@../index`, `@a.[b c]`) into `(level, segments)`.
fn parse_data_path(raw: &str) -> (usize, Vec<String>) {
    let mut s = raw;
    for prefix in ["this.", "this/", "./"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
            break;
        }
    }
    let mut s = s.strip_prefix('@').unwrap_or(s);
    let mut level = 0;
    while let Some(rest) = s.strip_prefix("..") {
        level += 1;
        s = rest.strip_prefix(['/', '.']).unwrap_or(rest);
    }
    let mut segs = Vec::new();
    while !s.is_empty() {
        if let Some(rest) = s.strip_prefix('[') {
            let end = rest.find(']').unwrap_or(rest.len());
            segs.push(rest[..end].to_owned());
            s = rest.get(end + 1..).unwrap_or("");
        } else {
            let end = s.find(['.', '/', '[']).unwrap_or(s.len());
            if end > 0 {
                segs.push(s[..end].to_owned());
            }
            s = &s[end..];
        }
        s = s.strip_prefix(['.', '/']).unwrap_or(s);
    }
    (level, segs)
}

/// The literal argument of [`DATA_HELPER`]: `[level, name, ...path]`.
fn data_spec(raw: &str) -> Parameter {
    let (level, segs) = parse_data_path(raw);
    let mut spec = vec![Value::from(level)];
    spec.extend(segs.into_iter().map(Value::String));
    Parameter::Literal(Value::Array(spec))
}

fn data_call(raw: &str) -> Parameter {
    Parameter::Subexpression(Subexpression::new(
        Parameter::Name(DATA_HELPER.into()),
        vec![data_spec(raw)],
        HashMap::new(),
    ))
}

fn is_data_path(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Path(path @ handlebars::Path::Local(_)) => Some(path_raw(path)),
        _ => None,
    }
}

fn path_raw(p: &handlebars::Path) -> String {
    Parameter::Path(p.clone()).as_name().unwrap_or_default().to_owned()
}

struct Walker<'a> {
    kind: &'a dyn Fn(&str) -> HelperKind,
    analysis: Analysis,
    block_params: Vec<Vec<String>>,
    scope: Option<String>,
}

impl Walker<'_> {
    fn template(&mut self, t: &mut Template) -> Result<()> {
        let lines: Vec<usize> = t.mapping.iter().map(|m| m.0).collect();
        for (i, el) in t.elements.iter_mut().enumerate() {
            self.element(el, lines.get(i).copied())?;
        }
        Ok(())
    }

    fn is_block_param(&self, name: &str) -> bool {
        let first = name.split(['.', '/']).next().unwrap_or(name);
        self.block_params.iter().any(|names| names.iter().any(|n| n == first))
    }

    fn check_helper_name(&self, name: &Parameter, line: Option<usize>) -> Result<()> {
        let n = name.as_name().unwrap_or_default();
        if (self.kind)(n) != HelperKind::Unknown { Ok(()) } else { Err(unknown_helper(n, line)) }
    }

    fn element(&mut self, el: &mut TemplateElement, line: Option<usize>) -> Result<()> {
        match el {
            TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                if !ht.params.is_empty() || !ht.hash.is_empty() {
                    self.check_helper_name(&ht.name, line)?;
                    self.params(&mut ht.params, &mut ht.hash, line)?;
                    if (self.kind)(ht.name.as_name().unwrap_or_default()) != HelperKind::Text {
                        // `{{helper a b}}` → `{{VALUE (helper a b)}}` so the result prints like Handlebars.js.
                        let name = std::mem::replace(&mut ht.name, Parameter::Name(VALUE_HELPER.into()));
                        let params = std::mem::take(&mut ht.params);
                        let hash = std::mem::take(&mut ht.hash);
                        ht.params = vec![Parameter::Subexpression(Subexpression::new(name, params, hash))];
                    }
                    return Ok(());
                }
                match &mut ht.name {
                    Parameter::Path(path) => {
                        let raw = path_raw(path);
                        if matches!(path, handlebars::Path::Local(_)) {
                            // `{{@auth.email}}` → `{{VALUE (DATA [0, "auth", "email"])}}`
                            ht.name = Parameter::Name(VALUE_HELPER.into());
                            ht.params = vec![data_call(&raw)];
                        } else if (self.kind)(&raw) != HelperKind::Unknown && !self.is_block_param(&raw) {
                            if (self.kind)(&raw) == HelperKind::Value {
                                ht.name = Parameter::Name(VALUE_HELPER.into());
                                ht.params = vec![Parameter::Subexpression(Subexpression::new(
                                    Parameter::Name(raw),
                                    Vec::new(),
                                    HashMap::new(),
                                ))];
                            }
                        } else {
                            // `{{name}}` → `{{VALUE name}}`
                            let value = std::mem::replace(&mut ht.name, Parameter::Name(VALUE_HELPER.into()));
                            ht.params = vec![value];
                        }
                    }
                    Parameter::Subexpression(_) => {
                        let mut name = std::mem::replace(&mut ht.name, Parameter::Name(String::new()));
                        let result = self.param(&mut name, line);
                        ht.name = name;
                        result?;
                    }
                    _ => {}
                }
                Ok(())
            }
            TemplateElement::HelperBlock(ht) => {
                self.check_helper_name(&ht.name, line)?;
                self.params(&mut ht.params, &mut ht.hash, line)?;
                let names: Vec<String> = match &ht.block_param {
                    Some(BlockParam::Single(p)) => p.as_name().map(str::to_owned).into_iter().collect(),
                    Some(BlockParam::Pair((a, b))) => {
                        [a, b].into_iter().filter_map(|p| p.as_name().map(str::to_owned)).collect()
                    }
                    _ => Vec::new(),
                };
                self.block_params.push(names);
                let result = (|| {
                    if let Some(t) = ht.template.as_mut() {
                        self.template(t)?;
                    }
                    if let Some(t) = ht.inverse.as_mut() {
                        self.template(t)?;
                    }
                    Ok(())
                })();
                self.block_params.pop();
                result
            }
            TemplateElement::DecoratorExpression(dt) | TemplateElement::DecoratorBlock(dt) => {
                let name = dt.name.as_name().unwrap_or_default().to_owned();
                if name != "inline" {
                    return Err(Error::template(
                        line,
                        format!("decorator `{name}` is not supported: only `{{{{#*inline \"name\"}}}}` is"),
                    ));
                }
                let partial = match dt.params.first() {
                    Some(Parameter::Literal(Value::String(s))) => s.clone(),
                    Some(p) => p.as_name().unwrap_or_default().to_owned(),
                    None => return Err(Error::template(line, "`{{#*inline}}` needs a partial name")),
                };
                self.analysis.inline_partials.push(partial.clone());
                if let Some(t) = dt.template.as_mut() {
                    let outer = self.scope.replace(partial);
                    let result = self.template(t);
                    self.scope = outer;
                    result?;
                }
                Ok(())
            }
            TemplateElement::PartialExpression(dt) => self.partial(dt, true, line),
            TemplateElement::PartialBlock(dt) => self.partial(dt, false, line),
            _ => Ok(()),
        }
    }

    fn partial(&mut self, dt: &mut DecoratorTemplate, required: bool, line: Option<usize>) -> Result<()> {
        let name = match &dt.name {
            Parameter::Name(n) => n.clone(),
            Parameter::Path(p) => path_raw(p),
            _ => {
                return Err(Error::template(
                    line,
                    "dynamic partial names (`{{> (expression)}}`) are not supported: name the partial",
                ));
            }
        };
        if name != "@partial-block" {
            self.analysis.partials.push(PartialRef { scope: self.scope.clone(), name, required });
        }
        self.params(&mut dt.params, &mut dt.hash, line)?;
        if let Some(t) = dt.template.as_mut() {
            self.template(t)?;
        }
        Ok(())
    }

    fn params(
        &mut self,
        params: &mut [Parameter],
        hash: &mut HashMap<String, Parameter>,
        line: Option<usize>,
    ) -> Result<()> {
        for p in params.iter_mut() {
            self.param(p, line)?;
        }
        for p in hash.values_mut() {
            self.param(p, line)?;
        }
        Ok(())
    }

    fn param(&mut self, p: &mut Parameter, line: Option<usize>) -> Result<()> {
        if let Some(raw) = is_data_path(p) {
            *p = data_call(&raw);
            return Ok(());
        }
        if let Parameter::Subexpression(sub) = p
            && let TemplateElement::Expression(ht) = sub.element.as_mut()
        {
            self.check_helper_name(&ht.name, line)?;
            self.params(&mut ht.params, &mut ht.hash, line)?;
        }
        Ok(())
    }
}

/// Finds a cycle among partials, given each partial's references. Returns the cycle as `a → b → a`.
pub(crate) fn find_cycle(graph: &HashMap<String, Vec<String>>, roots: &[String]) -> Option<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut path: Vec<&str> = Vec::new();
    // Iterative DFS: (node, index of next edge).
    for root in roots {
        if marks.contains_key(root.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(root.as_str(), 0)];
        marks.insert(root.as_str(), Mark::Active);
        path.push(root.as_str());
        while let Some((node, idx)) = stack.pop() {
            let edges = graph.get(node).map(Vec::as_slice).unwrap_or_default();
            if let Some(next) = edges.get(idx) {
                stack.push((node, idx + 1));
                match marks.get(next.as_str()) {
                    Some(Mark::Active) => {
                        let start = path.iter().position(|n| *n == next.as_str()).unwrap_or(0);
                        let mut cycle: Vec<&str> = path[start..].to_vec();
                        cycle.push(next.as_str());
                        return Some(cycle.join(" → "));
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(next.as_str(), Mark::Active);
                        path.push(next.as_str());
                        stack.push((next.as_str(), 0));
                    }
                }
            } else {
                marks.insert(node, Mark::Done);
                path.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(n: &str) -> HelperKind {
        if ["if", "each", "json", "role", "with"].contains(&n) { HelperKind::Text } else { HelperKind::Unknown }
    }

    fn prepare(source: &str, kind: &dyn Fn(&str) -> HelperKind) -> Result<(Template, Analysis)> {
        super::prepare(source, None, kind)
    }

    #[test]
    fn unknown_helpers_are_rejected_with_line() {
        let err = prepare("line1\n{{shout name}}", &kind).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::UnknownHelper { name: "shout".into(), line: Some(2) });
        let err = prepare("{{#if (loud x)}}{{/if}}", &kind).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::UnknownHelper { name, .. } if name == "loud"));
        let err = prepare("a\nb\n{{#items}}x{{/items}}", &kind).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::UnknownHelper { name: "items".into(), line: Some(3) });
        assert!(prepare("{{name}} {{json this}} {{#each xs as |json|}}{{json}}{{/each}}", &kind).is_ok());
    }

    #[test]
    fn data_paths_are_parsed() {
        assert_eq!(parse_data_path("@auth.email"), (0, vec!["auth".to_owned(), "email".to_owned()]));
        assert_eq!(parse_data_path("@../index"), (1, vec!["index".to_owned()]));
        assert_eq!(parse_data_path("@a.[b c]/d"), (0, vec!["a".to_owned(), "b c".to_owned(), "d".to_owned()]));
    }

    #[test]
    fn partials_are_collected() {
        let (_, a) = prepare("{{> a}}{{#> b}}x{{/b}}{{#*inline \"c\"}}{{> d}}{{/inline}}", &kind).unwrap();
        let names: Vec<_> = a.partials.iter().map(|r| (r.name.as_str(), r.required, r.scope.as_deref())).collect();
        assert_eq!(names, vec![("a", true, None), ("b", false, None), ("d", true, Some("c"))]);
        assert_eq!(a.inline_partials, vec!["c".to_owned()]);
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let src = "{{#if x}}".repeat(MAX_NESTING + 1);
        assert!(matches!(prepare(&src, &kind).unwrap_err().kind(), ErrorKind::Template { .. }));
        let src = format!("{{{{json {}1{}}}}}", "[".repeat(MAX_NESTING + 1), "]".repeat(MAX_NESTING + 1));
        assert!(matches!(prepare(&src, &kind).unwrap_err().kind(), ErrorKind::Template { line: Some(1) }));
    }

    #[test]
    fn cycles_are_found() {
        let mut g = HashMap::new();
        g.insert("root".to_owned(), vec!["a".to_owned()]);
        g.insert("a".to_owned(), vec!["b".to_owned()]);
        g.insert("b".to_owned(), vec!["a".to_owned()]);
        assert_eq!(find_cycle(&g, &["root".to_owned()]).as_deref(), Some("a → b → a"));
        g.insert("b".to_owned(), vec![]);
        assert_eq!(find_cycle(&g, &["root".to_owned()]), None);
    }
}
