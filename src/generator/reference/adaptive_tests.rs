//! Adaptive patterns as the generator service runs them: current allocations 0, group keys
//! compared with raw countries, full lists, `break` on the first unaffordable candidate.

use super::*;
use crate::generator::reference::fixtures::{buy, labels, security};
use crate::generator::reference::securities_by_symbol;

fn weights(pairs: &[(&str, f64)]) -> IndexMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn context(country: &[(&str, f64)], industry: &[(&str, f64)]) -> AdaptiveContext {
    AdaptiveContext {
        total_value: 10_000.0,
        positions: weights(&[("US1", 5000.0)]),
        country_weights: weights(country),
        industry_weights: weights(industry),
        ..AdaptiveContext::default()
    }
}

fn universe() -> SecuritiesBySymbol {
    securities_by_symbol(&[
        security("US1", Some("US"), Some("Tech, Software")),
        security("US2", Some("US"), Some("Banks")),
        security("US3", Some("US"), Some("Tech")),
        security("DE1", Some("DE"), Some("Cars")),
        security("FR1", Some("FR"), Some("Luxury")),
        security("FR2", Some("FR"), Some("Tech")),
    ])
    .unwrap()
}

fn opportunities() -> Opportunities {
    Opportunities {
        // Averaging-down candidates are never used by the adaptive patterns.
        averaging_down: vec![buy("US3", 100.0, 9.0)],
        rebalance_buys: vec![
            buy("US1", 300.0, 5.0),
            buy("DE1", 200.0, 4.0),
            buy("FR1", 2000.0, 3.0),
            buy("US2", 200.0, 2.0),
        ],
        opportunity_buys: vec![buy("FR2", 100.0, 1.0)],
        ..Opportunities::default()
    }
}

#[test]
fn country_gaps_are_served_largest_first_and_stop_at_the_unaffordable() {
    // Gaps: US 0.5, DE 0.03 (FR 0.015 is not above 0.02). Holding US1 does not count: the
    // service has no security-to-country map, so every current allocation is 0.
    let ctx = context(&[("FR", 0.015), ("DE", 0.03), ("US", 0.5)], &[]);
    let u = universe();
    let out = adaptive_patterns(&opportunities(), &ctx, 1000.0, 4, Some(&u));
    // US: US1 (cash 700), DE1 skipped (not US), FR1 2000 > 700 → break; US2 never reached.
    // DE: rescan from the start: US1 already in, DE1 added (cash 500), FR1 → break.
    assert_eq!(labels(&out), ["B:US1 B:DE1"]);
}

#[test]
fn group_keys_do_not_match_raw_countries() {
    // "EU" is a group; no security has the country "EU".
    let ctx = context(&[("EU", 0.5)], &[]);
    let u = universe();
    assert!(adaptive_patterns(&opportunities(), &ctx, 1000.0, 4, Some(&u)).is_empty());
}

#[test]
fn industry_gaps_match_any_comma_part_and_come_second() {
    let ctx = context(&[("US", 0.5)], &[("Tech", 0.2), ("Cars", 0.015)]);
    let u = universe();
    let out = adaptive_patterns(&opportunities(), &ctx, 10_000.0, 4, Some(&u));
    // Geo: US1, US2 (FR1 affordable now, but not US). Sector, Tech 0.2 then Cars 0.015:
    // US1 ("Tech, Software"), FR2 ("Tech"), then DE1 (Cars).
    assert_eq!(labels(&out), ["B:US1 B:US2", "B:US1 B:FR2 B:DE1"]);
}

#[test]
fn the_sequence_stops_at_max_steps() {
    let ctx = context(&[], &[("Tech", 0.2), ("Cars", 0.5), ("Banks", 0.3)]);
    let u = universe();
    let out = adaptive_patterns(&opportunities(), &ctx, 10_000.0, 2, Some(&u));
    // Cars first (DE1), Banks (US2), then full.
    assert_eq!(labels(&out), ["B:DE1 B:US2"]);
}

#[test]
fn known_allocations_shrink_the_gaps() {
    let mut ctx = context(&[("US", 0.5), ("DE", 0.1)], &[]);
    ctx.security_countries = Some([("US1".to_string(), "United States".to_string())].into());
    ctx.country_to_group = [("United States".to_string(), "US".to_string())].into();
    // US1 holds 5000 / 10000 = 0.5 of group US: no US gap left; DE 0.1 remains.
    let u = universe();
    let out = adaptive_patterns(&opportunities(), &ctx, 1000.0, 4, Some(&u));
    assert_eq!(labels(&out), ["B:DE1"]);
}

#[test]
fn nothing_without_total_value_or_securities() {
    let mut ctx = context(&[("US", 0.5)], &[("Tech", 0.5)]);
    let u = universe();
    assert!(adaptive_patterns(&opportunities(), &ctx, 1000.0, 4, None).is_empty());
    ctx.total_value = 0.0;
    assert!(adaptive_patterns(&opportunities(), &ctx, 1000.0, 4, Some(&u)).is_empty());
}
