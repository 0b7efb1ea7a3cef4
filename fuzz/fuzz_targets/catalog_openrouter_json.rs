//! Fuzzes the OpenRouter endpoint-listing loader: the input is parsed as a whole document
//! (seeded with fixtures/openrouter-endpoints.json) and, so that mutations stay inside the
//! listing parser instead of failing on the first brace, also as the body of one endpoint
//! wrapped in a valid listing.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = routesim::Catalog::parse(text);
    let wrapped = format!(r#"{{"data": {{"id": "a/m", "endpoints": [{{{text}}}]}}}}"#);
    let _ = routesim::Catalog::parse(&wrapped);
});
