//! Lenient JSON extraction from model output, mirroring Genkit JS `extract.ts`.
//!
//! Models often wrap structured output in markdown fences or prose, emit JSON5-isms
//! (single quotes, unquoted keys, trailing commas, comments) and, while streaming,
//! produce documents that are cut off mid-way. This module provides:
//!
//! * [`parse_json5`]: a fast JSON5 parser producing [`serde_json::Value`];
//! * [`parse_partial_json`]: parsing of truncated JSON(5), completing what can be
//!   completed the way the npm `partial-json` package (with `Allow.ALL`) does;
//! * [`extract_json`] / [`extract_json_strict`]: finding the first JSON object or array
//!   in free text and parsing it (JS `extractJson`);
//! * [`extract_items`]: incremental extraction of the complete object items of a
//!   streamed top-level array (JS `extractItems`).
//!
//! All positions exchanged with callers are **byte offsets** into UTF-8 text (JS uses
//! UTF-16 indices); every delimiter the scanners look for is ASCII, so the results are
//! otherwise identical.
//!
//! Numbers follow `serde_json` conventions: integers that fit `i64`/`u64` become integer
//! numbers, anything with a fraction or exponent (or too large) becomes an `f64`, and
//! non-finite values (`Infinity`, `NaN`, overflowing literals) become `null`, which is
//! also what JS `JSON.stringify` turns them into.

use serde_json::{Map, Number, Value};

/// Deepest container nesting accepted: the most `serde_json`'s parser accepts (its
/// recursion limit of 128 admits 127 levels), so every value produced here can be
/// serialized and parsed again by `serde_json`.
const MAX_DEPTH: usize = 127;

/// Error message prefix used by [`extract_json_strict`] (JS: `Invalid JSON extracted
/// from model output: ${text}`).
const INVALID_JSON_PREFIX: &str = "Invalid JSON extracted from model output: ";

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

/// Parses possibly truncated JSON(5), completing it the way npm `partial-json` with
/// `Allow.ALL` does (followed, as in Genkit JS, by a JSON round trip that turns
/// non-finite numbers into `null`).
///
/// * Unterminated strings are closed; an incomplete escape at the very end
///   (`"ab\u00`, `"ab\`, a lone high surrogate) is dropped. Trailing whitespace of the
///   input is ignored (JS trims it), also inside an unterminated string.
/// * Unterminated arrays and objects are closed.
/// * An object key without a value (`{"a": 1, "b"`, `{"a": 1, "b":`, `{"a": 1, "b`) is
///   dropped together with its key.
/// * Literals cut at the end are completed: `t`/`tr`/`tru` → `true`, `f`… → `false`,
///   `n`… → `null`, `I`…/`-I`…/`N`… → `null` (non-finite).
/// * A number cut at the end is kept when it is already a number (`12` → `12`), loses
///   an incomplete exponent (`1.5e-` → `1.5`), and is dropped when it cannot be one yet
///   (`-`, `12.`, `0x`).
/// * A syntax error inside a container stops parsing there: the containers opened so
///   far are returned with the members completed before the error (partial-json also
///   returns a container's parsed members when an error occurs inside it). A top-level
///   scalar that cannot be completed yields `None`, as does empty input.
/// * Anything after a complete top-level value is ignored.
///
/// Complete, valid input parses exactly like [`parse_json5`], except that a top-level
/// number ending in a decimal point (`12.`) counts as unfinished.
///
/// ```
/// use genkit_ai::extract::parse_partial_json;
/// use serde_json::json;
///
/// assert_eq!(parse_partial_json(r#"{"a": 1, "b": ["x", "y"#), Some(json!({"a": 1, "b": ["x", "y"]})));
/// assert_eq!(parse_partial_json(r#"{"a": 1, "b":"#), Some(json!({"a": 1})));
/// assert_eq!(parse_partial_json("[true, fal"), Some(json!([true, false])));
/// ```
#[must_use]
pub fn parse_partial_json(text: &str) -> Option<Value> {
    Parser::new(text.trim_end_matches(is_json5_space), true).parse_document()
}

/// Extracts the first JSON object or array embedded in `text` (JS `extractJson(text)`).
///
/// The text is scanned for the first `{` or `[` outside a double-quoted string (a
/// backslash escapes the next character, as in JS); only that kind of bracket is then
/// counted. When the count returns to zero the enclosed text is parsed with
/// [`parse_json5`] (`None` if it is invalid; JS lets that parse error escape even
/// without `throwOnBadJson`). When the text ends first, the text from
/// the opening bracket onwards is parsed with [`parse_partial_json`], so a streamed
/// document yields its partial value. Text without any opening bracket yields `None`.
///
/// Prose before and after the JSON, markdown code fences and non-breaking spaces
/// (U+00A0, JSON5 whitespace) are therefore tolerated.
///
/// ```
/// use genkit_ai::extract::extract_json;
/// use serde_json::json;
///
/// let text = "Here you go:\n```json\n{\"title\": \"Dune\", \"year\": 1965}\n```\nEnjoy!";
/// assert_eq!(extract_json(text), Some(json!({"title": "Dune", "year": 1965})));
/// assert_eq!(extract_json("Sure! {\"items\": [1, 2"), Some(json!({"items": [1, 2]})));
/// assert_eq!(extract_json("no json here"), None);
/// ```
#[must_use]
pub fn extract_json(text: &str) -> Option<Value> {
    match locate_json(text) {
        Located::NotFound => None,
        Located::Complete(slice) => parse_json5(slice),
        Located::Partial(slice) => parse_partial_json(slice),
    }
}

/// Like [`extract_json`], but failing instead of returning `None` (JS
/// `extractJson(text, true)`).
///
/// As in JS, both "no JSON object or array found" and "the extracted JSON is invalid"
/// are errors, with the message `Invalid JSON extracted from model output: <text>`
/// (where `<text>` is the whole input). Successful extraction is `Ok(Some(value))`;
/// `Ok(None)` is not currently produced.
///
/// ```
/// use genkit_ai::extract::extract_json_strict;
/// use serde_json::json;
///
/// assert_eq!(extract_json_strict("result: [1, 2]"), Ok(Some(json!([1, 2]))));
/// assert_eq!(
///     extract_json_strict("not json"),
///     Err("Invalid JSON extracted from model output: not json".to_string())
/// );
/// ```
pub fn extract_json_strict(text: &str) -> Result<Option<Value>, String> {
    let parsed = match locate_json(text) {
        Located::NotFound => None,
        Located::Complete(slice) => parse_json5(slice),
        Located::Partial(slice) => parse_partial_json(slice),
    };
    match parsed {
        Some(value) => Ok(Some(value)),
        None => Err(format!("{INVALID_JSON_PREFIX}{text}")),
    }
}

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
    let mut in_string = false;
    let mut escape_next = false;

    for (offset, &b) in bytes.get(scan_start..).unwrap_or_default().iter().enumerate() {
        let i = scan_start + offset;
        if escape_next {
            escape_next = false;
            continue;
        }
        match b {
            b'\\' => escape_next = true,
            b'"' => in_string = !in_string,
            _ if in_string => {}
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

/// Where [`locate_json`] found JSON in a text.
enum Located<'a> {
    /// No `{` or `[` outside a string.
    NotFound,
    /// A balanced slice from the opening to the matching closing bracket.
    Complete(&'a str),
    /// The slice from the opening bracket to the end of the text (never closed).
    Partial(&'a str),
}

/// The bracket scan of JS `extractJson`.
fn locate_json(text: &str) -> Located<'_> {
    let bytes = text.as_bytes();
    // (opening bracket, closing bracket, byte offset of the opening bracket)
    let mut open: Option<(u8, u8, usize)> = None;
    let mut nesting: usize = 0;
    let mut in_string = false;
    let mut escape_next = false;

    // JS also maps U+00A0 to a space here; that cannot affect the scan, which only
    // looks at ASCII delimiters (and U+00A0 is JSON5 whitespace for the parsers).
    for (i, &b) in bytes.iter().enumerate() {
        if escape_next {
            escape_next = false;
            continue;
        }
        match b {
            b'\\' => escape_next = true,
            b'"' => in_string = !in_string,
            _ if in_string => {}
            _ => match open {
                None => {
                    if b == b'{' || b == b'[' {
                        open = Some((b, if b == b'{' { b'}' } else { b']' }, i));
                        nesting = 1;
                    }
                }
                Some((opening, closing, start)) => {
                    if b == opening {
                        nesting += 1;
                    } else if b == closing {
                        nesting -= 1;
                        if nesting == 0 {
                            return text.get(start..=i).map_or(Located::NotFound, Located::Complete);
                        }
                    }
                }
            },
        }
    }

    match open {
        Some((_, _, start)) => text.get(start..).map_or(Located::NotFound, Located::Partial),
        None => Located::NotFound,
    }
}

/// Any parse failure; in partial mode it ends parsing and closes what is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stop;

type PResult<T> = Result<T, Stop>;

/// An open container on the parser's explicit stack.
enum Frame {
    Array(Vec<Value>),
    /// An object and the key whose value is being parsed, if any.
    Object(Map<String, Value>, Option<String>),
}

impl Frame {
    /// Adds a finished child value: appended to an array, or stored under the pending key.
    fn attach(&mut self, child: Value) {
        match self {
            Frame::Array(items) => items.push(child),
            Frame::Object(map, key) => {
                if let Some(key) = key.take() {
                    map.insert(key, child);
                }
            }
        }
    }

    fn into_value(self) -> Value {
        match self {
            Frame::Array(items) => Value::Array(items),
            Frame::Object(map, _) => Value::Object(map),
        }
    }
}

/// Result of reading a fixed number of hex digits.
enum Hex {
    Value(u32),
    /// The input ended before all digits were read (all read so far were valid).
    Eof,
    /// A non-hex character.
    Bad,
}

/// What an escape sequence inside a string did.
enum Escape {
    /// Decoded (possibly to nothing, for a line continuation); continue the string.
    Done,
    /// Partial mode: the input ends inside the escape, which is dropped; the string ends.
    Truncated,
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
/// it completes input that ends early, as described on [`parse_partial_json`].
struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    partial: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, partial: bool) -> Self {
        Parser { src, bytes: src.as_bytes(), pos: 0, partial }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn byte_at(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    fn char_at(&self, at: usize) -> Option<char> {
        self.src.get(at..).and_then(|rest| rest.chars().next())
    }

    fn parse_document(mut self) -> Option<Value> {
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
    fn literal(&mut self) -> PResult<Value> {
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

    fn number(&mut self) -> PResult<Value> {
        let start = self.pos;
        let negative = match self.peek() {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b'+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };

        match self.peek() {
            // Signed `Infinity` / `NaN` (or their prefixes at the end in partial mode).
            Some(b'I' | b'N') => return self.literal(),
            Some(b'0') if matches!(self.byte_at(self.pos + 1), Some(b'x' | b'X')) => {
                self.pos += 2;
                return self.hex_number(negative);
            }
            _ => {}
        }

        let int_start = self.pos;
        self.skip_digits();
        let int_end = self.pos;
        if int_end - int_start > 1 && self.byte_at(int_start) == Some(b'0') {
            return Err(Stop); // leading zeros
        }
        let mut has_point = false;
        let mut frac_digits = 0;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            has_point = true;
            let frac_start = self.pos;
            self.skip_digits();
            frac_digits = self.pos - frac_start;
        }
        if int_end == int_start && frac_digits == 0 {
            return Err(Stop); // a sign or point alone
        }

        let mut end = self.pos;
        let mut has_exponent = false;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let exp_start = self.pos;
            self.skip_digits();
            if self.pos > exp_start {
                has_exponent = true;
                end = self.pos;
            } else if !(self.partial && self.at_end(self.pos)) {
                return Err(Stop);
            }
            // else: partial mode drops an exponent cut off at the end (`1e-` → `1`).
        }

        if self.partial && has_point && frac_digits == 0 && !has_exponent && self.at_end(self.pos) {
            // `12.` at the end: JS `JSON.parse` rejects it, so partial-json drops it.
            return Err(Stop);
        }

        if !has_point && !has_exponent {
            let digits = self.bytes.get(int_start..int_end).unwrap_or_default();
            if let Some(magnitude) = digits_to_u64(digits, 10) {
                return Ok(integer_value(negative, magnitude));
            }
        }
        let text = self.src.get(start..end).ok_or(Stop)?;
        text.parse::<f64>().map(float_value).map_err(|_| Stop)
    }

    /// The digits of a hex number; `pos` is just past `0x`.
    fn hex_number(&mut self, negative: bool) -> PResult<Value> {
        let digits_start = self.pos;
        while matches!(self.peek(), Some(b) if b.is_ascii_hexdigit()) {
            self.pos += 1;
        }
        let digits = self.bytes.get(digits_start..self.pos).unwrap_or_default();
        if digits.is_empty() {
            return Err(Stop);
        }
        if let Some(magnitude) = digits_to_u64(digits, 16) {
            return Ok(integer_value(negative, magnitude));
        }
        let magnitude = digits.iter().fold(0.0_f64, |acc, &d| acc * 16.0 + f64::from(hex_digit(d).unwrap_or(0)));
        Ok(float_value(if negative { -magnitude } else { magnitude }))
    }

    fn skip_digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// Reads a string literal starting at its opening `quote`. Returns the decoded text
    /// and whether the closing quote was found (only ever `false` in partial mode).
    fn string(&mut self, quote: u8) -> PResult<(String, bool)> {
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let Some(b) = self.peek() else {
                if !self.partial {
                    return Err(Stop);
                }
                self.flush(&mut out, run_start)?;
                return Ok((out, false));
            };
            if b == quote {
                self.flush(&mut out, run_start)?;
                self.pos += 1;
                return Ok((out, true));
            }
            match b {
                b'\\' => {
                    self.flush(&mut out, run_start)?;
                    self.pos += 1;
                    match self.escape(&mut out)? {
                        Escape::Done => run_start = self.pos,
                        Escape::Truncated => return Ok((out, false)),
                    }
                }
                b'\n' | b'\r' => return Err(Stop),
                _ => self.pos += 1,
            }
        }
    }

    /// Appends the raw text from `run_start` to the current position.
    fn flush(&self, out: &mut String, run_start: usize) -> PResult<()> {
        out.push_str(self.src.get(run_start..self.pos).ok_or(Stop)?);
        Ok(())
    }

    /// In partial mode the input ends inside an escape: drop it and end the string.
    fn truncated(&self) -> PResult<Escape> {
        if self.partial { Ok(Escape::Truncated) } else { Err(Stop) }
    }

    /// Decodes the escape sequence after a backslash (at `pos`) into `out`.
    fn escape(&mut self, out: &mut String) -> PResult<Escape> {
        let Some(b) = self.peek() else {
            return self.truncated();
        };
        let decoded = match b {
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'v' => '\u{b}',
            b'0' => {
                if matches!(self.byte_at(self.pos + 1), Some(b'0'..=b'9')) {
                    return Err(Stop);
                }
                '\0'
            }
            b'1'..=b'9' => return Err(Stop),
            b'x' => {
                self.pos += 1;
                return match self.hex(2) {
                    Hex::Value(code) => {
                        out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
                        Ok(Escape::Done)
                    }
                    Hex::Eof => self.truncated(),
                    Hex::Bad => Err(Stop),
                };
            }
            b'u' => {
                self.pos += 1;
                return self.unicode_escape(out);
            }
            // Line continuations.
            b'\n' => {
                self.pos += 1;
                return Ok(Escape::Done);
            }
            b'\r' => {
                self.pos += 1;
                if self.peek() == Some(b'\n') {
                    self.pos += 1;
                }
                return Ok(Escape::Done);
            }
            b if b.is_ascii() => char::from(b),
            _ => {
                let c = self.char_at(self.pos).ok_or(Stop)?;
                self.pos += c.len_utf8();
                if c != '\u{2028}' && c != '\u{2029}' {
                    out.push(c);
                }
                return Ok(Escape::Done);
            }
        };
        self.pos += 1;
        out.push(decoded);
        Ok(Escape::Done)
    }

    /// Decodes `XXXX` after `\u` (at `pos`), combining surrogate pairs; a lone surrogate
    /// becomes U+FFFD (JS keeps lone UTF-16 surrogates, which Rust strings cannot hold).
    fn unicode_escape(&mut self, out: &mut String) -> PResult<Escape> {
        let code = match self.hex(4) {
            Hex::Value(code) => code,
            Hex::Eof => return self.truncated(),
            Hex::Bad => return Err(Stop),
        };
        let decoded = match code {
            0xD800..=0xDBFF => {
                if self.peek() == Some(b'\\') && self.byte_at(self.pos + 1) == Some(b'u') {
                    let saved = self.pos;
                    self.pos += 2;
                    match self.hex(4) {
                        Hex::Value(low @ 0xDC00..=0xDFFF) => {
                            char::from_u32(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
                                .unwrap_or(char::REPLACEMENT_CHARACTER)
                        }
                        // The low half may still be coming: drop the pair's beginning.
                        Hex::Eof => return self.truncated(),
                        _ => {
                            // Not a low surrogate: re-read that escape on its own.
                            self.pos = saved;
                            char::REPLACEMENT_CHARACTER
                        }
                    }
                } else if self.partial
                    && (self.pos == self.bytes.len()
                        || (self.peek() == Some(b'\\') && self.pos + 1 == self.bytes.len()))
                {
                    return self.truncated();
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            }
            _ => char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        out.push(decoded);
        Ok(Escape::Done)
    }

    /// Reads exactly `count` hex digits at `pos`.
    fn hex(&mut self, count: usize) -> Hex {
        let mut value = 0u32;
        for offset in 0..count {
            match self.byte_at(self.pos + offset) {
                None => return Hex::Eof,
                Some(b) => match hex_digit(b) {
                    Some(digit) => value = value * 16 + digit,
                    None => return Hex::Bad,
                },
            }
        }
        self.pos += count;
        Hex::Value(value)
    }

    /// An unquoted (ECMAScript `IdentifierName`) object key, with `\uXXXX` escapes.
    fn identifier(&mut self) -> PResult<String> {
        let start = self.pos;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let first = self.pos == start;
            match self.peek() {
                Some(b) if b.is_ascii_alphabetic() || b == b'$' || b == b'_' || (!first && b.is_ascii_digit()) => {
                    self.pos += 1;
                }
                Some(b'\\') => {
                    self.flush(&mut out, run_start)?;
                    if self.byte_at(self.pos + 1) != Some(b'u') {
                        return Err(Stop);
                    }
                    self.pos += 2;
                    let Hex::Value(code) = self.hex(4) else {
                        return Err(Stop);
                    };
                    let c = char::from_u32(code).ok_or(Stop)?;
                    if !is_identifier_char(c, first) {
                        return Err(Stop);
                    }
                    out.push(c);
                    run_start = self.pos;
                }
                Some(b) if b >= 0x80 => match self.char_at(self.pos) {
                    Some(c) if is_identifier_char(c, first) => self.pos += c.len_utf8(),
                    _ => break,
                },
                _ => break,
            }
        }
        if self.pos == start {
            return Err(Stop);
        }
        self.flush(&mut out, run_start)?;
        Ok(out)
    }

    /// Skips whitespace and comments. An unterminated comment is an error, except in
    /// partial mode, where it just runs to the end of the input.
    fn skip_trivia(&mut self) -> PResult<()> {
        let (end, unterminated) = self.trivia_end(self.pos);
        if unterminated {
            if !self.partial {
                return Err(Stop);
            }
            self.pos = self.bytes.len();
        } else {
            self.pos = end;
        }
        Ok(())
    }

    /// Whether only whitespace and comments follow `at`.
    fn at_end(&self, at: usize) -> bool {
        let (end, unterminated) = self.trivia_end(at);
        unterminated || end >= self.bytes.len()
    }

    /// The position after the whitespace and comments starting at `at`, and whether the
    /// input ended inside a comment (or on a lone `/`).
    fn trivia_end(&self, mut at: usize) -> (usize, bool) {
        loop {
            match self.byte_at(at) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) => at += 1,
                Some(b'/') => match self.byte_at(at + 1) {
                    Some(b'/') => {
                        at += 2;
                        while let Some(b) = self.byte_at(at) {
                            if b == b'\n' || b == b'\r' || self.is_unicode_line_break(at) {
                                break;
                            }
                            at += 1;
                        }
                    }
                    Some(b'*') => {
                        at += 2;
                        loop {
                            match self.byte_at(at) {
                                None => return (at, true),
                                Some(b'*') if self.byte_at(at + 1) == Some(b'/') => {
                                    at += 2;
                                    break;
                                }
                                Some(_) => at += 1,
                            }
                        }
                    }
                    None => return (at, true),
                    Some(_) => return (at, false),
                },
                Some(b) if b >= 0x80 => match self.char_at(at) {
                    Some(c) if is_json5_space(c) => at += c.len_utf8(),
                    _ => return (at, false),
                },
                _ => return (at, false),
            }
        }
    }

    /// Whether U+2028 or U+2029 (a JSON5 line terminator) starts at `at`.
    fn is_unicode_line_break(&self, at: usize) -> bool {
        self.byte_at(at) == Some(0xE2)
            && self.byte_at(at + 1) == Some(0x80)
            && matches!(self.byte_at(at + 2), Some(0xA8 | 0xA9))
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

/// Partial mode, after a failure: closes every open container, each becoming the value
/// of its parent's pending member; the innermost pending member is dropped.
fn close_all(mut stack: Vec<Frame>) -> Option<Value> {
    let mut child: Option<Value> = None;
    while let Some(mut frame) = stack.pop() {
        if let Some(value) = child.take() {
            frame.attach(value);
        }
        child = Some(frame.into_value());
    }
    child
}

fn hex_digit(b: u8) -> Option<u32> {
    char::from(b).to_digit(16)
}

/// The value of ASCII `digits` in `radix`, if it fits a `u64`.
fn digits_to_u64(digits: &[u8], radix: u32) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        let digit = char::from(d).to_digit(radix)?;
        acc.checked_mul(u64::from(radix))?.checked_add(u64::from(digit))
    })
}

/// An integer number, as `serde_json` would parse it (`-0` is the float `-0.0`).
fn integer_value(negative: bool, magnitude: u64) -> Value {
    if !negative {
        return Value::Number(Number::from(magnitude));
    }
    if magnitude == 0 {
        return float_value(-0.0);
    }
    match i64::try_from(-i128::from(magnitude)) {
        Ok(n) => Value::Number(Number::from(n)),
        Err(_) => float_value(-(magnitude as f64)),
    }
}

/// A float number; non-finite values become `null`.
fn float_value(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// JSON5 whitespace: ECMAScript `WhiteSpace` and `LineTerminator` (which is also what
/// JS `String.prototype.trim` removes).
fn is_json5_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

/// Approximates ECMAScript `ID_Start` / `ID_Continue` for non-ASCII characters with the
/// Unicode `Alphabetic` / `Alphanumeric` properties available in `std`.
fn is_identifier_char(c: char, first: bool) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic() || c == '$' || c == '_' || (!first && c.is_ascii_digit());
    }
    if first { c.is_alphabetic() } else { c.is_alphanumeric() || c == '\u{200C}' || c == '\u{200D}' }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn j5(text: &str) -> Value {
        match parse_json5(text) {
            Some(value) => value,
            None => panic!("expected {text:?} to parse as JSON5"),
        }
    }

    fn partial(text: &str) -> Option<Value> {
        parse_partial_json(text)
    }

    // ---------------------------------------------------------------- parse_json5

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
    fn json5_integers_stay_integers() {
        assert_eq!(j5("1").to_string(), "1");
        assert_eq!(j5("-42").to_string(), "-42");
        assert_eq!(j5("[1, 2.5]").to_string(), "[1,2.5]");
        assert!(j5("7").is_u64());
        assert!(j5("-7").is_i64());
        assert!(j5("1.0").is_f64());
        assert!(j5("1e2").is_f64());
        assert_eq!(j5("-0").to_string(), "-0.0"); // same as serde_json
    }

    #[test]
    fn json5_single_quoted_strings() {
        assert_eq!(j5(r#"'it''s'"#.replace("''", "\\'").as_str()), json!("it's"));
        assert_eq!(j5(r#"'say "hi"'"#), json!("say \"hi\""));
        assert_eq!(j5(r#""it's""#), json!("it's"));
        assert_eq!(j5("{'a': 'b'}"), json!({"a": "b"}));
        assert_eq!(parse_json5("'unterminated"), None);
        assert_eq!(parse_json5(r#"'mismatched""#), None);
    }

    #[test]
    fn json5_unquoted_keys() {
        assert_eq!(j5("{a: 1, $b: 2, _c3: 3, über: 4}"), json!({"a": 1, "$b": 2, "_c3": 3, "über": 4}));
        assert_eq!(j5(r"{\u0061b: 1}"), json!({"ab": 1}));
        assert_eq!(j5("{ab\\u0063: 1}"), json!({"abc": 1}));
        assert_eq!(j5("{ null: 1, true: 2 }"), json!({"null": 1, "true": 2}));
        assert_eq!(parse_json5("{1a: 1}"), None);
        assert_eq!(parse_json5("{a b: 1}"), None);
        assert_eq!(parse_json5("{a-b: 1}"), None);
        assert_eq!(parse_json5(r"{\u0031: 1}"), None); // escaped digit cannot start
        assert_eq!(parse_json5("{a: 1"), None);
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
    fn json5_comments() {
        let doc =
            "// leading\n{ /* inside */ a: /* before value */ 1, // trailing\n b: [2 /* x */] } /* after */ // end";
        assert_eq!(j5(doc), json!({"a": 1, "b": [2]}));
        assert_eq!(j5("1 // no newline at end"), json!(1));
        assert_eq!(j5("[1, /* multi\nline */ 2]"), json!([1, 2]));
        assert_eq!(j5("/**/[/***/]"), json!([]));
        assert_eq!(j5("[1 // comment\u{2028}, 2]"), json!([1, 2]));
        assert_eq!(parse_json5("[1] /* unterminated"), None);
        assert_eq!(parse_json5("[1] /"), None);
        assert_eq!(parse_json5("[1 / 2]"), None);
        assert_eq!(parse_json5("// only a comment"), None);
    }

    #[test]
    fn json5_hex_numbers() {
        assert_eq!(j5("0x1F"), json!(31));
        assert_eq!(j5("0XaBc"), json!(0xabc));
        assert_eq!(j5("-0x10"), json!(-16));
        assert_eq!(j5("+0x10"), json!(16));
        assert_eq!(j5("0xFFFFFFFFFFFFFFFF"), json!(u64::MAX));
        assert_eq!(j5("0x10000000000000000"), json!(18_446_744_073_709_551_616.0));
        assert_eq!(parse_json5("0x"), None);
        assert_eq!(parse_json5("0xG"), None);
        assert_eq!(parse_json5("0x1.5"), None);
    }

    #[test]
    fn json5_decimal_point_and_sign_forms() {
        assert_eq!(j5(".5"), json!(0.5));
        assert_eq!(j5("5."), json!(5.0));
        assert_eq!(j5("-.5"), json!(-0.5));
        assert_eq!(j5("+1.5"), json!(1.5));
        assert_eq!(j5("+3"), json!(3));
        assert_eq!(j5("5.e2"), json!(500.0));
        assert_eq!(j5("[.5, 5., +1]"), json!([0.5, 5.0, 1]));
        for bad in [".", "+", "-", "-.", ".e1", "1e", "1e+", "01", "-01", "00", "1.2.3", "--1", "+-1", "1x"] {
            assert_eq!(parse_json5(bad), None, "{bad}");
        }
    }

    #[test]
    fn json5_infinity_and_nan_become_null() {
        assert_eq!(j5("Infinity"), Value::Null);
        assert_eq!(j5("-Infinity"), Value::Null);
        assert_eq!(j5("+Infinity"), Value::Null);
        assert_eq!(j5("NaN"), Value::Null);
        assert_eq!(j5("-NaN"), Value::Null);
        assert_eq!(j5("[1e400, -1e400]"), json!([null, null]));
        assert_eq!(j5("{a: Infinity}"), json!({"a": null}));
        assert_eq!(parse_json5("Inf"), None);
        assert_eq!(parse_json5("-null"), None);
        assert_eq!(parse_json5("-true"), None);
    }

    #[test]
    fn json5_escapes() {
        assert_eq!(j5(r#""\x41\x7a""#), json!("Az"));
        assert_eq!(j5(r#""\v\0""#), json!("\u{b}\0"));
        assert_eq!(j5(r#""\a\c\d\'\ \é""#), json!("acd' é"));
        assert_eq!(j5("'line \\\ncontinued'"), json!("line continued"));
        assert_eq!(j5("'crlf \\\r\ncontinued'"), json!("crlf continued"));
        assert_eq!(j5("'cr \\\rcontinued'"), json!("cr continued"));
        assert_eq!(j5("'ls \\\u{2028}continued'"), json!("ls continued"));
        assert_eq!(j5(r#""\uD83D\uDE00""#), json!("😀"));
        assert_eq!(j5(r#""\ud800x""#), json!("\u{FFFD}x")); // lone surrogate
        assert_eq!(j5(r#""\udc00""#), json!("\u{FFFD}"));
        assert_eq!(j5(r#""\ud800\u0041""#), json!("\u{FFFD}A"));
        for bad in [r#""\1""#, r#""\01""#, r#""\x4""#, r#""\xZZ""#, r#""\u12""#, r#""\u12G4""#, r#""\"#] {
            assert_eq!(parse_json5(bad), None, "{bad}");
        }
    }

    #[test]
    fn json5_raw_characters_in_strings() {
        assert_eq!(j5("\"tab\there\""), json!("tab\there"));
        assert_eq!(j5("\"ls\u{2028}ps\u{2029}\""), json!("ls\u{2028}ps\u{2029}"));
        assert_eq!(j5("\"multi byte: 中文 😀\""), json!("multi byte: 中文 😀"));
        assert_eq!(parse_json5("\"new\nline\""), None);
        assert_eq!(parse_json5("\"cr\rhere\""), None);
    }

    #[test]
    fn json5_whitespace() {
        assert_eq!(j5("\u{FEFF}{\u{A0}\"a\"\u{A0}:\u{2003}1\u{3000}}\u{2028}"), json!({"a": 1}));
        assert_eq!(j5("\u{B}\u{C}[1]\u{2029}"), json!([1]));
        assert_eq!(parse_json5(""), None);
        assert_eq!(parse_json5(" \n\t\u{A0}"), None);
        assert_eq!(parse_json5("\u{200B}1"), None); // zero-width space is not whitespace
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

    // ---------------------------------------------------------- parse_partial_json

    #[test]
    fn partial_genkit_js_cases() {
        assert_eq!(partial(r#"{"a":1,"b":2}"#), Some(json!({"a": 1, "b": 2})));
        assert_eq!(partial(r#"{"a":1,"b":"#), Some(json!({"a": 1})));
        assert_eq!(partial("[1,2,3,"), Some(json!([1, 2, 3])));
        assert_eq!(partial(r#"{"a":{"b":1,"c":]}}"#), Some(json!({"a": {"b": 1}})));
    }

    #[test]
    fn partial_closes_containers() {
        assert_eq!(partial("["), Some(json!([])));
        assert_eq!(partial("{"), Some(json!({})));
        assert_eq!(partial("[[["), Some(json!([[[]]])));
        assert_eq!(partial(r#"{"a": [1, {"b": [2"#), Some(json!({"a": [1, {"b": [2]}]})));
        assert_eq!(partial(r#"{"a": {"#), Some(json!({"a": {}})));
        assert_eq!(partial(r#"{"a": ["#), Some(json!({"a": []})));
        assert_eq!(partial("[1, 2"), Some(json!([1, 2])));
        assert_eq!(partial("[1, 2 "), Some(json!([1, 2])));
    }

    #[test]
    fn partial_drops_dangling_keys() {
        assert_eq!(partial(r#"{"a": 1, ""#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b""#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b" "#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b":"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1, "b": "#), Some(json!({"a": 1})));
        assert_eq!(partial("{a: 1, bc"), Some(json!({"a": 1})));
        assert_eq!(partial("{a: 1, bc:"), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1,"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1"#), Some(json!({"a": 1})));
    }

    #[test]
    fn partial_closes_strings() {
        assert_eq!(partial(r#"{"a": ""#), Some(json!({"a": ""})));
        assert_eq!(partial(r#"{"a": "hel"#), Some(json!({"a": "hel"})));
        assert_eq!(partial(r#"["one", "tw"#), Some(json!(["one", "tw"])));
        assert_eq!(partial(r#"""#), Some(json!("")));
        assert_eq!(partial(r#""abc"#), Some(json!("abc")));
        assert_eq!(partial("{'a': 'single"), Some(json!({"a": "single"})));
        // Trailing whitespace is trimmed first, as JS `trim()` does in partial-json.
        assert_eq!(partial(r#"{"a": "hello "#), Some(json!({"a": "hello"})));
        assert_eq!(partial(r#"{"a": "multi byte 中"#), Some(json!({"a": "multi byte 中"})));
    }

    #[test]
    fn partial_drops_incomplete_escapes() {
        assert_eq!(partial(r#"["ab\"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\n"#), Some(json!(["ab\n"])));
        assert_eq!(partial(r#"["ab\u"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\u00"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\u00e9"#), Some(json!(["abé"])));
        assert_eq!(partial(r#"["ab\x4"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d\"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d\ude"#), Some(json!(["ab"])));
        assert_eq!(partial(r#"["ab\ud83d\ude00"#), Some(json!(["ab😀"])));
        assert_eq!(partial(r#"" \x12"#), Some(json!(" \u{12}")));
        assert_eq!(partial(r#"" \x1"#), Some(json!(" "))); // partial-json test: `" \x12` (JS) → " "
    }

    #[test]
    fn partial_completes_literals() {
        assert_eq!(partial("[t"), Some(json!([true])));
        assert_eq!(partial("[tr"), Some(json!([true])));
        assert_eq!(partial("[tru"), Some(json!([true])));
        assert_eq!(partial("[f"), Some(json!([false])));
        assert_eq!(partial("[fal"), Some(json!([false])));
        assert_eq!(partial("[n"), Some(json!([null])));
        assert_eq!(partial("[nul"), Some(json!([null])));
        assert_eq!(partial(r#"{"a": tr"#), Some(json!({"a": true})));
        assert_eq!(partial(r#"{"a": nu  "#), Some(json!({"a": null})));
        assert_eq!(partial("[I"), Some(json!([null])));
        assert_eq!(partial("[-Inf"), Some(json!([null])));
        assert_eq!(partial("[-I"), Some(json!([null])));
        assert_eq!(partial("[Na"), Some(json!([null])));
        assert_eq!(partial("t"), Some(json!(true)));
        assert_eq!(partial("fals"), Some(json!(false)));
        assert_eq!(partial("n"), Some(json!(null)));
        // Only at the very end, and only real prefixes.
        assert_eq!(partial("[tr, 1"), Some(json!([])));
        assert_eq!(partial("[tx"), Some(json!([])));
        assert_eq!(partial("[1, trux"), Some(json!([1])));
        assert_eq!(partial("x"), None);
    }

    #[test]
    fn partial_numbers() {
        assert_eq!(partial("[1"), Some(json!([1])));
        assert_eq!(partial("[12"), Some(json!([12])));
        assert_eq!(partial(r#"{"a": 12"#), Some(json!({"a": 12})));
        assert_eq!(partial("[1, -"), Some(json!([1])));
        assert_eq!(partial("[1, +"), Some(json!([1])));
        assert_eq!(partial("[1, 12."), Some(json!([1])));
        assert_eq!(partial(r#"{"a": 1, "b": 12."#), Some(json!({"a": 1})));
        assert_eq!(partial("[1, 12.5"), Some(json!([1, 12.5])));
        assert_eq!(partial("[1e"), Some(json!([1])));
        assert_eq!(partial("[1e+"), Some(json!([1])));
        assert_eq!(partial("[-1.25e"), Some(json!([-1.25])));
        assert_eq!(partial("[-1.25e+"), Some(json!([-1.25])));
        assert_eq!(partial("[-1.25e+4"), Some(json!([-12500.0])));
        assert_eq!(partial("[1.E"), Some(json!([]))); // mantissa `1.` is unfinished as well
        assert_eq!(partial("[0x"), Some(json!([])));
        assert_eq!(partial("[0x1f"), Some(json!([31])));
        assert_eq!(partial("[."), Some(json!([])));
        assert_eq!(partial("[.5"), Some(json!([0.5])));
        // `12.` is complete when something follows it.
        assert_eq!(partial("[12., 3"), Some(json!([12.0, 3])));
        // Top level (partial-json: `-` and `12.` fail, `1e` is 1).
        assert_eq!(partial("-"), None);
        assert_eq!(partial("12."), None);
        assert_eq!(partial("12"), Some(json!(12)));
        assert_eq!(partial("-1.25e"), Some(json!(-1.25)));
        assert_eq!(partial("0"), Some(json!(0)));
    }

    #[test]
    fn partial_errors_keep_what_was_parsed() {
        assert_eq!(partial(r#"{"a": 1, "b": @@@"#), Some(json!({"a": 1})));
        assert_eq!(partial("[1, foo, 3]"), Some(json!([1])));
        assert_eq!(partial(r#"{"a": [1, 2]]"#), Some(json!({"a": [1, 2]})));
        assert_eq!(partial(r#"[{"a": 1} {"b": 2}]"#), Some(json!([{"a": 1}])));
        assert_eq!(partial(r#""bad \q escape" x"#), Some(json!("bad q escape")));
        assert_eq!(partial("@"), None);
        assert_eq!(partial(""), None);
        assert_eq!(partial(" \n\u{A0}"), None);
    }

    #[test]
    fn partial_json5_features_and_comments() {
        assert_eq!(
            partial("{a: 'x', b: [1, 2,], // note\n c: 0x10, d: .5"),
            Some(json!({"a": "x", "b": [1, 2], "c": 16, "d": 0.5}))
        );
        assert_eq!(partial(r#"{"a": 1, // comment"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1 /* unterminated"#), Some(json!({"a": 1})));
        assert_eq!(partial(r#"{"a": 1 /"#), Some(json!({"a": 1})));
        assert_eq!(partial("[12. /* c"), Some(json!([])));
    }

    #[test]
    fn partial_ignores_content_after_complete_value() {
        assert_eq!(partial(r#"{"a": 1} trailing text {"#), Some(json!({"a": 1})));
        assert_eq!(partial("[1] [2"), Some(json!([1])));
        assert_eq!(partial(r#""done" more"#), Some(json!("done")));
    }

    #[test]
    fn partial_complete_input_matches_json5() {
        let docs = [
            r#"{"a": [1, 2.5, -3e2, true, false, null, "s"], "b": {"c": {}}, "d": []}"#,
            "{unquoted: 'single', trailing: [1,], hex: 0xff, /* c */ inf: -Infinity,}",
            "[]",
            "\"str\"",
            "42",
            "-1.5e3",
            "true",
        ];
        for doc in docs {
            assert_eq!(partial(doc), parse_json5(doc), "{doc}");
            assert!(partial(doc).is_some(), "{doc}");
        }
    }

    /// Byte offsets of all char boundaries of `text`, i.e. every valid prefix length.
    fn prefix_lengths(text: &str) -> impl Iterator<Item = usize> + '_ {
        (0..=text.len()).filter(|&i| text.is_char_boundary(i))
    }

    const SAMPLE: &str = r#"{
  "title": "Partial \"JSON\" — ünïcödé 😀 \u00e9\ud83d\ude00",
  'tags': ['a', "b\\c", [], {}],
  count: 12.5e-1,
  neg: -42,
  hex: 0x1F,
  flags: [true, false, null, Infinity, NaN],
  // a comment
  nested: {"deep": [[1, 2], {"x": "y"}], /* block */ "empty": ""},
  last: "end",
}"#;

    #[test]
    fn partial_every_prefix_of_sample_document() {
        let full = parse_json5(SAMPLE);
        assert!(full.is_some());
        let mut previous_len = 0;
        for len in prefix_lengths(SAMPLE) {
            let prefix = SAMPLE.get(..len).unwrap_or_default();
            let value = partial(prefix);
            if len == 0 {
                assert_eq!(value, None);
                continue;
            }
            // Every non-empty prefix starts with `{`, so it always yields an object.
            let Some(Value::Object(map)) = value else {
                panic!("prefix {prefix:?} gave {value:?}");
            };
            // Members only ever get added as the prefix grows (values may still change).
            assert!(map.len() + 1 >= previous_len, "{prefix:?}");
            previous_len = map.len();
            // And the same holds for extract_json with prose around it.
            let wrapped = format!("Sure:\n```json\n{prefix}");
            assert_eq!(extract_json(&wrapped), Some(Value::Object(map)), "{prefix:?}");
        }
        assert_eq!(partial(SAMPLE), full);
    }

    #[test]
    fn partial_prefix_sequence_of_small_document() {
        let doc = r#"{"a": [1, "xy"], "b": true}"#;
        let expected = [
            json!({}),                          // {
            json!({}),                          // {"
            json!({}),                          // {"a
            json!({}),                          // {"a"
            json!({}),                          // {"a":
            json!({}),                          // {"a": (trimmed)
            json!({"a": []}),                   // {"a": [
            json!({"a": [1]}),                  // {"a": [1
            json!({"a": [1]}),                  // {"a": [1,
            json!({"a": [1]}),                  // {"a": [1, (trimmed)
            json!({"a": [1, ""]}),              // {"a": [1, "
            json!({"a": [1, "x"]}),             // {"a": [1, "x
            json!({"a": [1, "xy"]}),            // {"a": [1, "xy
            json!({"a": [1, "xy"]}),            // {"a": [1, "xy"
            json!({"a": [1, "xy"]}),            // ]
            json!({"a": [1, "xy"]}),            // ,
            json!({"a": [1, "xy"]}),            // space
            json!({"a": [1, "xy"]}),            // "
            json!({"a": [1, "xy"]}),            // "b
            json!({"a": [1, "xy"]}),            // "b"
            json!({"a": [1, "xy"]}),            // :
            json!({"a": [1, "xy"]}),            // space
            json!({"a": [1, "xy"], "b": true}), // t
            json!({"a": [1, "xy"], "b": true}), // r
            json!({"a": [1, "xy"], "b": true}), // u
            json!({"a": [1, "xy"], "b": true}), // e
            json!({"a": [1, "xy"], "b": true}), // }
        ];
        assert_eq!(doc.len(), expected.len());
        for (len, want) in (1..=doc.len()).zip(expected) {
            assert_eq!(partial(&doc[..len]), Some(want), "prefix {:?}", &doc[..len]);
        }
    }

    // ----------------------------------------------------------------- extract_json

    #[test]
    fn extract_json_genkit_js_cases() {
        assert_eq!(extract_json(r#"prefix{"a":1}suffix"#), Some(json!({"a": 1})));
        assert_eq!(extract_json("prefix[1,2,3]suffix"), Some(json!([1, 2, 3])));
        assert_eq!(extract_json(r#"text{"a":{"b":[1,2]}}more"#), Some(json!({"a": {"b": [1, 2]}})));
        assert_eq!(extract_json(r#"{"text": "not {a} json"}"#), Some(json!({"text": "not {a} json"})));
        assert_eq!(extract_json("not json at all"), None);
        assert_eq!(
            extract_json_strict("not json at all"),
            Err("Invalid JSON extracted from model output: not json at all".to_string())
        );
    }

    #[test]
    fn extract_json_markdown_fences_and_prose() {
        let text = "Here is the data you asked for:\n\n```json\n{\n  \"name\": \"Ada\",\n  \"langs\": [\"en\", \"fr\"]\n}\n```\n\nLet me know if you need more [details].";
        assert_eq!(extract_json(text), Some(json!({"name": "Ada", "langs": ["en", "fr"]})));
        let text = "```\n[{\"a\": 1}, {\"b\": [2, 3]}]\n```";
        assert_eq!(extract_json(text), Some(json!([{"a": 1}, {"b": [2, 3]}])));
        let text = "Result: {answer: 'yes', /* JSON5 */ score: .9,} (done)";
        assert_eq!(extract_json(text), Some(json!({"answer": "yes", "score": 0.9})));
    }

    #[test]
    fn extract_json_brackets_inside_strings() {
        let text = r#"Output: {"code": "fn main() { let v = [1, 2]; }", "note": "}}]]"} trailing }"#;
        assert_eq!(extract_json(text), Some(json!({"code": "fn main() { let v = [1, 2]; }", "note": "}}]]"})));
        let text = r#"["a]", "\"]", "[["] after"#;
        assert_eq!(extract_json(text), Some(json!(["a]", "\"]", "[["])));
        // Only the first bracket kind is counted.
        assert_eq!(extract_json(r#"[{"a": "x"}, {"b": 2}] and {"c": 3}"#), Some(json!([{"a": "x"}, {"b": 2}])));
        assert_eq!(extract_json(r#"{"a": [1, [2]]} [3]"#), Some(json!({"a": [1, [2]]})));
    }

    #[test]
    fn extract_json_unterminated_in_prose() {
        assert_eq!(
            extract_json(r#"Sure! Here: {"items": [{"n": 1}, {"n": 2"#),
            Some(json!({"items": [{"n": 1}, {"n": 2}]}))
        );
        assert_eq!(extract_json("Sure! [1, 2, 3"), Some(json!([1, 2, 3])));
        assert_eq!(extract_json(r#"{"a": "unterminated {"#), Some(json!({"a": "unterminated {"})));
        assert_eq!(extract_json("{"), Some(json!({})));
        assert_eq!(extract_json_strict(r#"{"a": 1, "b": "#), Ok(Some(json!({"a": 1}))));
    }

    #[test]
    fn extract_json_nbsp() {
        let text = "Answer:\u{A0}{\u{A0}\"a\":\u{A0}1,\u{A0}\"b\":\u{A0}[2]\u{A0}}\u{A0}done";
        assert_eq!(extract_json(text), Some(json!({"a": 1, "b": [2]})));
        let text = "{\u{A0}\"a\":\u{A0}\"x\u{A0}y\",\u{A0}\"b\"";
        assert_eq!(extract_json(text), Some(json!({"a": "x\u{A0}y"})));
    }

    #[test]
    fn extract_json_invalid_balanced_json() {
        let text = "look: {not valid json at all} ok";
        assert_eq!(extract_json(text), None);
        assert_eq!(extract_json_strict(text), Err(format!("Invalid JSON extracted from model output: {text}")));
        // The first balanced candidate decides, like in JS.
        assert_eq!(extract_json(r#"{oops} {"a": 1}"#), None);
        assert_eq!(extract_json_strict(r#"x [1, 2] y"#), Ok(Some(json!([1, 2]))));
    }

    #[test]
    fn extract_json_backslash_escapes_outside_strings() {
        // JS treats a backslash anywhere as escaping the next character.
        assert_eq!(extract_json(r#"\{ {"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(extract_json(r#"\"{"a": 1}"#), Some(json!({"a": 1})));
        assert_eq!(extract_json(r"\[ \{"), None);
    }

    // ---------------------------------------------------------------- extract_items

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

    // ------------------------------------------------------------------------ fuzz

    /// A tiny deterministic xorshift generator (no external crates).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
        }
    }

    const PIECES: &[&str] = &[
        "{", "}", "[", "]", ",", ":", "\"", "'", "\\", "\\u", "\\x", "d83d", "\\ude00", "0", "1", "9", "-", "+", ".",
        "e", "E", "0x", "f", "t", "tr", "true", "n", "nul", "I", "Inf", "NaN", "a", "key", "$", "_", " ", "\n", "\r",
        "\t", "\u{A0}", "\u{2028}", "\u{FEFF}", "/", "*", "//", "/*", "*/", "é", "中", "😀", "\u{200C}", "```json",
        "Here: ",
    ];

    #[test]
    fn fuzz_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..4000 {
            let len = rng.below(40);
            let mut text = String::new();
            for _ in 0..len {
                text.push_str(PIECES[rng.below(PIECES.len())]);
            }
            let strict = parse_json5(&text);
            let lenient = parse_partial_json(&text);
            if let Some(value) = &strict {
                // Anything valid is also accepted by the partial parser, identically
                // (except a top-level number that ends with a decimal point).
                if !text.trim_end_matches(is_json5_space).ends_with('.') {
                    assert_eq!(lenient.as_ref(), Some(value), "{text:?}");
                }
                // Output always round-trips through serde_json.
                let serialized = value.to_string();
                assert_eq!(serde_json::from_str::<Value>(&serialized).ok().as_ref(), Some(value), "{text:?}");
            }
            let _ = extract_json(&text);
            let _ = extract_json_strict(&text);
            let cursor = rng.below(text.len() + 2);
            let (_, next) = extract_items(&text, cursor);
            assert!(next <= text.len().max(cursor));
            let (_, next) = extract_items(&text, 0);
            assert!(next <= text.len());
        }
    }

    const STRING_PIECES: &[&str] = &[
        "a", "Z", " ", "'", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{7f}", "é", "中", "😀", "\u{2028}", "{", "]",
        "\u{A0}",
    ];

    fn random_string(rng: &mut Rng) -> String {
        (0..rng.below(6)).map(|_| STRING_PIECES[rng.below(STRING_PIECES.len())]).collect()
    }

    fn random_value(rng: &mut Rng, depth: usize) -> Value {
        let kinds = if depth >= 4 { 6 } else { 8 };
        match rng.below(kinds) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 1),
            2 => json!(rng.next() >> rng.below(64)),
            3 => json!(-i64::try_from(rng.next() >> (1 + rng.below(63))).unwrap_or(0)),
            4 => {
                let f = f64::from_bits(rng.next());
                if f.is_finite() {
                    json!(f)
                } else {
                    json!(f64::from(u32::try_from(rng.below(1000)).unwrap_or(0)) / 8.0)
                }
            }
            5 => Value::String(random_string(rng)),
            6 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
            _ => Value::Object((0..rng.below(4)).map(|_| (random_string(rng), random_value(rng, depth + 1))).collect()),
        }
    }

    /// Writes `value` as JSON5 using many of its extensions.
    fn write_json5(rng: &mut Rng, value: &Value, out: &mut String) {
        let trivia = |rng: &mut Rng, out: &mut String| match rng.below(8) {
            0 => out.push_str(" /* c */ "),
            1 => out.push_str(" // c\n"),
            2 => out.push('\u{A0}'),
            _ => {}
        };
        match value {
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) if rng.below(2) == 0 => out.push_str(&format!("0x{u:X}")),
                (Some(u), _) if rng.below(2) == 0 => out.push_str(&format!("+{u}")),
                (None, Some(i)) if rng.below(2) == 0 => out.push_str(&format!("-0x{:x}", i.unsigned_abs())),
                _ => out.push_str(&n.to_string()),
            },
            Value::String(s) => {
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str(if rng.below(2) == 0 { "\\n" } else { "\\x0A" }),
                        c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                        '😀' if rng.below(2) == 0 => out.push_str("\\uD83D\\uDE00"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
            }
            Value::Array(items) => {
                out.push('[');
                for item in items {
                    trivia(rng, out);
                    write_json5(rng, item, out);
                    out.push(',');
                }
                if !items.is_empty() && rng.below(2) == 0 {
                    out.pop();
                }
                trivia(rng, out);
                out.push(']');
            }
            Value::Object(map) => {
                out.push('{');
                for (key, item) in map {
                    trivia(rng, out);
                    let identifier = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && key.chars().all(|c| c.is_ascii_alphanumeric());
                    if identifier {
                        out.push_str(key);
                    } else {
                        out.push_str(&Value::String(key.clone()).to_string());
                    }
                    out.push(':');
                    trivia(rng, out);
                    write_json5(rng, item, out);
                    out.push(',');
                }
                if !map.is_empty() && rng.below(2) == 0 {
                    out.pop();
                }
                trivia(rng, out);
                out.push('}');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    #[test]
    fn random_documents_round_trip_and_all_prefixes_parse() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        for round in 0..300 {
            let value = random_value(&mut rng, 0);
            let compact = value.to_string();
            let pretty = serde_json::to_string_pretty(&value).unwrap_or_default();
            let mut json5 = String::new();
            write_json5(&mut rng, &value, &mut json5);
            for doc in [&compact, &pretty, &json5] {
                assert_eq!(parse_json5(doc).as_ref(), Some(&value), "{doc}");
                assert_eq!(parse_partial_json(doc).as_ref(), Some(&value), "{doc}");
            }
            if value.is_array() || value.is_object() {
                let prose = format!("Sure, here it is:\n```json\n{pretty}\n```\nAnything else?");
                assert_eq!(extract_json(&prose).as_ref(), Some(&value), "{prose}");
                // Every prefix of a container document yields a container.
                if round % 3 == 0 {
                    for doc in [&compact, &json5] {
                        for len in prefix_lengths(doc).skip(1) {
                            let prefix = doc.get(..len).unwrap_or_default();
                            let parsed = parse_partial_json(prefix);
                            assert!(matches!(parsed, Some(Value::Array(_) | Value::Object(_))), "{prefix:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn fuzz_all_prefixes_and_cursors_never_panic() {
        let text = format!("Intro ✓ {SAMPLE} outro [{{\"a\": \"]\\\"\"}}, {{\"b\": [1, {{}}]}}]");
        for len in prefix_lengths(&text) {
            let prefix = text.get(..len).unwrap_or_default();
            let _ = parse_partial_json(prefix);
            let _ = parse_json5(prefix);
            let _ = extract_json(prefix);
            for cursor in [0, 1, len / 2, len, len + 5] {
                let _ = extract_items(prefix, cursor);
            }
        }
        // Cursors inside multi-byte characters are tolerated too.
        for cursor in 0..text.len() {
            let _ = extract_items(&text, cursor);
        }
    }
}
