//! The one redaction pass for secrets in JSON: API keys, `auth`, `secrets`, passwords and
//! tokens never reach an error's details, an HTTP response, a log line or a span.
//!
//! A model request may carry `config.apiKey`, an action context carries `auth` and a
//! server's `secrets`; errors copy requests into their details (JS does so for a tool that
//! is not found or too many turns) and spans record inputs. Both pass through
//! [`redact_secrets`], which replaces the value of every [`SECRET_KEYS`] member, at any
//! depth, by [`REDACTED`].

use serde_json::Value;

/// What a redacted value becomes.
pub const REDACTED: &str = "<redacted>";

/// Object keys whose values are secret, compared ASCII case-insensitively with `-` and `_`
/// ignored (so `apiKey`, `api_key`, `API-KEY` and `x-api-key` are all caught).
pub const SECRET_KEYS: [&str; 14] = [
    "apikey",
    "xapikey",
    "xgoogapikey",
    "auth",
    "authorization",
    "proxyauthorization",
    "secret",
    "secrets",
    "password",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "clientsecret",
    "privatekey",
];

/// Whether `key` names a secret (see [`SECRET_KEYS`]).
pub fn is_secret_key(key: &str) -> bool {
    // The longest secret key has 18 letters; longer keys cannot match.
    let mut buf = [0u8; 18];
    let mut n = 0;
    for b in key.bytes() {
        if b == b'-' || b == b'_' {
            continue;
        }
        if n == buf.len() {
            return false;
        }
        buf[n] = b.to_ascii_lowercase();
        n += 1;
    }
    let k = &buf[..n];
    SECRET_KEYS.iter().any(|s| s.as_bytes() == k)
}

/// Replaces, in place, the value of every secret key (at any depth) by [`REDACTED`]; `null`
/// values stay `null`. Returns whether anything was replaced.
pub fn redact_secrets(v: &mut Value) -> bool {
    match v {
        Value::Object(m) => {
            let mut any = false;
            for (k, v) in m.iter_mut() {
                if is_secret_key(k) {
                    if !v.is_null() && v.as_str() != Some(REDACTED) {
                        *v = Value::String(REDACTED.to_owned());
                        any = true;
                    }
                } else {
                    any |= redact_secrets(v);
                }
            }
            any
        }
        Value::Array(a) => a.iter_mut().fold(false, |any, v| redact_secrets(v) | any),
        _ => false,
    }
}

/// Pieces one of which every [`SECRET_KEYS`] member contains as a JSON key, written the ways
/// keys are spelled in practice (`apiKey`, `api_key`, `API_KEY`, `Authorization`,
/// `accessToken`, …): the cheap pre-check of [`redact_secrets_in_text`].
const SECRET_KEY_PIECES: [&str; 10] =
    ["ey\"", "EY\"", "uth", "UTH", "ecret", "ECRET", "assword", "ASSWORD", "oken\"", "OKEN\""];

/// Whether JSON text might hold a secret key: substring searches (vectorised by the standard
/// library) decide whether [`redact_secrets_in_text`] needs to parse it, so the JSON of an
/// ordinary span is not parsed again.
fn may_hold_secret(json: &str) -> bool {
    SECRET_KEY_PIECES.iter().any(|p| json.contains(p))
}

/// JSON text with its secrets redacted (see [`redact_secrets`]); text that mentions no
/// secret-looking key, or is not JSON, is returned as it is without being parsed.
pub fn redact_secrets_in_text(json: String) -> String {
    if !may_hold_secret(&json) {
        return json;
    }
    match serde_json::from_str::<Value>(&json) {
        Ok(mut v) => {
            if redact_secrets(&mut v) {
                v.to_string()
            } else {
                json
            }
        }
        Err(_) => json,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_keys_are_redacted_at_any_depth_in_any_spelling() {
        let mut v = json!({
            "config": {"apiKey": "sk-1", "temperature": 0.5},
            "context": {"auth": {"uid": "u"}, "locale": "en"},
            "headers": [{"Authorization": "Bearer t", "X-Api-Key": "k", "accept": "x"}],
            "api_key": "k2",
            "secrets": ["a"],
            "password": null,
            "keyword": "kept",
            "tokens": 12
        });
        assert!(redact_secrets(&mut v));
        assert_eq!(
            v,
            json!({
                "config": {"apiKey": REDACTED, "temperature": 0.5},
                "context": {"auth": REDACTED, "locale": "en"},
                "headers": [{"Authorization": REDACTED, "X-Api-Key": REDACTED, "accept": "x"}],
                "api_key": REDACTED,
                "secrets": REDACTED,
                "password": null,
                "keyword": "kept",
                "tokens": 12
            })
        );
        assert!(!redact_secrets(&mut v), "a second pass has nothing left to do");
    }

    #[test]
    fn every_usual_spelling_of_a_secret_key_is_caught_in_text() {
        for k in [
            "apiKey",
            "api_key",
            "API_KEY",
            "x-api-key",
            "X-Goog-Api-Key",
            "auth",
            "Authorization",
            "proxy-authorization",
            "secret",
            "secrets",
            "SECRET",
            "password",
            "PASSWORD",
            "accessToken",
            "refresh_token",
            "id_token",
            "ACCESS_TOKEN",
            "clientSecret",
            "private_key",
            "privateKey",
        ] {
            let text = redact_secrets_in_text(format!("{{\"outer\":{{\"{k}\":\"hush\"}}}}"));
            assert!(!text.contains("hush"), "{k}: {text}");
        }
    }

    #[test]
    fn text_without_secret_keys_is_not_parsed_again() {
        let plain = r#"{"a":1,"b":"c"}"#.to_owned();
        assert_eq!(redact_secrets_in_text(plain.clone()), plain);
        assert_eq!(redact_secrets_in_text("not json: apiKey".into()), "not json: apiKey");
        let secret = r#"{"config":{"apiKey":"sk-secret"}}"#.to_owned();
        assert!(!redact_secrets_in_text(secret).contains("sk-secret"));
    }
}
