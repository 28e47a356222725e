//! The plugin: [`Anthropic`] registers the Claude catalogue at init, resolves any other model
//! id on demand, lists the models of `GET /v1/models`, and holds the client the helpers
//! (token counting, Message Batches) use.

use std::fmt;
use std::sync::{Arc, Mutex};

use genkit_core::{Action, ActionMetadata, ActionType, Error, Plugin, Result, Status};
use genkit_http::{HttpOptions, Secret};
use serde::Deserialize;

use crate::client::{Client, ClientSettings, DEFAULT_API_VERSION, DEFAULT_BASE_URL};
use crate::config::ApiSurface;
use crate::messages::encode::DEFAULT_BETAS;
use crate::messages::{Behaviour, claude_model};
use crate::models::{self, ModelSpec};

/// Anthropic's Claude models as a Genkit plugin (`anthropic/*`).
///
/// Keys and base URLs given as options win over the environment variables
/// `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL`, which are read when the plugin initializes.
/// Keys are never logged: `Debug` redacts them. The plugin is a cheap handle: keep a clone
/// to call the helpers ([`Anthropic::count_tokens`], the Message Batches methods) after
/// registering it.
///
/// ```
/// use std::time::Duration;
/// use genkit_anthropic::{Anthropic, ModelSpec};
/// let p = Anthropic::new()
///     .api_key("sk-ant-test")
///     .base_url("http://127.0.0.1:8080")
///     .beta("context-1m-2025-08-07")
///     .timeout(Duration::from_secs(60))
///     .model(ModelSpec::new("claude-sonnet-4-5-20250929"));
/// assert!(!format!("{p:?}").contains("sk-ant-test"));
/// ```
#[derive(Clone)]
pub struct Anthropic {
    name: String,
    api_key: Option<Secret>,
    base_url: Option<String>,
    api_version: String,
    betas: Vec<String>,
    http: HttpOptions,
    models: Vec<ModelSpec>,
    list_remote: bool,
    cache_system_prompt: bool,
    client: Arc<Mutex<Option<Arc<Client>>>>,
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anthropic")
            .field("name", &self.name)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("betas", &self.betas)
            .field("http", &self.http)
            .field("models", &self.models.iter().map(ModelSpec::id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Anthropic {
    fn default() -> Self {
        Anthropic::new()
    }
}

impl Anthropic {
    /// The plugin with the Claude catalogue ([`claude_models`](crate::claude_models)); key
    /// and base URL from `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` unless set.
    pub fn new() -> Anthropic {
        Anthropic {
            name: "anthropic".to_owned(),
            api_key: None,
            base_url: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            betas: Vec::new(),
            http: HttpOptions::default(),
            models: models::claude_models(),
            list_remote: true,
            cache_system_prompt: false,
            client: Arc::new(Mutex::new(None)),
        }
    }

    /// Renames the plugin (its namespace), e.g. to register two accounts.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the API key (instead of `ANTHROPIC_API_KEY`).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL (instead of `ANTHROPIC_BASE_URL` or `https://api.anthropic.com`),
    /// with or without a trailing `/v1`.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the `anthropic-version` header (default `2023-06-01`).
    #[must_use]
    pub fn anthropic_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Adds a beta feature sent with every request (`anthropic-beta`).
    #[must_use]
    pub fn beta(mut self, beta: impl Into<String>) -> Self {
        let beta = beta.into();
        if !self.betas.contains(&beta) {
            self.betas.push(beta);
        }
        self
    }

    /// The API surface of every request (JS plugin option `apiVersion`): `Beta` sends the
    /// default beta list ([`DEFAULT_BETAS`]) with every request. A request's config
    /// `apiVersion` still adds to it.
    #[must_use]
    pub fn api_surface(mut self, surface: ApiSurface) -> Self {
        if surface == ApiSurface::Beta {
            for b in DEFAULT_BETAS {
                self = self.beta(b);
            }
        }
        self
    }

    genkit_http::http_option_setters!(http);

    /// Declares a model (registered at init, replacing a catalogue entry of the same id).
    #[must_use]
    pub fn model(mut self, spec: ModelSpec) -> Self {
        self.models.retain(|m| m.id != spec.id);
        self.models.push(spec);
        self
    }

    /// Whether listing also asks `GET /v1/models` (default on).
    #[must_use]
    pub fn list_remote_models(mut self, yes: bool) -> Self {
        self.list_remote = yes;
        self
    }

    /// Marks the system prompt for prompt caching (`cache_control: {"type": "ephemeral"}` on
    /// its last block), as Genkit JS's `cacheSystemPrompt`. Parts can also ask for caching
    /// themselves with `metadata.cache_control`.
    #[must_use]
    pub fn cache_system_prompt(mut self, yes: bool) -> Self {
        self.cache_system_prompt = yes;
        self
    }

    fn env(name: &str) -> Option<String> {
        std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn settings(&self) -> Result<ClientSettings> {
        let explicit_base = self.base_url.clone().or_else(|| Self::env("ANTHROPIC_BASE_URL"));
        let api_key = self.api_key.clone().or_else(|| Self::env("ANTHROPIC_API_KEY").map(Secret::new));
        if api_key.is_none() && explicit_base.is_none() {
            return Err(Error::new(
                Status::FailedPrecondition,
                format!("no API key for plugin '{}': pass .api_key(..) or set ANTHROPIC_API_KEY", self.name),
            )
            .with_origin(self.name.clone()));
        }
        Ok(ClientSettings {
            origin: self.name.clone(),
            base_url: explicit_base.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_key,
            api_version: self.api_version.clone(),
            betas: self.betas.clone(),
            http: self.http.clone(),
        })
    }

    pub(crate) fn client(&self) -> Result<Arc<Client>> {
        let mut slot = self.client.lock().map_err(|_| Error::new(Status::Internal, "plugin state poisoned"))?;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = Arc::new(Client::new(self.settings()?)?);
        *slot = Some(c.clone());
        Ok(c)
    }

    pub(crate) fn behaviour(&self) -> Behaviour {
        Behaviour { cache_system_prompt: self.cache_system_prompt }
    }

    /// The spec of a model id (declared, else guessed from its family).
    pub(crate) fn spec_for(&self, id: &str) -> ModelSpec {
        let id = id.strip_prefix(&format!("{}/", self.name)).unwrap_or(id);
        self.models.iter().find(|m| m.id == id).cloned().unwrap_or_else(|| ModelSpec::new(id))
    }

    fn model_action(&self, client: Arc<Client>, spec: &ModelSpec) -> Arc<dyn Action> {
        claude_model(&self.name, client, spec, self.behaviour()).as_action()
    }

    async fn remote_models(&self, client: &Client) -> Result<Vec<(String, Option<String>)>> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            data: Vec<Item>,
            #[serde(default)]
            has_more: bool,
            #[serde(default)]
            last_id: Option<String>,
        }
        #[derive(Deserialize)]
        struct Item {
            id: String,
            #[serde(default)]
            display_name: Option<String>,
        }
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        // At most 10 pages of 1000: a guard against a server that always says `has_more`.
        for _ in 0..10 {
            let mut query = vec![("limit", "1000".to_owned())];
            if let Some(a) = &after {
                query.push(("after_id", a.clone()));
            }
            let resp = client.get("v1/models", &query, &client.betas).await?;
            let page: Page = client.json(resp).await?;
            out.extend(page.data.into_iter().map(|i| (i.id, i.display_name)));
            match (page.has_more, page.last_id) {
                (true, Some(last)) => after = Some(last),
                _ => break,
            }
        }
        Ok(out)
    }
}

impl Plugin for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        let client = self.client()?;
        Ok(self.models.iter().map(|m| self.model_action(client.clone(), m)).collect())
    }

    async fn resolve(&self, action_type: ActionType, name: &str) -> Result<Option<Arc<dyn Action>>> {
        let id = name.strip_prefix(&format!("{}/", self.name)).unwrap_or(name);
        if id.is_empty() || action_type != ActionType::Model {
            return Ok(None);
        }
        Ok(Some(self.model_action(self.client()?, &self.spec_for(id))))
    }

    async fn list(&self) -> Result<Vec<ActionMetadata>> {
        let client = self.client()?;
        let mut out: Vec<ActionMetadata> = self
            .models
            .iter()
            .map(|m| genkit_ai::model::model_action_metadata(&crate::messages::model_options(&self.name, m), false))
            .collect();
        if self.list_remote {
            match self.remote_models(&client).await {
                Ok(models) => {
                    for (id, display) in models {
                        let full = format!("{}/{id}", self.name);
                        if out.iter().any(|m| *m.name == *full) {
                            continue;
                        }
                        let mut spec = self.spec_for(&id);
                        if let Some(d) = display {
                            spec = spec.label(format!("Anthropic - {d}"));
                        }
                        let opts = crate::messages::model_options(&self.name, &spec);
                        out.push(genkit_ai::model::model_action_metadata(&opts, false));
                    }
                }
                Err(e) => tracing::warn!(plugin = self.name.as_str(), "listing Anthropic's models failed: {e}"),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_prefer_options_and_fail_clearly_without_a_key() {
        let s = Anthropic::new().api_key("k").base_url("http://h").settings().unwrap();
        assert_eq!(s.base_url, "http://h");
        assert_eq!(s.api_key.unwrap().expose(), "k");
        if std::env::var("ANTHROPIC_API_KEY").is_err() && std::env::var("ANTHROPIC_BASE_URL").is_err() {
            let e = Anthropic::new().settings().unwrap_err();
            assert_eq!(e.status(), Status::FailedPrecondition);
            assert!(e.message().contains("ANTHROPIC_API_KEY"), "{}", e.message());
        }
    }

    #[test]
    fn the_beta_surface_adds_the_default_betas_once() {
        let p = Anthropic::new().beta("files-api-2025-04-14").api_surface(ApiSurface::Beta);
        assert_eq!(p.betas.len(), DEFAULT_BETAS.len());
        assert!(Anthropic::new().api_surface(ApiSurface::Stable).betas.is_empty());
    }

    #[test]
    fn unknown_ids_get_specs_by_family() {
        let p = Anthropic::new().model(ModelSpec::new("claude-haiku-4-5").label("Mine"));
        assert_eq!(p.spec_for("anthropic/claude-haiku-4-5").label.as_deref(), Some("Mine"));
        assert!(p.spec_for("claude-opus-4-6-20260101").supports.constrained.is_some());
        assert_eq!(p.models.iter().filter(|m| m.id == "claude-haiku-4-5").count(), 1);
    }
}
