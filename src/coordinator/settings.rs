//! The planner settings `GET/PUT /api/settings` expose: each key with its kind, bounds and
//! default, so an update is checked before anything is written.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::domain::validation::FieldError;
use crate::store::{Store, StoreError, keys};

/// What a setting holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettingKind {
    /// A whole number in `min..=max`.
    Count { min: i64, max: i64 },
    /// A number in `min..=max`.
    Number { min: f64, max: f64 },
    /// An EUR amount in `0..=max`.
    Eur { max: f64 },
    /// `research` or `live`.
    TradingMode,
    /// One of `options`.
    Choice { options: &'static [&'static str] },
}

/// One setting of the API.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SettingSpec {
    pub key: &'static str,
    #[serde(flatten)]
    pub kind: SettingKind,
    pub default: &'static str,
    pub description: &'static str,
}

const fn count(
    key: &'static str,
    min: i64,
    max: i64,
    default: &'static str,
    description: &'static str,
) -> SettingSpec {
    SettingSpec {
        key,
        kind: SettingKind::Count { min, max },
        default,
        description,
    }
}

const fn number(
    key: &'static str,
    min: f64,
    max: f64,
    default: &'static str,
    description: &'static str,
) -> SettingSpec {
    SettingSpec {
        key,
        kind: SettingKind::Number { min, max },
        default,
        description,
    }
}

/// Every setting the API reads and writes.
pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        key: keys::TRADING_MODE,
        kind: SettingKind::TradingMode,
        default: "research",
        description: "research fills orders on paper; live sends them to the broker",
    },
    SettingSpec {
        key: keys::TRANSACTION_COST_FIXED.key,
        kind: SettingKind::Eur { max: 100.0 },
        default: "2.0",
        description: "fixed cost per trade, EUR",
    },
    number(
        keys::TRANSACTION_COST_PERCENT.key,
        0.0,
        0.1,
        "0.002",
        "variable cost per trade, a fraction of its value",
    ),
    SettingSpec {
        key: keys::MIN_CASH_RESERVE.key,
        kind: SettingKind::Eur { max: 10_000_000.0 },
        default: "500.0",
        description: "cash a plan never spends, EUR",
    },
    number(
        keys::MIN_SECURITY_SCORE.key,
        0.0,
        1.0,
        "0.5",
        "lowest score of a security worth buying",
    ),
    number(
        keys::MAX_LOSS_THRESHOLD.key,
        -1.0,
        0.0,
        "-0.5",
        "no sale at a loss worse than this fraction",
    ),
    count(
        keys::BUY_COOLDOWN_DAYS.key,
        0,
        3650,
        "14",
        "days after a buy before the security is bought again",
    ),
    count(
        keys::SELL_COOLDOWN_DAYS.key,
        0,
        3650,
        "14",
        "days after a sale before the security is sold again",
    ),
    count(
        keys::MIN_HOLD_DAYS.key,
        0,
        3650,
        "90",
        "days a position is held at least, from the first buy of the lot still held",
    ),
    count(
        keys::MAX_PLAN_DEPTH.key,
        1,
        10,
        "5",
        "most trades in one plan",
    ),
    count(
        keys::MAX_TRADES_PER_CYCLE.key,
        0,
        100,
        "2",
        "most orders sent per trading cycle",
    ),
    count(
        keys::MAX_TRADES_PER_DAY.key,
        0,
        1000,
        "4",
        "most trades per day",
    ),
    count(
        keys::MAX_TRADES_PER_WEEK.key,
        0,
        1000,
        "10",
        "most trades per week",
    ),
    number(
        keys::CASH_RESERVE_RATIO.key,
        0.0,
        0.5,
        "0.02",
        "cash a plan keeps as a fraction of the portfolio (the larger of this and min_cash_reserve)",
    ),
    number(
        keys::MAX_POSITION_WEIGHT.key,
        0.01,
        1.0,
        "0.15",
        "largest target of one security, a fraction of the portfolio",
    ),
    number(
        keys::MIN_POSITION_WEIGHT.key,
        0.0,
        0.2,
        "0.01",
        "smallest position worth holding, a fraction of the portfolio",
    ),
    number(
        keys::TARGET_SCORE_TILT.key,
        0.0,
        2.0,
        "0.2",
        "how far quality scores shift a group's target between its securities (0 = equally)",
    ),
    number(
        keys::BAND_ABSOLUTE.key,
        0.0,
        0.5,
        "0.05",
        "tolerance band in points of the portfolio (the smaller of this and band_relative × target)",
    ),
    number(
        keys::BAND_RELATIVE.key,
        0.0,
        1.0,
        "0.25",
        "tolerance band as a fraction of the target",
    ),
    SettingSpec {
        key: keys::RISK_PROFILE,
        kind: SettingKind::Choice {
            options: &["cautious", "balanced", "bold"],
        },
        default: "balanced",
        description: "cautious halves the score tilt and narrows the bands; bold widens both",
    },
    number(
        keys::DRIFT_POINT_VALUE_BP.key,
        0.0,
        1000.0,
        "10",
        "what one point of drift is worth, in basis points of the portfolio's value",
    ),
    number(
        keys::FEE_WORTH_RATIO.key,
        0.0,
        100.0,
        "1.0",
        "a trade must remove drift worth this many times its fees and turnover",
    ),
];

/// The settings with their current values.
pub fn current(store: &Store) -> Result<Vec<(SettingSpec, String)>, StoreError> {
    let stored = store.settings()?;
    Ok(SETTINGS
        .iter()
        .map(|spec| {
            let value = stored
                .get(spec.key)
                .cloned()
                .unwrap_or_else(|| spec.default.to_string());
            (*spec, value)
        })
        .collect())
}

/// Checks an update `{key: value, ...}`; every problem is reported, located at its key.
pub fn check_update(
    body: &BTreeMap<String, Value>,
) -> Result<Vec<(String, String)>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut values = Vec::new();
    if body.is_empty() {
        errors.push(FieldError::value_error(
            vec![Value::from("body")],
            "no setting given",
            Value::Object(Default::default()),
        ));
    }
    for (key, value) in body {
        let loc = vec![Value::from("body"), Value::from(key.as_str())];
        let Some(spec) = SETTINGS.iter().find(|s| s.key == key) else {
            errors.push(FieldError::value_error(
                loc,
                "unknown setting",
                value.clone(),
            ));
            continue;
        };
        match check_value(spec.kind, value) {
            Ok(text) => values.push((key.clone(), text)),
            Err(message) => errors.push(FieldError::value_error(loc, &message, value.clone())),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// The stored text of a valid value, or why it is not valid.
fn check_value(kind: SettingKind, value: &Value) -> Result<String, String> {
    match kind {
        SettingKind::TradingMode => match value.as_str() {
            Some(mode @ ("research" | "live")) => Ok(mode.to_string()),
            _ => Err("must be \"research\" or \"live\"".into()),
        },
        SettingKind::Choice { options } => match value.as_str() {
            Some(choice) if options.contains(&choice) => Ok(choice.to_string()),
            _ => Err(format!("must be one of {}", options.join(", "))),
        },
        SettingKind::Count { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => Ok(n.to_string()),
            _ => Err(format!("must be a whole number from {min} to {max}")),
        },
        SettingKind::Number { min, max } => match value.as_f64() {
            Some(x) if x.is_finite() && (min..=max).contains(&x) => Ok(repr(x)),
            _ => Err(format!("must be a number from {min} to {max}")),
        },
        SettingKind::Eur { max } => match value.as_f64() {
            Some(x) if x.is_finite() && (0.0..=max).contains(&x) => Ok(repr(x)),
            _ => Err(format!("must be an amount in EUR from 0 to {max}")),
        },
    }
}

/// A number as the settings table keeps it ("2.0", "0.002").
fn repr(x: f64) -> String {
    crate::domain::py_json::py_float_repr(x)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn update(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn valid_values_become_their_stored_text() {
        let values = check_update(&update(&[
            (keys::TRADING_MODE, json!("live")),
            (keys::TRANSACTION_COST_PERCENT.key, json!(0.002)),
            (keys::TRANSACTION_COST_FIXED.key, json!(2)),
        ]))
        .unwrap();
        let values: BTreeMap<String, String> = values.into_iter().collect();
        assert_eq!(values[keys::TRADING_MODE], "live");
        assert_eq!(values[keys::TRANSACTION_COST_PERCENT.key], "0.002");
        assert_eq!(values[keys::TRANSACTION_COST_FIXED.key], "2.0");
    }

    #[test]
    fn every_problem_is_reported_at_its_key() {
        let errors = check_update(&update(&[
            ("no_such_setting", json!(1)),
            (keys::TRADING_MODE, json!("paper")),
            (keys::TRANSACTION_COST_PERCENT.key, json!(0.5)),
        ]))
        .unwrap_err();
        let located: Vec<(Value, &str)> = errors
            .iter()
            .map(|e| (e.loc[1].clone(), e.msg.as_str()))
            .collect();
        assert_eq!(located.len(), 3);
        assert!(located.contains(&(json!("no_such_setting"), "Value error, unknown setting")));
        assert!(
            located
                .iter()
                .any(|(key, msg)| key == keys::TRADING_MODE && msg.contains("research"))
        );
    }

    #[test]
    fn an_empty_update_is_refused() {
        let errors = check_update(&BTreeMap::new()).unwrap_err();
        assert_eq!(errors[0].loc, vec![Value::from("body")]);
    }
}
