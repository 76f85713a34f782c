//! Turning plan steps into orders: paper fills in research mode (the default), broker orders
//! in live mode.
//!
//! The rules every step passes, in both modes, before anything is sent: at most
//! `max_trades_per_cycle` orders per call; a known security that allows the side; a quantity
//! that is a whole number of lots; a stored quote to price it; no open order for the symbol
//! (ours or one the broker lists); and enough cash in the trade's currency for a buy,
//! transaction costs included. Each step's key is `plan-<id>-step-<n>`, so a step executes at
//! most once however often a cycle is retried.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::{Currency, Decimal, Money, Quantity, Side};
use crate::store::{NewOrder, PaperFill, Recorded, Store, StoreError, TradingMode, keys};

/// One step of a plan to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    pub plan_id: i64,
    pub step: u32,
    pub symbol: String,
    pub side: Side,
    pub quantity: Quantity,
}

impl PlanStep {
    /// The key that makes the step execute at most once.
    pub fn idempotency_key(&self) -> String {
        format!("plan-{}-step-{}", self.plan_id, self.step)
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum StepOutcome {
    /// Research mode: settled against the local ledger at the stored quote.
    Filled {
        step: u32,
        trade_id: i64,
        price: Decimal,
        currency: Currency,
    },
    /// Live mode: the broker accepted the order.
    Placed {
        step: u32,
        pending_order_id: i64,
        broker_order_id: String,
    },
    /// The step's key was executed before; nothing was sent again.
    AlreadyExecuted { step: u32 },
    /// Live mode: the answer was lost (timeout, dropped connection), so the order may or may
    /// not exist. It stays open, blocking the symbol, until the trades sync settles it.
    Unconfirmed {
        step: u32,
        pending_order_id: i64,
        error: String,
    },
    /// Not sent, and why.
    Skipped {
        step: u32,
        code: SkipCode,
        reason: String,
    },
}

/// Why a step was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCode {
    CycleLimit,
    UnknownSecurity,
    SideNotAllowed,
    NotWholeLots,
    NoQuote,
    NoFxRate,
    OpenOrder,
    InsufficientCash,
    InsufficientShares,
    Rejected,
    /// Live mode: the broker lists an open order whose symbol or side cannot be read.
    UnattributableOrder,
}

/// A broker answer to a live order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOrderError {
    /// The broker said no; no order exists.
    Rejected(String),
    /// No answer (timeout, connection lost); an order may exist.
    Unknown(String),
}

/// The broker's order route, used only in live mode.
pub trait OrderGateway: Send + Sync {
    /// Places a market order; returns the broker's order id.
    fn place_order(
        &self,
        symbol: &str,
        side: Side,
        quantity: Quantity,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<String, PlaceOrderError>> + Send;
}

/// A gateway for research mode that refuses every order, for callers that have no broker.
pub struct NoBroker;

impl OrderGateway for NoBroker {
    async fn place_order(
        &self,
        _symbol: &str,
        _side: Side,
        _quantity: Quantity,
        _idempotency_key: &str,
    ) -> Result<String, PlaceOrderError> {
        Err(PlaceOrderError::Rejected(
            "no broker is configured (upstream.tradernet.url)".into(),
        ))
    }
}

impl OrderGateway for crate::upstream::TradernetClient {
    async fn place_order(
        &self,
        symbol: &str,
        side: Side,
        quantity: Quantity,
        idempotency_key: &str,
    ) -> Result<String, PlaceOrderError> {
        use crate::upstream::UpstreamError;
        match crate::upstream::TradernetClient::place_order(
            self,
            symbol,
            side,
            quantity,
            idempotency_key,
        )
        .await
        {
            Ok(placed) => Ok(placed.order_id),
            // The broker answered no, or the request never left: no order exists.
            Err(
                error @ (UpstreamError::Application { .. } | UpstreamError::CircuitOpen { .. }),
            ) => Err(PlaceOrderError::Rejected(error.to_string())),
            Err(error @ UpstreamError::Status { status, .. }) if (400..500).contains(&status) => {
                Err(PlaceOrderError::Rejected(error.to_string()))
            }
            // A timeout, a dropped connection, a 5xx or a garbled answer: it may have been
            // placed.
            Err(error) => Err(PlaceOrderError::Unknown(error.to_string())),
        }
    }
}

/// The mode used and each step's outcome, in step order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionReport {
    pub mode: &'static str,
    pub outcomes: Vec<StepOutcome>,
}

/// Errors that stop a cycle (the database failed); a step that cannot execute is a
/// [`StepOutcome::Skipped`], not an error.
#[derive(Debug, thiserror::Error)]
pub enum ExecutionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a database task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Executes `steps` in order under the stored trading mode. The broker is called only in live
/// mode; a paper fill is recorded at `now` (the service's time, or a backtest's simulated day).
pub async fn execute_steps<G: OrderGateway>(
    store: &Arc<Store>,
    broker: &G,
    steps: &[PlanStep],
    now: NaiveDateTime,
) -> Result<ExecutionReport, ExecutionError> {
    let (mode, max_trades) = on_store(store, |s| {
        Ok::<_, StoreError>((
            s.trading_mode()?,
            s.count_setting(keys::MAX_TRADES_PER_CYCLE)?,
        ))
    })
    .await??;
    let max_trades = usize::try_from(max_trades.max(0)).unwrap_or(0);
    let unattributable = match mode {
        TradingMode::Live => on_store(store, |s| s.unattributable_orders()).await??,
        TradingMode::Research => Vec::new(),
    };
    let mut outcomes = Vec::with_capacity(steps.len());
    let mut sent = 0usize;
    // Live mode: what this cycle's earlier buys committed, per currency; the broker settles
    // later, so the synced cash does not show it yet.
    // Orders of earlier cycles still open hold their cash too (at their expected price).
    let mut committed: BTreeMap<Currency, Money> = match mode {
        TradingMode::Live => on_store(store, open_buys_by_currency).await??,
        TradingMode::Research => BTreeMap::new(),
    };
    for step in steps {
        if !unattributable.is_empty() {
            outcomes.push(skip(
                step,
                SkipCode::UnattributableOrder,
                format!(
                    "the broker lists {} open order(s) without a readable symbol or side; \
                     live orders wait until it no longer does",
                    unattributable.len()
                ),
            ));
            continue;
        }
        if sent >= max_trades {
            outcomes.push(skip(
                step,
                SkipCode::CycleLimit,
                format!("at most {max_trades} orders per cycle (max_trades_per_cycle)"),
            ));
            continue;
        }
        let checked = {
            let step = step.clone();
            on_store(store, move |s| check_step(s, &step)).await??
        };
        let order = match checked {
            Ok(order) => order,
            Err(outcome) => {
                outcomes.push(outcome);
                continue;
            }
        };
        let outcome = match mode {
            TradingMode::Research => {
                let step = step.clone();
                on_store(store, move |s| paper_fill(s, &step, &order, now)).await??
            }
            TradingMode::Live => {
                let cost = match step.side {
                    Side::Buy => Some(order_cost(step, &order)?),
                    Side::Sell => None,
                };
                if let Some(cost) = cost {
                    let currency = order.currency;
                    let cash = on_store(store, move |s| s.cash_balance(currency)).await??;
                    let cash = cash.unwrap_or(Money::zero(currency));
                    let earlier = committed
                        .get(&currency)
                        .copied()
                        .unwrap_or(Money::zero(currency));
                    if !covers_without_margin(cash, earlier, cost).map_err(StoreError::from)? {
                        outcomes.push(skip(
                            step,
                            SkipCode::InsufficientCash,
                            format!(
                                "buying costs {cost} and {cash} is held, {earlier} of it taken by \
                                 open and earlier orders: the broker would lend the rest \
                                 (margin), so the order is not sent"
                            ),
                        ));
                        continue;
                    }
                }
                let outcome = live_order(store, broker, step, &order).await?;
                if let Some(cost) = cost
                    && matches!(
                        outcome,
                        StepOutcome::Placed { .. } | StepOutcome::Unconfirmed { .. }
                    )
                {
                    let total = match committed.get(&cost.currency()) {
                        Some(sum) => sum.checked_add(cost).map_err(StoreError::from)?,
                        None => cost,
                    };
                    committed.insert(cost.currency(), total);
                }
                outcome
            }
        };
        if matches!(
            outcome,
            StepOutcome::Filled { .. }
                | StepOutcome::Placed { .. }
                | StepOutcome::Unconfirmed { .. }
        ) {
            sent += 1;
        }
        outcomes.push(outcome);
    }
    Ok(ExecutionReport {
        mode: mode.as_str(),
        outcomes,
    })
}

/// A step that passed the checks: its price, currency and costs.
#[derive(Debug, Clone)]
struct PricedOrder {
    price: Decimal,
    currency: Currency,
    fee: Money,
    rate: crate::domain::FxRate,
}

/// The value of our open buy orders per currency: cash the broker will take when they fill.
fn open_buys_by_currency(store: &Store) -> Result<BTreeMap<Currency, Money>, StoreError> {
    let mut sums: BTreeMap<Currency, Money> = BTreeMap::new();
    for open in store.pending_orders(Some(crate::store::OrderStatus::Open))? {
        if open.order.side != Side::Buy {
            continue;
        }
        let value =
            Money::from_price_quantity(open.order.price, open.order.quantity, open.order.currency)?;
        let total = match sums.get(&open.order.currency) {
            Some(sum) => sum.checked_add(value)?,
            None => value,
        };
        sums.insert(open.order.currency, total);
    }
    Ok(sums)
}

/// What a buy takes from the currency's cash: its value at the stored quote plus costs.
fn order_cost(step: &PlanStep, order: &PricedOrder) -> Result<Money, StoreError> {
    let value = Money::from_price_quantity(order.price, step.quantity, order.currency)?;
    Ok(value.checked_add(order.fee)?)
}

/// Whether `cash` of a currency, less what `earlier` orders of the cycle committed, covers
/// `cost` without borrowing: the broker's buy allows margin by default and lends whatever the
/// cash does not cover, so a buy is sent only when this holds.
pub(crate) fn covers_without_margin(
    cash: Money,
    earlier: Money,
    cost: Money,
) -> Result<bool, crate::domain::MoneyError> {
    Ok(!cash.checked_sub(earlier)?.checked_sub(cost)?.is_negative())
}

fn skip(step: &PlanStep, code: SkipCode, reason: String) -> StepOutcome {
    StepOutcome::Skipped {
        step: step.step,
        code,
        reason,
    }
}

/// The checks of the module documentation; `Ok(Err(outcome))` is a skipped step.
fn check_step(
    store: &Store,
    step: &PlanStep,
) -> Result<Result<PricedOrder, StepOutcome>, StoreError> {
    let key = step.idempotency_key();
    if store.trade_by_idempotency_key(&key)?.is_some() || store.order_by_key(&key)?.is_some() {
        return Ok(Err(StepOutcome::AlreadyExecuted { step: step.step }));
    }
    let Some(security) = store.security(&step.symbol)? else {
        return Ok(Err(skip(
            step,
            SkipCode::UnknownSecurity,
            format!("{} is not in the universe", step.symbol),
        )));
    };
    let allowed = match step.side {
        Side::Buy => security.allow_buy && security.active,
        Side::Sell => security.allow_sell,
    };
    if !allowed {
        return Ok(Err(skip(
            step,
            SkipCode::SideNotAllowed,
            format!("{} does not allow {:?}", security.symbol, step.side),
        )));
    }
    let lot = Decimal::from_i64(security.min_lot.max(1));
    let lots = step.quantity.as_decimal().checked_div(lot, 6)?;
    if step.quantity.is_zero() || lots.scale() != 0 {
        return Ok(Err(skip(
            step,
            SkipCode::NotWholeLots,
            format!(
                "{} {} is not a whole number of lots of {}",
                step.quantity, security.symbol, security.min_lot
            ),
        )));
    }
    let Some(quote) = store.quote(&security.symbol)? else {
        return Ok(Err(skip(
            step,
            SkipCode::NoQuote,
            format!("no stored quote for {}", security.symbol),
        )));
    };
    if quote.currency != security.currency {
        return Ok(Err(skip(
            step,
            SkipCode::NoQuote,
            format!(
                "the quote of {} is in {}, the security trades in {}",
                security.symbol, quote.currency, security.currency
            ),
        )));
    }
    if let Some(open) = store.open_order_for(&security.symbol)? {
        return Ok(Err(skip(
            step,
            SkipCode::OpenOrder,
            format!("order {} for {} is still open", open.id, security.symbol),
        )));
    }
    if let Some(open) = store
        .broker_orders()?
        .into_iter()
        .find(|o| o.symbol == security.symbol)
    {
        return Ok(Err(skip(
            step,
            SkipCode::OpenOrder,
            format!(
                "the broker lists order {} for {} as open",
                open.broker_id, security.symbol
            ),
        )));
    }
    let currency = security.currency;
    let Some(rate) = store.fx_rate(currency)? else {
        return Ok(Err(skip(
            step,
            SkipCode::NoFxRate,
            format!("no FX rate for {currency} to value the transaction costs"),
        )));
    };
    let value = Money::from_price_quantity(quote.price, step.quantity, currency)?;
    let fixed = rate.from_eur(store.eur_setting(keys::TRANSACTION_COST_FIXED)?)?;
    let variable = Money::from_decimal_rounded(
        value
            .to_decimal()
            .checked_mul(store.ratio_setting(keys::TRANSACTION_COST_PERCENT)?)?,
        currency,
    )?;
    let fee = fixed.checked_add(variable)?;
    let cash = store
        .cash_balance(currency)?
        .unwrap_or(Money::zero(currency));
    match step.side {
        Side::Buy => {
            let cost = value.checked_add(fee)?;
            let shortfall = cost.checked_sub(cash)?;
            // A shortfall in a foreign currency is converted from EUR cash (paper fills do
            // that; a broker converts or refuses on its own).
            let covered = if shortfall.minor() <= 0 {
                true
            } else if currency == Currency::EUR {
                false
            } else {
                let (eur, _) = crate::store::eur_for(rate, shortfall)?;
                let eur_cash = store
                    .cash_balance(Currency::EUR)?
                    .unwrap_or(Money::zero(Currency::EUR));
                !eur_cash.checked_sub(eur)?.is_negative()
            };
            if !covered {
                return Ok(Err(skip(
                    step,
                    SkipCode::InsufficientCash,
                    format!("buying costs {cost}, {cash} available"),
                )));
            }
        }
        Side::Sell => {
            let held = store
                .positions()?
                .into_iter()
                .find(|p| p.symbol == security.symbol)
                .map_or(Decimal::ZERO, |p| p.quantity.as_decimal());
            if step.quantity.as_decimal() > held {
                return Ok(Err(skip(
                    step,
                    SkipCode::InsufficientShares,
                    format!("{held} {} held", security.symbol),
                )));
            }
        }
    }
    Ok(Ok(PricedOrder {
        price: quote.price,
        currency,
        fee,
        rate,
    }))
}

fn paper_fill(
    store: &Store,
    step: &PlanStep,
    order: &PricedOrder,
    now: NaiveDateTime,
) -> Result<StepOutcome, StoreError> {
    let fill = PaperFill {
        symbol: step.symbol.clone(),
        side: step.side,
        quantity: step.quantity,
        price: order.price,
        currency: order.currency,
        fee: order.fee,
        fx_per_eur: Some(order.rate.per_eur()),
        idempotency_key: step.idempotency_key(),
        fund_from_eur: Some(order.rate),
        executed_at: now,
    };
    Ok(match store.apply_paper_fill(&fill) {
        Ok(Recorded::Inserted(trade)) => StepOutcome::Filled {
            step: step.step,
            trade_id: trade.id,
            price: order.price,
            currency: order.currency,
        },
        Ok(Recorded::Existing(_)) => StepOutcome::AlreadyExecuted { step: step.step },
        Err(StoreError::InsufficientCash { .. }) => skip(
            step,
            SkipCode::InsufficientCash,
            "not enough cash at settlement".into(),
        ),
        Err(StoreError::InsufficientShares { .. }) => skip(
            step,
            SkipCode::InsufficientShares,
            "not enough shares at settlement".into(),
        ),
        Err(other) => return Err(other),
    })
}

async fn live_order<G: OrderGateway>(
    store: &Arc<Store>,
    broker: &G,
    step: &PlanStep,
    order: &PricedOrder,
) -> Result<StepOutcome, ExecutionError> {
    let new_order = NewOrder {
        symbol: step.symbol.clone(),
        side: step.side,
        quantity: step.quantity,
        price: order.price,
        currency: order.currency,
        idempotency_key: step.idempotency_key(),
    };
    // The order is recorded before it is sent: if the process dies while the request is in
    // flight, the open row still blocks a second order for the symbol.
    let recorded = on_store(store, move |s| s.add_pending_order(&new_order)).await?;
    let pending = match recorded {
        Ok(Recorded::Inserted(pending)) => pending,
        Ok(Recorded::Existing(_)) => return Ok(StepOutcome::AlreadyExecuted { step: step.step }),
        Err(StoreError::OpenOrderExists {
            symbol,
            open_order_id,
        }) => {
            return Ok(skip(
                step,
                SkipCode::OpenOrder,
                format!("order {open_order_id} for {symbol} is still open"),
            ));
        }
        Err(other) => return Err(other.into()),
    };
    let id = pending.id;
    let answer = broker
        .place_order(
            &pending.order.symbol,
            step.side,
            step.quantity,
            &pending.order.idempotency_key,
        )
        .await;
    Ok(match answer {
        Ok(broker_order_id) if broker_order_id.is_empty() => {
            // The real wrapper never passes the broker's order id on, though the order went
            // out. It counts as sent; its open row keeps the symbol blocked and the step's key
            // keeps it from being sent again, until the open-orders and trades syncs settle it.
            tracing::warn!(
                symbol = %pending.order.symbol,
                pending_order_id = id,
                "the broker accepted the order without an order id; it stays unconfirmed until the trades sync settles it"
            );
            StepOutcome::Placed {
                step: step.step,
                pending_order_id: id,
                broker_order_id,
            }
        }
        Ok(broker_order_id) => {
            let recorded_id = broker_order_id.clone();
            on_store(store, move |s| s.set_broker_order_id(id, &recorded_id)).await??;
            StepOutcome::Placed {
                step: step.step,
                pending_order_id: id,
                broker_order_id,
            }
        }
        Err(PlaceOrderError::Rejected(reason)) => {
            on_store(store, move |s| s.cancel_pending_order(id)).await??;
            skip(step, SkipCode::Rejected, reason)
        }
        Err(PlaceOrderError::Unknown(error)) => StepOutcome::Unconfirmed {
            step: step.step,
            pending_order_id: id,
            error,
        },
    })
}

/// Runs blocking store work off the async runtime.
pub(crate) async fn on_store<T: Send + 'static>(
    store: &Arc<Store>,
    f: impl FnOnce(&Store) -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let work: StoreWork = Box::new(move |s| Box::new(f(s)));
    let answer = run_on_store(Arc::clone(store), work).await?;
    Ok(*answer
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("the work answers its own type")))
}

/// Store work with its answer boxed: every caller goes through one blocking task type, where a
/// closure of its own would instantiate tokio's task machinery again for each (kilobytes each,
/// on a board binary with little room left).
type StoreWork = Box<dyn FnOnce(&Store) -> Box<dyn std::any::Any + Send> + Send>;

async fn run_on_store(
    store: Arc<Store>,
    work: StoreWork,
) -> Result<Box<dyn std::any::Any + Send>, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || work(&store)).await
}

#[cfg(test)]
#[path = "execution_tests.rs"]
mod tests;
