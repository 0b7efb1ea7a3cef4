//! Turns input bytes into raw serde values: reads files and readers within a size limit, UTF-8
//! only, every error naming its source; hands JSON to serde_json (`json.rs`) and everything
//! else to serde_yaml (`yaml.rs`).

use crate::error::Error;
use crate::{json, yaml};
use serde::de::DeserializeOwned;
use std::io::Read;
use std::path::Path;

/// How deep flow collections (`[...]`, `{...}`) may nest in YAML, and arrays and objects in
/// JSON: serde_yaml refuses deeper values anyway, and libyaml's scanner slows down in
/// proportion to the depth on every token.
pub const MAX_FLOW_DEPTH: usize = 128;

/// Deserializes one document into `T`, refusing text over `limit` bytes (`what` names the input
/// in the message: "catalog") and hostile nesting or aliases first.
///
/// JSON (text opening with `{` or `[`) goes to serde_json. Text that serde_json finds is not
/// JSON after all (a YAML flow mapping such as `{model: a/m}`, a trailing comment, a truncated
/// file) goes to serde_yaml like any other text, so that whatever loaded as YAML before still
/// loads, and a syntax error is reported in the words it always was.
pub(crate) fn from_str<T: DeserializeOwned>(
    text: &str,
    limit: usize,
    what: &str,
) -> Result<T, Error> {
    check_size(text, limit, what)?;
    if json::is_json(text) {
        json::check_depth(text)?;
        match json::from_str(text) {
            Ok(value) => return Ok(value),
            Err(json::Failure::Data(err)) => return Err(err),
            Err(json::Failure::NotJson) => {}
        }
    }
    yaml::check_hostile(text)?;
    yaml::from_str(text)
}

/// The document as a generic tree, read leniently (no types) for naming what an error path
/// points at; `None` when it does not parse. YAML is read only past its hostile-input checks:
/// a JSON data error stops serde_json before the rest of the text, which may hold anything.
pub(crate) fn document(text: &str) -> Option<serde_json::Value> {
    if json::is_json(text) {
        if let Ok(value) = serde_json::from_str(text) {
            return Some(value);
        }
    }
    yaml::check_hostile(text).ok()?;
    yaml::document(text)
}

/// Implements `Deserialize` for a raw struct as a map only. serde's derive also reads a struct
/// from a list of its field values in order, and serde_json offers that form (`"pricing": [1,
/// 2]`); serde_yaml never did, and a positional form would slip past `deny_unknown_fields`.
/// The struct derives with `#[serde(remote = "Self")]`, which makes the derived reader an
/// inherent function; this impl calls it on the map alone. `$expecting` words the error for
/// anything else (`invalid type: sequence, expected {$expecting}`).
macro_rules! map_only {
    ($ty:ident, $expecting:literal) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct MapVisitor;
                impl<'de> serde::de::Visitor<'de> for MapVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$ty, A::Error> {
                        $ty::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    }
                }
                deserializer.deserialize_map(MapVisitor)
            }
        }
    };
}
pub(crate) use map_only;

/// Flow collections nest `depth` levels, first at `line`: over [`MAX_FLOW_DEPTH`].
pub(crate) fn too_deep(depth: usize, line: usize) -> Error {
    let detail = format!(
        "brackets ([...] or {{...}}) nest {depth} levels deep, over the limit of {MAX_FLOW_DEPTH}"
    );
    Error::input(None, &detail, Some(line)).with_expected_found(
        format!("at most {MAX_FLOW_DEPTH} levels"),
        format!("{depth} levels"),
    )
}

/// Reads the file at `path` (at most `limit` bytes) and parses it; errors name the file as
/// `path` displays.
pub(crate) fn from_path<T>(
    path: &Path,
    limit: usize,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(&name, e))?;
    let len = || file.metadata().ok().map(|m| m.len());
    read(&file, &name, limit, len, parse)
}

/// Reads `reader` to its end (at most `limit` bytes) and parses the text; errors name it `name`.
pub(crate) fn from_reader<T>(
    reader: impl Read,
    name: &str,
    limit: usize,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    read(reader, name, limit, || None, parse)
}

/// The one reader: takes at most `limit + 1` bytes into memory, refuses text over `limit`
/// (with its size from `len` when the source knows it) and bytes that are not UTF-8, then
/// parses. Every error names `name`.
fn read<T>(
    reader: impl Read,
    name: &str,
    limit: usize,
    len: impl FnOnce() -> Option<u64>,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(name, e))?;
    if bytes.len() > limit {
        let size = len().map_or(format!("more than {limit}"), |n| n.to_string());
        return Err(Error::input(
            None,
            &format!(
                "file is {size} bytes, over the limit of {limit} bytes ({} MiB)",
                limit >> 20
            ),
            None,
        )
        .with_expected_found(format!("at most {limit} bytes"), format!("{size} bytes"))
        .with_file(name));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        let detail = format!("expected UTF-8 text, found an invalid byte at offset {at}");
        Error::input(None, &detail, Some(line)).with_file(name)
    })?;
    parse(&text).map_err(|e| e.with_file(name))
}

/// Refuses text over `limit` bytes; `what` names the input in the message ("catalog").
pub(crate) fn check_size(text: &str, limit: usize, what: &str) -> Result<(), Error> {
    if text.len() <= limit {
        return Ok(());
    }
    let detail = format!(
        "file is {} bytes, over the limit of {limit} bytes ({} MiB) for a {what}",
        text.len(),
        limit >> 20
    );
    Err(Error::input(None, &detail, None).with_expected_found(
        format!("at most {limit} bytes"),
        format!("{} bytes", text.len()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_over_the_limit_is_refused_with_its_size() {
        let err = check_size("12345", 4, "catalog").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("file is 5 bytes, over the limit of 4 bytes"),
            "{err}"
        );
        assert!(
            check_size("1234", 4, "catalog").is_ok(),
            "the limit itself is allowed"
        );
    }

    #[test]
    fn an_alias_bomb_after_a_json_error_is_not_expanded() {
        // serde_json stops at `5`, a data error; the rest is YAML flow syntax with aliases,
        // which the lenient read for labels must not expand.
        let bomb = format!(
            "{{\"models\": 5, \"a\": &x [{}], \"b\": [{}]}}",
            vec!["1"; 1000].join(","),
            vec!["*x"; 1100].join(",")
        );
        assert!(
            crate::yaml::check_hostile(&bomb).is_err(),
            "the YAML is a bomb"
        );
        assert!(document(&bomb).is_none());
        let err = crate::Catalog::parse(&bomb).unwrap_err();
        assert_eq!(err.field(), Some("models"), "{err}");
    }

    #[test]
    fn a_reader_at_the_limit_is_read_and_one_byte_more_is_not() {
        let parse = |t: &str| Ok(t.len());
        assert_eq!(from_reader(&b"1234"[..], "x", 4, parse).ok(), Some(4));
        let err = from_reader(&b"12345"[..], "x", 4, parse).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x: file is more than 4 bytes, over the limit of 4 bytes (0 MiB)"
        );
    }
}
