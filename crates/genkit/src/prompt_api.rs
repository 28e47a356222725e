//! The prompt half of [`Genkit`]: define prompts in code, look prompts up (including `.prompt`
//! files), template helpers and partials, loading prompt folders.

use std::path::Path;

use genkit_ai::prompt::{self, EmbeddedPrompts, ExecutablePrompt, PromptConfig};
use genkit_core::Result;
use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::Genkit;

impl Genkit {
    /// Defines a prompt: registered as `/prompt/<name[.variant]>` and
    /// `/executable-prompt/<name[.variant]>`, callable through the returned handle.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::{Genkit, PromptConfig};
    /// use serde_json::json;
    /// let g = Genkit::builder().build().await?;
    /// g.register(genkit::ai::model::testing::echo_model("echo").as_action());
    /// let hello = g.define_prompt(PromptConfig::new("hello").model("echo").prompt("Hello {{name}}!"));
    /// let r = hello.generate(json!({"name": "Ada"})).await?;
    /// assert_eq!(r.text(), "Echo: Hello Ada!; config: {}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    /// When called while an action runs, like [`Genkit::register`].
    pub fn define_prompt(&self, config: PromptConfig) -> ExecutablePrompt {
        crate::genkit::or_panic(prompt::define_prompt(self.registry(), config))
    }

    /// Defines a typed prompt (panics like [`Genkit::define_prompt`]): the input is an `I` and [`ExecutablePrompt::generate_data`]
    /// parses the output into an `O`. Unless the config sets them, the input schema comes from
    /// `I` and the output schema (JSON output) from `O`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use genkit::{Genkit, PromptConfig};
    /// #[derive(serde::Serialize, schemars::JsonSchema)]
    /// struct Topic { topic: String }
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Joke { setup: String, punchline: String }
    /// let g = Genkit::builder().build().await?;
    /// let joke = g.define_typed_prompt::<Topic, Joke>(PromptConfig::new("joke").prompt("A joke about {{topic}}."));
    /// let opts = joke.render(Topic { topic: "owls".into() }).await?;
    /// assert_eq!(opts.output.unwrap().format.as_deref(), None); // `json` is implied by the schema
    /// # Ok(()) }
    /// ```
    pub fn define_typed_prompt<I, O>(&self, config: PromptConfig) -> ExecutablePrompt<I, O>
    where
        I: JsonSchema + 'static,
        O: JsonSchema + 'static,
    {
        crate::genkit::or_panic(prompt::define_typed_prompt(self.registry(), config))
    }

    /// A handle on the prompt `name` (defined in code or loaded from a `.prompt` file), looked
    /// up lazily on first use; a missing prompt is then `NOT_FOUND` `Prompt <name> not
    /// found`.
    pub fn prompt(&self, name: &str) -> ExecutablePrompt {
        prompt::prompt(self.registry(), name, None)
    }

    /// A handle on the variant `variant` of the prompt `name` (`name.variant.prompt`); a
    /// missing one is `NOT_FOUND` `Prompt <name> (variant <variant>) not found`.
    pub fn prompt_variant(&self, name: &str, variant: &str) -> ExecutablePrompt {
        prompt::prompt(self.registry(), name, Some(variant))
    }

    /// Registers a template helper for every prompt of this instance: `{{name arg
    /// key=value}}` calls `helper(args, hash)` and prints the value it returns. Prompt files
    /// are checked for unknown helpers when they are loaded, so helpers they use must be
    /// registered with [`GenkitBuilder::helper`](crate::GenkitBuilder::helper) instead.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> genkit::Result<()> {
    /// use serde_json::{Value, json};
    /// let g = genkit::Genkit::builder().build().await?;
    /// g.define_helper("shout", |args, _hash| Ok(json!(args[0].as_str().unwrap_or_default().to_uppercase())));
    /// let p = g.define_prompt(genkit::PromptConfig::new("loud").prompt("{{shout word}}!"));
    /// let opts = p.render(json!({"word": "hey"})).await?;
    /// assert_eq!(opts.messages[0].text(), "HEY!");
    /// # Ok(()) }
    /// ```
    pub fn define_helper(
        &self,
        name: &str,
        helper: impl Fn(&[Value], &Map<String, Value>) -> Result<Value> + Send + Sync + 'static,
    ) {
        prompt::define_helper(self.registry(), name, helper);
    }

    /// Registers (or replaces) a partial for every prompt of this instance, used as
    /// `{{> name}}`.
    pub fn define_partial(&self, name: &str, source: &str) {
        prompt::define_partial(self.registry(), name, source);
    }

    /// Loads the `.prompt` files of a folder (recursively; a missing folder is skipped) and
    /// returns how many prompts it defined. `GenkitBuilder::prompt_dir` does this at build.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming the file and line for malformed files; `INTERNAL` when a file
    /// cannot be read.
    pub fn load_prompt_dir(&self, dir: impl AsRef<Path>) -> Result<usize> {
        prompt::load_prompt_dir(self.registry(), dir, None)
    }

    /// Loads prompt files embedded with [`embed_prompts!`](crate::embed_prompts) like a folder.
    ///
    /// # Errors
    /// As [`Genkit::load_prompt_dir`].
    pub fn load_embedded_prompts(&self, files: EmbeddedPrompts) -> Result<usize> {
        prompt::load_prompt_sources(self.registry(), files.iter().copied(), None)
    }
}
