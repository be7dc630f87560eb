//! Money as integer minor units.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// An amount of money in minor units (cents: 1250 is 12.50), never a float, so sums and
/// shares are exact and the same on every machine.
///
/// On the wire it is the plain integer (`"price": 1250`), the `i64` the events carried before
/// the type existed, with the same schema (`integer`, `int64`). Arithmetic is checked: an
/// overflow gives `None`, never a panic or a wrapped amount; callers decide what an
/// impossible amount means (usually a refusal of the input that led to it).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Nothing.
    pub const fn zero() -> Self {
        Money(0)
    }

    /// `minor` minor units (cents).
    pub const fn from_minor(minor: i64) -> Self {
        Money(minor)
    }

    /// The amount in minor units (cents): what stores bind and sums of rows read back.
    pub const fn minor(self) -> i64 {
        self.0
    }

    /// True below zero (a refund or a debt).
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Money) -> Option<Money> {
        match self.0.checked_add(other.0) {
            Some(m) => Some(Money(m)),
            None => None,
        }
    }

    /// `self - other`, or `None` on overflow.
    pub const fn checked_sub(self, other: Money) -> Option<Money> {
        match self.0.checked_sub(other.0) {
            Some(m) => Some(Money(m)),
            None => None,
        }
    }

    /// `self * n` (a quantity, a number of hours...), or `None` on overflow.
    pub const fn checked_mul_int(self, n: i64) -> Option<Money> {
        match self.0.checked_mul(n) {
            Some(m) => Some(Money(m)),
            None => None,
        }
    }

    /// `percent` % of `self`, rounded to the nearest minor unit, halves away from zero
    /// (5 % of 0.10 is 0.01, of -0.10 is -0.01); `None` when the result does not fit. The
    /// product is taken in 128 bits, so only a result out of range fails, never the way
    /// to it.
    pub fn percent(self, percent: i64) -> Option<Money> {
        let product = i128::from(self.0) * i128::from(percent);
        let half = if product < 0 { -50 } else { 50 };
        // Integer division truncates toward zero; adding half first rounds half away.
        let rounded = (product + half) / 100;
        i64::try_from(rounded).ok().map(Money)
    }
}

impl fmt::Display for Money {
    /// For people: units and two decimals, `12.50`, `-0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        // unsigned_abs: i64::MIN has no positive i64.
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl JsonSchema for Money {
    // Inlined, so a `Money` field has the schema of the `i64` field it replaced.
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }

    fn schema_id() -> Cow<'static, str> {
        "contracts::Money".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        <i64 as JsonSchema>::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    #[test]
    fn given_amounts_when_added_subtracted_or_multiplied_then_the_result_is_exact() {
        assert_eq!(m(1250).checked_add(m(75)), Some(m(1325)));
        assert_eq!(m(100).checked_sub(m(250)), Some(m(-150)));
        assert_eq!(m(1250).checked_mul_int(3), Some(m(3750)));
        assert_eq!(m(1250).checked_mul_int(-1), Some(m(-1250)));
        assert_eq!(Money::zero().checked_add(m(7)), Some(m(7)));
    }

    #[test]
    fn given_amounts_near_the_limits_when_combined_then_overflow_is_none_not_a_panic() {
        assert_eq!(m(i64::MAX).checked_add(m(1)), None);
        assert_eq!(m(i64::MIN).checked_sub(m(1)), None);
        assert_eq!(m(i64::MAX).checked_mul_int(2), None);
        assert_eq!(m(i64::MIN).checked_mul_int(-1), None);
        assert_eq!(m(i64::MAX).percent(101), None);
        assert_eq!(m(i64::MIN).percent(200), None);
        // The intermediate product overflows 64 bits, the result does not.
        assert_eq!(m(i64::MAX).percent(100), Some(m(i64::MAX)));
        assert_eq!(m(i64::MAX / 2).percent(200), Some(m(i64::MAX / 2 * 2)));
    }

    #[test]
    fn given_a_share_when_taken_as_a_percent_then_halves_round_away_from_zero() {
        assert_eq!(m(1000).percent(15), Some(m(150)));
        assert_eq!(m(10).percent(5), Some(m(1)), "0.5 rounds up");
        assert_eq!(m(-10).percent(5), Some(m(-1)), "-0.5 rounds down");
        assert_eq!(m(10).percent(4), Some(m(0)), "0.4 rounds to 0");
        assert_eq!(m(999).percent(50), Some(m(500)), "499.5 rounds up");
        assert_eq!(m(1250).percent(0), Some(Money::zero()));
        assert_eq!(m(1250).percent(-20), Some(m(-250)));
    }

    #[test]
    fn given_amounts_when_displayed_then_they_show_units_and_two_decimals() {
        assert_eq!(m(1250).to_string(), "12.50");
        assert_eq!(m(5).to_string(), "0.05");
        assert_eq!(m(-5).to_string(), "-0.05");
        assert_eq!(m(-1250).to_string(), "-12.50");
        assert_eq!(Money::zero().to_string(), "0.00");
        assert_eq!(m(i64::MIN).to_string(), "-92233720368547758.08");
    }

    #[test]
    fn given_an_amount_when_checked_for_sign_then_only_below_zero_is_negative() {
        assert!(m(-1).is_negative());
        assert!(!Money::zero().is_negative());
        assert!(!m(1).is_negative());
    }

    #[test]
    fn given_money_when_serialized_then_it_is_the_plain_integer_with_the_i64_schema() {
        assert_eq!(serde_json::to_string(&m(1250)).unwrap(), "1250");
        assert_eq!(serde_json::from_str::<Money>("-7").unwrap(), m(-7));
        assert!(
            serde_json::from_str::<Money>("12.5").is_err(),
            "never a float"
        );
        #[derive(JsonSchema)]
        #[allow(dead_code, reason = "only the schema is read")]
        struct Typed {
            price: Money,
            maybe: Option<Money>,
        }
        #[derive(JsonSchema)]
        #[allow(dead_code, reason = "only the schema is read")]
        struct Plain {
            price: i64,
            maybe: Option<i64>,
        }
        let mut typed = serde_json::to_value(schemars::schema_for!(Typed)).unwrap();
        let plain = serde_json::to_value(schemars::schema_for!(Plain)).unwrap();
        typed["title"] = plain["title"].clone();
        assert_eq!(typed, plain);
    }
}
