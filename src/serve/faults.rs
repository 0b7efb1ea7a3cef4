//! Fault rules (SPEC section 9): which attempts fail, with what status, how often; parsed from
//! YAML or JSON, matched against an attempt, and counted down by `times`.

use crate::error::Error;
use crate::router::Target;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::path::Path;

/// The largest fault file or `PUT /routesim/faults` body: 1 MiB.
pub const MAX_FAULTS_BYTES: usize = 1 << 20;

/// One fault rule: the attempts it matches fail with `status`.
///
/// ```
/// let rules = routesim::serve::Rule::parse_list(
///     "- { endpoint: deepinfra/turbo, status: 502, times: 2 }\n- { endpoint: '*', status: timeout, probability: 0.5 }\n",
/// ).unwrap();
/// assert_eq!(rules[0].status, routesim::serve::FaultStatus::Http(502));
/// assert_eq!(rules[1].probability, 0.5);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// An endpoint key (`deepinfra/turbo`, `together#2`), a tag, a provider slug (every
    /// endpoint of the provider), or `*` (every endpoint). Case is ignored.
    pub endpoint: String,
    /// Only attempts on this model id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// What the failed attempt answers.
    pub status: FaultStatus,
    /// The chance that a matching attempt fails, drawn from the request's generator; default 1.
    #[serde(default = "always", deserialize_with = "probability")]
    pub probability: f64,
    /// Only the next `times` matching attempts fail; then the rule is spent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// Only requests sent with the header `x-test-id` equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_id: Option<String>,
}

fn always() -> f64 {
    1.0
}

fn probability<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    // A visitor, so that the error is raised inside the field and names it.
    struct Probability;
    impl de::Visitor<'_> for Probability {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a probability in 0..=1")
        }
        fn visit_f64<E: de::Error>(self, p: f64) -> Result<f64, E> {
            match (0.0..=1.0).contains(&p) {
                true => Ok(p),
                false => Err(E::invalid_value(de::Unexpected::Float(p), &self)),
            }
        }
        fn visit_u64<E: de::Error>(self, p: u64) -> Result<f64, E> {
            self.visit_f64(p as f64)
        }
        fn visit_i64<E: de::Error>(self, p: i64) -> Result<f64, E> {
            self.visit_f64(p as f64)
        }
    }
    d.deserialize_any(Probability)
}

/// How a faulted attempt fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStatus {
    /// An HTTP status: 429, 500, 502, 503 or 504.
    Http(u16),
    /// The provider never answers; the attempt is recorded with status 408.
    Timeout,
}

/// The HTTP statuses a rule may give.
pub const FAULT_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// The status a timed-out attempt is recorded with.
pub const TIMEOUT_STATUS: u16 = 408;

impl FaultStatus {
    /// The status the attempt is recorded with (408 for a timeout).
    ///
    /// ```
    /// assert_eq!(routesim::serve::FaultStatus::Timeout.code(), 408);
    /// ```
    pub fn code(self) -> u16 {
        match self {
            FaultStatus::Http(code) => code,
            FaultStatus::Timeout => TIMEOUT_STATUS,
        }
    }
}

impl<'de> Deserialize<'de> for FaultStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FaultStatus, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}

struct StatusVisitor;

impl de::Visitor<'_> for StatusVisitor {
    type Value = FaultStatus;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("429, 500, 502, 503, 504 or \"timeout\"")
    }
    fn visit_u64<E: de::Error>(self, c: u64) -> Result<FaultStatus, E> {
        match FAULT_STATUSES.iter().find(|&&s| u64::from(s) == c) {
            Some(&s) => Ok(FaultStatus::Http(s)),
            None => Err(E::invalid_value(de::Unexpected::Unsigned(c), &self)),
        }
    }
    fn visit_i64<E: de::Error>(self, c: i64) -> Result<FaultStatus, E> {
        match u64::try_from(c) {
            Ok(c) => self.visit_u64(c),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(c), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, w: &str) -> Result<FaultStatus, E> {
        match w {
            "timeout" => Ok(FaultStatus::Timeout),
            _ => Err(E::invalid_value(de::Unexpected::Str(w), &self)),
        }
    }
}

impl Serialize for FaultStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FaultStatus::Http(code) => s.serialize_u16(*code),
            FaultStatus::Timeout => s.serialize_str("timeout"),
        }
    }
}

impl Rule {
    /// Parses a list of rules (YAML or JSON). Errors name the field (`.[1].status`).
    ///
    /// ```
    /// let err = routesim::serve::Rule::parse_list(r#"[{"endpoint": "a", "status": 404}]"#).unwrap_err();
    /// assert!(err.field().unwrap().ends_with("[0].status"));
    /// ```
    pub fn parse_list(text: &str) -> Result<Vec<Rule>, Error> {
        crate::parse::from_str(text, MAX_FAULTS_BYTES, "faults")
    }

    /// Reads and parses the rules in the file at `path`; errors name the file.
    pub fn from_path(path: &Path) -> Result<Vec<Rule>, Error> {
        crate::parse::from_path(path, MAX_FAULTS_BYTES, Rule::parse_list)
    }

    /// Whether this rule applies to an attempt on `target` by a request with `test_id`.
    fn matches(&self, target: &Target<'_>, test_id: Option<&str>) -> bool {
        if self.test_id.is_some() && self.test_id.as_deref() != test_id {
            return false;
        }
        if let Some(model) = &self.model {
            if !model.eq_ignore_ascii_case(target.model) {
                return false;
            }
        }
        let slug = self.endpoint.as_str();
        slug == "*"
            || slug.eq_ignore_ascii_case(target.endpoint)
            || slug.eq_ignore_ascii_case(&target.source().tag)
            || (!slug.contains(['/', '#']) && slug.eq_ignore_ascii_case(target.provider))
    }
}

/// The rules in force, each with what is left of its `times`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    rules: Vec<(Rule, Option<u64>)>,
}

impl Faults {
    pub(crate) fn new(rules: Vec<Rule>) -> Faults {
        Faults {
            rules: rules.into_iter().map(|r| (r.clone(), r.times)).collect(),
        }
    }

    /// The rules as given, with `times` showing what is left of each.
    pub(crate) fn rules(&self) -> Vec<Rule> {
        self.rules
            .iter()
            .map(|(r, left)| Rule {
                times: *left,
                ..r.clone()
            })
            .collect()
    }

    /// Decides one attempt: the first live rule that matches it, if any, draws its probability
    /// (only when below 1) and, when it fires, counts down its `times`. Returns the failure.
    pub(crate) fn decide(
        &mut self,
        target: &Target<'_>,
        test_id: Option<&str>,
        draw: &mut impl FnMut() -> f64,
    ) -> Option<FaultStatus> {
        let (rule, left) = self
            .rules
            .iter_mut()
            .find(|(r, left)| *left != Some(0) && r.matches(target, test_id))?;
        let fires = rule.probability >= 1.0 || draw() < rule.probability;
        if !fires {
            return None;
        }
        if let Some(n) = left {
            *n -= 1;
        }
        Some(rule.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_outside_the_list_is_refused_naming_the_field() {
        let err = Rule::parse_list("- { endpoint: a, status: 418 }").unwrap_err();
        assert!(
            err.field().is_some_and(|f| f.ends_with("[0].status")),
            "{err}"
        );
        assert!(err.to_string().contains("429, 500, 502, 503, 504"), "{err}");
        let err = Rule::parse_list("- { endpoint: a, status: 502, probability: 2 }").unwrap_err();
        assert!(
            err.field().is_some_and(|f| f.ends_with("[0].probability")),
            "{err}"
        );
        let err = Rule::parse_list("- { endpoint: a, status: 502, colour: red }").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
    }

    #[test]
    fn timeout_is_a_word_and_codes_are_numbers() {
        let rules = Rule::parse_list(r#"[{"endpoint": "*", "status": "timeout"}]"#).unwrap();
        assert_eq!(rules[0].status, FaultStatus::Timeout);
        assert_eq!(rules[0].probability, 1.0, "probability defaults to 1");
        assert!(Rule::parse_list(r#"[{"endpoint": "*", "status": "502"}]"#).is_err());
    }

    #[test]
    fn a_probability_is_a_number_in_0_to_1_integers_included() {
        let rules = Rule::parse_list("- { endpoint: a, status: 502, probability: 0 }").unwrap();
        assert_eq!(rules[0].probability, 0.0);
        let err = Rule::parse_list("- { endpoint: a, status: 502, probability: -1 }").unwrap_err();
        assert!(err.to_string().contains("a probability in 0..=1"), "{err}");
        let err = Rule::parse_list("- { endpoint: a, status: 502, probability: x }").unwrap_err();
        assert!(err.to_string().contains("a probability in 0..=1"), "{err}");
    }

    #[test]
    fn rules_are_read_from_a_file() {
        let rules = Rule::from_path(Path::new("fixtures/serve-faults.yaml")).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].endpoint, "deepinfra");
    }

    /// Which of gemma's endpoints (its listing has `together` twice) a rule's `endpoint`, `model`
    /// and `test_id` pick out, for a request with test id `t-1`.
    #[test]
    fn a_rule_matches_by_key_tag_or_provider_name_model_and_test_id() {
        let catalog =
            crate::Catalog::from_path(Path::new("fixtures/openrouter/google__gemma-4-31b-it.json"))
                .unwrap();
        let request = crate::Request::parse(r#"{"model": "google/gemma-4-31b-it"}"#).unwrap();
        let router = crate::Router::compile(&catalog, &request, &Default::default()).unwrap();
        let matched = |rule: &str| -> Vec<&str> {
            let rule = &Rule::parse_list(rule).unwrap()[0];
            let mut keys: Vec<&str> = router
                .targets()
                .iter()
                .filter(|t| rule.matches(t, Some("t-1")))
                .map(|t| t.endpoint)
                .collect();
            keys.sort();
            keys
        };
        let all = router.targets().len();
        assert_eq!(matched("- { endpoint: '*', status: 502 }").len(), all);
        for (rule, keys) in [
            (
                "- { endpoint: together#2, status: 502 }",
                vec!["together#2"],
            ),
            (
                "- { endpoint: TOGETHER, status: 502 }",
                vec!["together", "together#2"],
            ),
            (
                "- { endpoint: deepinfra, status: 502 }",
                vec!["deepinfra/fp8", "deepinfra/turbo"],
            ),
            (
                "- { endpoint: deepinfra/fp8, status: 502 }",
                vec!["deepinfra/fp8"],
            ),
            ("- { endpoint: coreweave/fp8, status: 502 }", vec![]),
            (
                "- { endpoint: together, model: Google/Gemma-4-31B-it, status: 502 }",
                vec!["together", "together#2"],
            ),
            (
                "- { endpoint: together, model: google/other, status: 502 }",
                vec![],
            ),
            (
                "- { endpoint: together, test_id: t-1, status: 502 }",
                vec!["together", "together#2"],
            ),
            (
                "- { endpoint: together, test_id: t-2, status: 502 }",
                vec![],
            ),
        ] {
            assert_eq!(matched(rule), keys, "{rule}");
        }
    }

    /// A rule of probability p fires when the draw is below p (never at p); one of probability 1
    /// fires without drawing; `times` counts down the firings.
    #[test]
    fn a_rule_fires_below_its_probability_and_counts_down_its_times() {
        let catalog = crate::Catalog::parse(
            "models:\n  - id: a/m\n    endpoints:\n      - { provider: p, pricing: { prompt: 1, completion: 1 } }\n",
        )
        .unwrap();
        let request = crate::Request::parse(r#"{"model": "a/m"}"#).unwrap();
        let router = crate::Router::compile(&catalog, &request, &Default::default()).unwrap();
        let target = &router.targets()[0];
        let half = Rule::parse_list("- { endpoint: p, status: 503, probability: 0.5 }").unwrap();
        let mut faults = Faults::new(half);
        for (draw, fires) in [(0.25, true), (0.5, false), (0.75, false), (0.0, true)] {
            let got = faults.decide(target, None, &mut || draw);
            assert_eq!(got.is_some(), fires, "draw {draw}");
        }
        let twice = Rule::parse_list("- { endpoint: p, status: 429, times: 2 }").unwrap();
        let mut faults = Faults::new(twice);
        let mut never = || -> f64 { panic!("a rule of probability 1 does not draw") };
        assert_eq!(
            faults.decide(target, None, &mut never),
            Some(FaultStatus::Http(429))
        );
        assert_eq!(faults.rules()[0].times, Some(1));
        assert_eq!(
            faults.decide(target, None, &mut never),
            Some(FaultStatus::Http(429))
        );
        assert_eq!(faults.decide(target, None, &mut never), None);
    }
}
