//! A batch of sequences in the compact form the generator writes and the evaluator reads:
//! symbols interned to indices, all actions of the batch in one flat vector, so a batch is two
//! allocations however many sequences it holds.

use std::collections::HashMap;

use crate::domain::action::{ActionCandidate, Side};

/// One action, with its symbol replaced by an index into the batch's symbol table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Act {
    pub symbol: u32,
    pub side: Side,
    pub quantity: i64,
    pub price: f64,
    pub value_eur: f64,
    pub priority: f64,
}

/// Interned symbols: index ↔ name.
#[derive(Clone, Debug, Default)]
pub struct SymbolTable {
    names: Vec<String>,
    index: HashMap<String, u32>,
}

impl SymbolTable {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).expect("fewer than 2^32 symbols");
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Sequences stored back to back: sequence `i` is `acts[offsets[i]..offsets[i + 1]]`.
#[derive(Clone, Debug)]
pub struct SequenceBatch {
    acts: Vec<Act>,
    offsets: Vec<u32>,
}

impl Default for SequenceBatch {
    fn default() -> Self {
        SequenceBatch {
            acts: Vec::new(),
            offsets: vec![0],
        }
    }
}

impl SequenceBatch {
    pub fn with_capacity(sequences: usize, actions: usize) -> Self {
        let mut offsets = Vec::with_capacity(sequences + 1);
        offsets.push(0);
        SequenceBatch {
            acts: Vec::with_capacity(actions),
            offsets,
        }
    }

    /// Interns the symbols of request sequences and packs them.
    pub fn from_candidates(sequences: &[Vec<ActionCandidate>], symbols: &mut SymbolTable) -> Self {
        let total = sequences.iter().map(Vec::len).sum();
        let mut batch = SequenceBatch::with_capacity(sequences.len(), total);
        for sequence in sequences {
            for a in sequence {
                batch.acts.push(Act {
                    symbol: symbols.intern(&a.symbol),
                    side: a.side,
                    quantity: a.quantity,
                    price: a.price,
                    value_eur: a.value_eur,
                    priority: a.priority,
                });
            }
            batch.end_sequence();
        }
        batch
    }

    pub fn push_act(&mut self, act: Act) {
        self.acts.push(act);
    }

    /// Closes the sequence made of the actions pushed since the last call.
    pub fn end_sequence(&mut self) {
        let end = u32::try_from(self.acts.len()).expect("fewer than 2^32 actions per batch");
        self.offsets.push(end);
    }

    /// Appends one whole sequence.
    pub fn push_sequence(&mut self, acts: &[Act]) {
        self.acts.extend_from_slice(acts);
        self.end_sequence();
    }

    /// Keeps the first `len` sequences.
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.offsets.truncate(len + 1);
            self.acts.truncate(self.offsets[len] as usize);
        }
    }

    /// Every sequence, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[Act]> {
        (0..self.len()).map(|i| self.sequence(i))
    }

    pub fn clear(&mut self) {
        self.acts.clear();
        self.offsets.truncate(1);
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn sequence(&self, i: usize) -> &[Act] {
        &self.acts[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The sequence's priority as the reference sums it: left to right from zero.
    pub fn priority(&self, i: usize) -> f64 {
        self.sequence(i).iter().fold(0.0, |sum, a| sum + a.priority)
    }
}
