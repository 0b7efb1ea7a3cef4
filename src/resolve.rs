//! Request + account settings -> the decisions every later step reads: the sort in force, the
//! leading tier, the sticky endpoint and which service-tier endpoints are admitted (SPEC
//! sections 4 and 7). The one place each of these is decided; never looks at prices.

use crate::account::Account;
use crate::catalog::{Endpoint, Model, Tier};
use crate::order::Bands;
use crate::request::{Partition, Request, ServiceTier, Sort, SortBy};

/// Settings that are not part of the request: uptime bands, account settings, a sticky endpoint.
///
/// ```
/// let options = routesim::Options { sticky: Some("deepinfra".into()), ..Default::default() };
/// assert_eq!(options.bands.stable, 0.95, "OpenRouter's published threshold by default");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// Uptime thresholds for the stable, degraded and down bands.
    pub bands: Bands,
    /// Account-wide settings (SPEC section 7).
    pub account: Account,
    /// The endpoint a warm prompt cache pins; overrides the account's `sticky`.
    pub sticky: Option<String>,
}

/// What a request and its account settings decide, before any endpoint is looked at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<'r> {
    request: &'r Request,
    account: &'r Account,
    /// Endpoints of this tier go before all others (`service_tier: priority` or `fast`).
    pub(crate) lead_tier: Option<Tier>,
    /// The slug a warm prompt cache pins, unless `order` is set (SPEC section 7).
    pub(crate) sticky: Option<&'r str>,
    /// The variant on `model` that admits tier endpoints: none under `order` or
    /// `service_tier: "default"`, which switch the variants' admission off.
    admitting_variant: Option<SortBy>,
}

impl<'r> Resolved<'r> {
    pub(crate) fn new(request: &'r Request, options: &'r Options) -> Resolved<'r> {
        let account = &options.account;
        let tier = request.service_tier;
        let ordered = request.provider.order.is_some();
        let admitting_variant = match tier {
            _ if ordered => None,
            Some(ServiceTier::Default) => None,
            _ => request.models.first().and_then(|m| m.variant),
        };
        Resolved {
            request,
            account,
            lead_tier: matches!(tier, Some(ServiceTier::Priority | ServiceTier::Fast))
                .then_some(Tier::Priority),
            sticky: match ordered {
                false => options.sticky.as_deref().or(account.sticky.as_deref()),
                true => None,
            },
            admitting_variant,
        }
    }

    /// The account settings in force.
    pub(crate) fn account(&self) -> &'r Account {
        self.account
    }

    /// The sort in force for a pool of endpoints (`has_flex`: whether it has flex endpoints):
    /// `provider.sort`, else what `service_tier` implies (`priority`/`fast`: throughput; `flex`
    /// on a pool with flex endpoints: price), else the variant on `model`, else the account's
    /// `default_sort` when the request sets no `order`.
    pub(crate) fn sort(&self, has_flex: bool) -> Option<Sort> {
        let request = self.request;
        let by_tier = match request.service_tier {
            Some(ServiceTier::Priority | ServiceTier::Fast) => Some(SortBy::Throughput),
            Some(ServiceTier::Flex) if has_flex => Some(SortBy::Price),
            _ => None,
        };
        let default_sort = match request.provider.order {
            None => self.account.default_sort,
            Some(_) => None,
        };
        request
            .provider
            .sort
            .or(by_tier.map(|by| Sort {
                by,
                partition: Partition::Model,
            }))
            .or_else(|| request.sort())
            .or(default_sort)
    }

    /// Which service-tier endpoints of `model` the request admits.
    pub(crate) fn admission(&self, model: &Model) -> Admission<'r> {
        let tier = self.request.service_tier;
        let variant = self.admitting_variant;
        Admission {
            request: self.request,
            priority: matches!(tier, Some(ServiceTier::Priority | ServiceTier::Fast))
                || variant == Some(SortBy::Throughput),
            flex: tier == Some(ServiceTier::Flex) || variant == Some(SortBy::Price),
            flex_only: tier == Some(ServiceTier::Flex)
                && model.endpoints.iter().any(|ep| ep.tier == Some(Tier::Flex)),
        }
    }
}

/// Which service-tier endpoints of one model a request admits (SPEC section 7).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Admission<'r> {
    request: &'r Request,
    priority: bool,
    flex: bool,
    /// `service_tier: "flex"` on a model that has flex endpoints: only those.
    flex_only: bool,
}

impl Admission<'_> {
    /// Whether the endpoint's tier lets it in: default-tier endpoints unless only flex ones are
    /// wanted, tier endpoints when the request asks for their tier or names their exact tag in
    /// `order` or `only`.
    pub(crate) fn admits(&self, ep: &Endpoint) -> bool {
        let prefs = &self.request.provider;
        let named = || {
            prefs.order.iter().chain(&prefs.only).flatten().any(|s| {
                let s = s.trim();
                s.eq_ignore_ascii_case(&ep.tag) || s.eq_ignore_ascii_case(&ep.key)
            })
        };
        match ep.tier {
            None => !self.flex_only,
            Some(Tier::Flex) => self.flex || named(),
            Some(Tier::Priority) => (self.priority && !self.flex_only) || named(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    /// The keys of the first model's endpoints that `request` admits.
    fn admitted(catalog: &Catalog, request: &str) -> Vec<String> {
        let model = &catalog.models[0];
        let request = Request::parse(request).unwrap();
        let options = Options::default();
        let admission = Resolved::new(&request, &options).admission(model);
        model
            .endpoints
            .iter()
            .filter(|ep| admission.admits(ep))
            .map(|ep| ep.key.clone())
            .collect()
    }

    fn resolved_sort(request: &str, account: &str, has_flex: bool) -> Option<SortBy> {
        let request = Request::parse(request).unwrap();
        let options = Options {
            account: Account::parse(account).unwrap(),
            ..Options::default()
        };
        Resolved::new(&request, &options)
            .sort(has_flex)
            .map(|s| s.by)
    }

    #[test]
    fn the_sort_in_force_follows_the_precedence_of_section_7() {
        let price = Some(SortBy::Price);
        let throughput = Some(SortBy::Throughput);
        let cases = [
            // (request, account, pool has flex endpoints, sort in force)
            (r#"{"model":"m"}"#, "{}", false, None),
            (r#"{"model":"m"}"#, "default_sort: price", false, price),
            (
                r#"{"model":"m","provider":{"order":["a"]}}"#,
                "default_sort: price",
                false,
                None,
            ),
            (
                r#"{"model":"m:nitro"}"#,
                "default_sort: price",
                false,
                throughput,
            ),
            (
                r#"{"model":"m:nitro","provider":{"sort":"price"}}"#,
                "{}",
                false,
                price,
            ),
            (
                r#"{"model":"m:floor","service_tier":"priority"}"#,
                "{}",
                false,
                throughput,
            ),
            (r#"{"model":"m","service_tier":"flex"}"#, "{}", true, price),
            (r#"{"model":"m","service_tier":"flex"}"#, "{}", false, None),
            (
                r#"{"model":"m:nitro","service_tier":"flex"}"#,
                "{}",
                false,
                throughput,
            ),
        ];
        for (request, account, has_flex, want) in cases {
            assert_eq!(
                resolved_sort(request, account, has_flex),
                want,
                "{request} with {account}, flex endpoints: {has_flex}"
            );
        }
    }

    #[test]
    fn sticky_is_dropped_under_order_and_the_option_beats_the_account() {
        let options = Options {
            account: Account::parse("sticky: b").unwrap(),
            sticky: Some("a".into()),
            ..Options::default()
        };
        let plain = Request::parse(r#"{"model":"m"}"#).unwrap();
        assert_eq!(Resolved::new(&plain, &options).sticky, Some("a"));
        let account_only = Options {
            sticky: None,
            ..options.clone()
        };
        assert_eq!(Resolved::new(&plain, &account_only).sticky, Some("b"));
        let ordered = Request::parse(r#"{"model":"m","provider":{"order":["a"]}}"#).unwrap();
        assert_eq!(Resolved::new(&ordered, &options).sticky, None);
    }

    #[test]
    fn a_tier_endpoint_is_admitted_by_its_tag_or_by_its_own_key() {
        let catalog = Catalog::parse(
            r#"{"data": {"id": "m", "endpoints": [
            {"tag": "a/priority", "pricing": {"prompt": "1", "completion": "1"}},
            {"tag": "a/priority", "pricing": {"prompt": "2", "completion": "2"}}]}}"#,
        )
        .unwrap();
        assert_eq!(
            admitted(
                &catalog,
                r#"{"model":"m","provider":{"only":["a/priority"]}}"#
            ),
            ["a/priority", "a/priority#2"]
        );
        assert_eq!(
            admitted(
                &catalog,
                r#"{"model":"m","provider":{"order":["A/Priority#2"]}}"#
            ),
            ["a/priority#2"]
        );
    }

    #[test]
    fn variants_admit_their_tier_unless_order_or_the_default_tier_switch_them_off() {
        let catalog = Catalog::parse(
            "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: a, tag: a/priority, tier: priority, pricing: { prompt: 2, completion: 2 } }\n      - { provider: a, tag: a/flex, tier: flex, pricing: { prompt: 0.5, completion: 0.5 } }\n",
        )
        .unwrap();
        assert_eq!(admitted(&catalog, r#"{"model":"m"}"#), ["a"]);
        assert_eq!(
            admitted(&catalog, r#"{"model":"m:nitro"}"#),
            ["a", "a/priority"]
        );
        assert_eq!(
            admitted(&catalog, r#"{"model":"m:floor"}"#),
            ["a", "a/flex"]
        );
        assert_eq!(
            admitted(&catalog, r#"{"model":"m:nitro","service_tier":"default"}"#),
            ["a"]
        );
        assert_eq!(
            admitted(
                &catalog,
                r#"{"model":"m:floor","provider":{"order":["a/flex"]}}"#
            ),
            ["a", "a/flex"],
            "order switches the variant off but its exact tag still admits"
        );
        assert_eq!(
            admitted(
                &catalog,
                r#"{"model":"m:nitro","provider":{"order":["a"]}}"#
            ),
            ["a"]
        );
        assert_eq!(
            admitted(&catalog, r#"{"model":"m","service_tier":"flex"}"#),
            ["a/flex"]
        );
        assert_eq!(
            admitted(&catalog, r#"{"model":"m","service_tier":"priority"}"#),
            ["a", "a/priority"]
        );
    }

    #[test]
    fn service_tier_flex_on_a_model_without_flex_endpoints_keeps_the_default_tier() {
        let catalog = Catalog::parse(
            "models:\n  - id: m\n    endpoints:\n      - { provider: a, pricing: { prompt: 1, completion: 1 } }\n      - { provider: a, tag: a/priority, tier: priority, pricing: { prompt: 2, completion: 2 } }\n",
        )
        .unwrap();
        assert_eq!(
            admitted(&catalog, r#"{"model":"m","service_tier":"flex"}"#),
            ["a"],
            "no flex endpoint to keep to: the default tier stays, priority is not asked for"
        );
    }
}
