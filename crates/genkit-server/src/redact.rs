//! Secrets never leave in an error answer: the `details` of an error can hold a copy of a
//! request (a model's `config.apiKey`, a flow's `auth` context), and the flow server sends
//! details to its HTTP callers, who may be anyone on the network.
//!
//! The reflection server (`genkit-reflection`) applies the same rule to its answers.

use serde_json::Value;

/// What a redacted value becomes (the same marker the span attributes use).
pub(crate) const REDACTED: &str = "<redacted>";

/// Object keys whose values are secrets, lower case without `_` and `-` (so `apiKey`,
/// `api_key` and `API-KEY` all match `apikey`).
const SECRET_KEYS: [&str; 10] = [
    "apikey",
    "xapikey",
    "auth",
    "authorization",
    "secret",
    "secrets",
    "password",
    "token",
    "accesstoken",
    "refreshtoken",
];

/// Whether the object key `key` names a secret (case, `_` and `-` ignored).
pub(crate) fn is_secret_key(key: &str) -> bool {
    if key.len() > 16 {
        return false;
    }
    let norm: String = key.chars().filter(|c| *c != '_' && *c != '-').map(|c| c.to_ascii_lowercase()).collect();
    SECRET_KEYS.contains(&norm.as_str())
}

/// Replaces, at any depth, the value of every secret-named key (see [`is_secret_key`]) with
/// `"<redacted>"`; `null` values stay `null` (nothing to hide).
pub(crate) fn redact_secrets(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if is_secret_key(k) {
                    if !v.is_null() {
                        *v = Value::String(REDACTED.to_owned());
                    }
                } else {
                    redact_secrets(v);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys_are_redacted_at_any_depth() {
        let mut v = json!({
            "request": {"config": {"apiKey": "sk-1", "temperature": 0.5}, "messages": [{"API_KEY": "sk-2"}]},
            "context": {"Auth": {"uid": "u"}, "secrets": ["a"], "locale": "en"},
            "headers": {"Authorization": "Bearer t", "x-api-key": "k"},
            "password": "p", "token": "t", "maxOutputTokens": 5, "tokens": 3, "api_key": null,
        });
        redact_secrets(&mut v);
        assert_eq!(
            v,
            json!({
                "request": {"config": {"apiKey": REDACTED, "temperature": 0.5}, "messages": [{"API_KEY": REDACTED}]},
                "context": {"Auth": REDACTED, "secrets": REDACTED, "locale": "en"},
                "headers": {"Authorization": REDACTED, "x-api-key": REDACTED},
                "password": REDACTED, "token": REDACTED, "maxOutputTokens": 5, "tokens": 3, "api_key": null,
            })
        );
    }
}
