//! Percent-encoding and decoding (RFC 3986 §2.1) as expansion and matching use them.

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `reserved = gen-delims / sub-delims`.
fn is_reserved(b: u8) -> bool {
    b":/?#[]@!$&'()*+,;=".contains(&b)
}

/// Whether a percent-encoded triplet starts at `bytes[i]`.
pub(crate) fn is_triplet_at(bytes: &[u8], i: usize) -> bool {
    let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
    bytes.get(i) == Some(&b'%') && hex(i + 1) && hex(i + 2)
}

/// Appends `s` percent-encoded: unreserved characters stay; with `allow_reserved`, reserved
/// characters and existing percent-encoded triplets stay too; everything else is encoded as
/// UTF-8 bytes with uppercase hex digits.
pub(crate) fn push_encoded(out: &mut String, s: &str, allow_reserved: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if is_unreserved(b) || (allow_reserved && is_reserved(b)) {
            out.push(char::from(b));
            i += 1;
        } else if allow_reserved && is_triplet_at(bytes, i) {
            out.push_str(s.get(i..i + 3).unwrap_or_default());
            i += 3;
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
            i += 1;
        }
    }
}

/// Whether expanding `value` gives exactly `text`.
pub(crate) fn encodes_to(value: &str, allow_reserved: bool, text: &str) -> bool {
    let mut encoded = String::with_capacity(text.len());
    push_encoded(&mut encoded, value, allow_reserved);
    encoded == text
}

/// Decodes every percent-encoded triplet; the result must be UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let triplet = is_triplet_at(bytes, i).then(|| s.get(i + 1..i + 3)).flatten();
        match triplet.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
