//! The one place that parses YAML (and JSON, which is YAML): swap `serde_yaml` for a maintained
//! fork here and nowhere else.

use serde::de::DeserializeOwned;

/// A parse failure: the message (with the field path where the parser knows it) and the line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// What went wrong, starting with the dotted field path when one is known.
    pub message: String,
    /// 1-based line of the offending value, when the parser knows it.
    pub line: Option<usize>,
}

/// Deserializes one YAML or JSON document into `T`.
///
/// serde_yaml refuses alias expansion past a fixed repetition budget and nesting past 128
/// levels, which keeps hostile inputs bounded.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    serde_yaml::from_str(text).map_err(|err| {
        let line = err.location().map(|l| l.line());
        let mut message = err.to_string();
        // serde_yaml appends " at line L column C"; the line is reported separately.
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        ParseError { message, line }
    })
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        match self.line {
            Some(line) => write!(f, " (line {line})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ParseError {}
