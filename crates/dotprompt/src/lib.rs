//! Dotprompt for Rust: `.prompt` files (YAML frontmatter + Handlebars template) rendered into chat messages.
//!
//! A prompt source looks like this:
//!
//! ```text
//! ---
//! model: googleai/gemini-2.5-flash
//! config:
//!   temperature: 0.2
//! input:
//!   schema:
//!     topic: string
//!     style?: string, optional tone
//! output:
//!   format: json
//!   schema:
//!     title: string
//!     points(array): string
//! ---
//! {{role "system"}}You write short outlines.
//! {{history}}
//! {{role "user"}}Outline {{topic}}{{#if style}} in a {{style}} tone{{/if}}.
//! ```
//!
//! # Parsing
//!
//! [`parse`] splits the frontmatter from the template, keeping reserved keys (`model`, `config`, `input`,
//! `output`, `tools`, …) at the top level, namespaced keys (`a.b.c: v`) in `ext`, and the whole frontmatter in
//! `raw`. It is lenient like the JavaScript implementation; [`parse_strict`] reports malformed YAML with the file
//! name and line.
//!
//! # Rendering
//!
//! [`Dotprompt::compile`] checks and compiles the template once; [`CompiledPrompt::render`] renders it with
//! [`DataArgument`] (`input` variables, `context` values available as `@key`, history `messages`, `docs`).
//! Templates may only call built-in or registered helpers (Handlebars `knownHelpersOnly`), and nothing is
//! HTML-escaped. Built-in helpers: `json`, `role`, `history`, `section`, `media`, `ifEquals`, `unlessEquals`,
//! plus Handlebars' `if`, `unless`, `each`, `with`, `lookup` and `log`.
//!
//! The rendered text is split into [`Message`]s at `{{role}}` and `{{history}}` markers and into [`Part`]s at
//! `{{media}}` and `{{section}}` markers.
//!
//! # Metadata and Picoschema
//!
//! [`Dotprompt::render_metadata`] merges model config defaults, the frontmatter and call options, resolves tools
//! and turns Picoschema ([`picoschema`]) into JSON Schema.
//!
//! ```
//! use dotprompt::{DataArgument, Dotprompt};
//! use serde_json::json;
//!
//! let dp = Dotprompt::default();
//! let source = "---\nmodel: m\n---\n{{role \"system\"}}Be kind.\n{{role \"user\"}}Hi {{@auth.name}}!";
//! let prompt = dp.compile(source).unwrap();
//! let out = prompt.render(&DataArgument::new().context_value("auth", json!({"name": "Ada"})), None).unwrap();
//! assert_eq!(out.messages.len(), 2);
//! assert_eq!(out.messages[1].text(), "Hi Ada!");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod dotprompt;
mod error;
mod helpers;
mod jsfmt;
mod message;
mod messages;
mod metadata;
mod parse;
mod picoschema;
mod template;

pub use crate::dotprompt::{
    CompiledPrompt, Dotprompt, DotpromptOptions, PartialResolver, SchemaResolver, ToolResolver,
};
pub use crate::error::{Error, ErrorKind, Missing, Result};
pub use crate::helpers::HelperFn;
pub use crate::message::{Document, JsonMap, Media, Message, Part, Role, UnknownRole};
pub use crate::metadata::{
    DataArgument, ParsedPrompt, PromptInput, PromptMetadata, PromptOutput, RenderedPrompt, ToolDefinition,
};
pub use crate::parse::{RESERVED_METADATA_KEYWORDS, UnknownKey, parse, parse_strict, unknown_keys};
pub use crate::picoschema::{SchemaLookup, picoschema};

#[cfg(test)]
mod pattern_tests {
    /// The crate's regular expressions are constants compiled on first use; forcing each one
    /// here means a bad pattern fails this test instead of panicking in a user's program.
    #[test]
    fn builtin_patterns_compile() {
        for re in [
            &*crate::messages::ROLE_AND_HISTORY,
            &*crate::messages::MEDIA_AND_SECTION,
            &*crate::parse::FRONTMATTER,
            &*crate::parse::OPENING_FENCE,
            &*crate::parse::YAML_LINE,
            &*crate::picoschema::DESCRIPTION,
        ] {
            assert!(!re.as_str().is_empty());
        }
    }
}
