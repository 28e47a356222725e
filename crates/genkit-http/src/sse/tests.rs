use futures::executor::block_on;
use futures::{StreamExt, stream};
use genkit_core::{Error, Status};

use super::*;

/// Decodes `chunks` as one body; the decoder's end-of-stream events included.
fn decode_with(options: SseOptions, chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut d = SseDecoder::with_options(options);
    let mut out = Vec::new();
    for c in chunks {
        d.push(c);
        while let Some(ev) = d.next_item().unwrap() {
            out.push(ev);
        }
    }
    out.extend(d.finish().unwrap());
    out
}

fn decode(chunks: &[&[u8]]) -> Vec<SseEvent> {
    decode_with(SseOptions::new(), chunks)
}

fn data(events: &[SseEvent]) -> Vec<&str> {
    events.iter().map(|e| e.data.as_str()).collect()
}

fn ev(event: Option<&str>, data: &str, id: Option<&str>) -> SseEvent {
    SseEvent { event: event.map(str::to_owned), data: data.to_owned(), id: id.map(str::to_owned) }
}

#[test]
fn spec_example_data_lines_join_with_newlines() {
    assert_eq!(data(&decode(&[b"data: YHOO\ndata: +2\ndata: 10\n\n"])), ["YHOO\n+2\n10"]);
}

#[test]
fn spec_example_ids_persist_and_an_empty_id_clears() {
    let body = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
    assert_eq!(
        decode(&[body]),
        [ev(None, "first event", Some("1")), ev(None, "second event", None), ev(None, " third event", None)]
    );
    let body = b"id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n";
    assert_eq!(decode(&[body]), [ev(None, "a", Some("7")), ev(None, "b", Some("7")), ev(None, "c", Some("7"))]);
}

#[test]
fn spec_example_empty_data_and_a_cut_last_event() {
    assert_eq!(data(&decode(&[b"data\n\ndata\ndata\n\ndata:"])), ["", "\n"]);
    assert_eq!(data(&decode(&[b"data:test\n\ndata: test\n\n"])), ["test", "test"]);
}

#[test]
fn event_types_apply_to_one_event_and_blocks_without_data_dispatch_nothing() {
    let body = b"event: ping\n\nevent: delta\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n";
    assert_eq!(decode(&[body]), [ev(Some("delta"), "1", None), ev(None, "2", None), ev(None, "3", None)]);
    assert_eq!(decode(&[body])[1].kind(), "message");
    assert!(decode(&[b": keep-alive\n\n\n\nunknown: x\nevent: e\n\n"]).is_empty());
}

#[test]
fn field_parsing_follows_the_spec() {
    let body = b"data:no space\n\ndata:  two spaces\n\ndata\n\nDATA: case matters\ndata: x:y: z\n\n";
    assert_eq!(data(&decode(&[body])), ["no space", " two spaces", "", "x:y: z"]);
}

#[test]
fn retry_sets_the_reconnection_time_when_it_is_all_digits() {
    let mut d = SseDecoder::new();
    d.push(b"retry: 1500\n\n");
    assert_eq!(d.next_item().unwrap(), None);
    assert_eq!(d.retry(), Some(Duration::from_millis(1500)));
    for ignored in ["retry: 1.5\n", "retry: -1\n", "retry: \n", "retry: 99999999999999999999999\n", "retry: 2s\n"] {
        d.push(ignored.as_bytes());
        assert_eq!(d.next_item().unwrap(), None);
        assert_eq!(d.retry(), Some(Duration::from_millis(1500)), "{ignored}");
    }
}

/// A body with every line end, comments, ids, multi-line data and multi-byte characters.
const RICH: &[u8] =
    "\u{FEFF}: hi\r\n\r\nevent: delta\rdata: héllo 🌍\r\ndata: lines\n\nid: 9\r\ndata: é\r\r\ndata:x\n\n".as_bytes();

#[test]
fn every_split_decodes_the_same() {
    let whole = decode(&[RICH]);
    assert_eq!(whole, [ev(Some("delta"), "héllo 🌍\nlines", None), ev(None, "é", Some("9")), ev(None, "x", Some("9"))]);
    for i in 0..=RICH.len() {
        assert_eq!(decode(&[&RICH[..i], &RICH[i..]]), whole, "split at {i}");
        for j in i..=RICH.len() {
            assert_eq!(decode(&[&RICH[..i], &RICH[i..j], &RICH[j..]]), whole, "split at {i} and {j}");
        }
    }
    let bytes: Vec<&[u8]> = RICH.chunks(1).collect();
    assert_eq!(decode(&bytes), whole);
}

#[test]
fn a_crlf_split_between_chunks_is_one_line_end() {
    assert_eq!(data(&decode(&[b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n"])), ["a", "b"]);
    assert_eq!(data(&decode(&[b"data: a\r", b"\r", b"data: b\r", b"\r"])), ["a", "b"]);
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    assert_eq!(data(&decode(&[b"data: \xff\xfe ok\n\n"])), ["\u{FFFD}\u{FFFD} ok"]);
    assert_eq!(data(&decode(&[b"data: \xf0\x9f", b"\x8c\x8d\n\n"])), ["🌍"]);
}

#[test]
fn the_end_of_the_stream_discards_a_cut_event_which_take_incomplete_returns() {
    assert!(decode(&[b"data: [DONE]"]).is_empty());
    assert!(decode(&[b"event: x\ndata: {\"cut\n"]).is_empty());
    let mut d = SseDecoder::new();
    d.push(b"data: one\n\nevent: e\ndata: {\"cut\ndata: more\r");
    assert_eq!(d.next_item().unwrap().unwrap().data, "one");
    assert_eq!(d.next_item().unwrap(), None);
    assert_eq!(d.take_incomplete().unwrap(), Some(ev(Some("e"), "{\"cut\nmore", None)));
    assert_eq!(d.take_incomplete().unwrap(), None);
    let mut d = SseDecoder::new();
    d.push(b"event: e\n");
    assert_eq!(d.take_incomplete().unwrap(), None);
}

#[test]
fn lines_over_the_cap_fail_clearly_however_they_arrive() {
    let opts = || SseOptions::new().max_line(16);
    let mut d = SseDecoder::with_options(opts());
    d.push(b"data: 0123456789\n\ndata: 0123456789a\n\n");
    assert_eq!(d.next_item().unwrap().unwrap().data, "0123456789");
    let e = d.next_item().unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    assert!(e.message().contains("16 bytes") && e.message().contains("SseOptions::max_line"), "{}", e.message());
    let mut d = SseDecoder::with_options(opts());
    for _ in 0..10 {
        d.push(b"dat");
        if let Err(e) = d.next_item() {
            assert_eq!(e.status(), Status::ResourceExhausted);
            return;
        }
    }
    panic!("an unterminated line grew past the cap");
}

#[test]
fn events_over_the_cap_fail_clearly() {
    let mut d = SseDecoder::with_options(SseOptions::new().max_event(10));
    d.push(b"data: 1234\ndata: 1234\n\n");
    assert_eq!(d.next_item().unwrap().unwrap().data, "1234\n1234");
    d.push(b"data: 1234\ndata: 12345\n\ndata: ok\n\n");
    let e = d.next_item().unwrap_err();
    assert_eq!(e.status(), Status::ResourceExhausted);
    assert!(e.message().contains("10 bytes") && e.message().contains("SseOptions::max_event"), "{}", e.message());
    let mut d = SseDecoder::with_options(SseOptions::new().max_event(10));
    d.push(b"data: 12345678901\n\n");
    assert!(d.next_item().is_err());
    assert_eq!(d.take_incomplete().unwrap(), None);
}

#[test]
fn extra_event_fields_read_as_typed_data() {
    let opts = SseOptions::new().event_field("error");
    let body = b"data: {\"message\":1}\n\nerror: {\"error\":{\"status\":\"NOT_FOUND\"}}\n\n";
    let got = decode_with(opts, &[body]);
    assert_eq!(got[0], ev(None, "{\"message\":1}", None));
    assert_eq!(got[1], ev(Some("error"), "{\"error\":{\"status\":\"NOT_FOUND\"}}", None));
    assert_eq!(decode(&[body]).len(), 1);
}

#[test]
fn the_stream_adapter_yields_events_then_ends() {
    let body = stream::iter(["data: a\n", "\ndata: b\n\nda", "ta: cut"].map(Ok::<_, Error>));
    let got: Vec<_> = block_on(sse_stream(body).collect());
    assert_eq!(got.iter().map(|e| e.as_ref().unwrap().data.as_str()).collect::<Vec<_>>(), ["a", "b"]);

    let body =
        stream::iter([Ok(&b"data: a\n\n"[..]), Err(Error::new(Status::Unavailable, "reset")), Ok(b"data: b\n\n")]);
    let got: Vec<_> = block_on(sse_stream(body).collect());
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].as_ref().unwrap_err().status(), Status::Unavailable);

    let mut s = Decoded::new(stream::iter([Ok::<_, Error>(&b"retry: 5\n"[..])]), SseDecoder::new());
    assert!(block_on(s.next()).is_none());
    assert_eq!(s.decoder().retry(), Some(Duration::from_millis(5)));
}
