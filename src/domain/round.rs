//! Python's `round(x, n)` for floats.
//!
//! Python rounds the exact binary value of `x` to `n` decimals, sends ties (only possible when the
//! binary value sits exactly on the midpoint) to the even digit, and returns the double nearest to
//! that decimal. `f64::round` rounds ties away from zero on `x * 10^n`, which is both a different
//! tie rule and an inexact product, so it must not be used where the reference rounds.

/// Python's `round(x, ndigits)` for `ndigits` in `0..=22`.
pub fn round_py(x: f64, ndigits: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    debug_assert!(ndigits <= 22, "10^n must be an exact double");
    let scale = POW10[ndigits as usize];
    let p = x * scale;
    // The fast path needs the scaled value on a grid finer than 1/2, so that `p - floor(p)` and the
    // midpoint offset are exact.
    if p.abs() < 4_503_599_627_370_496.0 {
        // x * scale == p + e exactly (the error of one product is representable).
        let e = x.mul_add(scale, -p);
        let mut f = p.floor();
        if p == f && e < 0.0 {
            f -= 1.0;
        }
        // d is exact; the sign of fl(d + e) is the sign of the exact sum.
        let d = (p - f) - 0.5;
        let s = d + e;
        // Above the midpoint, or exactly on it with an odd floor: round up (ties to even).
        let c = if s > 0.0 || (s == 0.0 && f % 2.0 != 0.0) {
            f + 1.0
        } else {
            f
        };
        let r = c / scale;
        // Python keeps the sign of zero: round(-0.0001, 2) is -0.0.
        if r == 0.0 { 0.0_f64.copysign(x) } else { r }
    } else {
        round_by_formatting(x, ndigits)
    }
}

/// Rust's fixed-precision formatting rounds the exact binary value with ties to even, exactly as
/// Python's `round` does; parsing the digits back gives the nearest double.
pub fn round_by_formatting(x: f64, ndigits: u32) -> f64 {
    let text = format!("{:.*}", ndigits as usize, x);
    let r: f64 = text.parse().unwrap_or(x);
    if r == 0.0 { 0.0_f64.copysign(x) } else { r }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

#[cfg(test)]
#[path = "round_tests.rs"]
mod tests;
