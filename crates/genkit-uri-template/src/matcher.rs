//! Matching a URI against a template: a depth-first search over where each part ends.

use std::collections::HashSet;

use crate::bindings::parse_expression_text;
use crate::encoding::{encodes_to, percent_decode};
use crate::syntax::Part;
use crate::{UriTemplate, VarValue, Variables};

/// ASCII characters that an unreserved expansion never writes raw inside a value.
const STRUCTURAL: &[u8] = b":/?#[]@&,;=";

/// State shared by one matching pass: the work budget and whether the pass is strict.
///
/// A strict pass accepts only text that expansion writes exactly (encoded literals, canonical
/// percent-encoding, named parameters in template order); a lenient pass accepts what people and
/// other implementations write as well.
#[derive(Debug)]
pub(crate) struct Search {
    left: usize,
    pub(crate) strict: bool,
}

impl Search {
    const BASE: usize = 1 << 22;
    const PER_BYTE: usize = 16;

    fn new(uri_len: usize, strict: bool) -> Self {
        Self { left: Self::BASE.saturating_add(uri_len.saturating_mul(Self::PER_BYTE)), strict }
    }

    /// Spends `units` of work; false once the budget is exhausted.
    pub(crate) fn spend(&mut self, units: usize) -> bool {
        match self.left.checked_sub(units) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.left = 0;
                false
            }
        }
    }

    fn exhausted(&self) -> bool {
        self.left == 0
    }

    /// A value of a non-reserved expression: raw delimiters are rejected, percent-encoded
    /// triplets decoded (the result must be UTF-8); a strict pass also wants the canonical
    /// encoding of the result.
    pub(crate) fn decode(&self, text: &str) -> Option<String> {
        if text.bytes().any(|b| STRUCTURAL.contains(&b)) {
            return None;
        }
        let decoded = percent_decode(text)?;
        (!self.strict || encodes_to(&decoded, false, text)).then_some(decoded)
    }

    /// A value of a reserved expression: verbatim; a strict pass wants text that reserved
    /// expansion leaves unchanged.
    pub(crate) fn verbatim(&self, text: &str) -> Option<String> {
        (!self.strict || encodes_to(text, true, text)).then(|| text.to_owned())
    }

    pub(crate) fn value(&self, text: &str, reserved: bool) -> Option<String> {
        if reserved { self.verbatim(text) } else { self.decode(text) }
    }
}

/// One template part being matched at `pos`, with the end positions still to try.
#[derive(Debug)]
struct Frame {
    part: usize,
    pos: usize,
    candidates: Vec<usize>,
    next: usize,
    bindings: Vec<(usize, VarValue)>,
}

#[derive(Debug)]
struct Matcher<'a> {
    template: &'a UriTemplate,
    uri: &'a str,
    search: Search,
}

/// Matches strictly first, then leniently (unless the strict pass ran out of budget).
pub(crate) fn match_uri(template: &UriTemplate, uri: &str) -> Option<Variables> {
    let mut strict = Matcher { template, uri, search: Search::new(uri.len(), true) };
    if let Some(vars) = strict.run() {
        return Some(vars);
    }
    if strict.search.exhausted() {
        return None;
    }
    Matcher { template, uri, search: Search::new(uri.len(), false) }.run()
}

impl Matcher<'_> {
    /// Depth-first search over the end positions of the template's parts, with an explicit
    /// stack (templates may be long) and memoised failures.
    fn run(&mut self) -> Option<Variables> {
        let parts = &self.template.parts;
        if parts.is_empty() {
            return self.uri.is_empty().then(Variables::new);
        }
        // (part, pos) pairs from which the rest of the template is known not to match.
        let mut failed: HashSet<(usize, usize)> = HashSet::new();
        let first = self.candidates(0, 0);
        let mut stack = vec![Frame { part: 0, pos: 0, candidates: first, next: 0, bindings: Vec::new() }];
        loop {
            if self.search.exhausted() {
                return None;
            }
            let frame = stack.last_mut()?;
            let Some(&end) = frame.candidates.get(frame.next) else {
                failed.insert((frame.part, frame.pos));
                stack.pop();
                continue;
            };
            frame.next += 1;
            let bindings = match parts.get(frame.part) {
                Some(Part::Expr(expr)) => {
                    let Some(text) = self.uri.get(frame.pos..end) else { continue };
                    match parse_expression_text(expr, text, &mut self.search) {
                        Some(bindings) => bindings,
                        None => continue,
                    }
                }
                _ => Vec::new(),
            };
            frame.bindings = bindings;
            let next_part = frame.part + 1;
            if next_part == parts.len() {
                if end == self.uri.len() {
                    break;
                }
                continue;
            }
            if failed.contains(&(next_part, end)) {
                continue;
            }
            let candidates = self.candidates(next_part, end);
            stack.push(Frame { part: next_part, pos: end, candidates, next: 0, bindings: Vec::new() });
        }
        Some(self.collect(stack))
    }

    /// Merges the bindings of a successful match: the first full-length occurrence of a
    /// variable wins over prefix (`{var:N}`) occurrences, otherwise the first occurrence wins.
    fn collect(&self, stack: Vec<Frame>) -> Variables {
        let mut vars = Variables::new();
        let mut from_prefix: HashSet<String> = HashSet::new();
        for frame in stack {
            let Some(Part::Expr(expr)) = self.template.parts.get(frame.part) else { continue };
            for (index, value) in frame.bindings {
                let Some(spec) = expr.vars.get(index) else { continue };
                let replace = match vars.get(&spec.name) {
                    None => true,
                    Some(_) => spec.prefix.is_none() && from_prefix.contains(&spec.name),
                };
                if replace {
                    if spec.prefix.is_some() {
                        from_prefix.insert(spec.name.clone());
                    } else {
                        from_prefix.remove(&spec.name);
                    }
                    vars.insert(spec.name.clone(), value);
                }
            }
        }
        vars
    }

    /// The forms a literal may take in the URI: as expansion writes it, then (lenient pass
    /// only) as written in the template.
    fn literal_forms<'p>(&self, raw: &'p str, encoded: &'p str) -> impl Iterator<Item = &'p str> + use<'p> {
        let raw = (!self.search.strict && raw != encoded).then_some(raw);
        std::iter::once(encoded).chain(raw)
    }

    /// End positions to try for part `part` starting at `pos`, in order of preference.
    fn candidates(&mut self, part: usize, pos: usize) -> Vec<usize> {
        let uri = self.uri;
        let parts = &self.template.parts;
        let Some(rest) = uri.get(pos..) else { return Vec::new() };
        match parts.get(part) {
            None => Vec::new(),
            Some(Part::Literal { raw, encoded }) => {
                self.search.spend(raw.len() + encoded.len());
                self.literal_forms(raw, encoded)
                    .filter(|form| rest.starts_with(form))
                    .map(|form| pos + form.len())
                    .collect()
            }
            Some(Part::Expr(expr)) => {
                // The longest stretch of characters this expression could have produced.
                let run_end = if expr.op.allow_reserved() {
                    uri.len()
                } else {
                    let sep = expr.op.sep();
                    let first = expr.op.first();
                    let len = rest
                        .char_indices()
                        .find(|&(_, c)| {
                            let allowed = !c.is_ascii()
                                || !STRUCTURAL.contains(&(c as u8))
                                || c == ','
                                || c == '='
                                || c == sep
                                || Some(c) == first;
                            !allowed
                        })
                        .map_or(rest.len(), |(i, _)| i);
                    pos + len
                };
                self.search.spend(run_end - pos + 1);
                match parts.get(part + 1) {
                    None => {
                        if run_end == uri.len() {
                            vec![run_end]
                        } else {
                            Vec::new()
                        }
                    }
                    Some(Part::Literal { raw, encoded }) => {
                        let mut out = Vec::new();
                        let forms: Vec<&str> = self.literal_forms(raw, encoded).collect();
                        for form in &forms {
                            self.occurrences(pos, run_end, form, &mut out);
                        }
                        if forms.len() > 1 {
                            out.sort_unstable();
                            out.dedup();
                        }
                        out
                    }
                    Some(Part::Expr(next)) => {
                        let boundaries = (pos..=run_end).filter(|&i| uri.is_char_boundary(i));
                        self.search.spend(run_end - pos + 1);
                        match next.op.first() {
                            Some(marker) => {
                                // Hand over at the next expression's marker (not at `pos`: this
                                // expression takes something if it can), else take the most.
                                let handover =
                                    |i: &usize| *i > pos && uri.get(*i..).is_some_and(|tail| tail.starts_with(marker));
                                let mut out: Vec<usize> = boundaries.clone().filter(handover).collect();
                                out.extend(boundaries.rev().filter(|i| !handover(i)));
                                out
                            }
                            None => boundaries.rev().collect(),
                        }
                    }
                }
            }
        }
    }

    /// Appends the positions in `pos..=run_end` where `needle` occurs in the URI (overlapping
    /// occurrences included), in ascending order.
    fn occurrences(&mut self, pos: usize, run_end: usize, needle: &str, out: &mut Vec<usize>) {
        let uri = self.uri;
        let mut from = pos;
        while from <= run_end {
            let Some(found) = uri.get(from..).and_then(|hay| hay.find(needle)) else {
                self.search.spend(uri.len() - from + 1);
                return;
            };
            let at = from + found;
            if !self.search.spend(found + needle.len() + 1) || at > run_end {
                return;
            }
            out.push(at);
            from = at + uri.get(at..).and_then(|tail| tail.chars().next()).map_or(1, char::len_utf8);
        }
    }
}
