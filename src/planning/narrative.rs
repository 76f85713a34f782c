//! The texts a person reads next to a plan (spec §7.6): one narrative per step and one for the
//! plan. The structure is the reference's (which sentence is chosen when, in what order, how
//! amounts and percentages are printed); the wording is this project's own.

use crate::domain::{ActionCandidate, Side, round_py};

/// What a step narrative is about: one action of the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NarrativeStep<'a> {
    pub side: Side,
    pub symbol: &'a str,
    pub name: &'a str,
    /// EUR.
    pub value_eur: f64,
    pub reason: &'a str,
    pub tags: &'a [String],
}

impl<'a> From<&'a ActionCandidate> for NarrativeStep<'a> {
    fn from(a: &'a ActionCandidate) -> Self {
        NarrativeStep {
            side: a.side,
            symbol: &a.symbol,
            name: &a.name,
            value_eur: a.value_eur,
            reason: &a.reason,
            tags: &a.tags,
        }
    }
}

/// What a step narrative knows of the portfolio besides the step.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepContext<'a> {
    /// EUR value of the position in the step's symbol before the plan; 0 when not held.
    pub position_value_eur: f64,
    /// Name of the first buy opportunity (averaging down, then rebalance buys, then opportunity
    /// buys), when there is any: a sell says what its money could go to.
    pub first_buy_opportunity: Option<&'a str>,
    /// Dividend yield of the step's security (0.04 = 4 %), when known.
    pub dividend_yield: Option<f64>,
}

/// A yield above this is worth a sentence in a buy's narrative.
const NOTABLE_DIVIDEND_YIELD: f64 = 0.03;

/// The narrative of one step: a head naming the trade, then sentences chosen by its tags,
/// joined with single spaces.
pub fn step_narrative(step: &NarrativeStep<'_>, context: &StepContext<'_>) -> String {
    let mut parts = Vec::with_capacity(4);
    match step.side {
        Side::Sell => sell_parts(step, context, &mut parts),
        Side::Buy => buy_parts(step, context, &mut parts),
    }
    parts.join(" ")
}

fn sell_parts(step: &NarrativeStep<'_>, context: &StepContext<'_>, parts: &mut Vec<String>) {
    let value = step.value_eur;
    let held = context.position_value_eur;
    parts.push(if held > 0.0 && value > 0.0 {
        format!(
            "Sell {:.0}% / €{value:.0} of {} ({}).",
            value / held * 100.0,
            step.name,
            step.symbol
        )
    } else {
        format!("Sell €{value:.0} of {} ({}).", step.name, step.symbol)
    });
    let reason = sentence(step.reason);
    if has_tag(step, "windfall") {
        parts.push(format!(
            "The position has grown well beyond its usual pace: {reason}."
        ));
        parts.push("Selling part of it locks in the windfall before it can fade.".into());
    } else if has_tag(step, "profit_taking") {
        parts.push(format!("Reason: {reason}."));
        parts.push("Taking some profit lowers the risk of giving back a large gain.".into());
    } else if has_tag(step, "rebalance") {
        match region_tag(step, "overweight_") {
            Some(region) => {
                parts.push(format!(
                    "The portfolio holds more {region} than its target allocation."
                ));
                parts.push("Reducing this position improves diversification.".into());
            }
            None => parts.push(format!("Reason: {reason}.")),
        }
    } else {
        parts.push(format!("Reason: {reason}."));
    }
    if let Some(name) = context.first_buy_opportunity {
        parts.push(format!("The proceeds can fund a purchase of {name}."));
    }
}

fn buy_parts(step: &NarrativeStep<'_>, context: &StepContext<'_>, parts: &mut Vec<String>) {
    parts.push(format!(
        "Buy €{:.0} of {} ({}).",
        step.value_eur, step.name, step.symbol
    ));
    let reason = sentence(step.reason);
    if has_tag(step, "averaging_down") {
        parts.push("This quality holding trades below its usual level.".into());
        parts.push(format!("Reason: {reason}."));
        parts.push("Buying more now lowers the average cost of the position.".into());
    } else if has_tag(step, "rebalance") {
        match region_tag(step, "underweight_") {
            Some(region) => {
                parts.push(format!(
                    "The portfolio holds less {region} than its target allocation."
                ));
                parts.push("This purchase moves it closer to the target.".into());
            }
            None => parts.push(format!("Reason: {reason}.")),
        }
    } else if has_tag(step, "quality") || has_tag(step, "opportunity") {
        parts.push(format!("Reason: {reason}."));
        parts.push("It is a candidate for long-term growth.".into());
    } else {
        parts.push(format!("Reason: {reason}."));
    }
    if let Some(y) = context.dividend_yield
        && y > NOTABLE_DIVIDEND_YIELD
    {
        parts.push(format!("It also pays a {:.1}% dividend yield.", y * 100.0));
    }
}

fn has_tag(step: &NarrativeStep<'_>, tag: &str) -> bool {
    step.tags.iter().any(|t| t == tag)
}

/// The region of the first `overweight_<x>` / `underweight_<x>` tag, upper-cased.
fn region_tag(step: &NarrativeStep<'_>, prefix: &str) -> Option<String> {
    step.tags
        .iter()
        .find_map(|t| t.strip_prefix(prefix))
        .filter(|region| !region.is_empty())
        .map(str::to_uppercase)
}

/// A reason ready to be followed by a full stop: reasons often end with one already.
fn sentence(reason: &str) -> &str {
    reason.trim().trim_end_matches('.')
}

/// The narrative of a whole plan: a sentence on the strategy, the number of actions, one line
/// per side with its total and symbols, and the expected change of the portfolio score
/// (`score_before` and `score_after` on the 0–100 scale; a change below 0.05 points counts as
/// none). Lines are separated by `\n`.
pub fn plan_narrative(steps: &[NarrativeStep<'_>], score_before: f64, score_after: f64) -> String {
    if steps.is_empty() {
        return "No actions recommended. The portfolio is well-positioned.".into();
    }
    let sells: Vec<&NarrativeStep<'_>> = steps.iter().filter(|s| s.side == Side::Sell).collect();
    let buys: Vec<&NarrativeStep<'_>> = steps.iter().filter(|s| s.side == Side::Buy).collect();
    let windfall = sells.iter().any(|s| has_tag(s, "windfall"));
    let averaging = buys.iter().any(|s| has_tag(s, "averaging_down"));
    let strategy = if windfall && averaging {
        "This plan takes profits from windfall gains and reinvests them in quality holdings \
         that are temporarily down."
    } else if windfall {
        "This plan takes profits from positions that have grown well beyond their usual pace."
    } else if averaging {
        "This plan averages down on quality holdings that are temporarily undervalued."
    } else if !sells.is_empty() && !buys.is_empty() {
        "This plan rebalances the portfolio, selling some positions to buy others."
    } else if !buys.is_empty() {
        "This plan puts available cash to work."
    } else {
        "This plan reduces positions to lower risk or raise cash."
    };
    let n = steps.len();
    let mut lines = vec![format!(
        "{strategy} The plan consists of {n} action{}:",
        if n == 1 { "" } else { "s" }
    )];
    if !sells.is_empty() {
        lines.push(format!(
            "• Sell €{:.0} from {}",
            total(&sells),
            symbols(&sells)
        ));
    }
    if !buys.is_empty() {
        lines.push(format!("• Buy €{:.0} in {}", total(&buys), symbols(&buys)));
    }
    // Judged at the printed precision, so a change too small to show reads as none.
    let improvement = round_py(score_after - score_before, 1);
    lines.push(if improvement > 0.0 {
        format!(
            "Expected outcome: the portfolio score improves by +{improvement:.1} points \
             (from {score_before:.1} to {score_after:.1})."
        )
    } else if improvement < 0.0 {
        format!(
            "Expected outcome: the portfolio score may decrease by {:.1} points \
             (from {score_before:.1} to {score_after:.1}); the trades serve other goals.",
            -improvement
        )
    } else {
        format!("Expected outcome: the portfolio score stays at {score_before:.1}.")
    });
    lines.join("\n")
}

fn total(steps: &[&NarrativeStep<'_>]) -> f64 {
    steps.iter().map(|s| s.value_eur).sum()
}

fn symbols(steps: &[&NarrativeStep<'_>]) -> String {
    steps
        .iter()
        .map(|s| s.symbol)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    fn step<'a>(side: Side, value: f64, tags: &'a [String]) -> NarrativeStep<'a> {
        NarrativeStep {
            side,
            symbol: "AAA",
            name: "Alpha",
            value_eur: value,
            reason: "Strong run.",
            tags,
        }
    }

    fn none() -> StepContext<'static> {
        StepContext::default()
    }

    #[test]
    fn a_sell_of_a_held_position_states_its_share() {
        let t = tags(&[]);
        let context = StepContext {
            position_value_eur: 2000.0,
            ..none()
        };
        assert_eq!(
            step_narrative(&step(Side::Sell, 500.4, &t), &context),
            "Sell 25% / €500 of Alpha (AAA). Reason: Strong run."
        );
    }

    #[test]
    fn a_sell_without_a_position_value_states_the_amount_only() {
        let t = tags(&[]);
        assert_eq!(
            step_narrative(&step(Side::Sell, 500.6, &t), &none()),
            "Sell €501 of Alpha (AAA). Reason: Strong run."
        );
        let held = StepContext {
            position_value_eur: 100.0,
            ..none()
        };
        assert!(step_narrative(&step(Side::Sell, 0.0, &t), &held).starts_with("Sell €0 of"));
    }

    #[test]
    fn sell_bodies_follow_the_first_matching_tag() {
        let windfall = tags(&["profit_taking", "windfall"]);
        assert_eq!(
            step_narrative(&step(Side::Sell, 100.0, &windfall), &none()),
            "Sell €100 of Alpha (AAA). The position has grown well beyond its usual pace: \
             Strong run. Selling part of it locks in the windfall before it can fade."
        );
        let profit = tags(&["profit_taking", "rebalance"]);
        assert_eq!(
            step_narrative(&step(Side::Sell, 100.0, &profit), &none()),
            "Sell €100 of Alpha (AAA). Reason: Strong run. Taking some profit lowers the risk \
             of giving back a large gain."
        );
        let region = tags(&["rebalance", "overweight_north_america"]);
        assert_eq!(
            step_narrative(&step(Side::Sell, 100.0, &region), &none()),
            "Sell €100 of Alpha (AAA). The portfolio holds more NORTH_AMERICA than its target \
             allocation. Reducing this position improves diversification."
        );
        let plain = tags(&["rebalance"]);
        assert_eq!(
            step_narrative(&step(Side::Sell, 100.0, &plain), &none()),
            "Sell €100 of Alpha (AAA). Reason: Strong run."
        );
    }

    #[test]
    fn a_sell_names_the_first_buy_opportunity() {
        let t = tags(&[]);
        let context = StepContext {
            first_buy_opportunity: Some("Beta Corp"),
            ..none()
        };
        assert_eq!(
            step_narrative(&step(Side::Sell, 100.0, &t), &context),
            "Sell €100 of Alpha (AAA). Reason: Strong run. The proceeds can fund a purchase of \
             Beta Corp."
        );
    }

    #[test]
    fn buy_bodies_follow_the_first_matching_tag() {
        let averaging = tags(&["quality", "averaging_down"]);
        assert_eq!(
            step_narrative(&step(Side::Buy, 250.0, &averaging), &none()),
            "Buy €250 of Alpha (AAA). This quality holding trades below its usual level. \
             Reason: Strong run. Buying more now lowers the average cost of the position."
        );
        let region = tags(&["rebalance", "underweight_eu"]);
        assert_eq!(
            step_narrative(&step(Side::Buy, 250.0, &region), &none()),
            "Buy €250 of Alpha (AAA). The portfolio holds less EU than its target allocation. \
             This purchase moves it closer to the target."
        );
        let plain = tags(&["rebalance", "underweight_"]);
        assert_eq!(
            step_narrative(&step(Side::Buy, 250.0, &plain), &none()),
            "Buy €250 of Alpha (AAA). Reason: Strong run."
        );
        for tag in ["quality", "opportunity"] {
            let t = tags(&[tag]);
            assert_eq!(
                step_narrative(&step(Side::Buy, 250.0, &t), &none()),
                "Buy €250 of Alpha (AAA). Reason: Strong run. It is a candidate for long-term \
                 growth."
            );
        }
        let t = tags(&["optimizer_target"]);
        assert_eq!(
            step_narrative(&step(Side::Buy, 250.0, &t), &none()),
            "Buy €250 of Alpha (AAA). Reason: Strong run."
        );
    }

    #[test]
    fn a_buy_mentions_a_notable_dividend_yield() {
        let t = tags(&[]);
        let notable = StepContext {
            dividend_yield: Some(0.045),
            ..none()
        };
        assert_eq!(
            step_narrative(&step(Side::Buy, 250.0, &t), &notable),
            "Buy €250 of Alpha (AAA). Reason: Strong run. It also pays a 4.5% dividend yield."
        );
        for y in [Some(0.03), Some(0.01), None] {
            let context = StepContext {
                dividend_yield: y,
                ..none()
            };
            assert!(!step_narrative(&step(Side::Buy, 250.0, &t), &context).contains("dividend"));
        }
        // A sell never mentions dividends.
        assert!(!step_narrative(&step(Side::Sell, 250.0, &t), &notable).contains("dividend"));
    }

    #[test]
    fn an_empty_plan_says_nothing_is_needed() {
        assert_eq!(
            plan_narrative(&[], 50.0, 50.0),
            "No actions recommended. The portfolio is well-positioned."
        );
    }

    fn strategy(steps: &[NarrativeStep<'_>]) -> String {
        let text = plan_narrative(steps, 50.0, 50.0);
        text.split(" The plan consists").next().unwrap().to_string()
    }

    #[test]
    fn the_strategy_sentence_follows_the_mix_of_steps() {
        let windfall = tags(&["windfall"]);
        let averaging = tags(&["averaging_down"]);
        let none_tags = tags(&[]);
        let ws = step(Side::Sell, 10.0, &windfall);
        let ab = step(Side::Buy, 10.0, &averaging);
        let s = step(Side::Sell, 10.0, &none_tags);
        let b = step(Side::Buy, 10.0, &none_tags);
        assert!(strategy(&[ws, ab]).contains("windfall gains and reinvests"));
        assert!(strategy(&[ws, b]).contains("grown well beyond"));
        assert!(strategy(&[s, ab]).contains("averages down"));
        assert!(strategy(&[s, b]).contains("rebalances"));
        assert!(strategy(&[b]).contains("available cash"));
        assert!(strategy(&[s]).contains("reduces positions"));
        // A windfall tag on a buy or an averaging tag on a sell does not count.
        let wb = step(Side::Buy, 10.0, &windfall);
        let as_ = step(Side::Sell, 10.0, &averaging);
        assert!(strategy(&[as_, wb]).contains("rebalances"));
    }

    #[test]
    fn the_plan_lists_totals_per_side_and_the_outcome() {
        let t = tags(&[]);
        let mut s1 = step(Side::Sell, 100.4, &t);
        s1.symbol = "AAA";
        let mut s2 = step(Side::Sell, 200.4, &t);
        s2.symbol = "BBB";
        let mut b1 = step(Side::Buy, 250.0, &t);
        b1.symbol = "CCC";
        assert_eq!(
            plan_narrative(&[s1, b1, s2], 61.25, 64.0),
            "This plan rebalances the portfolio, selling some positions to buy others. The plan \
             consists of 3 actions:\n\
             • Sell €301 from AAA, BBB\n\
             • Buy €250 in CCC\n\
             Expected outcome: the portfolio score improves by +2.8 points (from 61.2 to 64.0)."
        );
    }

    #[test]
    fn the_outcome_covers_a_decrease_and_no_change() {
        let t = tags(&[]);
        let b = step(Side::Buy, 250.0, &t);
        let down = plan_narrative(&[b], 64.0, 63.5);
        assert!(down.starts_with("This plan puts available cash to work. The plan consists of 1 action:\n• Buy €250 in AAA\n"));
        assert!(down.ends_with(
            "the portfolio score may decrease by 0.5 points (from 64.0 to 63.5); the trades \
             serve other goals."
        ));
        assert!(!down.contains("• Sell"));
        let same = plan_narrative(&[b], 64.0, 64.0);
        assert!(same.ends_with("Expected outcome: the portfolio score stays at 64.0."));
        let tiny = plan_narrative(&[b], 64.0, 63.96);
        assert!(tiny.ends_with("Expected outcome: the portfolio score stays at 64.0."));
    }
}
