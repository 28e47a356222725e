//! The shared state behind a prompt's actions and handles: where its config comes from (code
//! or a `.prompt` file), the lazily resolved config and action metadata, and the compiled
//! templates.

use std::sync::{Arc, OnceLock};

use dotprompt::{CompiledPrompt, Dotprompt, ParsedPrompt, PromptMetadata};
use genkit_core::Result;
use serde_json::{Map, Value};

use super::config::PromptConfig;
use super::{file, metadata};

/// Which template of a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    System,
    Messages,
    Prompt,
}

impl Slot {
    fn as_str(self) -> &'static str {
        match self {
            Slot::System => "system",
            Slot::Messages => "messages",
            Slot::Prompt => "prompt",
        }
    }
}

/// A `.prompt` file, parsed at load time; its metadata is resolved on first use.
pub(crate) struct FileSource {
    /// Where it came from (for error messages).
    pub(crate) file: String,
    pub(crate) parsed: ParsedPrompt,
    /// `name` and `variant` from the file name (with the sub-folder and namespace in `name`).
    pub(crate) name: String,
    pub(crate) variant: Option<String>,
}

enum Source {
    Code(PromptConfig),
    File(FileSource),
}

/// The config a render uses and the action metadata, both computed once.
pub(crate) struct Resolved {
    pub(crate) config: PromptConfig,
    pub(crate) metadata: Map<String, Value>,
}

/// Everything a prompt's actions and handles share. Holds no strong registry reference.
pub(crate) struct PromptState {
    /// `name` or `name.variant` (with the folder namespace, if any).
    pub(crate) key: String,
    pub(crate) dotprompt: Dotprompt,
    source: Source,
    resolved: OnceLock<Arc<Resolved>>,
    system: OnceLock<CompiledPrompt>,
    messages: OnceLock<CompiledPrompt>,
    prompt: OnceLock<CompiledPrompt>,
}

impl PromptState {
    pub(crate) fn from_config(config: PromptConfig, dotprompt: Dotprompt) -> Self {
        PromptState {
            key: config.key_name(),
            dotprompt,
            source: Source::Code(config),
            resolved: OnceLock::new(),
            system: OnceLock::new(),
            messages: OnceLock::new(),
            prompt: OnceLock::new(),
        }
    }

    /// A file prompt; `compiled` is its body, compiled at load time when every partial it
    /// uses was known then.
    pub(crate) fn from_file(source: FileSource, compiled: Option<CompiledPrompt>, dotprompt: Dotprompt) -> Self {
        let key = match &source.variant {
            Some(v) => format!("{}.{v}", source.name),
            None => source.name.clone(),
        };
        let messages = OnceLock::new();
        if let Some(c) = compiled {
            let _ = messages.set(c);
        }
        PromptState {
            key,
            dotprompt,
            source: Source::File(source),
            resolved: OnceLock::new(),
            system: OnceLock::new(),
            messages,
            prompt: OnceLock::new(),
        }
    }

    /// The metadata `ExecutablePrompt::reference` reports (JS `ref.metadata`): the config's
    /// metadata for prompts defined in code, none for files.
    pub(crate) fn ref_metadata(&self) -> Option<&Map<String, Value>> {
        match &self.source {
            Source::Code(c) => c.metadata.as_ref(),
            Source::File(_) => None,
        }
    }

    /// The resolved config and metadata; a `.prompt` file's frontmatter is resolved (named
    /// schemas looked up, Picoschema converted) on the first call. Errors are not cached.
    ///
    /// # Errors
    /// `NOT_FOUND` for an unknown named schema, `INVALID_ARGUMENT` for invalid frontmatter
    /// values or Picoschema.
    pub(crate) fn resolve(&self) -> Result<&Arc<Resolved>> {
        if let Some(r) = self.resolved.get() {
            return Ok(r);
        }
        let resolved = match &self.source {
            Source::Code(config) => {
                Resolved { metadata: metadata::prompt_metadata(config, false), config: config.clone() }
            }
            Source::File(f) => {
                let meta: PromptMetadata = self
                    .dotprompt
                    .render_metadata_parsed(&f.parsed, None)
                    .map_err(|e| super::convert_error(e, Some(&f.file)))?;
                let config = file::config_from_metadata(f, meta)?;
                let metadata = metadata::prompt_metadata(&config, true);
                Resolved { config, metadata }
            }
        };
        Ok(self.resolved.get_or_init(|| Arc::new(resolved)))
    }

    /// The compiled template of `slot`, compiled (with the instance's helpers and partials)
    /// on first use and kept.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` for a malformed template or an unknown helper; `NOT_FOUND` for a
    /// missing partial.
    pub(crate) fn template(&self, slot: Slot, source: &str) -> Result<&CompiledPrompt> {
        let cell = match slot {
            Slot::System => &self.system,
            Slot::Messages => &self.messages,
            Slot::Prompt => &self.prompt,
        };
        if let Some(c) = cell.get() {
            return Ok(c);
        }
        let compiled = match &self.source {
            Source::File(f) => {
                let parsed = ParsedPrompt {
                    meta: PromptMetadata::default(),
                    template: source.to_owned(),
                    template_line_offset: f.parsed.template_line_offset,
                };
                self.dotprompt.compile_parsed(parsed).map_err(|e| super::convert_error(e, Some(&f.file)))?
            }
            Source::Code(_) => {
                let parsed = ParsedPrompt {
                    meta: PromptMetadata::default(),
                    template: source.to_owned(),
                    template_line_offset: 0,
                };
                self.dotprompt.compile_parsed(parsed).map_err(|e| {
                    let what = format!("the {} template of prompt '{}'", slot.as_str(), self.key);
                    super::convert_error(e, Some(&what))
                })?
            }
        };
        Ok(cell.get_or_init(|| compiled))
    }
}
