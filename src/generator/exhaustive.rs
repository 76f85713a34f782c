//! The exhaustive generator: every valid combination of the candidates up to `max_depth`
//! actions, each set once, sells before buys.
//!
//! A combination is a strictly increasing list of candidate indices over one ordering — sells by
//! priority, then buys by priority — so each set of actions appears exactly once, in a canonical
//! order. Invalid branches are cut while walking: the running cash (costs included) never goes
//! below zero, and no symbol appears twice. Candidates that can never be part of a valid sequence
//! (not allowed, in cooldown, below the minimum trade value, more than is held) are removed before
//! the walk and reported with the reason.
//!
//! Because every kept sell brings cash in and every buy takes it out, a set of actions is
//! feasible in some sells-first order exactly when it is feasible in the canonical one.
//!
//! The walk is split into batch plans by a cheap sequential pass over the top of the tree; batch
//! plans are expanded in parallel and handed on in order, so the output is the same on any number
//! of threads, and only a few batches exist at any time however many sequences there are.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::sequence::{Act, SequenceBatch, SymbolTable};
use crate::domain::validation::{FieldError, field_loc};
use crate::domain::{ActionCandidate, Category, Opportunities, Security, Side, action_cost};

/// Deepest sequence the generator builds; paths live in fixed arrays of this size.
pub const MAX_DEPTH: usize = 10;

fn default_max_depth() -> usize {
    5
}

/// The knobs of exhaustive generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExhaustiveSettings {
    /// Longest sequence, 1..=10.
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Stop after this many sequences (in output order); `None` means all of them.
    #[serde(default)]
    pub max_sequences: Option<u64>,
    /// Keep only this many sells and this many buys, the highest priorities first.
    #[serde(default)]
    pub max_candidates_per_side: Option<usize>,
}

impl Default for ExhaustiveSettings {
    fn default() -> Self {
        ExhaustiveSettings {
            max_depth: default_max_depth(),
            max_sequences: None,
            max_candidates_per_side: None,
        }
    }
}

impl ExhaustiveSettings {
    pub fn validate(&self, loc: &[&str]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let at = |field: &str| field_loc(loc, field);
        FieldError::int_range(
            &mut errors,
            at("max_depth"),
            self.max_depth as i64,
            1,
            MAX_DEPTH as i64,
        );
        if let Some(cap) = self.max_candidates_per_side {
            FieldError::int_range(
                &mut errors,
                at("max_candidates_per_side"),
                cap as i64,
                1,
                i64::from(u16::MAX) / 2,
            );
        }
        errors
    }
}

/// What bounds a sequence besides its depth: the starting cash, costs, and what may be traded.
#[derive(Clone, Debug, Default)]
pub struct Constraints {
    pub available_cash: f64,
    pub transaction_cost_fixed: f64,
    pub transaction_cost_percent: f64,
    /// Every action must move at least this much (EUR).
    pub min_trade_value: f64,
    /// Allow flags by symbol; a symbol without an entry may be traded.
    pub securities: Vec<Security>,
    /// Held quantity by symbol. When given, a sell needs a position at least as large.
    pub held: Option<HashMap<String, f64>>,
    /// Symbols that may not be bought now (buy cooldown).
    pub buy_blocked: HashSet<String>,
    /// Symbols that may not be sold now (sell cooldown, minimum hold, loss limit).
    pub sell_blocked: HashSet<String>,
}

/// Why a candidate was left out before the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PruneReason {
    NotAllowedToBuy,
    NotAllowedToSell,
    BuyCooldown,
    SellBlocked,
    BelowMinTradeValue,
    NoPosition,
    MoreThanHeld,
    /// A higher-priority candidate for the same symbol and side was kept.
    DuplicateOfHigherPriority,
    /// Beyond `max_candidates_per_side`.
    OverCandidateCap,
    /// The quantity or value is not a positive finite number.
    InvalidAmount,
    /// A sell whose costs exceed its proceeds: it only loses cash.
    CostsExceedProceeds,
}

impl PruneReason {
    pub fn message(self) -> &'static str {
        match self {
            PruneReason::NotAllowedToBuy => "the security may not be bought",
            PruneReason::NotAllowedToSell => "the security may not be sold",
            PruneReason::BuyCooldown => "bought recently (buy cooldown)",
            PruneReason::SellBlocked => {
                "may not be sold yet (cooldown, minimum hold or loss limit)"
            }
            PruneReason::BelowMinTradeValue => "below the minimum trade value",
            PruneReason::NoPosition => "no position to sell",
            PruneReason::MoreThanHeld => "sells more than is held",
            PruneReason::DuplicateOfHigherPriority => {
                "a higher-priority action on the same symbol and side was kept"
            }
            PruneReason::OverCandidateCap => "beyond the candidate cap for its side",
            PruneReason::InvalidAmount => "quantity or value is not a positive number",
            PruneReason::CostsExceedProceeds => "its costs exceed what the sale brings in",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrunedCandidate {
    pub category: Category,
    pub candidate: ActionCandidate,
    pub reason: PruneReason,
}

/// One node of the walk handed to a batch plan: a valid path, and whether its descendants come
/// with it.
#[derive(Clone, Copy, Debug)]
struct Item {
    path: [u16; MAX_DEPTH],
    len: u8,
    subtree: bool,
}

/// Consecutive items whose sequences make one output batch.
struct BatchPlan {
    items: Vec<Item>,
    /// Upper bound of the sequences the items expand to; at most the batch size.
    bound: u64,
}

/// Where the walk writes sequences: a batch, or a counter.
trait Sink {
    fn emit(&mut self, acts: &[Act]);
}

impl Sink for SequenceBatch {
    fn emit(&mut self, acts: &[Act]) {
        self.push_sequence(acts);
    }
}

impl Sink for u64 {
    fn emit(&mut self, _acts: &[Act]) {
        *self += 1;
    }
}

/// What one generation produced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub sequences: u64,
    pub batches: u64,
    /// True when `max_sequences` cut the output short.
    pub capped: bool,
}

/// Candidates prepared for the walk, ready to generate any number of times.
#[derive(Debug)]
pub struct ExhaustiveGenerator {
    settings: ExhaustiveSettings,
    available_cash: f64,
    symbols: SymbolTable,
    /// Kept candidates in walk order: sells then buys, each by priority.
    candidates: Vec<(Category, ActionCandidate)>,
    acts: Vec<Act>,
    /// Cash change of each candidate, costs included.
    deltas: Vec<f64>,
    /// The other-side candidate of the same symbol, if kept; it may not share a sequence.
    conflicts: Vec<Option<u16>>,
    /// Candidate index by `symbol * 2 + (side is buy)`.
    by_symbol_side: Vec<u16>,
    /// `binomial[m][k]` = C(m, k), saturating.
    binomial: Vec<Vec<u64>>,
    pruned: Vec<PrunedCandidate>,
}

impl ExhaustiveGenerator {
    pub fn new(
        opportunities: &Opportunities,
        constraints: &Constraints,
        settings: &ExhaustiveSettings,
    ) -> ExhaustiveGenerator {
        let securities: HashMap<&str, &Security> = constraints
            .securities
            .iter()
            .map(|s| (s.symbol.as_str(), s))
            .collect();
        let mut pruned = Vec::new();
        let mut sides: [Vec<(Category, ActionCandidate)>; 2] = [Vec::new(), Vec::new()];
        for (category, candidate) in opportunities.iter() {
            match prune_reason(candidate, constraints, &securities) {
                Some(reason) => pruned.push(PrunedCandidate {
                    category,
                    candidate: candidate.clone(),
                    reason,
                }),
                None => sides[usize::from(candidate.side == Side::Buy)]
                    .push((category, candidate.clone())),
            }
        }
        let cap = settings
            .max_candidates_per_side
            .unwrap_or(usize::MAX)
            .min(usize::from(u16::MAX) / 2);
        let mut candidates = Vec::new();
        for side in &mut sides {
            sort_pairs_by_priority(side);
            let mut seen = HashSet::new();
            let mut kept = 0;
            for (category, candidate) in side.drain(..) {
                let reason = if !seen.insert(candidate.symbol.clone()) {
                    Some(PruneReason::DuplicateOfHigherPriority)
                } else if kept >= cap {
                    Some(PruneReason::OverCandidateCap)
                } else {
                    None
                };
                match reason {
                    Some(reason) => pruned.push(PrunedCandidate {
                        category,
                        candidate,
                        reason,
                    }),
                    None => {
                        kept += 1;
                        candidates.push((category, candidate));
                    }
                }
            }
        }

        let mut symbols = SymbolTable::default();
        let mut acts = Vec::with_capacity(candidates.len());
        let mut deltas = Vec::with_capacity(candidates.len());
        for (_, c) in &candidates {
            let cost = action_cost(
                c.value_eur,
                constraints.transaction_cost_fixed,
                constraints.transaction_cost_percent,
            );
            deltas.push(match c.side {
                Side::Sell => c.value_eur - cost,
                Side::Buy => -(c.value_eur + cost),
            });
            acts.push(Act {
                symbol: symbols.intern(&c.symbol),
                side: c.side,
                quantity: c.quantity,
                price: c.price,
                value_eur: c.value_eur,
                priority: c.priority,
            });
        }
        let mut by_symbol: HashMap<u32, Vec<u16>> = HashMap::new();
        for (i, act) in acts.iter().enumerate() {
            by_symbol.entry(act.symbol).or_default().push(i as u16);
        }
        let conflicts = acts
            .iter()
            .enumerate()
            .map(|(i, act)| {
                by_symbol[&act.symbol]
                    .iter()
                    .copied()
                    .find(|&j| usize::from(j) != i)
            })
            .collect();
        let mut by_symbol_side = vec![u16::MAX; symbols.len() * 2];
        for (i, act) in acts.iter().enumerate() {
            by_symbol_side[act.symbol as usize * 2 + usize::from(act.side == Side::Buy)] = i as u16;
        }
        let max_depth = settings.max_depth.clamp(1, MAX_DEPTH);
        ExhaustiveGenerator {
            settings: ExhaustiveSettings {
                max_depth,
                ..settings.clone()
            },
            available_cash: constraints.available_cash,
            symbols,
            binomial: binomial_table(candidates.len(), max_depth),
            candidates,
            acts,
            deltas,
            conflicts,
            by_symbol_side,
            pruned,
        }
    }

    /// The candidates the walk combines, in walk order.
    pub fn candidates(&self) -> &[(Category, ActionCandidate)] {
        &self.candidates
    }

    /// The candidates left out before the walk, with the reason.
    pub fn pruned(&self) -> &[PrunedCandidate] {
        &self.pruned
    }

    /// The symbol table the acts of every batch refer to.
    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }

    /// The candidate an act of an output batch stands for.
    pub fn candidate_of(&self, act: &Act) -> &ActionCandidate {
        let slot = act.symbol as usize * 2 + usize::from(act.side == Side::Buy);
        &self.candidates[usize::from(self.by_symbol_side[slot])].1
    }

    /// Generates every sequence in output order, handing batches of at most `batch_size`
    /// sequences to `sink`; `sink` may stop the generation with `Break`. Parallel work runs in
    /// `pool`; `sink` runs on the calling thread.
    pub fn for_each_batch(
        &self,
        pool: &rayon::ThreadPool,
        batch_size: usize,
        mut sink: impl FnMut(SequenceBatch) -> ControlFlow<()>,
    ) -> Summary {
        let batch_size = batch_size.max(1);
        let limit = self.settings.max_sequences.unwrap_or(u64::MAX);
        let mut summary = Summary::default();
        let window_len = pool.current_num_threads().max(1) * 2;
        let mut planner = Planner::new(batch_size as u64, window_len);
        let _ = self.plan(&mut Walk::new(self), &mut planner, &mut |window| {
            let max_depth = self.settings.max_depth;
            let batches: Vec<SequenceBatch> = pool.install(|| {
                window
                    .par_iter()
                    .map(|plan| {
                        let bound = plan.bound as usize;
                        let mut batch = SequenceBatch::with_capacity(bound, bound * max_depth);
                        for item in &plan.items {
                            self.expand(item, &mut batch);
                        }
                        batch
                    })
                    .collect()
            });
            window.clear();
            for mut batch in batches {
                if batch.is_empty() {
                    continue;
                }
                let room = limit - summary.sequences;
                if batch.len() as u64 >= room {
                    batch.truncate(room as usize);
                    summary.capped = self.settings.max_sequences.is_some();
                }
                summary.sequences += batch.len() as u64;
                summary.batches += 1;
                let flow = sink(batch);
                if flow.is_break() || summary.sequences >= limit {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        summary
    }

    /// Counts the sequences `for_each_batch` would produce, without building them.
    pub fn count(&self, pool: &rayon::ThreadPool) -> u64 {
        self.count_until(pool, &AtomicBool::new(false))
    }

    /// [`ExhaustiveGenerator::count`] that stops as soon as the count reaches `max_sequences`
    /// (the work is bounded by the request's limit, not by every combination) or `stop` is
    /// set (the client went away); a stopped count is meaningless.
    pub fn count_until(&self, pool: &rayon::ThreadPool, stop: &AtomicBool) -> u64 {
        let limit = self.settings.max_sequences.unwrap_or(u64::MAX);
        let mut total = 0u64;
        let window_len = pool.current_num_threads().max(1) * 8;
        let mut planner = Planner::new(1 << 16, window_len);
        let _ = self.plan(&mut Walk::new(self), &mut planner, &mut |window| {
            total = total.saturating_add(pool.install(|| {
                window
                    .par_iter()
                    .map(|plan| {
                        let mut count = 0u64;
                        for item in &plan.items {
                            self.expand(item, &mut count);
                        }
                        count
                    })
                    .sum::<u64>()
            }));
            window.clear();
            if total >= limit || stop.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        total.min(limit)
    }

    /// Streams the batches through a channel of `capacity` batches from a thread of its own;
    /// the receiver sees them in output order. Dropping the receiver stops the generation.
    pub fn spawn_stream(
        self: Arc<Self>,
        pool: Arc<rayon::ThreadPool>,
        batch_size: usize,
        capacity: usize,
    ) -> (Receiver<SequenceBatch>, JoinHandle<Summary>) {
        let (tx, rx): (SyncSender<SequenceBatch>, _) = sync_channel(capacity.max(1));
        let handle = std::thread::Builder::new()
            .name("generator".into())
            .spawn(move || {
                self.for_each_batch(&pool, batch_size, |batch| match tx.send(batch) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                })
            })
            .expect("the generator thread starts");
        (rx, handle)
    }

    /// Upper bound of the sequences in the subtree below a node at `depth` whose last index is
    /// `last`: the node itself and every longer combination of the later candidates.
    fn subtree_bound(&self, depth: usize, last: usize) -> u64 {
        let remaining = self.acts.len() - last - 1;
        let row = &self.binomial[remaining];
        (0..=self.settings.max_depth - depth)
            .map(|k| row.get(k).copied().unwrap_or(0))
            .fold(0u64, u64::saturating_add)
    }

    /// The sequential pass: walks the top of the tree in preorder and hands nodes to the
    /// planner, whole subtrees where they fit in a batch.
    fn plan(
        &self,
        walk: &mut Walk,
        planner: &mut Planner,
        flush: &mut impl FnMut(&mut Vec<BatchPlan>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let start = walk.next_index();
        for j in start..self.acts.len() {
            if !walk.push(self, j) {
                continue;
            }
            let bound = self.subtree_bound(walk.len, j);
            let flow = if bound <= planner.batch_size {
                planner.add(walk.item(true), bound, flush)
            } else {
                match planner.add(walk.item(false), 1, flush) {
                    ControlFlow::Continue(()) => self.plan(walk, planner, flush),
                    stop => stop,
                }
            };
            walk.pop();
            flow?;
        }
        if walk.len == 0 {
            planner.finish(flush)?;
        }
        ControlFlow::Continue(())
    }

    /// Writes an item's sequences in preorder.
    fn expand(&self, item: &Item, sink: &mut impl Sink) {
        let mut walk = Walk::new(self);
        for &i in &item.path[..usize::from(item.len)] {
            let pushed = walk.push(self, usize::from(i));
            debug_assert!(pushed, "planned paths are valid");
        }
        sink.emit(walk.acts());
        if item.subtree {
            self.descend(&mut walk, sink);
        }
    }

    fn descend(&self, walk: &mut Walk, sink: &mut impl Sink) {
        if walk.len == self.settings.max_depth {
            return;
        }
        let start = walk.next_index();
        let last_level = walk.len + 1 == self.settings.max_depth;
        for j in start..self.acts.len() {
            if !walk.push(self, j) {
                continue;
            }
            sink.emit(walk.acts());
            if !last_level {
                self.descend(walk, sink);
            }
            walk.pop();
        }
    }
}

/// The path being walked: indices, the acts they stand for, running cash after each step, and
/// which candidates are on the path.
struct Walk {
    path: [u16; MAX_DEPTH],
    acts: [Act; MAX_DEPTH],
    cash: [f64; MAX_DEPTH + 1],
    on_path: Vec<bool>,
    len: usize,
}

impl Walk {
    fn new(generator: &ExhaustiveGenerator) -> Walk {
        let mut cash = [0.0; MAX_DEPTH + 1];
        cash[0] = generator.available_cash;
        Walk {
            path: [0; MAX_DEPTH],
            acts: [Act {
                symbol: 0,
                side: Side::Buy,
                quantity: 0,
                price: 0.0,
                value_eur: 0.0,
                priority: 0.0,
            }; MAX_DEPTH],
            cash,
            on_path: vec![false; generator.acts.len()],
            len: 0,
        }
    }

    fn next_index(&self) -> usize {
        if self.len == 0 {
            0
        } else {
            usize::from(self.path[self.len - 1]) + 1
        }
    }

    /// Extends the path with candidate `j` if that keeps it valid.
    #[inline]
    fn push(&mut self, generator: &ExhaustiveGenerator, j: usize) -> bool {
        if let Some(other) = generator.conflicts[j]
            && self.on_path[usize::from(other)]
        {
            return false;
        }
        let cash = self.cash[self.len] + generator.deltas[j];
        if cash < 0.0 {
            return false;
        }
        self.path[self.len] = j as u16;
        self.acts[self.len] = generator.acts[j];
        self.on_path[j] = true;
        self.len += 1;
        self.cash[self.len] = cash;
        true
    }

    #[inline]
    fn pop(&mut self) {
        self.len -= 1;
        self.on_path[usize::from(self.path[self.len])] = false;
    }

    fn acts(&self) -> &[Act] {
        &self.acts[..self.len]
    }

    fn item(&self, subtree: bool) -> Item {
        Item {
            path: self.path,
            len: self.len as u8,
            subtree,
        }
    }
}

/// Packs items into batch plans and hands full windows of plans to be expanded.
struct Planner {
    batch_size: u64,
    window_len: usize,
    current: BatchPlan,
    window: Vec<BatchPlan>,
}

impl Planner {
    fn new(batch_size: u64, window_len: usize) -> Planner {
        Planner {
            batch_size,
            window_len,
            current: BatchPlan {
                items: Vec::new(),
                bound: 0,
            },
            window: Vec::with_capacity(window_len),
        }
    }

    fn add(
        &mut self,
        item: Item,
        bound: u64,
        flush: &mut impl FnMut(&mut Vec<BatchPlan>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if self.current.bound + bound > self.batch_size {
            self.close(flush)?;
        }
        self.current.items.push(item);
        self.current.bound += bound;
        ControlFlow::Continue(())
    }

    fn close(
        &mut self,
        flush: &mut impl FnMut(&mut Vec<BatchPlan>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        if self.current.items.is_empty() {
            return ControlFlow::Continue(());
        }
        let plan = std::mem::replace(
            &mut self.current,
            BatchPlan {
                items: Vec::new(),
                bound: 0,
            },
        );
        self.window.push(plan);
        if self.window.len() >= self.window_len {
            flush(&mut self.window)?;
        }
        ControlFlow::Continue(())
    }

    fn finish(
        &mut self,
        flush: &mut impl FnMut(&mut Vec<BatchPlan>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.close(flush)?;
        if !self.window.is_empty() {
            flush(&mut self.window)?;
        }
        ControlFlow::Continue(())
    }
}

fn prune_reason(
    candidate: &ActionCandidate,
    constraints: &Constraints,
    securities: &HashMap<&str, &Security>,
) -> Option<PruneReason> {
    let symbol = candidate.symbol.as_str();
    if !(candidate.value_eur.is_finite() && candidate.value_eur > 0.0 && candidate.quantity > 0) {
        return Some(PruneReason::InvalidAmount);
    }
    let security = securities.get(symbol);
    match candidate.side {
        Side::Buy => {
            if security.is_some_and(|s| !s.allow_buy) {
                return Some(PruneReason::NotAllowedToBuy);
            }
            if constraints.buy_blocked.contains(symbol) {
                return Some(PruneReason::BuyCooldown);
            }
        }
        Side::Sell => {
            if security.is_some_and(|s| !s.allow_sell) {
                return Some(PruneReason::NotAllowedToSell);
            }
            if constraints.sell_blocked.contains(symbol) {
                return Some(PruneReason::SellBlocked);
            }
            if let Some(held) = &constraints.held {
                match held.get(symbol) {
                    None => return Some(PruneReason::NoPosition),
                    Some(&quantity) if quantity < candidate.quantity as f64 => {
                        return Some(PruneReason::MoreThanHeld);
                    }
                    Some(_) => {}
                }
            }
        }
    }
    if candidate.value_eur < constraints.min_trade_value {
        return Some(PruneReason::BelowMinTradeValue);
    }
    // With every sell bringing cash in, taking sells first in any order is the best order for
    // the running cash, so the canonical order loses no feasible set.
    let cost = action_cost(
        candidate.value_eur,
        constraints.transaction_cost_fixed,
        constraints.transaction_cost_percent,
    );
    if candidate.side == Side::Sell && candidate.value_eur - cost < 0.0 {
        return Some(PruneReason::CostsExceedProceeds);
    }
    None
}

/// Stable sort by priority, highest first, carrying the category along.
fn sort_pairs_by_priority(pairs: &mut [(Category, ActionCandidate)]) {
    pairs.sort_by(|a, b| {
        b.1.priority
            .partial_cmp(&a.1.priority)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// Pascal's triangle up to `n` rows and `k ≤ max_k`, saturating at `u64::MAX`.
fn binomial_table(n: usize, max_k: usize) -> Vec<Vec<u64>> {
    let mut rows: Vec<Vec<u64>> = Vec::with_capacity(n + 1);
    for m in 0..=n {
        let mut row = vec![0u64; max_k + 1];
        row[0] = 1;
        for k in 1..=max_k.min(m) {
            let above = &rows[m - 1];
            row[k] = above[k - 1].saturating_add(above[k]);
        }
        rows.push(row);
    }
    rows
}

#[cfg(test)]
#[path = "exhaustive_tests.rs"]
mod tests;
