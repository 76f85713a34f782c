//! The seeded sampler: determinism per seed, the shape of its draws, CPython's `choices`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::domain::Side;
use crate::generator::reference::fixtures::{buy, label, security, sell};
use crate::generator::reference::securities_by_symbol;

fn limits(max_sells: usize, max_buys: usize, max_steps: usize) -> SamplerLimits {
    SamplerLimits {
        max_sells,
        max_buys,
        priority_threshold: 0.3,
        max_steps,
        max_combinations: 50,
        max_candidates: 12,
    }
}

fn sells() -> Vec<ActionCandidate> {
    vec![
        sell("S1", 500.0, 9.0),
        sell("S2", 400.0, 5.0),
        sell("S3", 300.0, 2.0),
        sell("S4", 300.0, 0.2),
    ]
}

fn buys() -> Vec<ActionCandidate> {
    vec![
        buy("B1", 500.0, 8.0),
        buy("B2", 400.0, 4.0),
        buy("B3", 300.0, 1.0),
        buy("B4", 200.0, 0.5),
        buy("B5", 200.0, 0.1),
    ]
}

fn run(seed: u64, l: &SamplerLimits) -> Vec<Sequence> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    sample_sequences(&sells(), &buys(), l, None, &mut rng)
}

#[test]
fn the_same_seed_gives_the_same_sequences() {
    let l = limits(2, 4, 4);
    assert_eq!(run(7, &l), run(7, &l));
    assert!(!run(7, &l).is_empty());
}

#[test]
fn different_seeds_generally_differ() {
    let l = limits(2, 4, 4);
    let outputs: Vec<Vec<Sequence>> = (0..8).map(|seed| run(seed, &l)).collect();
    let distinct = outputs
        .iter()
        .enumerate()
        .filter(|(i, o)| !outputs[..*i].contains(o))
        .count();
    assert!(distinct > 1, "eight seeds produced one output");
}

#[test]
fn depth_one_draws_buy_singletons_only() {
    // At depth 1 the sells cap is min(cap, 1 / 2) = 0.
    let l = limits(0, 1, 1);
    let out = run(3, &l);
    assert_eq!(out.len(), 50);
    for s in &out {
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].side, Side::Buy);
    }
}

#[test]
fn sequences_respect_the_caps_and_put_sells_first() {
    for seed in 0..20 {
        for (max_sells, max_buys, steps) in [(1, 2, 2), (1, 3, 3), (2, 4, 4), (2, 3, 4)] {
            for s in run(seed, &limits(max_sells, max_buys, steps)) {
                assert!(!s.is_empty() && s.len() <= steps, "{}", label(&s));
                let n_sells = s.iter().filter(|a| a.side == Side::Sell).count();
                assert!(n_sells <= max_sells);
                assert!(s.len() - n_sells <= max_buys);
                let first_buy = s
                    .iter()
                    .position(|a| a.side == Side::Buy)
                    .unwrap_or(s.len());
                assert!(s[first_buy..].iter().all(|a| a.side == Side::Buy));
                // Below-threshold candidates (S4 0.2, B5 0.1) are never drawn.
                assert!(s.iter().all(|a| a.symbol != "S4" && a.symbol != "B5"));
            }
        }
    }
}

#[test]
fn a_symbol_appears_once_per_side_within_a_draw() {
    // Three buys share a symbol; the per-symbol dedup keeps the first drawn.
    let buys = vec![
        buy("A", 100.0, 5.0),
        buy("A", 200.0, 4.0),
        buy("A", 300.0, 3.0),
        buy("B", 100.0, 2.0),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let out = sample_sequences(&[], &buys, &limits(0, 4, 4), None, &mut rng);
    assert!(!out.is_empty());
    for s in &out {
        let a_count = s.iter().filter(|a| a.symbol == "A").count();
        assert!(a_count <= 1, "{}", label(s));
    }
}

#[test]
fn only_the_top_candidates_are_drawn() {
    let l = SamplerLimits {
        max_candidates: 2,
        ..limits(2, 2, 4)
    };
    for s in run(5, &l) {
        assert!(
            s.iter()
                .all(|a| ["S1", "S2", "B1", "B2"].contains(&a.symbol.as_str())),
            "{}",
            label(&s)
        );
    }
}

#[test]
fn nothing_without_eligible_candidates() {
    let low = vec![buy("A", 100.0, 0.1)];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    assert!(sample_sequences(&[], &low, &limits(1, 1, 1), None, &mut rng).is_empty());
    // Sells only at depth 1: the sells cap is 0, so every attempt is empty and skipped.
    let out = sample_sequences(&sells(), &[], &limits(0, 1, 1), None, &mut rng);
    assert!(out.is_empty());
}

#[test]
fn similar_sequences_are_rejected_when_securities_are_known() {
    // Every candidate is a US Tech security: after the first accepted sequence, every other
    // one overlaps 100 % on both countries and industries.
    let securities: Vec<_> = ["B1", "B2", "B3", "B4"]
        .iter()
        .map(|s| security(s, Some("US"), Some("Tech")))
        .collect();
    let by_symbol = securities_by_symbol(&securities).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let out = sample_sequences(&[], &buys(), &limits(0, 3, 3), Some(&by_symbol), &mut rng);
    assert_eq!(out.len(), 1);
    // Without securities the same draws are all accepted.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    assert_eq!(
        sample_sequences(&[], &buys(), &limits(0, 3, 3), None, &mut rng).len(),
        50
    );
}

#[test]
fn the_diversity_window_is_the_last_ten() {
    let by_symbol = securities_by_symbol(&[
        security("A", Some("US"), Some("Tech")),
        security("B", Some("DE"), Some("Cars")),
    ])
    .unwrap();
    let a = vec![buy("A", 1.0, 1.0)];
    let b = vec![buy("B", 1.0, 1.0)];
    let mut accepted = vec![a.clone()];
    assert!(!is_diverse(&a, &accepted, Some(&by_symbol)));
    assert!(is_diverse(&b, &accepted, Some(&by_symbol)));
    accepted.extend(std::iter::repeat_n(b.clone(), 10));
    // The A sequence is now 11th from the end: outside the window.
    assert!(is_diverse(&a, &accepted, Some(&by_symbol)));
    assert!(!is_diverse(&b, &accepted, Some(&by_symbol)));
    // An unknown symbol has empty sets: overlap 0 / max(0, 1) = 0, always diverse.
    assert!(is_diverse(
        &[buy("Z", 1.0, 1.0)],
        &[vec![buy("Z", 1.0, 1.0)]],
        Some(&by_symbol)
    ));
}

#[test]
fn weights_square_the_normalised_priority_and_add_a_base() {
    let c = [buy("A", 1.0, 3.0), buy("B", 1.0, 2.0), buy("C", 1.0, 1.0)];
    let refs: Vec<&ActionCandidate> = c.iter().collect();
    let w = priority_weights(&refs);
    let total = 1.1 + 0.35 + 0.1;
    assert_eq!(w, vec![1.1 / total, (0.25 + 0.1) / total, 0.1 / total]);
    let equal = [buy("A", 1.0, 2.0), buy("B", 1.0, 2.0)];
    let refs: Vec<&ActionCandidate> = equal.iter().collect();
    assert_eq!(priority_weights(&refs), vec![1.0, 1.0]);
    assert!(priority_weights(&[]).is_empty());
}

#[test]
fn choices_bisect_right_on_cumulative_weights() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // Weights (0, 0, 1): every draw x in [0, 1) passes both zero sums → index 2.
    assert!(
        weighted_choices(&mut rng, &[0.0, 0.0, 1.0], 20)
            .iter()
            .all(|&i| i == 2)
    );
    // Weights (1, 0, 0): x < 1 never reaches the first sum → index 0.
    assert!(
        weighted_choices(&mut rng, &[1.0, 1.0, 1.0], 20)
            .iter()
            .all(|&i| i == 0)
    );
    // Two halves: both indices appear over many draws.
    let picks = weighted_choices(&mut rng, &[0.5, 1.0], 200);
    assert!(picks.contains(&0) && picks.contains(&1));
    assert!(weighted_choices(&mut rng, &[], 3).is_empty());
    assert!(weighted_choices(&mut rng, &[1.0], 0).is_empty());
}
