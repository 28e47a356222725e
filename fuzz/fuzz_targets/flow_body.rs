//! libFuzzer entry point for `genkit_fuzz_targets::flow_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genkit_fuzz_targets::flow_body(data));
