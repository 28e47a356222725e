//! The parsed template and its public operations.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use crate::expand::expand_expression;
use crate::matcher;
use crate::syntax::{Part, parse_parts};
use crate::{UriTemplateError, Variables};

/// A parsed RFC 6570 URI template.
///
/// ```
/// use genkit_uri_template::UriTemplate;
///
/// let template = UriTemplate::parse("file:///{+path}").unwrap();
/// assert!(template.is_match("file:///docs/readme.md"));
/// assert_eq!(template.match_uri("file:///docs/readme.md").unwrap()["path"].as_str(), Some("docs/readme.md"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    template: String,
    pub(crate) parts: Vec<Part>,
}

impl UriTemplate {
    /// Parses a template, checking it against the RFC 6570 grammar.
    ///
    /// Literal text may contain any character except `{` and `}`; characters that are not allowed
    /// in a URI are percent-encoded on expansion. Variable names are `A-Z a-z 0-9 _`,
    /// percent-encoded triplets and single inner dots.
    ///
    /// ```
    /// use genkit_uri_template::{UriTemplate, UriTemplateError};
    ///
    /// assert!(UriTemplate::parse("my://resource/{id}").is_ok());
    /// assert_eq!(UriTemplate::parse("{!x}").unwrap_err(), UriTemplateError::ReservedOperator { position: 1, operator: '!' });
    /// assert!(matches!(UriTemplate::parse("{x:0}"), Err(UriTemplateError::InvalidModifier { .. })));
    /// ```
    pub fn parse(template: &str) -> Result<Self, UriTemplateError> {
        Ok(Self { template: template.to_owned(), parts: parse_parts(template)? })
    }

    /// The template text, as given to [`UriTemplate::parse`].
    ///
    /// ```
    /// use genkit_uri_template::UriTemplate;
    ///
    /// assert_eq!(UriTemplate::parse("file:///{+path}").unwrap().as_str(), "file:///{+path}");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.template
    }

    /// The names of the template's variables, each once, in order of first appearance.
    ///
    /// ```
    /// use genkit_uri_template::UriTemplate;
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
    /// use genkit_uri_template::{UriTemplate, VarValue, Variables};
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
    /// `None` if the template cannot produce the URI. See the [crate documentation](crate) for
    /// how ambiguities are resolved.
    ///
    /// ```
    /// use genkit_uri_template::{UriTemplate, VarValue};
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
        matcher::match_uri(self, uri)
    }

    /// Whether [`UriTemplate::match_uri`] would return `Some`.
    ///
    /// ```
    /// use genkit_uri_template::UriTemplate;
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
