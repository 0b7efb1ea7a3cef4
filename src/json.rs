//! The one place that parses JSON: serde_json, with the field path (serde_path_to_error) and
//! the line of the offending value in every data error; never reads YAML.

use crate::error::Error;
use crate::parse::MAX_FLOW_DEPTH;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// Whether `text` is meant as JSON: its first non-whitespace byte opens an object or an array.
pub(crate) fn is_json(text: &str) -> bool {
    let first = text.bytes().find(|b| !is_space(*b));
    matches!(first, Some(b'{' | b'['))
}

/// Why JSON text did not deserialize.
pub(crate) enum Failure {
    /// Well-formed up to a value of the wrong type or out of range: the error, with its path.
    Data(Error),
    /// Not JSON at all (a syntax error, a truncated text, trailing text such as a comment):
    /// the caller reads it as YAML, which also accepts JSON's flow syntax.
    NotJson,
}

/// Deserializes one JSON document into `T`.
///
/// Nesting is bounded before parsing ([`check_depth`]); serde_json skips the values routesim
/// does not read without recursion, and limits its own recursion for the typed ones.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    // Tracking the path costs a quarter of the parse time (serde_path_to_error records every
    // key on the way), so only a text that failed is read again to find it.
    serde_json::from_str(text).map_err(|_| failure::<T>(text))
}

/// Reads `text`, which serde_json refused, again with the path tracked, and says why.
fn failure<T: DeserializeOwned>(text: &str) -> Failure {
    let mut de = serde_json::Deserializer::from_str(text);
    let err = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(_) => return Failure::NotJson, // only the text after the value was wrong
        Err(err) => err,
    };
    if err.inner().classify() != Category::Data {
        return Failure::NotJson;
    }
    let mut detail = err.inner().to_string();
    // serde_json appends " at line L column C"; the line is reported separately.
    if let Some(cut) = detail.rfind(" at line ") {
        detail.truncate(cut);
    }
    let depth = err.path().iter().count();
    let line = error_line(text, err.inner().line(), err.inner().column(), depth);
    Failure::Data(Error::input(field(err.path(), &detail), &detail, line))
}

/// The dotted path of the value an error is about, written as serde_yaml writes it
/// (`models[0].endpoints`); `None` for the whole document. An unknown field is an error about
/// its object, as in YAML, so its own key is left off.
fn field(path: &serde_path_to_error::Path, detail: &str) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut segments: Vec<&Segment> = path.iter().collect();
    if let Some(Segment::Map { key }) = segments.last() {
        if detail.starts_with(&format!("unknown field `{key}`")) {
            segments.pop();
        }
    }
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key: name } | Segment::Enum { variant: name } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            // A key that was not a string; serde_yaml writes `?` too.
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Refuses JSON whose objects and arrays nest deeper than [`MAX_FLOW_DEPTH`], with the same
/// words and line as YAML's flow-collection check.
pub(crate) fn check_depth(text: &str) -> Result<(), Error> {
    let (mut depth, mut max, mut max_at) = (0usize, 0usize, 0usize);
    brackets(text.as_bytes(), text.len(), |at, b| {
        if matches!(b, b'{' | b'[') {
            depth += 1;
            if depth > max {
                (max, max_at) = (depth, at);
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    });
    if max > MAX_FLOW_DEPTH {
        return Err(crate::parse::too_deep(max, line_at(text, max_at)));
    }
    Ok(())
}

/// The line to report for a data error about the value at a path `depth` segments deep,
/// which serde_json placed at `line` and `column`: where the value starts, as YAML reports.
/// serde_json places an error just past what it last read. For a scalar that is the scalar's
/// line; but an object or array refused whole (a list where a string belongs) is placed past
/// its opening bracket, and one that failed as it ended (a missing field) past its closing
/// bracket: both are moved to the opening bracket. The depth tells the value's own bracket
/// from its parent's: `depth` brackets enclose the value.
fn error_line(text: &str, line: usize, column: usize, depth: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let b = text.as_bytes();
    let line_start = if line == 1 {
        0
    } else {
        b.iter()
            .enumerate()
            .filter(|(_, c)| **c == b'\n')
            .nth(line - 2)
            .map_or(b.len(), |(i, _)| i + 1)
    };
    let at = (line_start + column).min(b.len());
    let Some(last) = b[..at].iter().rposition(|c| !is_space(*c)) else {
        return Some(line);
    };
    let (mut open, mut closed) = (Vec::new(), None);
    brackets(b, at, |at, c| match c {
        b'{' | b'[' => open.push(at),
        _ => closed = open.pop(),
    });
    let start = match b[last] {
        b'{' | b'[' if open.len() == depth + 1 => Some(last),
        b'}' | b']' if open.len() == depth => closed,
        // Past the closing bracket of the value's parent: an error raised once the value was
        // read whole (a price read from its raw text, money.rs), placed by serde_json only when
        // the parent ended. The value is the last thing before that bracket.
        b'}' | b']' if open.len() + 1 == depth => b[..last].iter().rposition(|c| !is_space(*c)),
        _ => None,
    };
    Some(start.map_or(line, |at| line_at(text, at)))
}

/// Calls `f` with the offset and byte of every bracket in `b[..end]` outside strings.
fn brackets(b: &[u8], end: usize, mut f: impl FnMut(usize, u8)) {
    let mut i = 0;
    while i < end {
        match b[i] {
            b'"' => {
                i += 1;
                // Inside a string only `"` and `\` matter, and strings are most of a listing:
                // memchr2 finds the next of either many bytes at a time. Routing over the
                // 306-listing capture spent 9.95 M of its 44.4 M instructions in this pass
                // with a byte loop here, 7.6 M with memchr2 (callgrind, release build).
                loop {
                    match memchr::memchr2(b'"', b'\\', &b[i.min(end)..end]) {
                        Some(k) if b[i + k] == b'\\' => i += k + 2,
                        Some(k) => {
                            i += k;
                            break;
                        }
                        None => {
                            i = end;
                            break;
                        }
                    }
                }
            }
            c @ (b'{' | b'[' | b'}' | b']') => f(i, c),
            _ => {}
        }
        i += 1;
    }
}

/// The 1-based line of byte offset `at`.
fn line_at(text: &str, at: usize) -> usize {
    1 + text.as_bytes()[..at]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
}

/// JSON's whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn data_error<T: DeserializeOwned>(text: &str) -> Error {
        match from_str::<T>(text) {
            Err(Failure::Data(err)) => err,
            Err(Failure::NotJson) => panic!("{text:?} is JSON"),
            Ok(_) => panic!("{text:?} does not fit the type"),
        }
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Endpoint {
        tag: String,
        uptime: Option<f64>,
    }

    #[test]
    fn a_wrong_type_names_its_path_and_line() {
        let err = data_error::<HashMap<String, Vec<Endpoint>>>(
            "{\"data\": [\n {\"tag\": \"a\"},\n {\"tag\": \"b\",\n  \"uptime\": \"high\"}]}",
        );
        assert_eq!(err.field(), Some("data[1].uptime"));
        assert_eq!(err.line(), Some(4));
        assert_eq!(
            err.to_string(),
            "data[1].uptime: invalid type: string \"high\", expected f64 (line 4)"
        );
    }

    #[test]
    fn a_missing_field_is_reported_where_its_object_opens() {
        let err = data_error::<HashMap<String, Vec<Endpoint>>>(
            "{\"data\": [\n {\n  \"uptime\": 1\n }\n]}",
        );
        assert_eq!(err.field(), Some("data[0]"));
        assert_eq!(err.line(), Some(2), "{err}");
    }

    #[test]
    fn a_list_where_a_string_belongs_is_reported_where_it_opens() {
        let err = data_error::<HashMap<String, String>>("{\"model\": [\n  1\n]}");
        assert_eq!((err.field(), err.line()), (Some("model"), Some(1)), "{err}");
    }

    #[test]
    fn a_list_refused_whole_is_told_from_a_list_in_a_list() {
        // serde_json places both errors at the inner `[`: the first is about the outer list
        // (consumed, then refused), the second about the inner one (refused unread).
        let err = data_error::<HashMap<String, crate::yaml::Text>>("{\"a\": [\n[\n1]]}");
        assert_eq!((err.field(), err.line()), (Some("a"), Some(1)), "{err}");
        let err = data_error::<HashMap<String, Vec<u8>>>("{\"a\": [\n[\n1]]}");
        assert_eq!((err.field(), err.line()), (Some("a[0]"), Some(2)), "{err}");
    }

    #[test]
    fn an_error_after_a_key_inside_a_map_stays_at_the_key() {
        let err = crate::Request::parse(
            "{\"model\": \"m\", \"provider\": {\"sort\": {\n\"by\": \"price\",\n\"partitio\": 1}}}",
        )
        .unwrap_err();
        assert_eq!(
            (err.field(), err.line()),
            (Some("provider.sort"), Some(3)),
            "{err}"
        );
    }

    #[test]
    fn structs_are_read_from_objects_only() {
        // serde_json would read a derived struct from a list of its fields; the raw types
        // refuse that, as YAML does.
        let err = crate::Request::parse(r#"{"model": "m", "usage_estimate": [1, 2]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "usage_estimate: invalid type: sequence, expected struct UsageEstimate (line 1)"
        );
    }

    #[test]
    fn an_unknown_field_is_reported_at_its_key() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            a: Option<u8>,
        }
        let err = data_error::<Strict>("{\n\"a\": 1,\n\"b\": 2\n}");
        assert_eq!(err.line(), Some(3), "{err}");
        assert_eq!(
            err.field(),
            None,
            "an unknown field is an error about its object"
        );
        assert!(err.to_string().starts_with("unknown field `b`"), "{err}");
    }

    #[test]
    fn text_that_is_not_json_is_left_to_yaml() {
        for text in [
            "{\"a\": 1",
            "{a: 1}",
            "{\"a\": 1} # comment",
            "{\"a\": .nan}",
            "{\"a\": 1e400}",
        ] {
            assert!(
                matches!(
                    from_str::<HashMap<String, f64>>(text),
                    Err(Failure::NotJson)
                ),
                "{text}"
            );
        }
    }

    /// The byte-by-byte scan `brackets` replaced: the oracle it must agree with.
    fn brackets_by_bytes(b: &[u8], end: usize) -> Vec<(usize, u8)> {
        let (mut i, mut found) = (0, Vec::new());
        while i < end {
            match b[i] {
                b'"' => {
                    i += 1;
                    while i < end && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                c @ (b'{' | b'[' | b'}' | b']') => found.push((i, c)),
                _ => {}
            }
            i += 1;
        }
        found
    }

    proptest::proptest! {
        /// Strings, escapes (a trailing one included) and brackets in any mix, cut anywhere.
        #[test]
        fn brackets_agree_with_a_byte_by_byte_scan(text in r#"[\[\]{}"\\a]{0,64}"#, cut: usize) {
            let b = text.as_bytes();
            let end = if b.is_empty() { 0 } else { cut % (b.len() + 1) };
            let mut found = Vec::new();
            brackets(b, end, |at, c| found.push((at, c)));
            proptest::prop_assert_eq!(found, brackets_by_bytes(b, end));
        }
    }

    #[test]
    fn nesting_past_the_limit_is_refused_and_at_it_is_not() {
        let at = format!(
            "{}{}",
            "[".repeat(MAX_FLOW_DEPTH),
            "]".repeat(MAX_FLOW_DEPTH)
        );
        assert!(check_depth(&at).is_ok());
        let over = format!("{{\"a\":\n[{at}]}}");
        let err = check_depth(&over).unwrap_err();
        assert_eq!(
            err.to_string(),
            "brackets ([...] or {...}) nest 130 levels deep, over the limit of 128 (line 2)"
        );
        // Brackets inside strings, escaped quotes included, do not nest.
        let quoted = format!("[\"\\\"{}\"]", "[".repeat(500));
        assert!(check_depth(&quoted).is_ok());
    }

    #[test]
    fn numbers_read_as_the_nearest_f64() {
        // serde_json's default float parser is off by one unit in the last place for about
        // one number in eight; `float_roundtrip` reads them exactly, as str::parse does.
        for text in [
            "0.9780693193946605",
            "0.30000000000000004",
            "2.2250738585072014e-308",
        ] {
            let parsed: Vec<f64> = from_str(&format!("[{text}]")).ok().unwrap_or_default();
            assert_eq!(parsed, [text.parse::<f64>().unwrap()], "{text}");
        }
    }

    #[test]
    fn yaml_that_opens_with_a_brace_still_loads() {
        let r = crate::Request::parse("{model: a/m, provider: {sort: price}} # flow YAML").unwrap();
        assert_eq!(r.models[0].id, "a/m");
        assert_eq!(r.sort().map(|s| s.by), Some(crate::SortBy::Price));
    }

    #[test]
    fn what_json_is_is_decided_by_the_first_byte() {
        assert!(is_json(" \n\t{\"a\": 1}"));
        assert!(is_json("[1]"));
        assert!(!is_json("a: {}"));
        assert!(!is_json("\u{feff}{}"), "a byte-order mark is not JSON");
        assert!(!is_json(""));
    }
}
