#![no_main]
//! `cargo fuzz run token`: see `scorebord::fuzzing::token`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::token(data));
