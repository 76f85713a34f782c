//! The snapshot as the allocation planner sees it: one [`Asset`] per security with what may
//! be bought or sold today and why not, cash per currency, the group targets, and the
//! [`Policy`] the settings make.

use crate::allocation::{Asset, Book, Policy};

use super::snapshot::Snapshot;

/// Plans kept at each step of the allocation search.
const BEAM_WIDTH: usize = 4;

/// The book of `snapshot`.
pub fn book(snapshot: &Snapshot) -> Book {
    let settings = &snapshot.heuristic;
    let days_since = |at: &chrono::NaiveDateTime| (snapshot.taken_at - *at).num_days();
    let assets = snapshot
        .securities
        .iter()
        .map(|security| {
            let symbol = security.symbol.as_str();
            let currency = security.currency.clone().unwrap_or_else(|| "EUR".into());
            let rate = snapshot.rates.get(&currency).copied();
            let position = snapshot.positions.iter().find(|p| p.symbol == symbol);
            let quote = snapshot.prices.get(symbol).copied();
            let score = snapshot.scores.get(symbol).copied();
            let tradable = match (quote, rate) {
                (None, _) => Err(format!("no quote for {symbol}")),
                (_, None) => Err(format!("no FX rate for {currency}")),
                _ => Ok(()),
            };
            // What keeps it from any target, then what keeps it from a buy today.
            let eligible = tradable.clone().and_then(|()| {
                if snapshot.not_enough_history.iter().any(|s| s == symbol) {
                    return Err("not enough price history or metrics to score it".into());
                }
                if !security.allow_buy {
                    return Err("buying it is not allowed".into());
                }
                if let Some(score) = score
                    && score < settings.min_security_score
                {
                    return Err(format!(
                        "its score {score:.3} is under min_security_score {:.3}",
                        settings.min_security_score
                    ));
                }
                Ok(())
            });
            let buy = eligible
                .clone()
                .and_then(|()| match snapshot.last_buy.get(symbol) {
                    Some(at) if days_since(at) < settings.buy_cooldown_days => Err(format!(
                        "bought {} days ago; buy_cooldown_days is {}",
                        days_since(at),
                        settings.buy_cooldown_days
                    )),
                    _ => Ok(()),
                });
            let sell = tradable.and_then(|()| {
                if !security.allow_sell {
                    return Err("selling it is not allowed".into());
                }
                if let Some(at) = snapshot.first_held.get(symbol)
                    && days_since(at) < settings.min_hold_days
                {
                    return Err(format!(
                        "held {} days since its first buy; min_hold_days is {}",
                        days_since(at),
                        settings.min_hold_days
                    ));
                }
                if let Some(at) = snapshot.last_sell.get(symbol)
                    && days_since(at) < settings.sell_cooldown_days
                {
                    return Err(format!(
                        "sold {} days ago; sell_cooldown_days is {}",
                        days_since(at),
                        settings.sell_cooldown_days
                    ));
                }
                if let Some(p) = position
                    && p.avg_price > 0.0
                {
                    let change = (p.price - p.avg_price) / p.avg_price;
                    if change < settings.max_loss_threshold {
                        return Err(format!(
                            "it is {:.1} % below its average price; max_loss_threshold is {:.1} %",
                            -change * 100.0,
                            -settings.max_loss_threshold * 100.0
                        ));
                    }
                }
                Ok(())
            });
            Asset {
                symbol: security.symbol.clone(),
                name: security.name.clone(),
                rate: rate.unwrap_or(1.0),
                price: quote.or(position.map(|p| p.price)),
                lot: security.min_lot.max(1),
                quantity: position.map_or(0.0, |p| p.quantity),
                country_group: security
                    .country
                    .as_ref()
                    .map(|c| group_of(&snapshot.country_groups, c)),
                industry_group: security
                    .industry
                    .as_ref()
                    .map(|i| group_of(&snapshot.industry_groups, i)),
                score,
                eligible: eligible.is_ok(),
                buy,
                sell,
                currency,
            }
        })
        .collect();
    let mut rates: Vec<(String, f64)> = snapshot
        .rates
        .iter()
        .map(|(c, r)| (c.clone(), *r))
        .collect();
    rates.sort_by(|a, b| a.0.cmp(&b.0));
    Book {
        assets,
        cash: snapshot.cash.clone(),
        rates,
        rate_dates: snapshot.rate_dates.clone(),
        country_targets: targets(&snapshot.country_targets),
        industry_targets: targets(&snapshot.industry_targets),
    }
}

/// The policy of `snapshot`'s settings: the risk profile scales the tilt and the bands; the
/// plan holds no more steps than its depth, the cycle's orders and what is left of the day's
/// and the week's trades.
pub fn policy(snapshot: &Snapshot) -> Policy {
    let s = &snapshot.allocation;
    let (tilt, band) = s.risk_profile.factors();
    let mut max_steps = s.max_plan_depth.min(s.max_trades_per_cycle);
    if s.frequency_limits {
        max_steps = max_steps
            .min(s.max_trades_per_day - snapshot.trades_last_day as i64)
            .min(s.max_trades_per_week - snapshot.trades_last_week as i64);
    }
    Policy {
        min_cash_reserve_eur: s.min_cash_reserve_eur,
        cash_reserve_ratio: s.cash_reserve_ratio,
        score_tilt: s.score_tilt * tilt,
        max_position_weight: s.max_position_weight,
        min_position_weight: s.min_position_weight,
        band_absolute: s.band_absolute * band,
        band_relative: s.band_relative * band,
        fee_fixed_eur: snapshot.heuristic.transaction_cost_fixed,
        fee_rate: snapshot.heuristic.transaction_cost_percent,
        turnover_cost_rate: Policy::default().turnover_cost_rate,
        drift_point_value_bp: s.drift_point_value_bp,
        fee_worth_ratio: s.fee_worth_ratio,
        max_steps: usize::try_from(max_steps.max(0)).unwrap_or(0),
        converts_from_eur: s.research,
        beam_width: BEAM_WIDTH,
    }
}

/// A member's group, itself when no group lists it.
fn group_of(groups: &indexmap::IndexMap<String, String>, member: &str) -> String {
    groups
        .get(member)
        .cloned()
        .unwrap_or_else(|| member.to_string())
}

fn targets(map: &indexmap::IndexMap<String, f64>) -> Vec<(String, f64)> {
    map.iter().map(|(g, t)| (g.clone(), *t)).collect()
}

/// The portfolio's targets as they stand at `now`: each security's and group's target, band,
/// current weight and drift, the cash reserve and the settings' policy (`GET /api/targets`).
pub fn targets_now(
    store: &crate::store::Store,
    now: chrono::NaiveDateTime,
) -> Result<TargetsView, crate::store::StoreError> {
    let snapshot = Snapshot::take(store, now)?;
    let book = book(&snapshot);
    let policy = policy(&snapshot);
    let targets = crate::allocation::targets(&book, &policy);
    let securities = targets
        .securities
        .iter()
        .zip(&book.assets)
        .map(|(t, a)| SecurityTargetView {
            symbol: t.symbol.clone(),
            name: a.name.clone(),
            country_group: a.country_group.clone(),
            industry_group: a.industry_group.clone(),
            target: t.target,
            band: t.band,
            weight: t.weight,
            drift: t.target.map(|target| t.weight - target),
            outside_band: t
                .target
                .is_some_and(|target| (t.weight - target).abs() > t.band + 1e-12),
            note: t.note.clone(),
        })
        .collect();
    Ok(TargetsView {
        securities,
        groups: targets
            .groups
            .iter()
            .map(|g| GroupTargetView {
                drift: g.weight - g.target,
                outside_band: (g.weight - g.target).abs() > g.band + 1e-12,
                group: g.clone(),
            })
            .collect(),
        cash: CashTargetView {
            reserve: targets.cash,
            band: targets.cash_band,
            weight: targets.cash_weight,
            idle: (targets.cash_weight - targets.cash - targets.cash_band).max(0.0),
        },
        total_value_eur: targets.total_eur,
        risk_profile: snapshot.allocation.risk_profile,
        max_steps: policy.max_steps,
    })
}

/// `GET /api/targets`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetsView {
    pub securities: Vec<SecurityTargetView>,
    pub groups: Vec<GroupTargetView>,
    pub cash: CashTargetView,
    pub total_value_eur: f64,
    pub risk_profile: crate::allocation::RiskProfile,
    /// Most steps a plan may hold now (plan depth, orders per cycle, day's and week's quota).
    pub max_steps: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SecurityTargetView {
    pub symbol: String,
    pub name: String,
    pub country_group: Option<String>,
    pub industry_group: Option<String>,
    /// Fractions of the portfolio; no target when no group has an opinion on it.
    pub target: Option<f64>,
    pub band: f64,
    pub weight: f64,
    pub drift: Option<f64>,
    pub outside_band: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupTargetView {
    #[serde(flatten)]
    pub group: crate::allocation::GroupTarget,
    pub drift: f64,
    pub outside_band: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CashTargetView {
    pub reserve: f64,
    pub band: f64,
    pub weight: f64,
    /// Cash above the reserve and its band, a fraction of the portfolio.
    pub idle: f64,
}
