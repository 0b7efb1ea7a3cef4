//! Exact prices and costs (SPEC section 8): amounts of US dollars as integers of 10^-24 USD,
//! read from the decimal text a file spells, added and compared exactly, printed as the decimal
//! they are. Never goes through binary floating point, except [`Money::to_f64`] for weights.
//!
//! Why integers of 10^-24 USD rather than a decimal crate: a listing prices tokens in strings
//! with up to 21 decimal places (`"0.000005500000000000001"`), and a cost multiplies such a
//! price by a token count. At a fixed scale of 24 places every price the loaders accept, every
//! sum of prices and every cost for up to [`MAX_USAGE_TOKENS`] tokens is an exact `u128`
//! (adding and comparing are one machine operation each), while a general decimal type rounds
//! silently once a product needs more than its 28 digits. The bound is stated instead:
//! amounts up to [`Money::MAX_INPUT`] (10^9 USD), prices per million tokens with at most 18
//! decimal places, so that one token's share of them is exact too.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Decimal places of a [`Money`] unit: one unit is 10^-24 USD.
const SCALE: u32 = 24;
/// One US dollar in units.
const ONE: u128 = 10u128.pow(SCALE);

/// The most tokens a `usage_estimate` may give per count: 10^11. With every price at most
/// [`Money::MAX_INPUT`], a cost for this many tokens still fits a [`Money`] exactly.
pub const MAX_USAGE_TOKENS: u64 = 100_000_000_000;

/// An exact, non-negative amount of US dollars (a price, a fee, a cost).
///
/// Stored as an integer number of 10^-24 USD, so amounts add and compare exactly: `1.10 + 4.10`
/// equals `1.25 + 3.95`, and `5.500000000000001` is more than `5.5`. Parsed from decimal text
/// (`"0.0000011"`, `2.65`, `1e-7`), printed as the shortest decimal that is exactly the amount
/// (`0.00263326775`, never `0.0026332677500000004`), and serialized with serde_json as a JSON
/// number spelled the same way.
///
/// ```
/// use routesim::Money;
/// let a: Money = "1.10".parse().unwrap();
/// let b: Money = "4.10".parse().unwrap();
/// let c: Money = "1.25".parse().unwrap();
/// let d: Money = "3.95".parse().unwrap();
/// assert_eq!(a.saturating_add(b), c.saturating_add(d), "exact sums tie");
/// assert!("5.500000000000001".parse::<Money>().unwrap() > "5.5".parse().unwrap());
/// assert_eq!(a.saturating_add(b).to_string(), "5.2");
/// assert_eq!(serde_json::to_string(&a).unwrap(), "1.1");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(u128);

impl Money {
    /// Nothing: free endpoints cost this.
    pub const ZERO: Money = Money(0);

    /// The largest amount a `Money` holds (about 3.4 x 10^14 USD): where sums saturate.
    pub const MAX: Money = Money(u128::MAX);

    /// The largest amount a catalog, a listing or a request may give: 10^9 USD. Larger ones
    /// are refused with an error naming the field (no real price comes near it).
    pub const MAX_INPUT: Money = Money(1_000_000_000 * ONE);

    /// The amount `digits x 10^-places` USD, or `None` when `places` is over 24 or the amount
    /// does not fit.
    ///
    /// ```
    /// use routesim::Money;
    /// assert_eq!(Money::from_decimal(265, 2), Some("2.65".parse().unwrap()));
    /// assert_eq!(Money::from_decimal(1, 25), None, "finer than 10^-24 USD");
    /// ```
    pub fn from_decimal(digits: u128, places: u32) -> Option<Money> {
        let scale = 10u128.checked_pow(SCALE.checked_sub(places)?)?;
        digits.checked_mul(scale).map(Money)
    }

    /// The amount nearest to `value` at 24 decimal places, or `None` for a negative or
    /// non-finite value or one too large to hold.
    ///
    /// For numbers computed in binary floating point (an expectation over probabilities,
    /// generated test catalogs); prices read from files never come through here.
    ///
    /// ```
    /// use routesim::Money;
    /// assert_eq!(Money::from_f64(0.5), Some("0.5".parse().unwrap()));
    /// assert_eq!(Money::from_f64(-1.0), None);
    /// ```
    pub fn from_f64(value: f64) -> Option<Money> {
        // The range refuses NaN and the infinities too: every comparison with NaN is false.
        if !(0.0..1e14).contains(&value) {
            return None;
        }
        if value == 0.0 {
            // -0.0 as well, which would be formatted with its sign.
            return Some(Money::ZERO);
        }
        // Formatting with a fixed precision rounds the exact binary value correctly.
        let text = format!("{value:.24}");
        let (int, frac) = text.split_once('.')?;
        let int: u128 = int.parse().ok()?;
        let frac: u128 = frac.parse().ok()?;
        int.checked_mul(ONE)?.checked_add(frac).map(Money)
    }

    /// The nearest `f64`, for the weights of the random draw (`1 / price^2`) and statistics.
    ///
    /// ```
    /// assert_eq!("2.65".parse::<routesim::Money>().unwrap().to_f64(), 2.65);
    /// ```
    pub fn to_f64(self) -> f64 {
        // Fast path (Clinger's): `digits / 10^places` with both exact in f64 (digits below
        // 2^53, places at most 22) is one correctly rounded division. Prices with at most 6
        // decimal places per million tokens, nearly all real ones, take it when a request is
        // compiled. Both paths give the same result, so mutants that only send more amounts to
        // the slow one (`<` to `==`, `<<` to `>>`) or 2^53 itself to this one (`<=`, exact in
        // f64) change speed, not results.
        if self.0 % const { 10u128.pow(18) } == 0 {
            let digits = div_exact_pow10::<18>(self.0);
            if digits < 1 << 53 {
                return digits as u64 as f64 / 1e6;
            }
        }
        self.to_f64_slow()
    }

    #[cold]
    fn to_f64_slow(self) -> f64 {
        let (mut digits, mut places) = (self.0, SCALE);
        strip_zeros::<16>(&mut digits, &mut places);
        strip_zeros::<8>(&mut digits, &mut places);
        strip_zeros::<4>(&mut digits, &mut places);
        strip_zeros::<2>(&mut digits, &mut places);
        strip_zeros::<1>(&mut digits, &mut places);
        // As in `to_f64`, sending more amounts through the text (`<` to `==`, `<<` to `>>`) or
        // 2^53 itself through the division (`<=`) changes speed only.
        if digits < 1 << 53 && places <= 22 {
            return digits as u64 as f64 / 10f64.powi(places as i32);
        }
        // Otherwise through the decimal text, which Rust's float parser rounds correctly,
        // written into a stack buffer (at most 15 + 1 + 24 bytes).
        let mut buf = StackText::default();
        let _ = fmt::Write::write_fmt(&mut buf, format_args!("{self}"));
        buf.as_str().parse().unwrap_or(f64::MAX)
    }

    /// Whether the amount is zero.
    ///
    /// ```
    /// assert!(routesim::Money::ZERO.is_zero());
    /// ```
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The sum, or `None` past the largest amount a `Money` holds (about 3.4 x 10^14 USD).
    ///
    /// ```
    /// use routesim::Money;
    /// let a = Money::from_decimal(1, 0).unwrap();
    /// assert_eq!(a.checked_add(a), Money::from_decimal(2, 0));
    /// ```
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// The sum, held at the largest amount a `Money` holds rather than overflowing. Amounts read
    /// from files are bounded by [`Money::MAX_INPUT`], so their sums never reach it.
    ///
    /// ```
    /// use routesim::Money;
    /// let cent = Money::from_decimal(1, 2).unwrap();
    /// assert_eq!(cent.saturating_add(cent).to_string(), "0.02");
    /// ```
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// What `tokens` tokens cost at this price per million tokens, or `None` when it does not
    /// fit. Exact when the price has at most 18 decimal places, as every price a loader reads
    /// has; finer prices are rounded to the nearest 10^-24 USD, halves up.
    ///
    /// ```
    /// use routesim::Money;
    /// let per_million: Money = "5.500000000000001".parse().unwrap();
    /// assert_eq!(per_million.per_million(1000).unwrap().to_string(), "0.005500000000000001");
    /// ```
    pub fn per_million(self, tokens: u64) -> Option<Money> {
        // A price with at most 18 decimal places (every parsed one) divides exactly. The rounded
        // path gives the same amount for it, only slower: a mutant that skips this one (`%` to
        // `+`) changes speed, not results.
        if self.0 % 1_000_000 == 0 {
            return div_exact_pow10::<6>(self.0)
                .checked_mul(u128::from(tokens))
                .map(Money);
        }
        self.per_million_rounded(tokens)
    }

    #[cold]
    fn per_million_rounded(self, tokens: u64) -> Option<Money> {
        let tokens = u128::from(tokens);
        // Whole millionths of the price first, so the product stays in range up to the bounds.
        let (whole, rest) = (self.0 / 1_000_000, self.0 % 1_000_000);
        let fine = rest * tokens; // below 10^6 x 2^64
        let (q, r) = (fine / 1_000_000, fine % 1_000_000);
        whole
            .checked_mul(tokens)?
            .checked_add(q + u128::from(r >= 500_000))
            .map(Money)
    }

    /// The amount rounded to `digits` significant digits (at least 1), halves away from zero;
    /// amounts with no more digits than that (counting down to 10^-24 USD) are returned as they
    /// are.
    ///
    /// ```
    /// use routesim::Money;
    /// let m: Money = "0.0026332677500000004".parse().unwrap();
    /// assert_eq!(m.round_significant(12).to_string(), "0.00263326775");
    /// ```
    pub fn round_significant(self, digits: u32) -> Money {
        Money(round_significant(self.0, 0, 1, digits.max(1)))
    }

    /// The mean of `count` copies of each amount over `n` (`n` at least the sum of the counts,
    /// the other samples costing nothing), computed exactly and rounded to 12 significant
    /// digits (SPEC section 8); zero when `n` is 0.
    pub(crate) fn mean(counts: impl IntoIterator<Item = (u64, Money)>, n: u64) -> Money {
        if n == 0 {
            return Money::ZERO;
        }
        let mut total = Wide::default();
        for (count, amount) in counts {
            total.add_product(amount.0, count);
        }
        let (quotient, remainder) = total.div(n);
        Money(round_significant(
            quotient,
            remainder,
            n,
            MEAN_SIGNIFICANT_DIGITS,
        ))
    }

    /// Parses decimal text times `10^shift` (6 turns a per-token price into one per million
    /// tokens), allowing at most `places` decimal places once shifted. The message says what
    /// was expected and quotes `shown`, the text as the file wrote it.
    pub(crate) fn parse_scaled(
        text: &str,
        shift: u32,
        places: u32,
        shown: &str,
    ) -> Result<Money, String> {
        let refuse = |why: &str| Err(format!("expected {why}, found {shown}"));
        let Some(decimal) = Decimal::parse(text.trim()) else {
            return refuse("a non-negative decimal number");
        };
        if decimal.negative && decimal.digits != 0 {
            return refuse("a non-negative price");
        }
        let exponent = i64::from(decimal.exponent) + i64::from(shift);
        if decimal.digits != 0 && -exponent > i64::from(places) {
            return refuse(&format!("a price with at most {places} decimal places"));
        }
        let too_large = || format!("expected a price of at most 10^9 USD, found {shown}");
        let units = if decimal.digits == 0 {
            0
        } else {
            let power = u32::try_from(exponent + i64::from(SCALE)).map_err(|_| too_large())?;
            10u128
                .checked_pow(power)
                .and_then(|p| decimal.digits.checked_mul(p))
                .ok_or_else(too_large)?
        };
        if units > Money::MAX_INPUT.0 {
            return Err(too_large());
        }
        Ok(Money(units))
    }
}

/// The inverse of an odd `d` modulo 2^128 (Newton's iteration: each step doubles the bits that
/// are right, from the 3 that `d` itself gets right: 6 steps give 192 >= 128; a seventh, as a
/// `<=` mutant of the loop makes, changes nothing).
const fn inverse(d: u128) -> u128 {
    let mut x = d;
    let mut i = 0;
    while i < 6 {
        x = x.wrapping_mul(2u128.wrapping_sub(d.wrapping_mul(x)));
        i += 1;
    }
    x
}

/// `x / 10^K` for an `x` that 10^K divides, by a shift and a multiplication: a `u128` division
/// is a call into compiler-rt, several times slower, and compiling a request converts every
/// price to `f64` and computes every cost.
fn div_exact_pow10<const K: u32>(x: u128) -> u128 {
    const { assert!(K <= 24) };
    let inverse_of_5k: u128 = const { inverse(5u128.pow(K)) };
    debug_assert!(x % 10u128.pow(K) == 0, "only exact divisions");
    (x >> K).wrapping_mul(inverse_of_5k)
}

/// Moves `K` trailing zeros of `digits` into `places` when it has them (and `places` allows).
fn strip_zeros<const K: u32>(digits: &mut u128, places: &mut u32) {
    // A remainder by a constant compiles to multiplications; only the division would not.
    // Stripping less (`>=` to `<`, or not at all) or miscounting the places upwards (`-=` to `+=`) only sends
    // the amount to `to_f64_slow`'s text path, which is exact too: speed, not results.
    if *places >= K && *digits % const { 10u128.pow(K) } == 0 {
        *digits = div_exact_pow10::<K>(*digits);
        *places -= K;
    }
}

/// Significant digits of a mean (SPEC section 8).
const MEAN_SIGNIFICANT_DIGITS: u32 = 12;

/// `(quotient + remainder / n)` units rounded to `digits` significant digits, halves up; a value
/// of no more digits is rounded to the unit instead.
fn round_significant(quotient: u128, remainder: u64, n: u64, digits: u32) -> u128 {
    debug_assert!(remainder < n.max(1));
    let length = quotient.checked_ilog10().map_or(0, |l| l + 1);
    if length <= digits {
        // The fraction of a unit: half or more rounds up.
        return quotient + u128::from(u128::from(remainder) * 2 >= u128::from(n));
    }
    let step = 10u128.pow(length - digits);
    let (kept, dropped) = (quotient / step, quotient % step);
    // `step` is even, so the remainder below a unit never decides a tie: up iff dropped >= step/2.
    // Saturating: rounding up the largest amounts would pass u128::MAX.
    (kept + u128::from(dropped * 2 >= step)).saturating_mul(step)
}

/// A small text buffer on the stack, for formatting an amount without allocating.
struct StackText {
    bytes: [u8; 72],
    len: usize,
}

impl Default for StackText {
    fn default() -> StackText {
        StackText {
            bytes: [0; 72],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A 256-bit unsigned accumulator for sums of `amount x count` (up to 2^128 x 2^64 each).
#[derive(Default)]
struct Wide([u64; 4]);

impl Wide {
    fn add_product(&mut self, amount: u128, count: u64) {
        let count = u128::from(count);
        let low = (amount as u64 as u128) * count;
        let high = (amount >> 64) * count;
        self.add_at(0, low);
        self.add_at(1, high);
    }

    /// Adds `value x 2^(64 x limb)`.
    fn add_at(&mut self, limb: usize, value: u128) {
        let mut carry = value;
        for slot in &mut self.0[limb..] {
            if carry == 0 {
                break;
            }
            let sum = u128::from(*slot) + (carry as u64 as u128);
            *slot = sum as u64;
            carry = (carry >> 64) + (sum >> 64);
        }
    }

    /// Quotient and remainder of division by `n` (positive); the quotient of a mean is at most
    /// the largest amount summed, so it fits 128 bits (higher bits are dropped).
    fn div(&self, n: u64) -> (u128, u64) {
        let n = u128::from(n);
        let mut quotient = [0u64; 4];
        let mut rest: u128 = 0;
        for i in (0..4).rev() {
            // The low 64 bits of `rest << 64` are zero: `|` and `^` (a mutant) are the same here.
            let cur = (rest << 64) | u128::from(self.0[i]);
            quotient[i] = (cur / n) as u64;
            rest = cur % n;
        }
        debug_assert!(quotient[2] == 0 && quotient[3] == 0, "a mean fits 128 bits");
        (
            // Disjoint bits again: `^` for `|` is the same.
            u128::from(quotient[0]) | (u128::from(quotient[1]) << 64),
            rest as u64,
        )
    }
}

/// Decimal text as `digits x 10^exponent`, trailing zeros of `digits` moved into the exponent.
struct Decimal {
    negative: bool,
    digits: u128,
    exponent: i32,
}

impl Decimal {
    /// `[+-]digits[.digits][(e|E)[+-]digits]`, at least one digit before the exponent; `None`
    /// for anything else (`NaN`, `inf`, `0x10`, `1_000`) or more than 38 significant digits.
    fn parse(text: &str) -> Option<Decimal> {
        let (negative, rest) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        let mut exponent: i64 = match exp_text {
            None => 0,
            Some(e) => {
                // At most 6 digits after the sign; `i64`'s parser refuses an empty exponent,
                // a second sign and anything but ASCII digits.
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.len() > 6 {
                    return None;
                }
                e.parse().ok()?
            }
        };
        exponent -= frac.len() as i64;
        let significant = format!("{int}{frac}");
        let significant = significant.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        exponent += (significant.len() - trimmed.len()) as i64;
        if trimmed.len() > 38 {
            return None;
        }
        let digits: u128 = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().ok()?
        };
        Some(Decimal {
            negative,
            digits,
            exponent: i32::try_from(exponent).ok()?,
        })
    }
}

/// Why text is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseMoneyError(String);

impl fmt::Display for ParseMoneyError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseMoneyError {}

impl FromStr for Money {
    type Err = ParseMoneyError;

    /// Parses non-negative decimal text with at most 24 decimal places, up to
    /// [`Money::MAX_INPUT`]; an exponent (`1e-7`) is allowed.
    fn from_str(text: &str) -> Result<Money, ParseMoneyError> {
        Money::parse_scaled(text, 0, SCALE, &format!("{text:?}")).map_err(ParseMoneyError)
    }
}

impl fmt::Display for Money {
    /// The exact decimal: no exponent, no trailing zeros (`2.65`, `0.00263326775`, `3`).
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let (int, frac) = (self.0 / ONE, self.0 % ONE);
        if frac == 0 {
            return write!(f, "{int}");
        }
        let mut digits = StackText::default();
        fmt::Write::write_fmt(&mut digits, format_args!("{frac:024}"))?;
        write!(f, "{int}.{}", digits.as_str().trim_end_matches('0'))
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Money({self})")
    }
}

impl Serialize for Money {
    /// A JSON number spelled as [`Display`](fmt::Display) prints it, through serde_json's raw
    /// values (other serializers see serde_json's raw-value wrapper).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// serde_json's name for a raw value: asked for a newtype struct of this name, serde_json
/// (feature `raw_value`) hands over the value's text as written, number or string; any other
/// deserializer treats it as a plain newtype struct.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// Reads a price as the text the file spells (SPEC section 8: "read as the decimal they spell")
/// and parses it with `parse(text, shown)`, where `shown` is the text quoted for messages.
///
/// JSON numbers and strings come from serde_json as their raw text; YAML scalars, which
/// serde_yaml hands over as text when asked for a string, likewise. The error is raised inside
/// the field's own deserialization, so it carries the field's path and line.
pub(crate) fn deserialize_literal<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    parse: fn(&str, &str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_newtype_struct(RAW_VALUE_TOKEN, Literal { expecting, parse })
}

struct Literal<T> {
    expecting: &'static str,
    parse: fn(&str, &str) -> Result<T, String>,
}

impl<'de, T> Visitor<'de> for Literal<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    /// serde_json's raw value: one entry whose value is the JSON text.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        if map.next_key::<IgnoredAny>()?.is_none() {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        }
        let raw: String = map.next_value()?;
        if raw.starts_with('"') {
            let text: String = serde_json::from_str(&raw).map_err(de::Error::custom)?;
            (self.parse)(&text, &raw).map_err(de::Error::custom)
        } else if raw.starts_with(['-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
            (self.parse)(&raw, &raw).map_err(de::Error::custom)
        } else {
            let kind = match raw.as_bytes().first() {
                Some(b'{') => "map",
                Some(b'[') => "sequence",
                _ => raw.as_str(),
            };
            Err(de::Error::custom(format_args!(
                "invalid type: {kind}, expected {}",
                self.expecting
            )))
        }
    }

    /// Any deserializer but serde_json: ask for the scalar's text.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        // A YAML scalar may have been plain or quoted; numbers show as numbers, words quoted.
        let numeric = !v.is_empty() && v.bytes().all(|b| b"0123456789.eE+-".contains(&b));
        let shown = if numeric {
            v.to_string()
        } else {
            format!("{v:?}")
        };
        (self.parse)(v, &shown).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        let text = v.to_string();
        (self.parse)(&text, &text).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        let text = v.to_string();
        (self.parse)(&text, &text).map_err(E::custom)
    }

    /// Formats that hand over only a binary number: its shortest round-trip decimal.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        let text = v.to_string();
        (self.parse)(&text, &text).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str) -> Money {
        text.parse().unwrap()
    }

    #[test]
    fn listing_strings_parse_exactly_to_per_million_prices() {
        let p = Money::parse_scaled("0.000005500000000000001", 6, 18, "x").unwrap();
        assert_eq!(p.to_string(), "5.500000000000001");
        assert!(p > m("5.5"), "one part in 10^16 more is more");
        assert_eq!(
            Money::parse_scaled("0.0000011", 6, 18, "x").unwrap(),
            m("1.1")
        );
        assert_eq!(Money::parse_scaled("2e-7", 6, 18, "x").unwrap(), m("0.2"));
        assert_eq!(Money::parse_scaled("0", 6, 18, "x").unwrap(), Money::ZERO);
        assert_eq!(
            Money::parse_scaled("-0", 6, 18, "x").unwrap(),
            Money::ZERO,
            "negative zero is zero"
        );
    }

    #[test]
    fn decimal_text_forms() {
        assert_eq!(m("+1.50"), m("1.5"));
        assert_eq!(m(".5"), m("0.5"));
        assert_eq!(m("5."), m("5"));
        assert_eq!(m("1E2"), m("100"));
        assert_eq!(m("  2.65 "), m("2.65"));
        assert_eq!(m("000.000"), Money::ZERO);
        assert_eq!(m("0e100000"), Money::ZERO, "exponents of up to 6 digits");
        assert_eq!(m("1E-000006"), m("0.000001"));
        for bad in [
            "",
            ".",
            "e5",
            "1e",
            "1.2.3",
            "NaN",
            "inf",
            ".nan",
            "0x10",
            "1_000",
            "1e+",
            "1.+5",
            "+1.+5",
            "1.-5",
            "+2.+0",
            "++5",
            ".+5",
            "-.+5",
            "1e++5",
            "1e+-5",
            "1e 5",
            "1e5x",
            "0e1000000",
        ] {
            assert!(bad.parse::<Money>().is_err(), "{bad:?} is not a decimal");
        }
    }

    #[test]
    fn refusals_say_why_and_quote_the_text() {
        let e = |t: &str| t.parse::<Money>().unwrap_err().to_string();
        assert_eq!(
            e("-1"),
            "expected a non-negative price, found \"-1\"",
            "negative"
        );
        assert!(e("free").contains("decimal number"), "{}", e("free"));
        assert!(e("1e-25").contains("at most 24 decimal places"));
        assert!(e("1000000000.000000000000000001").contains("at most 10^9 USD"));
        assert!(e("1e308").contains("at most 10^9 USD"));
        assert_eq!(m("1e9"), Money::MAX_INPUT, "the bound itself is allowed");
        let fine = Money::parse_scaled("0.0000000000000000000000001", 6, 18, "x");
        assert!(fine.unwrap_err().contains("at most 18 decimal places"));
    }

    #[test]
    fn display_is_the_exact_decimal() {
        assert_eq!(m("0.00263326775").to_string(), "0.00263326775");
        assert_eq!(m("3.000").to_string(), "3");
        assert_eq!(Money::ZERO.to_string(), "0");
        assert_eq!(
            m("0.000000000000000000000001").to_string(),
            "1e-24".parse::<Money>().unwrap().to_string()
        );
        assert_eq!(m("1e-24").to_string(), "0.000000000000000000000001");
        assert_eq!(m("1000000000").to_string(), "1000000000");
    }

    #[test]
    fn sums_tie_exactly_where_binary_floats_do_not() {
        assert_ne!(1.10 + 4.10, 1.25 + 3.95, "the premise: f64 sums differ");
        assert_eq!(
            m("1.10").saturating_add(m("4.10")),
            m("1.25").saturating_add(m("3.95"))
        );
    }

    #[test]
    fn per_million_costs_are_exact_and_round_finer_prices_half_up() {
        // z-ai/glm-5.2 at 1000 + 500 tokens: 1000 x 1.1 / 10^6 + 500 x 4.1 / 10^6.
        let cost = m("1.1")
            .per_million(1000)
            .unwrap()
            .saturating_add(m("4.1").per_million(500).unwrap());
        assert_eq!(cost.to_string(), "0.00315");
        assert_eq!(
            m("0.000000000000000001").per_million(1).unwrap(),
            m("1e-24")
        );
        assert_eq!(
            m("0.0000000000000000005").per_million(1).unwrap(),
            m("1e-24"),
            "half up"
        );
        assert_eq!(
            m("0.0000000000000000004").per_million(1).unwrap(),
            Money::ZERO
        );
        // Whole millionths and the finer rest of the price, each times the tokens: 3 x
        // 1.0000000000000000005 / 10^6 = 3.0000000000000000015e-6, half up to ...002.
        assert_eq!(
            m("1.0000000000000000005").per_million(3).unwrap(),
            m("0.000003000000000000000002")
        );
        let most = Money::MAX_INPUT.per_million(MAX_USAGE_TOKENS).unwrap();
        assert_eq!(
            most.to_string(),
            "100000000000000",
            "the bounds keep every cost in range"
        );
        assert!(
            most.saturating_add(most)
                .checked_add(Money::MAX_INPUT)
                .is_some()
        );
        assert_eq!(Money::MAX_INPUT.per_million(u64::MAX), None);
    }

    #[test]
    fn means_are_exact_then_rounded_to_twelve_significant_digits() {
        // Two requests at 0.0026332677 and 0.0026332678: the exact mean 0.00263326775.
        let mean = Money::mean([(1, m("0.0026332677")), (1, m("0.0026332678"))], 2);
        assert_eq!(mean.to_string(), "0.00263326775");
        // A third of 1 USD: 12 significant digits.
        assert_eq!(Money::mean([(1, m("1"))], 3).to_string(), "0.333333333333");
        assert_eq!(Money::mean([(2, m("1"))], 3).to_string(), "0.666666666667");
        assert_eq!(Money::mean([(1, m("5"))], 0), Money::ZERO, "no requests");
        // Below 10^-12 USD the unit (10^-24 USD) bounds the rounding, halves up.
        assert_eq!(Money::mean([(1, m("1e-24"))], 2), m("1e-24"));
        assert_eq!(Money::mean([(1, m("1e-24"))], 3), Money::ZERO);
        // Counts and amounts past 128 bits when multiplied: the wide sum still divides exactly.
        let big = Money::MAX_INPUT.per_million(MAX_USAGE_TOKENS).unwrap();
        let n = u64::MAX;
        assert_eq!(Money::mean([(n, big)], n), big);
        assert_eq!(Money::mean([(n / 2, big), (n - n / 2, big)], n), big);
    }

    #[test]
    fn rounding_to_significant_digits_carries() {
        assert_eq!(m("9.9999999999995").round_significant(12), m("10"));
        assert_eq!(
            m("9.999999999994").round_significant(12),
            m("9.99999999999")
        );
        assert_eq!(m("123").round_significant(1), m("100"));
        assert_eq!(
            m("0.5").round_significant(0),
            m("0.5"),
            "at least one digit"
        );
    }

    #[test]
    fn f64_conversions_are_the_nearest_double_on_both_paths() {
        for text in [
            "0",
            "1",
            "2.65",
            "0.00263326775",
            "5.500000000000001",
            "38.500000000000001",
            "0.000000000000000001",
            "1e-24",
            "123456789.123456789012345678",
            "1000000000",
            "0.1",
            "0.3",
            "4.06",
            "5.2",
        ] {
            let want: f64 = text.parse().unwrap();
            assert_eq!(m(text).to_f64(), want, "{text}");
        }
        let most: f64 = Money::MAX.to_string().parse().unwrap();
        assert_eq!(Money::MAX.to_f64(), most, "the text path");
        assert_eq!(
            Money::MAX.round_significant(12),
            Money::MAX,
            "saturates, never wraps"
        );
    }

    #[test]
    fn exact_divisions_by_powers_of_ten_need_no_division() {
        for x in [0u128, 1, 7, 123_456_789, u128::MAX / 10u128.pow(24)] {
            assert_eq!(div_exact_pow10::<6>(x * 1_000_000), x);
            assert_eq!(div_exact_pow10::<24>(x * 10u128.pow(24)), x);
            assert_eq!(div_exact_pow10::<1>(x * 10), x);
        }
        assert_eq!(inverse(5).wrapping_mul(5), 1);
        assert_eq!(inverse(5u128.pow(24)).wrapping_mul(5u128.pow(24)), 1);
    }

    #[test]
    fn f64_conversions() {
        assert_eq!(m("2.65").to_f64(), 2.65);
        assert_eq!(m("0.00263326775").to_f64(), 0.00263326775);
        assert_eq!(
            Money::from_f64(0.1).unwrap().round_significant(12),
            m("0.1")
        );
        assert_eq!(Money::from_f64(f64::NAN), None);
        assert_eq!(Money::from_f64(1e300), None);
        assert_eq!(Money::from_f64(0.0), Some(Money::ZERO));
        assert_eq!(Money::from_f64(-0.0), Some(Money::ZERO));
        assert_eq!(Money::from_f64(5e-24), Some(Money(5)));
        assert_eq!(Money::from_f64(-1e-30), None);
        assert_eq!(Money::from_f64(f64::INFINITY), None);
        assert_eq!(Money::from_f64(f64::NEG_INFINITY), None);
        // The bound is 10^14 USD, below where 24 decimal places stop fitting 128 bits (3.4e14).
        assert_eq!(
            Money::from_f64(99_999_999_999_999.0),
            Money::from_decimal(99_999_999_999_999, 0)
        );
        assert_eq!(Money::from_f64(1e14), None);
        assert_eq!(Money::from_f64(2e14), None);
    }

    #[test]
    fn f64_conversions_are_correctly_rounded_where_the_fast_paths_would_not_be() {
        // 2^53 + 1 millionths, and 2^53 + 1 at 12 places: one division of the digits rounded
        // to f64 would give ...740992 for both.
        let big = Money::from_decimal(9_007_199_254_740_993, 6).unwrap();
        assert_eq!(big.to_f64(), 9007199254.740993);
        let small = Money::from_decimal(9_007_199_254_740_993, 12).unwrap();
        assert_eq!(small.to_f64(), 9007.199254740994);
        // 24 places: 1 / 1e24 in f64 is 1.0000000000000001e-24.
        assert_eq!(Money(1).to_f64(), 1e-24);
        assert_eq!(Money::from_decimal(1, 22).unwrap().to_f64(), 1e-22);
    }

    /// A YAML price that is a word is quoted in the message; one that looks like a number is
    /// shown as it is.
    #[test]
    fn yaml_prices_are_shown_as_written() {
        let err = |price: &str| {
            let yaml = format!(
                "models:\n  - id: m\n    endpoints:\n      - {{ provider: a, pricing: {{ prompt: {price}, completion: 1 }} }}\n"
            );
            crate::Catalog::parse(&yaml).unwrap_err().to_string()
        };
        assert!(err("free").contains(r#"found "free""#), "{}", err("free"));
        assert!(err("-1").contains("found -1"), "{}", err("-1"));
        assert!(err("1e-30").contains("found 1e-30"), "{}", err("1e-30"));
        let seq = err("[1]");
        assert!(
            seq.contains("expected a non-negative decimal price"),
            "a sequence is refused with what was expected: {seq}"
        );
    }

    #[test]
    fn at_most_38_significant_digits_are_read() {
        let e = |t: &str| t.parse::<Money>().unwrap_err().to_string();
        let digits38 = format!("1.{}1", "0".repeat(36));
        assert!(
            e(&digits38).contains("at most 24 decimal places"),
            "{}",
            e(&digits38)
        );
        let digits39 = format!("1.{}1", "0".repeat(37));
        assert!(
            e(&digits39).contains("a non-negative decimal number"),
            "{}",
            e(&digits39)
        );
    }

    #[test]
    fn debug_shows_the_decimal() {
        assert_eq!(
            format!("{:?}", m("0.005500000000000001")),
            "Money(0.005500000000000001)"
        );
    }

    #[test]
    fn amounts_from_digits_and_decimal_places() {
        assert_eq!(Money::from_decimal(265, 2), Some(m("2.65")));
        assert_eq!(Money::from_decimal(7, 0), Some(m("7")));
        assert_eq!(Money::from_decimal(5, 24), Some(Money(5)));
        assert_eq!(Money::from_decimal(1, 25), None, "finer than 10^-24 USD");
        assert_eq!(Money::from_decimal(u128::MAX, 0), None, "does not fit");
    }

    #[test]
    fn serializes_as_an_exact_json_number() {
        let text = serde_json::to_string(&[m("0.005500000000000001"), m("3")]).unwrap();
        assert_eq!(text, "[0.005500000000000001,3]");
    }
}
