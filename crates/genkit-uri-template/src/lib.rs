//! RFC 6570 URI templates: parsing, expansion and reverse matching, as Genkit resources use them.
//!
//! Genkit resources are declared with a URI template such as `file:///{+path}` or
//! `docs://{collection}/{id}{?lang}`. A resource URI is routed to the resource whose template it
//! matches, and the variables extracted from the URI are handed to the resource function.
//!
//! * [`UriTemplate::parse`] validates a template against the RFC 6570 grammar.
//! * [`UriTemplate::expand`] implements expansion levels 1–4: the operators none, `+`, `#`, `.`,
//!   `/`, `;`, `?`, `&`, the prefix modifier `:N` and the explode modifier `*`, for string, list
//!   and associative-array values.
//! * [`UriTemplate::match_uri`] goes the other way, like `fromUri` of the npm package
//!   `uri-templates` used by Genkit JS: it returns the variables if the URI could have been
//!   produced by the template, and `None` otherwise.
//!
//! ```
//! use genkit_uri_template::{UriTemplate, VarValue};
//!
//! let template = UriTemplate::parse("docs://{collection}/{id}{?lang}").unwrap();
//! let vars = template.match_uri("docs://guides/intro?lang=en").unwrap();
//! assert_eq!(vars["collection"], VarValue::from("guides"));
//! assert_eq!(vars["id"], VarValue::from("intro"));
//! assert_eq!(vars["lang"], VarValue::from("en"));
//! assert_eq!(template.expand(&vars), "docs://guides/intro?lang=en");
//! ```
//!
//! # Matching rules
//!
//! Reversing an expansion is ambiguous in general, so these are the choices made:
//!
//! * **Two passes.** Matching first looks for a split of the URI under which it is exactly what
//!   expansion would write (encoded literals, canonical percent-encoding, named parameters in
//!   template order). Only if there is none does it retry leniently, accepting what people and
//!   other implementations write too (the leniencies are listed below). So whenever each variable
//!   occurs once in the template, `expand(match_uri(expand(vars)))` gives back `expand(vars)`.
//! * **Literals** must match exactly, as expansion writes them or (lenient pass) as written in
//!   the template; the two differ only for characters that may not appear in a URI, such as
//!   spaces or non-ASCII letters, which expansion percent-encodes. A template without
//!   expressions matches its own text only.
//! * **Simple `{var}`** (and the `.`, `/`, `;`, `?`, `&` operators) only matches text such an
//!   expansion can produce. The delimiters `: / ? # [ ] @ & , ; =` never occur raw in a value, so
//!   `file:///{path}` does **not** match `file:///a/b` (use `{+path}`, or `{/path*}` for a list of
//!   segments); it does match `file:///a%2Fb` with `path = "a/b"`. Percent-encoded triplets are
//!   decoded (the result must be UTF-8). This follows the RFC and Go Genkit
//!   (`yosida95/uritemplate`); JS `uri-templates` lets a simple variable run up to the next
//!   literal and returns `path = "a/b"`. Leniently, raw non-ASCII characters (IRIs), characters
//!   that may never appear in a URI (space, `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`,
//!   controls), the sub-delimiters `! $ ' ( ) * +`, lowercase or needless percent-encoding and a
//!   `%` not followed by two hex digits are accepted and taken as themselves.
//! * **Reserved `{+var}` and fragment `{#var}`** values may contain any character, including `/`,
//!   `?` and `#`, and are returned verbatim, not percent-decoded, as JS `uri-templates` does
//!   (reserved expansion passes percent-encoded triplets through, so decoding would be a guess).
//!   The one exception is a value that only fits its prefix modifier once decoded.
//! * **Where an expression ends**: before the first occurrence of the following literal that lets
//!   the rest of the URI match (JS takes the first occurrence, without backtracking). An
//!   expression directly followed by another one hands over at the next occurrence of the next
//!   expression's operator character (`{/a}{?q}` splits at `?`, as JS does), else takes as much
//!   as it can. The last expression runs to the end of the URI.
//! * **Several variables in one unnamed expression** (`{x,y}`, `{/a,b}`, `{.x,y}`): items are
//!   split on the operator's separator; each variable takes one item in order, the last variable
//!   that can hold several items takes the remaining ones, and trailing variables may be missing
//!   (undefined). `{x,y}` matching `a,b,c` gives `x = "a"`, `y = ["b", "c"]` (JS: `y = "c"`).
//! * **Named parameters** (`{?q,lang}`, `{;x,y}`, `{&a}`) are identified by name: any subset
//!   matches, and the whole expression may be absent, as in JS; leniently, in any order, as in
//!   JS. A name that is not in the expression makes the match fail, unless the expression has an
//!   exploded variable (`{?q,opts*}`), which then collects it as an associative-array entry (JS
//!   accepts any name). A parameter given twice fails unless an exploded variable can take it.
//!   A bare prefix (`{?q}` against `?`) does not match; JS accepts it.
//! * **Value types**: a non-exploded value with raw commas becomes a [`VarValue::List`] (in
//!   `+`/`#` expressions commas are legal in values and stay in the string); an exploded value
//!   (`{/path*}`, `{?list*}`) is a list, or a [`VarValue::Assoc`] when its items are `key=value`
//!   pairs. Empty text gives an empty string for `{var}` and `{+var}` (as JS), and leaves the
//!   variables of other operators undefined.
//! * **Prefix modifiers** are checked: `{var:3}` only matches string values of at most 3
//!   characters. If a variable occurs several times, its first full-length occurrence wins, else
//!   its first prefix occurrence; occurrences are not checked against each other.
//! * Matching backtracks under a work bound proportional to the URI length plus a constant
//!   (millions of steps); pathological template/URI pairs that exceed it report no match instead
//!   of running for long. Matching never panics and does not recurse.

mod bindings;
mod encoding;
mod error;
mod expand;
mod matcher;
mod syntax;
mod template;
mod value;

pub use error::UriTemplateError;
pub use template::UriTemplate;
pub use value::{VarValue, Variables};

#[cfg(test)]
mod tests;
