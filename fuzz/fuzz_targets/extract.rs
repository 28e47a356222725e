//! libFuzzer entry point for `genkit_fuzz_targets::extract`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| genkit_fuzz_targets::extract(data));
