#![no_main]
//! `cargo fuzz run global_id`: see `scorebord::fuzzing::global_id`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::global_id(data));
