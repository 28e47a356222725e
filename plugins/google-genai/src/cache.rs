//! Context caching (`cachedContents`): a message whose `metadata.cache` is set (`true`, or
//! `{"ttlSeconds": n}`) marks the end of a prefix to cache. The prefix (its messages and the
//! system instruction) is stored once with `POST cachedContents` under a display name that is
//! the SHA-256 of the model and the encoded prefix; later calls with the same prefix find it
//! (first among the caches this plugin created, then by listing `GET cachedContents`) and send only the messages
//! after it, with `cachedContent: <name>`.
//!
//! As in Genkit JS and Go: requests with tools (or code execution) cannot use a cache
//! (`INVALID_ARGUMENT`), and the default time to live is 300 s. The API's own refusals (a
//! prefix under the model's minimum token count, a model without caching) come back as its
//! errors with their status.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use genkit_ai::{ModelRequest, Role};
use genkit_core::{Error, Result};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::client::Client;
use crate::config::GeminiConfig;
use crate::encode::{EncodeOptions, encode_request};

/// The time to live of a cache marked with `cache: true` (as Genkit JS).
pub const DEFAULT_CACHE_TTL_SECS: u64 = 300;

/// How many pages of 100 caches are searched for an earlier cache of the same prefix.
const MAX_LIST_PAGES: usize = 10;

/// A cache entry is reused from memory until this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// The cache marker of a request: the index of the last message with `metadata.cache` and
/// its time to live. `None` without a marker; `INVALID_ARGUMENT` for a malformed one.
pub(crate) fn cache_marker(req: &ModelRequest) -> Result<Option<(usize, u64)>> {
    for (i, m) in req.messages.iter().enumerate().rev() {
        let Some(v) = m.metadata.as_ref().and_then(|md| md.get("cache")) else { continue };
        let ttl = match v {
            Value::Null | Value::Bool(false) => continue,
            Value::Bool(true) => DEFAULT_CACHE_TTL_SECS,
            Value::Object(o) => match o.get("ttlSeconds") {
                None | Some(Value::Null) => DEFAULT_CACHE_TTL_SECS,
                Some(t) => t.as_u64().filter(|t| *t > 0).ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "invalid cache ttlSeconds {t}: expected a positive whole number of seconds"
                    ))
                })?,
            },
            other => {
                return Err(Error::invalid_argument(format!(
                    "invalid cache metadata {other}: expected true or {{\"ttlSeconds\": n}}"
                )));
            }
        };
        return Ok(Some((i, ttl)));
    }
    Ok(None)
}

/// A prefix to cache: the `cachedContents` body (without the TTL) and its key.
#[derive(Debug)]
pub(crate) struct Prefix {
    /// `{model, contents, systemInstruction?, displayName}`.
    pub(crate) body: Map<String, Value>,
    /// The SHA-256 (hex) of the model and the encoded prefix; the cache's display name.
    pub(crate) key: String,
}

/// Splits a request with a cache marker into the prefix to cache and the request to send
/// (the messages after the marker). `None` without a marker.
pub(crate) fn split(
    client: &Client,
    model: &str,
    req: &ModelRequest,
    cfg: &GeminiConfig,
) -> Result<Option<(Prefix, ModelRequest, u64)>> {
    let Some((end, ttl)) = cache_marker(req)? else { return Ok(None) };
    if req.tools.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(Error::invalid_argument(
            "tools are not supported with context caching: remove the tools or the message's cache metadata",
        ));
    }
    let server_tools = ["codeExecution", "googleSearch", "googleSearchRetrieval", "urlContext", "fileSearch"];
    if cfg.tools.as_ref().is_some_and(|t| !t.is_empty())
        || server_tools.iter().any(|k| cfg.extra.get(*k).is_some_and(|v| !v.is_null() && *v != Value::Bool(false)))
    {
        return Err(Error::invalid_argument(
            "tools (including code execution and search) are not supported with context caching",
        ));
    }
    if model.starts_with("gemma-") {
        return Err(Error::invalid_argument(format!("context caching is not available for {model}")));
    }
    if end + 1 >= req.messages.len() {
        return Err(Error::invalid_argument(
            "the message marked for caching is the last one: cache the history before a new message",
        ));
    }
    if req.messages[end + 1..].iter().any(|m| m.role == Role::System) {
        return Err(Error::invalid_argument(
            "with context caching, system messages must come before the message marked for caching",
        ));
    }
    let prefix = ModelRequest { messages: req.messages[..=end].to_vec(), ..ModelRequest::default() };
    let encoded =
        encode_request(&prefix, GeminiConfig::default(), EncodeOptions { model, response_json_schema: false })?;
    let mut body = Map::new();
    body.insert("model".into(), Value::String(client.model_resource(model)));
    body.insert("contents".into(), encoded.body.get("contents").cloned().unwrap_or_else(|| json!([])));
    if let Some(si) = encoded.body.get("systemInstruction") {
        body.insert("systemInstruction".into(), si.clone());
    }
    let key = {
        let mut h = Sha256::new();
        h.update(serde_json::to_vec(&body).map_err(Error::internal)?);
        h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    body.insert("displayName".into(), Value::String(key.clone()));
    let rest = ModelRequest { messages: req.messages[end + 1..].to_vec(), ..req.clone() };
    Ok(Some((Prefix { body, key }, rest, ttl)))
}

/// The context caches a client created, so later calls skip the lookup: (prefix key, API
/// key hash) → (cache name, valid until).
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheMemo(Arc<Mutex<HashMap<String, (String, Instant)>>>);

impl CacheMemo {
    /// Forgets every entry naming the cache `name`.
    pub(crate) fn forget(&self, name: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|_, (n, _)| n != name);
        }
    }
}

fn memo_key(key: &str, api_key: Option<&str>) -> String {
    let who = api_key.map(|k| {
        let d = Sha256::digest(k.as_bytes());
        d.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
    });
    format!("{key}|{}", who.unwrap_or_default())
}

/// An earlier cache of `key` among the API's caches (`GET cachedContents`, by display name).
async fn find_listed(client: &Client, key: &str, api_key: Option<&str>) -> Result<Option<String>> {
    let mut token: Option<String> = None;
    for _ in 0..MAX_LIST_PAGES {
        let mut query = vec![("pageSize", "100".to_owned())];
        if let Some(t) = &token {
            query.push(("pageToken", t.clone()));
        }
        let page: Value =
            client.json(client.get_with_key(&client.scoped("cachedContents"), &query, api_key).await?).await?;
        let found = page.get("cachedContents").and_then(Value::as_array).and_then(|list| {
            list.iter()
                .find(|c| c.get("displayName").and_then(Value::as_str) == Some(key))
                .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        });
        if found.is_some() {
            return Ok(found);
        }
        match page.get("nextPageToken").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    Ok(None)
}

/// The name (`cachedContents/...`) of a cache holding `prefix`: one known in this process,
/// else one found by listing, else a new one with `ttl_secs` to live.
pub(crate) async fn cache_for(client: &Client, prefix: Prefix, ttl_secs: u64, api_key: Option<&str>) -> Result<String> {
    let mk = memo_key(&prefix.key, api_key);
    let now = Instant::now();
    if let Ok(m) = client.caches.0.lock()
        && let Some((name, until)) = m.get(&mk)
        && *until > now
    {
        return Ok(name.clone());
    }
    if let Some(name) = find_listed(client, &prefix.key, api_key).await? {
        return Ok(name);
    }
    let mut body = prefix.body;
    body.insert("ttl".into(), Value::String(format!("{ttl_secs}s")));
    let resp = client.post_json(&client.scoped("cachedContents"), &[], &body, api_key).await?;
    let created: Value = client.json(resp).await?;
    let name = created
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| crate::error::bad_response(&client.origin, "the created cache has no `name`"))?
        .to_owned();
    let until = now + Duration::from_secs(ttl_secs).saturating_sub(EXPIRY_MARGIN);
    if let Ok(mut m) = client.caches.0.lock() {
        m.retain(|_, (_, u)| *u > now);
        m.insert(mk, (name.clone(), until));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genkit_ai::Message;

    fn marked(mut m: Message, v: Value) -> Message {
        m.metadata.get_or_insert_with(Map::new).insert("cache".into(), v);
        m
    }

    #[test]
    fn markers_parse_with_default_and_explicit_ttls() {
        let req = |ms| ModelRequest { messages: ms, ..ModelRequest::default() };
        assert_eq!(cache_marker(&req(vec![Message::user("a")])).unwrap(), None);
        let r = req(vec![marked(Message::user("doc"), json!(true)), Message::user("q")]);
        assert_eq!(cache_marker(&r).unwrap(), Some((0, 300)));
        let r = req(vec![
            marked(Message::user("doc"), json!(true)),
            marked(Message::model("ok"), json!({"ttlSeconds": 3600})),
            Message::user("q"),
        ]);
        assert_eq!(cache_marker(&r).unwrap(), Some((1, 3600)), "the last marker wins");
        for bad in [json!({"ttlSeconds": 0}), json!({"ttlSeconds": "60"}), json!({"ttlSeconds": 1.5}), json!("yes")] {
            let r = req(vec![marked(Message::user("doc"), bad.clone()), Message::user("q")]);
            assert_eq!(cache_marker(&r).unwrap_err().status(), genkit_core::Status::InvalidArgument, "{bad}");
        }
    }
}
