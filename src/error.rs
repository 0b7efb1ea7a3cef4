//! The error type, its kinds and exit codes: bad input (exit 2) or a request no endpoint can
//! serve (exit 3, carrying the [`Unroutable`] report that `explain` builds).

use crate::explain::Unroutable;
use std::fmt;

/// Everything that can stop routesim from producing a plan.
///
/// An opaque value: [`kind`](Error::kind) tells what happened, with the facts as data; the
/// accessors answer the common questions (which file, which field, which line, which exit
/// code). Bad input names the file (when the text came from one), the field path and, where
/// the parser knows it, the line. An unroutable request is not bad input: it is valid, but
/// every endpoint was excluded, and [`unroutable`](Error::unroutable) carries each exclusion.
///
/// ```
/// use routesim::{Catalog, ErrorKind};
/// let text = "models:\n  - id: a/m\n    endpoints:\n      - provider: a\n        pricing: { prompt: -1, completion: 1 }\n";
/// let err = Catalog::parse(text).unwrap_err();
/// assert!(matches!(err.kind(), ErrorKind::Input { .. }));
/// assert_eq!(err.field(), Some("models[0].endpoints[0].pricing.prompt"));
/// assert_eq!(err.line(), Some(5));
/// assert_eq!(err.exit_code(), 2);
/// assert_eq!(
///     err.to_string(),
///     "models[0] (a/m).endpoints[0] (a).pricing.prompt: expected a non-negative price, found -1 (line 5)"
/// );
/// ```
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong, with the facts as data. New kinds may be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be read.
    #[error("{file}: cannot read the file")]
    Io {
        /// The path (or other source name) as given.
        file: String,
        /// The underlying I/O error, also the error's [`source`](std::error::Error::source).
        source: std::io::Error,
    },
    /// Text was read but is not valid: parse and validation failures, a file over the size
    /// limit, bytes that are not UTF-8.
    #[error(
        "{}{message}{}",
        file.as_ref().map(|f| format!("{f}: ")).unwrap_or_default(),
        line.map(|l| format!(" (line {l})")).unwrap_or_default()
    )]
    Input {
        /// The file (or other source name) the text came from; `None` for text parsed
        /// directly, as by [`Catalog::parse`](crate::Catalog::parse).
        file: Option<String>,
        /// The dotted path of the offending field, e.g. `provider.sort` or
        /// `models[0].endpoints[3].pricing.prompt`; `None` when the fault is not in one field.
        field: Option<String>,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
        /// What the field should hold, as the message words it (`a non-negative finite
        /// number`), when known.
        expected: Option<String>,
        /// What the input held instead, as the message words it (`-1`, `string "cheap"`),
        /// when known.
        found: Option<String>,
        /// The whole text printed after the file name: the field path (catalog paths name
        /// the model and endpoint, `models[0] (a/m).endpoints[3] (deepinfra)`) and what is
        /// wrong with it.
        message: String,
    },
    /// The request names a model the catalog does not have.
    #[error("{field}: model {id:?} is not in the catalog; it has: {}", available.join(", "))]
    UnknownModel {
        /// `model` or `models[i]`.
        field: String,
        /// The id as written in the request (variant suffix included).
        id: String,
        /// Every model id the catalog has.
        available: Vec<String>,
    },
    /// Every endpoint was excluded: nothing can serve the request.
    #[error("{0}")]
    Unroutable(Box<Unroutable>),
}

impl Error {
    /// What went wrong, with its facts.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The file the bad input came from; `None` for text parsed directly and for errors that
    /// are not about a file's content (an unknown model, an unroutable request).
    pub fn file(&self) -> Option<&str> {
        match &*self.0 {
            ErrorKind::Io { file, .. } => Some(file),
            ErrorKind::Input { file, .. } => file.as_deref(),
            _ => None,
        }
    }

    /// The dotted path of the offending field (`provider.sort`, `models[1]`), when one is to
    /// blame.
    pub fn field(&self) -> Option<&str> {
        match &*self.0 {
            ErrorKind::Input { field, .. } => field.as_deref(),
            ErrorKind::UnknownModel { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The 1-based line of the offending value, when the parser knows it.
    pub fn line(&self) -> Option<usize> {
        match &*self.0 {
            ErrorKind::Input { line, .. } => *line,
            _ => None,
        }
    }

    /// The CLI exit code for this error: 3 when nothing can serve the request, 2 otherwise
    /// (bad input).
    pub fn exit_code(&self) -> i32 {
        match &*self.0 {
            ErrorKind::Unroutable(_) => 3,
            _ => 2,
        }
    }

    /// The exclusions and hints of an unroutable request; `None` for any other error.
    pub fn unroutable(&self) -> Option<&Unroutable> {
        match &*self.0 {
            ErrorKind::Unroutable(u) => Some(u),
            _ => None,
        }
    }

    pub(crate) fn unroutable_mut(&mut self) -> Option<&mut Unroutable> {
        match &mut *self.0 {
            ErrorKind::Unroutable(u) => Some(u),
            _ => None,
        }
    }

    /// `file` could not be read.
    pub(crate) fn io(file: &str, source: std::io::Error) -> Error {
        Error(Box::new(ErrorKind::Io {
            file: file.to_string(),
            source,
        }))
    }

    /// Bad input: `detail` says what is wrong with `field` (or with the whole text when
    /// `field` is `None`). The message is `field: detail`; what was expected and what was
    /// found are read from `detail` when it is worded as serde or this crate words them.
    pub(crate) fn input(field: Option<String>, detail: &str, line: Option<usize>) -> Error {
        let (expected, found) = expected_and_found(detail);
        let message = match &field {
            Some(f) => format!("{f}: {detail}"),
            None => detail.to_string(),
        };
        Error(Box::new(ErrorKind::Input {
            file: None,
            field,
            line,
            expected,
            found,
            message,
        }))
    }

    /// The request names a model the catalog does not have.
    pub(crate) fn unknown_model(field: &str, id: &str, available: Vec<String>) -> Error {
        Error(Box::new(ErrorKind::UnknownModel {
            field: field.to_string(),
            id: id.to_string(),
            available,
        }))
    }

    /// Nothing can serve the request.
    pub(crate) fn from_unroutable(unroutable: Unroutable) -> Error {
        Error(Box::new(ErrorKind::Unroutable(Box::new(unroutable))))
    }

    /// Names the file the bad input came from (I/O errors name theirs already).
    pub(crate) fn with_file(mut self, name: &str) -> Error {
        if let ErrorKind::Input { file, .. } = &mut *self.0 {
            *file = Some(name.to_string());
        }
        self
    }

    /// Sets what was expected and what was found, where `detail` does not word them so.
    pub(crate) fn with_expected_found(mut self, want: String, got: String) -> Error {
        if let ErrorKind::Input {
            expected, found, ..
        } = &mut *self.0
        {
            *expected = Some(want);
            *found = Some(got);
        }
        self
    }

    /// Rewrites the field path at the head of the message as `label` gives it; the catalog
    /// uses it to name the model and endpoint (`models[0] (a/m).endpoints[3] (deepinfra)`).
    /// [`field`](Error::field) keeps the plain path.
    pub(crate) fn with_field_label(mut self, label: impl FnOnce(&str) -> String) -> Error {
        if let ErrorKind::Input {
            field: Some(field),
            message,
            ..
        } = &mut *self.0
        {
            if let Some(rest) = message
                .strip_prefix(field.as_str())
                .and_then(|r| r.strip_prefix(": "))
            {
                *message = format!("{}: {rest}", label(field));
            }
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.0)
    }
}

/// Reads what was expected and what was found from a failure's wording: serde's own
/// (`invalid type: F, expected E`, `invalid value: F, expected E`, `invalid length N,
/// expected E`, `unknown variant|field `x`, expected E`, `missing field `x``) and this
/// crate's (`expected E, found F`). Other wordings give `(None, None)`.
fn expected_and_found(detail: &str) -> (Option<String>, Option<String>) {
    let owned = |s: &str| Some(s.to_string());
    if let Some(rest) = detail
        .strip_prefix("invalid type: ")
        .or_else(|| detail.strip_prefix("invalid value: "))
    {
        // The expectation is this crate's text; what was found may quote the input, so split
        // at the last ", expected ".
        if let Some((found, expected)) = rest.rsplit_once(", expected ") {
            return (owned(expected), owned(found));
        }
    }
    if let Some(rest) = detail.strip_prefix("invalid length ") {
        if let Some((len, expected)) = rest.split_once(", expected ") {
            return (owned(expected), Some(format!("length {len}")));
        }
    }
    for what in ["unknown variant `", "unknown field `"] {
        if let Some(rest) = detail.strip_prefix(what) {
            let (name, expected) = match rest.rsplit_once("`, expected ") {
                Some((name, expected)) => (name, owned(expected)),
                None => (rest.split('`').next().unwrap_or_default(), None),
            };
            return (expected, Some(format!("{what}{name}`")));
        }
    }
    if detail.starts_with("missing field `") {
        let field = detail["missing field ".len()..].split(' ').next();
        return (field.map(|f| format!("field {f}")), None);
    }
    if let Some((expected, found)) = detail
        .strip_prefix("expected ")
        .and_then(|rest| rest.split_once(", found "))
    {
        return (owned(expected), owned(found));
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::AvailabilityCode;
    use crate::{Account, Catalog, Request};

    const NEGATIVE_PRICE: &str = "models:\n  - id: a/m\n    endpoints:\n      - provider: a\n        pricing: { prompt: -1, completion: 1 }\n";

    #[test]
    fn a_negative_price_names_the_field_line_and_values() {
        let err = Catalog::parse(NEGATIVE_PRICE).unwrap_err();
        assert_eq!(err.field(), Some("models[0].endpoints[0].pricing.prompt"));
        assert_eq!(err.line(), Some(5));
        assert_eq!(err.file(), None, "text parsed directly has no file");
        assert_eq!(err.exit_code(), 2);
        assert!(err.unroutable().is_none());
        let ErrorKind::Input {
            expected, found, ..
        } = err.kind()
        else {
            panic!("a bad price is bad input: {err:?}");
        };
        assert_eq!(expected.as_deref(), Some("a non-negative price"));
        assert_eq!(found.as_deref(), Some("-1"));
    }

    #[test]
    fn a_reader_names_its_file_in_the_message_and_the_accessor() {
        let err = Catalog::from_reader(NEGATIVE_PRICE.as_bytes(), "c.yaml").unwrap_err();
        assert_eq!(err.file(), Some("c.yaml"));
        assert_eq!(err.field(), Some("models[0].endpoints[0].pricing.prompt"));
        assert!(
            err.to_string()
                .starts_with("c.yaml: models[0] (a/m).endpoints[0] (a).pricing.prompt: "),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error_with_its_cause() {
        let path = std::path::Path::new("/nonexistent/routesim/c.yaml");
        let err = Catalog::from_path(path).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Io { .. }));
        assert_eq!(err.file(), Some("/nonexistent/routesim/c.yaml"));
        assert_eq!(
            err.to_string(),
            "/nonexistent/routesim/c.yaml: cannot read the file"
        );
        assert!(
            std::error::Error::source(&err).is_some(),
            "the I/O error is the source"
        );
        assert_eq!((err.field(), err.line(), err.exit_code()), (None, None, 2));
    }

    #[test]
    fn text_over_the_limit_is_refused_without_reading_past_it() {
        // An endless reader: only limit + 1 bytes may be read.
        let endless = std::io::repeat(b'#');
        let err = Request::from_reader(endless, "<stdin>").unwrap_err();
        assert_eq!(err.file(), Some("<stdin>"));
        assert!(
            err.to_string().contains(&format!(
                "over the limit of {} bytes",
                crate::request::MAX_REQUEST_BYTES
            )),
            "{err}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_with_their_offset_and_line() {
        let err =
            Account::from_reader(&b"zdr: true\nignore: [caf\xe9]\n"[..], "a.yaml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.yaml: expected UTF-8 text, found an invalid byte at offset 22 (line 2)"
        );
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn serde_wordings_give_expected_and_found() {
        let ef = |s: &str| {
            let (e, f) = expected_and_found(s);
            (e.unwrap_or_default(), f.unwrap_or_default())
        };
        assert_eq!(
            ef("invalid type: string \"x, expected y\", expected a boolean"),
            ("a boolean".into(), "string \"x, expected y\"".into())
        );
        assert_eq!(
            ef("unknown variant `fp7`, expected one of `fp8`, `fp16`"),
            (
                "one of `fp8`, `fp16`".into(),
                "unknown variant `fp7`".into()
            )
        );
        assert_eq!(
            ef("missing field `tag`"),
            ("field `tag`".into(), String::new())
        );
        assert_eq!(expected_and_found("duplicate model id \"m\""), (None, None));
    }

    #[test]
    fn unknown_models_and_unroutable_requests_have_no_file() {
        let catalog = Catalog::parse("models:\n  - id: m\n    endpoints: []\n").unwrap();
        let request = Request::parse(r#"{"model": "m", "models": ["x"]}"#).unwrap();
        let options = crate::Options::default();
        let err = crate::Router::compile(&catalog, &request, &options).unwrap_err();
        assert_eq!(
            (err.file(), err.field(), err.exit_code()),
            (None, Some("models[0]"), 2)
        );
        assert!(matches!(err.kind(), ErrorKind::UnknownModel { id, .. } if id == "x"));
        let request = Request::parse(r#"{"model": "m"}"#).unwrap();
        let err = crate::Router::compile(&catalog, &request, &options).unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert_eq!(
            err.unroutable().map(|u| u.code),
            Some(AvailabilityCode::NoEndpoints)
        );
    }

    #[test]
    fn errors_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
    }
}
