//! OpenRouter's request-parameter vocabulary and a compact set of its members.

/// The parameters OpenRouter lists in `supported_parameters` (its `Parameter` schema), in a
/// fixed order: a parameter's index is its bit in [`Parameters`].
pub const PARAMETERS: [&str; 26] = [
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "top_a",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "max_tokens",
    "max_completion_tokens",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "prediction",
    "seed",
    "response_format",
    "structured_outputs",
    "stop",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "include_reasoning",
    "reasoning",
    "reasoning_effort",
    "web_search_options",
    "verbosity",
];

/// A set of parameters from [`PARAMETERS`]; names outside the vocabulary are not tracked.
///
/// `max_tokens` and `max_completion_tokens` are one parameter (SPEC section 2): inserting
/// either inserts both.
///
/// ```
/// use routesim::Parameters;
/// let set = Parameters::from_names(["tools", "max_completion_tokens"]);
/// assert!(set.contains_name("max_tokens"));
/// assert!(!set.contains_name("seed"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Parameters(u32);

const MAX_TOKENS_PAIR: u32 = (1 << 8) | (1 << 9);

impl Parameters {
    /// The empty set.
    pub const EMPTY: Parameters = Parameters(0);

    /// The bit of a vocabulary name.
    fn bit(name: &str) -> Option<u32> {
        PARAMETERS.iter().position(|p| *p == name).map(|i| {
            let bit = 1u32 << i;
            if bit & MAX_TOKENS_PAIR != 0 {
                MAX_TOKENS_PAIR
            } else {
                bit
            }
        })
    }

    /// Builds a set from names, skipping names outside the vocabulary.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Parameters {
        let mut set = Parameters::EMPTY;
        for name in names {
            set.insert(name);
        }
        set
    }

    /// Adds a name; returns false if it is not in the vocabulary.
    pub fn insert(&mut self, name: &str) -> bool {
        match Parameters::bit(name) {
            Some(bit) => {
                self.0 |= bit;
                true
            }
            None => false,
        }
    }

    /// Whether the set has this name.
    pub fn contains_name(&self, name: &str) -> bool {
        Parameters::bit(name).is_some_and(|bit| self.0 & bit != 0)
    }

    /// Whether every member of `other` is in `self`.
    pub fn is_superset(&self, other: Parameters) -> bool {
        other.0 & !self.0 == 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The members of `self` missing from `supported`, by name (`max_tokens` once for the pair).
    pub fn missing_from(&self, supported: Parameters) -> impl Iterator<Item = &'static str> {
        let missing = self.0 & !supported.0;
        PARAMETERS
            .iter()
            .enumerate()
            .filter(move |(i, _)| missing & (1 << i) != 0 && *i != 9)
            .map(|(_, name)| *name)
    }
}
