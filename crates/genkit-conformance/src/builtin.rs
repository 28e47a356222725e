//! The built-in test cases of `genkit dev:test-model` (CLI 1.43), by capability key.

use serde_json::{Value, json};

use crate::suite::TestCase;

/// Every capability with a built-in test case, in the CLI's order.
pub const CAPABILITIES: [&str; 12] = [
    "tool-request",
    "structured-output",
    "multiturn",
    "streaming-multiturn",
    "streaming-tool-request",
    "streaming-structured-output",
    "system-role",
    "input-image-base64",
    "input-image-url",
    "input-video-youtube",
    "output-audio",
    "output-image",
];

/// The CLI's default `--supports` list, used by suites with neither `supports` nor `tests`.
pub const DEFAULT_SUPPORTS: [&str; 9] = [
    "tool-request",
    "structured-output",
    "multiturn",
    "system-role",
    "input-image-base64",
    "input-image-url",
    "streaming-multiturn",
    "streaming-tool-request",
    "streaming-structured-output",
];

/// [`DEFAULT_SUPPORTS`] as owned strings.
pub fn default_supports() -> Vec<String> {
    DEFAULT_SUPPORTS.iter().map(|s| (*s).to_owned()).collect()
}

/// Parses a `--supports` value: comma-separated, each item trimmed (as the CLI does; empty
/// items are kept and later reported as unknown capabilities).
///
/// ```
/// assert_eq!(genkit_conformance::parse_supports("multiturn, system-role"), ["multiturn", "system-role"]);
/// ```
pub fn parse_supports(list: &str) -> Vec<String> {
    list.split(',').map(|s| s.trim().to_owned()).collect()
}

/// The base64 PNG (1826×413, 15 464 bytes) of the Genkit logo sent by `input-image-base64`.
pub const GENKIT_LOGO_PNG_BASE64: &str = include_str!("../assets/genkit-logo.png.b64");

/// The image URL sent by `input-image-url`.
pub const GOOGLE_LOGO_URL: &str = "https://www.google.com/images/branding/googlelogo/2x/googlelogo_color_272x92dp.png";

/// The video URL sent by `input-video-youtube`.
pub const YOUTUBE_VIDEO_URL: &str = "https://www.youtube.com/watch?v=3p1P5grjXIQ";

fn user(parts: &Value) -> Value {
    json!({"role": "user", "content": parts})
}

fn user_text(text: &str) -> Value {
    user(&json!([{"text": text}]))
}

fn weather_tool() -> Value {
    json!({
        "name": "weather",
        "description": "Get the weather for a city",
        "inputSchema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        }
    })
}

fn json_output(fields: [(&str, &str); 2]) -> Value {
    let [(a, ta), (b, tb)] = fields;
    json!({
        "format": "json",
        "schema": {
            "type": "object",
            "properties": {a: {"type": ta}, b: {"type": tb}},
            "required": [a, b]
        },
        "constrained": true
    })
}

fn multiturn_messages() -> Value {
    json!([
        {"role": "user", "content": [{"text": "My name is Genkit."}]},
        {"role": "model", "content": [{"text": "Hello Genkit."}]},
        {"role": "user", "content": [{"text": "What is my name?"}]}
    ])
}

fn make(name: &str, stream: bool, input: Value, validator: &str) -> TestCase {
    TestCase { name: name.to_owned(), stream, input, validators: vec![validator.to_owned()] }
}

/// The built-in test case of a capability, exactly as the CLI builds it; `None` for an
/// unknown capability (the CLI warns `Unknown capability: <x>` and skips it; note that
/// `reasoning` is only a validator, not a capability).
///
/// ```
/// let c = genkit_conformance::builtin::case("multiturn").unwrap();
/// assert_eq!(c.name, "Multiturn Conformance");
/// assert_eq!(c.validators, ["text-includes:Genkit"]);
/// assert!(genkit_conformance::builtin::case("reasoning").is_none());
/// ```
pub fn case(capability: &str) -> Option<TestCase> {
    let c = match capability {
        "tool-request" => make(
            "Tool Request Conformance",
            false,
            json!({
                "messages": [user_text("What is the weather in New York? Use the tool.")],
                "tools": [weather_tool()]
            }),
            "has-tool-request:weather",
        ),
        "structured-output" => make(
            "Structured Output Conformance",
            false,
            json!({
                "messages": [user_text("Generate a profile for John Doe.")],
                "output": json_output([("name", "string"), ("age", "number")])
            }),
            "valid-json",
        ),
        "multiturn" => {
            make("Multiturn Conformance", false, json!({"messages": multiturn_messages()}), "text-includes:Genkit")
        }
        "streaming-multiturn" => make(
            "Multiturn Conformance with streaming",
            true,
            json!({"messages": multiturn_messages()}),
            "stream-text-includes:Genkit",
        ),
        "streaming-tool-request" => make(
            "Tool Request Conformance with streaming",
            true,
            json!({
                "messages": [user_text("What is the weather in New York? Use the weather tool")],
                "tools": [weather_tool()]
            }),
            "stream-has-tool-request:weather",
        ),
        "streaming-structured-output" => make(
            "Structured Output Conformance with streaming",
            true,
            json!({
                "messages": [user_text("Generate a movie review for John Wick")],
                "output": json_output([("name", "string"), ("rating", "number")])
            }),
            "stream-valid-json",
        ),
        "system-role" => make(
            "System Role Conformance",
            false,
            json!({
                "messages": [
                    {"role": "system", "content": [{"text": "IMPORTANT: your response are machine processed, always start/prefix your response with 'RESPONSE:', ex: 'RESPONSE: hello'"}]},
                    user_text("hello")
                ]
            }),
            "text-starts-with:RESPONSE:",
        ),
        "input-image-base64" => make(
            "Image Input (Base64) Conformance",
            false,
            json!({
                "messages": [user(&json!([
                    {"text": "What text do you see in this image?"},
                    {"media": {
                        "url": format!("data:image/png;base64,{}", GENKIT_LOGO_PNG_BASE64.trim()),
                        "contentType": "image/png"
                    }}
                ]))]
            }),
            "text-includes:genkit",
        ),
        "input-image-url" => make(
            "Image Input (URL) Conformance",
            false,
            json!({
                "messages": [user(&json!([
                    {"text": "What is this logo?"},
                    {"media": {"url": GOOGLE_LOGO_URL, "contentType": "image/png"}}
                ]))]
            }),
            "text-includes:google",
        ),
        "input-video-youtube" => make(
            "Video Input (YouTube) Conformance",
            false,
            json!({
                "messages": [user(&json!([
                    {"text": "Describe this video."},
                    {"media": {"url": YOUTUBE_VIDEO_URL, "contentType": "video/mp4"}}
                ]))]
            }),
            "text-not-empty",
        ),
        "output-audio" => make(
            "Audio Output (TTS) Conformance",
            false,
            json!({"messages": [user_text("Say hello.")]}),
            "valid-media:audio",
        ),
        "output-image" => make(
            "Image Output (Generation) Conformance",
            false,
            json!({"messages": [user_text("Generate an image of a cat.")]}),
            "valid-media:image",
        ),
        _ => return None,
    };
    Some(c)
}

/// Whether `capability` has a built-in test case.
pub fn is_capability(capability: &str) -> bool {
    CAPABILITIES.contains(&capability)
}

#[cfg(test)]
mod tests;
