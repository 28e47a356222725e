//! Text-to-speech Gemini models (`gemini-*-tts`): `generateContent` with
//! `responseModalities: ["AUDIO"]` and a `speechConfig` (one voice, or one per speaker). The
//! API answers raw PCM (`audio/L16;codec=pcm;rate=24000`: 16-bit little-endian mono), which
//! no player takes; it comes back here wrapped in a WAV header as
//! `data:audio/wav;base64,...`, ready to save or play.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use genkit_ai::ModelSupports;

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
}
