//! API keys and tokens that never show up in logs, traces or error messages.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What a redacted secret prints as.
pub const REDACTED: &str = "<redacted>";

/// Secrets shorter than this are not searched for by [`redact`]: they would match ordinary
/// text, and no provider issues keys that short.
pub const MIN_REDACTED_LEN: usize = 4;

/// An API key or token. `Debug` and `Display` never show it, so a config struct holding one
/// can derive `Debug` and a key cannot reach a log or a trace by accident; read it with
/// [`Secret::expose`] where the request header is built. Cheap to clone.
///
/// ```
/// use genkit_http::Secret;
/// let k = Secret::new("sk-live-123");
/// assert_eq!(format!("{k:?}"), "Secret(<redacted>)");
/// assert_eq!(k.to_string(), "<redacted>");
/// assert_eq!(k.expose(), "sk-live-123");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into().into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of this secret replaced by [`REDACTED`] (see [`redact`]).
    ///
    /// ```
    /// let k = genkit_http::Secret::new("sk-live-123");
    /// assert_eq!(k.redact("Incorrect API key provided: sk-live-123."), "Incorrect API key provided: <redacted>.");
    /// ```
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        redact(text, &self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

/// `text` with every occurrence of `secret` replaced by [`REDACTED`], for provider errors
/// that echo the key they were sent. Borrows when there is nothing to replace; a secret
/// shorter than [`MIN_REDACTED_LEN`] is left alone.
///
/// ```
/// use genkit_http::redact;
/// assert_eq!(redact("bad key sk-1234 (sk-1234)", "sk-1234"), "bad key <redacted> (<redacted>)");
/// assert_eq!(redact("a b c", "b"), "a b c");
/// ```
pub fn redact<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    if secret.len() < MIN_REDACTED_LEN || !text.contains(secret) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace(secret, REDACTED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Config {
            key: Secret,
            token: Option<Secret>,
        }
        let c = Config { key: Secret::new("sk-abcdef"), token: Some("tok-123456".into()) };
        let d = format!("{c:?} {c:#?} {}", c.key);
        assert!(!d.contains("sk-abcdef") && !d.contains("tok-123456"), "{d}");
        assert_eq!(d.matches(REDACTED).count(), 5, "{d}");
    }

    #[test]
    fn redaction_replaces_every_occurrence_and_borrows_otherwise() {
        let k = Secret::new("sk-abcdef");
        assert_eq!(k.redact("sk-abcdefsk-abcdef!"), "<redacted><redacted>!");
        assert!(matches!(k.redact("nothing here"), Cow::Borrowed(_)));
        assert!(matches!(redact("abc", ""), Cow::Borrowed("abc")));
        assert_eq!(redact("key abcd", "abcd"), "key <redacted>");
        assert_eq!(redact("key abc", "abc"), "key abc");
        assert_eq!(redact("clé é-secret-é", "é-secret-é"), "clé <redacted>");
    }

    #[test]
    fn equal_secrets_compare_equal() {
        assert_eq!(Secret::new("x"), Secret::from(String::from("x")));
        assert_ne!(Secret::new("x"), Secret::new("y"));
    }
}
