//! The planning loop's bookkeeping of the reference's `create-plan`: batches are scored into a beam one after the other, and after each the search
//! counts it, tracks whether the beam improved, and decides whether to stop (cancelled, out of
//! time, or on a plateau).

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every sequence was evaluated.
    Exhausted,
    /// `max_sequences` was reached.
    SequenceCap,
    /// No improvement for `plateau_batches` batches.
    Plateau,
    /// The time budget ran out; the best plan so far was kept.
    Budget,
    Cancelled,
}

/// Stop once this many batches in a row did not improve the beam, but not before
/// `min_batches` batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlateauRule {
    pub min_batches: u64,
    pub batches: u64,
}

/// When a search stops before its batches run out; every rule is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct StopRules<'a> {
    pub cancel: Option<&'a AtomicBool>,
    /// When the time budget runs out.
    pub deadline: Option<Instant>,
    pub plateau: Option<PlateauRule>,
}

/// The state of a search over batches.
#[derive(Debug)]
pub struct Search<'a> {
    rules: StopRules<'a>,
    batches: u64,
    best: Option<f64>,
    since_improvement: u64,
}

impl<'a> Search<'a> {
    /// A search whose beam counts as improved once its top score beats `floor` (`None`: any
    /// first score).
    pub fn new(rules: StopRules<'a>, floor: Option<f64>) -> Search<'a> {
        Search {
            rules,
            batches: 0,
            best: floor,
            since_improvement: 0,
        }
    }

    /// Batches scored so far.
    pub fn batches(&self) -> u64 {
        self.batches
    }

    /// The best top score seen above the floor.
    #[cfg(test)]
    fn best(&self) -> Option<f64> {
        self.best
    }

    /// Records a scored batch: `top` is the beam's best score after it, `grew` whether the
    /// beam gained members (which the reference also counted as an improvement). Breaks with
    /// the reason to stop, checked in the order cancel, budget, plateau.
    pub fn after_batch(&mut self, top: Option<f64>, grew: bool) -> ControlFlow<StopReason> {
        self.batches += 1;
        if top > self.best {
            self.best = top;
            self.since_improvement = 0;
        } else if grew && top.is_some() {
            self.since_improvement = 0;
        } else {
            self.since_improvement += 1;
        }
        if self
            .rules
            .cancel
            .is_some_and(|cancel| cancel.load(Ordering::Relaxed))
        {
            return ControlFlow::Break(StopReason::Cancelled);
        }
        if self
            .rules
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return ControlFlow::Break(StopReason::Budget);
        }
        if let Some(rule) = self.rules.plateau
            && self.batches >= rule.min_batches
            && self.since_improvement >= rule.batches
        {
            return ControlFlow::Break(StopReason::Plateau);
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plateau(min_batches: u64, batches: u64) -> StopRules<'static> {
        StopRules {
            plateau: Some(PlateauRule {
                min_batches,
                batches,
            }),
            ..StopRules::default()
        }
    }

    #[test]
    fn a_plateau_stops_after_enough_batches_without_improvement() {
        let mut search = Search::new(plateau(1, 2), None);
        assert_eq!(
            search.after_batch(Some(0.5), true),
            ControlFlow::Continue(())
        );
        assert_eq!(
            search.after_batch(Some(0.5), false),
            ControlFlow::Continue(())
        );
        assert_eq!(
            search.after_batch(Some(0.5), false),
            ControlFlow::Break(StopReason::Plateau)
        );
        assert_eq!((search.batches(), search.best()), (3, Some(0.5)));
    }

    #[test]
    fn no_plateau_before_the_minimum_of_batches() {
        let mut search = Search::new(plateau(3, 1), None);
        assert!(search.after_batch(None, false).is_continue());
        assert!(search.after_batch(None, false).is_continue());
        assert!(search.after_batch(None, false).is_break());
    }

    #[test]
    fn a_better_score_or_a_growing_beam_restarts_the_plateau() {
        let mut search = Search::new(plateau(1, 2), Some(0.0));
        assert!(search.after_batch(Some(0.4), true).is_continue());
        assert!(search.after_batch(Some(0.4), false).is_continue());
        assert!(search.after_batch(Some(0.4), true).is_continue(), "grew");
        assert!(
            search.after_batch(Some(0.45), false).is_continue(),
            "better"
        );
        assert!(search.after_batch(Some(0.45), false).is_continue());
        assert!(search.after_batch(Some(0.45), false).is_break());
    }

    #[test]
    fn the_floor_is_what_a_score_must_beat() {
        let mut search = Search::new(StopRules::default(), Some(0.0));
        assert!(search.after_batch(Some(-0.2), true).is_continue());
        assert_eq!(search.best(), Some(0.0));
        let mut search = Search::new(StopRules::default(), None);
        assert!(search.after_batch(Some(-0.2), true).is_continue());
        assert_eq!(search.best(), Some(-0.2));
    }

    #[test]
    fn cancel_comes_before_the_budget_and_the_plateau() {
        let cancel = AtomicBool::new(true);
        let rules = StopRules {
            cancel: Some(&cancel),
            deadline: Some(Instant::now()),
            plateau: Some(PlateauRule {
                min_batches: 0,
                batches: 0,
            }),
        };
        let mut search = Search::new(rules, None);
        assert_eq!(
            search.after_batch(None, false),
            ControlFlow::Break(StopReason::Cancelled)
        );
        cancel.store(false, Ordering::Relaxed);
        assert_eq!(
            search.after_batch(None, false),
            ControlFlow::Break(StopReason::Budget)
        );
    }

    #[test]
    fn without_rules_the_search_runs_to_the_end() {
        let mut search = Search::new(StopRules::default(), None);
        for _ in 0..100 {
            assert!(search.after_batch(None, false).is_continue());
        }
    }
}
