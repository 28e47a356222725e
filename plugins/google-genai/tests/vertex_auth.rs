//! Vertex AI credentials end to end against local servers: a service-account key made in
//! the test (a fresh RSA key) whose RS256 JWT a fake token endpoint verifies before it hands
//! out a token; gcloud user credentials (refresh token); the metadata server; token caching,
//! one refresh shared by concurrent calls, refresh near expiry and after a 401; token
//! endpoint failures. No secret may appear in an error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use genkit_ai::GenerateOptions;
use genkit_ai::generate::generate;
use genkit_core::{Registry, Status};
use genkit_google_genai::{ApiKey, Credentials, VertexAi};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const EMAIL: &str = "genkit-test@my-project.iam.gserviceaccount.com";
const GEN_PATH: &str =
    "/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";

/// One RSA key for the whole test binary (key generation is the slow part).
fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap())
}

fn service_account_json(token_uri: &str, project: Option<&str>) -> String {
    let pem = key().to_pkcs8_pem(LineEnding::LF).unwrap();
    let mut v = json!({
        "type": "service_account", "project_id": project, "private_key_id": "kid-1",
        "private_key": pem.as_str(), "client_email": EMAIL, "client_id": "1234",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
    });
    if project.is_none() {
        v.as_object_mut().unwrap().remove("project_id");
    }
    v.to_string()
}

fn form(req: &Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&req.body).into_owned().collect()
}

fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A fake OAuth token endpoint: checks the JWT-bearer grant and the RS256 signature with
/// the public key, then answers `ya29.test-N` valid for `expires_in` seconds.
struct TokenEndpoint {
    public: RsaPublicKey,
    audience: String,
    expires_in: u64,
    issued: Arc<AtomicUsize>,
}

impl Respond for TokenEndpoint {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form = form(req);
        let bad = |why: &str| {
            ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant", "error_description": why}))
        };
        if field(&form, "grant_type").as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
            return bad("wrong grant_type");
        }
        let Some(jwt) = field(&form, "assertion") else { return bad("no assertion") };
        let parts: Vec<&str> = jwt.split('.').collect();
        if parts.len() != 3 {
            return bad("not a JWT");
        }
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let sig = Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
        let verifier = VerifyingKey::<Sha256>::new(self.public.clone());
        if verifier.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_err() {
            return bad("Invalid JWT Signature.");
        }
        if header["alg"] != "RS256" || header["kid"] != "kid-1" {
            return bad("bad header");
        }
        let iat = claims["iat"].as_u64().unwrap_or(0);
        if claims["iss"] != EMAIL
            || claims["aud"] != self.audience.as_str()
            || claims["scope"] != "https://www.googleapis.com/auth/cloud-platform"
            || claims["exp"].as_u64() != Some(iat + 3600)
        {
            return bad("bad claims");
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": format!("ya29.test-{n}"), "expires_in": self.expires_in, "token_type": "Bearer"}),
        )
    }
}

async fn token_endpoint(server: &MockServer, expires_in: u64) -> Arc<AtomicUsize> {
    let issued = Arc::new(AtomicUsize::new(0));
    let responder = TokenEndpoint {
        public: key().to_public_key(),
        audience: format!("{}/token", server.uri()),
        expires_in,
        issued: issued.clone(),
    };
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(responder)
        .mount(server)
        .await;
    issued
}

fn answer(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
    }))
}

fn registry(p: VertexAi) -> Registry {
    let r = Registry::new();
    r.register_plugin(Arc::new(p)).unwrap();
    r
}

async fn ask(r: &Registry) -> genkit_core::Result<String> {
    generate(r, GenerateOptions::new().model("vertexai/gemini-2.5-flash").prompt("hi")).await.map(|r| r.text())
}

fn sa_plugin(server: &MockServer, project: Option<&str>) -> VertexAi {
    let json = service_account_json(&format!("{}/token", server.uri()), project.or(Some("key-project")));
    let p = VertexAi::new()
        .base_url(server.uri())
        .location("us-central1")
        .credentials(Credentials::Json(ApiKey::new(json)));
    match project {
        Some(p2) => p.project(p2),
        None => p,
    }
}

#[tokio::test]
async fn a_service_account_jwt_is_exchanged_once_and_the_token_reused() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 3600).await;
    Mock::given(method("POST"))
        .and(path(GEN_PATH))
        .and(header("authorization", "Bearer ya29.test-1"))
        .and(header("x-goog-user-project", "my-project"))
        .respond_with(answer("ok"))
        .expect(3)
        .mount(&server)
        .await;
    let r = registry(sa_plugin(&server, Some("my-project")));
    for _ in 0..3 {
        assert_eq!(ask(&r).await.unwrap(), "ok");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1, "one token for three calls");
}

#[tokio::test]
async fn concurrent_first_calls_share_one_token_request() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 3600).await;
    Mock::given(method("POST")).and(path(GEN_PATH)).respond_with(answer("ok")).expect(8).mount(&server).await;
    let r = Arc::new(registry(sa_plugin(&server, Some("my-project"))));
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let r = r.clone();
            tokio::spawn(async move { ask(&r).await })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), "ok");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_before_the_next_call() {
    let server = MockServer::start().await;
    // 60 s is inside the refresh margin: every call needs a fresh token.
    let issued = token_endpoint(&server, 60).await;
    Mock::given(method("POST"))
        .and(path(GEN_PATH))
        .and(header("authorization", "Bearer ya29.test-1"))
        .respond_with(answer("one"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GEN_PATH))
        .and(header("authorization", "Bearer ya29.test-2"))
        .respond_with(answer("two"))
        .mount(&server)
        .await;
    let r = registry(sa_plugin(&server, Some("my-project")));
    assert_eq!(ask(&r).await.unwrap(), "one");
    assert_eq!(ask(&r).await.unwrap(), "two");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once_with_a_new_one() {
    let server = MockServer::start().await;
    let issued = token_endpoint(&server, 3600).await;
    Mock::given(method("POST"))
        .and(path(GEN_PATH))
        .and(header("authorization", "Bearer ya29.test-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {"code": 401,
            "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GEN_PATH))
        .and(header("authorization", "Bearer ya29.test-2"))
        .respond_with(answer("after refresh"))
        .expect(1)
        .mount(&server)
        .await;
    let r = registry(sa_plugin(&server, Some("my-project")));
    assert_eq!(ask(&r).await.unwrap(), "after refresh");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_project_comes_from_the_key_file_when_no_option_or_env_names_one() {
    if ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"].iter().any(|v| std::env::var(v).is_ok()) {
        return;
    }
    let server = MockServer::start().await;
    token_endpoint(&server, 3600).await;
    Mock::given(method("POST"))
        .and(path(
            "/v1/projects/key-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent",
        ))
        .and(header("x-goog-user-project", "key-project"))
        .respond_with(answer("from key"))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(ask(&registry(sa_plugin(&server, None))).await.unwrap(), "from key");
}

#[tokio::test]
async fn a_key_file_on_disk_is_read() {
    let server = MockServer::start().await;
    token_endpoint(&server, 3600).await;
    Mock::given(method("POST")).and(path(GEN_PATH)).respond_with(answer("file")).expect(1).mount(&server).await;
    let file = std::env::temp_dir().join(format!("genkit-sa-{}.json", std::process::id()));
    std::fs::write(&file, service_account_json(&format!("{}/token", server.uri()), Some("my-project"))).unwrap();
    let p = VertexAi::new().base_url(server.uri()).project("my-project").credentials(Credentials::File(file.clone()));
    let out = ask(&registry(p)).await;
    std::fs::remove_file(&file).ok();
    assert_eq!(out.unwrap(), "file");
}

#[tokio::test]
async fn gcloud_user_credentials_use_the_refresh_token_flow() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(wiremock::matchers::body_string_contains("grant_type=refresh_token"))
        .and(wiremock::matchers::body_string_contains("refresh_token=1%2F%2Frefresh-secret"))
        .and(wiremock::matchers::body_string_contains("client_id=764086051850-x.apps.googleusercontent.com"))
        .and(wiremock::matchers::body_string_contains("client_secret=d-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "ya29.user", "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/cloud-platform", "token_type": "Bearer"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(GEN_PATH))
        .and(header("authorization", "Bearer ya29.user"))
        .respond_with(answer("user"))
        .expect(1)
        .mount(&server)
        .await;
    let creds = json!({"type": "authorized_user", "client_id": "764086051850-x.apps.googleusercontent.com",
        "client_secret": "d-secret", "refresh_token": "1//refresh-secret", "quota_project_id": "my-project",
        "token_uri": format!("{}/oauth/token", server.uri())});
    let p = VertexAi::new()
        .base_url(server.uri())
        .project("my-project")
        .credentials(Credentials::Json(ApiKey::new(creds.to_string())));
    assert_eq!(ask(&registry(p)).await.unwrap(), "user");
}

#[tokio::test]
async fn the_metadata_server_gives_tokens_with_the_flavor_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/instance/service-accounts/default/token"))
        .and(header("metadata-flavor", "Google"))
        .and(query_param("scopes", "https://www.googleapis.com/auth/cloud-platform"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "ya29.gce", "expires_in": 3599, "token_type": "Bearer"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/project/project-id"))
        .and(header("metadata-flavor", "Google"))
        .respond_with(ResponseTemplate::new(200).set_body_string("gce-project"))
        .mount(&server)
        .await;
    let gce_path =
        "/v1/projects/gce-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent";
    Mock::given(method("POST"))
        .and(path(gce_path))
        .and(header("authorization", "Bearer ya29.gce"))
        .respond_with(answer("gce"))
        .expect(2)
        .mount(&server)
        .await;
    let host = server.uri().trim_start_matches("http://").to_owned();
    let mut p = VertexAi::new()
        .base_url(server.uri())
        .location("us-central1")
        .credentials(Credentials::MetadataServer { host: Some(host) });
    let env_project = ["GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"].iter().any(|v| std::env::var(v).is_ok());
    if env_project {
        p = p.project("gce-project");
    }
    let r = registry(p);
    assert_eq!(ask(&r).await.unwrap(), "gce");
    assert_eq!(ask(&r).await.unwrap(), "gce");
}

#[tokio::test]
async fn a_refused_token_request_is_unauthenticated_and_names_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})),
        )
        .mount(&server)
        .await;
    let json = service_account_json(&format!("{}/token", server.uri()), Some("my-project"));
    let p =
        VertexAi::new().base_url(server.uri()).project("my-project").credentials(Credentials::Json(ApiKey::new(json)));
    let e = ask(&registry(p)).await.unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert!(e.message().contains("invalid_grant: Invalid JWT Signature."), "{}", e.message());
    assert!(!e.message().contains("PRIVATE KEY") && !e.message().contains("eyJ"), "{}", e.message());
    // A token endpoint that is down is Unavailable (retryable).
    let down = MockServer::start().await;
    Mock::given(method("POST")).and(path("/token")).respond_with(ResponseTemplate::new(503)).mount(&down).await;
    let json = service_account_json(&format!("{}/token", down.uri()), Some("my-project"));
    let p =
        VertexAi::new().base_url(down.uri()).project("my-project").credentials(Credentials::Json(ApiKey::new(json)));
    assert_eq!(ask(&registry(p)).await.unwrap_err().status(), Status::Unavailable);
}
