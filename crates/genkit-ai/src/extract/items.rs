//! The complete objects of a streamed top-level array, each once (JS `extractItems`), as the
//! `array` and `jsonl`-style formats read them chunk by chunk.

use serde_json::Value;

use super::parse_json5;
use super::text::outside_strings;

/// Extracts the complete object items of the first array in streamed `text` (JS
/// `extractItems(text, cursor)`), returning them with the new cursor.
///
/// `cursor` is a byte offset into `text`. With `cursor == 0` the scan starts just after
/// the first `[` in the text (if there is none, no items are returned and the cursor
/// becomes `text.len()`); otherwise it starts at `cursor`. From there every balanced
/// `{…}` at brace depth zero (braces inside double-quoted strings ignored) that parses
/// as JSON5 is returned, in order; the scan stops at a `]` at depth zero. The returned
/// cursor is the byte offset just past the last extracted item (or the scan start if
/// none was complete), so feeding it back with the grown text returns each item exactly
/// once. Only objects are extracted (scalars and nested arrays between items are
/// skipped), like in JS.
///
/// ```
/// use genkit_ai::extract::extract_items;
/// use serde_json::json;
///
/// let (items, cursor) = extract_items(r#"[{"a": 1}, {"b": 2"#, 0);
/// assert_eq!(items, vec![json!({"a": 1})]);
/// let (items, cursor) = extract_items(r#"[{"a": 1}, {"b": 2}]"#, cursor);
/// assert_eq!(items, vec![json!({"b": 2})]);
/// assert_eq!(cursor, 19);
/// ```
#[must_use]
pub fn extract_items(text: &str, cursor: usize) -> (Vec<Value>, usize) {
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut current = cursor;

    if cursor == 0 {
        match bytes.iter().position(|&b| b == b'[') {
            Some(array_start) => current = array_start + 1,
            None => return (items, text.len()),
        }
    }

    let scan_start = current;
    let mut object_start: Option<usize> = None;
    let mut brace_count: i64 = 0;

    for (i, b) in outside_strings(bytes, scan_start) {
        match b {
            b'{' => {
                if brace_count == 0 {
                    object_start = Some(i);
                }
                brace_count += 1;
            }
            b'}' => {
                brace_count -= 1;
                if brace_count == 0
                    && let Some(start) = object_start
                    && let Some(item) = text.get(start..=i).and_then(parse_json5)
                {
                    items.push(item);
                    current = i + 1;
                    object_start = None;
                }
            }
            b']' if brace_count == 0 => break,
            _ => {}
        }
    }

    (items, current)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn run_steps(chunks: &[&str], wants: &[Vec<Value>]) {
        let mut text = String::new();
        let mut cursor = 0;
        for (chunk, want) in chunks.iter().zip(wants) {
            text.push_str(chunk);
            let (items, next) = extract_items(&text, cursor);
            assert_eq!(&items, want, "text {text:?} cursor {cursor}");
            cursor = next;
        }
    }

    #[test]
    fn extract_items_genkit_js_cases() {
        run_steps(
            &["[", r#"{"a": 1},"#, r#"{"b": 2}"#, "]"],
            &[vec![], vec![json!({"a": 1})], vec![json!({"b": 2})], vec![]],
        );
        run_steps(
            &[r#"[{"outer": {"#, r#""inner": "value"}},"#, r#"{"next": true}]"#],
            &[vec![], vec![json!({"outer": {"inner": "value"}})], vec![json!({"next": true})]],
        );
        run_steps(
            &[r#"[{"text": "line1\n"#, r#"line2"},"#, r#"{"text": "tab\there"}]"#],
            &[vec![], vec![json!({"text": "line1\nline2"})], vec![json!({"text": "tab\there"})]],
        );
        run_steps(
            &["Here is an array:\n```json\n\n[", r#"{"a": 1},"#, "{\"b\": 2}]\n```\nDid you like my array?"],
            &[vec![], vec![json!({"a": 1})], vec![json!({"b": 2})]],
        );
        run_steps(
            &["[\n  ", "{\"a\": 1},\n  ", "{\"b\": 2}\n]"],
            &[vec![], vec![json!({"a": 1})], vec![json!({"b": 2})]],
        );
    }

    #[test]
    fn extract_items_every_prefix_yields_each_item_once() {
        let doc = r#"[{"a":1},{"b":"x]"},{"c":3}]"#;
        let mut cursor = 0;
        let mut seen = Vec::new();
        for len in 0..=doc.len() {
            let (items, next) = extract_items(&doc[..len], cursor);
            seen.extend(items);
            cursor = next;
        }
        assert_eq!(seen, vec![json!({"a": 1}), json!({"b": "x]"}), json!({"c": 3})]);
        assert_eq!(cursor, doc.len() - 1);
        // The whole text at once gives the same items.
        assert_eq!(extract_items(doc, 0).0, seen);
    }

    #[test]
    fn extract_items_cursor_values() {
        assert_eq!(extract_items("", 0), (vec![], 0));
        assert_eq!(extract_items("no array yet", 0), (vec![], 12));
        assert_eq!(extract_items("ab[", 0), (vec![], 3));
        assert_eq!(extract_items(r#"[{"a":1}, {"b""#, 0), (vec![json!({"a": 1})], 8));
        assert_eq!(extract_items(r#"[{"a":1}, {"b":2}"#, 8), (vec![json!({"b": 2})], 17));
        assert_eq!(extract_items("[1]", 100), (vec![], 100));
        // Multi-byte text before the array: offsets are in bytes.
        let text = r#"Voilà 😀 [{"é": "ü"}]"#;
        let (items, cursor) = extract_items(text, 0);
        assert_eq!(items, vec![json!({"é": "ü"})]);
        assert_eq!(text.get(cursor..), Some("]"));
    }

    #[test]
    fn extract_items_only_objects_and_stops_at_array_end() {
        let (items, cursor) = extract_items(r#"[1, "s", {"a": 1}, {"b": {"c": [3]}}] {"after": 1}"#, 0);
        assert_eq!(items, vec![json!({"a": 1}), json!({"b": {"c": [3]}})]);
        assert_eq!(cursor, 36);
        // Like JS, any `]` outside an object ends the scan, even one closing a nested array.
        let (items, cursor) = extract_items(r#"[{"a": 1}, [2], {"b": 3}]"#, 0);
        assert_eq!(items, vec![json!({"a": 1})]);
        assert_eq!(cursor, 9);
        // JSON5 items are accepted; invalid items are skipped without moving the cursor.
        let (items, cursor) = extract_items("[{a: 'x'}, {bad json}, {c: 3,}]", 0);
        assert_eq!(items, vec![json!({"a": "x"}), json!({"c": 3})]);
        assert_eq!(cursor, 30);
    }
}
