#![no_main]
//! `cargo fuzz run ws_message`: see `scorebord::fuzzing::ws_message`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::ws_message(data));
