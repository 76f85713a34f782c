//! Group targets → one target weight per security.
//!
//! A group without a target has no opinion: its securities are neither pushed towards nor away
//! from anything by it. A security with no opinion in either dimension keeps its weight as its
//! target (it is never traded by the planner). A held security that may not be bought is
//! frozen at its weight (up to the position cap); the rest of its groups' targets is spread over
//! the securities that may be bought, tilted by quality score, by alternately scaling each
//! dimension's groups to their targets (iterative proportional fitting), each capped at the
//! maximum position. A share under the minimum position is dropped and its weight spread again.
//! What the targets leave is the cash reserve.

use serde::Serialize;

use super::{Asset, Book, Policy};

/// Country or industry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupKind {
    Country,
    Industry,
}

/// One security's target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityTarget {
    pub symbol: String,
    /// Fraction of the portfolio; `None` when no group has an opinion on it.
    pub target: Option<f64>,
    pub band: f64,
    pub weight: f64,
    /// Why the target is what it is, for the cases a person would ask about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One group's target, scaled to what the cash reserve leaves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupTarget {
    pub kind: GroupKind,
    pub group: String,
    pub target: f64,
    pub band: f64,
    pub weight: f64,
}

/// Every target of a portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Targets {
    /// In the book's asset order.
    pub securities: Vec<SecurityTarget>,
    pub groups: Vec<GroupTarget>,
    /// The cash reserve as a fraction, and its band.
    pub cash: f64,
    pub cash_band: f64,
    pub cash_weight: f64,
    pub total_eur: f64,
}

/// Passes of proportional fitting; the weights settle long before.
const FITTING_PASSES: usize = 60;

/// The targets of `book` under `policy`.
pub fn targets(book: &Book, policy: &Policy) -> Targets {
    let total = book.total_eur();
    let weight = |a: &Asset| {
        if total > 0.0 {
            a.value_eur() / total
        } else {
            0.0
        }
    };
    let country = opinions(&book.country_targets);
    let industry = opinions(&book.industry_targets);
    let has_opinion = |a: &Asset| {
        a.country_group
            .as_ref()
            .is_some_and(|g| country.contains(g))
            || a.industry_group
                .as_ref()
                .is_some_and(|g| industry.contains(g))
    };
    let reserve = if total > 0.0 {
        (policy.min_cash_reserve_eur / total)
            .max(policy.cash_reserve_ratio)
            .min(1.0)
    } else {
        policy.cash_reserve_ratio
    };

    // What stays as it is: no opinion (kept at its weight) or held and not buyable (frozen).
    let mut fixed: Vec<Option<f64>> = book
        .assets
        .iter()
        .map(|a| {
            if !has_opinion(a) {
                Some(weight(a))
            } else if !a.eligible || a.lot_eur().is_none() {
                Some(weight(a).min(policy.max_position_weight))
            } else {
                None
            }
        })
        .collect();
    let untargeted: f64 = book
        .assets
        .iter()
        .zip(&fixed)
        .filter(|(a, _)| !has_opinion(a))
        .map(|(_, f)| f.unwrap_or(0.0))
        .sum();
    let investable = (1.0 - reserve - untargeted).max(0.0);
    let scaled = |targets: &[(String, f64)]| -> Vec<(String, f64)> {
        let sum: f64 = targets.iter().map(|(_, t)| t.max(0.0)).sum();
        let factor = if sum > investable && sum > 0.0 {
            investable / sum
        } else {
            1.0
        };
        targets
            .iter()
            .map(|(g, t)| (g.clone(), t.max(0.0) * factor))
            .collect()
    };
    let country_targets = scaled(&book.country_targets);
    let industry_targets = scaled(&book.industry_targets);

    let mean_score = {
        let scores: Vec<f64> = book.assets.iter().filter_map(|a| a.score).collect();
        if scores.is_empty() {
            0.5
        } else {
            scores.iter().sum::<f64>() / scores.len() as f64
        }
    };
    let tilt = |a: &Asset| {
        let score = a.score.unwrap_or(mean_score);
        // +tilt of target for every 0.1 of score above the mean; never below a tenth.
        (1.0 + policy.score_tilt * (score - mean_score) / 0.1).max(0.1)
    };

    let mut dropped = vec![false; book.assets.len()];
    let mut x: Vec<f64> = vec![0.0; book.assets.len()];
    for _ in 0..book.assets.len().max(1) {
        for (i, a) in book.assets.iter().enumerate() {
            x[i] = if fixed[i].is_some() || dropped[i] {
                0.0
            } else {
                tilt(a)
            };
        }
        for _ in 0..FITTING_PASSES {
            for (groups, of) in [
                (
                    &country_targets,
                    (|a: &Asset| a.country_group.clone()) as fn(&Asset) -> Option<String>,
                ),
                (&industry_targets, |a: &Asset| a.industry_group.clone()),
            ] {
                for (group, target) in groups {
                    let members: Vec<usize> = (0..book.assets.len())
                        .filter(|&i| of(&book.assets[i]).as_ref() == Some(group))
                        .collect();
                    let frozen: f64 = members.iter().filter_map(|&i| fixed[i]).sum();
                    let free: f64 = members.iter().map(|&i| x[i]).sum();
                    let room = (target - frozen).max(0.0);
                    if free > 0.0 {
                        for &i in &members {
                            x[i] *= room / free;
                        }
                    }
                }
            }
            for v in x.iter_mut() {
                *v = v.min(policy.max_position_weight);
            }
        }
        // Shares under the minimum position are not worth holding: spread them again.
        let small: Vec<usize> = (0..x.len())
            .filter(|&i| fixed[i].is_none() && !dropped[i] && x[i] < policy.min_position_weight)
            .collect();
        if small.is_empty() {
            break;
        }
        // Drop the smallest first, one at a time, so the others can grow past the minimum.
        let smallest = small
            .into_iter()
            .min_by(|&a, &b| x[a].total_cmp(&x[b]))
            .expect("not empty");
        dropped[smallest] = true;
    }
    let mut securities = Vec::with_capacity(book.assets.len());
    for (i, a) in book.assets.iter().enumerate() {
        let (target, note) = if !has_opinion(a) {
            (None, Some("no group target covers it".to_string()))
        } else if let Some(f) = fixed[i].take() {
            let why = match &a.buy {
                Err(reason) => format!("held at its weight: {reason}"),
                Ok(()) => "held at its weight: no price".to_string(),
            };
            (Some(f), Some(why))
        } else if dropped[i] {
            (
                Some(0.0),
                Some(format!(
                    "its share would be under the minimum position of {:.1} %",
                    policy.min_position_weight * 100.0
                )),
            )
        } else {
            let capped = (x[i] - policy.max_position_weight).abs() < 1e-12;
            (
                Some(x[i]),
                capped.then(|| {
                    format!(
                        "capped at the maximum position of {:.1} %",
                        policy.max_position_weight * 100.0
                    )
                }),
            )
        };
        securities.push(SecurityTarget {
            symbol: a.symbol.clone(),
            band: target.map_or(0.0, |t| policy.band(t)),
            target,
            weight: weight(a),
            note,
        });
    }
    let invested: f64 = securities
        .iter()
        .map(|s| s.target.unwrap_or(s.weight))
        .sum();
    let cash = (1.0 - invested).max(0.0);
    let mut groups = Vec::new();
    for (kind, list, of) in [
        (
            GroupKind::Country,
            &country_targets,
            (|a: &Asset| a.country_group.as_ref()) as fn(&Asset) -> Option<&String>,
        ),
        (GroupKind::Industry, &industry_targets, |a: &Asset| {
            a.industry_group.as_ref()
        }),
    ] {
        for (group, target) in list {
            let weight: f64 = book
                .assets
                .iter()
                .filter(|a| of(a) == Some(group))
                .map(weight)
                .sum();
            groups.push(GroupTarget {
                kind,
                group: group.clone(),
                target: *target,
                band: policy.band(*target),
                weight,
            });
        }
    }
    Targets {
        securities,
        groups,
        cash,
        cash_band: policy.cash_band(cash),
        cash_weight: if total > 0.0 {
            book.cash_eur() / total
        } else {
            0.0
        },
        total_eur: total,
    }
}

/// The groups that have a target.
fn opinions(targets: &[(String, f64)]) -> Vec<String> {
    targets.iter().map(|(g, _)| g.clone()).collect()
}
