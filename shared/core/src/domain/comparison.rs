//! Comparing a number with a rule's: alert conditions and table cells' colours both say
//! "below 1,000,000" the same way.
use serde::{Deserialize, Serialize};

/// How a number is compared with a rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    #[serde(rename = "<")]
    Below,
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = ">")]
    Above,
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "==")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
}

impl Comparison {
    pub const ALL: [&'static str; 6] = ["<", "<=", ">", ">=", "==", "!="];

    pub fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw {
            "<" => Self::Below,
            "<=" => Self::AtMost,
            ">" => Self::Above,
            ">=" => Self::AtLeast,
            "==" | "=" => Self::Equal,
            "!=" => Self::NotEqual,
            other => {
                return Err(format!(
                    "must be one of {} (got '{other}')",
                    Self::ALL.join(" ")
                ));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Below => "<",
            Self::AtMost => "<=",
            Self::Above => ">",
            Self::AtLeast => ">=",
            Self::Equal => "==",
            Self::NotEqual => "!=",
        }
    }

    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Self::Below => left < right,
            Self::AtMost => left <= right,
            Self::Above => left > right,
            Self::AtLeast => left >= right,
            Self::Equal => left == right,
            Self::NotEqual => left != right,
        }
    }

    /// The comparison in words ("below"), as a skipped run's reason says it.
    pub fn words(self) -> &'static str {
        match self {
            Self::Below => "below",
            Self::AtMost => "at most",
            Self::Above => "above",
            Self::AtLeast => "at least",
            Self::Equal => "equal to",
            Self::NotEqual => "other than",
        }
    }
}

/// A rule's number: finite, so rules compare (and are equal) as numbers do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Threshold(f64);

impl Eq for Threshold {}

impl Threshold {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Threshold {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() {
            Ok(Self(value))
        } else {
            Err("must be a finite number".into())
        }
    }
}

impl From<Threshold> for f64 {
    fn from(value: Threshold) -> Self {
        value.0
    }
}
