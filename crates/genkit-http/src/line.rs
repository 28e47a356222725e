//! The byte buffer under every framing: bytes in, complete lines out, each byte scanned once.

use std::ops::Range;

use genkit_core::{Error, Status};

/// The UTF-8 byte order mark, skipped once at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Which bytes end a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endings {
    /// CR, LF or CRLF (Server-Sent Events).
    Any,
    /// LF, with a CR just before it dropped (NDJSON).
    Lf,
}

/// A line longer than the cap; the buffer has been emptied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLong;

/// The error for a line or event over its cap: `RESOURCE_EXHAUSTED` (as gRPC answers a message
/// over its size limit), naming the limit and the option that sets it.
pub(crate) fn over_limit(what: &str, limit: usize, option: &str) -> Error {
    Error::new(Status::ResourceExhausted, format!("{what} longer than the limit of {limit} bytes (set by {option})"))
}

/// Buffers partial lines between chunks.
///
/// `buf[pos..]` is not consumed yet and `buf[pos..scan]` is known to hold no line end, so a
/// long line arriving in many small chunks is scanned once, not once per chunk. Consumed
/// bytes are dropped at the next [`LineBuffer::push`], which moves each byte at most once.
#[derive(Debug)]
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
    pos: usize,
    scan: usize,
    /// The last line ended with a CR: an LF right after it belongs to the same line end.
    after_cr: bool,
    bom_checked: bool,
    endings: Endings,
    max_line: usize,
}

impl LineBuffer {
    pub(crate) fn new(endings: Endings, max_line: usize) -> LineBuffer {
        LineBuffer { buf: Vec::new(), pos: 0, scan: 0, after_cr: false, bom_checked: false, endings, max_line }
    }

    pub(crate) fn max_line(&self) -> usize {
        self.max_line
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.scan -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Skips a byte order mark at the very start; `false` while too few bytes have come to tell.
    fn skip_bom(&mut self) -> bool {
        if self.bom_checked {
            return true;
        }
        let have = &self.buf[self.pos..];
        if have.len() < BOM.len() && BOM.starts_with(have) {
            return false;
        }
        if have.starts_with(BOM) {
            self.pos += BOM.len();
            self.scan = self.scan.max(self.pos);
        }
        self.bom_checked = true;
        true
    }

    /// Drops everything buffered.
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.scan = 0;
        self.after_cr = false;
    }

    /// The next complete line, without its line end.
    ///
    /// # Errors
    /// [`TooLong`] when the line (complete or not) is longer than the cap.
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>, TooLong> {
        if !self.skip_bom() {
            return Ok(None);
        }
        if self.after_cr && self.pos < self.buf.len() {
            self.after_cr = false;
            if self.buf[self.pos] == b'\n' {
                self.pos += 1;
                self.scan = self.scan.max(self.pos);
            }
        }
        let from = self.scan.max(self.pos);
        let Some(at) = find_end(&self.buf[from..], self.endings).map(|i| from + i) else {
            self.scan = self.buf.len();
            if self.buf.len() - self.pos > self.max_line {
                self.clear();
                return Err(TooLong);
            }
            return Ok(None);
        };
        let line = self.line_range(at);
        if line.len() > self.max_line {
            self.clear();
            return Err(TooLong);
        }
        self.after_cr = self.buf[at] == b'\r';
        self.pos = at + 1;
        self.scan = self.pos;
        Ok(Some(&self.buf[line]))
    }

    /// The bytes of the line that ends at `at`.
    fn line_range(&self, at: usize) -> Range<usize> {
        let end = if self.endings == Endings::Lf && at > self.pos && self.buf[at - 1] == b'\r' { at - 1 } else { at };
        self.pos..end
    }

    /// At end of stream: the last line, which no line end closed, if there is one.
    ///
    /// # Errors
    /// [`TooLong`] when that line is longer than the cap.
    pub(crate) fn take_rest(&mut self) -> Result<Option<Vec<u8>>, TooLong> {
        let mut rest = self.buf.split_off(self.pos);
        if self.after_cr && rest.first() == Some(&b'\n') {
            rest.remove(0);
        }
        if !self.bom_checked && rest.starts_with(BOM) {
            rest.drain(..BOM.len());
        }
        self.bom_checked = true;
        if self.endings == Endings::Lf && rest.last() == Some(&b'\r') {
            rest.pop();
        }
        self.clear();
        if rest.len() > self.max_line {
            return Err(TooLong);
        }
        Ok((!rest.is_empty()).then_some(rest))
    }
}

/// The index of the first line end in `hay`. Eight bytes at a time (a line end is rare, and
/// lines of JSON run to kilobytes), then byte by byte in the word that has one.
fn find_end(hay: &[u8], endings: Endings) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // Whether a byte of `word` equals `b` (the classic zero-byte test on `word ^ b…b`).
    let has = |word: u64, b: u8| {
        let x = word ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let is_end = |b: u8| b == b'\n' || (endings == Endings::Any && b == b'\r');
    let mut start = 0;
    for chunk in hay.chunks_exact(8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        if has(word, b'\n') || (endings == Endings::Any && has(word, b'\r')) {
            break;
        }
        start += 8;
    }
    hay[start..].iter().position(|&b| is_end(b)).map(|i| start + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(endings: Endings, chunks: &[&[u8]]) -> Vec<String> {
        let mut b = LineBuffer::new(endings, 1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            b.push(c);
            while let Some(l) = b.next_line().unwrap() {
                out.push(String::from_utf8_lossy(l).into_owned());
            }
        }
        if let Some(rest) = b.take_rest().unwrap() {
            out.push(format!("rest:{}", String::from_utf8_lossy(&rest)));
        }
        out
    }

    #[test]
    fn every_line_end_and_every_split() {
        let body = b"a\r\nb\rc\n\r\nd";
        let whole = lines(Endings::Any, &[body]);
        assert_eq!(whole, ["a", "b", "c", "", "rest:d"]);
        for split in 0..=body.len() {
            assert_eq!(lines(Endings::Any, &[&body[..split], &body[split..]]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(lines(Endings::Any, &bytes), whole);
    }

    #[test]
    fn lf_endings_keep_a_lone_cr_and_drop_one_before_lf() {
        assert_eq!(lines(Endings::Lf, &[b"a\rb\r\nc\r"]), ["a\rb", "rest:c"]);
        assert_eq!(lines(Endings::Lf, &[b"a\r", b"\n"]), ["a"]);
    }

    #[test]
    fn a_bom_is_skipped_once_even_split() {
        let body = b"\xEF\xBB\xBFx\n\xEF\xBB\xBFy\n";
        for split in 0..=body.len() {
            let got = lines(Endings::Any, &[&body[..split], &body[split..]]);
            assert_eq!(got, ["x", "\u{FEFF}y"], "split at {split}");
        }
        assert_eq!(lines(Endings::Any, &[b"\xEF\xBB"]), ["rest:\u{FFFD}"]);
        assert_eq!(lines(Endings::Any, &[b"\xEF\xBB\xBF"]), Vec::<String>::new());
    }

    #[test]
    fn long_lines_fail_complete_or_not() {
        let mut b = LineBuffer::new(Endings::Any, 4);
        b.push(b"abcd\nabcde\n");
        assert_eq!(b.next_line().unwrap(), Some(&b"abcd"[..]));
        assert_eq!(b.next_line(), Err(TooLong));
        let mut b = LineBuffer::new(Endings::Any, 4);
        b.push(b"abc");
        assert_eq!(b.next_line(), Ok(None));
        b.push(b"de");
        assert_eq!(b.next_line(), Err(TooLong));
        let mut b = LineBuffer::new(Endings::Lf, 4);
        b.push(b"abcdef");
        assert_eq!(b.take_rest(), Err(TooLong));
    }

    #[test]
    fn line_ends_are_found_at_every_offset() {
        for len in 0..40 {
            for at in 0..len {
                for end in [b'\n', b'\r'] {
                    let mut hay = vec![b'x'; len];
                    hay[at] = end;
                    let want = (end == b'\n').then_some(at);
                    assert_eq!(find_end(&hay, Endings::Any), Some(at), "{len} {at} {end}");
                    assert_eq!(find_end(&hay, Endings::Lf), want, "{len} {at} {end}");
                }
            }
            assert_eq!(find_end(&vec![0x8a; len], Endings::Any), None);
        }
    }

    #[test]
    fn a_long_line_in_small_chunks_is_scanned_once() {
        let mut b = LineBuffer::new(Endings::Any, usize::MAX);
        for _ in 0..10_000 {
            b.push(b"xxxxxxxx");
            assert_eq!(b.next_line(), Ok(None));
            assert_eq!(b.scan, b.buf.len());
        }
        b.push(b"\n");
        assert_eq!(b.next_line().map(|l| l.map(<[u8]>::len)), Ok(Some(80_000)));
    }
}
