//! Windfall detection: how far a position's gain runs ahead of what its historical growth
//! explains, and whether to take profits (spec §3.3, "Windfall rule").
//!
//! A consistent grower that doubled over years is trimmed gently; a sudden spike is trimmed
//! harder. The reference computes the score with the raw CAGR but the sell decision with the
//! CAGR rounded to 4 decimals; both are kept so the numbers match.

use chrono::NaiveDateTime;

use crate::domain::round_py;

use super::eligibility::days_between;

/// Excess gain at which the score is 1.0 and 40 % is sold.
pub const WINDFALL_EXCESS_HIGH: f64 = 0.50;
/// Excess gain at which the score is 0.5 and 20 % is sold.
pub const WINDFALL_EXCESS_MEDIUM: f64 = 0.25;
pub const WINDFALL_SELL_PCT_HIGH: f64 = 0.40;
pub const WINDFALL_SELL_PCT_MEDIUM: f64 = 0.20;
/// Share sold from a position that doubled without a large windfall component.
pub const CONSISTENT_DOUBLE_SELL_PCT: f64 = 0.30;
/// Share sold from a position that doubled with more than 30 % excess.
pub const WINDFALL_DOUBLER_SELL_PCT: f64 = 0.50;
/// Excess above which a doubler counts as a windfall doubler.
pub const WINDFALL_DOUBLER_EXCESS: f64 = 0.30;
/// Growth assumed when neither `CAGR_5Y` nor `CAGR_10Y` is known: the market average.
pub const DEFAULT_CAGR: f64 = 0.10;

/// Gain above the gain that `cagr` compounded over `years_held` explains. Without a holding
/// period or with a CAGR of −100 % or worse, the whole gain counts as excess; so it does when
/// the compounding overflows.
pub fn excess_gain(current_gain: f64, years_held: f64, historical_cagr: f64) -> f64 {
    if years_held <= 0.0 || historical_cagr <= -1.0 {
        return current_gain;
    }
    let expected = (1.0 + historical_cagr).powf(years_held) - 1.0;
    if !expected.is_finite() {
        return current_gain;
    }
    current_gain - expected
}

/// Windfall score 0..1 from the excess gain, unrounded (linear 0→0.5 up to 25 % excess, 0.5→1
/// up to 50 %, then 1).
pub fn windfall_score(excess: f64) -> f64 {
    if excess >= WINDFALL_EXCESS_HIGH {
        1.0
    } else if excess >= WINDFALL_EXCESS_MEDIUM {
        0.5 + ((excess - WINDFALL_EXCESS_MEDIUM) / (WINDFALL_EXCESS_HIGH - WINDFALL_EXCESS_MEDIUM))
            * 0.5
    } else if excess > 0.0 {
        (excess / WINDFALL_EXCESS_MEDIUM) * 0.5
    } else {
        0.0
    }
}

/// The profit-taking advice of the windfall rule.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfitTakingAdvice {
    pub sell: bool,
    /// Fraction of the position to sell (0 when not selling).
    pub sell_pct: f64,
    pub reason: String,
}

/// The sell rule: a doubled position sells 50 % (windfall doubler, excess > 30 %) or 30 %
/// (consistent doubler); otherwise 40 % at ≥ 50 % excess, 20 % at ≥ 25 %, else nothing.
pub fn should_take_profits(
    current_gain: f64,
    years_held: f64,
    historical_cagr: f64,
) -> ProfitTakingAdvice {
    let excess = excess_gain(current_gain, years_held, historical_cagr);
    let advice = |sell: bool, sell_pct: f64, reason: String| ProfitTakingAdvice {
        sell,
        sell_pct,
        reason,
    };
    if current_gain >= 1.0 {
        if excess > WINDFALL_DOUBLER_EXCESS {
            return advice(
                true,
                WINDFALL_DOUBLER_SELL_PCT,
                format!(
                    "Windfall doubler: {:.0}% gain with {:.0}% excess",
                    current_gain * 100.0,
                    excess * 100.0
                ),
            );
        }
        return advice(
            true,
            CONSISTENT_DOUBLE_SELL_PCT,
            format!(
                "Consistent doubler: {:.0}% gain, taking {:.0}%",
                current_gain * 100.0,
                CONSISTENT_DOUBLE_SELL_PCT * 100.0
            ),
        );
    }
    if excess >= WINDFALL_EXCESS_HIGH {
        return advice(
            true,
            WINDFALL_SELL_PCT_HIGH,
            format!(
                "High windfall: {:.0}% above expected growth",
                excess * 100.0
            ),
        );
    }
    if excess >= WINDFALL_EXCESS_MEDIUM {
        return advice(
            true,
            WINDFALL_SELL_PCT_MEDIUM,
            format!(
                "Medium windfall: {:.0}% above expected growth",
                excess * 100.0
            ),
        );
    }
    let reason = if excess > 0.0 {
        format!(
            "Performing {:.0}% above expected, but within normal range",
            excess * 100.0
        )
    } else if excess > -0.10 {
        "Performing near expectations".to_string()
    } else {
        format!("Underperforming by {:.0}%", excess.abs() * 100.0)
    };
    advice(false, 0.0, reason)
}

/// The windfall analysis of one position.
#[derive(Clone, Debug, PartialEq)]
pub struct WindfallAssessment {
    pub current_gain: f64,
    pub years_held: f64,
    /// The CAGR used for the score, unrounded.
    pub historical_cagr: f64,
    /// Excess gain with the unrounded CAGR: the value the reference caches as `EXCESS_GAIN`.
    pub excess_gain: f64,
    /// Unrounded score: the value the reference caches as `WINDFALL_SCORE`.
    pub windfall_score: f64,
    /// Score rounded to 3 decimals: the one the profit-taking priority uses.
    pub score: f64,
    /// Decision made with the CAGR rounded to 4 decimals.
    pub advice: ProfitTakingAdvice,
    /// Fraction to sell after the reference's `round(pct × 100) / 100` (0 when not selling).
    pub suggested_sell_fraction: f64,
}

/// Assesses a position: gain from `avg_price` to `current_price`, years held since
/// `first_bought_at` (1 year when unknown, at least 0.1), CAGR from the 5-year metric, else the
/// 10-year one, else 10 %. `None` when the average price is not positive (no gain is defined).
pub fn assess(
    current_price: f64,
    avg_price: f64,
    first_bought_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
    cagr_5y: Option<f64>,
    cagr_10y: Option<f64>,
) -> Option<WindfallAssessment> {
    let valid = avg_price > 0.0;
    if !valid {
        return None;
    }
    let current_gain = (current_price - avg_price) / avg_price;
    let years_held = match first_bought_at {
        Some(bought) => (days_between(bought, now) as f64 / 365.0).max(0.1),
        None => 1.0,
    };
    let historical_cagr = cagr_5y.or(cagr_10y).unwrap_or(DEFAULT_CAGR);
    let excess = excess_gain(current_gain, years_held, historical_cagr);
    let raw_score = windfall_score(excess);
    let advice = should_take_profits(current_gain, years_held, round_py(historical_cagr, 4));
    let suggested_sell_fraction = if advice.sell {
        round_py(advice.sell_pct * 100.0, 0) / 100.0
    } else {
        0.0
    };
    Some(WindfallAssessment {
        current_gain,
        years_held,
        historical_cagr,
        excess_gain: excess,
        windfall_score: raw_score,
        score: round_py(raw_score, 3),
        advice,
        suggested_sell_fraction,
    })
}
