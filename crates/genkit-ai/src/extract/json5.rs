//! The JSON5 parser: documents, containers and literals, on an explicit stack. Numbers,
//! strings and trivia are read by the sibling modules' `impl Parser` blocks.

use serde_json::{Map, Value};

use super::partial::close_all;

/// Deepest container nesting accepted: the most `serde_json`'s parser accepts (its
/// recursion limit of 128 admits 127 levels), so every value produced here can be
/// serialized and parsed again by `serde_json`.
const MAX_DEPTH: usize = 127;

/// Parses a complete JSON5 document (which includes all of standard JSON).
///
/// Beyond JSON this accepts single-quoted strings, unquoted (identifier) object keys,
/// trailing commas, `//` and `/* */` comments, hexadecimal numbers, leading or trailing
/// decimal points, explicit `+` signs, `Infinity`/`NaN` (mapped to `null`, which
/// `serde_json` numbers cannot hold), the `\x`, `\v`, `\0` escapes, identity escapes and
/// line continuations, and all JSON5 whitespace (including U+00A0 and U+FEFF). Object
/// key order is preserved; a repeated key keeps its first position and its last value.
///
/// Returns `None` for invalid input, empty input, trailing content other than
/// whitespace and comments, or nesting deeper than 127 levels (the limit of `serde_json`).
///
/// ```
/// use genkit_ai::extract::parse_json5;
/// use serde_json::json;
///
/// let value = parse_json5("{name: 'Genkit', tags: ['ai', 'rust',], /* note */ n: 0x10}");
/// assert_eq!(value, Some(json!({"name": "Genkit", "tags": ["ai", "rust"], "n": 16})));
/// assert_eq!(parse_json5("{\"a\": 1} trailing"), None);
/// ```
#[must_use]
pub fn parse_json5(text: &str) -> Option<Value> {
    Parser::new(text, false).parse_document()
}

/// Any parse failure; in partial mode it ends parsing and closes what is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stop;

pub(super) type PResult<T> = Result<T, Stop>;

/// An open container on the parser's explicit stack.
pub(super) enum Frame {
    Array(Vec<Value>),
    /// An object and the key whose value is being parsed, if any.
    Object(Map<String, Value>, Option<String>),
}

impl Frame {
    /// Adds a finished child value: appended to an array, or stored under the pending key.
    pub(super) fn attach(&mut self, child: Value) {
        match self {
            Frame::Array(items) => items.push(child),
            Frame::Object(map, key) => {
                if let Some(key) = key.take() {
                    map.insert(key, child);
                }
            }
        }
    }

    pub(super) fn into_value(self) -> Value {
        match self {
            Frame::Array(items) => Value::Array(items),
            Frame::Object(map, _) => Value::Object(map),
        }
    }
}

/// Literals that may appear in value position, with their values.
const LITERALS: [(&[u8], Value); 5] = [
    (b"true", Value::Bool(true)),
    (b"false", Value::Bool(false)),
    (b"null", Value::Null),
    (b"Infinity", Value::Null),
    (b"NaN", Value::Null),
];

/// An iterative (explicit stack) JSON5 parser over the bytes of a `str`; in partial mode
/// it completes input that ends early, as described on [`parse_partial_json`](super::parse_partial_json).
pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
    pub(super) partial: bool,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str, partial: bool) -> Self {
        Parser { src, bytes: src.as_bytes(), pos: 0, partial }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub(super) fn byte_at(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    pub(super) fn char_at(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|rest| rest.chars().next())
    }

    pub(super) fn parse_document(mut self) -> Option<Value> {
        let mut stack: Vec<Frame> = Vec::new();
        match self.parse_value(&mut stack) {
            Ok(value) => {
                if self.partial {
                    return Some(value);
                }
                self.skip_trivia().ok()?;
                (self.pos == self.bytes.len()).then_some(value)
            }
            Err(Stop) if self.partial => close_all(stack),
            Err(Stop) => None,
        }
    }

    /// Parses one (top-level) value. Containers live on `stack`, so that on failure the
    /// caller can still close them (partial mode).
    fn parse_value(&mut self, stack: &mut Vec<Frame>) -> PResult<Value> {
        'value: loop {
            self.skip_trivia()?;
            let mut value = match self.peek() {
                Some(b'{') => {
                    self.open(stack, Frame::Object(Map::new(), None))?;
                    match self.member_key()? {
                        Some(key) => {
                            set_pending_key(stack, key);
                            continue 'value;
                        }
                        None => pop_value(stack),
                    }
                }
                Some(b'[') => {
                    self.open(stack, Frame::Array(Vec::new()))?;
                    self.skip_trivia()?;
                    if self.peek() != Some(b']') {
                        continue 'value;
                    }
                    self.pos += 1;
                    pop_value(stack)
                }
                Some(_) => self.scalar()?,
                None => return Err(Stop),
            };

            // `value` is complete: attach it to its container and read what follows,
            // closing containers as long as closing brackets come.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(value);
                };
                top.attach(value);
                let in_array = matches!(top, Frame::Array(_));
                self.skip_trivia()?;
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        if in_array {
                            self.skip_trivia()?;
                            if self.peek() != Some(b']') {
                                continue 'value;
                            }
                            self.pos += 1;
                        } else if let Some(key) = self.member_key()? {
                            set_pending_key(stack, key);
                            continue 'value;
                        }
                    }
                    Some(b']') if in_array => self.pos += 1,
                    Some(b'}') if !in_array => self.pos += 1,
                    _ => return Err(Stop),
                }
                value = pop_value(stack);
            }
        }
    }

    /// Consumes an opening bracket and pushes its frame, enforcing the depth limit.
    fn open(&mut self, stack: &mut Vec<Frame>, frame: Frame) -> PResult<()> {
        if stack.len() >= MAX_DEPTH {
            return Err(Stop);
        }
        self.pos += 1;
        stack.push(frame);
        Ok(())
    }

    /// Reads `}` (returning `None`) or a member key and its colon.
    fn member_key(&mut self) -> PResult<Option<String>> {
        self.skip_trivia()?;
        let key = match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(quote @ (b'"' | b'\'')) => {
                let (key, terminated) = self.string(quote)?;
                if !terminated {
                    return Err(Stop);
                }
                key
            }
            Some(_) => self.identifier()?,
            None => return Err(Stop),
        };
        self.skip_trivia()?;
        if self.peek() != Some(b':') {
            return Err(Stop);
        }
        self.pos += 1;
        Ok(Some(key))
    }

    fn scalar(&mut self) -> PResult<Value> {
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => self.string(quote).map(|(s, _)| Value::String(s)),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.') => self.number(),
            Some(b'a'..=b'z' | b'A'..=b'Z') => self.literal(),
            _ => Err(Stop),
        }
    }

    /// `true`, `false`, `null`, `Infinity`, `NaN`; in partial mode also a prefix of one
    /// of them at the end of the input.
    pub(super) fn literal(&mut self) -> PResult<Value> {
        let start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'$') {
            self.pos += 1;
        }
        let word = self.bytes.get(start..self.pos).unwrap_or_default();
        if let Some((_, value)) = LITERALS.iter().find(|(name, _)| *name == word) {
            return Ok(value.clone());
        }
        if self.partial
            && !word.is_empty()
            && self.at_end(self.pos)
            && let Some((_, value)) = LITERALS.iter().find(|(name, _)| name.starts_with(word))
        {
            return Ok(value.clone());
        }
        Err(Stop)
    }
}

/// Stores the key whose value comes next in the innermost (object) frame.
fn set_pending_key(stack: &mut [Frame], key: String) {
    if let Some(Frame::Object(_, pending)) = stack.last_mut() {
        *pending = Some(key);
    }
}

/// Closes the innermost container.
fn pop_value(stack: &mut Vec<Frame>) -> Value {
    stack.pop().map_or(Value::Null, Frame::into_value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::extract::parse_partial_json;
    use crate::extract::tests::j5;

    #[test]
    fn json5_standard_json_matches_serde_json() {
        let docs = [
            r#"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#,
            r#"[0, -0, 1, -1, 1.5, -1.5e3, 1E+2, 2e-2, 0.0, 1.0]"#,
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
            r#""esc: \" \\ \/ \b \f \n \r \t \u00e9 \u4e2d \ud83d\ude00""#,
            r#"{"z": 1, "a": 2, "m": 3}"#,
            "  \n\t [ ] ",
            "{}",
            r#""""#,
            "true",
            "null",
            r#"{"nested": [[[{"x": [1, {"y": null}]}]]]}"#,
        ];
        for doc in docs {
            let expected: Value = serde_json::from_str(doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
            assert_eq!(parse_json5(doc), Some(expected.clone()), "{doc}");
            // Serialization (integer vs float) must agree as well.
            assert_eq!(j5(doc).to_string(), expected.to_string(), "{doc}");
        }
    }

    #[test]
    fn json5_trailing_commas() {
        assert_eq!(j5("[1, 2, ]"), json!([1, 2]));
        assert_eq!(j5("{a: 1, }"), json!({"a": 1}));
        assert_eq!(j5("[[],{},]"), json!([[], {}]));
        assert_eq!(parse_json5("[,]"), None);
        assert_eq!(parse_json5("{,}"), None);
        assert_eq!(parse_json5("[1,,2]"), None);
        assert_eq!(parse_json5("[1 2]"), None);
        assert_eq!(parse_json5("{a: 1,, b: 2}"), None);
    }

    #[test]
    fn json5_rejects_trailing_garbage_and_garbage() {
        for bad in ["{} x", "[1] [2]", "1 2", "truex", "nul", "undefined", "{a: 1}}", "]", "}", "{a: }", "{a 1}"] {
            assert_eq!(parse_json5(bad), None, "{bad}");
        }
    }

    #[test]
    fn json5_object_keys_order_and_duplicates() {
        let value = j5("{z: 1, a: 2, m: 3, a: 4}");
        let keys: Vec<&str> = value.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        assert_eq!(keys, ["z", "a", "m"]);
        assert_eq!(value["a"], json!(4));
        assert_eq!(j5("{'2': 1, '1': 2}").to_string(), r#"{"2":1,"1":2}"#);
    }

    #[test]
    fn json5_depth_limit_matches_serde_json() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_json5(&ok).is_some());
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
        let too_deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse_json5(&too_deep), None);
        let huge = "[{\"a\":".repeat(100_000);
        assert_eq!(parse_json5(&huge), None);
        let value = parse_partial_json(&huge);
        assert!(value.is_some());
    }
}
