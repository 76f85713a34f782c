//! The worked example of spec §7.3–7.4, recorded from the reference: the request with
//! 1000 EUR, the sampler off and batch size 10 yields 10 deduplicated sequences and 15
//! partial-execution prefixes, all feasible.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::domain::ActionCandidate;
use crate::generator::api::{GenerateSequencesRequest, generate_request};

use super::fixtures::{SPEC_OPPORTUNITIES, label, label_with_quantity, labels, spec_opportunities};
use super::patterns::{Pattern, TopLists};
use super::{SequenceParams, generate_action_sequences};

fn spec_request() -> GenerateSequencesRequest {
    let opportunities: serde_json::Value = serde_json::from_str(SPEC_OPPORTUNITIES).unwrap();
    serde_json::from_value(json!({
        "opportunities": opportunities,
        "feasibility": {"available_cash": 1000.0},
        "combinatorial": {"enable_weighted_combinations": false},
        "batch_size": 10
    }))
    .unwrap()
}

const DEDUP: [&str; 10] = [
    "B:BBB×49",
    "S:AAA×20",
    "S:AAA×20 S:CCC×4",
    "S:AAA×20 B:BBB×49",
    "S:AAA×20 B:DDD×40",
    "S:AAA×20 S:CCC×4 B:DDD×40",
    "S:AAA×20 S:CCC×4 B:BBB×49",
    "S:AAA×20 B:BBB×49 B:DDD×40",
    "S:AAA×20 S:CCC×4 B:BBB×49 B:DDD×40",
    "S:AAA×20 S:CCC×4 B:DDD×40 B:BBB×49",
];

const PARTIALS: [&str; 15] = [
    "S:AAA×20",
    "S:AAA×20",
    "S:AAA×20",
    "S:AAA×20",
    "S:AAA×20 S:CCC×4",
    "S:AAA×20",
    "S:AAA×20 S:CCC×4",
    "S:AAA×20",
    "S:AAA×20 B:BBB×49",
    "S:AAA×20",
    "S:AAA×20 S:CCC×4",
    "S:AAA×20 S:CCC×4 B:BBB×49",
    "S:AAA×20",
    "S:AAA×20 S:CCC×4",
    "S:AAA×20 S:CCC×4 B:DDD×40",
];

#[test]
fn the_request_yields_the_recorded_25_sequences_in_order() {
    let request = spec_request();
    assert!(request.validate().is_empty());
    let sequences = generate_request(&request, 42);
    let got: Vec<String> = sequences.iter().map(|s| label_with_quantity(s)).collect();
    let expected: Vec<&str> = DEDUP.iter().chain(PARTIALS.iter()).copied().collect();
    assert_eq!(got, expected);

    // §7.4 batches of 10: 10 + 10 + 5; batch 1 starts with the partials.
    let batches: Vec<Vec<String>> = got.chunks(10).map(<[String]>::to_vec).collect();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[1][0], "S:AAA×20");
    assert_eq!(batches[2].len(), 5);
}

#[test]
fn every_action_is_the_unchanged_input_object() {
    let inputs = spec_opportunities();
    let originals: Vec<&ActionCandidate> = inputs.iter().map(|(_, a)| a).collect();
    let sequences = generate_request(&spec_request(), 42);
    for sequence in &sequences {
        for action in sequence {
            let original = originals
                .iter()
                .find(|o| o.symbol == action.symbol)
                .unwrap();
            assert_eq!(&action, original);
        }
    }
    // Spot-check the float fields that come from the example's f64 arithmetic.
    assert_eq!(sequences[0][0].priority, 9.999999999999998);
    assert_eq!(sequences[2][1].priority, 4.999999999999999);
}

#[test]
fn the_seed_does_not_matter_with_the_sampler_off() {
    let request = spec_request();
    assert_eq!(generate_request(&request, 1), generate_request(&request, 2));
}

#[test]
fn dedup_stage_is_the_recorded_list_of_ten() {
    let opportunities = spec_opportunities();
    let request = spec_request();
    let params = SequenceParams::from_settings(&request.combinatorial, 1000.0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let unique = generate_action_sequences(&opportunities, &params, None, &mut rng);
    let got: Vec<String> = unique.iter().map(|s| label_with_quantity(s)).collect();
    assert_eq!(got, DEDUP);
}

/// The per-depth pattern table of spec §7.3 (`-` = no pattern).
const TABLE: [[&str; 11]; 4] = [
    [
        "B:BBB", "-", "S:AAA", "B:BBB", "S:AAA", "S:AAA", "S:AAA", "-", "S:AAA", "S:AAA", "S:AAA",
    ],
    [
        "B:BBB",
        "-",
        "S:AAA S:CCC",
        "B:BBB",
        "S:AAA",
        "S:AAA S:CCC",
        "S:AAA B:BBB",
        "-",
        "S:AAA B:DDD",
        "S:AAA S:CCC",
        "S:AAA S:CCC",
    ],
    [
        "B:BBB",
        "-",
        "S:AAA S:CCC B:DDD",
        "B:BBB",
        "S:AAA",
        "S:AAA S:CCC B:BBB",
        "S:AAA B:BBB B:DDD",
        "-",
        "S:AAA B:DDD",
        "S:AAA S:CCC B:BBB",
        "S:AAA S:CCC B:DDD",
    ],
    [
        "B:BBB",
        "-",
        "S:AAA S:CCC B:DDD",
        "B:BBB",
        "S:AAA",
        "S:AAA S:CCC B:BBB B:DDD",
        "S:AAA S:CCC B:BBB B:DDD",
        "-",
        "S:AAA S:CCC B:DDD",
        "S:AAA S:CCC B:BBB B:DDD",
        "S:AAA S:CCC B:DDD B:BBB",
    ],
];

#[test]
fn every_pattern_at_every_depth_matches_the_table() {
    let opportunities = spec_opportunities();
    // Diverse selection on, no securities: every list has at most 5 items, so unchanged.
    let top = TopLists::select(&opportunities, 5, true, 0.3, None);
    assert_eq!(top.rebalance_sells, opportunities.rebalance_sells);
    for (row, depth) in TABLE.iter().zip(1..) {
        for (&expected, pattern) in row.iter().zip(Pattern::ALL) {
            let got = pattern
                .build(&top, 1000.0, depth)
                .map_or("-".to_string(), |s| label(&s));
            assert_eq!(got, expected, "{} at depth {depth}", pattern.name());
        }
    }
}

#[test]
fn partials_come_from_sequences_two_to_nine() {
    let opportunities = spec_opportunities();
    let request = spec_request();
    let params = SequenceParams::from_settings(&request.combinatorial, 1000.0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let unique = generate_action_sequences(&opportunities, &params, None, &mut rng);
    let partials = super::partial::partial_execution(&unique, 4);
    assert_eq!(
        labels(&partials),
        PARTIALS
            .iter()
            .map(|p| p
                .split(' ')
                .map(|a| a.split('×').next().unwrap())
                .collect::<Vec<_>>()
                .join(" "))
            .collect::<Vec<_>>()
    );
}
