//! Turning generated token ids into text as they arrive: incremental detokenization that never
//! splits a UTF-8 character, and stop sequences that are never partly emitted.

use tokenizers::Tokenizer;

/// Detokenizes a growing sequence of ids, returning only the new text each time. Decodes a
/// short window (not the whole sequence), so each step is O(1) in the output length.
#[derive(Debug, Default)]
pub(crate) struct Detokenizer {
    ids: Vec<u32>,
    prefix: usize,
    read: usize,
}

impl Detokenizer {
    /// Adds one id; returns the text it completes (empty while a character is incomplete).
    pub(crate) fn push(&mut self, tok: &Tokenizer, id: u32) -> String {
        self.ids.push(id);
        let before = tok.decode(&self.ids[self.prefix..self.read], false).unwrap_or_default();
        let now = tok.decode(&self.ids[self.prefix..], false).unwrap_or_default();
        if now.len() > before.len() && !now.ends_with('\u{FFFD}') && now.is_char_boundary(before.len()) {
            self.prefix = self.read;
            self.read = self.ids.len();
            now[before.len()..].to_owned()
        } else {
            String::new()
        }
    }

    /// The text of ids still held back (an incomplete character at the end of generation).
    pub(crate) fn rest(&self, tok: &Tokenizer) -> String {
        let before = tok.decode(&self.ids[self.prefix..self.read], false).unwrap_or_default();
        let now = tok.decode(&self.ids[self.prefix..], false).unwrap_or_default();
        now.get(before.len()..).unwrap_or_default().to_owned()
    }
}

/// Releases text as it is generated while holding back anything that may be the start of a
/// stop sequence.
#[derive(Debug)]
pub(crate) struct StopFilter {
    stops: Vec<String>,
    pending: String,
}

/// What [`StopFilter::push`] decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Filtered {
    /// Text safe to emit (may be empty); generation goes on.
    Continue(String),
    /// A stop sequence was found: emit this text (before the stop sequence) and stop.
    Stop(String),
}

impl StopFilter {
    pub(crate) fn new(stops: Vec<String>) -> Self {
        StopFilter { stops: stops.into_iter().filter(|s| !s.is_empty()).collect(), pending: String::new() }
    }

    pub(crate) fn push(&mut self, text: &str) -> Filtered {
        if self.stops.is_empty() {
            return Filtered::Continue(text.to_owned());
        }
        self.pending.push_str(text);
        if let Some(at) = self.stops.iter().filter_map(|s| self.pending.find(s.as_str())).min() {
            let out = self.pending[..at].to_owned();
            self.pending.clear();
            return Filtered::Stop(out);
        }
        let hold = self
            .stops
            .iter()
            .map(|s| {
                (1..s.len())
                    .rev()
                    .filter(|&n| s.is_char_boundary(n))
                    .find(|&n| self.pending.ends_with(&s[..n]))
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0);
        let cut = self.pending.len() - hold;
        let out = self.pending[..cut].to_owned();
        self.pending.drain(..cut);
        Filtered::Continue(out)
    }

    /// The held-back text, released when generation ends without a stop sequence.
    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (Vec<String>, bool) {
        let mut f = StopFilter::new(stops.iter().map(|s| (*s).to_owned()).collect());
        let mut out = Vec::new();
        for p in pieces {
            match f.push(p) {
                Filtered::Continue(t) => out.push(t),
                Filtered::Stop(t) => {
                    out.push(t);
                    return (out, true);
                }
            }
        }
        out.push(f.finish());
        (out, false)
    }

    #[test]
    fn stop_sequence_split_across_pieces_is_never_emitted() {
        let (out, stopped) = run(&["END"], &["abc E", "N", "D tail"]);
        assert!(stopped);
        assert_eq!(out.concat(), "abc ");
        assert_eq!(out[0], "abc ");
    }

    #[test]
    fn false_start_is_released() {
        let (out, stopped) = run(&["END"], &["a E", "x", "y"]);
        assert!(!stopped);
        assert_eq!(out.concat(), "a Exy");
    }

    #[test]
    fn earliest_of_several_stops_wins_and_unicode_is_safe() {
        let (out, stopped) = run(&["ü!", "\n\n"], &["héllo\n", "\nü!"]);
        assert!(stopped);
        assert_eq!(out.concat(), "héllo");
    }

    #[test]
    fn without_stops_text_passes_through() {
        let (out, _) = run(&[], &["a", "b"]);
        assert_eq!(out.concat(), "ab");
    }
}
