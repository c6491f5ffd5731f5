//! Fuzzes document loading: any bytes must load or be rejected with problems, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scxml::parse::{parse_document, NoLoader};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match parse_document(text, None, &NoLoader) {
            Ok(doc) => assert!(!doc.states.is_empty()),
            Err(e) => assert!(!e.problems.is_empty()),
        }
    }
});
