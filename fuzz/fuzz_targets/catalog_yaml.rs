//! Fuzzes the catalog loader with arbitrary text (seeded with the YAML fixtures): it must
//! return Ok or Err, never panic, hang or exhaust memory.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = routesim::Catalog::parse(text);
    }
});
