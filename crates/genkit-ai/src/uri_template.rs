//! RFC 6570 URI templates: parsing, expansion and reverse matching.
//!
//! Genkit resources are declared with a URI template such as `file:///{+path}` or
//! `docs://{collection}/{id}{?lang}`. A resource URI is routed to the resource whose template it
//! matches, and the variables extracted from the URI are handed to the resource function.
//!
//! * [`UriTemplate::parse`] validates a template against the RFC 6570 grammar.
//! * [`UriTemplate::expand`] implements expansion levels 1–4: the operators none, `+`, `#`, `.`,
//!   `/`, `;`, `?`, `&`, the prefix modifier `:N` and the explode modifier `*`, for string, list
//!   and associative-array values.
//! * [`UriTemplate::match_uri`] goes the other way, like `fromUri` of the npm package
//!   `uri-templates` used by Genkit JS: it returns the variables if the URI could have been
//!   produced by the template, and `None` otherwise.
//!
//! ```
//! use genkit_ai::uri_template::{UriTemplate, VarValue};
//!
//! let template = UriTemplate::parse("docs://{collection}/{id}{?lang}").unwrap();
//! let vars = template.match_uri("docs://guides/intro?lang=en").unwrap();
//! assert_eq!(vars["collection"], VarValue::from("guides"));
//! assert_eq!(vars["id"], VarValue::from("intro"));
//! assert_eq!(vars["lang"], VarValue::from("en"));
//! assert_eq!(template.expand(&vars), "docs://guides/intro?lang=en");
//! ```
//!
//! # Matching rules
//!
//! Reversing an expansion is ambiguous in general, so these are the choices made:
//!
//! * **Two passes.** Matching first looks for a split of the URI under which it is exactly what
//!   expansion would write (encoded literals, canonical percent-encoding, named parameters in
//!   template order). Only if there is none does it retry leniently, accepting what people and
//!   other implementations write too (the leniencies are listed below). So whenever each variable
//!   occurs once in the template, `expand(match_uri(expand(vars)))` gives back `expand(vars)`.
//! * **Literals** must match exactly, as expansion writes them or (lenient pass) as written in
//!   the template; the two differ only for characters that may not appear in a URI, such as
//!   spaces or non-ASCII letters, which expansion percent-encodes. A template without
//!   expressions matches its own text only.
//! * **Simple `{var}`** (and the `.`, `/`, `;`, `?`, `&` operators) only matches text such an
//!   expansion can produce. The delimiters `: / ? # [ ] @ & , ; =` never occur raw in a value, so
//!   `file:///{path}` does **not** match `file:///a/b` (use `{+path}`, or `{/path*}` for a list of
//!   segments); it does match `file:///a%2Fb` with `path = "a/b"`. Percent-encoded triplets are
//!   decoded (the result must be UTF-8). This follows the RFC and Go Genkit
//!   (`yosida95/uritemplate`); JS `uri-templates` lets a simple variable run up to the next
//!   literal and returns `path = "a/b"`. Leniently, raw non-ASCII characters (IRIs), characters
//!   that may never appear in a URI (space, `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`,
//!   controls), the sub-delimiters `! $ ' ( ) * +`, lowercase or needless percent-encoding and a
//!   `%` not followed by two hex digits are accepted and taken as themselves.
//! * **Reserved `{+var}` and fragment `{#var}`** values may contain any character, including `/`,
//!   `?` and `#`, and are returned verbatim, not percent-decoded, as JS `uri-templates` does
//!   (reserved expansion passes percent-encoded triplets through, so decoding would be a guess).
//!   The one exception is a value that only fits its prefix modifier once decoded.
//! * **Where an expression ends**: before the first occurrence of the following literal that lets
//!   the rest of the URI match (JS takes the first occurrence, without backtracking). An
//!   expression directly followed by another one hands over at the next occurrence of the next
//!   expression's operator character (`{/a}{?q}` splits at `?`, as JS does), else takes as much
//!   as it can. The last expression runs to the end of the URI.
//! * **Several variables in one unnamed expression** (`{x,y}`, `{/a,b}`, `{.x,y}`): items are
//!   split on the operator's separator; each variable takes one item in order, the last variable
//!   that can hold several items takes the remaining ones, and trailing variables may be missing
//!   (undefined). `{x,y}` matching `a,b,c` gives `x = "a"`, `y = ["b", "c"]` (JS: `y = "c"`).
//! * **Named parameters** (`{?q,lang}`, `{;x,y}`, `{&a}`) are identified by name: any subset
//!   matches, and the whole expression may be absent, as in JS; leniently, in any order, as in
//!   JS. A name that is not in the expression makes the match fail, unless the expression has an
//!   exploded variable (`{?q,opts*}`), which then collects it as an associative-array entry (JS
//!   accepts any name). A parameter given twice fails unless an exploded variable can take it.
//!   A bare prefix (`{?q}` against `?`) does not match; JS accepts it.
//! * **Value types**: a non-exploded value with raw commas becomes a [`VarValue::List`] (in
//!   `+`/`#` expressions commas are legal in values and stay in the string); an exploded value
//!   (`{/path*}`, `{?list*}`) is a list, or a [`VarValue::Assoc`] when its items are `key=value`
//!   pairs. Empty text gives an empty string for `{var}` and `{+var}` (as JS), and leaves the
//!   variables of other operators undefined.
//! * **Prefix modifiers** are checked: `{var:3}` only matches string values of at most 3
//!   characters. If a variable occurs several times, its first full-length occurrence wins, else
//!   its first prefix occurrence; occurrences are not checked against each other.
//! * Matching backtracks under a work bound proportional to the URI length plus a constant
//!   (millions of steps); pathological template/URI pairs that exceed it report no match instead
//!   of running for long. Matching never panics and does not recurse.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;

/// The value of one template variable: a string, a list or an ordered associative array.
///
/// Empty lists and empty associative arrays count as undefined during expansion (RFC 6570 §2.3).
///
/// ```
/// use genkit_ai::uri_template::VarValue;
///
/// let s = VarValue::from("red");
/// let l = VarValue::from(vec!["red", "green"]);
/// let a = VarValue::from(vec![("semi", ";"), ("dot", ".")]);
/// assert_eq!(s.as_str(), Some("red"));
/// assert_eq!(l, VarValue::List(vec!["red".to_string(), "green".to_string()]));
/// assert!(matches!(a, VarValue::Assoc(pairs) if pairs.len() == 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VarValue {
    /// A single string value.
    String(String),
    /// A list of string values.
    List(Vec<String>),
    /// An associative array: `(name, value)` pairs, expanded in this order.
    Assoc(Vec<(String, String)>),
}

impl VarValue {
    /// The string, if this is a [`VarValue::String`].
    ///
    /// ```
    /// use genkit_ai::uri_template::VarValue;
    ///
    /// assert_eq!(VarValue::from("a").as_str(), Some("a"));
    /// assert_eq!(VarValue::from(vec!["a"]).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            Self::List(_) | Self::Assoc(_) => None,
        }
    }

    fn is_defined(&self) -> bool {
        match self {
            Self::String(_) => true,
            Self::List(items) => !items.is_empty(),
            Self::Assoc(pairs) => !pairs.is_empty(),
        }
    }
}

impl From<&str> for VarValue {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for VarValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<Vec<String>> for VarValue {
    fn from(value: Vec<String>) -> Self {
        Self::List(value)
    }
}

impl From<Vec<&str>> for VarValue {
    fn from(value: Vec<&str>) -> Self {
        Self::List(value.into_iter().map(str::to_owned).collect())
    }
}

impl From<Vec<(String, String)>> for VarValue {
    fn from(value: Vec<(String, String)>) -> Self {
        Self::Assoc(value)
    }
}

impl From<Vec<(&str, &str)>> for VarValue {
    fn from(value: Vec<(&str, &str)>) -> Self {
        Self::Assoc(value.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }
}

/// Variable values by name, as taken by [`UriTemplate::expand`] and returned by
/// [`UriTemplate::match_uri`]. A variable missing from the map is undefined.
///
/// ```
/// use genkit_ai::uri_template::{UriTemplate, VarValue, Variables};
///
/// let mut vars = Variables::new();
/// vars.insert("id".to_string(), VarValue::from("42"));
/// assert_eq!(UriTemplate::parse("item/{id}").unwrap().expand(&vars), "item/42");
/// ```
pub type Variables = BTreeMap<String, VarValue>;

/// Why a URI template failed to parse. Positions are byte offsets into the template.
///
/// ```
/// use genkit_ai::uri_template::{UriTemplate, UriTemplateError};
///
/// let err = UriTemplate::parse("file:///{path").unwrap_err();
/// assert_eq!(err, UriTemplateError::UnclosedExpression { position: 8 });
/// assert_eq!(err.to_string(), "invalid URI template: '{' at byte 8 is never closed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriTemplateError {
    /// A `{` without a matching `}` (or another `{` before it).
    UnclosedExpression {
        /// Byte offset of the `{`.
        position: usize,
    },
    /// A `}` outside of an expression.
    UnmatchedClosingBrace {
        /// Byte offset of the `}`.
        position: usize,
    },
    /// An operator RFC 6570 reserves for future extensions: `=`, `,`, `!`, `@` or `|`.
    ReservedOperator {
        /// Byte offset of the operator.
        position: usize,
        /// The operator character.
        operator: char,
    },
    /// An expression or variable specification without a name, as in `{}`, `{+}` or `{a,}`.
    EmptyVariableName {
        /// Byte offset where the name should start.
        position: usize,
    },
    /// A variable name with a character outside `A-Z a-z 0-9 _`, percent-encoded triplets and
    /// inner single dots.
    InvalidVariableName {
        /// Byte offset of the offending character.
        position: usize,
        /// The variable name as written.
        name: String,
    },
    /// A malformed modifier: a prefix length outside `1..=9999` or not a plain number, or a
    /// prefix combined with explode.
    InvalidModifier {
        /// Byte offset of the `:`.
        position: usize,
        /// The modifier as written, starting with `:`.
        modifier: String,
    },
}

impl UriTemplateError {
    /// Byte offset into the template where the problem was found.
    ///
    /// ```
    /// use genkit_ai::uri_template::UriTemplate;
    ///
    /// assert_eq!(UriTemplate::parse("a}").unwrap_err().position(), 1);
    /// ```
    pub fn position(&self) -> usize {
        match self {
            Self::UnclosedExpression { position }
            | Self::UnmatchedClosingBrace { position }
            | Self::ReservedOperator { position, .. }
            | Self::EmptyVariableName { position }
            | Self::InvalidVariableName { position, .. }
            | Self::InvalidModifier { position, .. } => *position,
        }
    }
}

impl fmt::Display for UriTemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid URI template: ")?;
        match self {
            Self::UnclosedExpression { position } => write!(f, "'{{' at byte {position} is never closed"),
            Self::UnmatchedClosingBrace { position } => write!(f, "'}}' at byte {position} has no matching '{{'"),
            Self::ReservedOperator { position, operator } => {
                write!(f, "operator '{operator}' at byte {position} is reserved and not supported")
            }
            Self::EmptyVariableName { position } => write!(f, "empty variable name at byte {position}"),
            Self::InvalidVariableName { position, name } => {
                write!(f, "invalid character at byte {position} in variable name {name:?}")
            }
            Self::InvalidModifier { position, modifier } => write!(
                f,
                "invalid modifier {modifier:?} at byte {position} (expected a prefix length 1-9999 or '*', not both)"
            ),
        }
    }
}

impl std::error::Error for UriTemplateError {}

/// A parsed RFC 6570 URI template.
///
/// ```
/// use genkit_ai::uri_template::UriTemplate;
///
/// let template = UriTemplate::parse("file:///{+path}").unwrap();
/// assert!(template.is_match("file:///docs/readme.md"));
/// assert_eq!(template.match_uri("file:///docs/readme.md").unwrap()["path"].as_str(), Some("docs/readme.md"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    template: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Literal text as written, and as expansion writes it (disallowed characters encoded).
    Literal {
        raw: String,
        encoded: String,
    },
    Expr(Expression),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expression {
    op: Operator,
    vars: Vec<VarSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct VarSpec {
    name: String,
    prefix: Option<usize>,
    explode: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
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
    fn first(self) -> Option<char> {
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
    fn sep(self) -> char {
        match self {
            Self::Simple | Self::Reserved | Self::Fragment => ',',
            Self::Label => '.',
            Self::PathSegment => '/',
            Self::PathParam => ';',
            Self::Query | Self::QueryContinuation => '&',
        }
    }

    fn named(self) -> bool {
        matches!(self, Self::PathParam | Self::Query | Self::QueryContinuation)
    }

    /// What follows the name of an empty value in a named expression.
    fn if_empty(self) -> &'static str {
        match self {
            Self::Query | Self::QueryContinuation => "=",
            _ => "",
        }
    }

    fn allow_reserved(self) -> bool {
        matches!(self, Self::Reserved | Self::Fragment)
    }
}

impl UriTemplate {
    /// Parses a template, checking it against the RFC 6570 grammar.
    ///
    /// Literal text may contain any character except `{` and `}`; characters that are not allowed
    /// in a URI are percent-encoded on expansion. Variable names are `A-Z a-z 0-9 _`,
    /// percent-encoded triplets and single inner dots.
    ///
    /// ```
    /// use genkit_ai::uri_template::{UriTemplate, UriTemplateError};
    ///
    /// assert!(UriTemplate::parse("my://resource/{id}").is_ok());
    /// assert_eq!(UriTemplate::parse("{!x}").unwrap_err(), UriTemplateError::ReservedOperator { position: 1, operator: '!' });
    /// assert!(matches!(UriTemplate::parse("{x:0}"), Err(UriTemplateError::InvalidModifier { .. })));
    /// ```
    pub fn parse(template: &str) -> Result<Self, UriTemplateError> {
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
        Ok(Self { template: template.to_owned(), parts })
    }

    /// The template text, as given to [`UriTemplate::parse`].
    ///
    /// ```
    /// use genkit_ai::uri_template::UriTemplate;
    ///
    /// assert_eq!(UriTemplate::parse("file:///{+path}").unwrap().as_str(), "file:///{+path}");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The names of the template's variables, each once, in order of first appearance.
    ///
    /// ```
    /// use genkit_ai::uri_template::UriTemplate;
    ///
    /// let template = UriTemplate::parse("{/var:1,var}/{+path}{?q,lang}").unwrap();
    /// assert_eq!(template.variable_names(), ["var", "path", "q", "lang"]);
    /// ```
    pub fn variable_names(&self) -> Vec<&str> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Expr(expr) = part {
                for spec in &expr.vars {
                    if seen.insert(&spec.name) {
                        names.push(&spec.name);
                    }
                }
            }
        }
        names
    }

    /// Expands the template with the given variables (RFC 6570 levels 1–4).
    ///
    /// Missing variables, empty lists and empty associative arrays are undefined and expand to
    /// nothing. Prefix modifiers apply to string values only; composite values are expanded
    /// whole (the RFC leaves that case undefined).
    ///
    /// ```
    /// use genkit_ai::uri_template::{UriTemplate, VarValue, Variables};
    ///
    /// let mut vars = Variables::new();
    /// vars.insert("path".into(), VarValue::from("/foo/bar"));
    /// vars.insert("list".into(), VarValue::from(vec!["red", "green"]));
    /// vars.insert("hello".into(), VarValue::from("Hello World!"));
    /// let template = UriTemplate::parse("{+path}/here{?list*,hello}").unwrap();
    /// assert_eq!(template.expand(&vars), "/foo/bar/here?list=red&list=green&hello=Hello%20World%21");
    /// ```
    pub fn expand(&self, vars: &Variables) -> String {
        let mut out = String::with_capacity(self.template.len());
        for part in &self.parts {
            match part {
                Part::Literal { encoded, .. } => out.push_str(encoded),
                Part::Expr(expr) => expand_expression(expr, vars, &mut out),
            }
        }
        out
    }

    /// Matches a URI against the template and returns the variables it was expanded from, or
    /// `None` if the template cannot produce the URI. See the [module documentation](self) for
    /// how ambiguities are resolved.
    ///
    /// ```
    /// use genkit_ai::uri_template::{UriTemplate, VarValue};
    ///
    /// let template = UriTemplate::parse("file:///{name}.txt").unwrap();
    /// let vars = template.match_uri("file:///hello%20world.txt").unwrap();
    /// assert_eq!(vars["name"], VarValue::from("hello world"));
    /// assert_eq!(template.match_uri("file:///dir/hello.txt"), None);
    ///
    /// let template = UriTemplate::parse("/search{?q,lang}").unwrap();
    /// assert_eq!(template.match_uri("/search?lang=en").unwrap()["lang"], VarValue::from("en"));
    /// assert!(template.match_uri("/search").unwrap().is_empty());
    ///
    /// let template = UriTemplate::parse("repo{/path*}").unwrap();
    /// assert_eq!(template.match_uri("repo/a/b").unwrap()["path"], VarValue::from(vec!["a", "b"]));
    /// ```
    pub fn match_uri(&self, uri: &str) -> Option<Variables> {
        Matcher::run_all(self, uri)
    }

    /// Whether [`UriTemplate::match_uri`] would return `Some`.
    ///
    /// ```
    /// use genkit_ai::uri_template::UriTemplate;
    ///
    /// let template = UriTemplate::parse("my://resource/{id}").unwrap();
    /// assert!(template.is_match("my://resource/42"));
    /// assert!(!template.is_match("my://resource/42/extra"));
    /// assert!(!template.is_match("other://resource/42"));
    /// ```
    pub fn is_match(&self, uri: &str) -> bool {
        self.match_uri(uri).is_some()
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.template)
    }
}

impl FromStr for UriTemplate {
    type Err = UriTemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Part {
    fn literal(raw: String) -> Self {
        let mut encoded = String::with_capacity(raw.len());
        push_encoded(&mut encoded, &raw, true);
        Self::Literal { raw, encoded }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

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
        } else if b == b'%' && is_hex_at(bytes, i + 1) && is_hex_at(bytes, i + 2) {
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

// ---------------------------------------------------------------------------------------------
// Expansion
// ---------------------------------------------------------------------------------------------

fn expand_expression(expr: &Expression, vars: &Variables, out: &mut String) {
    let op = expr.op;
    let reserved = op.allow_reserved();
    let sep = op.sep();
    let mut first = true;
    for spec in &expr.vars {
        let Some(value) = vars.get(&spec.name).filter(|v| v.is_defined()) else { continue };
        if first {
            if let Some(c) = op.first() {
                out.push(c);
            }
            first = false;
        } else {
            out.push(sep);
        }
        match value {
            VarValue::String(s) => {
                if op.named() {
                    out.push_str(&spec.name);
                    if s.is_empty() {
                        out.push_str(op.if_empty());
                        continue;
                    }
                    out.push('=');
                }
                let s = match spec.prefix {
                    Some(n) => truncate_chars(s, n),
                    None => s,
                };
                push_encoded(out, s, reserved);
            }
            VarValue::List(items) => {
                if !spec.explode {
                    if op.named() {
                        out.push_str(&spec.name);
                        out.push('=');
                    }
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        push_encoded(out, item, reserved);
                    }
                } else {
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(sep);
                        }
                        if op.named() {
                            out.push_str(&spec.name);
                            if item.is_empty() {
                                out.push_str(op.if_empty());
                                continue;
                            }
                            out.push('=');
                        }
                        push_encoded(out, item, reserved);
                    }
                }
            }
            VarValue::Assoc(pairs) => {
                if !spec.explode {
                    if op.named() {
                        out.push_str(&spec.name);
                        out.push('=');
                    }
                    for (i, (key, val)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        push_encoded(out, key, reserved);
                        out.push(',');
                        push_encoded(out, val, reserved);
                    }
                } else {
                    for (i, (key, val)) in pairs.iter().enumerate() {
                        if i > 0 {
                            out.push(sep);
                        }
                        push_encoded(out, key, reserved);
                        if op.named() && val.is_empty() {
                            out.push_str(op.if_empty());
                            continue;
                        }
                        out.push('=');
                        push_encoded(out, val, reserved);
                    }
                }
            }
        }
    }
}

fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((end, _)) => s.get(..end).unwrap_or(s),
        None => s,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

fn is_hex_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i).is_some_and(u8::is_ascii_hexdigit)
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Appends `s` percent-encoded: unreserved characters stay; with `allow_reserved`, reserved
/// characters and existing percent-encoded triplets stay too; everything else is encoded as
/// UTF-8 bytes with uppercase hex digits.
fn push_encoded(out: &mut String, s: &str, allow_reserved: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if is_unreserved(b) || (allow_reserved && is_reserved(b)) {
            out.push(char::from(b));
            i += 1;
        } else if allow_reserved && b == b'%' && is_hex_at(bytes, i + 1) && is_hex_at(bytes, i + 2) {
            out.push_str(s.get(i..i + 3).unwrap_or_default());
            i += 3;
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
            i += 1;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

/// ASCII characters that an unreserved expansion never writes raw inside a value.
const STRUCTURAL: &[u8] = b":/?#[]@&,;=";

/// State shared by one matching pass: the work budget and whether the pass is strict.
///
/// A strict pass accepts only text that expansion writes exactly (encoded literals, canonical
/// percent-encoding, named parameters in template order); a lenient pass accepts what people and
/// other implementations write as well.
#[derive(Debug)]
struct Search {
    left: usize,
    strict: bool,
}

impl Search {
    const BASE: usize = 1 << 22;
    const PER_BYTE: usize = 16;

    fn new(uri_len: usize, strict: bool) -> Self {
        Self { left: Self::BASE.saturating_add(uri_len.saturating_mul(Self::PER_BYTE)), strict }
    }

    /// Spends `units` of work; false once the budget is exhausted.
    fn spend(&mut self, units: usize) -> bool {
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
    fn decode(&self, text: &str) -> Option<String> {
        if text.bytes().any(|b| STRUCTURAL.contains(&b)) {
            return None;
        }
        let decoded = percent_decode(text)?;
        (!self.strict || encodes_to(&decoded, false, text)).then_some(decoded)
    }

    /// A value of a reserved expression: verbatim; a strict pass wants text that reserved
    /// expansion leaves unchanged.
    fn verbatim(&self, text: &str) -> Option<String> {
        (!self.strict || encodes_to(text, true, text)).then(|| text.to_owned())
    }

    fn value(&self, text: &str, reserved: bool) -> Option<String> {
        if reserved { self.verbatim(text) } else { self.decode(text) }
    }
}

/// Whether expanding `value` gives exactly `text`.
fn encodes_to(value: &str, allow_reserved: bool, text: &str) -> bool {
    let mut encoded = String::with_capacity(text.len());
    push_encoded(&mut encoded, value, allow_reserved);
    encoded == text
}

/// Decodes every percent-encoded triplet; the result must be UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' && is_hex_at(bytes, i + 1) && is_hex_at(bytes, i + 2) {
            let hi = bytes.get(i + 1).copied().map_or(0, hex_value);
            let lo = bytes.get(i + 2).copied().map_or(0, hex_value);
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
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

impl<'a> Matcher<'a> {
    /// Matches strictly first, then leniently (unless the strict pass ran out of budget).
    fn run_all(template: &'a UriTemplate, uri: &'a str) -> Option<Variables> {
        let mut strict = Matcher { template, uri, search: Search::new(uri.len(), true) };
        if let Some(vars) = strict.run() {
            return Some(vars);
        }
        if strict.search.exhausted() {
            return None;
        }
        Matcher { template, uri, search: Search::new(uri.len(), false) }.run()
    }

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

/// Parses the text one expression produced into `(varspec index, value)` bindings.
fn parse_expression_text(expr: &Expression, text: &str, search: &mut Search) -> Option<Vec<(usize, VarValue)>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn s(value: &str) -> VarValue {
        VarValue::from(value)
    }

    fn l(items: &[&str]) -> VarValue {
        VarValue::from(items.to_vec())
    }

    fn a(pairs: &[(&str, &str)]) -> VarValue {
        VarValue::from(pairs.to_vec())
    }

    fn vars(entries: &[(&str, VarValue)]) -> Variables {
        entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    fn tpl(template: &str) -> UriTemplate {
        match UriTemplate::parse(template) {
            Ok(t) => t,
            Err(e) => panic!("{template:?} failed to parse: {e}"),
        }
    }

    /// The variables of RFC 6570 §3.2 (and §1.2); `keys` in the RFC's order.
    fn rfc_vars() -> Variables {
        vars(&[
            ("count", l(&["one", "two", "three"])),
            ("dom", l(&["example", "com"])),
            ("dub", s("me/too")),
            ("hello", s("Hello World!")),
            ("half", s("50%")),
            ("var", s("value")),
            ("who", s("fred")),
            ("base", s("http://example.com/home/")),
            ("path", s("/foo/bar")),
            ("list", l(&["red", "green", "blue"])),
            ("keys", a(&[("semi", ";"), ("dot", "."), ("comma", ",")])),
            ("v", s("6")),
            ("x", s("1024")),
            ("y", s("768")),
            ("empty", s("")),
            ("empty_keys", a(&[])),
        ])
    }

    /// Checks expansion, then that the expansion matches back to variables that expand to it.
    fn check_table(vars: &Variables, table: &[(&str, &str)]) {
        for &(template, expected) in table {
            let t = tpl(template);
            assert_eq!(t.expand(vars), expected, "expanding {template:?}");
            let matched = t.match_uri(expected).unwrap_or_else(|| panic!("{template:?} should match {expected:?}"));
            assert_eq!(t.expand(&matched), expected, "re-expanding {template:?} from {matched:?}");
        }
    }

    #[test]
    fn rfc_level_1_examples() {
        check_table(&rfc_vars(), &[("{var}", "value"), ("'{var}'", "'value'"), ("{hello}", "Hello%20World%21")]);
    }

    #[test]
    fn rfc_level_2_examples() {
        check_table(
            &rfc_vars(),
            &[
                ("{+var}", "value"),
                ("{+hello}", "Hello%20World!"),
                ("{+path}/here", "/foo/bar/here"),
                ("here?ref={+path}", "here?ref=/foo/bar"),
                ("X{#var}", "X#value"),
                ("X{#hello}", "X#Hello%20World!"),
            ],
        );
    }

    #[test]
    fn rfc_level_3_examples() {
        check_table(
            &rfc_vars(),
            &[
                ("map?{x,y}", "map?1024,768"),
                ("{x,hello,y}", "1024,Hello%20World%21,768"),
                ("{+x,hello,y}", "1024,Hello%20World!,768"),
                ("{+path,x}/here", "/foo/bar,1024/here"),
                ("{#x,hello,y}", "#1024,Hello%20World!,768"),
                ("{#path,x}/here", "#/foo/bar,1024/here"),
                ("X{.var}", "X.value"),
                ("X{.x,y}", "X.1024.768"),
                ("{/var}", "/value"),
                ("{/var,x}/here", "/value/1024/here"),
                ("{;x,y}", ";x=1024;y=768"),
                ("{;x,y,empty}", ";x=1024;y=768;empty"),
                ("{?x,y}", "?x=1024&y=768"),
                ("{?x,y,empty}", "?x=1024&y=768&empty="),
                ("?fixed=yes{&x}", "?fixed=yes&x=1024"),
                ("{&x,y,empty}", "&x=1024&y=768&empty="),
            ],
        );
    }

    #[test]
    fn rfc_level_4_examples() {
        check_table(
            &rfc_vars(),
            &[
                ("{var:3}", "val"),
                ("{var:30}", "value"),
                ("{list}", "red,green,blue"),
                ("{list*}", "red,green,blue"),
                ("{keys}", "semi,%3B,dot,.,comma,%2C"),
                ("{keys*}", "semi=%3B,dot=.,comma=%2C"),
                ("{+path:6}/here", "/foo/b/here"),
                ("{+list}", "red,green,blue"),
                ("{+list*}", "red,green,blue"),
                ("{+keys}", "semi,;,dot,.,comma,,"),
                ("{+keys*}", "semi=;,dot=.,comma=,"),
                ("{#path:6}/here", "#/foo/b/here"),
                ("{#list}", "#red,green,blue"),
                ("{#list*}", "#red,green,blue"),
                ("{#keys}", "#semi,;,dot,.,comma,,"),
                ("{#keys*}", "#semi=;,dot=.,comma=,"),
                ("X{.var:3}", "X.val"),
                ("X{.list}", "X.red,green,blue"),
                ("X{.list*}", "X.red.green.blue"),
                ("X{.keys}", "X.semi,%3B,dot,.,comma,%2C"),
                ("X{.keys*}", "X.semi=%3B.dot=..comma=%2C"),
                ("{/var:1,var}", "/v/value"),
                ("{/list}", "/red,green,blue"),
                ("{/list*}", "/red/green/blue"),
                ("{/list*,path:4}", "/red/green/blue/%2Ffoo"),
                ("{/keys}", "/semi,%3B,dot,.,comma,%2C"),
                ("{/keys*}", "/semi=%3B/dot=./comma=%2C"),
                ("{;hello:5}", ";hello=Hello"),
                ("{;list}", ";list=red,green,blue"),
                ("{;list*}", ";list=red;list=green;list=blue"),
                ("{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"),
                ("{;keys*}", ";semi=%3B;dot=.;comma=%2C"),
                ("{?var:3}", "?var=val"),
                ("{?list}", "?list=red,green,blue"),
                ("{?list*}", "?list=red&list=green&list=blue"),
                ("{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"),
                ("{?keys*}", "?semi=%3B&dot=.&comma=%2C"),
                ("{&var:3}", "&var=val"),
                ("{&list}", "&list=red,green,blue"),
                ("{&list*}", "&list=red&list=green&list=blue"),
                ("{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"),
                ("{&keys*}", "&semi=%3B&dot=.&comma=%2C"),
            ],
        );
    }

    #[test]
    fn rfc_section_2_1_and_3_2_1_variable_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("'{count}'", "'one,two,three'"),
                ("{count}", "one,two,three"),
                ("{count*}", "one,two,three"),
                ("{/count}", "/one,two,three"),
                ("{/count*}", "/one/two/three"),
                ("{;count}", ";count=one,two,three"),
                ("{;count*}", ";count=one;count=two;count=three"),
                ("{?count}", "?count=one,two,three"),
                ("{?count*}", "?count=one&count=two&count=three"),
                ("{&count*}", "&count=one&count=two&count=three"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_2_simple_string_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{var}", "value"),
                ("{hello}", "Hello%20World%21"),
                ("{half}", "50%25"),
                ("O{empty}X", "OX"),
                ("O{undef}X", "OX"),
                ("{x,y}", "1024,768"),
                ("{x,hello,y}", "1024,Hello%20World%21,768"),
                ("?{x,empty}", "?1024,"),
                ("?{x,undef}", "?1024"),
                ("?{undef,y}", "?768"),
                ("{var:3}", "val"),
                ("{var:30}", "value"),
                ("{list}", "red,green,blue"),
                ("{list*}", "red,green,blue"),
                ("{keys}", "semi,%3B,dot,.,comma,%2C"),
                ("{keys*}", "semi=%3B,dot=.,comma=%2C"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_3_reserved_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{+var}", "value"),
                ("{/var,empty}", "/value/"),
                ("{/var,undef}", "/value"),
                ("{+hello}", "Hello%20World!"),
                ("{+half}", "50%25"),
                ("{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"),
                ("{+base}index", "http://example.com/home/index"),
                ("O{+empty}X", "OX"),
                ("O{+undef}X", "OX"),
                ("{+path}/here", "/foo/bar/here"),
                ("{+path:6}/here", "/foo/b/here"),
                ("here?ref={+path}", "here?ref=/foo/bar"),
                ("up{+path}{var}/here", "up/foo/barvalue/here"),
                ("{+x,hello,y}", "1024,Hello%20World!,768"),
                ("{+path,x}/here", "/foo/bar,1024/here"),
                ("{+list}", "red,green,blue"),
                ("{+list*}", "red,green,blue"),
                ("{+keys}", "semi,;,dot,.,comma,,"),
                ("{+keys*}", "semi=;,dot=.,comma=,"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_4_fragment_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{#var}", "#value"),
                ("{#hello}", "#Hello%20World!"),
                ("{#half}", "#50%25"),
                ("foo{#empty}", "foo#"),
                ("foo{#undef}", "foo"),
                ("{#x,hello,y}", "#1024,Hello%20World!,768"),
                ("{#path,x}/here", "#/foo/bar,1024/here"),
                ("{#path:6}/here", "#/foo/b/here"),
                ("{#list}", "#red,green,blue"),
                ("{#list*}", "#red,green,blue"),
                ("{#keys}", "#semi,;,dot,.,comma,,"),
                ("{#keys*}", "#semi=;,dot=.,comma=,"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_5_label_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{.who}", ".fred"),
                ("{.who,who}", ".fred.fred"),
                ("{.half,who}", ".50%25.fred"),
                ("www{.dom*}", "www.example.com"),
                ("X{.var}", "X.value"),
                ("X{.var:3}", "X.val"),
                ("X{.empty}", "X."),
                ("X{.undef}", "X"),
                ("X{.list}", "X.red,green,blue"),
                ("X{.list*}", "X.red.green.blue"),
                ("X{.keys}", "X.semi,%3B,dot,.,comma,%2C"),
                ("X{.keys*}", "X.semi=%3B.dot=..comma=%2C"),
                ("X{.empty_keys}", "X"),
                ("X{.empty_keys*}", "X"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_6_path_segment_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{/who}", "/fred"),
                ("{/who,who}", "/fred/fred"),
                ("{/half,who}", "/50%25/fred"),
                ("{/who,dub}", "/fred/me%2Ftoo"),
                ("{/var}", "/value"),
                ("{/var,empty}", "/value/"),
                ("{/var,undef}", "/value"),
                ("{/var,x}/here", "/value/1024/here"),
                ("{/var:1,var}", "/v/value"),
                ("{/list}", "/red,green,blue"),
                ("{/list*}", "/red/green/blue"),
                ("{/list*,path:4}", "/red/green/blue/%2Ffoo"),
                ("{/keys}", "/semi,%3B,dot,.,comma,%2C"),
                ("{/keys*}", "/semi=%3B/dot=./comma=%2C"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_7_path_style_parameter_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{;who}", ";who=fred"),
                ("{;half}", ";half=50%25"),
                ("{;empty}", ";empty"),
                ("{;hello:5}", ";hello=Hello"),
                ("{;v,empty,who}", ";v=6;empty;who=fred"),
                ("{;v,bar,who}", ";v=6;who=fred"),
                ("{;x,y}", ";x=1024;y=768"),
                ("{;x,y,empty}", ";x=1024;y=768;empty"),
                ("{;x,y,undef}", ";x=1024;y=768"),
                ("{;list}", ";list=red,green,blue"),
                ("{;list*}", ";list=red;list=green;list=blue"),
                ("{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"),
                ("{;keys*}", ";semi=%3B;dot=.;comma=%2C"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_8_form_style_query_expansion() {
        check_table(
            &rfc_vars(),
            &[
                ("{?who}", "?who=fred"),
                ("{?half}", "?half=50%25"),
                ("{?x,y}", "?x=1024&y=768"),
                ("{?x,y,empty}", "?x=1024&y=768&empty="),
                ("{?x,y,undef}", "?x=1024&y=768"),
                ("{?var:3}", "?var=val"),
                ("{?list}", "?list=red,green,blue"),
                ("{?list*}", "?list=red&list=green&list=blue"),
                ("{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"),
                ("{?keys*}", "?semi=%3B&dot=.&comma=%2C"),
            ],
        );
    }

    #[test]
    fn rfc_section_3_2_9_form_style_query_continuation() {
        check_table(
            &rfc_vars(),
            &[
                ("{&who}", "&who=fred"),
                ("{&half}", "&half=50%25"),
                ("?fixed=yes{&x}", "?fixed=yes&x=1024"),
                ("{&var:3}", "&var=val"),
                ("{&x,y,empty}", "&x=1024&y=768&empty="),
                ("{&x,y,undef}", "&x=1024&y=768"),
                ("{&list}", "&list=red,green,blue"),
                ("{&list*}", "&list=red&list=green&list=blue"),
                ("{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"),
                ("{&keys*}", "&semi=%3B&dot=.&comma=%2C"),
            ],
        );
    }

    #[test]
    fn extended_expansion_examples() {
        let v = vars(&[
            ("id", s("admin%2F")),
            ("not_pct", s("%foo")),
            ("list", l(&["red%25", "%2Fgreen", "blue "])),
            ("keys", a(&[("key1", "val1%2F"), ("key2", "val2%2F")])),
        ]);
        check_table(
            &v,
            &[
                ("{+id}", "admin%2F"),
                ("{#id}", "#admin%2F"),
                ("{id}", "admin%252F"),
                ("{+not_pct}", "%25foo"),
                ("{#not_pct}", "#%25foo"),
                ("{not_pct}", "%25foo"),
                ("{+list}", "red%25,%2Fgreen,blue%20"),
                ("{#list}", "#red%25,%2Fgreen,blue%20"),
                ("{list}", "red%2525,%252Fgreen,blue%20"),
                ("{+keys}", "key1,val1%2F,key2,val2%2F"),
                ("{#keys}", "#key1,val1%2F,key2,val2%2F"),
                ("{keys}", "key1,val1%252F,key2,val2%252F"),
            ],
        );
        let v = vars(&[("var", s("value")), ("greek", s("αβγδε")), ("currency", s("€uro")), ("clef", s("𝄞stave"))]);
        check_table(
            &v,
            &[
                ("{greek:1}", "%CE%B1"),
                ("{greek:2}", "%CE%B1%CE%B2"),
                ("{+greek:2}", "%CE%B1%CE%B2"),
                ("{greek:30}", "%CE%B1%CE%B2%CE%B3%CE%B4%CE%B5"),
                ("{currency:1}", "%E2%82%AC"),
                ("{?currency:1}", "?currency=%E2%82%AC"),
                ("{clef:1}", "%F0%9D%84%9E"),
                ("{var:9999}", "value"),
                ("café/{var}", "caf%C3%A9/value"),
                ("x%20y/{var}", "x%20y/value"),
                ("x%20y{var}z%20w", "x%20yvaluez%20w"),
                ("100%/{var}", "100%25/value"),
            ],
        );
        let v = vars(&[
            ("id", s("person")),
            ("token", s("12345")),
            ("fields", l(&["id", "name", "picture"])),
            ("format", s("json")),
            ("q", s("URI Templates")),
            ("page", s("5")),
            ("lang", s("en")),
            ("geocode", l(&["37.76", "-122.427"])),
            ("first_name", s("John")),
            ("last.name", s("Doe")),
            ("Some%20Thing", s("foo")),
            ("word", s("drücken")),
            ("Stra%C3%9Fe", s("Grüner Weg")),
            ("german", a(&[("11", "elf"), ("12", "zwölf")])),
            ("empty_list", l(&[])),
        ]);
        check_table(
            &v,
            &[
                ("{/id*}", "/person"),
                (
                    "{/id*}{?fields,first_name,last.name,token}",
                    "/person?fields=id,name,picture&first_name=John&last.name=Doe&token=12345",
                ),
                (
                    "/search.{format}{?q,geocode,lang,locale,page,result_type}",
                    "/search.json?q=URI%20Templates&geocode=37.76,-122.427&lang=en&page=5",
                ),
                ("/test{/Some%20Thing}", "/test/foo"),
                ("/service{?word}", "/service?word=dr%C3%BCcken"),
                ("/lookup{?Stra%C3%9Fe}", "/lookup?Stra%C3%9Fe=Gr%C3%BCner%20Weg"),
                ("{?german*}", "?11=elf&12=zw%C3%B6lf"),
                ("{/empty_list}", ""),
                ("{?empty_list*}", ""),
            ],
        );
    }

    #[test]
    fn prefix_modifier_ignored_for_composite_values() {
        let v = rfc_vars();
        assert_eq!(tpl("{list:1}").expand(&v), "red,green,blue");
        assert_eq!(tpl("{?keys:1}").expand(&v), "?keys=semi,%3B,dot,.,comma,%2C");
    }

    #[test]
    fn explode_assoc_with_empty_values_in_named_expressions() {
        let v = vars(&[("keys", a(&[("a", ""), ("b", "1")])), ("list", l(&["", "x"]))]);
        assert_eq!(tpl("{?keys*}").expand(&v), "?a=&b=1");
        assert_eq!(tpl("{;keys*}").expand(&v), ";a;b=1");
        assert_eq!(tpl("{;list*}").expand(&v), ";list;list=x");
        assert_eq!(tpl("{?list*}").expand(&v), "?list=&list=x");
        assert_eq!(tpl("{keys*}").expand(&v), "a=,b=1");
        for template in ["{?keys*}", "{;keys*}", "{;list*}", "{?list*}", "{keys*}", "{&keys*,list*}"] {
            let t = tpl(template);
            let uri = t.expand(&v);
            let matched = t.match_uri(&uri).unwrap_or_else(|| panic!("{template}: {uri}"));
            assert_eq!(t.expand(&matched), uri, "{template}");
        }
        assert_eq!(tpl("{;keys*}").match_uri(";a;b=1").unwrap()["keys"], a(&[("a", ""), ("b", "1")]));
    }

    #[test]
    fn parse_errors() {
        use UriTemplateError as E;
        let cases: &[(&str, E)] = &[
            ("{/id*", E::UnclosedExpression { position: 0 }),
            ("/id*}", E::UnmatchedClosingBrace { position: 4 }),
            ("a{b{c}", E::UnclosedExpression { position: 1 }),
            ("{/?id}", E::InvalidVariableName { position: 2, name: "?id".into() }),
            ("{var:prefix}", E::InvalidModifier { position: 4, modifier: ":prefix".into() }),
            ("{hello:2*}", E::InvalidModifier { position: 6, modifier: ":2*".into() }),
            ("{??hello}", E::InvalidVariableName { position: 2, name: "?hello".into() }),
            ("{!hello}", E::ReservedOperator { position: 1, operator: '!' }),
            ("{with space}", E::InvalidVariableName { position: 5, name: "with space".into() }),
            ("{ leading_space}", E::InvalidVariableName { position: 1, name: " leading_space".into() }),
            ("{trailing_space }", E::InvalidVariableName { position: 15, name: "trailing_space ".into() }),
            ("{=path}", E::ReservedOperator { position: 1, operator: '=' }),
            ("{$var}", E::InvalidVariableName { position: 1, name: "$var".into() }),
            ("{|var*}", E::ReservedOperator { position: 1, operator: '|' }),
            ("{@var}", E::ReservedOperator { position: 1, operator: '@' }),
            ("{,var}", E::ReservedOperator { position: 1, operator: ',' }),
            ("{*keys?}", E::InvalidVariableName { position: 1, name: "*keys?".into() }),
            ("{?empty=default,var}", E::InvalidVariableName { position: 7, name: "empty=default".into() }),
            ("x{?empty|foo=none}", E::InvalidVariableName { position: 8, name: "empty|foo=none".into() }),
            ("/h{#hello+}", E::InvalidVariableName { position: 9, name: "hello+".into() }),
            ("/people/{~thing}", E::InvalidVariableName { position: 9, name: "~thing".into() }),
            ("/{default-graph-uri}", E::InvalidVariableName { position: 9, name: "default-graph-uri".into() }),
            ("/sparql{?query){&default-graph-uri*}", E::UnclosedExpression { position: 7 }),
            ("/resolution{?x, y}", E::InvalidVariableName { position: 15, name: " y".into() }),
            ("{var:0}", E::InvalidModifier { position: 4, modifier: ":0".into() }),
            ("{var:01}", E::InvalidModifier { position: 4, modifier: ":01".into() }),
            ("{var:10000}", E::InvalidModifier { position: 4, modifier: ":10000".into() }),
            ("{var:}", E::InvalidModifier { position: 4, modifier: ":".into() }),
            ("{var:-1}", E::InvalidModifier { position: 4, modifier: ":-1".into() }),
            ("{x.}", E::InvalidVariableName { position: 2, name: "x.".into() }),
            ("{.x.}", E::InvalidVariableName { position: 3, name: "x.".into() }),
            ("{x..y}", E::InvalidVariableName { position: 3, name: "x..y".into() }),
            ("{%2x}", E::InvalidVariableName { position: 1, name: "%2x".into() }),
            ("{}", E::EmptyVariableName { position: 1 }),
            ("{+}", E::EmptyVariableName { position: 2 }),
            ("{a,}", E::EmptyVariableName { position: 3 }),
            ("{a,,b}", E::EmptyVariableName { position: 3 }),
            ("{*}", E::EmptyVariableName { position: 1 }),
            ("{:3}", E::EmptyVariableName { position: 1 }),
            ("{a**}", E::InvalidVariableName { position: 2, name: "a*".into() }),
            ("{é}", E::InvalidVariableName { position: 1, name: "é".into() }),
            ("}", E::UnmatchedClosingBrace { position: 0 }),
            ("{", E::UnclosedExpression { position: 0 }),
        ];
        for (template, expected) in cases {
            let err = UriTemplate::parse(template).expect_err(template);
            assert_eq!(&err, expected, "{template}");
            assert_eq!(err.position(), expected.position());
            assert!(err.to_string().starts_with("invalid URI template: "), "{err}");
        }
        let message = UriTemplate::parse("{var:0}").unwrap_err().to_string();
        assert!(message.contains(":0") && message.contains("byte 4"), "{message}");
        let boxed: Box<dyn std::error::Error> = Box::new(UriTemplate::parse("{").unwrap_err());
        assert_eq!(boxed.to_string(), "invalid URI template: '{' at byte 0 is never closed");
    }

    #[test]
    fn parse_accepts_valid_templates() {
        for template in [
            "",
            "plain",
            "file:///{+path}",
            "{a.b}",
            "{A_1,b2:9999,c*}",
            "{%20x}",
            "{/a}{?b}{&c}{#d}{;e}{.f}",
            "café {x}",
            "{x}{y}",
            "{keys:1}",
        ] {
            let t = tpl(template);
            assert_eq!(t.as_str(), template);
            assert_eq!(t.to_string(), template);
            assert_eq!(template.parse::<UriTemplate>().as_ref(), Ok(&t));
        }
    }

    #[test]
    fn variable_names_are_unique_and_ordered() {
        assert_eq!(tpl("{/var:1,var}/{+path}{?q,lang}{&q}").variable_names(), ["var", "path", "q", "lang"]);
        assert!(tpl("no/vars").variable_names().is_empty());
        assert_eq!(tpl("{Some%20Thing}{a.b}").variable_names(), ["Some%20Thing", "a.b"]);
    }

    #[test]
    fn template_without_expressions_requires_exact_equality() {
        let t = tpl("my://static/resource");
        assert_eq!(t.match_uri("my://static/resource"), Some(Variables::new()));
        assert!(!t.is_match("my://static/resource/"));
        assert!(!t.is_match("my://static/resourc"));
        assert!(!t.is_match("MY://static/resource"));
        assert!(!t.is_match(""));
        assert_eq!(tpl("").match_uri(""), Some(Variables::new()));
        assert!(!tpl("").is_match("x"));
        // Literals that need encoding also match their encoded form.
        let t = tpl("my docs/é");
        assert!(t.is_match("my docs/é"));
        assert!(t.is_match("my%20docs/%C3%A9"));
        assert!(!t.is_match("my%20docs/é"));
    }

    #[test]
    fn simple_variable_does_not_cross_slash() {
        let t = tpl("file:///{path}");
        // JS uri-templates would give path = "a/b" here; we follow the RFC and Go Genkit.
        assert_eq!(t.match_uri("file:///a/b"), None);
        assert_eq!(t.match_uri("file:///a%2Fb"), Some(vars(&[("path", s("a/b"))])));
        assert_eq!(t.match_uri("file:///hello%20world"), Some(vars(&[("path", s("hello world"))])));
        assert_eq!(t.match_uri("file:///"), Some(vars(&[("path", s(""))])));
        assert_eq!(t.match_uri("file:///a?b"), None);
        assert_eq!(t.match_uri("file:///a#b"), None);
        assert_eq!(t.match_uri("file:///a:b"), None);
        assert_eq!(t.match_uri("file:///a@b"), None);
        // Lenient characters are taken as themselves.
        assert_eq!(t.match_uri("file:///it's (1)+x!"), Some(vars(&[("path", s("it's (1)+x!"))])));
        assert_eq!(t.match_uri("file:///café ü"), Some(vars(&[("path", s("café ü"))])));
        assert_eq!(t.match_uri("file:///100%"), Some(vars(&[("path", s("100%"))])));
        assert_eq!(t.match_uri("file:///%zz"), Some(vars(&[("path", s("%zz"))])));
        // Decoded bytes must be UTF-8.
        assert_eq!(t.match_uri("file:///a%FF"), None);
        assert_eq!(t.match_uri("file:///%C3%A9"), Some(vars(&[("path", s("é"))])));
        assert_eq!(t.match_uri("file:///%c3%a9"), Some(vars(&[("path", s("é"))])));

        let t = tpl("my://resource/{a}/{b}");
        assert_eq!(t.match_uri("my://resource/x/y"), Some(vars(&[("a", s("x")), ("b", s("y"))])));
        assert_eq!(t.match_uri("my://resource/x/y/z"), None);
        assert_eq!(t.match_uri("my://resource/x"), None);
    }

    #[test]
    fn reserved_variable_crosses_slash_and_is_not_decoded() {
        let t = tpl("file:///{+path}");
        assert_eq!(t.match_uri("file:///a/b"), Some(vars(&[("path", s("a/b"))])));
        assert_eq!(t.match_uri("file:///a/b?c=d#e"), Some(vars(&[("path", s("a/b?c=d#e"))])));
        assert_eq!(t.match_uri("file:///a%20b"), Some(vars(&[("path", s("a%20b"))])));
        assert_eq!(t.match_uri("file:///a,b"), Some(vars(&[("path", s("a,b"))])));
        assert_eq!(t.match_uri("file:///"), Some(vars(&[("path", s(""))])));
        assert_eq!(t.match_uri("file://"), None);

        let t = tpl("{+base}/meta");
        assert_eq!(t.match_uri("http://x/a/meta/meta"), Some(vars(&[("base", s("http://x/a/meta"))])));
        let t = tpl("{#frag}");
        assert_eq!(t.match_uri("#a/b,c"), Some(vars(&[("frag", s("a/b,c"))])));
        assert_eq!(t.match_uri(""), Some(Variables::new()));
        assert_eq!(t.match_uri("a"), None);
        let t = tpl("{+x,y}");
        assert_eq!(t.match_uri("a/b,c"), Some(vars(&[("x", s("a/b")), ("y", s("c"))])));
    }

    #[test]
    fn trailing_and_inner_literals() {
        let t = tpl("file:///{name}.txt");
        assert_eq!(t.match_uri("file:///report.txt"), Some(vars(&[("name", s("report"))])));
        assert_eq!(t.match_uri("file:///a.b.txt"), Some(vars(&[("name", s("a.b"))])));
        assert_eq!(t.match_uri("file:///.txt"), Some(vars(&[("name", s(""))])));
        assert_eq!(t.match_uri("file:///report.txt.bak"), None);
        assert_eq!(t.match_uri("file:///report.md"), None);
        assert_eq!(t.match_uri("file:///dir/report.txt"), None);

        let t = tpl("a{x}b");
        assert_eq!(t.match_uri("azzb"), Some(vars(&[("x", s("zz"))])));
        assert_eq!(t.match_uri("abbb"), Some(vars(&[("x", s("bb"))])));
        let t = tpl("{x}aa{y}");
        assert_eq!(t.match_uri("aaa"), Some(vars(&[("x", s("")), ("y", s("a"))])));
        let t = tpl("{x}-{y}-{z}");
        assert_eq!(t.match_uri("a-b-c-d"), Some(vars(&[("x", s("a")), ("y", s("b")), ("z", s("c-d"))])));
        let t = tpl("users/{id}/posts/{post}");
        assert_eq!(t.match_uri("users/7/posts/42"), Some(vars(&[("id", s("7")), ("post", s("42"))])));
        assert_eq!(t.match_uri("users/7/posts/"), Some(vars(&[("id", s("7")), ("post", s(""))])));
        assert_eq!(t.match_uri("users/7/comments/42"), None);
    }

    #[test]
    fn query_parameters() {
        let t = tpl("/search{?q,lang}");
        assert_eq!(t.match_uri("/search?q=x&lang=en"), Some(vars(&[("q", s("x")), ("lang", s("en"))])));
        assert_eq!(t.match_uri("/search?q=x"), Some(vars(&[("q", s("x"))])));
        assert_eq!(t.match_uri("/search?lang=en"), Some(vars(&[("lang", s("en"))])));
        assert_eq!(t.match_uri("/search?lang=en&q=x"), Some(vars(&[("q", s("x")), ("lang", s("en"))])));
        assert_eq!(t.match_uri("/search"), Some(Variables::new()));
        assert_eq!(t.match_uri("/search?q=a%20b%26c"), Some(vars(&[("q", s("a b&c"))])));
        assert_eq!(t.match_uri("/search?q=a,b"), Some(vars(&[("q", l(&["a", "b"]))])));
        assert_eq!(t.match_uri("/search?q="), Some(vars(&[("q", s(""))])));
        assert_eq!(t.match_uri("/search?q"), Some(vars(&[("q", s(""))])));
        assert_eq!(t.match_uri("/search?"), None);
        assert_eq!(t.match_uri("/search?foo=1"), None);
        assert_eq!(t.match_uri("/search?q=1&q=2"), None);
        assert_eq!(t.match_uri("/search?q=1&&lang=en"), None);
        assert_eq!(t.match_uri("/search?q=a?b"), None);
        assert_eq!(t.match_uri("/search&q=1"), None);
        assert_eq!(t.match_uri("/searchq=1"), None);

        let t = tpl("/search{?q,opts*}");
        assert_eq!(
            t.match_uri("/search?q=x&a=1&b=2&q=y"),
            Some(vars(&[("q", s("x")), ("opts", a(&[("a", "1"), ("b", "2"), ("q", "y")]))]))
        );
        assert_eq!(t.match_uri("/search?opts=1&opts=2"), Some(vars(&[("opts", l(&["1", "2"]))])));

        let t = tpl("{?x}{&y}");
        assert_eq!(t.match_uri("?x=1&y=2"), Some(vars(&[("x", s("1")), ("y", s("2"))])));
        assert_eq!(t.match_uri("&y=2"), Some(vars(&[("y", s("2"))])));
        let t = tpl("{?x}{?y}");
        assert_eq!(t.match_uri("?x=1?y=2"), Some(vars(&[("x", s("1")), ("y", s("2"))])));
        let t = tpl("?fixed=yes{&x,y}");
        assert_eq!(t.match_uri("?fixed=yes&y=2"), Some(vars(&[("y", s("2"))])));
        assert_eq!(t.match_uri("?fixed=no&y=2"), None);

        let t = tpl("{;x,y}");
        assert_eq!(t.match_uri(";y=2;x"), Some(vars(&[("x", s("")), ("y", s("2"))])));
        assert_eq!(t.match_uri(";z=2"), None);
    }

    #[test]
    fn path_segments_and_labels() {
        let t = tpl("repo{/path*}");
        assert_eq!(t.match_uri("repo/a/b/c"), Some(vars(&[("path", l(&["a", "b", "c"]))])));
        assert_eq!(t.match_uri("repo/a"), Some(vars(&[("path", l(&["a"]))])));
        assert_eq!(t.match_uri("repo/"), Some(vars(&[("path", l(&[""]))])));
        assert_eq!(t.match_uri("repo"), Some(Variables::new()));
        assert_eq!(t.match_uri("repo/a%2Fb/c"), Some(vars(&[("path", l(&["a/b", "c"]))])));
        assert_eq!(t.match_uri("repoa/b"), None);

        let t = tpl("{/a,b}");
        assert_eq!(t.match_uri("/x/y"), Some(vars(&[("a", s("x")), ("b", s("y"))])));
        assert_eq!(t.match_uri("/x"), Some(vars(&[("a", s("x"))])));
        assert_eq!(t.match_uri("/x/y/z"), None);
        let t = tpl("{/a*,b}");
        assert_eq!(t.match_uri("/x/y/z"), Some(vars(&[("a", l(&["x", "y"])), ("b", s("z"))])));
        let t = tpl("{/a}{?q}");
        assert_eq!(t.match_uri("/x?q=1"), Some(vars(&[("a", s("x")), ("q", s("1"))])));

        let t = tpl("{x,y}");
        assert_eq!(t.match_uri("a,b,c"), Some(vars(&[("x", s("a")), ("y", l(&["b", "c"]))])));
        assert_eq!(t.match_uri("a"), Some(vars(&[("x", s("a"))])));
        assert_eq!(t.match_uri("a,"), Some(vars(&[("x", s("a")), ("y", s(""))])));

        let t = tpl("www{.dom*}");
        assert_eq!(t.match_uri("www.example.com"), Some(vars(&[("dom", l(&["example", "com"]))])));
        let t = tpl("X{.x}");
        assert_eq!(t.match_uri("X.a.b"), Some(vars(&[("x", s("a.b"))])));
        let t = tpl("X{.keys*}");
        assert_eq!(t.match_uri("X.k.1=v.x.k2=w"), Some(vars(&[("keys", a(&[("k.1", "v.x"), ("k2", "w")]))])));
        let t = tpl("{keys*}");
        assert_eq!(t.match_uri("a=1,b=2"), Some(vars(&[("keys", a(&[("a", "1"), ("b", "2")]))])));
        assert_eq!(t.match_uri("a=1,b"), None);
        let t = tpl("{k,keys*}");
        assert_eq!(t.match_uri("p,q,a=b"), Some(vars(&[("k", l(&["p", "q"])), ("keys", a(&[("a", "b")]))])));
        let t = tpl("{/x,keys*}");
        assert_eq!(t.match_uri("/a=b"), Some(vars(&[("keys", a(&[("a", "b")]))])));
    }

    #[test]
    fn prefix_modifiers_in_matching() {
        let t = tpl("{var:3}");
        assert_eq!(t.match_uri("val"), Some(vars(&[("var", s("val"))])));
        assert_eq!(t.match_uri("value"), None);
        assert_eq!(t.match_uri("%CE%B1%CE%B2%CE%B3"), Some(vars(&[("var", s("αβγ"))])));
        // Reserved values are verbatim, unless only the decoded value fits the prefix.
        assert_eq!(tpl("{+var:2}").match_uri("%CE%B1%CE%B2"), Some(vars(&[("var", s("αβ"))])));
        assert_eq!(tpl("{+var:12}").match_uri("%CE%B1%CE%B2"), Some(vars(&[("var", s("%CE%B1%CE%B2"))])));
        assert_eq!(tpl("{+var:1}").match_uri("%2F"), None);
        assert_eq!(tpl("{+var:1}").match_uri("/"), Some(vars(&[("var", s("/"))])));
        assert_eq!(tpl("{+var:2}").match_uri("abc"), None);
        let t = tpl("{/var:1,var}");
        assert_eq!(t.match_uri("/v/value"), Some(vars(&[("var", s("value"))])));
        let t = tpl("{x:2}{y}");
        assert_eq!(t.match_uri("abcd"), Some(vars(&[("x", s("ab")), ("y", s("cd"))])));
        let t = tpl("dictionary/{term:1}/{term}");
        assert_eq!(t.match_uri("dictionary/c/cat"), Some(vars(&[("term", s("cat"))])));
        // Occurrences are not cross-checked; the first full-length one wins.
        let t = tpl("{x}/{x}");
        assert_eq!(t.match_uri("a/b"), Some(vars(&[("x", s("a"))])));
    }

    #[test]
    fn adjacent_expressions() {
        let t = tpl("{a}{b}");
        assert_eq!(t.match_uri("xy"), Some(vars(&[("a", s("xy")), ("b", s(""))])));
        let t = tpl("{x}{.y}");
        assert_eq!(t.match_uri("a.b.c"), Some(vars(&[("x", s("a")), ("y", s("b.c"))])));
        let t = tpl("up{+path}{var}/here");
        let m = t.match_uri("up/foo/barvalue/here").unwrap();
        assert_eq!(t.expand(&m), "up/foo/barvalue/here");
        let t = tpl("{+path}{?q}");
        assert_eq!(t.match_uri("/a/b?q=1"), Some(vars(&[("path", s("/a/b")), ("q", s("1"))])));
    }

    #[test]
    fn exact_expansions_are_preferred_over_lenient_readings() {
        // `{x}` would write "A", not "%41", so the strict pass leaves all of it to `{+y}`.
        let t = tpl("{x}{+y}");
        assert_eq!(t.match_uri("%41Z;"), Some(vars(&[("x", s("")), ("y", s("%41Z;"))])));
        // Without a strict reading, the lenient one is used.
        let t = tpl("a/{x}");
        assert_eq!(t.match_uri("a/%41"), Some(vars(&[("x", s("A"))])));
        // `;` writes an empty string as `name` and a list of one empty string as `name=`.
        assert_eq!(tpl("{;x}").match_uri(";x"), Some(vars(&[("x", s(""))])));
        assert_eq!(tpl("{;x}").match_uri(";x="), Some(vars(&[("x", l(&[""]))])));
        // Named parameters in template order are read strictly, others leniently.
        let t = tpl("{?a,b*}");
        assert_eq!(t.match_uri("?a=1&k=v"), Some(vars(&[("a", s("1")), ("b", a(&[("k", "v")]))])));
        assert_eq!(t.match_uri("?k=v&a=1"), Some(vars(&[("a", s("1")), ("b", a(&[("k", "v")]))])));
        // A literal is matched in its encoded form first.
        let t = tpl("x%2{y}");
        assert_eq!(t.match_uri("x%252"), Some(vars(&[("y", s(""))])));
        assert_eq!(t.match_uri("x%2ab"), Some(vars(&[("y", s("ab"))])));
    }

    #[test]
    fn genkit_resource_style_templates() {
        let t = tpl("my://resource/{param}");
        assert_eq!(t.match_uri("my://resource/value"), Some(vars(&[("param", s("value"))])));
        assert!(!t.is_match("my://resource"));
        assert!(!t.is_match("my://other/value"));
        let t = tpl("file://{+path}");
        assert_eq!(t.match_uri("file:///etc/hosts"), Some(vars(&[("path", s("/etc/hosts"))])));
        let t = tpl("db://{table}/{id}{?fields}");
        assert_eq!(
            t.match_uri("db://users/42?fields=name,email"),
            Some(vars(&[("table", s("users")), ("id", s("42")), ("fields", l(&["name", "email"]))]))
        );
    }

    /// Templates and values whose expansion matches back to exactly the same values.
    #[test]
    fn round_trip_exact_values() {
        let cases: Vec<(&str, Variables)> = vec![
            ("file:///{+path}", vars(&[("path", s("dir/sub/file.txt"))])),
            ("file:///{path}", vars(&[("path", s("a/b c?d#e&f=g,h;i"))])),
            ("file:///{path}", vars(&[("path", s("ünïcödé €"))])),
            ("my://{a}/{b}", vars(&[("a", s("x y")), ("b", s("100%"))])),
            ("{/path*}", vars(&[("path", l(&["a", "b c", "d/e"]))])),
            ("{/path*}{?q,lang}", vars(&[("path", l(&["a"])), ("q", s("hello world")), ("lang", s("en"))])),
            ("{?q,lang}", vars(&[("lang", s("fr"))])),
            ("{?list*}", vars(&[("list", l(&["a", "", "c,d"]))])),
            ("{?keys*}", vars(&[("keys", a(&[("k 1", "v=1"), ("k2", "")]))])),
            ("{;keys*}", vars(&[("keys", a(&[("k", "v"), ("e", "")]))])),
            ("{&x,y}", vars(&[("x", s("1")), ("y", l(&["2", "3"]))])),
            ("{;x,y,z}", vars(&[("x", s("")), ("z", s("z"))])),
            ("{.a,b}", vars(&[("a", s("x")), ("b", s("y.z"))])),
            ("X{.list*}", vars(&[("list", l(&["a", "b"]))])),
            ("{#frag}", vars(&[("frag", s("sec/1?x"))])),
            ("{x,y}", vars(&[("x", s("1")), ("y", s("2"))])),
            ("{keys*}", vars(&[("keys", a(&[("a", "1"), ("b", "2")]))])),
            ("{/keys*}", vars(&[("keys", a(&[("a", "1"), ("b", "")]))])),
            ("{var:3}/{var}", vars(&[("var", s("value"))])),
            ("base{/a}{/b*}{?c}{&d}{#e}", vars(&[("a", s("1")), ("b", l(&["2", "3"])), ("d", s("4")), ("e", s("5"))])),
            ("{+a}/x/{b}", vars(&[("a", s("p/x/q")), ("b", s("r"))])),
            ("{x}.{y}", vars(&[("x", s("a")), ("y", s("b.c"))])),
            ("{?Stra%C3%9Fe}", vars(&[("Stra%C3%9Fe", s("Grüner Weg"))])),
            ("{/id*}{?fields,token}", vars(&[("id", l(&["person", "albums"])), ("token", s("12345"))])),
        ];
        for (template, values) in cases {
            let t = tpl(template);
            let uri = t.expand(&values);
            assert_eq!(t.match_uri(&uri).as_ref(), Some(&values), "{template} via {uri:?}");
        }
    }

    /// Deterministic xorshift generator for the property and robustness tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }

        fn string(&mut self, alphabet: &[&str], max_len: usize) -> String {
            let len = self.below(max_len + 1);
            (0..len).map(|_| *self.pick(alphabet)).collect()
        }
    }

    const VALUE_ALPHABET: &[&str] = &[
        "a", "b", "Z", "0", "-", ".", "_", "~", " ", "/", "?", "#", "&", "=", ",", ";", ":", "%", "%41", "é", "€", "+",
    ];

    /// Prefix modifiers are undefined for composite values (RFC 6570 §2.4.1): expansion ignores
    /// them and matching does not rebuild them, so prefixed variables get strings only.
    fn random_value_of(rng: &mut Rng, composite: bool) -> Option<VarValue> {
        match rng.below(if composite { 5 } else { 3 }) {
            0 => None,
            1 | 2 => Some(VarValue::String(rng.string(VALUE_ALPHABET, 6))),
            3 => Some(VarValue::List((0..rng.below(4)).map(|_| rng.string(VALUE_ALPHABET, 4)).collect())),
            _ => Some(VarValue::Assoc(
                (0..rng.below(4)).map(|_| (rng.string(VALUE_ALPHABET, 3), rng.string(VALUE_ALPHABET, 3))).collect(),
            )),
        }
    }

    /// Any expansion matches back, to variables that expand to the same URI.
    #[test]
    fn round_trip_random_values() {
        let templates = [
            "{x}",
            "{+x}",
            "{#x}",
            "{.x}",
            "{/x}",
            "{;x}",
            "{?x}",
            "{&x}",
            "{x*}",
            "{+x*}",
            "{#x*}",
            "{.x*}",
            "{/x*}",
            "{;x*}",
            "{?x*}",
            "{&x*}",
            "{x,y}",
            "{+x,y}",
            "{/x,y*}",
            "{.x*,y}",
            "{?x,y*}",
            "{;x*,y}",
            "{x:3}",
            "{+x:2}",
            "{/x:2,y}",
            "file:///{+x}",
            "file:///{x}.txt",
            "a{x}b{y}c",
            "{x}{y}",
            "{x}{/y}{?z}",
            "{/x}{.y}{#z}",
            "{+x}/{y}",
            "{x}/{x}",
            "p{?x,y}{&z*}",
            "{x}.{y}",
            "é {x} ü",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for template in templates {
            let t = tpl(template);
            for _ in 0..300 {
                let mut values = Variables::new();
                for name in ["x", "y", "z"] {
                    let prefixed = t.parts.iter().any(|part| match part {
                        Part::Expr(expr) => expr.vars.iter().any(|spec| spec.name == name && spec.prefix.is_some()),
                        Part::Literal { .. } => false,
                    });
                    if let Some(value) = random_value_of(&mut rng, !prefixed) {
                        values.insert(name.to_owned(), value);
                    }
                }
                let uri = t.expand(&values);
                let matched = t.match_uri(&uri).unwrap_or_else(|| panic!("{template} should match {uri:?}"));
                assert_eq!(t.expand(&matched), uri, "{template}: {values:?} -> {uri:?} -> {matched:?}");
            }
        }
    }

    #[test]
    fn garbage_templates_and_uris_do_not_panic() {
        const TEMPLATE_ALPHABET: &[&str] = &[
            "{", "}", "+", "#", ".", "/", ";", "?", "&", "=", ",", "!", "@", "|", "*", ":", "0", "1", "9", "a", "x",
            "y", "_", "%", "%2", "%41", "-", "~", " ", "é", "€", "{x}", "{+x}", "{/x*}", "{?x,y}", "{x:2}",
        ];
        const URI_ALPHABET: &[&str] = &[
            "a", "x", "y", "=", "&", "?", "/", ".", ";", ",", "#", "%", "%4", "%41", "%FF", "%C3", "%A9", "é", " ",
            "{", "}", "*", ":", "+", "-",
        ];
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        let mut parsed = 0;
        for _ in 0..4000 {
            let template = rng.string(TEMPLATE_ALPHABET, 12);
            let Ok(t) = UriTemplate::parse(&template) else { continue };
            parsed += 1;
            let specs: Vec<&VarSpec> = t
                .parts
                .iter()
                .flat_map(|part| match part {
                    Part::Expr(expr) => expr.vars.iter().collect(),
                    Part::Literal { .. } => Vec::new(),
                })
                .collect();
            // Repeated variables are not cross-checked when matching, so the round trip is only
            // asserted when every variable occurs once.
            let unique = specs.len() == t.variable_names().len();
            for _ in 0..8 {
                let uri = rng.string(URI_ALPHABET, 16);
                let _ = t.match_uri(&uri);
                let mut values = Variables::new();
                for spec in &specs {
                    if let Some(value) = random_value_of(&mut rng, spec.prefix.is_none()) {
                        values.insert(spec.name.clone(), value);
                    }
                }
                let expanded = t.expand(&values);
                let matched = t.match_uri(&expanded);
                if unique {
                    let matched = matched.unwrap_or_else(|| panic!("{template} should match {expanded:?}"));
                    assert_eq!(t.expand(&matched), expanded, "{template}: {values:?} -> {expanded:?} -> {matched:?}");
                }
            }
        }
        assert!(parsed > 200, "only {parsed} random templates parsed");
        // Raw bytes of every kind, including multi-byte characters at odd offsets.
        for template in ["{x}", "{+x}", "{x}é{y}", "€{/x*}{?y}", "{.x:1}"] {
            let t = tpl(template);
            for c in (0u32..0x300).filter_map(char::from_u32) {
                let uri: String = [c, 'é', c].iter().collect();
                let _ = t.match_uri(&uri);
            }
        }
    }

    #[test]
    fn pathological_inputs_finish() {
        let long = "a".repeat(3000);
        let t = tpl("{+a}{+b}{+c}{+d}{+e}x");
        assert_eq!(t.match_uri(&long), None);
        let t = tpl("{a,b,c,d,e,f,g}-{h}-z");
        let uri = format!("{}-", "a,".repeat(1500));
        assert_eq!(t.match_uri(&uri), None);
        let t = tpl("{+a}a{+b}a{+c}a{+d}b");
        assert_eq!(t.match_uri(&long), None);
        // Long but simple inputs still match.
        let t = tpl("file:///{+path}");
        let path = "dir/".repeat(50_000);
        assert_eq!(t.match_uri(&format!("file:///{path}")).unwrap()["path"].as_str(), Some(path.as_str()));
        let t = tpl("{?q}");
        let q = "b".repeat(100_000);
        assert_eq!(t.match_uri(&format!("?q={q}")).unwrap()["q"].as_str(), Some(q.as_str()));
        // Deeply nested templates are handled without recursion.
        let template: String = (0..20_000).map(|i| format!("{{v{i}}}/")).collect();
        let t = tpl(&template);
        let uri: String = (0..20_000).map(|i| format!("{i}/")).collect();
        assert_eq!(t.variable_names().len(), 20_000);
        let m = t.match_uri(&uri).unwrap();
        assert_eq!(m.len(), 20_000);
        assert_eq!(m["v19999"].as_str(), Some("19999"));
    }
}
