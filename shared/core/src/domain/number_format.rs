//! How a field's numbers read (`fields.formats`): a plain number with fixed decimals, a percentage
//! (`0.0734` → "7.3%"), an amount of money (`¥1.23亿`), or a number with its unit ("120 ms").
use super::ParseError;
use serde::{Deserialize, Serialize};

/// What a number is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberStyle {
    /// As it is, grouped in thousands (and 万/亿 or K/M/B where short reads better).
    #[default]
    Number,
    /// A ratio shown in percent: 0.0734 → 7.3%.
    Percent,
    /// Money, with its currency's sign.
    Currency,
}

impl NumberStyle {
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        match value {
            "number" => Ok(Self::Number),
            "percent" => Ok(Self::Percent),
            "currency" => Ok(Self::Currency),
            other => Err(format!(
                "unknown style '{other}' (use number, percent or currency)"
            )),
        }
    }
}

/// The currencies a report shows, with the sign readers know them by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Currency {
    #[serde(rename = "CNY")]
    Cny,
    #[serde(rename = "USD")]
    Usd,
    #[serde(rename = "EUR")]
    Eur,
    #[serde(rename = "HKD")]
    Hkd,
    #[serde(rename = "JPY")]
    Jpy,
    #[serde(rename = "GBP")]
    Gbp,
}

impl Currency {
    const ALL: [(Self, &'static str, &'static str); 6] = [
        (Self::Cny, "CNY", "¥"),
        (Self::Usd, "USD", "$"),
        (Self::Eur, "EUR", "€"),
        (Self::Hkd, "HKD", "HK$"),
        (Self::Jpy, "JPY", "JP¥"),
        (Self::Gbp, "GBP", "£"),
    ];

    pub fn parse(value: &str) -> Result<Self, ParseError> {
        Self::ALL
            .iter()
            .find(|(_, code, _)| *code == value)
            .map(|(c, _, _)| *c)
            .ok_or_else(|| {
                format!("unknown currency '{value}' (use CNY, USD, EUR, HKD, JPY or GBP)")
            })
    }

    pub fn sign(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or("", |(_, _, sign)| sign)
    }

    /// The decimals its amounts show unless a format says otherwise (yen has no minor unit).
    pub fn decimals(self) -> u8 {
        match self {
            Self::Jpy => 0,
            _ => 2,
        }
    }

    pub fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(c, _, _)| *c == self)
            .map_or("", |(_, code, _)| code)
    }
}

/// The most decimals a format may ask for.
pub const MAX_DECIMALS: u8 = 6;
/// The longest unit, in characters.
pub const MAX_UNIT_CHARS: usize = 16;

/// How one field's numbers read. Checked when built: decimals at most [`MAX_DECIMALS`], a currency
/// only (and always) for `currency`, a unit of at most [`MAX_UNIT_CHARS`] characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberFormat {
    #[serde(default)]
    pub style: NumberStyle,
    /// Decimals shown; `None`: as many as read well (percent 1, money 2, numbers up to 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    /// Written after the number: "ms" → "120 ms", "元" → "120元".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl NumberFormat {
    /// A format from its parts; the error names the part at fault (`decimals`, `currency`, `unit`).
    pub fn new(
        style: NumberStyle,
        decimals: Option<u8>,
        currency: Option<Currency>,
        unit: Option<String>,
    ) -> Result<Self, (&'static str, ParseError)> {
        if decimals.is_some_and(|d| d > MAX_DECIMALS) {
            return Err(("decimals", format!("must be 0 to {MAX_DECIMALS}")));
        }
        match (style, currency) {
            (NumberStyle::Currency, None) => {
                return Err(("currency", "is required for the currency style".into()));
            }
            (NumberStyle::Number | NumberStyle::Percent, Some(_)) => {
                return Err(("currency", "is only for the currency style".into()));
            }
            _ => {}
        }
        if let Some(unit) = &unit
            && (unit.is_empty()
                || unit.chars().count() > MAX_UNIT_CHARS
                || unit.chars().any(char::is_control)
                || unit.trim() != unit)
        {
            return Err((
                "unit",
                format!(
                    "must be 1 to {MAX_UNIT_CHARS} characters, no control characters, no space at either end"
                ),
            ));
        }
        Ok(Self {
            style,
            decimals,
            currency,
            unit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_checked_part_by_part() {
        assert!(NumberFormat::new(NumberStyle::Percent, Some(1), None, None).is_ok());
        assert_eq!(
            NumberFormat::new(NumberStyle::Currency, None, None, None)
                .unwrap_err()
                .0,
            "currency"
        );
        assert_eq!(
            NumberFormat::new(NumberStyle::Number, Some(7), None, None)
                .unwrap_err()
                .0,
            "decimals"
        );
        assert_eq!(
            NumberFormat::new(NumberStyle::Percent, None, Some(Currency::Cny), None)
                .unwrap_err()
                .0,
            "currency"
        );
        for unit in ["", " ms", "a\tb", "毫秒毫秒毫秒毫秒毫秒毫秒毫秒毫秒毫"] {
            let refused = NumberFormat::new(NumberStyle::Number, None, None, Some(unit.into()));
            assert_eq!(refused.unwrap_err().0, "unit", "{unit:?}");
        }
        assert!(NumberFormat::new(NumberStyle::Number, None, None, Some("km / h".into())).is_ok());
        assert_eq!(Currency::parse("CNY").unwrap().sign(), "¥");
        assert!(Currency::parse("RMB").is_err());
        assert!(NumberStyle::parse("percentage").is_err());
    }
}
