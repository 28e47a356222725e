//! Why a template failed to parse.

use std::fmt;

/// Why a URI template failed to parse. Positions are byte offsets into the template.
///
/// ```
/// use genkit_uri_template::{UriTemplate, UriTemplateError};
///
/// let err = UriTemplate::parse("file:///{path").unwrap_err();
/// assert_eq!(err, UriTemplateError::UnclosedExpression { position: 8 });
/// assert_eq!(err.to_string(), "invalid URI template: '{' at byte 8 is never closed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UriTemplateError {
    /// A `{` without a matching `}` (or another `{` before it).
    UnclosedExpression {
        /// Byte offset of the `{`.
        position: usize,
    },
    /// A `}` outside of an expression.
    UnmatchedClosingBrace {
        /// Byte offset of the `}`.
        position: usize,
    },
    /// An operator RFC 6570 reserves for future extensions: `=`, `,`, `!`, `@` or `|`.
    ReservedOperator {
        /// Byte offset of the operator.
        position: usize,
        /// The operator character.
        operator: char,
    },
    /// An expression or variable specification without a name, as in `{}`, `{+}` or `{a,}`.
    EmptyVariableName {
        /// Byte offset where the name should start.
        position: usize,
    },
    /// A variable name with a character outside `A-Z a-z 0-9 _`, percent-encoded triplets and
    /// inner single dots.
    InvalidVariableName {
        /// Byte offset of the offending character.
        position: usize,
        /// The variable name as written.
        name: String,
    },
    /// A malformed modifier: a prefix length outside `1..=9999` or not a plain number, or a
    /// prefix combined with explode.
    InvalidModifier {
        /// Byte offset of the `:`.
        position: usize,
        /// The modifier as written, starting with `:`.
        modifier: String,
    },
}

impl UriTemplateError {
    /// Byte offset into the template where the problem was found.
    ///
    /// ```
    /// use genkit_uri_template::UriTemplate;
    ///
    /// assert_eq!(UriTemplate::parse("a}").unwrap_err().position(), 1);
    /// ```
    pub fn position(&self) -> usize {
        match self {
            Self::UnclosedExpression { position }
            | Self::UnmatchedClosingBrace { position }
            | Self::ReservedOperator { position, .. }
            | Self::EmptyVariableName { position }
            | Self::InvalidVariableName { position, .. }
            | Self::InvalidModifier { position, .. } => *position,
        }
    }
}

impl fmt::Display for UriTemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid URI template: ")?;
        match self {
            Self::UnclosedExpression { position } => write!(f, "'{{' at byte {position} is never closed"),
            Self::UnmatchedClosingBrace { position } => write!(f, "'}}' at byte {position} has no matching '{{'"),
            Self::ReservedOperator { position, operator } => {
                write!(f, "operator '{operator}' at byte {position} is reserved and not supported")
            }
            Self::EmptyVariableName { position } => write!(f, "empty variable name at byte {position}"),
            Self::InvalidVariableName { position, name } => {
                write!(f, "invalid character at byte {position} in variable name {name:?}")
            }
            Self::InvalidModifier { position, modifier } => write!(
                f,
                "invalid modifier {modifier:?} at byte {position} (expected a prefix length 1-9999 or '*', not both)"
            ),
        }
    }
}

impl std::error::Error for UriTemplateError {}
