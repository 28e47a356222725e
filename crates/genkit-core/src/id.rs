//! Random (version 4) UUIDs (JS `crypto.randomUUID()`): durable stream ids, session and
//! snapshot ids.
//!
//! Such an id is often the only thing a client needs to read a stream or a session again, so
//! it must be unguessable: its 122 random bits come from the operating system's random source,
//! and when that fails there is no id, never a predictable fallback such as a clock or a
//! counter.

use std::fmt::Write as _;

use crate::{Error, Status};

/// A random UUID, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` in lower-case hex.
///
/// # Errors
/// `UNAVAILABLE` when the operating system cannot provide random bytes.
pub fn uuid_v4() -> Result<String, Error> {
    v4_from(getrandom::fill)
}

/// [`v4`] with the random bytes from `fill`.
fn v4_from<E: std::error::Error + Send + Sync + 'static>(
    fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
) -> Result<String, Error> {
    let mut b = [0u8; 16];
    fill(&mut b).map_err(|e| {
        Error::new(Status::Unavailable, format!("no randomness from the operating system for a random id: {e}"))
            .with_source(e)
    })?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{byte:02x}");
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_like_a_v4_uuid() {
        let id = uuid_v4().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, uuid_v4().unwrap());
    }

    #[test]
    fn no_randomness_is_an_error_not_a_guessable_id() {
        let e = v4_from(|_| Err(std::io::Error::other("entropy source down"))).unwrap_err();
        assert_eq!(e.status(), Status::Unavailable);
        assert!(e.message().contains("entropy source down"), "{e}");
        // The bytes come from the source as they are (only the version and variant bits set).
        let id = v4_from(|b: &mut [u8]| {
            b.fill(0xff);
            Ok::<_, std::io::Error>(())
        })
        .unwrap();
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
}
