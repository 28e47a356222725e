//! The [`VertexAi`] plugin: project and location from options or the environment, the
//! regional (or `global`) endpoint, bearer tokens from [`Credentials`] or an express-mode key,
//! the Gemini catalogue under `vertexai/`, and the media families wired as `crate::family`
//! describes (Imagen, Gemini image and TTS models, Lyria, Veo background models, the
//! multimodal embedder).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use genkit_core::{Action, ActionMetadata, ActionType, Error, Plugin, Result, Status};
use genkit_http::{HttpOptions, Secret};
use serde::Deserialize;

use crate::auth::{Credentials, TokenSource};
use crate::client::{Backend, Client, ClientSettings, KeyTransport};
use crate::models::{GEMINI_IMAGE_MODELS, ModelSpec, is_embedder_id, is_gemini_id, label_of};
use crate::multimodal_embed::{MULTIMODAL_EMBEDDERS, is_multimodal_embedder_id};
use crate::vertexai::evaluate::VertexMetric;
use crate::vertexai::rerank::{DISCOVERY_ENGINE_URL, RankingApi, VERTEX_RERANKERS, is_ranker_id};
use serde_json::Value;

/// The environment variables read for the project, in order.
pub const PROJECT_ENV: [&str; 2] = ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"];

/// The environment variables read for the location, in order (default `us-central1`).
pub const LOCATION_ENV: [&str; 3] = ["GOOGLE_CLOUD_LOCATION", "GOOGLE_CLOUD_REGION", "GCLOUD_LOCATION"];

/// The environment variable of an express-mode API key.
pub const VERTEX_API_KEY_ENV: &str = "VERTEX_API_KEY";

/// The location used when neither an option nor the environment names one.
const DEFAULT_LOCATION: &str = "us-central1";

/// The location the Lyria models are called in, whatever the plugin's location (they are
/// served from the `global` endpoint). [`VertexAi::model_location`] or the request config's
/// `location` key choose another.
pub const LYRIA_LOCATION: &str = "global";

/// The Gemini models registered under `vertexai/` (any other `gemini-*` id resolves on demand).
pub const VERTEX_MODELS: [&str; 7] = [
    "gemini-3.1-pro-preview",
    "gemini-3-flash-preview",
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
];

/// The text embedders registered under `vertexai/` and their default vector lengths.
pub const VERTEX_EMBEDDERS: [(&str, usize); 3] =
    [("gemini-embedding-001", 3072), ("text-embedding-005", 768), ("text-multilingual-embedding-002", 768)];

/// Google Cloud's Vertex AI as a Genkit plugin (`vertexai/*`).
///
/// Requests go to `https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{method}`
/// (`https://aiplatform.googleapis.com/...` for the `global` location) with an OAuth token
/// from [`Credentials`] (Application Default Credentials unless set). With an API key
/// ([`VertexAi::api_key`] or `VERTEX_API_KEY`) it uses express mode instead:
/// `https://aiplatform.googleapis.com/v1/publishers/google/models/{model}:{method}` with the key.
///
/// The project comes from [`VertexAi::project`], `GOOGLE_CLOUD_PROJECT`, `GCLOUD_PROJECT`,
/// or the credentials (a key file's `project_id`, the metadata server); the location from
/// [`VertexAi::location`], `GOOGLE_CLOUD_LOCATION`, `GOOGLE_CLOUD_REGION`, `GCLOUD_LOCATION`,
/// else `us-central1`.
///
/// ```
/// use genkit_google_genai::VertexAi;
/// let p = VertexAi::new().project("my-project").location("global");
/// # let _ = p;
/// ```
pub struct VertexAi {
    name: String,
    project: Option<String>,
    location: Option<String>,
    credentials: Credentials,
    api_key: Option<Secret>,
    key_transport: KeyTransport,
    base_url: Option<String>,
    api_version: String,
    http: HttpOptions,
    models: Vec<ModelSpec>,
    embedders: Vec<(String, Option<usize>)>,
    list_remote: bool,
    response_json_schema: bool,
    garden_models: Vec<String>,
    rerankers: Vec<String>,
    ranking_url: String,
    ranking_location: String,
    metrics: Vec<(VertexMetric, Value)>,
    model_locations: Vec<(String, String)>,
    client: Arc<Mutex<Option<Arc<Client>>>>,
}

/// A clone is configured the same but builds its own client (so setters called on it apply).
impl Clone for VertexAi {
    fn clone(&self) -> Self {
        VertexAi {
            name: self.name.clone(),
            project: self.project.clone(),
            location: self.location.clone(),
            credentials: self.credentials.clone(),
            api_key: self.api_key.clone(),
            key_transport: self.key_transport,
            base_url: self.base_url.clone(),
            api_version: self.api_version.clone(),
            http: self.http.clone(),
            models: self.models.clone(),
            embedders: self.embedders.clone(),
            list_remote: self.list_remote,
            response_json_schema: self.response_json_schema,
            garden_models: self.garden_models.clone(),
            rerankers: self.rerankers.clone(),
            ranking_url: self.ranking_url.clone(),
            ranking_location: self.ranking_location.clone(),
            metrics: self.metrics.clone(),
            model_locations: self.model_locations.clone(),
            client: Arc::new(Mutex::new(None)),
        }
    }
}

impl fmt::Debug for VertexAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VertexAi")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("location", &self.location)
            .field("credentials", &self.credentials)
            .field("api_key", &self.api_key)
            .field("base_url", &self.base_url)
            .field("models", &self.models.iter().map(ModelSpec::id).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for VertexAi {
    fn default() -> Self {
        VertexAi::new()
    }
}

/// The Model Garden models registered by default: the Claude catalogue with the feature on.
fn default_garden_models() -> Vec<String> {
    #[cfg(feature = "model-garden")]
    {
        super::garden::VERTEX_CLAUDE_MODELS.iter().map(|(id, _)| (*id).to_owned()).collect()
    }
    #[cfg(not(feature = "model-garden"))]
    {
        Vec::new()
    }
}

/// A Gemini model spec labelled for Vertex AI.
fn vertex_spec(id: &str) -> ModelSpec {
    ModelSpec::new(id).label(format!("Vertex AI - {}", label_of(id)))
}

fn env_first(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// Checks a project or location before it goes into URL paths.
pub(crate) fn path_safe(what: &str, value: &str) -> Result<()> {
    let ok =
        !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "invalid Vertex AI {what} '{value}': use letters, digits, '-', '_', '.' or ':'"
        )))
    }
}

/// The API host for a location: `aiplatform.googleapis.com` for `global`,
/// `{location}-aiplatform.googleapis.com` otherwise.
pub(crate) fn location_host(location: &str) -> String {
    if location == "global" {
        "https://aiplatform.googleapis.com".to_owned()
    } else {
        format!("https://{location}-aiplatform.googleapis.com")
    }
}

impl VertexAi {
    /// The plugin named `vertexai` with the Vertex Gemini catalogue ([`VERTEX_MODELS`]), the
    /// media models ([`GEMINI_IMAGE_MODELS`](crate::GEMINI_IMAGE_MODELS),
    /// [`TTS_MODELS`](crate::TTS_MODELS), [`IMAGEN_MODELS`](crate::IMAGEN_MODELS),
    /// [`LYRIA_MODELS`](crate::LYRIA_MODELS), the Veo background models of
    /// [`VERTEX_VEO_MODELS`](crate::VERTEX_VEO_MODELS)), the text embedders
    /// ([`VERTEX_EMBEDDERS`]) and the multimodal embedder
    /// ([`MULTIMODAL_EMBEDDERS`](crate::MULTIMODAL_EMBEDDERS)).
    pub fn new() -> VertexAi {
        VertexAi {
            name: "vertexai".to_owned(),
            project: None,
            location: None,
            credentials: Credentials::Default,
            api_key: None,
            key_transport: KeyTransport::Header,
            base_url: None,
            api_version: "v1".to_owned(),
            http: HttpOptions::default(),
            models: VERTEX_MODELS
                .iter()
                .chain(GEMINI_IMAGE_MODELS.iter())
                .chain(crate::tts::TTS_MODELS.iter())
                .chain(crate::imagen::IMAGEN_MODELS.iter())
                .chain(crate::lyria::LYRIA_MODELS.iter())
                .map(|id| vertex_spec(id))
                .collect(),
            embedders: VERTEX_EMBEDDERS
                .iter()
                .chain(MULTIMODAL_EMBEDDERS.iter())
                .map(|(id, d)| ((*id).to_owned(), Some(*d)))
                .collect(),
            list_remote: true,
            response_json_schema: false,
            garden_models: default_garden_models(),
            rerankers: VERTEX_RERANKERS.iter().map(|m| (*m).to_owned()).collect(),
            ranking_url: DISCOVERY_ENGINE_URL.to_owned(),
            ranking_location: "global".to_owned(),
            metrics: Vec::new(),
            model_locations: Vec::new(),
            client: Arc::new(Mutex::new(None)),
        }
    }

    /// Renames the plugin (its namespace).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the Google Cloud project (instead of the environment or the credentials).
    #[must_use]
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Sets the location: a region such as `europe-west4`, or `global`.
    #[must_use]
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Where OAuth tokens come from (default: Application Default Credentials).
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Express mode: calls go with this API key, without a project or OAuth.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// How an express-mode key is sent: `x-goog-api-key` (default) or `?key=`.
    #[must_use]
    pub fn key_transport(mut self, transport: KeyTransport) -> Self {
        self.key_transport = transport;
        self
    }

    /// Sets the base URL (scheme and host, without the API version), e.g. a private endpoint
    /// or a test server, instead of the location's host.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the API version path segment (default `v1`; `v1beta1` for preview features).
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

    /// Calls the model `id` in another location than the plugin's (e.g. a model served only in
    /// `global` or only in `us-central1`): its URLs name that location, and its host is the
    /// location's own unless [`VertexAi::base_url`] is set. The Lyria models default to
    /// [`LYRIA_LOCATION`]. No effect in express mode, which has no location.
    #[must_use]
    pub fn model_location(mut self, id: impl Into<String>, location: impl Into<String>) -> Self {
        let id = id.into();
        self.model_locations.retain(|(m, _)| *m != id);
        self.model_locations.push((id, location.into()));
        self
    }

    /// Declares a text (or multimodal, `multimodalembedding@001`) embedder with its vector
    /// length, if known.
    #[must_use]
    pub fn embedder(mut self, id: impl Into<String>, dimensions: Option<usize>) -> Self {
        let id = id.into();
        self.embedders.retain(|e| e.0 != id);
        self.embedders.push((id, dimensions));
        self
    }

    /// Whether listing also asks Vertex AI's publisher model list (`v1beta1/publishers/google/models`;
    /// default on, skipped in express mode).
    #[must_use]
    pub fn list_remote_models(mut self, yes: bool) -> Self {
        self.list_remote = yes;
        self
    }

    /// Sends output schemas as `responseJsonSchema` instead of the default `responseSchema`.
    #[must_use]
    pub fn response_json_schema(mut self, yes: bool) -> Self {
        self.response_json_schema = yes;
        self
    }

    /// Declares a Model Garden model (feature `model-garden`), registered at init: a Claude
    /// id (`claude-sonnet-4-5`, or a Vertex id such as `claude-3-7-sonnet@20250219`) or an
    /// OpenAI-compatible model as `publisher/model` (e.g. `meta/llama-3.3-70b-instruct-maas`).
    /// Undeclared ones of either form also resolve on demand.
    #[must_use]
    pub fn model_garden(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        if !self.garden_models.contains(&id) {
            self.garden_models.push(id);
        }
        self
    }

    /// Declares a semantic ranker model as the reranker `vertexai/<model>` (the
    /// [`VERTEX_RERANKERS`] are registered already; any `semantic-ranker-*` resolves).
    #[must_use]
    pub fn reranker(mut self, model: impl Into<String>) -> Self {
        let model = model.into();
        if !self.rerankers.contains(&model) {
            self.rerankers.push(model);
        }
        self
    }

    /// The Discovery Engine location of the ranking API (default `global`).
    #[must_use]
    pub fn ranking_location(mut self, location: impl Into<String>) -> Self {
        self.ranking_location = location.into();
        self
    }

    /// The Discovery Engine base URL (default [`DISCOVERY_ENGINE_URL`]), e.g. a test server.
    #[must_use]
    pub fn ranking_base_url(mut self, url: impl Into<String>) -> Self {
        self.ranking_url = url.into();
        self
    }

    /// Registers the evaluator `vertexai/<metric>` with the service's default metric spec
    /// (every metric also resolves on demand by name).
    #[must_use]
    pub fn evaluator(self, metric: VertexMetric) -> Self {
        self.evaluator_with_spec(metric, Value::Object(serde_json::Map::new()))
    }

    /// Registers the evaluator `vertexai/<metric>` with a metric spec sent as `metricSpec`
    /// (e.g. `{"useEffectiveOrder": true}` for BLEU, `{"rougeType": "rougeLsum"}` for ROUGE).
    #[must_use]
    pub fn evaluator_with_spec(mut self, metric: VertexMetric, spec: Value) -> Self {
        self.metrics.retain(|(m, _)| *m != metric);
        self.metrics.push((metric, spec));
        self
    }

    /// The express-mode key: the option, else `VERTEX_API_KEY` when no project is set (by
    /// option or environment), so that a configured project keeps using its credentials.
    fn express_key(&self) -> Option<Secret> {
        self.api_key.clone().or_else(|| {
            if self.project.is_some() || env_first(&PROJECT_ENV).is_some() {
                return None;
            }
            env_first(&[VERTEX_API_KEY_ENV]).map(Secret::new)
        })
    }

    /// The location from the option or the environment.
    fn resolved_location(&self) -> String {
        self.location.clone().or_else(|| env_first(&LOCATION_ENV)).unwrap_or_else(|| DEFAULT_LOCATION.to_owned())
    }

    /// Builds the client settings (async: the project may come from the credentials).
    async fn settings(&self) -> Result<ClientSettings> {
        let origin = self.name.clone();
        let common = |base_url: String, backend: Backend, api_key: Option<Secret>, tokens: Option<Arc<TokenSource>>| {
            ClientSettings {
                origin: origin.clone(),
                base_url,
                api_version: self.api_version.clone(),
                api_key,
                key_transport: self.key_transport,
                http: self.http.clone(),
                backend,
                tokens,
            }
        };
        if let Some(key) = self.express_key() {
            let base = self.base_url.clone().unwrap_or_else(|| location_host("global"));
            return Ok(common(base, Backend::VertexExpress, Some(key), None));
        }
        let location = self.resolved_location();
        path_safe("location", &location)?;
        let token_http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::new(Status::Internal, format!("cannot build the HTTP client: {e}")))?;
        let tokens = Arc::new(TokenSource::new(self.credentials.clone(), token_http));
        let project = match self.project.clone().or_else(|| env_first(&PROJECT_ENV)) {
            Some(p) => p,
            None => tokens.project().await.ok_or_else(|| {
                Error::new(
                    Status::FailedPrecondition,
                    format!(
                        "no Google Cloud project for plugin '{}': pass .project(..), set GOOGLE_CLOUD_PROJECT, or use \
                         an express-mode API key (.api_key(..) or VERTEX_API_KEY)",
                        self.name
                    ),
                )
                .with_origin(self.name.clone())
            })?,
        };
        path_safe("project", &project)?;
        let base = self.base_url.clone().unwrap_or_else(|| location_host(&location));
        Ok(common(base, Backend::Vertex { project, location }, None, Some(tokens)))
    }

    async fn client(&self) -> Result<Arc<Client>> {
        if let Some(c) = self.client.lock().map_err(|_| poisoned())?.as_ref() {
            return Ok(c.clone());
        }
        let built = Arc::new(Client::new(self.settings().await?)?);
        let mut slot = self.client.lock().map_err(|_| poisoned())?;
        // Two first calls may race: the first stored client wins (they are equal).
        Ok(slot.get_or_insert(built).clone())
    }

    fn spec_for(&self, id: &str) -> ModelSpec {
        self.models.iter().find(|m| m.id == id).cloned().unwrap_or_else(|| vertex_spec(id))
    }

    /// The location a model is called in, when not the plugin's: a [`VertexAi::model_location`],
    /// else [`LYRIA_LOCATION`] for Lyria.
    fn location_of(&self, id: &str) -> Option<&str> {
        self.model_locations
            .iter()
            .find(|(m, _)| m == id)
            .map(|(_, l)| l.as_str())
            .or_else(|| crate::lyria::is_lyria_id(id).then_some(LYRIA_LOCATION))
    }

    /// The client for model `id`: the plugin's, or one for the model's own location.
    fn client_for(&self, client: &Arc<Client>, id: &str) -> Result<Arc<Client>> {
        match self.location_of(id) {
            Some(l) => Ok(Arc::new(client.in_location(l)?)),
            None => Ok(client.clone()),
        }
    }

    /// The model action of `spec`, built by the family its id belongs to (Gemini, Imagen,
    /// Lyria), with the client of the model's location.
    fn model_action(&self, client: &Arc<Client>, spec: &ModelSpec) -> Result<Arc<dyn Action>> {
        let client = self.client_for(client, &spec.id)?;
        Ok(crate::family::model_action(&self.name, client, spec, self.response_json_schema))
    }

    /// Whether `id` is served as a model on demand: a Vertex model family id (Gemma has no
    /// Vertex publisher endpoint).
    fn serves_model(&self, id: &str) -> bool {
        self.models.iter().any(|m| m.id == id) || (crate::family::is_vertex_model_id(id) && !id.starts_with("gemma-"))
    }

    /// The action of a Model Garden model, if `id` names one (and the feature is on).
    #[allow(clippy::unused_self)]
    fn garden_action(&self, client: &Arc<Client>, id: &str) -> Option<Arc<dyn Action>> {
        #[cfg(feature = "model-garden")]
        {
            use super::garden;
            if garden::is_claude_id(id) {
                return Some(garden::claude_model(&self.name, client.clone(), id).as_action());
            }
            if garden::is_openai_id(id) {
                return Some(garden::openai_model(&self.name, client.clone(), id).as_action());
            }
        }
        let _ = (client, id);
        None
    }

    fn reranker_action(&self, client: Arc<Client>, model: &str) -> Arc<dyn Action> {
        let api = RankingApi { base_url: self.ranking_url.clone(), location: self.ranking_location.clone() };
        super::rerank::reranker(&self.name, client, api, model).as_action()
    }

    fn evaluator_action(&self, client: Arc<Client>, metric: VertexMetric) -> Arc<dyn Action> {
        let spec = self
            .metrics
            .iter()
            .find(|(m, _)| *m == metric)
            .map_or_else(|| Value::Object(serde_json::Map::new()), |(_, s)| s.clone());
        super::evaluate::evaluator(&self.name, client, metric, spec).as_action()
    }

    /// Rerankers and evaluators registered at init (both need a project: none in express mode).
    fn extras(&self, client: &Arc<Client>) -> Vec<Arc<dyn Action>> {
        if !matches!(client.backend(), Backend::Vertex { .. }) {
            return Vec::new();
        }
        let mut out: Vec<Arc<dyn Action>> =
            self.rerankers.iter().map(|m| self.reranker_action(client.clone(), m)).collect();
        out.extend(self.metrics.iter().map(|(m, _)| self.evaluator_action(client.clone(), *m)));
        out
    }

    fn embedder_action(&self, client: Arc<Client>, id: &str) -> Arc<dyn Action> {
        let dims = self.embedders.iter().find(|e| e.0 == id).and_then(|e| e.1);
        if is_multimodal_embedder_id(id) {
            let dims = dims.or_else(|| MULTIMODAL_EMBEDDERS.iter().find(|e| e.0 == id).map(|e| e.1));
            return crate::multimodal_embed::multimodal_embedder(&self.name, client, id, dims).as_action();
        }
        super::embed::embedder(&self.name, client, id, dims).as_action()
    }

    /// The publisher models Vertex AI lists (`GET v1beta1/publishers/google/models`): their ids.
    async fn remote_models(&self, client: &Client) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            publisher_models: Vec<Item>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        #[derive(Deserialize)]
        struct Item {
            name: String,
        }
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        let url = client.url_in("v1beta1", "publishers/google/models");
        for _ in 0..10 {
            let mut query = vec![("pageSize", "1000".to_owned()), ("listAllVersions", "false".to_owned())];
            if let Some(t) = &token {
                query.push(("pageToken", t.clone()));
            }
            let page: Page = client.json(client.get_url(&url, &query).await?).await?;
            out.extend(
                page.publisher_models.into_iter().map(|i| i.name.rsplit('/').next().unwrap_or_default().to_owned()),
            );
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }
}

fn poisoned() -> Error {
    Error::new(Status::Internal, "plugin state poisoned")
}

impl Plugin for VertexAi {
    fn name(&self) -> &str {
        &self.name
    }

    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        let client = self.client().await?;
        let mut out: Vec<Arc<dyn Action>> =
            self.models.iter().map(|m| self.model_action(&client, m)).collect::<Result<_>>()?;
        out.extend(self.embedders.iter().map(|(id, _)| self.embedder_action(client.clone(), id)));
        out.extend(crate::family::background_actions(&self.name, &client, &crate::veo::VERTEX_VEO_MODELS));
        out.extend(self.garden_models.iter().filter_map(|id| self.garden_action(&client, id)));
        out.extend(self.extras(&client));
        Ok(out)
    }

    async fn resolve(&self, action_type: ActionType, name: &str) -> Result<Option<Arc<dyn Action>>> {
        let id = name.strip_prefix(&format!("{}/", self.name)).unwrap_or(name);
        match action_type {
            ActionType::Model if self.serves_model(id) => {
                Ok(Some(self.model_action(&self.client().await?, &self.spec_for(id))?))
            }
            ActionType::Embedder if self.embedders.iter().any(|e| e.0 == id) || is_embedder_id(id) => {
                Ok(Some(self.embedder_action(self.client().await?, id)))
            }
            ActionType::Model if cfg!(feature = "model-garden") => Ok(self.garden_action(&self.client().await?, id)),
            ActionType::BackgroundModel | ActionType::CheckOperation | ActionType::CancelOperation => {
                Ok(crate::family::background_action(&self.name, self.client().await?, action_type, id))
            }
            ActionType::Reranker if self.rerankers.iter().any(|m| m == id) || is_ranker_id(id) => {
                Ok(Some(self.reranker_action(self.client().await?, id)))
            }
            ActionType::Evaluator => match VertexMetric::from_id(id) {
                Some(m) => Ok(Some(self.evaluator_action(self.client().await?, m))),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<ActionMetadata>> {
        let client = self.client().await?;
        let mut out: Vec<ActionMetadata> = self
            .models
            .iter()
            .map(|m| self.model_action(&client, m).map(|a| a.metadata().clone()))
            .collect::<Result<_>>()?;
        out.extend(self.embedders.iter().map(|(id, _)| self.embedder_action(client.clone(), id).metadata().clone()));
        out.extend(crate::family::background_metadata(&self.name, &client, &crate::veo::VERTEX_VEO_MODELS));
        out.extend(
            self.garden_models.iter().filter_map(|id| self.garden_action(&client, id)).map(|a| a.metadata().clone()),
        );
        out.extend(self.extras(&client).iter().map(|a| a.metadata().clone()));
        if self.list_remote && matches!(client.backend(), Backend::Vertex { .. }) {
            match self.remote_models(&client).await {
                Ok(ids) => {
                    for id in ids {
                        let full = format!("{}/{id}", self.name);
                        if out.iter().any(|m| *m.name == *full) {
                            continue;
                        }
                        if is_embedder_id(&id)
                            && (id.starts_with("text-") || id.starts_with("gemini-") || is_multimodal_embedder_id(&id))
                        {
                            out.push(self.embedder_action(client.clone(), &id).metadata().clone());
                        } else if crate::veo::is_veo_id(&id) {
                            out.extend(crate::family::background_metadata(&self.name, &client, &[id.as_str()]));
                        } else if (is_gemini_id(&id) && !id.starts_with("gemma-"))
                            || crate::imagen::is_imagen_id(&id)
                            || crate::lyria::is_lyria_id(&id)
                        {
                            out.push(self.model_action(&client, &self.spec_for(&id))?.metadata().clone());
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(plugin = self.name.as_str(), "listing Vertex AI's publisher models failed: {e}");
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn options_pick_the_backend_host_and_project() {
        let s = VertexAi::new().project("p1").location("europe-west4").settings().await.unwrap();
        assert_eq!(s.base_url, "https://europe-west4-aiplatform.googleapis.com");
        assert_eq!(s.backend, Backend::Vertex { project: "p1".into(), location: "europe-west4".into() });
        assert!(s.tokens.is_some() && s.api_key.is_none());
        let s = VertexAi::new().project("p1").location("global").settings().await.unwrap();
        assert_eq!(s.base_url, "https://aiplatform.googleapis.com");
        let s = VertexAi::new().api_key("AQ.key").settings().await.unwrap();
        assert_eq!(s.backend, Backend::VertexExpress);
        assert_eq!(s.base_url, "https://aiplatform.googleapis.com");
        assert_eq!(s.api_version, "v1");
        let e = VertexAi::new().project("p/../x").location("us-central1").settings().await.err().unwrap();
        assert_eq!(e.status(), Status::InvalidArgument);
        assert!(!format!("{:?}", VertexAi::new().api_key("AQ.secret-key")).contains("AQ.secret"));
    }
}
