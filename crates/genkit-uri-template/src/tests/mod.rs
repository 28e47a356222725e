//! The crate's tests: RFC 6570 expansion tables, parsing, matching, and randomised round trips.

use crate::{UriTemplate, VarValue, Variables};

mod matching;
mod parse;
mod random;
mod rfc;

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
