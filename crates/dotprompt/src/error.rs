//! The crate error type.

use std::fmt;

/// What kind of thing could not be found (see [`ErrorKind::NotFound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Missing {
    /// A partial referenced with `{{> name}}`.
    Partial,
    /// A named schema referenced from Picoschema.
    Schema,
    /// A tool listed in `tools`.
    Tool,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::Partial => "partial",
            Missing::Schema => "schema",
            Missing::Tool => "tool",
        })
    }
}

/// The category of an [`Error`], with the location details that apply to it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The YAML frontmatter is malformed.
    Parse {
        /// The file name given to [`parse_strict`](crate::parse_strict), if any.
        file: Option<String>,
        /// The 1-based line in the prompt source where the problem was found.
        line: Option<usize>,
    },
    /// The Handlebars template is malformed.
    Template {
        /// The 1-based line in the prompt source, when known.
        line: Option<usize>,
    },
    /// The template uses a helper that is neither built in nor registered.
    UnknownHelper {
        /// The helper name as written in the template.
        name: String,
        /// The 1-based line in the prompt source, when known.
        line: Option<usize>,
    },
    /// A referenced partial, schema or tool does not exist.
    NotFound {
        /// What was looked up.
        item: Missing,
        /// The name that was looked up.
        name: String,
    },
    /// A Picoschema definition is invalid.
    Schema,
    /// Rendering failed (for example a helper reported an error).
    Render {
        /// The 1-based line in the prompt source, when known.
        line: Option<usize>,
    },
}

/// The error type of this crate: a kind plus a readable message saying what went wrong and what to do.
///
/// ```
/// let dp = dotprompt::Dotprompt::default();
/// let err = dp.compile("{{shout name}}").unwrap_err();
/// assert!(matches!(err.kind(), dotprompt::ErrorKind::UnknownHelper { .. }));
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Builds an error of the given kind with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), source: None }
    }

    /// Builds a render error, for use by custom helpers registered with
    /// [`Dotprompt::define_helper`](crate::Dotprompt::define_helper).
    pub fn helper(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Render { line: None }, message)
    }

    /// Attaches an underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The message, without location details.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The 1-based source line the error refers to, when known.
    pub fn line(&self) -> Option<usize> {
        match &self.kind {
            ErrorKind::Parse { line, .. }
            | ErrorKind::Template { line }
            | ErrorKind::UnknownHelper { line, .. }
            | ErrorKind::Render { line } => *line,
            ErrorKind::NotFound { .. } | ErrorKind::Schema => None,
        }
    }

    pub(crate) fn not_found(item: Missing, name: &str, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound { item, name: name.to_owned() }, message)
    }

    pub(crate) fn schema(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Schema, message)
    }

    pub(crate) fn template(line: Option<usize>, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Template { line }, message)
    }

    /// Prefixes the message with the partial the error happened in.
    pub(crate) fn in_partial(mut self, name: &str) -> Self {
        self.message = format!("in partial `{name}`: {}", self.message);
        self
    }

    /// Shifts line numbers reported relative to the template body so they refer to the whole source.
    pub(crate) fn offset_lines(mut self, offset: usize) -> Self {
        match &mut self.kind {
            ErrorKind::Template { line } | ErrorKind::UnknownHelper { line, .. } | ErrorKind::Render { line } => {
                if let Some(l) = line {
                    *l += offset;
                }
            }
            _ => {}
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Parse { file, line } => {
                f.write_str("invalid prompt frontmatter")?;
                match (file, line) {
                    (Some(file), Some(line)) => write!(f, " in {file}:{line}")?,
                    (Some(file), None) => write!(f, " in {file}")?,
                    (None, Some(line)) => write!(f, " at line {line}")?,
                    (None, None) => {}
                }
                write!(f, ": {}", self.message)
            }
            ErrorKind::Template { line: Some(line) }
            | ErrorKind::Render { line: Some(line) }
            | ErrorKind::UnknownHelper { line: Some(line), .. } => write!(f, "{} (line {line})", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_location() {
        let e = Error::new(ErrorKind::Parse { file: Some("a.prompt".into()), line: Some(3) }, "bad yaml");
        assert_eq!(e.to_string(), "invalid prompt frontmatter in a.prompt:3: bad yaml");
        assert_eq!(e.line(), Some(3));
        let e = Error::template(Some(2), "oops").offset_lines(4);
        assert_eq!(e.line(), Some(6));
        assert_eq!(e.to_string(), "oops (line 6)");
        let e = Error::new(ErrorKind::UnknownHelper { name: "x".into(), line: Some(2) }, "unknown helper `x`");
        assert_eq!(e.to_string(), "unknown helper `x` (line 2)");
    }

    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}
