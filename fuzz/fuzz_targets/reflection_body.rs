//! libFuzzer entry point for `genkit_fuzz_targets::reflection_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genkit_fuzz_targets::reflection_body(data));
