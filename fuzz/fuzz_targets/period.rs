#![no_main]
//! `cargo fuzz run period`: see `scorebord::fuzzing::period`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::period(data));
