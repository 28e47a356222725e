//! The template grammar: literals, expressions, operators and variable specifications.

use crate::UriTemplateError;
use crate::encoding::{is_triplet_at, push_encoded};

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Part {
    /// Literal text as written, and as expansion writes it (disallowed characters encoded).
    Literal { raw: String, encoded: String },
    /// A `{…}` expression.
    Expr(Expression),
}

/// An expression: an operator and its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expression {
    pub(crate) op: Operator,
    pub(crate) vars: Vec<VarSpec>,
}

/// A variable with its modifier: a prefix length (`{var:3}`) or explode (`{var*}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarSpec {
    pub(crate) name: String,
    pub(crate) prefix: Option<usize>,
    pub(crate) explode: bool,
}

/// The expression operators of RFC 6570 §3.2 (table in appendix A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Simple,
    Reserved,
    Fragment,
    Label,
    PathSegment,
    PathParam,
    Query,
    QueryContinuation,
}

impl Operator {
    fn from_char(c: char) -> Option<Self> {
        Some(match c {
            '+' => Self::Reserved,
            '#' => Self::Fragment,
            '.' => Self::Label,
            '/' => Self::PathSegment,
            ';' => Self::PathParam,
            '?' => Self::Query,
            '&' => Self::QueryContinuation,
            _ => return None,
        })
    }

    /// The character written before the first defined value.
    pub(crate) fn first(self) -> Option<char> {
        match self {
            Self::Simple | Self::Reserved => None,
            Self::Fragment => Some('#'),
            Self::Label => Some('.'),
            Self::PathSegment => Some('/'),
            Self::PathParam => Some(';'),
            Self::Query => Some('?'),
            Self::QueryContinuation => Some('&'),
        }
    }

    /// The separator between values (and between exploded items).
    pub(crate) fn sep(self) -> char {
        match self {
            Self::Simple | Self::Reserved | Self::Fragment => ',',
            Self::Label => '.',
            Self::PathSegment => '/',
            Self::PathParam => ';',
            Self::Query | Self::QueryContinuation => '&',
        }
    }

    /// Whether values are written as `name=value`.
    pub(crate) fn named(self) -> bool {
        matches!(self, Self::PathParam | Self::Query | Self::QueryContinuation)
    }

    /// What follows the name of an empty value in a named expression.
    pub(crate) fn if_empty(self) -> &'static str {
        match self {
            Self::Query | Self::QueryContinuation => "=",
            _ => "",
        }
    }

    /// Whether reserved characters and percent-encoded triplets are written as they are.
    pub(crate) fn allow_reserved(self) -> bool {
        matches!(self, Self::Reserved | Self::Fragment)
    }
}

impl Part {
    fn literal(raw: String) -> Self {
        let mut encoded = String::with_capacity(raw.len());
        push_encoded(&mut encoded, &raw, true);
        Self::Literal { raw, encoded }
    }
}

/// Splits a template into literals and expressions, checking it against the grammar.
pub(crate) fn parse_parts(template: &str) -> Result<Vec<Part>, UriTemplateError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut pos = 0;
    while let Some(c) = template.get(pos..).and_then(|rest| rest.chars().next()) {
        match c {
            '{' => {
                let after = pos + 1;
                let content_len = template
                    .get(after..)
                    .and_then(|rest| rest.find(['{', '}']))
                    .filter(|&len| template.as_bytes().get(after + len) == Some(&b'}'))
                    .ok_or(UriTemplateError::UnclosedExpression { position: pos })?;
                let content = template.get(after..after + content_len).unwrap_or_default();
                if !literal.is_empty() {
                    parts.push(Part::literal(std::mem::take(&mut literal)));
                }
                parts.push(Part::Expr(parse_expression(content, after)?));
                pos = after + content_len + 1;
            }
            '}' => return Err(UriTemplateError::UnmatchedClosingBrace { position: pos }),
            _ => {
                literal.push(c);
                pos += c.len_utf8();
            }
        }
    }
    if !literal.is_empty() {
        parts.push(Part::literal(literal));
    }
    Ok(parts)
}

/// The inside of `{…}`, which starts at byte `base` of the template.
fn parse_expression(content: &str, base: usize) -> Result<Expression, UriTemplateError> {
    let (op, body, body_base) = match content.chars().next() {
        None => return Err(UriTemplateError::EmptyVariableName { position: base }),
        Some(c @ ('=' | ',' | '!' | '@' | '|')) => {
            return Err(UriTemplateError::ReservedOperator { position: base, operator: c });
        }
        Some(c) => match Operator::from_char(c) {
            Some(op) => (op, content.get(1..).unwrap_or_default(), base + 1),
            None => (Operator::Simple, content, base),
        },
    };
    let mut vars = Vec::new();
    let mut offset = body_base;
    for spec in body.split(',') {
        vars.push(parse_varspec(spec, offset)?);
        offset += spec.len() + 1;
    }
    Ok(Expression { op, vars })
}

fn parse_varspec(spec: &str, base: usize) -> Result<VarSpec, UriTemplateError> {
    let (name, prefix, explode) = match spec.find(':') {
        Some(colon) => {
            let modifier = spec.get(colon + 1..).unwrap_or_default();
            let length = parse_prefix_length(modifier).ok_or_else(|| UriTemplateError::InvalidModifier {
                position: base + colon,
                modifier: spec.get(colon..).unwrap_or_default().to_owned(),
            })?;
            (spec.get(..colon).unwrap_or_default(), Some(length), false)
        }
        None => match spec.strip_suffix('*') {
            Some(name) => (name, None, true),
            None => (spec, None, false),
        },
    };
    validate_varname(name, base)?;
    Ok(VarSpec { name: name.to_owned(), prefix, explode })
}

/// `max-length = %x31-39 0*3DIGIT`.
fn parse_prefix_length(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let valid = (1..=4).contains(&bytes.len())
        && bytes.iter().all(u8::is_ascii_digit)
        && bytes.first().is_some_and(|&b| b != b'0');
    valid.then(|| bytes.iter().fold(0, |acc, &b| acc * 10 + usize::from(b - b'0')))
}

/// `varname = varchar *( ["."] varchar )`, `varchar = ALPHA / DIGIT / "_" / pct-encoded`.
fn validate_varname(name: &str, base: usize) -> Result<(), UriTemplateError> {
    if name.is_empty() {
        return Err(UriTemplateError::EmptyVariableName { position: base });
    }
    let invalid = |at: usize| UriTemplateError::InvalidVariableName { position: base + at, name: name.to_owned() };
    let bytes = name.as_bytes();
    let mut i = 0;
    let mut after_dot = true; // a leading dot is as bad as a doubled one
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_alphanumeric() || b == b'_' {
            i += 1;
            after_dot = false;
        } else if is_triplet_at(bytes, i) {
            i += 3;
            after_dot = false;
        } else if b == b'.' && !after_dot {
            i += 1;
            after_dot = true;
        } else {
            return Err(invalid(i));
        }
    }
    if after_dot {
        return Err(invalid(bytes.len().saturating_sub(1)));
    }
    Ok(())
}
