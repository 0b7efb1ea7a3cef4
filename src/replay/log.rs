//! One line of a replay log -> the request it carries and what was observed of its routing
//! (SPEC section 10); never groups, never predicts.
//!
//! A line is `{"request": BODY, ...}` with one observation: `generation` (OpenRouter's
//! generation record, bare or wrapped in `{"data": ...}`, or serve's journal record), whose
//! `provider_responses` list the attempts in order; `response` (a chat completion, its
//! `provider` the one that served); or `provider` (the served provider's name). Other keys
//! (`seq`, `time`, `status`, ...) are ignored.

use crate::error::Error;
use crate::request::Request;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// What a log line shows of where its request went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedAs {
    /// The line shows the attempts (a generation record): its first attempt is compared with
    /// the plan's first-attempt odds.
    FirstAttempt,
    /// The line shows only who served (a chat response or a provider name): compared with the
    /// served-endpoint distribution under the failure model.
    Served,
}

impl ObservedAs {
    /// The snake_case name printed in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ObservedAs::FirstAttempt => "first_attempt",
            ObservedAs::Served => "served",
        }
    }
}

/// A line's observation: a provider name (display name or slug) or an endpoint key, and the
/// model the log says served, when it says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observation {
    pub(crate) observed_as: ObservedAs,
    pub(crate) name: String,
    /// `name` is an endpoint key (a generation's `endpoint`), not a provider.
    pub(crate) is_endpoint: bool,
    /// The model that served, as the log names it (`response.model`, `generation.model`).
    pub(crate) model: Option<String>,
}

/// A parsed line.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) request: Request,
    pub(crate) observation: Observation,
}

#[derive(Deserialize)]
struct RawLine<'a> {
    #[serde(borrow, default)]
    request: Option<&'a RawValue>,
    #[serde(default)]
    generation: Option<RawGeneration>,
    #[serde(default)]
    response: Option<RawResponse>,
    #[serde(default)]
    provider: Option<String>,
}

#[derive(Deserialize)]
struct RawGeneration {
    #[serde(default)]
    data: Option<Box<RawGeneration>>,
    #[serde(default)]
    provider_responses: Option<Vec<RawAttempt>>,
    #[serde(default)]
    provider_name: Option<String>,
    #[serde(default)]
    model: Option<String>,
}

#[derive(Deserialize)]
struct RawAttempt {
    #[serde(default)]
    provider_name: Option<String>,
    #[serde(default)]
    endpoint: Option<String>,
}

#[derive(Deserialize)]
struct RawResponse {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    model: Option<String>,
}

/// Parses line `number` (1-based) of a log. Every error names the line and the field.
pub(crate) fn parse(text: &str, number: usize) -> Result<Line, Error> {
    // serde's derive would also read a struct from an array of its fields in order.
    if !text.trim_start().starts_with('{') {
        return Err(Error::input(
            None,
            "expected a JSON object `{\"request\": ..., ...}`",
            Some(number),
        ));
    }
    let raw: RawLine = serde_json::from_str(text).map_err(|e| not_parsed(text, e, number))?;
    let Some(body) = raw.request else {
        return Err(at(
            "request",
            "missing: each line needs the request body".into(),
            number,
        ));
    };
    let request = Request::parse(body.get()).map_err(|e| {
        let field = e
            .field()
            .map_or("request".to_string(), |f| format!("request.{f}"));
        let detail = match e.field() {
            Some(f) => message(&e)
                .strip_prefix(&format!("{f}: "))
                .map(str::to_string),
            None => None,
        }
        .unwrap_or_else(|| message(&e));
        at(&field, detail, number)
    })?;
    let observation = if let Some(generation) = raw.generation {
        from_generation(generation, number)?
    } else if let Some(response) = raw.response {
        let Some(provider) = response.provider.filter(|p| !p.trim().is_empty()) else {
            return Err(at(
                "response.provider",
                "missing: a chat response names the provider that served".into(),
                number,
            ));
        };
        Observation {
            observed_as: ObservedAs::Served,
            name: provider,
            is_endpoint: false,
            model: response.model,
        }
    } else if let Some(provider) = raw.provider.filter(|p| !p.trim().is_empty()) {
        Observation {
            observed_as: ObservedAs::Served,
            name: provider,
            is_endpoint: false,
            model: None,
        }
    } else {
        return Err(at(
            "generation",
            "no observation: give `generation`, `response` or `provider`".into(),
            number,
        ));
    };
    Ok(Line {
        request,
        observation,
    })
}

/// A generation record's observation: its first attempt when it lists attempts, else the
/// provider that served.
fn from_generation(generation: RawGeneration, number: usize) -> Result<Observation, Error> {
    let (record, prefix) = match generation.data {
        Some(data) => (*data, "generation.data"),
        None => (generation, "generation"),
    };
    match record.provider_responses.as_deref() {
        Some([first, ..]) => {
            if let Some(endpoint) = first.endpoint.as_ref().filter(|e| !e.trim().is_empty()) {
                return Ok(Observation {
                    observed_as: ObservedAs::FirstAttempt,
                    name: endpoint.clone(),
                    is_endpoint: true,
                    model: None,
                });
            }
            match first
                .provider_name
                .as_ref()
                .filter(|p| !p.trim().is_empty())
            {
                Some(name) => Ok(Observation {
                    observed_as: ObservedAs::FirstAttempt,
                    name: name.clone(),
                    is_endpoint: false,
                    model: None,
                }),
                None => Err(at(
                    &format!("{prefix}.provider_responses[0].provider_name"),
                    "missing: an attempt names its provider (or its `endpoint`)".into(),
                    number,
                )),
            }
        }
        _ => match record.provider_name.filter(|p| !p.trim().is_empty()) {
            Some(name) => Ok(Observation {
                observed_as: ObservedAs::Served,
                name,
                is_endpoint: false,
                model: record.model,
            }),
            None => Err(at(
                &format!("{prefix}.provider_responses"),
                "no attempt listed and no `provider_name`: nothing was observed".into(),
                number,
            )),
        },
    }
}

/// An error's message without the file and line the library adds around it.
fn message(e: &Error) -> String {
    match e.kind() {
        crate::error::ErrorKind::Input { message, .. } => message.clone(),
        _ => e.to_string(),
    }
}

fn at(field: &str, detail: String, number: usize) -> Error {
    Error::input(Some(field.to_string()), &detail, Some(number))
}

/// Why serde_json refused a line: not JSON at all, or a field of the wrong type (named by its
/// path, found by reading the line again with the path tracked).
fn not_parsed(text: &str, err: serde_json::Error, number: usize) -> Error {
    use serde_json::error::Category;
    let clean = |e: &serde_json::Error| {
        let mut detail = e.to_string();
        if let Some(cut) = detail.rfind(" at line ") {
            detail.truncate(cut);
        }
        detail
    };
    if err.classify() != Category::Data {
        return Error::input(
            None,
            &format!("not a JSON object: {}", clean(&err)),
            Some(number),
        );
    }
    let mut de = serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, RawLine>(&mut de) {
        Err(e) if !e.path().to_string().is_empty() && e.path().to_string() != "." => {
            at(&e.path().to_string(), clean(e.inner()), number)
        }
        _ => Error::input(
            None,
            &format!("expected a JSON object: {}", clean(&err)),
            Some(number),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_generation_record_gives_its_first_attempt() {
        let line = parse(
            r#"{"request":{"model":"m"},"generation":{"data":{"provider_name":"Google AI Studio","provider_responses":[{"provider_name":"Google","status":429,"latency":327},{"provider_name":"Google AI Studio","status":200}]}}}"#,
            3,
        )
        .unwrap();
        assert_eq!(line.observation.observed_as, ObservedAs::FirstAttempt);
        assert_eq!(
            line.observation.name, "Google",
            "the first attempt, not the one that served"
        );
        assert!(!line.observation.is_endpoint);
    }

    #[test]
    fn a_journal_attempt_names_its_endpoint() {
        let line = parse(
            r#"{"seq":1,"status":200,"request":{"model":"m"},"generation":{"provider_responses":[{"provider_name":"DeepInfra","endpoint":"deepinfra/turbo","status":200,"latency":1,"is_byok":false}]}}"#,
            1,
        )
        .unwrap();
        assert_eq!(line.observation.name, "deepinfra/turbo");
        assert!(line.observation.is_endpoint);
    }

    #[test]
    fn a_chat_response_and_a_bare_provider_are_served_observations() {
        let r = parse(
            r#"{"request":{"model":"m"},"response":{"provider":"Together","model":"m"}}"#,
            1,
        )
        .unwrap();
        assert_eq!(
            (r.observation.observed_as, r.observation.name.as_str()),
            (ObservedAs::Served, "Together")
        );
        let p = parse(r#"{"request":{"model":"m"},"provider":"together"}"#, 1).unwrap();
        assert_eq!(p.observation.name, "together");
    }

    #[test]
    fn a_generation_record_without_attempts_is_a_served_observation() {
        let line = parse(
            r#"{"request":{"model":"m"},"generation":{"provider_name":"DeepInfra","model":"m"}}"#,
            3,
        )
        .unwrap();
        assert_eq!(line.observation.observed_as, ObservedAs::Served);
        assert_eq!(line.observation.name, "DeepInfra");
        assert_eq!(ObservedAs::Served.as_str(), "served");
        assert_eq!(ObservedAs::FirstAttempt.as_str(), "first_attempt");
    }

    /// A bad request body's message is the library's own, without the file and line it puts
    /// around it (the line number is the log's).
    #[test]
    fn a_bad_request_body_keeps_only_its_message() {
        let err = parse(
            r#"{"request":{"model":"m","provider":{"sort":"cheapest"}},"provider":"a"}"#,
            5,
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(text.matches("line").count(), 1, "{text}");
    }

    #[test]
    fn bad_lines_name_their_line_and_field() {
        let cases = [
            ("not json", None, "expected a JSON object"),
            (r#"{"request": {"model"#, None, "not a JSON object"),
            (r#"{"provider":"a"}"#, Some("request"), "missing"),
            (
                r#"{"request":{"model":"m"}}"#,
                Some("generation"),
                "no observation",
            ),
            (
                r#"{"request":{"model":"m","provider":{"sort":"cheapest"}},"provider":"a"}"#,
                Some("request.provider.sort"),
                "unknown variant",
            ),
            (
                r#"{"request":{"model":"m"},"provider":7}"#,
                Some("provider"),
                "invalid type",
            ),
            (
                r#"{"request":{"model":"m"},"generation":{"provider_responses":[{"status":200}]}}"#,
                Some("generation.provider_responses[0].provider_name"),
                "missing",
            ),
            (
                r#"{"request":{"model":"m"},"generation":{"data":{"provider_responses":[]}}}"#,
                Some("generation.data.provider_responses"),
                "nothing was observed",
            ),
            (r#"[1,2]"#, None, "expected a JSON object"),
            (r#""text""#, None, "expected a JSON object"),
            (
                r#"{"provider":"a","provider":"b"}"#,
                None,
                "duplicate field",
            ),
            ("7", None, "expected a JSON object"),
            (
                r#"{"request":{"model":"m"},"generation":{"provider_name":"  "}}"#,
                Some("generation.provider_responses"),
                "nothing was observed",
            ),
        ];
        for (text, field, words) in cases {
            let err = parse(text, 17).unwrap_err();
            assert_eq!(err.line(), Some(17), "{text}: {err}");
            assert_eq!(err.field(), field, "{text}: {err}");
            assert!(err.to_string().contains(words), "{text}: {err}");
            assert_eq!(err.exit_code(), 2);
        }
    }
}
