//! The per-metric scoring curves of the reference's end-state scorer (spec §4.2.1–4.2.3).
//!
//! Each function maps one metric to a 0–1 score, branch for branch as the reference does; the
//! constants and the order of the float operations are the reference's, so results are bit-equal.

/// Bell-curve floor and widths of the total-return curve (target 12 % a year).
const BELL_CURVE_FLOOR: f64 = 0.15;
const BELL_CURVE_SIGMA_LEFT: f64 = 0.06;
const BELL_CURVE_SIGMA_RIGHT: f64 = 0.10;
const TOTAL_RETURN_TARGET: f64 = 0.12;

/// Total return `r = CAGR + dividend yield` → score, unrounded.
pub fn total_return_score(r: f64) -> f64 {
    if r <= 0.0 {
        return BELL_CURVE_FLOOR;
    }
    let sigma = if r < TOTAL_RETURN_TARGET {
        BELL_CURVE_SIGMA_LEFT
    } else {
        BELL_CURVE_SIGMA_RIGHT * 1.2
    };
    let raw = (-(r - TOTAL_RETURN_TARGET).powi(2) / (2.0 * sigma.powi(2))).exp();
    BELL_CURVE_FLOOR + (1.0 - BELL_CURVE_FLOOR) * raw
}

/// Dividend payout ratio → dividend-consistency score.
pub fn payout_consistency_score(p: f64) -> f64 {
    if (0.3..=0.6).contains(&p) {
        1.0
    } else if p < 0.3 {
        0.5 + (p / 0.3) * 0.5
    } else if p <= 0.8 {
        1.0 - ((p - 0.6) / 0.2) * 0.3
    } else {
        0.4
    }
}

/// Sortino ratio → score.
pub fn sortino_score(x: f64) -> f64 {
    if x >= 2.0 {
        1.0
    } else if x >= 1.5 {
        0.8 + (x - 1.5) * 0.4
    } else if x >= 1.0 {
        0.6 + (x - 1.0) * 0.4
    } else if x >= 0.0 {
        x * 0.6
    } else {
        0.0
    }
}

/// Annual volatility σ (only called for σ > 0) → score.
pub fn volatility_score(sigma: f64) -> f64 {
    if sigma <= 0.15 {
        1.0
    } else if sigma <= 0.25 {
        1.0 - ((sigma - 0.15) / 0.10) * 0.3
    } else if sigma <= 0.40 {
        0.7 - ((sigma - 0.25) / 0.15) * 0.4
    } else {
        (0.3 - (sigma - 0.40)).max(0.1)
    }
}

/// Maximum drawdown (sign ignored) → score.
pub fn drawdown_score(drawdown: f64) -> f64 {
    let d = drawdown.abs();
    if d <= 0.10 {
        1.0
    } else if d <= 0.20 {
        0.8 + (0.20 - d) * 2.0
    } else if d <= 0.30 {
        0.6 + (0.30 - d) * 2.0
    } else if d <= 0.50 {
        0.2 + (0.50 - d) * 2.0
    } else {
        (0.2 - (d - 0.50)).max(0.0)
    }
}

/// Sharpe ratio → score.
pub fn sharpe_score(x: f64) -> f64 {
    if x >= 2.0 {
        1.0
    } else if x >= 1.0 {
        0.7 + (x - 1.0) * 0.3
    } else if x >= 0.5 {
        0.4 + (x - 0.5) * 0.6
    } else if x >= 0.0 {
        x * 0.8
    } else {
        0.0
    }
}

#[cfg(test)]
#[path = "curves_tests.rs"]
mod tests;
