//! Text-to-speech Gemini models (`gemini-*-tts`): `generateContent` with
//! `responseModalities: ["AUDIO"]` and a `speechConfig` (one voice, or one per speaker). The
//! API answers raw PCM (`audio/L16;codec=pcm;rate=24000`: 16-bit little-endian mono), which
//! no player takes; it comes back here wrapped in a WAV header as
//! `data:audio/wav;base64,...`, ready to save or play.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use genkit_ai::{ModelSupports, Part};

/// The text-to-speech models Genkit JS lists.
pub const TTS_MODELS: [&str; 2] = ["gemini-2.5-flash-preview-tts", "gemini-2.5-pro-preview-tts"];

/// Whether an id names a text-to-speech Gemini model.
pub(crate) fn is_tts_id(id: &str) -> bool {
    id.starts_with("gemini-") && (id.ends_with("-tts") || id.contains("-tts-"))
}

/// What the TTS models take and give (as Genkit JS): one text turn, no tools, audio out.
pub fn tts_supports() -> ModelSupports {
    ModelSupports {
        multiturn: Some(false),
        media: Some(false),
        tools: Some(false),
        tool_choice: Some(false),
        system_role: Some(false),
        output: Some(vec!["media".into()]),
        ..ModelSupports::default()
    }
}

/// The sample rate, channel count and sample width of a raw PCM MIME type
/// (`audio/L16;codec=pcm;rate=24000`, `audio/pcm;rate=16000`), or `None` for any other
/// type.
pub(crate) fn pcm_format(mime: &str) -> Option<(u32, u16, u16)> {
    let mut it = mime.split(';').map(str::trim);
    let base = it.next()?.to_ascii_lowercase();
    let bits = match base.as_str() {
        "audio/l16" | "audio/pcm" => 16,
        _ => return None,
    };
    let (mut rate, mut channels) = (24_000, 1);
    for param in it {
        if let Some((k, v)) = param.split_once('=') {
            match k.trim().to_ascii_lowercase().as_str() {
                "rate" => rate = v.trim().parse().ok().filter(|r| *r > 0)?,
                "channels" => channels = v.trim().parse().ok().filter(|c| *c > 0)?,
                _ => {}
            }
        }
    }
    Some((rate, channels, bits))
}

/// PCM samples with a RIFF/WAVE header in front.
pub(crate) fn wav(pcm: &[u8], rate: u32, channels: u16, bits: u16) -> Vec<u8> {
    let data_len = u32::try_from(pcm.len()).unwrap_or(u32::MAX);
    let block_align = channels.saturating_mul(bits / 8);
    let byte_rate = rate.saturating_mul(u32::from(block_align));
    let mut out = Vec::with_capacity(44 + pcm.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(pcm);
    out
}

/// Inline data of a raw PCM type as a WAV `data:` URL; `None` for other types or data that
/// is not base64 (then passed on as it came).
pub(crate) fn pcm_to_wav_url(mime: &str, b64: &str) -> Option<String> {
    let (rate, channels, bits) = pcm_format(mime)?;
    let pcm = STANDARD.decode(b64.trim()).ok()?;
    Some(format!("data:audio/wav;base64,{}", STANDARD.encode(wav(&pcm, rate, channels, bits))))
}

const WAV_URL: &str = "data:audio/wav;base64,";

/// The format fields and samples of a WAV this module wrote (the plain 44-byte header).
fn split_wav(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let plain = bytes.len() >= 44
        && &bytes[0..4] == b"RIFF"
        && &bytes[8..16] == b"WAVEfmt "
        && bytes[16..20] == 16u32.to_le_bytes()
        && &bytes[36..40] == b"data";
    plain.then(|| (&bytes[20..36], &bytes[44..]))
}

/// Joins runs of adjacent WAV media parts of the same format (the pieces of streamed speech)
/// into one WAV part; other parts stay as they are.
pub(crate) fn join_wav_parts(parts: Vec<Part>) -> Vec<Part> {
    let decoded = |p: &Part| -> Option<Vec<u8>> {
        let url = p.media.as_ref()?.url.strip_prefix(WAV_URL)?;
        STANDARD.decode(url).ok()
    };
    if parts.iter().filter(|p| decoded(p).is_some()).count() < 2 {
        return parts;
    }
    let mut out: Vec<Part> = Vec::with_capacity(parts.len());
    // The run being joined: its format fields and samples.
    let mut run: Option<(Vec<u8>, Vec<u8>, Part)> = None;
    let flush = |run: &mut Option<(Vec<u8>, Vec<u8>, Part)>, out: &mut Vec<Part>| {
        if let Some((fmt, pcm, mut first)) = run.take() {
            let rate = u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]);
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if let Some(m) = first.media.as_mut() {
                m.url = format!("{WAV_URL}{}", STANDARD.encode(wav(&pcm, rate, channels, bits)));
            }
            out.push(first);
        }
    };
    for p in parts {
        let bytes = decoded(&p);
        match bytes.as_deref().and_then(split_wav) {
            Some((fmt, pcm)) => match run.as_mut() {
                Some((rfmt, rpcm, _)) if rfmt.as_slice() == fmt => rpcm.extend_from_slice(pcm),
                _ => {
                    flush(&mut run, &mut out);
                    run = Some((fmt.to_vec(), pcm.to_vec(), p));
                }
            },
            None => {
                flush(&mut run, &mut out);
                out.push(p);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_types_parse_and_others_do_not() {
        assert_eq!(pcm_format("audio/L16;codec=pcm;rate=24000"), Some((24_000, 1, 16)));
        assert_eq!(pcm_format("audio/pcm; rate=16000; channels=2"), Some((16_000, 2, 16)));
        assert_eq!(pcm_format("audio/wav"), None);
        assert_eq!(pcm_format("audio/L16;rate=zero"), None);
        assert!(is_tts_id("gemini-2.5-flash-preview-tts") && is_tts_id("gemini-3.1-flash-tts-preview"));
        assert!(!is_tts_id("gemini-2.5-flash"));
    }

    #[test]
    fn pcm_is_wrapped_in_a_playable_wav_header() {
        let pcm = [1u8, 0, 2, 0, 3, 0, 4, 0];
        let url = pcm_to_wav_url("audio/L16;codec=pcm;rate=24000", &STANDARD.encode(pcm)).unwrap();
        let bytes = STANDARD.decode(url.strip_prefix("data:audio/wav;base64,").unwrap()).unwrap();
        assert_eq!(bytes.len(), 44 + pcm.len());
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 36 + 8);
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes(bytes[22..24].try_into().unwrap()), 1, "mono");
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 24_000);
        assert_eq!(u32::from_le_bytes(bytes[28..32].try_into().unwrap()), 48_000, "byte rate");
        assert_eq!(u16::from_le_bytes(bytes[34..36].try_into().unwrap()), 16);
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(&bytes[44..], &pcm);
        assert!(pcm_to_wav_url("audio/L16;rate=24000", "not base64!").is_none());
    }

    #[test]
    fn streamed_pieces_join_into_one_wav() {
        let piece = |pcm: &[u8], rate: u32| {
            Part::media(
                pcm_to_wav_url(&format!("audio/L16;codec=pcm;rate={rate}"), &STANDARD.encode(pcm)).unwrap(),
                Some("audio/wav".into()),
            )
        };
        let parts = vec![
            piece(&[1, 0], 24_000),
            piece(&[2, 0, 3, 0], 24_000),
            Part::text("x"),
            piece(&[4, 0], 24_000),
            piece(&[5, 0], 16_000),
        ];
        let joined = join_wav_parts(parts);
        assert_eq!(joined.len(), 4);
        let bytes = STANDARD.decode(joined[0].media.as_ref().unwrap().url.strip_prefix(WAV_URL).unwrap()).unwrap();
        assert_eq!(&bytes[44..], &[1, 0, 2, 0, 3, 0]);
        assert_eq!(u32::from_le_bytes(bytes[40..44].try_into().unwrap()), 6);
        assert_eq!(joined[1].text.as_deref(), Some("x"));
        let single = vec![Part::text("a"), piece(&[1, 0], 24_000)];
        assert_eq!(join_wav_parts(single.clone()), single);
    }
}
