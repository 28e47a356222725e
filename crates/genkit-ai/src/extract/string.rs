//! JSON5 strings (double or single quoted, with every JSON5 escape) and unquoted object keys.

use super::json5::{PResult, Parser, Stop};
use super::number::hex_digit;

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

impl Parser<'_> {
    /// Reads a string literal starting at its opening `quote`. Returns the decoded text
    /// and whether the closing quote was found (only ever `false` in partial mode).
    pub(super) fn string(&mut self, quote: u8) -> PResult<(String, bool)> {
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
    pub(super) fn identifier(&mut self) -> PResult<String> {
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
    use serde_json::json;

    use crate::extract::parse_json5;
    use crate::extract::tests::j5;

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
}
