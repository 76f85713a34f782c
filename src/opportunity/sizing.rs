//! Lot-aware buy sizing of the heuristic calculators (the reference's
//! `TradeSizingService.calculate_buy_quantity`, spec §2.7).

use thiserror::Error;

/// A buy sized to whole lots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizedTrade {
    pub quantity: i64,
    /// `quantity × price`, in the security's currency.
    pub value_native: f64,
    pub value_eur: f64,
    pub num_lots: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Error)]
pub enum SizingError {
    #[error("price must be positive, got {0}")]
    NonPositivePrice(f64),
}

/// Sizes a buy of about `target_value_eur`.
///
/// `exchange_rate` is native units per EUR (values ≤ 0 mean 1). When one lot already costs more
/// than the target, one lot is bought anyway (the reference prefers a slightly large trade to
/// none); otherwise as many whole lots as fit, at least one. A target ≤ 0 sizes to nothing.
pub fn size_buy(
    target_value_eur: f64,
    price: f64,
    min_lot: i64,
    exchange_rate: f64,
) -> Result<SizedTrade, SizingError> {
    // Written so that NaN is refused too.
    let priced = price > 0.0;
    if !priced {
        return Err(SizingError::NonPositivePrice(price));
    }
    if target_value_eur <= 0.0 {
        return Ok(SizedTrade {
            quantity: 0,
            value_native: 0.0,
            value_eur: 0.0,
            num_lots: 0,
        });
    }
    let lot = min_lot.max(1);
    let rate = if exchange_rate > 0.0 {
        exchange_rate
    } else {
        1.0
    };
    let lot_native = lot as f64 * price;
    let lot_eur = lot_native / rate;
    let (quantity, num_lots) = if lot_eur > target_value_eur {
        (lot, 1)
    } else {
        // `as` truncates toward zero like Python's `int()` (and saturates instead of growing).
        let n = ((target_value_eur * rate / lot_native) as i64).max(1);
        (n.saturating_mul(lot), n)
    };
    let value_native = quantity as f64 * price;
    Ok(SizedTrade {
        quantity,
        value_native,
        value_eur: value_native / rate,
        num_lots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_lot_when_a_lot_exceeds_the_target() {
        // 10 × 30 = 300 EUR > 250 EUR: one lot, over the target.
        let t = size_buy(250.0, 30.0, 10, 1.0).unwrap();
        assert_eq!(t.quantity, 10);
        assert_eq!(t.num_lots, 1);
        assert_eq!(t.value_eur, 300.0);
        assert_eq!(t.value_native, 300.0);
    }

    #[test]
    fn whole_lots_that_fit() {
        // 250 / (5 × 20) = 2.5 → 2 lots of 5.
        let t = size_buy(250.0, 20.0, 5, 1.0).unwrap();
        assert_eq!((t.quantity, t.num_lots), (10, 2));
        assert_eq!(t.value_eur, 200.0);
    }

    #[test]
    fn exchange_rate_is_native_per_eur() {
        // The reference's own example: 150 EUR, 90 DKK, lot 5, 7.46 DKK/EUR.
        let t = size_buy(150.0, 90.0, 5, 7.46).unwrap();
        assert_eq!((t.quantity, t.num_lots), (10, 2));
        assert_eq!(t.value_native, 900.0);
        assert_eq!(t.value_eur, 900.0 / 7.46);
    }

    #[test]
    fn non_positive_rate_means_one() {
        let t = size_buy(250.0, 20.0, 1, 0.0).unwrap();
        assert_eq!(t.quantity, 12);
        assert_eq!(t.value_eur, 240.0);
    }

    #[test]
    fn lot_below_one_means_one() {
        assert_eq!(size_buy(250.0, 100.0, 0, 1.0).unwrap().quantity, 2);
        assert_eq!(size_buy(250.0, 100.0, -3, 1.0).unwrap().quantity, 2);
    }

    #[test]
    fn non_positive_target_sizes_to_nothing() {
        let t = size_buy(0.0, 20.0, 1, 1.0).unwrap();
        assert_eq!((t.quantity, t.num_lots), (0, 0));
        assert_eq!(t.value_eur, 0.0);
    }

    #[test]
    fn non_positive_price_is_an_error() {
        assert_eq!(
            size_buy(250.0, 0.0, 1, 1.0),
            Err(SizingError::NonPositivePrice(0.0))
        );
        assert!(size_buy(250.0, f64::NAN, 1, 1.0).is_err());
    }

    #[test]
    fn target_equal_to_one_lot_buys_that_lot() {
        // lot_eur == target is not "more than the target": the n-lot branch gives 1.
        let t = size_buy(250.0, 250.0, 1, 1.0).unwrap();
        assert_eq!((t.quantity, t.num_lots), (1, 1));
    }
}
