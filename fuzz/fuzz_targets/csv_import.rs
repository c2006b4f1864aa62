#![no_main]
//! `cargo fuzz run csv_import`: see `scorebord::fuzzing::csv_import`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| scorebord::fuzzing::csv_import(data));
