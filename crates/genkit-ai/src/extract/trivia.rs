//! What JSON5 lets stand between tokens: whitespace (all of ECMAScript's) and comments.

use super::json5::{PResult, Parser, Stop};

impl Parser<'_> {
    /// Skips whitespace and comments. An unterminated comment is an error, except in
    /// partial mode, where it just runs to the end of the input.
    pub(super) fn skip_trivia(&mut self) -> PResult<()> {
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
    pub(super) fn at_end(&self, at: usize) -> bool {
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

/// JSON5 whitespace: ECMAScript `WhiteSpace` and `LineTerminator` (which is also what
/// JS `String.prototype.trim` removes).
pub(super) fn is_json5_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{B}' | '\u{C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::extract::parse_json5;
    use crate::extract::tests::j5;

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
    fn json5_whitespace() {
        assert_eq!(j5("\u{FEFF}{\u{A0}\"a\"\u{A0}:\u{2003}1\u{3000}}\u{2028}"), json!({"a": 1}));
        assert_eq!(j5("\u{B}\u{C}[1]\u{2029}"), json!([1]));
        assert_eq!(parse_json5(""), None);
        assert_eq!(parse_json5(" \n\t\u{A0}"), None);
        assert_eq!(parse_json5("\u{200B}1"), None); // zero-width space is not whitespace
    }
}
