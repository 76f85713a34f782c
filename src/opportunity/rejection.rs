//! Why a considered candidate was not produced. The reference drops these silently (a debug log
//! at best); keeping them lets the dashboard and the CLI answer "why is X not proposed?".

use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::domain::{Category, Side};

/// One candidate that was looked at and left out.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub symbol: String,
    /// The side the trade would have had, when it was known.
    pub side: Option<Side>,
    /// The category the trade was considered for; `None` when the reason applies to every
    /// category of that side (e.g. the security has no price, so no buy calculator sees it).
    pub category: Option<Category>,
    pub reason: RejectReason,
}

impl Rejection {
    pub fn new(
        symbol: impl Into<String>,
        side: Option<Side>,
        category: Option<Category>,
        reason: RejectReason,
    ) -> Self {
        Rejection {
            symbol: symbol.into(),
            side,
            category,
            reason,
        }
    }

    /// A rejection in a known category (the side follows from it).
    pub fn in_category(
        symbol: impl Into<String>,
        category: Category,
        reason: RejectReason,
    ) -> Self {
        Rejection::new(symbol, Some(category.side()), Some(category), reason)
    }

    #[cfg(test)]
    pub fn code(&self) -> &'static str {
        self.reason.code()
    }
}

/// `{"symbol", "side", "category", "code", "message"}`: a stable id for programs and a sentence
/// for people.
impl Serialize for Rejection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Rejection", 5)?;
        s.serialize_field("symbol", &self.symbol)?;
        s.serialize_field("side", &self.side)?;
        s.serialize_field("category", &self.category.map(Category::as_str))?;
        s.serialize_field("code", self.reason.code())?;
        s.serialize_field("message", &self.reason.to_string())?;
        s.end()
    }
}

/// Why a position may not be sold (the sell-eligibility hard blocks, spec §3.3–3.4).
#[derive(Clone, Debug, PartialEq)]
pub enum IneligibleWhy {
    /// The last transaction is more recent than the minimum holding period.
    HeldTooShort { days: i64, min_days: i64 },
    /// The position lost more than the loss threshold (a fraction, e.g. −0.20).
    LossBeyondThreshold { loss: f64, threshold: f64 },
    /// The last transaction (buy or sell) is inside the sell cooldown.
    TradedRecently { days: i64, cooldown_days: i64 },
    /// The caller listed the symbol in `ineligible_symbols`.
    Listed,
}

impl fmt::Display for IneligibleWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IneligibleWhy::HeldTooShort { days, min_days } => {
                write!(f, "held only {days} days (minimum {min_days})")
            }
            IneligibleWhy::LossBeyondThreshold { loss, threshold } => write!(
                f,
                "loss of {:.1}% is beyond the {:.0}% threshold",
                loss * 100.0,
                threshold * 100.0
            ),
            IneligibleWhy::TradedRecently {
                days,
                cooldown_days,
            } => write!(
                f,
                "last traded {days} days ago, inside the {cooldown_days}-day sell cooldown"
            ),
            IneligibleWhy::Listed => f.write_str("listed as ineligible by the caller"),
        }
    }
}

/// The reasons a candidate is left out, across both identification paths.
#[derive(Clone, Debug, PartialEq)]
pub enum RejectReason {
    /// No positive price for the symbol.
    NoPrice,
    /// The trade would not cover twice its own cost (weight path).
    BelowWorthwhile {
        value: f64,
        cost: f64,
    },
    NotAllowedToBuy,
    NotAllowedToSell,
    /// Sold recently; `days_since_sell` is known when the trade history was supplied.
    InSellCooldown {
        days_since_sell: Option<i64>,
    },
    /// Bought recently (heuristic path).
    InBuyCooldown {
        days_since_buy: i64,
        cooldown_days: i64,
    },
    IneligibleToSell(IneligibleWhy),
    /// A sell with no position, or a buy calculator that needs one.
    NoPosition,
    /// Selling would go below the minimum lot.
    AtMinLot {
        quantity: f64,
        min_lot: i64,
    },
    /// The sizing rounds to no shares.
    ZeroQuantity,
    /// The symbol is not in the tradable universe.
    NoSecurity,
    /// The security's quality score is under the calculator's minimum.
    QualityTooLow {
        score: f64,
        min: f64,
    },
    /// The position has no positive market value.
    NoPositionValue,
    /// The windfall rule does not advise taking profits; its own explanation is kept.
    NoWindfall {
        reason: String,
    },
    /// The security has no country, so no country group to rebalance.
    NoCountry,
    /// The country group is not overweight enough to sell.
    NotOverweight {
        group: String,
        current: f64,
        target: f64,
    },
    /// The country group is not underweight enough to buy.
    NotUnderweight {
        group: String,
        current: f64,
        target: f64,
    },
    /// Averaging down needs the position's average price.
    NoAveragePrice,
    /// The price is not far enough below the average price to average down.
    NotDownEnough {
        loss: f64,
        threshold: f64,
    },
}

impl RejectReason {
    /// Stable snake_case identifier.
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::NoPrice => "no_price",
            RejectReason::BelowWorthwhile { .. } => "below_worthwhile_threshold",
            RejectReason::NotAllowedToBuy => "buy_not_allowed",
            RejectReason::NotAllowedToSell => "sell_not_allowed",
            RejectReason::InSellCooldown { .. } => "sell_cooldown",
            RejectReason::InBuyCooldown { .. } => "buy_cooldown",
            RejectReason::IneligibleToSell(_) => "ineligible_to_sell",
            RejectReason::NoPosition => "no_position",
            RejectReason::AtMinLot { .. } => "at_min_lot",
            RejectReason::ZeroQuantity => "zero_quantity",
            RejectReason::NoSecurity => "no_security",
            RejectReason::QualityTooLow { .. } => "quality_too_low",
            RejectReason::NoPositionValue => "no_position_value",
            RejectReason::NoWindfall { .. } => "no_windfall",
            RejectReason::NoCountry => "no_country",
            RejectReason::NotOverweight { .. } => "not_overweight",
            RejectReason::NotUnderweight { .. } => "not_underweight",
            RejectReason::NoAveragePrice => "no_average_price",
            RejectReason::NotDownEnough { .. } => "not_down_enough",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::NoPrice => f.write_str("no price is known for the symbol"),
            RejectReason::BelowWorthwhile { value, cost } => write!(
                f,
                "a trade of {value:.2} EUR does not cover twice its cost of {cost:.2} EUR"
            ),
            RejectReason::NotAllowedToBuy => f.write_str("buying is not allowed for the security"),
            RejectReason::NotAllowedToSell => {
                f.write_str("selling is not allowed for the security")
            }
            RejectReason::InSellCooldown {
                days_since_sell: Some(days),
            } => write!(f, "sold {days} days ago, inside the sell cooldown"),
            RejectReason::InSellCooldown {
                days_since_sell: None,
            } => f.write_str("inside the sell cooldown (listed as recently sold)"),
            RejectReason::InBuyCooldown {
                days_since_buy,
                cooldown_days,
            } => write!(
                f,
                "bought {days_since_buy} days ago, inside the {cooldown_days}-day buy cooldown"
            ),
            RejectReason::IneligibleToSell(why) => write!(f, "not eligible to sell: {why}"),
            RejectReason::NoPosition => f.write_str("no position is held"),
            RejectReason::AtMinLot { quantity, min_lot } => write!(
                f,
                "the position of {quantity} is at or below the minimum lot of {min_lot}"
            ),
            RejectReason::ZeroQuantity => f.write_str("the trade rounds to zero shares"),
            RejectReason::NoSecurity => f.write_str("the symbol is not a known security"),
            RejectReason::QualityTooLow { score, min } => {
                write!(f, "quality score {score:.2} is below the minimum {min:.2}")
            }
            RejectReason::NoPositionValue => f.write_str("the position has no market value"),
            RejectReason::NoWindfall { reason } => {
                write!(f, "no profit taking advised: {reason}")
            }
            RejectReason::NoCountry => f.write_str("the security has no country"),
            RejectReason::NotOverweight {
                group,
                current,
                target,
            } => write!(
                f,
                "{group} is at {:.1}% against a target of {:.1}%, not more than 5 points over",
                current * 100.0,
                target * 100.0
            ),
            RejectReason::NotUnderweight {
                group,
                current,
                target,
            } => write!(
                f,
                "{group} is at {:.1}% against a target of {:.1}%, not more than 5 points under",
                current * 100.0,
                target * 100.0
            ),
            RejectReason::NoAveragePrice => {
                f.write_str("no average price is known for the position")
            }
            RejectReason::NotDownEnough { loss, threshold } => write!(
                f,
                "down {:.1}%, not beyond the {:.0}% needed to average down",
                -loss * 100.0,
                -threshold * 100.0
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_code_and_message() {
        let r = Rejection::in_category(
            "AAA",
            Category::RebalanceSells,
            RejectReason::IneligibleToSell(IneligibleWhy::HeldTooShort {
                days: 10,
                min_days: 90,
            }),
        );
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({
                "symbol": "AAA",
                "side": "SELL",
                "category": "rebalance_sells",
                "code": "ineligible_to_sell",
                "message": "not eligible to sell: held only 10 days (minimum 90)",
            })
        );
    }

    #[test]
    fn unknown_side_and_category_are_null() {
        let r = Rejection::new("X", None, None, RejectReason::NoPrice);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["side"], serde_json::Value::Null);
        assert_eq!(v["category"], serde_json::Value::Null);
        assert_eq!(v["code"], "no_price");
    }

    #[test]
    fn worthwhile_message_names_value_and_cost() {
        let reason = RejectReason::BelowWorthwhile {
            value: 3.0,
            cost: 2.006,
        };
        assert_eq!(
            reason.to_string(),
            "a trade of 3.00 EUR does not cover twice its cost of 2.01 EUR"
        );
    }
}
