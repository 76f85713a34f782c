use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use proptest::prelude::*;

use super::*;

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

fn candidate(side: Side, symbol: &str, value: f64, priority: f64) -> ActionCandidate {
    ActionCandidate {
        side,
        symbol: symbol.into(),
        name: symbol.into(),
        quantity: 1,
        price: value,
        value_eur: value,
        currency: "EUR".into(),
        priority,
        reason: String::new(),
        tags: Vec::new(),
    }
}

fn opportunities(list: &[ActionCandidate]) -> Opportunities {
    let mut o = Opportunities::default();
    for c in list {
        match c.side {
            Side::Sell => o.rebalance_sells.push(c.clone()),
            Side::Buy => o.rebalance_buys.push(c.clone()),
        }
    }
    o
}

/// Every sequence as `(symbol, side)` keys, in emitted order, and the batch sizes.
fn generate(
    generator: &ExhaustiveGenerator,
    threads: usize,
    batch_size: usize,
) -> (Vec<Vec<(String, Side)>>, Vec<usize>) {
    let mut sequences = Vec::new();
    let mut sizes = Vec::new();
    generator.for_each_batch(&pool(threads), batch_size, |batch| {
        sizes.push(batch.len());
        for acts in batch.iter() {
            sequences.push(
                acts.iter()
                    .map(|a| (generator.symbols().name(a.symbol).to_string(), a.side))
                    .collect(),
            );
        }
        ControlFlow::Continue(())
    });
    (sequences, sizes)
}

fn cost(c: &Constraints, value: f64) -> f64 {
    c.transaction_cost_fixed + value * c.transaction_cost_percent
}

/// Whether a candidate may appear in any sequence, decided from the rules directly.
fn eligible(a: &ActionCandidate, c: &Constraints) -> bool {
    let security = c.securities.iter().find(|s| s.symbol == a.symbol);
    let allowed = match a.side {
        Side::Buy => security.is_none_or(|s| s.allow_buy) && !c.buy_blocked.contains(&a.symbol),
        Side::Sell => {
            security.is_none_or(|s| s.allow_sell)
                && !c.sell_blocked.contains(&a.symbol)
                && c.held.as_ref().is_none_or(|h| {
                    h.get(&a.symbol)
                        .is_some_and(|&held| held >= a.quantity as f64)
                })
                && a.value_eur - cost(c, a.value_eur) >= 0.0
        }
    };
    allowed && a.value_eur >= c.min_trade_value
}

/// Whether some order of the set, sells before buys, keeps the running cash non-negative.
fn feasible_in_some_order(set: &[&ActionCandidate], c: &Constraints) -> bool {
    let sells: Vec<&&ActionCandidate> = set.iter().filter(|a| a.side == Side::Sell).collect();
    let buys: Vec<&&ActionCandidate> = set.iter().filter(|a| a.side == Side::Buy).collect();
    let orders = |n: usize| -> Vec<Vec<usize>> {
        let mut all = vec![vec![]];
        for _ in 0..n {
            let mut next = Vec::new();
            for p in &all {
                for i in 0..n {
                    if !p.contains(&i) {
                        let mut q = p.clone();
                        q.push(i);
                        next.push(q);
                    }
                }
            }
            all = next;
        }
        all
    };
    orders(sells.len()).iter().any(|so| {
        orders(buys.len()).iter().any(|bo| {
            let mut cash = c.available_cash;
            for &i in so {
                cash += sells[i].value_eur - cost(c, sells[i].value_eur);
                if cash < 0.0 {
                    return false;
                }
            }
            for &i in bo {
                cash -= buys[i].value_eur + cost(c, buys[i].value_eur);
                if cash < 0.0 {
                    return false;
                }
            }
            true
        })
    })
}

/// All valid sets of up to `depth` candidates, found by trying every subset.
fn brute_force(list: &[ActionCandidate], c: &Constraints, depth: usize) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for mask in 1u32..(1 << list.len()) {
        let set: Vec<&ActionCandidate> = (0..list.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| &list[i])
            .collect();
        if set.len() > depth || !set.iter().all(|a| eligible(a, c)) {
            continue;
        }
        let symbols: HashSet<&str> = set.iter().map(|a| a.symbol.as_str()).collect();
        if symbols.len() != set.len() || !feasible_in_some_order(&set, c) {
            continue;
        }
        out.insert(set_key(set.iter().map(|a| (a.symbol.clone(), a.side))));
    }
    out
}

fn set_key(actions: impl Iterator<Item = (String, Side)>) -> Vec<String> {
    let mut key: Vec<String> = actions.map(|(s, side)| format!("{side:?}:{s}")).collect();
    key.sort();
    key
}

/// Replays the running cash of an emitted sequence in its order.
fn walk_ok(sequence: &[(String, Side)], list: &[ActionCandidate], c: &Constraints) -> bool {
    let mut cash = c.available_cash;
    let mut seen_buy = false;
    for (symbol, side) in sequence {
        let a = list
            .iter()
            .find(|a| &a.symbol == symbol && a.side == *side)
            .unwrap();
        match side {
            Side::Sell if seen_buy => return false,
            Side::Sell => cash += a.value_eur - cost(c, a.value_eur),
            Side::Buy => {
                seen_buy = true;
                cash -= a.value_eur + cost(c, a.value_eur);
            }
        }
        if cash < 0.0 {
            return false;
        }
    }
    true
}

prop_compose! {
    fn candidates()(raw in prop::collection::vec(
        (any::<bool>(), 0usize..6, 1.0f64..3000.0, 1i64..40, 0.0f64..1.0), 1..10,
    )) -> Vec<ActionCandidate> {
        let mut seen = HashSet::new();
        raw.into_iter()
            .filter(|(sell, s, ..)| seen.insert((*sell, *s)))
            .map(|(sell, s, value, quantity, priority)| ActionCandidate {
                quantity,
                ..candidate(if sell { Side::Sell } else { Side::Buy }, &format!("S{s}"), value, priority)
            })
            .collect()
    }
}

prop_compose! {
    fn constraints()(
        cash in 0.0f64..6000.0,
        fixed in 0.0f64..5.0,
        percent in 0.0f64..0.01,
        min_trade_value in 0.0f64..300.0,
        flags in prop::collection::vec((any::<bool>(), any::<bool>(), prop::option::of(0.0f64..60.0)), 6),
        use_held in any::<bool>(),
        blocked in prop::collection::vec((0usize..6, any::<bool>()), 0..3),
    ) -> Constraints {
        let securities = flags.iter().enumerate().map(|(i, &(allow_buy, allow_sell, _))| Security {
            allow_buy: allow_buy || i % 2 == 0,
            allow_sell: allow_sell || i % 2 == 1,
            ..Security::new(&format!("S{i}"), "name")
        }).collect();
        let held = use_held.then(|| flags.iter().enumerate()
            .filter_map(|(i, f)| f.2.map(|q| (format!("S{i}"), q.floor())))
            .collect::<HashMap<_, _>>());
        let mut buy_blocked = HashSet::new();
        let mut sell_blocked = HashSet::new();
        for (s, buy) in blocked {
            if buy { buy_blocked.insert(format!("S{s}")); } else { sell_blocked.insert(format!("S{s}")); }
        }
        Constraints {
            available_cash: cash,
            transaction_cost_fixed: fixed,
            transaction_cost_percent: percent,
            min_trade_value,
            securities,
            held,
            buy_blocked,
            sell_blocked,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn yields_exactly_the_valid_combinations(
        list in candidates(),
        c in constraints(),
        depth in 1usize..=4,
        batch_size in 1usize..7,
        threads in 1usize..=3,
    ) {
        let settings = ExhaustiveSettings { max_depth: depth, ..ExhaustiveSettings::default() };
        let generator = ExhaustiveGenerator::new(&opportunities(&list), &c, &settings);
        let (sequences, sizes) = generate(&generator, threads, batch_size);

        let expected = brute_force(&list, &c, depth);
        let produced: Vec<Vec<String>> =
            sequences.iter().map(|s| set_key(s.iter().cloned())).collect();
        let distinct: BTreeSet<Vec<String>> = produced.iter().cloned().collect();
        prop_assert_eq!(produced.len(), distinct.len(), "a set was produced twice");
        prop_assert_eq!(&distinct, &expected);
        prop_assert_eq!(generator.count(&pool(threads)), expected.len() as u64);

        for s in &sequences {
            let symbols: HashSet<&String> = s.iter().map(|(sym, _)| sym).collect();
            prop_assert_eq!(symbols.len(), s.len(), "a symbol repeats in {:?}", s);
            prop_assert!(walk_ok(s, &list, &c), "running cash goes negative in {:?}", s);
        }
        prop_assert!(sizes.iter().all(|&n| n >= 1 && n <= batch_size), "batch sizes {:?}", sizes);
    }

    #[test]
    fn output_does_not_depend_on_threads_or_batch_size(
        list in candidates(),
        c in constraints(),
        depth in 1usize..=4,
    ) {
        let settings = ExhaustiveSettings { max_depth: depth, ..ExhaustiveSettings::default() };
        let generator = ExhaustiveGenerator::new(&opportunities(&list), &c, &settings);
        let (one, _) = generate(&generator, 1, 3);
        let (three, _) = generate(&generator, 3, 1000);
        prop_assert_eq!(one, three);
    }
}

fn wide(n: usize) -> Vec<ActionCandidate> {
    (0..n)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Sell } else { Side::Buy };
            candidate(
                side,
                &format!("W{i:02}"),
                100.0 + i as f64,
                1.0 - i as f64 / 100.0,
            )
        })
        .collect()
}

fn ample() -> Constraints {
    Constraints {
        available_cash: 1e9,
        transaction_cost_fixed: 2.0,
        transaction_cost_percent: 0.002,
        min_trade_value: 100.0,
        ..Constraints::default()
    }
}

#[test]
fn counts_every_combination_when_nothing_is_pruned() {
    // C(20,1) + … + C(20,5) = 20 + 190 + 1140 + 4845 + 15504.
    let generator =
        ExhaustiveGenerator::new(&opportunities(&wide(20)), &ample(), &Default::default());
    let (sequences, sizes) = generate(&generator, 2, 500);
    assert_eq!(sequences.len(), 21_699);
    assert_eq!(generator.count(&pool(2)), 21_699);
    assert!(sizes.iter().all(|&n| n <= 500));
    // Sells (even indices) are walked before buys, so no sequence has a buy before a sell.
    assert!(sequences.iter().all(|s| {
        s.windows(2)
            .all(|w| w[0].1 == Side::Sell || w[1].1 == Side::Buy)
    }));
}

#[test]
fn preorder_output_order() {
    let list = wide(3);
    let generator = ExhaustiveGenerator::new(&opportunities(&list), &ample(), &Default::default());
    let (sequences, _) = generate(&generator, 2, 2);
    let names: Vec<String> = sequences
        .iter()
        .map(|s| {
            s.iter()
                .map(|(sym, _)| sym.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    // Walk order: sells W00, W02 (by priority), then the buy W01.
    assert_eq!(
        names,
        [
            "W00",
            "W00 W02",
            "W00 W02 W01",
            "W00 W01",
            "W02",
            "W02 W01",
            "W01"
        ]
    );
}

#[test]
fn the_cap_keeps_a_prefix_of_the_full_output() {
    let list = wide(12);
    let full = ExhaustiveGenerator::new(&opportunities(&list), &ample(), &Default::default());
    let (all, _) = generate(&full, 2, 64);
    let capped = ExhaustiveGenerator::new(
        &opportunities(&list),
        &ample(),
        &ExhaustiveSettings {
            max_sequences: Some(1000),
            ..Default::default()
        },
    );
    let summary = capped.for_each_batch(&pool(2), 64, |_| ControlFlow::Continue(()));
    assert_eq!(summary.sequences, 1000);
    assert!(summary.capped);
    let (some, _) = generate(&capped, 2, 64);
    assert_eq!(&all[..1000], &some[..]);
    assert_eq!(capped.count(&pool(2)), 1000);
    assert!(
        !full
            .for_each_batch(&pool(2), 64, |_| ControlFlow::Continue(()))
            .capped
    );
}

#[test]
fn candidate_cap_keeps_the_highest_priorities_per_side() {
    let list = wide(10);
    let generator = ExhaustiveGenerator::new(
        &opportunities(&list),
        &ample(),
        &ExhaustiveSettings {
            max_candidates_per_side: Some(2),
            ..Default::default()
        },
    );
    let kept: Vec<&str> = generator
        .candidates()
        .iter()
        .map(|(_, c)| c.symbol.as_str())
        .collect();
    assert_eq!(kept, ["W00", "W02", "W01", "W03"]);
    assert_eq!(
        generator
            .pruned()
            .iter()
            .filter(|p| p.reason == PruneReason::OverCandidateCap)
            .count(),
        6
    );
    // 4 candidates, at most 4 deep: 2^4 − 1 sets.
    assert_eq!(generator.count(&pool(1)), 15);
}

#[test]
fn pruned_candidates_say_why() {
    let mut list = vec![
        candidate(Side::Buy, "NOBUY", 500.0, 0.9),
        candidate(Side::Sell, "NOSELL", 500.0, 0.9),
        candidate(Side::Buy, "COOL", 500.0, 0.9),
        candidate(Side::Sell, "HOLD", 500.0, 0.9),
        candidate(Side::Buy, "TINY", 50.0, 0.9),
        candidate(Side::Sell, "NOPOS", 500.0, 0.9),
        candidate(Side::Sell, "BIG", 500.0, 0.9),
        candidate(Side::Buy, "DUP", 500.0, 0.9),
        candidate(Side::Buy, "DUP", 300.0, 0.5),
        candidate(Side::Buy, "OK", 500.0, 0.9),
    ];
    list[6].quantity = 10;
    let constraints = Constraints {
        securities: vec![
            Security {
                allow_buy: false,
                ..Security::new("NOBUY", "n")
            },
            Security {
                allow_sell: false,
                ..Security::new("NOSELL", "n")
            },
        ],
        held: Some(HashMap::from([
            ("NOSELL".to_string(), 5.0),
            ("HOLD".to_string(), 5.0),
            ("BIG".to_string(), 5.0),
        ])),
        buy_blocked: HashSet::from(["COOL".to_string()]),
        sell_blocked: HashSet::from(["HOLD".to_string()]),
        ..ample()
    };
    let generator =
        ExhaustiveGenerator::new(&opportunities(&list), &constraints, &Default::default());
    let reasons: HashMap<(&str, u64), PruneReason> = generator
        .pruned()
        .iter()
        .map(|p| {
            (
                (p.candidate.symbol.as_str(), p.candidate.value_eur as u64),
                p.reason,
            )
        })
        .collect();
    assert_eq!(reasons[&("NOBUY", 500)], PruneReason::NotAllowedToBuy);
    assert_eq!(reasons[&("NOSELL", 500)], PruneReason::NotAllowedToSell);
    assert_eq!(reasons[&("COOL", 500)], PruneReason::BuyCooldown);
    assert_eq!(reasons[&("HOLD", 500)], PruneReason::SellBlocked);
    assert_eq!(reasons[&("TINY", 50)], PruneReason::BelowMinTradeValue);
    assert_eq!(reasons[&("NOPOS", 500)], PruneReason::NoPosition);
    assert_eq!(reasons[&("BIG", 500)], PruneReason::MoreThanHeld);
    assert_eq!(
        reasons[&("DUP", 300)],
        PruneReason::DuplicateOfHigherPriority
    );
    let kept: Vec<&str> = generator
        .candidates()
        .iter()
        .map(|(_, c)| c.symbol.as_str())
        .collect();
    assert_eq!(kept, ["DUP", "OK"]);
}

#[test]
fn cash_prunes_buys_until_a_sell_pays_for_them() {
    let list = vec![
        candidate(Side::Sell, "S", 1000.0, 0.9),
        candidate(Side::Buy, "B1", 900.0, 0.8),
        candidate(Side::Buy, "B2", 900.0, 0.7),
    ];
    let constraints = Constraints {
        available_cash: 100.0,
        ..ample()
    };
    let generator =
        ExhaustiveGenerator::new(&opportunities(&list), &constraints, &Default::default());
    let (sequences, _) = generate(&generator, 1, 10);
    let names: Vec<String> = sequences
        .iter()
        .map(|s| {
            s.iter()
                .map(|(sym, _)| sym.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    // 100 + 1000 − 4 = 1096 pays for one 900 buy (+3.8 costs), not two; alone, no buy fits.
    assert_eq!(names, ["S", "S B1", "S B2"]);
}

#[test]
fn a_sell_and_a_buy_of_one_symbol_never_share_a_sequence() {
    let list = vec![
        candidate(Side::Sell, "X", 500.0, 0.9),
        candidate(Side::Buy, "X", 500.0, 0.8),
        candidate(Side::Buy, "Y", 500.0, 0.7),
    ];
    let generator = ExhaustiveGenerator::new(&opportunities(&list), &ample(), &Default::default());
    let (sequences, _) = generate(&generator, 1, 10);
    assert_eq!(sequences.len(), 5); // X-, X-Y+, X+, X+Y+, Y+
    assert!(sequences.iter().all(|s| s.len() < 2 || s[0].0 != s[1].0));
}

#[test]
fn dropping_the_receiver_stops_the_stream() {
    let generator = Arc::new(ExhaustiveGenerator::new(
        &opportunities(&wide(40)),
        &ample(),
        &Default::default(),
    ));
    let (batches, handle) = generator.spawn_stream(Arc::new(pool(2)), 100, 1);
    let first = batches.recv().unwrap();
    assert!(first.len() <= 100);
    drop(batches);
    let summary = handle.join().unwrap();
    // C(40, ≤5) is about 760,000; the stream stopped long before.
    assert!(summary.sequences < 10_000, "{summary:?}");
}

#[test]
fn streamed_output_equals_the_direct_walk() {
    let generator = Arc::new(ExhaustiveGenerator::new(
        &opportunities(&wide(16)),
        &ample(),
        &Default::default(),
    ));
    let (direct, _) = generate(&generator, 2, 256);
    let (batches, handle) = generator.clone().spawn_stream(Arc::new(pool(2)), 256, 2);
    let mut streamed = Vec::new();
    for batch in batches {
        assert!(batch.len() <= 256);
        for acts in batch.iter() {
            streamed.push(
                acts.iter()
                    .map(|a| {
                        let c = generator.candidate_of(a);
                        (c.symbol.clone(), c.side)
                    })
                    .collect::<Vec<_>>(),
            );
        }
    }
    let summary = handle.join().unwrap();
    assert_eq!(summary.sequences as usize, direct.len());
    assert_eq!(streamed, direct);
}

/// C(n, 1) + … + C(n, k).
fn combinations_up_to(n: u64, k: u64) -> u64 {
    let mut total = 0;
    let mut c = 1u64;
    for i in 1..=k {
        c = c * (n - i + 1) / i;
        total += c;
    }
    total
}

#[test]
fn a_stopped_count_ends_after_its_first_window() {
    let generator =
        ExhaustiveGenerator::new(&opportunities(&wide(60)), &ample(), &Default::default());
    let stop = std::sync::atomic::AtomicBool::new(true);
    let counted = generator.count_until(&pool(1), &stop);
    // One window of a one-thread pool: 8 plans of at most 65,536 sequences.
    assert!(counted <= 8 * 65_536, "{counted}");
    assert!(counted < combinations_up_to(60, 5));
}

#[test]
fn the_count_stops_at_the_cap_without_walking_every_combination() {
    let generator = ExhaustiveGenerator::new(
        &opportunities(&wide(60)),
        &ample(),
        &ExhaustiveSettings {
            max_sequences: Some(1000),
            max_depth: 10,
            ..Default::default()
        },
    );
    // About 10^11 combinations: a count that walked them all would not end within the test
    // run's limit; stopping at the cap takes one window.
    let never = std::sync::atomic::AtomicBool::new(false);
    assert_eq!(generator.count_until(&pool(1), &never), 1000);
}
