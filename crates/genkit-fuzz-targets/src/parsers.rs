//! Targets for the pure parsers: stream framing, Retry-After, JSON extraction, Dotprompt
//! sources and URI templates.

use std::time::{Duration, UNIX_EPOCH};

use dotprompt::{DataArgument, Dotprompt};
use genkit_ai::extract::{extract_items, extract_json, extract_json_strict, parse_json5, parse_partial_json};
use genkit_http::{Decoder, NdjsonDecoder, RetryAfter, SseDecoder, SseEvent, SseOptions, parse_http_date};
use genkit_uri_template::{UriTemplate, VarValue, Variables};
use serde_json::{Value, json};

/// Pushes `body` into `decoder` in chunks of `chunk` bytes (all at once when `chunk` is 0),
/// draining items after each push, then finishes the body.
fn decode_all<D: Decoder>(mut decoder: D, body: &[u8], chunk: usize) -> genkit_core::Result<Vec<D::Item>> {
    let mut items = Vec::new();
    let size = if chunk == 0 { body.len().max(1) } else { chunk };
    for piece in body.chunks(size) {
        decoder.push(piece);
        while let Some(item) = decoder.next_item()? {
            items.push(item);
        }
    }
    if let Some(item) = decoder.finish()? {
        items.push(item);
    }
    Ok(items)
}

/// SSE and NDJSON framing (`genkit-http`). The first byte picks the chunk size and whether
/// the line cap is small; the rest is the body. Decoding the body whole and in chunks must
/// give the same items whenever both succeed: where a network splits a body must not matter.
pub fn framing(data: &[u8]) {
    let Some((&flags, body)) = data.split_first() else { return };
    let chunk = usize::from(flags & 0x0f) + 1;
    let small = flags & 0x10 != 0;
    let sse = || {
        if small { SseDecoder::with_options(SseOptions::new().max_line(64).max_event(256)) } else { SseDecoder::new() }
    };
    let whole: genkit_core::Result<Vec<SseEvent>> = decode_all(sse(), body, 0);
    let split = decode_all(sse(), body, chunk);
    if let (Ok(a), Ok(b)) = (&whole, &split) {
        assert_eq!(a, b, "SSE events depend on chunking (chunk {chunk})");
    }
    let mut d = sse();
    d.push(body);
    while let Ok(Some(_)) = d.next_item() {}
    let _ = d.take_incomplete();

    let ndjson = || {
        let d = NdjsonDecoder::<Value>::new();
        if small { d.max_line(64) } else { d }
    };
    let whole = decode_all(ndjson(), body, 0);
    let split = decode_all(ndjson(), body, chunk);
    if let (Ok(a), Ok(b)) = (&whole, &split) {
        assert_eq!(a, b, "NDJSON values depend on chunking (chunk {chunk})");
    }
}

/// `Retry-After` and `retry-after-ms` values and HTTP dates (`genkit-http`): never a panic,
/// never a delay above the cap. The first byte picks the cap in seconds (0 = the default).
pub fn retry_after(data: &[u8]) {
    let Some((&cap_secs, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let (parser, cap) = if cap_secs == 0 {
        (RetryAfter::new(), genkit_http::DEFAULT_RETRY_AFTER_CAP)
    } else {
        let cap = Duration::from_secs(u64::from(cap_secs));
        (RetryAfter::new().cap(cap), cap)
    };
    let delays = [parser.parse(&text, now), parser.parse_ms(&text), parser.parse(&text, UNIX_EPOCH)];
    for d in delays.into_iter().flatten() {
        assert!(d <= cap, "Retry-After {text:?} gave {d:?}, over the cap {cap:?}");
    }
    let _ = parse_http_date(&text);
    // As headers: `name: value` lines.
    let headers = text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim().as_bytes()));
    if let Some(d) = parser.from_headers(headers, now) {
        assert!(d <= cap, "headers {text:?} gave {d:?}, over the cap {cap:?}");
    }
}

/// Partial JSON, JSON5 and JSON extraction from model text (`genkit-ai` `extract`), including
/// `extract_items` fed the text as a stream in chunks picked by the first byte: its cursor must
/// stay within the text seen so far and never move back.
pub fn extract(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let _ = parse_partial_json(&text);
    let _ = parse_json5(&text);
    let _ = extract_json(&text);
    let _ = extract_json_strict(&text);
    let step = usize::from(flags % 8) + 1;
    let mut cursor = 0;
    let mut end = 0;
    while end < text.len() {
        end = (end + step).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let (_, next) = extract_items(&text[..end], cursor);
        assert!(next <= end, "extract_items cursor {next} past the text ({end} bytes)");
        assert!(next >= cursor || cursor == 0, "extract_items cursor went back from {cursor} to {next}");
        cursor = next;
    }
}

/// A Dotprompt source (`genkit-dotprompt`): lenient and strict frontmatter parsing, compiling
/// the template and rendering it and its metadata with sample data.
pub fn dotprompt(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    let _ = dotprompt::parse(&source);
    let _ = dotprompt::parse_strict(&source, "fuzz.prompt");
    let dp = Dotprompt::default();
    let Ok(prompt) = dp.compile(&source) else { return };
    let _ = prompt.render_metadata(None);
    let data = DataArgument::new()
        .input(json!({"name": "Ada", "items": [1, "two", {"three": 3}], "flag": true, "n": 2}))
        .context_value("auth", json!({"uid": "u1", "email": "a@example.com"}));
    let _ = prompt.render(&data, None);
}

/// RFC 6570 URI templates (`genkit-uri-template`): the first line is a template, the rest a
/// URI. The template is parsed, expanded with the RFC's sample variables, and matched against
/// the URI and against its own expansion.
pub fn uri_template(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (template, uri) = text.split_once('\n').unwrap_or((&text, ""));
    let Ok(t) = UriTemplate::parse(template) else { return };
    let _ = t.variable_names();
    let mut vars = Variables::new();
    for (k, v) in [("var", "value"), ("hello", "Hello World!"), ("path", "/foo/bar"), ("x", "1024"), ("empty", "")] {
        vars.insert(k.to_owned(), VarValue::from(v));
    }
    vars.insert("list".to_owned(), VarValue::from(vec!["red", "green", "blue"]));
    vars.insert("keys".to_owned(), VarValue::from(vec![("semi", ";"), ("dot", "."), ("comma", ",")]));
    let expanded = t.expand(&vars);
    let _ = t.match_uri(uri);
    let _ = t.is_match(&expanded);
    let _ = t.match_uri(&expanded);
}
