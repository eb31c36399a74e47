//! Any text typed as a ticket number: parsing never panics, and a number it accepts is canonical,
//! parses to itself again and is the encoding of its own value.
#![no_main]

use evently_runtime::tickets::number;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(canonical) = number::parse(text) {
        assert_eq!(canonical.len(), 13, "{canonical}");
        assert_eq!(number::parse(&canonical), Ok(canonical.clone()));
        assert_eq!(canonical.to_ascii_uppercase(), canonical);
    }
});
