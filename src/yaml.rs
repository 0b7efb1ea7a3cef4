//! The one place that parses YAML: swap `serde_yaml` for a maintained fork here and nowhere
//! else. JSON goes to serde_json (`json.rs`) unless it turns out not to be JSON.

use crate::error::Error;
use crate::parse::MAX_FLOW_DEPTH;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use serde::de::{EnumAccess, VariantAccess, Visitor};
use std::cell::Cell;
use std::fmt;

mod flow_depth;

/// What a document may hold once its aliases are expanded, counted as one unit per node plus
/// one per byte of each string: `max(2 x bytes, ALIAS_EXPANSION_BUDGET)`. Without aliases a
/// document costs at most about two units per byte, so only alias expansion can exceed it;
/// serde_yaml's own limit counts alias jumps, not what they expand to, and lets a 1 MiB file
/// expand to billions of nodes or gigabytes of repeated strings.
pub const ALIAS_EXPANSION_BUDGET: usize = 1 << 20;

/// Deserializes one YAML document into `T`.
///
/// serde_yaml refuses alias expansion past a fixed repetition budget and nesting past 128
/// levels, which keeps hostile inputs bounded.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_yaml::from_str(text).map_err(|err| {
        let line = err.location().map(|l| l.line());
        let mut message = err.to_string();
        // serde_yaml appends " at line L column C"; the line is reported separately.
        if let Some(cut) = message.rfind(" at line ") {
            message.truncate(cut);
        }
        let (field, detail) = split_path(&message);
        Error::input(field, detail, line)
    })
}

/// Splits serde_yaml's `path: detail` wording into the field path and the detail. serde_yaml
/// writes the path of the value being read (`models[0].endpoints`) before a data error and
/// nothing before a syntax error, whose wording (`did not find expected key`) never starts
/// with a word and a colon.
fn split_path(message: &str) -> (Option<String>, &str) {
    match message.split_once(": ") {
        Some((path, detail))
            if !path.is_empty() && !path.contains(char::is_whitespace) && !path.contains('`') =>
        {
            (Some(path.to_string()), detail)
        }
        _ => (None, message),
    }
}

/// Refuses YAML whose flow collections nest past [`MAX_FLOW_DEPTH`] or whose aliases expand
/// past the budget, before any typed parse runs.
pub(crate) fn check_hostile(text: &str) -> Result<(), Error> {
    let (depth, line) = flow_depth::deepest(text);
    if depth > MAX_FLOW_DEPTH {
        return Err(crate::parse::too_deep(depth, line));
    }
    // Aliases need anchors, and anchors need `&`: most files skip the counting pass.
    if !text.contains('&') {
        return Ok(());
    }
    let budget = text.len().saturating_mul(2).max(ALIAS_EXPANSION_BUDGET);
    let (left, over) = (Cell::new(budget), Cell::new(false));
    let count = Count {
        left: &left,
        over: &over,
    };
    let result = serde_yaml::Deserializer::from_str(text)
        .next()
        .map(|doc| count.deserialize(doc));
    match result {
        // serde_yaml's own limit on alias jumps can trip before the node budget does.
        Some(Err(err)) if over.get() || err.to_string().starts_with("repetition limit") => {
            let detail = format!(
                "YAML aliases expand to more than {budget} units (nodes plus string bytes), the budget for this file; \
                 write the repeated parts out or use fewer aliases"
            );
            Err(Error::input(
                None,
                &detail,
                err.location().map(|l| l.line()),
            ))
        }
        // Syntax errors are reported, with their field path, by the typed parse that follows.
        _ => Ok(()),
    }
}

/// Walks a document, aliases expanded, counting nodes down from `left`; fails at zero.
#[derive(Clone, Copy)]
struct Count<'a> {
    left: &'a Cell<usize>,
    over: &'a Cell<bool>,
}

impl Count<'_> {
    fn tick<E: de::Error>(self) -> Result<(), E> {
        self.spend(1)
    }

    fn spend<E: de::Error>(self, units: usize) -> Result<(), E> {
        match self.left.get().checked_sub(units) {
            Some(n) => {
                self.left.set(n);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("alias expansion budget exceeded"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.tick()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.tick()
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        self.tick()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.tick()
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        self.tick()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.tick()
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.spend(1 + v.len())
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        self.tick()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.tick()
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.tick()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.tick()?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    // A tagged value (`!Tag x`) arrives as an enum.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

/// The document as a generic tree, read leniently; `None` when it does not parse. Read as
/// serde_yaml's own `Value` first, which refuses duplicate keys as the typed parse does.
pub(crate) fn document(text: &str) -> Option<serde_json::Value> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    serde_json::to_value(value).ok()
}

/// A string that must be written as one: serde_yaml hands any scalar (`1`, `true`, `null`)
/// to a `String` field as text, which would turn `"order": [1]` into the slug "1".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub String);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl serde::de::Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// Unwraps a list of [`Text`].
pub(crate) fn texts(list: Vec<Text>) -> Vec<String> {
    list.into_iter().map(|t| t.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_carry_their_path_and_syntax_errors_none() {
        let err =
            from_str::<std::collections::HashMap<String, Vec<u8>>>("a: [1, x]\n").unwrap_err();
        assert_eq!((err.field(), err.line()), (Some("a[1]"), Some(1)));
        let err = from_str::<std::collections::HashMap<String, Vec<u8>>>("a: [1\n").unwrap_err();
        assert_eq!(err.field(), None, "{err}");
    }

    #[test]
    fn aliases_within_the_budget_pass_and_beyond_it_fail() {
        let small = "a: &x [1, 2]\nb: [*x, *x]\n";
        assert!(check_hostile(small).is_ok());
        // 1100 references to 1000 scalars: 1.1 million nodes from 10 KB.
        let bomb = format!(
            "a: &x [{}]\nb: [{}]\n",
            vec!["1"; 1000].join(","),
            vec!["*x"; 1100].join(",")
        );
        let err = check_hostile(&bomb).unwrap_err();
        assert!(err.to_string().contains("aliases expand"), "{err}");
    }

    #[test]
    fn flow_nesting_past_the_limit_is_refused_and_at_it_is_not() {
        let at = format!(
            "{}{}",
            "[".repeat(MAX_FLOW_DEPTH),
            "]".repeat(MAX_FLOW_DEPTH)
        );
        assert!(check_hostile(&at).is_ok());
        let over = format!("[{at}]");
        let err = check_hostile(&over).unwrap_err();
        assert!(err.to_string().contains("129 levels deep"), "{err}");
    }
}
