//! Exact money: currencies, decimal numbers, amounts in minor units, share quantities and FX rates.
//!
//! Cash is never held in a binary float. An amount is an `i64` count of the currency's minor
//! unit (cents for EUR, USD, GBP, HKD), so sums are exact and overflow is an error, not a wrap.
//! Prices, quantities and FX rates are [`Decimal`]s: an `i128` mantissa with a decimal scale,
//! parsed from and printed to plain decimal text ("1234.56"), which is how the store keeps them.
//!
//! Rounding is half-to-even everywhere (a price times a quantity, a currency conversion, a
//! decimal rounded to fewer places). Half-even is unbiased, so rounding many trades or many
//! conversions does not drift in one direction, and it is the rule of the reference's Python
//! (`round()` and the `decimal` module's default context), so values that the reference rounded
//! round the same way here.
//!
//! FX follows the reference's convention: a rate is "1 EUR = `per_eur` units of the foreign
//! currency", so `EUR = foreign / per_eur` and `foreign = EUR * per_eur`. The direction is in
//! the names ([`FxRate::to_eur`], [`FxRate::from_eur`]) and checked on the currencies: getting it
//! backwards was the reference's most frequent bug.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Errors of money arithmetic and parsing; none of these operations panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not a currency code: {0:?} (expected three ASCII letters)")]
    InvalidCurrency(String),
    #[error("not a decimal number: {0:?}")]
    InvalidDecimal(String),
    #[error("{value} has more decimal places than {places} allowed")]
    TooPrecise { value: String, places: u32 },
    #[error("number out of range")]
    Overflow,
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch { expected: Currency, found: Currency },
    #[error("FX rate for {currency} must be positive, got {per_eur}")]
    NonPositiveRate {
        currency: Currency,
        per_eur: Decimal,
    },
    #[error("the FX rate of EUR is 1 per EUR, got {0}")]
    EurRateNotOne(Decimal),
    #[error("quantity must not be negative, got {0}")]
    NegativeQuantity(Decimal),
    #[error("not a finite number")]
    NotFinite,
    #[error("division by zero")]
    DivisionByZero,
}

// ---------------------------------------------------------------------------------------------
// Currency

/// An ISO-4217-style currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const HKD: Currency = Currency(*b"HKD");

    /// Parses a code, accepting lower case ("usd" → USD).
    pub fn new(code: &str) -> Result<Currency, MoneyError> {
        match code.as_bytes() {
            [a, b, c] if code.bytes().all(|b| b.is_ascii_alphabetic()) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(MoneyError::InvalidCurrency(code.to_string())),
        }
    }

    /// A code as the reference's data holds it: its research-mode `TEST` currency is EUR
    /// (the reference treats it as EUR everywhere).
    pub fn from_legacy_code(code: &str) -> Result<Currency, MoneyError> {
        if code.trim().eq_ignore_ascii_case("TEST") {
            return Ok(Currency::EUR);
        }
        Currency::new(code.trim())
    }

    pub fn as_str(&self) -> &str {
        // The bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Decimal places of the minor unit: 0 for currencies without one, 3 for the dinars,
    /// 2 for the rest (all the currencies the portfolio trades in).
    pub fn minor_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"ISK" | b"CLP" | b"VND" | b"PYG" | b"UGX" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"IQD" | b"LYD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Currency, MoneyError> {
        Currency::new(s)
    }
}

// ---------------------------------------------------------------------------------------------
// Decimal

/// Most decimal places a [`Decimal`] carries.
pub const MAX_SCALE: u32 = 18;

/// Bound on the mantissa scaled to [`MAX_SCALE`] places, so that any two decimals can be
/// aligned and compared in an `i128` (|value| < 10^20).
const ALIGNED_LIMIT: i128 = 10i128.pow(38) - 1;

/// An exact decimal number: `mantissa / 10^scale`, kept normalized (no trailing zero in the
/// mantissa when `scale > 0`), so equal values have equal representations.
///
/// At most [`MAX_SCALE`] decimal places and an absolute value below 10^20.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };
    pub const ONE: Decimal = Decimal {
        mantissa: 1,
        scale: 0,
    };

    /// `mantissa / 10^scale`; a scale above [`MAX_SCALE`] is accepted when the value fits it
    /// exactly.
    pub fn new(mantissa: i128, scale: u32) -> Result<Decimal, MoneyError> {
        let (mut mantissa, mut scale) = (mantissa, scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > MAX_SCALE {
            return Err(MoneyError::TooPrecise {
                value: format!("{mantissa}e-{scale}"),
                places: MAX_SCALE,
            });
        }
        let aligned = pow10(MAX_SCALE - scale).and_then(|p| mantissa.checked_mul(p));
        match aligned {
            Some(a) if a.abs() <= ALIGNED_LIMIT => Ok(Decimal { mantissa, scale }),
            _ => Err(MoneyError::Overflow),
        }
    }

    pub fn from_i64(value: i64) -> Decimal {
        // |i64| < 10^19, always within range.
        Decimal {
            mantissa: i128::from(value),
            scale: 0,
        }
    }

    /// The shortest decimal that reads back as `value` (Rust's float formatting), rounded
    /// half-even to [`MAX_SCALE`] places. For values that arrive as JSON floats.
    pub fn from_f64(value: f64) -> Result<Decimal, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotFinite);
        }
        // `Display` of f64 never uses an exponent.
        parse_decimal(&value.to_string(), true)
    }

    /// Nearest f64, for handing values to the float-based planner; never use it for sums.
    pub fn to_f64(self) -> f64 {
        // Formatting then parsing gives the correctly rounded double.
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    pub fn mantissa(self) -> i128 {
        self.mantissa
    }

    pub fn scale(self) -> u32 {
        self.scale
    }

    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    pub fn is_negative(self) -> bool {
        self.mantissa < 0
    }

    pub fn is_positive(self) -> bool {
        self.mantissa > 0
    }

    pub fn checked_neg(self) -> Option<Decimal> {
        Some(Decimal {
            mantissa: self.mantissa.checked_neg()?,
            scale: self.scale,
        })
    }

    pub fn checked_add(self, other: Decimal) -> Result<Decimal, MoneyError> {
        let scale = self.scale.max(other.scale);
        let a = rescale_up(self, scale)?;
        let b = rescale_up(other, scale)?;
        Decimal::new(a.checked_add(b).ok_or(MoneyError::Overflow)?, scale)
    }

    pub fn checked_sub(self, other: Decimal) -> Result<Decimal, MoneyError> {
        self.checked_add(other.checked_neg().ok_or(MoneyError::Overflow)?)
    }

    /// The exact product, rounded half-even to [`MAX_SCALE`] places if it has more.
    pub fn checked_mul(self, other: Decimal) -> Result<Decimal, MoneyError> {
        let mantissa = self
            .mantissa
            .checked_mul(other.mantissa)
            .ok_or(MoneyError::Overflow)?;
        let scale = self.scale + other.scale;
        if scale <= MAX_SCALE {
            return Decimal::new(mantissa, scale);
        }
        let divisor = pow10(scale - MAX_SCALE).ok_or(MoneyError::Overflow)?;
        Decimal::new(div_half_even(mantissa, divisor), MAX_SCALE)
    }

    /// `self / other` rounded half-even to `places` decimal places (at most [`MAX_SCALE`]).
    pub fn checked_div(self, other: Decimal, places: u32) -> Result<Decimal, MoneyError> {
        if other.is_zero() {
            return Err(MoneyError::DivisionByZero);
        }
        let places = places.min(MAX_SCALE);
        // self/other = (m1 / 10^s1) / (m2 / 10^s2) = m1 * 10^(s2 + places) / (m2 * 10^s1), in
        // units of 10^-places.
        let mut numerator = scale_by(self.mantissa, other.scale + places)?;
        let mut denominator = scale_by(other.mantissa, self.scale)?;
        if denominator < 0 {
            numerator = numerator.checked_neg().ok_or(MoneyError::Overflow)?;
            denominator = denominator.checked_neg().ok_or(MoneyError::Overflow)?;
        }
        Decimal::new(div_half_even(numerator, denominator), places)
    }

    /// Rounded half-even to `places` decimal places.
    pub fn round_dp(self, places: u32) -> Decimal {
        if self.scale <= places {
            return self;
        }
        match pow10(self.scale - places) {
            Some(divisor) => {
                Decimal::new(div_half_even(self.mantissa, divisor), places).unwrap_or(self)
            }
            // Dropping more than 38 digits of a value below 10^20 leaves zero.
            None => Decimal::ZERO,
        }
    }

    /// The value scaled to [`MAX_SCALE`] places (always fits by the range invariant).
    fn aligned(self) -> i128 {
        rescale_up(self, MAX_SCALE).unwrap_or(self.mantissa)
    }
}

/// The mantissa of `d` at `scale >= d.scale` places.
fn rescale_up(d: Decimal, scale: u32) -> Result<i128, MoneyError> {
    pow10(scale.saturating_sub(d.scale))
        .and_then(|p| d.mantissa.checked_mul(p))
        .ok_or(MoneyError::Overflow)
}

/// 10^n, if it fits an i128.
fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `n / d` rounded half to even, for `d > 0`.
fn div_half_even(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = (n % d).abs();
    // Compare r with d - r rather than 2r with d, which could overflow.
    let up = match r.cmp(&(d - r)) {
        Ordering::Greater => true,
        Ordering::Equal => q % 2 != 0,
        Ordering::Less => false,
    };
    if !up {
        q
    } else if n < 0 {
        q - 1
    } else {
        q + 1
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> Ordering {
        self.aligned().cmp(&other.aligned())
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&digits_text(self.mantissa, self.scale))
    }
}

impl fmt::Debug for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Decimal({self})")
    }
}

/// `mantissa / 10^scale` as plain decimal text with exactly `scale` places.
fn digits_text(mantissa: i128, scale: u32) -> String {
    let digits = mantissa.unsigned_abs().to_string();
    let scale = scale as usize;
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if mantissa < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

impl FromStr for Decimal {
    type Err = MoneyError;

    /// Plain decimal text: an optional sign, digits, and optionally a point followed by digits
    /// ("-12", "0.5", "1234.5600"). No exponent, no spaces, no thousands separators. More than
    /// [`MAX_SCALE`] significant decimal places is an error, not a silent rounding.
    fn from_str(s: &str) -> Result<Decimal, MoneyError> {
        parse_decimal(s, false)
    }
}

/// Parses plain decimal text; with `round`, decimal places beyond [`MAX_SCALE`] are rounded
/// half-even instead of refused.
fn parse_decimal(text: &str, round: bool) -> Result<Decimal, MoneyError> {
    let invalid = || MoneyError::InvalidDecimal(text.to_string());
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = match body.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (body, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || body.ends_with('.') {
        return Err(invalid());
    }
    // Trailing zeros of the fraction carry no value.
    let frac = frac.trim_end_matches('0');
    let (kept, dropped) = if frac.len() > MAX_SCALE as usize {
        if !round {
            return Err(MoneyError::TooPrecise {
                value: text.to_string(),
                places: MAX_SCALE,
            });
        }
        frac.split_at(MAX_SCALE as usize)
    } else {
        (frac, "")
    };
    let mut mantissa: i128 = 0;
    for b in int.bytes().chain(kept.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(b - b'0')))
            .ok_or(MoneyError::Overflow)?;
    }
    // Half-even on the dropped digits: above half rounds up, exactly half rounds to even.
    if let Some(first) = dropped.bytes().next() {
        let rest_nonzero = dropped.bytes().skip(1).any(|b| b != b'0');
        let up = first > b'5' || (first == b'5' && (rest_nonzero || mantissa % 2 != 0));
        if up {
            mantissa = mantissa.checked_add(1).ok_or(MoneyError::Overflow)?;
        }
    }
    if negative {
        mantissa = -mantissa;
    }
    Decimal::new(mantissa, kept.len() as u32)
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Currency, D::Error> {
        let text = String::deserialize(deserializer)?;
        Currency::new(&text).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Money

/// An amount of one currency, as an integer count of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub fn minor(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_negative(self) -> bool {
        self.minor < 0
    }

    /// Parses decimal text ("1234.56") exactly: more decimal places than the currency's minor
    /// unit is an error (use [`Money::from_decimal_rounded`] to round deliberately).
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        Money::from_decimal_exact(text.parse()?, currency)
    }

    /// The amount of `value` units, which must be a whole number of minor units.
    pub fn from_decimal_exact(value: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let digits = currency.minor_digits();
        if value.scale > digits {
            return Err(MoneyError::TooPrecise {
                value: value.to_string(),
                places: digits,
            });
        }
        Money::from_decimal_rounded(value, currency)
    }

    /// The amount of `value` units, rounded half-even to the minor unit.
    pub fn from_decimal_rounded(value: Decimal, currency: Currency) -> Result<Money, MoneyError> {
        let rounded = value.round_dp(currency.minor_digits());
        let minor = rescale_up(rounded, currency.minor_digits())?;
        let minor = i64::try_from(minor).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// `price * quantity`, rounded half-even to the minor unit: the value of a trade.
    pub fn from_price_quantity(
        price: Decimal,
        quantity: Quantity,
        currency: Currency,
    ) -> Result<Money, MoneyError> {
        Money::from_decimal_rounded(price.checked_mul(quantity.0)?, currency)
    }

    /// The amount in whole units, exactly.
    pub fn to_decimal(self) -> Decimal {
        // An i64 with at most 3 decimal places is always within the Decimal range.
        Decimal::new(i128::from(self.minor), self.currency.minor_digits()).unwrap_or(Decimal::ZERO)
    }

    /// Decimal text with exactly the currency's minor digits ("1234.50", "-0.05").
    pub fn to_decimal_string(self) -> String {
        digits_text(i128::from(self.minor), self.currency.minor_digits())
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    pub fn checked_neg(self) -> Result<Money, MoneyError> {
        let minor = self.minor.checked_neg().ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// The sum of `amounts`, all in `currency` (zero when empty).
    pub fn sum(
        currency: Currency,
        amounts: impl IntoIterator<Item = Money>,
    ) -> Result<Money, MoneyError> {
        amounts
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

// ---------------------------------------------------------------------------------------------
// Quantity

/// A number of shares, never negative. Decimal because the reference's broker data holds
/// fractional quantities (`positions.quantity` and `trades.quantity` are REAL there).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Quantity(Decimal);

impl Quantity {
    pub const ZERO: Quantity = Quantity(Decimal::ZERO);

    pub fn new(value: Decimal) -> Result<Quantity, MoneyError> {
        if value.is_negative() {
            Err(MoneyError::NegativeQuantity(value))
        } else {
            Ok(Quantity(value))
        }
    }

    /// Whole shares; negative counts are refused.
    pub fn from_shares(shares: i64) -> Result<Quantity, MoneyError> {
        Quantity::new(Decimal::from_i64(shares))
    }

    pub fn as_decimal(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Quantity {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Quantity, MoneyError> {
        Quantity::new(s.parse()?)
    }
}

// ---------------------------------------------------------------------------------------------
// FX

/// An exchange rate in the reference's convention: 1 EUR = `per_eur` units of `currency`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FxRate {
    currency: Currency,
    per_eur: Decimal,
}

impl FxRate {
    /// A positive rate; the rate of EUR itself must be 1.
    pub fn new(currency: Currency, per_eur: Decimal) -> Result<FxRate, MoneyError> {
        if !per_eur.is_positive() {
            return Err(MoneyError::NonPositiveRate { currency, per_eur });
        }
        if currency == Currency::EUR && per_eur != Decimal::ONE {
            return Err(MoneyError::EurRateNotOne(per_eur));
        }
        Ok(FxRate { currency, per_eur })
    }

    /// EUR per EUR: converting EUR with it changes nothing.
    pub fn eur() -> FxRate {
        FxRate {
            currency: Currency::EUR,
            per_eur: Decimal::ONE,
        }
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn per_eur(self) -> Decimal {
        self.per_eur
    }

    /// `amount / per_eur` in EUR, rounded half-even to the cent. `amount` must be in this
    /// rate's currency.
    pub fn to_eur(self, amount: Money) -> Result<Money, MoneyError> {
        Money::zero(self.currency).same_currency(amount)?;
        // EUR minor = minor * 10^(scale + eur_digits) / (mantissa * 10^digits).
        let up = self.per_eur.scale + Currency::EUR.minor_digits();
        let down = amount.currency.minor_digits();
        let (num_pow, den_pow) = (up.saturating_sub(down), down.saturating_sub(up));
        let numerator = scale_by(i128::from(amount.minor), num_pow)?;
        let denominator = scale_by(self.per_eur.mantissa, den_pow)?;
        let minor = i64::try_from(div_half_even(numerator, denominator))
            .map_err(|_| MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, Currency::EUR))
    }

    /// `eur * per_eur` in this rate's currency, rounded half-even to its minor unit. `eur`
    /// must be in EUR.
    pub fn from_eur(self, eur: Money) -> Result<Money, MoneyError> {
        Money::zero(Currency::EUR).same_currency(eur)?;
        // Foreign minor = minor * mantissa * 10^digits / 10^(scale + eur_digits).
        let up = self.currency.minor_digits();
        let down = self.per_eur.scale + Currency::EUR.minor_digits();
        let product = i128::from(eur.minor)
            .checked_mul(self.per_eur.mantissa)
            .ok_or(MoneyError::Overflow)?;
        let numerator = scale_by(product, up.saturating_sub(down))?;
        let denominator = pow10(down.saturating_sub(up)).ok_or(MoneyError::Overflow)?;
        let minor = i64::try_from(div_half_even(numerator, denominator))
            .map_err(|_| MoneyError::Overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }
}

/// `value * 10^n`, checked.
fn scale_by(value: i128, n: u32) -> Result<i128, MoneyError> {
    pow10(n)
        .and_then(|p| value.checked_mul(p))
        .ok_or(MoneyError::Overflow)
}

/// `amount` in EUR under `rate` (1 EUR = `rate.per_eur()` units of `amount`'s currency).
#[cfg(test)]
pub fn to_eur(amount: Money, rate: FxRate) -> Result<Money, MoneyError> {
    rate.to_eur(amount)
}

/// `eur` in `rate`'s currency (1 EUR = `rate.per_eur()` units of it).
#[cfg(test)]
pub fn from_eur(eur: Money, rate: FxRate) -> Result<Money, MoneyError> {
    rate.from_eur(eur)
}

#[cfg(test)]
#[path = "money_tests.rs"]
mod tests;
