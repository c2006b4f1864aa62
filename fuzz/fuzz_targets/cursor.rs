#![no_main]
//! `cargo fuzz run cursor`: see `scorebord::fuzzing::cursor`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::cursor(data));
