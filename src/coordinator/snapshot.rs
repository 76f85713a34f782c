//! What a planning run sees: one consistent read of the store, converted to the planner's
//! float world at a single boundary (positions valued at their quote in EUR with the stored
//! rate, "1 EUR = rate foreign"), with the broker's open orders and our own applied.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use indexmap::IndexMap;

use crate::allocation::RiskProfile;
use crate::domain::valuation::{
    AllocationKind, GroupMember, GroupTarget, Holding, Listing, ValuationInputs,
};
use crate::domain::{Security, Side};
use crate::evaluator::ScoringProfile;
use crate::evaluator::symbol_terms::metric_names;
use crate::opportunity::heuristic::HeuristicSettings;
use crate::store::{OrderStatus, Store, StoreError, TargetKind, TradingMode, keys};

/// A held position as the planner values it.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedPosition {
    pub symbol: String,
    pub quantity: f64,
    pub avg_price: f64,
    /// The last quote, else the average price, in `currency`.
    pub price: f64,
    pub currency: String,
    /// Native units per EUR.
    pub rate: f64,
    pub value_eur: f64,
}

/// Everything one run reads, taken at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub taken_at: NaiveDateTime,
    pub securities: Vec<Security>,
    pub positions: Vec<PricedPosition>,
    /// Cash the plan may spend: all cash in EUR after open buy orders less the minimum
    /// reserve, never negative.
    pub available_cash_eur: f64,
    pub total_value_eur: f64,
    /// Native units per EUR by currency (EUR is 1).
    pub rates: HashMap<String, f64>,
    /// The day each rate was published (ISO date), where known.
    pub rate_dates: Vec<(String, String)>,
    pub prices: IndexMap<String, f64>,
    pub scores: HashMap<String, f64>,
    pub country_targets: IndexMap<String, f64>,
    pub country_groups: IndexMap<String, String>,
    pub industry_targets: IndexMap<String, f64>,
    pub industry_groups: IndexMap<String, String>,
    /// Cash per currency after open buy orders, in that currency's units.
    pub cash: Vec<(String, f64)>,
    /// When the lot still held was first bought, by symbol (holding periods count from it).
    pub first_held: HashMap<String, NaiveDateTime>,
    /// Trades executed in the last 24 hours and the last 7 days (the frequency limits).
    pub trades_last_day: usize,
    pub trades_last_week: usize,
    pub allocation: AllocationSettings,
    pub heuristic: HeuristicSettings,
    pub last_buy: HashMap<String, NaiveDateTime>,
    pub last_sell: HashMap<String, NaiveDateTime>,
    /// Held quantities and cash before any open order is applied, for the portfolio hash.
    pub held_before: Vec<(String, f64)>,
    pub cash_before: Vec<(String, f64)>,
    /// Pending orders as (symbol, side, quantity, price, currency), for the portfolio hash.
    pub pending: Vec<(String, Side, f64, f64, String)>,
    /// Data kinds whose last sync failed or that were never refreshed.
    pub stale: Vec<String>,
    /// Securities left out of buys because they have no valid metric from any source (the
    /// scoring service has none, and their price history is too short for our own): they
    /// are not scored as average.
    pub not_enough_history: Vec<String>,
}

/// The allocation settings a native plan is made with (docs/settings.md), as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AllocationSettings {
    pub research: bool,
    pub min_cash_reserve_eur: f64,
    pub cash_reserve_ratio: f64,
    pub score_tilt: f64,
    pub max_position_weight: f64,
    pub min_position_weight: f64,
    pub band_absolute: f64,
    pub band_relative: f64,
    pub risk_profile: RiskProfile,
    pub drift_point_value_bp: f64,
    pub fee_worth_ratio: f64,
    pub max_plan_depth: i64,
    pub max_trades_per_cycle: i64,
    pub frequency_limits: bool,
    pub max_trades_per_day: i64,
    pub max_trades_per_week: i64,
}

/// The data kinds a plan depends on.
const PLAN_DATA: [&str; 5] = ["positions", "cash", "quotes", "scores", "metrics"];

impl Snapshot {
    /// Reads the store. `now` is the instant every "days since" is measured to.
    pub fn take(store: &Store, now: NaiveDateTime) -> Result<Snapshot, StoreError> {
        let records = store.securities()?;
        let quotes = quote_prices(store)?;
        let rates = rates_per_eur(store)?;
        let rate_of = |currency: &str| rates.get(currency).copied().unwrap_or(1.0);

        // Open orders: the broker's list, plus ours it may not list yet.
        let mut pending: Vec<(String, Side, f64, f64, String)> = store
            .broker_orders()?
            .into_iter()
            .map(|o| {
                let price = o.price.to_f64();
                (
                    o.symbol,
                    o.side,
                    o.quantity.as_decimal().to_f64(),
                    price,
                    o.currency.to_string(),
                )
            })
            .collect();
        for order in store.pending_orders(Some(OrderStatus::Open))? {
            let o = order.order;
            if !pending.iter().any(|p| p.0 == o.symbol) {
                pending.push((
                    o.symbol,
                    o.side,
                    o.quantity.as_decimal().to_f64(),
                    o.price.to_f64(),
                    o.currency.to_string(),
                ));
            }
        }

        let mut held: BTreeMap<String, (f64, f64, String)> = store
            .positions()?
            .into_iter()
            .map(|p| {
                (
                    p.symbol,
                    (
                        p.quantity.as_decimal().to_f64(),
                        p.avg_price.to_f64(),
                        p.currency.to_string(),
                    ),
                )
            })
            .collect();
        let mut cash: BTreeMap<String, f64> = store
            .cash_balances()?
            .into_iter()
            .map(|m| (m.currency().to_string(), m.to_decimal().to_f64()))
            .collect();
        let held_before: Vec<(String, f64)> =
            held.iter().map(|(s, (q, _, _))| (s.clone(), *q)).collect();
        let cash_before: Vec<(String, f64)> = cash.iter().map(|(c, a)| (c.clone(), *a)).collect();
        let currency_of: HashMap<&str, String> = records
            .iter()
            .map(|s| (s.symbol.as_str(), s.currency.to_string()))
            .collect();
        for (symbol, side, quantity, price, currency) in &pending {
            match side {
                Side::Buy => {
                    *cash.entry(currency.clone()).or_insert(0.0) -= quantity * price;
                    let entry = held.entry(symbol.clone()).or_insert((
                        0.0,
                        *price,
                        currency_of
                            .get(symbol.as_str())
                            .cloned()
                            .unwrap_or(currency.clone()),
                    ));
                    entry.0 += quantity;
                }
                Side::Sell => {
                    if let Some(entry) = held.get_mut(symbol) {
                        entry.0 = (entry.0 - quantity).max(0.0);
                    }
                }
            }
        }
        let positions: Vec<PricedPosition> = held
            .into_iter()
            .filter(|(_, (quantity, _, _))| *quantity > 0.0)
            .map(|(symbol, (quantity, avg_price, currency))| {
                let price = quotes.get(&symbol).copied().unwrap_or(avg_price);
                let rate = rate_of(&currency);
                PricedPosition {
                    value_eur: quantity * price / rate,
                    symbol,
                    quantity,
                    avg_price,
                    price,
                    currency,
                    rate,
                }
            })
            .collect();
        let cash_eur: f64 = cash.iter().map(|(c, amount)| amount / rate_of(c)).sum();
        let reserve = store
            .eur_setting(keys::MIN_CASH_RESERVE)?
            .to_decimal()
            .to_f64();
        let invested: f64 = positions.iter().map(|p| p.value_eur).sum();

        let securities: Vec<Security> = records
            .iter()
            .filter(|s| s.active || positions.iter().any(|p| p.symbol == s.symbol))
            .map(|s| Security {
                symbol: s.symbol.clone(),
                name: s.name.clone(),
                isin: s.isin.clone(),
                country: s.country.clone(),
                industry: s.industry.clone(),
                allow_buy: s.allow_buy && s.active,
                allow_sell: s.allow_sell,
                min_lot: s.min_lot,
                priority_multiplier: s.priority_multiplier,
                currency: Some(s.currency.to_string()),
            })
            .collect();
        let prices: IndexMap<String, f64> = securities
            .iter()
            .filter_map(|s| Some((s.symbol.clone(), *quotes.get(&s.symbol)?)))
            .collect();

        let symbols: Vec<&str> = securities.iter().map(|s| s.symbol.as_str()).collect();
        let mut names = metric_names(ScoringProfile::Corrected);
        names.extend(metric_names(ScoringProfile::PythonCompat));
        names.extend(["CAGR_10Y"]);
        names.sort_unstable();
        names.dedup();
        let metrics = store.valid_metrics(&symbols, &names, &crate::store::iso(now))?;
        let mut securities = securities;
        let mut not_enough_history = Vec::new();
        for security in securities.iter_mut().filter(|s| s.allow_buy) {
            if metrics.get(&security.symbol).is_none_or(|m| m.is_empty()) {
                security.allow_buy = false;
                not_enough_history.push(security.symbol.clone());
            }
        }
        let scores = store
            .scores()?
            .into_iter()
            .map(|s| (s.symbol, s.total_score))
            .collect();
        let all_targets = store.allocation_targets()?;
        let all_groups = store.allocation_groups()?;
        let targets_of = |kind| -> IndexMap<String, f64> {
            all_targets
                .iter()
                .filter(|t| t.kind == kind)
                .map(|t| (t.group.clone(), t.target.to_f64()))
                .collect()
        };
        let groups_of = |kind| -> IndexMap<String, String> {
            all_groups
                .iter()
                .filter(|g| g.kind == kind)
                .map(|g| (g.member.clone(), g.group.clone()))
                .collect()
        };
        let country_targets = targets_of(TargetKind::Country);
        let country_groups = groups_of(TargetKind::Country);
        let industry_targets = targets_of(TargetKind::Industry);
        let industry_groups = groups_of(TargetKind::Industry);

        let ratio = |setting| store.ratio_setting(setting).map(|d| d.to_f64());
        let heuristic = HeuristicSettings {
            sell_cooldown_days: store.count_setting(keys::SELL_COOLDOWN_DAYS)?,
            min_hold_days: store.count_setting(keys::MIN_HOLD_DAYS)?,
            max_loss_threshold: ratio(keys::MAX_LOSS_THRESHOLD)?,
            buy_cooldown_days: store.count_setting(keys::BUY_COOLDOWN_DAYS)?,
            min_security_score: ratio(keys::MIN_SECURITY_SCORE)?,
            transaction_cost_fixed: store
                .eur_setting(keys::TRANSACTION_COST_FIXED)?
                .to_decimal()
                .to_f64(),
            transaction_cost_percent: ratio(keys::TRANSACTION_COST_PERCENT)?,
        };

        let allocation = allocation_settings(store)?;

        let mut last_buy = HashMap::new();
        let mut last_sell = HashMap::new();
        // Walking the ledger in time order: the running quantity of each symbol, and when the
        // lot still held was first bought (a position sold out starts again at its next buy).
        let mut running: HashMap<String, (f64, Option<NaiveDateTime>)> = HashMap::new();
        let (mut trades_last_day, mut trades_last_week) = (0, 0);
        for trade in store.trades(None)? {
            let Some(at) = parse_time(&trade.trade.executed_at) else {
                continue;
            };
            let age = now - at;
            if age >= chrono::Duration::zero() {
                if age < chrono::Duration::days(1) {
                    trades_last_day += 1;
                }
                if age < chrono::Duration::days(7) {
                    trades_last_week += 1;
                }
            }
            let quantity = trade.trade.quantity.as_decimal().to_f64();
            let held = running
                .entry(trade.trade.symbol.clone())
                .or_insert((0.0, None));
            match trade.trade.side {
                Side::Buy => {
                    if held.0 <= 0.0 {
                        held.1 = Some(at);
                    }
                    held.0 += quantity;
                }
                Side::Sell => {
                    held.0 -= quantity;
                    if held.0 <= 1e-9 {
                        *held = (0.0, None);
                    }
                }
            }
            let map = match trade.trade.side {
                Side::Buy => &mut last_buy,
                Side::Sell => &mut last_sell,
            };
            let entry = map.entry(trade.trade.symbol).or_insert(at);
            if at > *entry {
                *entry = at;
            }
        }
        let freshness = store.all_data_freshness()?;
        let stale = PLAN_DATA
            .iter()
            .filter(|kind| {
                freshness
                    .iter()
                    .find(|f| f.kind == **kind)
                    .is_none_or(|f| f.stale)
            })
            .map(|kind| kind.to_string())
            .collect();

        let first_held = running
            .into_iter()
            .filter_map(|(symbol, (_, since))| Some((symbol, since?)))
            .collect();
        let rate_dates = store
            .fx_rates_dated()?
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.rate.currency().to_string(),
                    r.rate_date?.format("%Y-%m-%d").to_string(),
                ))
            })
            .collect();
        Ok(Snapshot {
            taken_at: now,
            rate_dates,
            industry_targets,
            industry_groups,
            cash: cash.iter().map(|(c, a)| (c.clone(), *a)).collect(),
            first_held,
            trades_last_day,
            trades_last_week,
            allocation,
            securities,
            total_value_eur: invested + cash_eur.max(0.0),
            available_cash_eur: (cash_eur - reserve).max(0.0),
            positions,
            rates,
            prices,
            scores,
            country_targets,
            country_groups,
            heuristic,
            last_buy,
            last_sell,
            held_before,
            cash_before,
            pending,
            stale,
            not_enough_history,
        })
    }

    /// The canonical portfolio hash of what the plan was made for.
    pub fn portfolio_hash(&self) -> String {
        use crate::planning::hash::{HashInput, HashOrder, UniverseEntry, portfolio_hash};
        portfolio_hash(&HashInput {
            positions: self.held_before.clone(),
            securities: self
                .securities
                .iter()
                .map(|s| UniverseEntry {
                    symbol: s.symbol.clone(),
                    allow_buy: s.allow_buy,
                    allow_sell: s.allow_sell,
                    min_target: None,
                    max_target: None,
                    country: s.country.clone(),
                    industry: s.industry.clone(),
                })
                .collect(),
            cash: self.cash_before.clone(),
            pending_orders: self
                .pending
                .iter()
                .map(|(symbol, side, quantity, price, currency)| HashOrder {
                    symbol: symbol.clone(),
                    side: *side,
                    quantity: *quantity,
                    price: *price,
                    currency: currency.clone(),
                })
                .collect(),
        })
    }
}

/// The allocation settings as stored; an unknown risk profile is an error naming it.
fn allocation_settings(store: &Store) -> Result<AllocationSettings, StoreError> {
    let ratio = |setting| store.ratio_setting(setting).map(|d| d.to_f64());
    let risk = store
        .setting(keys::RISK_PROFILE)?
        .unwrap_or_else(|| "balanced".into());
    let risk_profile =
        risk.trim()
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| StoreError::Invalid {
                what: "setting risk_profile",
                reason: format!("{risk:?} is not cautious, balanced or bold"),
            })?;
    Ok(AllocationSettings {
        research: store.trading_mode()? == TradingMode::Research,
        min_cash_reserve_eur: store
            .eur_setting(keys::MIN_CASH_RESERVE)?
            .to_decimal()
            .to_f64(),
        cash_reserve_ratio: ratio(keys::CASH_RESERVE_RATIO)?,
        score_tilt: ratio(keys::TARGET_SCORE_TILT)?,
        max_position_weight: ratio(keys::MAX_POSITION_WEIGHT)?,
        min_position_weight: ratio(keys::MIN_POSITION_WEIGHT)?,
        band_absolute: ratio(keys::BAND_ABSOLUTE)?,
        band_relative: ratio(keys::BAND_RELATIVE)?,
        risk_profile,
        drift_point_value_bp: ratio(keys::DRIFT_POINT_VALUE_BP)?,
        fee_worth_ratio: ratio(keys::FEE_WORTH_RATIO)?,
        max_plan_depth: store.count_setting(keys::MAX_PLAN_DEPTH)?,
        max_trades_per_cycle: store.count_setting(keys::MAX_TRADES_PER_CYCLE)?,
        frequency_limits: store.flag_setting(keys::TRADE_FREQUENCY_LIMITS_ENABLED)?,
        max_trades_per_day: store.count_setting(keys::MAX_TRADES_PER_DAY)?,
        max_trades_per_week: store.count_setting(keys::MAX_TRADES_PER_WEEK)?,
    })
}

/// The last quote of each symbol, as the planner's floats.
pub fn quote_prices(store: &Store) -> Result<HashMap<String, f64>, StoreError> {
    Ok(store
        .quotes()?
        .into_iter()
        .map(|q| (q.symbol, q.price.to_f64()))
        .collect())
}

/// Native units per EUR by currency, EUR included (1), as the planner's floats.
pub fn rates_per_eur(store: &Store) -> Result<HashMap<String, f64>, StoreError> {
    let mut rates: HashMap<String, f64> = store
        .fx_rates()?
        .into_iter()
        .map(|r| (r.currency().to_string(), r.per_eur().to_f64()))
        .collect();
    rates.insert("EUR".into(), 1.0);
    Ok(rates)
}

/// What the valuation of the portfolio reads (`GET /api/portfolio`): holdings, the universe,
/// quotes, FX rates, cash and the allocation targets.
pub fn valuation_inputs(store: &Store) -> Result<ValuationInputs, StoreError> {
    let kind = |kind: TargetKind| match kind {
        TargetKind::Country => AllocationKind::Country,
        TargetKind::Industry => AllocationKind::Industry,
    };
    Ok(ValuationInputs {
        holdings: store
            .positions()?
            .into_iter()
            .map(|p| Holding {
                symbol: p.symbol,
                quantity: p.quantity,
                avg_price: p.avg_price,
                currency: p.currency,
            })
            .collect(),
        listings: store
            .securities()?
            .into_iter()
            .map(|s| {
                let listing = Listing {
                    name: s.name,
                    country: s.country,
                    industry: s.industry,
                };
                (s.symbol, listing)
            })
            .collect(),
        quotes: quote_prices(store)?,
        rates_per_eur: rates_per_eur(store)?,
        cash: store.cash_balances()?,
        targets: store
            .allocation_targets()?
            .into_iter()
            .map(|t| GroupTarget {
                kind: kind(t.kind),
                group: t.group,
                target: t.target.to_f64(),
            })
            .collect(),
        groups: store
            .allocation_groups()?
            .into_iter()
            .map(|g| GroupMember {
                kind: kind(g.kind),
                member: g.member,
                group: g.group,
            })
            .collect(),
    })
}

/// An ISO local time as the ledger stores it, with or without fractional seconds.
fn parse_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok())
}
