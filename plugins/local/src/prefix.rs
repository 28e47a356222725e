//! A small LRU of model states (KV caches) keyed by the tokens they hold, so a call whose prompt
//! starts like an earlier one (the next turn of a chat, the tool loop's next turn, the same
//! system prompt with a new question) evaluates only the tokens after the shared prefix.
//!
//! Entries are KV states (the weights are shared, not part of a state), so a state costs
//! `layers × 2 × kv_heads × head_dim × 4` bytes per token (46 KB for SmolLM2-135M). The cache
//! is bounded by a total token count and a number of entries.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Default bound on the tokens held by all entries (about 94 MB of KV for SmolLM2-135M).
pub(crate) const DEFAULT_TOKENS: usize = 2048;
/// Default bound on the number of entries.
pub(crate) const DEFAULT_ENTRIES: usize = 8;

struct Entry<S> {
    tokens: Vec<u32>,
    state: S,
}

/// The cache. `S` is a model state (cheap to clone).
pub(crate) struct PrefixCache<S> {
    entries: Mutex<VecDeque<Entry<S>>>,
    max_tokens: usize,
    max_entries: usize,
}

impl<S> std::fmt::Debug for PrefixCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrefixCache")
            .field("max_tokens", &self.max_tokens)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

impl<S: Clone> PrefixCache<S> {
    /// A cache holding at most `max_tokens` tokens in at most `max_entries` states (0 disables it).
    pub(crate) fn new(max_tokens: usize, max_entries: usize) -> Self {
        PrefixCache { entries: Mutex::new(VecDeque::new()), max_tokens, max_entries }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry<S>>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The longest cached state whose tokens are a proper prefix of `prompt` (at least one
    /// token must be left to evaluate, for the logits), with its length; it becomes the most
    /// recently used.
    pub(crate) fn lookup(&self, prompt: &[u32]) -> Option<(usize, S)> {
        let mut entries = self.lock();
        let best = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.tokens.len() < prompt.len() && prompt.starts_with(&e.tokens))
            .max_by_key(|(_, e)| e.tokens.len())
            .map(|(i, _)| i)?;
        let e = entries.remove(best)?;
        let out = (e.tokens.len(), e.state.clone());
        entries.push_front(e);
        Some(out)
    }

    /// Whether a state of `len` tokens would be kept (so callers copy a state only then).
    pub(crate) fn keeps(&self, len: usize) -> bool {
        self.max_entries > 0 && len > 0 && len <= self.max_tokens
    }

    /// Keeps `state`, which holds `tokens`; evicts the least recently used entries beyond the
    /// bounds.
    pub(crate) fn insert(&self, tokens: &[u32], state: S) {
        if !self.keeps(tokens.len()) {
            return;
        }
        let mut entries = self.lock();
        entries.retain(|e| e.tokens != tokens);
        entries.push_front(Entry { tokens: tokens.to_vec(), state });
        let mut total: usize = entries.iter().map(|e| e.tokens.len()).sum();
        while entries.len() > self.max_entries || total > self.max_tokens {
            match entries.pop_back() {
                Some(e) => total -= e.tokens.len(),
                None => break,
            }
        }
    }

    /// Number of entries (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_longest_proper_prefix() {
        let c = PrefixCache::new(100, 8);
        c.insert(&[1, 2], "ab");
        c.insert(&[1, 2, 3, 4], "abcd");
        c.insert(&[1, 2, 3, 4, 5], "abcde");
        assert_eq!(c.lookup(&[1, 2, 3, 4, 9]), Some((4, "abcd")));
        // An entry as long as the prompt leaves nothing to evaluate: not used.
        assert_eq!(c.lookup(&[1, 2, 3, 4, 5]), Some((4, "abcd")));
        assert_eq!(c.lookup(&[7, 1, 2]), None);
    }

    #[test]
    fn evicts_least_recently_used_beyond_the_bounds() {
        let c = PrefixCache::new(6, 2);
        c.insert(&[1], "a");
        c.insert(&[2], "b");
        assert!(c.lookup(&[1, 0]).is_some()); // "a" becomes most recent
        c.insert(&[3], "c"); // over 2 entries: "b" goes
        assert_eq!(c.len(), 2);
        assert!(c.lookup(&[2, 0]).is_none());
        c.insert(&[4, 4, 4, 4, 4], "d"); // over 6 tokens: the oldest go
        assert!(c.lookup(&[4, 4, 4, 4, 4, 0]).is_some());
        assert!(c.lookup(&[1, 0]).is_none());
        // Too long to keep at all, and a disabled cache keeps nothing.
        c.insert(&[9; 7], "x");
        assert!(c.lookup(&[9; 8]).is_none());
        let off = PrefixCache::new(100, 0);
        assert!(!off.keeps(1) && !c.keeps(7) && c.keeps(6) && !c.keeps(0));
        off.insert(&[1], "a");
        assert!(off.lookup(&[1, 2]).is_none());
    }
}
