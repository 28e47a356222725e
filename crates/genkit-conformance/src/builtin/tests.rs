use serde_json::Value;

use super::*;

const GOLDEN: &str = include_str!("../../tests/golden/builtin-cases.json");

/// The decoded length of a base64 string (standard alphabet, padded).
fn decoded_len(b64: &str) -> usize {
    let pad = b64.bytes().rev().take_while(|b| *b == b'=').count();
    b64.len() / 4 * 3 - pad
}

fn decode_prefix(b64: &str, n: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let vals: Vec<u32> =
        b64.bytes().take(n.div_ceil(3) * 4).map(|c| ALPHABET.iter().position(|a| *a == c).unwrap() as u32).collect();
    let mut out = Vec::new();
    for q in vals.chunks(4) {
        let v = (q[0] << 18) | (q[1] << 12) | (q[2] << 6) | q[3];
        out.extend([(v >> 16) as u8, (v >> 8) as u8, v as u8]);
    }
    out.truncate(n);
    out
}

#[test]
fn every_case_matches_the_golden_json() {
    let golden: serde_json::Map<String, Value> = serde_json::from_str(GOLDEN).unwrap();
    assert_eq!(golden.keys().map(String::as_str).collect::<Vec<_>>(), CAPABILITIES);
    let image_url = format!("data:image/png;base64,{}", GENKIT_LOGO_PNG_BASE64.trim());
    for (cap, want) in golden {
        let mut got = serde_json::to_value(case(&cap).unwrap()).unwrap();
        if cap == "input-image-base64" {
            let url = &mut got["input"]["messages"][0]["content"][1]["media"]["url"];
            assert_eq!(url.as_str(), Some(image_url.as_str()));
            *url = Value::from("data:image/png;base64,<GENKIT_LOGO_PNG_BASE64>");
        }
        assert_eq!(got, want, "{cap}");
        // Every built-in input is a valid GenerateRequest.
        case(&cap).unwrap().request().unwrap();
    }
}

#[test]
fn the_logo_is_the_clis_png() {
    let b64 = GENKIT_LOGO_PNG_BASE64.trim();
    assert_eq!(b64.len(), 20620);
    assert_eq!(decoded_len(b64), 15464);
    let head = decode_prefix(b64, 24);
    assert_eq!(&head[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&head[12..16], b"IHDR");
    let width = u32::from_be_bytes([head[16], head[17], head[18], head[19]]);
    let height = u32::from_be_bytes([head[20], head[21], head[22], head[23]]);
    assert_eq!((width, height), (1826, 413));
}

#[test]
fn capabilities_and_defaults() {
    assert!(DEFAULT_SUPPORTS.iter().all(|c| is_capability(c)));
    assert!(!is_capability("reasoning"));
    assert!(case("reasoning").is_none());
    assert_eq!(parse_supports(" a ,b,"), ["a", "b", ""]);
    assert_eq!(default_supports().len(), 9);
    let streaming: Vec<&str> = CAPABILITIES.iter().copied().filter(|c| case(c).unwrap().stream).collect();
    assert_eq!(streaming, ["streaming-multiturn", "streaming-tool-request", "streaming-structured-output"]);
}
