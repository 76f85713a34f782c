//! Trade-history rules of the heuristic path: buy and sell cooldowns and the sell-eligibility
//! hard blocks (spec §3.3–3.4). Every date comes from the caller; `now` included.

use chrono::{NaiveDateTime, TimeDelta};

use super::rejection::IneligibleWhy;

/// Whole days from `earlier` to `now`, rounded down (Python's `timedelta.days`, so a date in the
/// future gives a negative count).
pub fn days_between(earlier: NaiveDateTime, now: NaiveDateTime) -> i64 {
    let elapsed = now - earlier;
    let days = elapsed.num_days();
    // `num_days` truncates toward zero; a negative partial day belongs to the day before.
    match TimeDelta::try_days(days) {
        Some(whole) if elapsed < whole => days - 1,
        _ => days,
    }
}

/// Whether a trade at `at` falls in the cooldown of `days` days before `now`: the reference's
/// `executed_at >= now − days`, so the boundary instant itself is inside.
pub fn within_cooldown(at: NaiveDateTime, now: NaiveDateTime, days: i64) -> bool {
    match TimeDelta::try_days(days).and_then(|d| now.checked_sub_signed(d)) {
        Some(cutoff) => at >= cutoff,
        // A cooldown reaching before the calendar's start covers every trade.
        None => days > 0,
    }
}

/// The sell-eligibility thresholds (settings `max_loss_threshold`, `min_hold_days`,
/// `sell_cooldown_days`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SellRules {
    pub max_loss_threshold: f64,
    pub min_hold_days: i64,
    pub sell_cooldown_days: i64,
}

/// Why a position whose last transaction was at `last_transaction` may not be sold, checked in
/// the reference's order: loss first, then holding period, then cooldown. `None` = eligible.
pub fn sell_block(
    profit_pct: f64,
    last_transaction: NaiveDateTime,
    now: NaiveDateTime,
    rules: SellRules,
) -> Option<IneligibleWhy> {
    if profit_pct < rules.max_loss_threshold {
        return Some(IneligibleWhy::LossBeyondThreshold {
            loss: profit_pct,
            threshold: rules.max_loss_threshold,
        });
    }
    let days = days_between(last_transaction, now);
    if days < rules.min_hold_days {
        return Some(IneligibleWhy::HeldTooShort {
            days,
            min_days: rules.min_hold_days,
        });
    }
    if days < rules.sell_cooldown_days {
        return Some(IneligibleWhy::TradedRecently {
            days,
            cooldown_days: rules.sell_cooldown_days,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    const RULES: SellRules = SellRules {
        max_loss_threshold: -0.20,
        min_hold_days: 90,
        sell_cooldown_days: 180,
    };

    #[test]
    fn days_round_down_like_timedelta_days() {
        assert_eq!(days_between(at(2025, 1, 1, 12), at(2025, 1, 3, 11)), 1);
        assert_eq!(days_between(at(2025, 1, 1, 12), at(2025, 1, 3, 12)), 2);
        // Half a day in the future is day −1, as in Python.
        assert_eq!(days_between(at(2025, 1, 3, 12), at(2025, 1, 3, 0)), -1);
        assert_eq!(days_between(at(2025, 1, 3, 0), at(2025, 1, 3, 0)), 0);
    }

    #[test]
    fn cooldown_includes_its_boundary() {
        let now = at(2025, 3, 31, 12);
        assert!(within_cooldown(at(2025, 3, 1, 12), now, 30));
        assert!(!within_cooldown(at(2025, 3, 1, 11), now, 30));
        assert!(within_cooldown(at(2025, 3, 2, 12), now, 30));
    }

    #[test]
    fn loss_is_checked_before_holding_time() {
        let now = at(2025, 6, 1, 0);
        let block = sell_block(-0.25, at(2025, 5, 31, 0), now, RULES);
        assert_eq!(
            block,
            Some(IneligibleWhy::LossBeyondThreshold {
                loss: -0.25,
                threshold: -0.20
            })
        );
        // Exactly at the threshold is not beyond it.
        assert_eq!(sell_block(-0.20, at(2024, 1, 1, 0), now, RULES), None);
    }

    #[test]
    fn holding_period_then_cooldown() {
        let now = at(2025, 6, 1, 0);
        let held = |days: i64| now - TimeDelta::days(days);
        assert_eq!(
            sell_block(0.0, held(89), now, RULES),
            Some(IneligibleWhy::HeldTooShort {
                days: 89,
                min_days: 90
            })
        );
        assert_eq!(
            sell_block(0.0, held(90), now, RULES),
            Some(IneligibleWhy::TradedRecently {
                days: 90,
                cooldown_days: 180
            })
        );
        assert_eq!(
            sell_block(0.0, held(179), now, RULES),
            Some(IneligibleWhy::TradedRecently {
                days: 179,
                cooldown_days: 180
            })
        );
        assert_eq!(sell_block(0.0, held(180), now, RULES), None);
    }
}
