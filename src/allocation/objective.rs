//! The distance of a portfolio to its targets, in percentage points: half the sum of the
//! absolute differences between weight and target, over the securities with a target and cash
//! (against its reserve), and separately over the targeted country and industry groups.
//! A plan minimises the sum of the three plus its costs, converted at the policy's one exchange
//! rate between a point of drift and a euro.

use serde::Serialize;

use super::targets::{GroupKind, Targets};
use super::{Asset, Book};

/// Distances to the targets, in percentage points.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Distances {
    pub securities: f64,
    pub countries: f64,
    pub industries: f64,
}

impl Distances {
    /// What a plan minimises before its costs.
    pub fn total(&self) -> f64 {
        self.securities + self.countries + self.industries
    }
}

/// The distances of the portfolio whose positions are worth `values` (EUR, in the book's asset
/// order) with `cash` EUR of cash.
pub fn distances(book: &Book, targets: &Targets, values: &[f64], cash: f64) -> Distances {
    let total: f64 = values.iter().sum::<f64>() + cash;
    if total <= 0.0 {
        return Distances::default();
    }
    let mut securities = (cash / total - targets.cash).abs();
    for (value, target) in values.iter().zip(&targets.securities) {
        if let Some(t) = target.target {
            securities += (value / total - t).abs();
        }
    }
    let mut countries = 0.0;
    let mut industries = 0.0;
    for group in &targets.groups {
        fn of(a: &Asset, kind: GroupKind) -> Option<&str> {
            match kind {
                GroupKind::Country => a.country_group.as_deref(),
                GroupKind::Industry => a.industry_group.as_deref(),
            }
        }
        let weight: f64 = book
            .assets
            .iter()
            .zip(values)
            .filter(|(a, _)| of(a, group.kind) == Some(group.group.as_str()))
            .map(|(_, v)| v / total)
            .sum();
        let d = (weight - group.target).abs();
        match group.kind {
            GroupKind::Country => countries += d,
            GroupKind::Industry => industries += d,
        }
    }
    Distances {
        securities: securities * 50.0,
        countries: countries * 50.0,
        industries: industries * 50.0,
    }
}
