//! TEMPORARY stand-in until the real RFC 6570 module lands (same signatures).
#![allow(missing_docs, dead_code)]
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarValue {
    String(String),
    List(Vec<String>),
    Assoc(Vec<(String, String)>),
}

pub type Variables = BTreeMap<String, VarValue>;

#[derive(Debug, Clone)]
pub struct UriTemplate(String);

#[derive(Debug, Clone)]
pub struct UriTemplateError(String);

impl std::fmt::Display for UriTemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UriTemplateError {}

impl UriTemplate {
    pub fn parse(t: &str) -> Result<UriTemplate, UriTemplateError> {
        Ok(UriTemplate(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn match_uri(&self, uri: &str) -> Option<Variables> {
        (uri == self.0).then(Variables::new)
    }
    pub fn is_match(&self, uri: &str) -> bool {
        self.match_uri(uri).is_some()
    }
}
