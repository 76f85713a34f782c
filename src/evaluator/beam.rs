//! The beams that keep the best sequences (spec §5.2, §5.5).
//!
//! The reference appends each scored sequence, stable-sorts by score descending and truncates.
//! That keeps the `width` best by (score descending, arrival ascending), which is what
//! [`TopK`] keeps; partial beams of disjoint ranges merge into the same result in any grouping,
//! so parallel scoring gives the beam of scoring one by one. The Pareto beam depends on arrival
//! order, so it is updated sequentially.

use std::cmp::Ordering;

/// A scored sequence in a beam.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// Index of the sequence in its batch.
    pub sequence: u32,
    /// Position in the order the reference visits sequences (after priority sorting); breaks ties.
    pub arrival: u64,
    pub score: f64,
}

/// Beam order: score descending, then arrival ascending. A NaN score ranks last.
pub fn beam_order(a: &Scored, b: &Scored) -> Ordering {
    let key = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
    key(b.score)
        .partial_cmp(&key(a.score))
        .unwrap_or(Ordering::Equal)
        .then(a.arrival.cmp(&b.arrival))
}

/// The single-objective beam.
#[derive(Clone, Debug, PartialEq)]
pub struct TopK {
    width: usize,
    items: Vec<Scored>,
}

impl TopK {
    pub fn new(width: usize) -> Self {
        TopK {
            width,
            items: Vec::with_capacity(width + 1),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn push(&mut self, item: Scored) {
        if self.width == 0 {
            return;
        }
        if self.items.len() == self.width {
            let last = self.items.last().expect("full beam");
            if beam_order(&item, last) != Ordering::Less {
                return;
            }
            self.items.pop();
        }
        let at = self
            .items
            .partition_point(|x| beam_order(x, &item) == Ordering::Less);
        self.items.insert(at, item);
    }

    pub fn merge(mut self, other: TopK) -> TopK {
        for item in other.items {
            self.push(item);
        }
        self
    }

    pub fn items(&self) -> &[Scored] {
        &self.items
    }
}

/// The objectives of the multi-objective beam: the unrounded score, and diversification, risk
/// and transaction cost as the breakdown rounds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParetoItem {
    pub scored: Scored,
    pub diversification: f64,
    pub risk: f64,
    pub cost: f64,
}

impl ParetoItem {
    /// `self` dominates `other`: at least as good in every objective and better in one.
    pub fn dominates(&self, other: &ParetoItem) -> bool {
        let (a, b) = (self, other);
        let no_worse = a.scored.score >= b.scored.score
            && a.diversification >= b.diversification
            && a.risk >= b.risk
            && a.cost <= b.cost;
        let better = a.scored.score > b.scored.score
            || a.diversification > b.diversification
            || a.risk > b.risk
            || a.cost < b.cost;
        no_worse && better
    }
}

/// The multi-objective (Pareto) beam, updated in arrival order.
#[derive(Clone, Debug, PartialEq)]
pub struct ParetoBeam {
    width: usize,
    items: Vec<ParetoItem>,
}

impl ParetoBeam {
    pub fn new(width: usize) -> Self {
        ParetoBeam {
            width,
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, item: ParetoItem) {
        self.items.retain(|x| !item.dominates(x));
        if !self.items.iter().any(|x| x.dominates(&item)) {
            self.items.push(item);
        }
        // Stable: equal scores keep their order in the beam.
        self.items.sort_by(|a, b| {
            let key = |s: f64| if s.is_nan() { f64::NEG_INFINITY } else { s };
            key(b.scored.score)
                .partial_cmp(&key(a.scored.score))
                .unwrap_or(Ordering::Equal)
        });
        self.items.truncate(self.width);
    }

    pub fn items(&self) -> &[ParetoItem] {
        &self.items
    }
}
