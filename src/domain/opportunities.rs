//! Candidate actions grouped in the reference's five categories: the opportunity module's answer
//! and the generator's input.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use super::action::{ActionCandidate, Side};

/// The five categories, in the fixed order every list of them follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Category {
    ProfitTaking,
    AveragingDown,
    RebalanceSells,
    RebalanceBuys,
    OpportunityBuys,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::ProfitTaking,
        Category::AveragingDown,
        Category::RebalanceSells,
        Category::RebalanceBuys,
        Category::OpportunityBuys,
    ];

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The side every candidate of the category has.
    pub fn side(self) -> Side {
        match self {
            Category::ProfitTaking | Category::RebalanceSells => Side::Sell,
            _ => Side::Buy,
        }
    }
}

/// Candidates per category (`IdentifyOpportunitiesResponse` / `OpportunitiesInput`); fields in
/// the reference's key order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Opportunities {
    #[serde(default)]
    pub profit_taking: Vec<ActionCandidate>,
    #[serde(default)]
    pub averaging_down: Vec<ActionCandidate>,
    #[serde(default)]
    pub rebalance_sells: Vec<ActionCandidate>,
    #[serde(default)]
    pub rebalance_buys: Vec<ActionCandidate>,
    #[serde(default)]
    pub opportunity_buys: Vec<ActionCandidate>,
}

impl Opportunities {
    pub fn list(&self, category: Category) -> &Vec<ActionCandidate> {
        match category {
            Category::ProfitTaking => &self.profit_taking,
            Category::AveragingDown => &self.averaging_down,
            Category::RebalanceSells => &self.rebalance_sells,
            Category::RebalanceBuys => &self.rebalance_buys,
            Category::OpportunityBuys => &self.opportunity_buys,
        }
    }

    pub fn list_mut(&mut self, category: Category) -> &mut Vec<ActionCandidate> {
        match category {
            Category::ProfitTaking => &mut self.profit_taking,
            Category::AveragingDown => &mut self.averaging_down,
            Category::RebalanceSells => &mut self.rebalance_sells,
            Category::RebalanceBuys => &mut self.rebalance_buys,
            Category::OpportunityBuys => &mut self.opportunity_buys,
        }
    }

    /// Every candidate with its category, categories in their fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (Category, &ActionCandidate)> {
        Category::ALL
            .into_iter()
            .flat_map(move |c| self.list(c).iter().map(move |a| (c, a)))
    }

    pub fn len(&self) -> usize {
        Category::ALL.iter().map(|&c| self.list(c).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sorts every list by priority, highest first, keeping the order of equal priorities.
    pub fn sort_by_priority(&mut self) {
        for c in Category::ALL {
            sort_by_priority_desc(self.list_mut(c));
        }
    }
}

/// Python's `list.sort(key=priority, reverse=True)`: stable, highest first.
pub fn sort_by_priority_desc(list: &mut [ActionCandidate]) {
    list.sort_by(|a, b| {
        b.priority
            .partial_cmp(&a.priority)
            .unwrap_or(Ordering::Equal)
    });
}
