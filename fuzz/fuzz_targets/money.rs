#![no_main]
//! `cargo fuzz run money`: see `scorebord::fuzzing::money`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::money(data));
