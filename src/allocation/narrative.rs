//! What a person reads next to a native plan, written only from the plan's own figures: each
//! weight, gap, amount and fee in a sentence is a field of its step, rounded for reading.

use super::objective::Distances;
use super::search::{Rejected, Step};
use crate::domain::Side;

/// "AAPL.US is 3.1 pp under its 6.7 % target; 4 shares for 812.00 EUR (fee 3.62 EUR) bring it
/// to 5.9 %."
pub fn step_narrative(step: &Step) -> String {
    let target = step.target * 100.0;
    let before = step.weight_before * 100.0;
    let after = step.weight_after * 100.0;
    let gap = (step.target - step.weight_before).abs() * 100.0;
    let shares = if step.quantity == 1 { "share" } else { "shares" };
    let mut text = match step.side {
        Side::Sell => format!(
            "{sym} is {gap:.1} pp over its {target:.1} % target (band ± {band:.1} pp, now \
             {before:.1} %); selling {q} {shares} for {value:.2} EUR (fee {fee:.2} EUR) brings it \
             to {after:.1} %.",
            sym = step.symbol,
            band = step.band * 100.0,
            q = step.quantity,
            value = step.value_eur,
            fee = step.fee_eur,
        ),
        Side::Buy => {
            let lead = if step.idle_cash > 0.0 {
                format!(
                    "Cash is {:.1} pp above its reserve; {} is {gap:.1} pp under its \
                     {target:.1} % target (now {before:.1} %)",
                    step.idle_cash * 100.0,
                    step.symbol
                )
            } else {
                format!(
                    "{} is {gap:.1} pp under its {target:.1} % target (now {before:.1} %)",
                    step.symbol
                )
            };
            let verb = if step.opens {
                "open a new position at"
            } else {
                "bring it to"
            };
            format!(
                "{lead}; {q} {shares} for {value:.2} EUR (fee {fee:.2} EUR) {verb} {after:.1} %.",
                q = step.quantity,
                value = step.value_eur,
                fee = step.fee_eur,
            )
        }
    };
    if step.converted_eur > 0.0 {
        text.push_str(&format!(
            " Paid with {:.2} EUR converted to {:.2} {cur} at {:.4} {cur} per EUR, as {:.2} {cur} \
             were held.",
            step.converted_eur,
            step.converted_amount,
            step.rate,
            step.cash_before.max(0.0),
            cur = step.currency
        ));
    }
    text
}

/// The plan's summary: what it costs and how much closer it brings the portfolio, or why it is
/// empty.
pub fn plan_narrative(
    steps: &[Step],
    before: &Distances,
    after: &Distances,
    fees_eur: f64,
    in_bands: bool,
    rejected: &[Rejected],
) -> String {
    if !steps.is_empty() {
        let trades = if steps.len() == 1 { "trade" } else { "trades" };
        return format!(
            "{n} {trades} for {fees_eur:.2} EUR of fees bring the portfolio from {b:.1} to {a:.1} \
             pp from its targets (countries {bc:.1} to {ac:.1} pp, industries {bi:.1} to {ai:.1} \
             pp).",
            n = steps.len(),
            b = before.securities,
            a = after.securities,
            bc = before.countries,
            ac = after.countries,
            bi = before.industries,
            ai = after.industries,
        );
    }
    if in_bands {
        return format!(
            "Inside your bands: every position is within its band and cash is at its reserve, so \
             there is nothing to do. The portfolio is {:.1} pp from its targets.",
            before.securities
        );
    }
    let mut text = format!(
        "No trade is worth its fees now: the portfolio is {:.1} pp from its targets.",
        before.securities
    );
    if let Some(first) = rejected.first() {
        text.push_str(&format!(" {}: {}.", first.symbol, first.reason));
    }
    text
}
