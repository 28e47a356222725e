//! The plugin: one configurable [`OpenAiCompat`] for OpenAI, DeepSeek, xAI, Azure OpenAI /
//! Microsoft Foundry and any OpenAI-compatible server. It registers its catalogue at init,
//! resolves any other model or embedder name on demand, and lists the server's models.

use std::fmt;
use std::sync::{Arc, Mutex};

use genkit_core::{Action, ActionMetadata, ActionType, Error, Plugin, Result, Status};
use genkit_http::HttpOptions;
use reqwest::header::HeaderName;
use serde::Deserialize;

use crate::chat::{ChatBehaviour, chat_model};
use crate::client::{ApiKey, Auth, Client, ClientSettings, Routing, TokenProvider};
use crate::models::{self, ModelKind, ModelSpec};

/// Default Azure OpenAI `api-version` (the GA version of the classic deployments API).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavor {
    OpenAi,
    DeepSeek,
    Xai,
    Azure,
    Generic,
}

/// An OpenAI-compatible provider as a Genkit plugin. Build one with [`OpenAiCompat::openai`],
/// [`OpenAiCompat::deepseek`], [`OpenAiCompat::xai`], [`OpenAiCompat::azure`] or
/// [`openai_compatible`](crate::openai_compatible), adjust it with the setters, and register it.
///
/// Keys and base URLs given as options win over environment variables, which are read when
/// the plugin initializes. Keys are never logged: `Debug` redacts them.
///
/// ```
/// use std::time::Duration;
/// use genkit_openai_compat::{ModelSpec, OpenAiCompat};
/// let p = OpenAiCompat::openai()
///     .api_key("sk-test")
///     .base_url("http://127.0.0.1:8000/v1")
///     .timeout(Duration::from_secs(30))
///     .model(ModelSpec::chat("my-fine-tune"));
/// assert!(!format!("{p:?}").contains("sk-test"));
/// ```
#[derive(Clone)]
pub struct OpenAiCompat {
    name: String,
    flavor: Flavor,
    api_key: Option<ApiKey>,
    key_env: &'static [&'static str],
    key_required: bool,
    base_url: Option<String>,
    base_url_env: &'static [&'static str],
    default_base_url: Option<&'static str>,
    token: Option<TokenProvider>,
    api_version: Option<String>,
    http: HttpOptions,
    models: Vec<ModelSpec>,
    embedders: Vec<(String, Option<usize>)>,
    list_remote: bool,
    strict_default: bool,
    client: Arc<Mutex<Option<Arc<Client>>>>,
}

impl fmt::Debug for OpenAiCompat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompat")
            .field("name", &self.name)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("token_provider", &self.token.is_some())
            .field("api_version", &self.api_version)
            .field("http", &self.http)
            .field("models", &self.models.iter().map(ModelSpec::id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OpenAiCompat {
    fn base(name: &str, flavor: Flavor) -> OpenAiCompat {
        OpenAiCompat {
            name: name.to_owned(),
            flavor,
            api_key: None,
            key_env: &[],
            key_required: false,
            base_url: None,
            base_url_env: &[],
            default_base_url: None,
            token: None,
            api_version: None,
            http: HttpOptions::default(),
            models: Vec::new(),
            embedders: Vec::new(),
            list_remote: false,
            strict_default: false,
            client: Arc::new(Mutex::new(None)),
        }
    }

    /// OpenAI (`openai/*`): the chat models of the Genkit JS catalogue, `dall-e-3`,
    /// `gpt-image-1`, `tts-1`, `tts-1-hd`, `gpt-4o-mini-tts`, `whisper-1`,
    /// `gpt-4o-transcribe`, `gpt-4o-mini-transcribe` and the three embedders; any other model
    /// id resolves on demand. Env: `OPENAI_API_KEY` (required), `OPENAI_BASE_URL`,
    /// `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`.
    pub fn openai() -> OpenAiCompat {
        let mut models = models::openai_chat_models();
        models.extend(models::openai_media_models());
        OpenAiCompat {
            key_env: &["OPENAI_API_KEY"],
            key_required: true,
            base_url_env: &["OPENAI_BASE_URL"],
            default_base_url: Some("https://api.openai.com/v1"),
            models,
            embedders: models::OPENAI_EMBEDDERS.iter().map(|(id, d)| ((*id).to_owned(), Some(*d))).collect(),
            list_remote: true,
            strict_default: true,
            ..OpenAiCompat::base("openai", Flavor::OpenAi)
        }
    }

    /// DeepSeek (`deepseek/*`): `deepseek-chat` and `deepseek-reasoner` (its
    /// `reasoning_content` becomes reasoning parts). Env: `DEEPSEEK_API_KEY` (required),
    /// `DEEPSEEK_BASE_URL`.
    pub fn deepseek() -> OpenAiCompat {
        OpenAiCompat {
            key_env: &["DEEPSEEK_API_KEY"],
            key_required: true,
            base_url_env: &["DEEPSEEK_BASE_URL"],
            default_base_url: Some("https://api.deepseek.com"),
            models: models::deepseek_models(),
            list_remote: true,
            ..OpenAiCompat::base("deepseek", Flavor::DeepSeek)
        }
    }

    /// xAI (`xai/*`): Grok chat models (`reasoningEffort` for the mini models), vision and
    /// `grok-2-image-1212`. Env: `XAI_API_KEY` (required), `XAI_BASE_URL`.
    pub fn xai() -> OpenAiCompat {
        OpenAiCompat {
            key_env: &["XAI_API_KEY"],
            key_required: true,
            base_url_env: &["XAI_BASE_URL"],
            default_base_url: Some("https://api.x.ai/v1"),
            models: models::xai_models(),
            list_remote: true,
            ..OpenAiCompat::base("xai", Flavor::Xai)
        }
    }

    /// Azure OpenAI / Microsoft Foundry (`microsoft-foundry/<deployment>`): requests go to
    /// `{endpoint}/openai/deployments/{deployment}/…?api-version=…`, or with
    /// `api_version("v1")` to `{endpoint}/openai/v1/…`. Authenticates with the `api-key`
    /// header, or with a bearer token from [`OpenAiCompat::token_provider`] (Entra ID). Any
    /// deployment name resolves; declare them with [`OpenAiCompat::model`] to list them.
    /// Env: `AZURE_OPENAI_ENDPOINT` (required), `AZURE_OPENAI_API_KEY` (unless a token
    /// provider is set), `OPENAI_API_VERSION` or `AZURE_OPENAI_API_VERSION`.
    pub fn azure() -> OpenAiCompat {
        OpenAiCompat {
            key_env: &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"],
            key_required: true,
            base_url_env: &["AZURE_OPENAI_ENDPOINT"],
            strict_default: true,
            ..OpenAiCompat::base("microsoft-foundry", Flavor::Azure)
        }
    }

    /// Any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, Ollama `/v1`, LiteLLM, …)
    /// under the plugin name `name`. Any model name resolves to a chat model; the server's
    /// `GET /models` is listed.
    pub fn compatible(name: impl Into<String>, base_url: impl Into<String>, api_key: Option<&str>) -> OpenAiCompat {
        let name = name.into();
        OpenAiCompat {
            base_url: Some(base_url.into()),
            api_key: api_key.map(ApiKey::new),
            list_remote: true,
            ..OpenAiCompat::base(&name, Flavor::Generic)
        }
    }

    /// Renames the plugin (its namespace), e.g. `azure-openai`.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the API key (instead of the environment variable).
    #[must_use]
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the base URL (instead of the environment variable or the default), e.g.
    /// `http://127.0.0.1:8000/v1`. For Azure it is the resource endpoint.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Authenticates with a bearer token from `provider` (Azure Entra ID, or any gateway
    /// issuing short-lived tokens) instead of an API key.
    #[must_use]
    pub fn token_provider(mut self, provider: TokenProvider) -> Self {
        self.token = Some(provider);
        self
    }

    /// Sets Azure's `api-version` (`"v1"` switches to the v1 API without deployments in the URL).
    #[must_use]
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
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

    /// Whether `list` also asks the server's `GET /models` (default on, except Azure).
    #[must_use]
    pub fn list_remote_models(mut self, yes: bool) -> Self {
        self.list_remote = yes;
        self
    }

    /// Whether JSON schemas go out with `strict: true` by default (on for OpenAI and Azure).
    #[must_use]
    pub fn strict_json_schema(mut self, yes: bool) -> Self {
        self.strict_default = yes;
        self
    }

    fn env(names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    }

    fn settings(&self) -> Result<ClientSettings> {
        let precondition = |msg: String| Error::new(Status::FailedPrecondition, msg).with_origin(self.name.clone());
        let key = self.api_key.clone().or_else(|| Self::env(self.key_env).map(ApiKey::new));
        let mut base = self
            .base_url
            .clone()
            .or_else(|| Self::env(self.base_url_env))
            .or_else(|| self.default_base_url.map(str::to_owned))
            .ok_or_else(|| {
                precondition(format!(
                    "no base URL for plugin '{}': pass .base_url(..){}",
                    self.name,
                    self.base_url_env.first().map(|e| format!(" or set {e}")).unwrap_or_default()
                ))
            })?;
        let auth = match (&self.token, key) {
            (Some(t), _) => Auth::Token(t.clone()),
            (None, Some(k)) if self.flavor == Flavor::Azure => Auth::Header(HeaderName::from_static("api-key"), k),
            (None, Some(k)) => Auth::Bearer(k),
            (None, None) if self.key_required => {
                return Err(precondition(format!(
                    "no API key for plugin '{}': pass .api_key(..){}",
                    self.name,
                    self.key_env.first().map(|e| format!(" or set {e}")).unwrap_or_default()
                )));
            }
            (None, None) => Auth::None,
        };
        let mut http = self.http.clone();
        let headers = &mut http.headers;
        let mut query = Vec::new();
        let mut routing = Routing::Plain;
        match self.flavor {
            Flavor::OpenAi => {
                for (env, h) in [("OPENAI_ORG_ID", "OpenAI-Organization"), ("OPENAI_PROJECT_ID", "OpenAI-Project")] {
                    if let Some(v) = Self::env(&[env])
                        && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(h))
                    {
                        headers.push((h.to_owned(), v));
                    }
                }
            }
            Flavor::Azure => {
                let version = self
                    .api_version
                    .clone()
                    .or_else(|| Self::env(&["OPENAI_API_VERSION", "AZURE_OPENAI_API_VERSION"]))
                    .unwrap_or_else(|| AZURE_DEFAULT_API_VERSION.to_owned());
                let trimmed = base.trim_end_matches('/');
                if version == "v1" || trimmed.ends_with("/openai/v1") {
                    if !trimmed.ends_with("/openai/v1") {
                        base = format!("{trimmed}/openai/v1");
                    }
                } else {
                    routing = Routing::AzureDeployment;
                    query.push(("api-version".to_owned(), version));
                }
            }
            Flavor::DeepSeek | Flavor::Xai | Flavor::Generic => {}
        }
        Ok(ClientSettings { origin: self.name.clone(), base_url: base, auth, http, query, routing })
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

    /// The spec of a model id: the declared one, else one by provider. Only OpenAI's own
    /// model families are told apart by name ([`ModelKind::guess`]); any other unknown id is a
    /// chat model, so no name sends a request to the images or audio endpoints by accident.
    fn spec_for(&self, id: &str) -> ModelSpec {
        if let Some(m) = self.models.iter().find(|m| m.id == id) {
            return m.clone();
        }
        match self.flavor {
            Flavor::DeepSeek if id.contains("reasoner") => models::deepseek_reasoner(id),
            Flavor::OpenAi if id.starts_with('o') || id.starts_with("gpt-5") => {
                ModelSpec::of_kind(id, ModelKind::guess(id)).max_completion_tokens(true)
            }
            Flavor::OpenAi => ModelSpec::of_kind(id, ModelKind::guess(id)),
            Flavor::DeepSeek | Flavor::Xai | Flavor::Azure | Flavor::Generic => ModelSpec::chat(id),
        }
    }

    fn model_action(&self, client: Arc<Client>, spec: &ModelSpec) -> Arc<dyn Action> {
        match spec.kind {
            ModelKind::Image => crate::image::image_model(&self.name, client, spec).as_action(),
            ModelKind::Speech => crate::audio::speech_model(&self.name, client, spec).as_action(),
            ModelKind::Transcription => crate::audio::transcription_model(&self.name, client, spec).as_action(),
            ModelKind::Chat => {
                let b = ChatBehaviour { strict_default: self.strict_default };
                chat_model(&self.name, client, spec, b).as_action()
            }
        }
    }

    fn embedder_action(&self, client: Arc<Client>, id: &str) -> Arc<dyn Action> {
        let dims = self.embedders.iter().find(|e| e.0 == id).and_then(|e| e.1);
        crate::embed::embedder(&self.name, client, id, dims).as_action()
    }

    async fn remote_ids(&self, client: &Client) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            data: Vec<Item>,
        }
        #[derive(Deserialize)]
        struct Item {
            id: String,
        }
        let resp = client.get("models").await?;
        let list: List = client.json(resp).await?;
        Ok(list.data.into_iter().map(|i| i.id).collect())
    }
}

impl Plugin for OpenAiCompat {
    fn name(&self) -> &str {
        &self.name
    }

    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        let client = self.client()?;
        let mut out: Vec<Arc<dyn Action>> = self.models.iter().map(|m| self.model_action(client.clone(), m)).collect();
        out.extend(self.embedders.iter().map(|(id, _)| self.embedder_action(client.clone(), id)));
        Ok(out)
    }

    async fn resolve(&self, action_type: ActionType, name: &str) -> Result<Option<Arc<dyn Action>>> {
        let id = name.strip_prefix(&format!("{}/", self.name)).unwrap_or(name);
        if id.is_empty() {
            return Ok(None);
        }
        match action_type {
            ActionType::Model => Ok(Some(self.model_action(self.client()?, &self.spec_for(id)))),
            ActionType::Embedder => Ok(Some(self.embedder_action(self.client()?, id))),
            _ => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<ActionMetadata>> {
        let client = self.client()?;
        let mut out: Vec<ActionMetadata> =
            self.models.iter().map(|m| self.model_action(client.clone(), m).metadata().clone()).collect();
        out.extend(self.embedders.iter().map(|(id, _)| self.embedder_action(client.clone(), id).metadata().clone()));
        if self.list_remote {
            match self.remote_ids(&client).await {
                Ok(ids) => {
                    for id in ids {
                        let full = format!("{}/{id}", self.name);
                        if out.iter().any(|m| *m.name == *full) {
                            continue;
                        }
                        let action = if id.contains("embed") {
                            self.embedder_action(client.clone(), &id)
                        } else {
                            self.model_action(client.clone(), &self.spec_for(&id))
                        };
                        out.push(action.metadata().clone());
                    }
                }
                Err(e) => tracing::warn!(plugin = self.name.as_str(), "listing the server's models failed: {e}"),
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
        let s = OpenAiCompat::openai().api_key("k").base_url("http://h/v1").settings().unwrap();
        assert_eq!(s.base_url, "http://h/v1");
        assert!(matches!(s.auth, Auth::Bearer(_)));
        let e = OpenAiCompat::deepseek().name("ds-test-nokey").settings();
        if std::env::var("DEEPSEEK_API_KEY").is_err() {
            let e = e.unwrap_err();
            assert_eq!(e.status(), Status::FailedPrecondition);
            assert!(e.message().contains("DEEPSEEK_API_KEY"), "{}", e.message());
        }
        let g = OpenAiCompat::compatible("local", "http://127.0.0.1:1/v1", None).settings().unwrap();
        assert!(matches!(g.auth, Auth::None));
    }

    #[test]
    fn azure_routes_by_deployment_or_v1() {
        let s = OpenAiCompat::azure().base_url("https://r.openai.azure.com/").api_key("k").settings().unwrap();
        assert_eq!(s.routing, Routing::AzureDeployment);
        assert!(matches!(&s.auth, Auth::Header(h, _) if h == "api-key"));
        assert_eq!(s.query, vec![("api-version".to_owned(), AZURE_DEFAULT_API_VERSION.to_owned())]);
        let s = OpenAiCompat::azure()
            .base_url("https://r.openai.azure.com")
            .api_version("v1")
            .token_provider(TokenProvider::new(|| async { Ok("t".to_owned()) }))
            .settings()
            .unwrap();
        assert_eq!((s.routing, s.base_url.as_str()), (Routing::Plain, "https://r.openai.azure.com/openai/v1"));
        assert!(matches!(s.auth, Auth::Token(_)) && s.query.is_empty());
    }

    #[test]
    fn unknown_ids_get_specs_by_name() {
        let o = OpenAiCompat::openai();
        assert_eq!(o.spec_for("dall-e-2").kind, ModelKind::Image);
        assert_eq!(o.spec_for("gpt-image-1.5").kind, ModelKind::Image);
        assert_eq!(o.spec_for("whisper-2").kind, ModelKind::Transcription);
        assert!(o.spec_for("o5-preview").max_completion_tokens);
        assert!(OpenAiCompat::deepseek().spec_for("deepseek-reasoner-v9").reasoner);
        assert_eq!(OpenAiCompat::compatible("x", "http://h", None).spec_for("llama").kind, ModelKind::Chat);
    }

    #[test]
    fn unknown_ids_of_other_providers_are_chat_models_whatever_their_name() {
        let compatible = OpenAiCompat::compatible("x", "http://h", None);
        for id in ["qwen-image-chat", "my-image", "dall-e-clone", "gpt-image-1", "llava-tts", "whisper-chat"] {
            assert_eq!(compatible.spec_for(id).kind, ModelKind::Chat, "{id}");
        }
        assert_eq!(OpenAiCompat::xai().spec_for("grok-9-image").kind, ModelKind::Chat);
        assert_eq!(OpenAiCompat::azure().spec_for("my-dall-e-deployment").kind, ModelKind::Chat);
        assert_eq!(OpenAiCompat::openai().spec_for("gpt-4o-image-preview").kind, ModelKind::Chat);
        // Known image models and declared ones still go to the images endpoint.
        assert_eq!(OpenAiCompat::xai().spec_for("grok-2-image-1212").kind, ModelKind::Image);
        let declared = compatible.model(ModelSpec::of_kind("flux-dev", ModelKind::Image));
        assert_eq!(declared.spec_for("flux-dev").kind, ModelKind::Image);
    }
}
