//! Scoring a batch of sequences in parallel and folding it into a beam.

use rayon::prelude::*;

use super::beam::{ParetoBeam, ParetoItem, Scored, TopK};
use super::engine::{Prepared, Scratch};
use super::modes::Mode;
use crate::domain::round_py;
use crate::domain::sequence::SequenceBatch;

/// Sequences per rayon task: small enough to balance, large enough to amortise the scratch.
const MIN_TASK_LEN: usize = 64;

/// The beam a run keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum Beam {
    Single(TopK),
    Pareto(ParetoBeam),
}

impl Beam {
    pub fn new(width: usize, multi_objective: bool) -> Self {
        if multi_objective {
            Beam::Pareto(ParetoBeam::new(width))
        } else {
            Beam::Single(TopK::new(width))
        }
    }

    /// The beam's members, best first.
    pub fn members(&self) -> Vec<Scored> {
        match self {
            Beam::Single(top) => top.items().to_vec(),
            Beam::Pareto(pareto) => pareto.items().iter().map(|p| p.scored).collect(),
        }
    }
}

/// Where a batch sits in a run: arrival positions and Monte Carlo streams of its sequences start
/// at these offsets, so consecutive batches behave as one long batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchOffsets {
    pub arrival: u64,
    pub stream: u64,
}

/// Scores the sequences of `batch` in the order `order` gives (batch indices; `None` = batch
/// order) and folds them into `beam`. Uses the current rayon pool.
pub fn score_batch(
    prepared: &Prepared,
    mode: &Mode,
    batch: &SequenceBatch,
    order: Option<&[u32]>,
    offsets: BatchOffsets,
    beam: &mut Beam,
) {
    let n = batch.len();
    let sequence_at = |arrival: usize| order.map_or(arrival as u32, |o| o[arrival]);
    match beam {
        Beam::Single(top) => {
            let width = top.width();
            let batch_top = (0..n)
                .into_par_iter()
                .with_min_len(MIN_TASK_LEN)
                .fold(
                    || (Scratch::default(), TopK::new(width)),
                    |(mut scratch, mut top), arrival| {
                        let seq = sequence_at(arrival);
                        let acts = batch.sequence(seq as usize);
                        let outcome = prepared.evaluate(
                            mode,
                            acts,
                            offsets.stream + seq as u64,
                            &mut scratch,
                            None,
                        );
                        top.push(Scored {
                            sequence: seq,
                            arrival: offsets.arrival + arrival as u64,
                            score: outcome.score,
                        });
                        (scratch, top)
                    },
                )
                .map(|(_, top)| top)
                .reduce(|| TopK::new(width), TopK::merge);
            let merged = std::mem::replace(top, TopK::new(width)).merge(batch_top);
            *top = merged;
        }
        Beam::Pareto(pareto) => {
            let mut items = Vec::with_capacity(n);
            (0..n)
                .into_par_iter()
                .with_min_len(MIN_TASK_LEN)
                .map_init(Scratch::default, |scratch, arrival| {
                    let seq = sequence_at(arrival);
                    let acts = batch.sequence(seq as usize);
                    let outcome =
                        prepared.evaluate(mode, acts, offsets.stream + seq as u64, scratch, None);
                    let e = outcome.representative;
                    ParetoItem {
                        scored: Scored {
                            sequence: seq,
                            arrival: offsets.arrival + arrival as u64,
                            score: outcome.score,
                        },
                        diversification: round_py(e.diversification, 3),
                        risk: e.risk(),
                        cost: round_py(e.transaction_cost, 2),
                    }
                })
                .collect_into_vec(&mut items);
            for item in items {
                pareto.push(item);
            }
        }
    }
}
