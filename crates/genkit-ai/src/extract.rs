//! TEMPORARY stand-in until the real JSON5/partial parser lands (same signatures).
#![allow(missing_docs, dead_code)]
use serde_json::Value;

pub fn parse_json5(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

pub fn parse_partial_json(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

pub fn extract_json(text: &str) -> Option<Value> {
    let start = text.find(['{', '['])?;
    let end = text.rfind(['}', ']'])?;
    if end < start {
        return None;
    }
    serde_json::from_str(&text[start..=end]).ok()
}

pub fn extract_json_strict(text: &str) -> Result<Option<Value>, String> {
    Ok(extract_json(text))
}

pub fn extract_items(text: &str, cursor: usize) -> (Vec<Value>, usize) {
    let _ = text;
    (Vec::new(), cursor)
}
