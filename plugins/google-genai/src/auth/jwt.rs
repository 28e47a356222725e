//! RS256 JSON Web Tokens for the service-account flow: the PEM private key of a key file
//! (PKCS#8 `PRIVATE KEY`, or PKCS#1 `RSA PRIVATE KEY`) signs `header.claims` with ring.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use genkit_core::{Error, Result, Status};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::Value;

fn bad_key(what: &str) -> Error {
    Error::new(Status::InvalidArgument, format!("the service account's private_key {what}"))
}

/// The DER bytes of the first PEM block labelled `label`, if any.
fn pem_block(pem: &str, label: &str) -> Result<Option<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let Some(start) = pem.find(&begin) else { return Ok(None) };
    let rest = &pem[start + begin.len()..];
    let stop = rest.find(&end).ok_or_else(|| bad_key("has no PEM end line"))?;
    let b64: String = rest[..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD.decode(b64).map(Some).map_err(|_| bad_key("is not valid base64 PEM"))
}

/// Reads an RSA private key from PEM.
pub(crate) fn key_from_pem(pem: &str) -> Result<RsaKeyPair> {
    if let Some(der) = pem_block(pem, "PRIVATE KEY")? {
        return RsaKeyPair::from_pkcs8(&der).map_err(|e| bad_key(&format!("is not a usable RSA key ({e})")));
    }
    if let Some(der) = pem_block(pem, "RSA PRIVATE KEY")? {
        return RsaKeyPair::from_der(&der).map_err(|e| bad_key(&format!("is not a usable RSA key ({e})")));
    }
    Err(bad_key("is not a PEM RSA private key (expected '-----BEGIN PRIVATE KEY-----')"))
}

/// `base64url(header).base64url(claims).base64url(RS256 signature)`.
pub(crate) fn sign_rs256(key: &RsaKeyPair, header: &Value, claims: &Value) -> Result<String> {
    let enc = |v: &Value| -> Result<String> {
        let bytes =
            serde_json::to_vec(v).map_err(|e| Error::new(Status::Internal, format!("cannot encode a JWT: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    };
    let signing_input = format!("{}.{}", enc(header)?, enc(claims)?);
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut sig)
        .map_err(|_| Error::new(Status::Internal, "signing the service-account JWT failed"))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_gives_clear_errors_without_panicking() {
        for pem in [
            "",
            "-----BEGIN PRIVATE KEY-----\nabc",
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            let e = key_from_pem(pem).err().unwrap();
            assert_eq!(e.status(), Status::InvalidArgument);
            assert!(e.message().contains("private_key"), "{}", e.message());
        }
    }
}
