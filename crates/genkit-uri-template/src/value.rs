//! Variable values: strings, lists and associative arrays.

use std::collections::BTreeMap;

/// The value of one template variable: a string, a list or an ordered associative array.
///
/// Empty lists and empty associative arrays count as undefined during expansion (RFC 6570 §2.3).
///
/// ```
/// use genkit_uri_template::VarValue;
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
    /// use genkit_uri_template::VarValue;
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

    /// Whether expansion writes the value: empty lists and associative arrays count as
    /// undefined (RFC 6570 §2.3).
    pub(crate) fn is_defined(&self) -> bool {
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
/// use genkit_uri_template::{UriTemplate, VarValue, Variables};
///
/// let mut vars = Variables::new();
/// vars.insert("id".to_string(), VarValue::from("42"));
/// assert_eq!(UriTemplate::parse("item/{id}").unwrap().expand(&vars), "item/42");
/// ```
pub type Variables = BTreeMap<String, VarValue>;
