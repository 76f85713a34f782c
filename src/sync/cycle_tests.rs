use super::*;
use crate::domain::{Currency, Decimal};
use crate::sync::execution::SkipCode;

fn report() -> ExecutionReport {
    ExecutionReport {
        mode: "research",
        outcomes: vec![
            StepOutcome::Filled {
                step: 0,
                trade_id: 1,
                price: Decimal::from_f64(10.0).unwrap(),
                currency: Currency::EUR,
            },
            StepOutcome::AlreadyExecuted { step: 1 },
            StepOutcome::Skipped {
                step: 2,
                code: SkipCode::NoQuote,
                reason: "no quote for AAA".into(),
            },
            StepOutcome::Skipped {
                step: 3,
                code: SkipCode::CycleLimit,
                reason: "at most 3 orders per cycle".into(),
            },
        ],
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn results_count_each_outcome_and_say_why_steps_were_skipped() {
    assert_eq!(
        results(7, 12, 4, &report()),
        map(&[
            ("already_executed", "1"),
            ("filled", "1"),
            ("mode", "research"),
            ("placed", "0"),
            ("plan_id", "12"),
            ("run_id", "7"),
            (
                "skip_reasons",
                "step 3: no quote for AAA; step 4: at most 3 orders per cycle"
            ),
            ("skipped", "2"),
            ("steps", "4"),
            ("unconfirmed", "0"),
        ])
    );
}

#[test]
fn without_skips_there_are_no_skip_reasons() {
    let report = ExecutionReport {
        mode: "live",
        outcomes: vec![],
    };
    assert!(!results(1, 2, 0, &report).contains_key("skip_reasons"));
}

#[test]
fn a_completed_cycle_summarises_its_counts() {
    let answer = answer(
        "7".into(),
        Ok(map(&[
            ("mode", "research"),
            ("filled", "2"),
            ("placed", "0"),
            ("skipped", "1"),
        ])),
    );
    let summary = "Trading cycle complete (research): 2 filled, 0 placed, 1 skipped";
    assert!(answer.success);
    assert_eq!(answer.cycle_id, "7");
    assert_eq!(answer.message, summary);
    let update = answer.final_update.unwrap();
    assert_eq!(
        (update.phase.as_str(), update.progress_pct, update.complete),
        ("Complete", 100.0, true)
    );
    assert_eq!(update.message, summary);
    assert_eq!(update.results["filled"], "2");
}

#[test]
fn a_failed_cycle_names_its_phase_and_error() {
    let answer = answer(
        "9".into(),
        Err(CycleFailure::planning(
            "planning run 9 failed: no data".into(),
        )),
    );
    assert!(!answer.success);
    assert_eq!(
        answer.message,
        "Trading cycle failed: planning run 9 failed: no data"
    );
    let update = answer.final_update.unwrap();
    assert_eq!(
        (update.phase.as_str(), update.progress_pct),
        ("Planning", 70.0)
    );
    assert_eq!(
        update.error.as_deref(),
        Some("planning run 9 failed: no data")
    );
    assert!(update.results.is_empty() && update.complete && !update.success);
}
