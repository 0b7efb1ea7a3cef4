//! Reads input text for the parsers: files and readers within a size limit, UTF-8 only, every
//! error naming its source.

use crate::error::Error;
use std::io::Read;
use std::path::Path;

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
