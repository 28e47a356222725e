//! The plugin: [`GoogleAi`] registers the Gemini catalogue and embedders at init, resolves
//! any other `gemini-*`/`gemma-*` model or `*embedding*` embedder on demand, and lists the
//! models of `GET /v1beta/models`.

use std::fmt;
use std::sync::{Arc, Mutex};

use genkit_core::{Action, ActionMetadata, ActionType, Error, Plugin, Result, Status};
use genkit_http::{HttpOptions, Secret};
use serde::Deserialize;

use crate::client::{Client, ClientSettings, DEFAULT_API_VERSION, DEFAULT_BASE_URL, KeyTransport};
use crate::models::{self, ModelSpec, is_embedder_id, is_gemini_id};

/// The environment variables read for the API key, in order (as Genkit JS).
pub const API_KEY_ENV: [&str; 3] = ["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENAI_API_KEY"];

/// Google's Gemini Developer API as a Genkit plugin (`googleai/*`).
///
/// The key given with [`GoogleAi::api_key`] wins over `GEMINI_API_KEY`, `GOOGLE_API_KEY`
/// and `GOOGLE_GENAI_API_KEY` (read in that order when the plugin first needs a client).
/// `Debug` never shows the key.
///
/// ```
/// use genkit_google_genai::GoogleAi;
/// let p = GoogleAi::new().api_key("AIza-test").base_url("http://127.0.0.1:8080");
/// assert!(!format!("{p:?}").contains("AIza-test"));
/// ```
#[derive(Clone)]
pub struct GoogleAi {
    name: String,
    api_key: Option<Secret>,
    key_transport: KeyTransport,
    base_url: Option<String>,
    api_version: String,
    http: HttpOptions,
    models: Vec<ModelSpec>,
    embedders: Vec<(String, Option<usize>)>,
    list_remote: bool,
    response_json_schema: bool,
    client: Arc<Mutex<Option<Arc<Client>>>>,
}

impl fmt::Debug for GoogleAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleAi")
            .field("name", &self.name)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("models", &self.models.iter().map(ModelSpec::id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for GoogleAi {
    fn default() -> Self {
        GoogleAi::new()
    }
}

impl GoogleAi {
    /// The plugin named `googleai` with the Gemini catalogue
    /// ([`gemini_models`](crate::gemini_models)) and embedders ([`GEMINI_EMBEDDERS`](crate::GEMINI_EMBEDDERS)).
    pub fn new() -> GoogleAi {
        GoogleAi {
            name: "googleai".to_owned(),
            api_key: None,
            key_transport: KeyTransport::Header,
            base_url: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            http: HttpOptions::default(),
            models: models::gemini_models(),
            embedders: models::GEMINI_EMBEDDERS.iter().map(|(id, d)| ((*id).to_owned(), Some(*d))).collect(),
            list_remote: true,
            response_json_schema: false,
            client: Arc::new(Mutex::new(None)),
        }
    }

    /// Renames the plugin (its namespace).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the API key (instead of the environment).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// How the key is sent: the `x-goog-api-key` header (default) or the `key` query
    /// parameter.
    #[must_use]
    pub fn key_transport(mut self, transport: KeyTransport) -> Self {
        self.key_transport = transport;
        self
    }

    /// Sets the base URL (default `https://generativelanguage.googleapis.com`), without the
    /// API version. With a base URL and no key, requests go without one (for proxies and
    /// test servers).
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the API version path segment (default `v1beta`).
    #[must_use]
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
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

    /// Declares an embedder with its vector length, if known.
    #[must_use]
    pub fn embedder(mut self, id: impl Into<String>, dimensions: Option<usize>) -> Self {
        let id = id.into();
        self.embedders.retain(|e| e.0 != id);
        self.embedders.push((id, dimensions));
        self
    }

    /// Whether listing also asks `GET models` (default on).
    #[must_use]
    pub fn list_remote_models(mut self, yes: bool) -> Self {
        self.list_remote = yes;
        self
    }

    /// Sends output schemas as `responseJsonSchema` (JSON Schema as given) instead of the
    /// default `responseSchema` (the OpenAPI subset every Gemini model takes, rewritten from
    /// the JSON schema by [`gemini_schema`](crate::gemini_schema)). Off by default.
    #[must_use]
    pub fn response_json_schema(mut self, yes: bool) -> Self {
        self.response_json_schema = yes;
        self
    }

    fn env_key() -> Option<Secret> {
        API_KEY_ENV
            .iter()
            .find_map(|n| std::env::var(n).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
            .map(Secret::new)
    }

    fn settings(&self) -> Result<ClientSettings> {
        let api_key = self.api_key.clone().or_else(Self::env_key);
        if api_key.is_none() && self.base_url.is_none() {
            return Err(Error::new(
                Status::FailedPrecondition,
                format!(
                    "no API key for plugin '{}': pass .api_key(..) or set GEMINI_API_KEY (or GOOGLE_API_KEY)",
                    self.name
                ),
            )
            .with_origin(self.name.clone()));
        }
        Ok(ClientSettings {
            origin: self.name.clone(),
            base_url: self.base_url.clone().unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            api_version: self.api_version.clone(),
            api_key,
            key_transport: self.key_transport,
            http: self.http.clone(),
            backend: crate::client::Backend::GeminiApi,
            tokens: None,
        })
    }

    fn client(&self) -> Result<Arc<Client>> {
        let mut slot = self.client.lock().map_err(|_| Error::new(Status::Internal, "plugin state poisoned"))?;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = Arc::new(Client::new(self.settings()?)?);
        *slot = Some(c.clone());
        Ok(c)
    }

    fn spec_for(&self, id: &str) -> ModelSpec {
        self.models.iter().find(|m| m.id == id).cloned().unwrap_or_else(|| ModelSpec::new(id))
    }

    fn model_action(&self, client: Arc<Client>, spec: &ModelSpec) -> Arc<dyn Action> {
        crate::family::model_action(&self.name, client, spec, self.response_json_schema)
    }

    fn embedder_action(&self, client: Arc<Client>, id: &str) -> Arc<dyn Action> {
        let dims = self.embedders.iter().find(|e| e.0 == id).and_then(|e| e.1);
        crate::embed::embedder(&self.name, client, id, dims).as_action()
    }

    /// The API's models: `(id, display name, supported methods)`.
    async fn remote_models(&self, client: &Client) -> Result<Vec<(String, Option<String>, Vec<String>)>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            models: Vec<Item>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Item {
            name: String,
            #[serde(default)]
            display_name: Option<String>,
            #[serde(default)]
            supported_generation_methods: Vec<String>,
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        // At most 10 pages: a guard against a server that always sends a page token.
        for _ in 0..10 {
            let mut query = vec![("pageSize", "1000".to_owned())];
            if let Some(t) = &token {
                query.push(("pageToken", t.clone()));
            }
            let page: Page = client.json(client.get("models", &query).await?).await?;
            out.extend(page.models.into_iter().map(|i| {
                let id = i.name.strip_prefix("models/").unwrap_or(&i.name).to_owned();
                (id, i.display_name, i.supported_generation_methods)
            }));
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }
}

impl Plugin for GoogleAi {
    fn name(&self) -> &str {
        &self.name
    }

    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        let client = self.client()?;
        let mut out: Vec<Arc<dyn Action>> = self.models.iter().map(|m| self.model_action(client.clone(), m)).collect();
        out.extend(self.embedders.iter().map(|(id, _)| self.embedder_action(client.clone(), id)));
        out.extend(crate::family::background_actions(&self.name, &client, &crate::veo::VEO_MODELS));
        Ok(out)
    }

    async fn resolve(&self, action_type: ActionType, name: &str) -> Result<Option<Arc<dyn Action>>> {
        let id = name.strip_prefix(&format!("{}/", self.name)).unwrap_or(name);
        match action_type {
            ActionType::Model if self.models.iter().any(|m| m.id == id) || crate::family::is_model_id(id) => {
                Ok(Some(self.model_action(self.client()?, &self.spec_for(id))))
            }
            ActionType::Embedder if self.embedders.iter().any(|e| e.0 == id) || is_embedder_id(id) => {
                Ok(Some(self.embedder_action(self.client()?, id)))
            }
            ActionType::BackgroundModel | ActionType::CheckOperation | ActionType::CancelOperation => {
                Ok(crate::family::background_action(&self.name, self.client()?, action_type, id))
            }
            _ => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<ActionMetadata>> {
        let client = self.client()?;
        let mut out: Vec<ActionMetadata> =
            self.models.iter().map(|m| self.model_action(client.clone(), m).metadata().clone()).collect();
        out.extend(self.embedders.iter().map(|(id, _)| self.embedder_action(client.clone(), id).metadata().clone()));
        out.extend(crate::family::background_metadata(&self.name, &client, &crate::veo::VEO_MODELS));
        if self.list_remote {
            match self.remote_models(&client).await {
                Ok(models) => {
                    for (id, display, methods) in models {
                        let full = format!("{}/{id}", self.name);
                        if out.iter().any(|m| *m.name == *full) {
                            continue;
                        }
                        let has = |m: &str| methods.iter().any(|x| x == m);
                        if has("embedContent") && is_embedder_id(&id) {
                            out.push(self.embedder_action(client.clone(), &id).metadata().clone());
                        } else if has("predictLongRunning") && crate::veo::is_veo_id(&id) {
                            out.extend(crate::family::background_metadata(&self.name, &client, &[id.as_str()]));
                        } else if (has("generateContent") && is_gemini_id(&id))
                            || (has("predict") && crate::imagen::is_imagen_id(&id))
                        {
                            let mut spec = self.spec_for(&id);
                            if let Some(d) = display {
                                spec = spec.label(format!("Google AI - {d}"));
                            }
                            out.push(self.model_action(client.clone(), &spec).metadata().clone());
                        }
                    }
                }
                Err(e) => tracing::warn!(plugin = self.name.as_str(), "listing the Gemini API's models failed: {e}"),
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
        let s = GoogleAi::new().api_key("k").base_url("http://h").settings().unwrap();
        assert_eq!(s.base_url, "http://h");
        assert_eq!(s.api_key.unwrap().expose(), "k");
        if API_KEY_ENV.iter().all(|n| std::env::var(n).is_err()) {
            let e = GoogleAi::new().settings().unwrap_err();
            assert_eq!(e.status(), Status::FailedPrecondition);
            assert!(e.message().contains("GEMINI_API_KEY"), "{}", e.message());
        }
    }
}
