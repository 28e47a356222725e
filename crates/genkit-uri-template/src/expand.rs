//! Expansion (RFC 6570 §3.2): variable values written into an expression.

use crate::encoding::push_encoded;
use crate::syntax::{Expression, Operator};
use crate::{VarValue, Variables};

/// Appends the expansion of `expr` to `out`.
pub(crate) fn expand_expression(expr: &Expression, vars: &Variables, out: &mut String) {
    let op = expr.op;
    let reserved = op.allow_reserved();
    let sep = op.sep();
    let mut first = true;
    for spec in &expr.vars {
        let Some(value) = vars.get(&spec.name).filter(|v| v.is_defined()) else { continue };
        match (first, op.first()) {
            (true, Some(c)) => out.push(c),
            (true, None) => {}
            (false, _) => out.push(sep),
        }
        first = false;
        match value {
            VarValue::String(s) => {
                let s = spec.prefix.map_or(s.as_str(), |n| truncate_chars(s, n));
                push_item(out, op, &spec.name, s);
            }
            VarValue::List(items) if spec.explode => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(sep);
                    }
                    push_item(out, op, &spec.name, item);
                }
            }
            VarValue::Assoc(pairs) if spec.explode => {
                for (i, (key, val)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(sep);
                    }
                    push_encoded(out, key, reserved);
                    if op.named() && val.is_empty() {
                        out.push_str(op.if_empty());
                    } else {
                        out.push('=');
                        push_encoded(out, val, reserved);
                    }
                }
            }
            VarValue::List(items) => push_joined(out, op, &spec.name, items.iter().map(String::as_str)),
            VarValue::Assoc(pairs) => {
                push_joined(out, op, &spec.name, pairs.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
            }
        }
    }
}

/// A composite value that is not exploded: its items (or keys and values) joined with commas,
/// after `name=` in named expressions.
fn push_joined<'a>(out: &mut String, op: Operator, name: &str, items: impl Iterator<Item = &'a str>) {
    if op.named() {
        out.push_str(name);
        out.push('=');
    }
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_encoded(out, item, op.allow_reserved());
    }
}

/// One string value, after `name=` in named expressions (or just the name, or `name=`, when
/// the value is empty, as the operator wants).
fn push_item(out: &mut String, op: Operator, name: &str, value: &str) {
    if op.named() {
        out.push_str(name);
        if value.is_empty() {
            out.push_str(op.if_empty());
            return;
        }
        out.push('=');
    }
    push_encoded(out, value, op.allow_reserved());
}

/// The first `n` characters of `s`.
fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((end, _)) => s.get(..end).unwrap_or(s),
        None => s,
    }
}
