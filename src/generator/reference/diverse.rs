//! Top-N per category with clusters (spec §4.2, `_select_diverse_opportunities`): take a
//! quota from each country / industry / symbol-prefix cluster so one cluster cannot fill the
//! whole top-N, then order the pick by a priority-and-diversity score.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::domain::ActionCandidate;

use super::{SecuritiesBySymbol, truthy};

/// The cluster of a candidate: `COUNTRY:<country>` if its security has a country, else
/// `INDUSTRY:<industry string>` if it has industries, else `SYMBOL:<first 3 characters>`. A
/// symbol without a security (or no securities at all) uses the symbol prefix.
pub fn cluster_key(action: &ActionCandidate, securities: Option<&SecuritiesBySymbol>) -> String {
    if let Some(security) = securities.and_then(|m| m.get(&action.symbol)) {
        if let Some(country) = truthy(&security.country) {
            return format!("COUNTRY:{country}");
        }
        if let Some(industry) = truthy(&security.industry) {
            return format!("INDUSTRY:{industry}");
        }
    }
    let prefix: String = action.symbol.chars().take(3).collect();
    format!("SYMBOL:{prefix}")
}

/// The ordering score of a selected candidate:
/// `(1 − w)·(p/100 if p > 0 else 0) + w·1/(1 + 0.5·k)`, with `k` the number of other selected
/// candidates in the same cluster.
pub fn diversity_score(priority: f64, diversity_weight: f64, same_cluster: usize) -> f64 {
    let bonus = 1.0 / (1.0 + same_cluster as f64 * 0.5);
    let priority_score = if priority > 0.0 {
        priority / 100.0
    } else {
        0.0
    };
    (1.0 - diversity_weight) * priority_score + diversity_weight * bonus
}

/// Stable sort, highest priority first.
fn sort_by_priority_desc(list: &mut [&ActionCandidate]) {
    list.sort_by(|a, b| {
        b.priority
            .partial_cmp(&a.priority)
            .unwrap_or(Ordering::Equal)
    });
}

/// The top `n` of one category list (already sorted by priority, highest first).
///
/// * empty list or `n == 0` → nothing; `len ≤ n` → the list unchanged, in its order;
/// * otherwise clusters in first-seen order take `max(1, n / #clusters)` members each, clusters
///   by descending priority sum (stable), stopping after the cluster that reaches `n` (the pick
///   may overshoot `n`); a short pick is filled from the rest (value equality) by priority;
/// * the pick is stable-sorted by [`diversity_score`] and cut to `n`.
///
/// In the reference the score counts same-cluster neighbours inside the list being sorted,
/// and CPython shows a list as empty to the key function while sorting it, so `k` is always
/// 0: the bonus is the same for everyone and the order is by priority. That is what runs, so
/// that is what this does.
pub fn select_top(
    list: &[ActionCandidate],
    n: usize,
    securities: Option<&SecuritiesBySymbol>,
    diversity_weight: f64,
) -> Vec<ActionCandidate> {
    if list.is_empty() || n == 0 {
        return Vec::new();
    }
    if list.len() <= n {
        return list.to_vec();
    }

    let mut clusters: Vec<Vec<&ActionCandidate>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for action in list {
        let key = cluster_key(action, securities);
        let i = *index.entry(key).or_insert_with(|| {
            clusters.push(Vec::new());
            clusters.len() - 1
        });
        clusters[i].push(action);
    }

    let per_cluster = (n / clusters.len()).max(1);
    let sums: Vec<f64> = clusters
        .iter()
        .map(|c| c.iter().fold(0.0, |sum, a| sum + a.priority))
        .collect();
    let mut order: Vec<usize> = (0..clusters.len()).collect();
    order.sort_by(|&a, &b| sums[b].partial_cmp(&sums[a]).unwrap_or(Ordering::Equal));

    let mut selected: Vec<&ActionCandidate> = Vec::new();
    for i in order {
        let members = &clusters[i];
        selected.extend(&members[..per_cluster.min(members.len())]);
        if selected.len() >= n {
            break;
        }
    }

    if selected.len() < n {
        let mut remaining: Vec<&ActionCandidate> =
            list.iter().filter(|a| !selected.contains(a)).collect();
        sort_by_priority_desc(&mut remaining);
        let missing = n - selected.len();
        selected.extend(remaining.into_iter().take(missing));
    }

    let mut scored: Vec<(f64, &ActionCandidate)> = selected
        .into_iter()
        .map(|a| (diversity_score(a.priority, diversity_weight, 0), a))
        .collect();
    scored.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal));
    scored.into_iter().take(n).map(|(_, a)| a.clone()).collect()
}

#[cfg(test)]
#[path = "diverse_tests.rs"]
mod tests;
