//! Account settings that change routing without appearing in the request body (SPEC section 7):
//! account-wide ignore and allow lists, ZDR, data policy, a default sort, BYOK providers and a
//! sticky endpoint.

use crate::catalog::DataCollection;
use crate::error::Error;
use crate::parse;
use crate::request::MAX_REQUEST_BYTES;
use crate::request::{Partition, Sort, SortBy};
use crate::yaml::{Text, texts};
use serde::Deserialize;
use std::io::Read;
use std::path::Path;

/// An account's routing settings. Every field is optional; the default changes nothing.
///
/// ```
/// let account = routesim::Account::parse("ignore: [novita]\nzdr: true\nbyok: [google-vertex]\n").unwrap();
/// assert_eq!(account.ignore, ["novita"]);
/// assert!(account.zdr);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// Providers ignored account-wide: united with the request's `ignore`.
    pub ignore: Vec<String>,
    /// Providers allowed account-wide: a ceiling that the request's `only` narrows.
    pub only: Option<Vec<String>>,
    /// OR-ed with the request's `zdr`.
    pub zdr: bool,
    /// `Deny` here or in the request means deny.
    pub data_collection: DataCollection,
    /// Applies when the request sets no sort, no order and no variant.
    pub default_sort: Option<Sort>,
    /// Providers (or endpoints) for which the account brings its own key: tried first.
    pub byok: Vec<String>,
    /// The endpoint a warm prompt cache pins (moved to the front unless `order` is set).
    pub sticky: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(remote = "Self")]
struct RawAccount {
    ignore: Option<Vec<Text>>,
    only: Option<Vec<Text>>,
    zdr: Option<bool>,
    data_collection: Option<DataCollection>,
    default_sort: Option<SortBy>,
    byok: Option<Vec<Text>>,
    sticky: Option<Text>,
}

parse::map_only!(RawAccount, "struct RawAccount");

impl Account {
    /// Parses an account file (YAML or JSON). An empty document is an empty account.
    ///
    /// Text over [`MAX_REQUEST_BYTES`] is refused. Errors name no file;
    /// [`Account::from_path`] and [`Account::from_reader`] name theirs.
    pub fn parse(text: &str) -> Result<Account, Error> {
        parse::check_size(text, MAX_REQUEST_BYTES, "account file")?;
        if text.trim().is_empty() {
            return Ok(Account::default());
        }
        let raw: RawAccount = parse::from_str(text, MAX_REQUEST_BYTES, "account file")?;
        Ok(Account {
            ignore: raw.ignore.map(texts).unwrap_or_default(),
            only: raw.only.map(texts),
            zdr: raw.zdr.unwrap_or(false),
            data_collection: raw.data_collection.unwrap_or_default(),
            default_sort: raw.default_sort.map(|by| Sort {
                by,
                partition: Partition::Model,
            }),
            byok: raw.byok.map(texts).unwrap_or_default(),
            sticky: raw.sticky.map(|t| t.0),
        })
    }

    /// Reads and parses the account file at `path`, refusing a file over
    /// [`MAX_REQUEST_BYTES`] without reading it whole. Every error names the file as `path`
    /// displays.
    ///
    /// ```
    /// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/account.yaml");
    /// let account = routesim::Account::from_path(path.as_ref()).unwrap();
    /// assert!(!account.ignore.is_empty());
    /// ```
    pub fn from_path(path: &Path) -> Result<Account, Error> {
        parse::from_path(path, MAX_REQUEST_BYTES, Account::parse)
    }

    /// Reads an account file from `reader` to its end and parses it, as
    /// [`Account::from_path`] does a file; every error names the source `name`.
    ///
    /// ```
    /// let err = routesim::Account::from_reader(&b"zdr: maybe\n"[..], "account.yaml").unwrap_err();
    /// assert_eq!((err.file(), err.field(), err.line()), (Some("account.yaml"), Some("zdr"), Some(1)));
    /// ```
    pub fn from_reader(reader: impl Read, name: &str) -> Result<Account, Error> {
        parse::from_reader(reader, name, MAX_REQUEST_BYTES, Account::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_account_fields_are_errors_naming_them() {
        let err = Account::parse("ignore: [a]\nbyk: [b]\n").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("byk") && message.contains("byok"),
            "{}",
            message
        );
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn default_sort_accepts_the_sort_keys_only() {
        let a = Account::parse("default_sort: price").unwrap();
        assert_eq!(a.default_sort.map(|s| s.by), Some(SortBy::Price));
        assert!(Account::parse("default_sort: cheapest").is_err());
    }
}
