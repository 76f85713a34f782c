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
    let shares = if step.quantity == 1 {
        "share"
    } else {
        "shares"
    };
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
            // Idle cash may top up a security already at (or just over) its target while the
            // lot stays inside the band; the sentence then says "over", never "under".
            let side = if step.weight_before < step.target {
                "under"
            } else {
                "over"
            };
            let position = format!(
                "{} is {gap:.1} pp {side} its {target:.1} % target (now {before:.1} %)",
                step.symbol
            );
            let lead = if step.idle_cash > 0.0 {
                format!(
                    "Cash is {:.1} pp above its reserve; {position}",
                    step.idle_cash * 100.0
                )
            } else {
                position
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
        let dated = step
            .rate_date
            .as_ref()
            .map_or(String::new(), |d| format!(" (rate of {d})"));
        text.push_str(&format!(
            " Paid with {:.2} EUR converted to {:.2} {cur} at {:.4} {cur} per EUR{dated}, as \
             {:.2} {cur} were held.",
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
             pp from its targets, a plan score from {sb:.1} to {sa:.1} (countries {bc:.1} to \
             {ac:.1} pp, industries {bi:.1} to {ai:.1} pp).",
            n = steps.len(),
            sb = (100.0 - before.securities).clamp(0.0, 100.0),
            sa = (100.0 - after.securities).clamp(0.0, 100.0),
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

/// Every number a step's narrative quotes, checked against the step's own figures: each must
/// be one of them as written (same rounding), the quantity, weights, value and fee must all be
/// there, the side's word must match the sign of the gap, and a date must be the rate's.
#[cfg(test)]
pub(crate) fn check_step_narrative(step: &Step) -> Result<(), String> {
    let pct = |x: f64| format!("{:.1}", x * 100.0);
    let gap = pct((step.target - step.weight_before).abs());
    let mut figures = vec![
        step.quantity.to_string(),
        pct(step.target),
        pct(step.weight_before),
        pct(step.weight_after),
        gap.clone(),
        format!("{:.2}", step.value_eur),
        format!("{:.2}", step.fee_eur),
    ];
    let required = figures.clone();
    figures.push(pct(step.band));
    figures.push(pct(step.idle_cash));
    if step.converted_eur > 0.0 {
        figures.extend([
            format!("{:.2}", step.converted_eur),
            format!("{:.2}", step.converted_amount),
            format!("{:.4}", step.rate),
            format!("{:.2}", step.cash_before.max(0.0)),
        ]);
    }
    let text = &step.narrative;
    let mut quoted = Vec::new();
    for word in text.split_whitespace() {
        let token = word
            .trim_start_matches('(')
            .trim_end_matches([',', ';', ')', '%', ':'])
            .trim_end_matches('.')
            .trim_end_matches(')');
        if token.len() == 10 && token.chars().filter(|c| *c == '-').count() == 2 {
            if step.rate_date.as_deref() != Some(token) {
                return Err(format!(
                    "{text:?} quotes the date {token}, the rate's is {:?}",
                    step.rate_date
                ));
            }
            continue;
        }
        if token.parse::<f64>().is_ok() {
            if !figures.iter().any(|f| f == token) {
                return Err(format!(
                    "{text:?} quotes {token}, which is none of {figures:?}"
                ));
            }
            quoted.push(token.to_string());
        }
    }
    if let Some(missing) = required.iter().find(|f| !quoted.contains(f)) {
        return Err(format!("{text:?} leaves out {missing}"));
    }
    let word = if step.weight_before < step.target {
        "under"
    } else {
        "over"
    };
    // A sell is always of an overweight position; a buy is of an underweight one, unless it
    // invests cash idle above the reserve, and then it still stays inside the band.
    let signed_right = match step.side {
        Side::Sell => step.weight_before > step.target,
        Side::Buy => {
            step.weight_before < step.target
                || (step.idle_cash > 0.0 && step.weight_after <= step.target + step.band + 1e-9)
        }
    };
    if !signed_right || !text.contains(&format!("{gap} pp {word} its")) {
        return Err(format!(
            "{text:?} does not say it is {gap} pp {word} its target"
        ));
    }
    if !text.contains(&step.symbol) {
        return Err(format!("{text:?} does not name {}", step.symbol));
    }
    Ok(())
}
