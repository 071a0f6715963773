#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| herald_fuzz_checks::task_body(data));
