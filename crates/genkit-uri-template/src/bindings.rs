//! Reading the text that one expression produced back into variable values.

use std::collections::HashSet;

use crate::VarValue;
use crate::encoding::{encodes_to, percent_decode};
use crate::matcher::Search;
use crate::syntax::{Expression, VarSpec};

/// Parses the text one expression produced into `(varspec index, value)` bindings.
pub(crate) fn parse_expression_text(
    expr: &Expression,
    text: &str,
    search: &mut Search,
) -> Option<Vec<(usize, VarValue)>> {
    if !search.spend(text.len() + 1) {
        return None;
    }
    if expr.op.named() { parse_named(expr, text, search) } else { parse_unnamed(expr, text, search) }
}

/// `;`, `?` and `&` expressions: `name=value` items, identified by name (in template order
/// only, on a strict pass).
fn parse_named(expr: &Expression, text: &str, search: &Search) -> Option<Vec<(usize, VarValue)>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    let op = expr.op;
    let body = text.strip_prefix(op.first()?)?;
    let count = expr.vars.len();
    let mut assigned: Vec<Option<VarValue>> = vec![None; count];
    let mut exploded: Vec<Vec<(&str, &str)>> = vec![Vec::new(); count];
    let first_exploded = expr.vars.iter().position(|spec| spec.explode);
    let mut last_index = 0;
    for item in body.split(op.sep()) {
        let (name, value, has_eq) = match item.split_once('=') {
            Some((name, value)) => (name, value, true),
            None => (item, "", false),
        };
        // Expansion writes `name=` for empty values in `?`/`&`, and `name` in `;`.
        if search.strict && !has_eq && !op.if_empty().is_empty() {
            return None;
        }
        let scalar = expr
            .vars
            .iter()
            .zip(&assigned)
            .position(|(spec, done)| !spec.explode && done.is_none() && spec.name == name);
        let index = if let Some(index) = scalar {
            let spec = expr.vars.get(index)?;
            let mut items = value.split(',').map(|v| search.decode(v)).collect::<Option<Vec<_>>>()?;
            // In `;` expressions an empty string is written `name`, so `name=` is a list of one
            // empty string.
            let empty_list = op.if_empty().is_empty() && has_eq && value.is_empty();
            let value =
                if items.len() == 1 && !empty_list { VarValue::String(items.pop()?) } else { VarValue::List(items) };
            *assigned.get_mut(index)? = Some(apply_prefix(spec, value, false)?);
            index
        } else {
            if search.strict && has_eq && value.is_empty() && op.if_empty().is_empty() {
                return None;
            }
            let index = expr.vars.iter().position(|spec| spec.explode && spec.name == name).or(first_exploded)?;
            exploded.get_mut(index)?.push((name, value));
            index
        };
        if search.strict && index < last_index {
            return None;
        }
        last_index = index;
    }
    let mut bindings = Vec::new();
    for (index, (spec, (value, entries))) in expr.vars.iter().zip(assigned.into_iter().zip(exploded)).enumerate() {
        if let Some(value) = value {
            bindings.push((index, value));
        } else if !entries.is_empty() {
            let value = if entries.iter().all(|(name, _)| *name == spec.name) {
                VarValue::List(entries.iter().map(|(_, v)| search.decode(v)).collect::<Option<_>>()?)
            } else {
                VarValue::Assoc(
                    entries.iter().map(|(k, v)| Some((search.decode(k)?, search.decode(v)?))).collect::<Option<_>>()?,
                )
            };
            bindings.push((index, value));
        }
    }
    Some(bindings)
}

/// Expressions without names (none, `+`, `#`, `.`, `/`): values separated by the operator's
/// separator, assigned to the variables in order.
fn parse_unnamed(expr: &Expression, text: &str, search: &mut Search) -> Option<Vec<(usize, VarValue)>> {
    let body = match expr.op.first() {
        Some(_) if text.is_empty() => return Some(Vec::new()),
        Some(first) => text.strip_prefix(first)?,
        None => text,
    };
    let sep = expr.op.sep();
    let mut segments = Vec::new();
    let mut start = 0;
    for (i, c) in body.char_indices() {
        if c == sep {
            segments.push((start, i));
            start = i + 1;
        }
    }
    segments.push((start, body.len()));
    let values = distribute(expr, body, &segments, search)?;
    Some(values.into_iter().enumerate().filter_map(|(i, v)| Some((i, v?))).collect())
}

/// One variable's choice while distributing segments: where its segments start and which
/// segment count to try next.
#[derive(Debug)]
struct Level {
    start: usize,
    choice: usize,
    value: Option<VarValue>,
}

/// Splits `segments` among the expression's variables in order. Each variable takes one
/// segment if it can, otherwise more (so the last one able to absorb extra segments takes
/// them), otherwise none (undefined). Depth-first with memoised failures.
fn distribute(
    expr: &Expression,
    body: &str,
    segments: &[(usize, usize)],
    search: &mut Search,
) -> Option<Vec<Option<VarValue>>> {
    let vars = expr.vars.len();
    let total = segments.len();
    let mut failed: HashSet<(usize, usize)> = HashSet::new();
    let mut stack = vec![Level { start: 0, choice: 0, value: None }];
    loop {
        let depth = stack.len();
        let level = stack.last_mut()?;
        let var = depth - 1;
        let remaining = total - level.start;
        if level.choice > remaining || !search.spend(1) {
            failed.insert((var, level.start));
            stack.pop();
            continue;
        }
        // Segment counts are tried in the order 1, 2, ..., remaining, then 0.
        let take = if level.choice < remaining { level.choice + 1 } else { 0 };
        level.choice += 1;
        let next = level.start + take;
        let last = var + 1 == vars;
        if (last && next != total) || (!last && failed.contains(&(var + 1, next))) {
            continue;
        }
        if take == 0 {
            level.value = None;
        } else {
            let spec = expr.vars.get(var)?;
            let taken = segments.get(level.start..next)?;
            match convert_unnamed(expr, spec, body, taken, search) {
                Some(value) => level.value = Some(value),
                None => continue,
            }
        }
        if last {
            return Some(stack.into_iter().map(|level| level.value).collect());
        }
        stack.push(Level { start: next, choice: 0, value: None });
    }
}

/// The value of one variable of an unnamed expression from its segments.
fn convert_unnamed(
    expr: &Expression,
    spec: &VarSpec,
    body: &str,
    segments: &[(usize, usize)],
    search: &mut Search,
) -> Option<VarValue> {
    let reserved = expr.op.allow_reserved();
    let (start, _) = *segments.first()?;
    let (_, end) = *segments.last()?;
    let text = body.get(start..end)?;
    if !search.spend(text.len() + 1) {
        return None;
    }
    let value = if spec.explode {
        let items: Vec<&str> = segments.iter().filter_map(|&(a, b)| body.get(a..b)).collect();
        let is_assoc = if reserved { items.first().is_some_and(|item| item.contains('=')) } else { text.contains('=') };
        if is_assoc {
            // Items are `key=value`; an item without `=` continues the previous one (a value that
            // contained the separator, as `.` can in label expansion).
            let mut groups: Vec<(usize, usize)> = Vec::new();
            let mut group_has_eq = false;
            for &(a, b) in segments {
                let has_eq = body.get(a..b)?.contains('=');
                match groups.last_mut() {
                    Some(group) if !(group_has_eq && has_eq) => {
                        group.1 = b;
                        group_has_eq |= has_eq;
                    }
                    _ => {
                        groups.push((a, b));
                        group_has_eq = has_eq;
                    }
                }
            }
            let mut pairs = Vec::with_capacity(groups.len());
            for (a, b) in groups {
                let (key, value) = body.get(a..b)?.split_once('=')?;
                pairs.push((search.value(key, reserved)?, search.value(value, reserved)?));
            }
            VarValue::Assoc(pairs)
        } else {
            VarValue::List(items.into_iter().map(|item| search.value(item, reserved)).collect::<Option<_>>()?)
        }
    } else if reserved {
        VarValue::String(search.verbatim(text)?)
    } else {
        let mut items = text.split(',').map(|item| search.decode(item)).collect::<Option<Vec<_>>>()?;
        if items.len() == 1 { VarValue::String(items.pop()?) } else { VarValue::List(items) }
    };
    apply_prefix(spec, value, reserved)
}

/// Checks `value` against the prefix modifier of `spec` (`{var:N}`): a string must have at most
/// N characters. A reserved (`+`, `#`) value is kept verbatim when it fits; otherwise it is
/// percent-decoded if that fits and expands back to the same text (`{+greek:2}` matching
/// `%CE%B1%CE%B2` gives `"αβ"`). Composite values are not truncated on expansion, so they pass.
fn apply_prefix(spec: &VarSpec, value: VarValue, reserved: bool) -> Option<VarValue> {
    let (Some(max), VarValue::String(text)) = (spec.prefix, &value) else { return Some(value) };
    if text.chars().count() <= max {
        return Some(value);
    }
    if !reserved {
        return None;
    }
    let decoded = percent_decode(text)?;
    (decoded.chars().count() <= max && encodes_to(&decoded, true, text)).then_some(VarValue::String(decoded))
}
