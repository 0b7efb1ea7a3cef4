//! The error type: bad input (exit 2) or a request no endpoint can serve (exit 3).

use crate::plan::Exclusion;
use serde::Serialize;
use std::fmt;

/// Everything that can stop routesim from producing a plan.
///
/// Bad input says which file, which field and, where the parser knows it, which line.
/// [`Error::Unroutable`] is not about bad input: the request is valid but every endpoint was
/// excluded, and it carries each exclusion.
///
/// ```
/// use routesim::Error;
/// let err = Error::Input { file: "c.yaml".into(), message: "models: missing field".into(), line: Some(3) };
/// assert_eq!(err.exit_code(), 2);
/// assert_eq!(err.to_string(), "c.yaml: models: missing field (line 3)");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{file}: cannot read the file")]
    Io {
        /// The path as given.
        file: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not valid: parse and validation failures.
    #[error("{file}: {message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Input {
        /// The file (or other source name) the text came from.
        file: String,
        /// Field path and what is wrong with it.
        message: String,
        /// 1-based line, when the parser knows it.
        line: Option<usize>,
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
    /// The CLI exit code for this error: 2 for bad input, 3 when nothing can serve the request.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Unroutable(_) => 3,
            _ => 2,
        }
    }

    /// Prefixes the message of a request-level error with the file it came from.
    pub fn in_file(self, file: &str) -> Error {
        match self {
            Error::UnknownModel { .. } => Error::Input {
                file: file.to_string(),
                message: self.to_string(),
                line: None,
            },
            other => other,
        }
    }
}

/// Availability classes, named as OpenRouter's availability errors are (SPEC section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AvailabilityCode {
    /// The model has no endpoints at all.
    NoEndpoints,
    /// The last endpoints were removed by a data-policy filter (data_collection, zdr, distillable).
    PrivacyRestricted,
    /// The last endpoints were removed by any other filter.
    ConstraintFiltered,
}

impl AvailabilityCode {
    /// The snake_case code, as printed in the JSON error.
    pub fn as_str(self) -> &'static str {
        match self {
            AvailabilityCode::NoEndpoints => "no_endpoints",
            AvailabilityCode::PrivacyRestricted => "privacy_restricted",
            AvailabilityCode::ConstraintFiltered => "constraint_filtered",
        }
    }
}

/// One request preference (or account setting) whose removal alone would let the request route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relaxation {
    /// The dotted name of what would be dropped, e.g. `provider.zdr`.
    pub drop: String,
    /// The endpoint slugs the request would then route to, in plan order.
    pub endpoints: Vec<String>,
}

/// No endpoint can serve the request: why, classified, with every exclusion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unroutable {
    /// The availability class.
    pub code: AvailabilityCode,
    /// One readable sentence.
    pub message: String,
    /// Every endpoint of every requested model, with the reason it was left out.
    pub excluded: Vec<Exclusion>,
    /// Single preferences whose removal would let the request route (SPEC section 7).
    pub relaxations: Vec<Relaxation>,
    /// Warnings found on the way, such as a slug that matches no endpoint.
    pub warnings: Vec<String>,
}

impl fmt::Display for Unroutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}
