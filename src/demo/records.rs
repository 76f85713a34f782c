//! Each kind of record checked and converted from its file: FX rates, securities, positions,
//! cash, quotes, scores, metrics, targets, settings.

use std::collections::{BTreeMap, BTreeSet};

use super::files::{
    METRICS_FILE, PORTFOLIO_FILE, PositionRow, SCORES_FILE, SECURITIES_FILE, SETTINGS_FILE,
    ScoreRow, SecurityRow, TARGETS_FILE, TargetsFile, UniqueMap,
};
use super::{DEMO_SOURCE, DemoError, invalid};
use crate::domain::{Currency, Decimal, FxRate, Money, Quantity};
use crate::store::{
    AllocationGroup, AllocationTarget, MetricRecord, PositionRecord, QuoteRecord, ScoreRecord,
    SecurityRecord, TargetKind, keys,
};

pub(super) fn fx_rates(rows: &BTreeMap<Currency, Decimal>) -> Result<Vec<FxRate>, DemoError> {
    rows.iter()
        .map(|(&currency, &per_eur)| {
            if currency == Currency::EUR {
                return Err(invalid(
                    PORTFOLIO_FILE,
                    "fx_rates lists EUR; its rate is always 1 and is not stored",
                ));
            }
            FxRate::new(currency, per_eur)
                .map_err(|e| invalid(PORTFOLIO_FILE, format!("fx_rates.{currency}: {e}")))
        })
        .collect()
}

pub(super) fn securities(
    rows: Vec<SecurityRow>,
    traded: &BTreeSet<Currency>,
) -> Result<Vec<SecurityRecord>, DemoError> {
    let mut seen_symbols = BTreeSet::new();
    let mut seen_isins = BTreeSet::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let bad = |what: String| invalid(SECURITIES_FILE, format!("{}: {what}", row.symbol));
        // Symbols are written as the store keeps them, so every other file can match them
        // textually.
        if row.symbol.is_empty() || row.symbol != row.symbol.trim().to_uppercase() {
            return Err(bad("the symbol must be upper case without spaces".into()));
        }
        if !seen_symbols.insert(row.symbol.clone()) {
            return Err(bad("listed twice".into()));
        }
        if !is_isin(&row.isin) {
            return Err(bad(format!("{:?} is not an ISIN", row.isin)));
        }
        if !seen_isins.insert(row.isin.clone()) {
            return Err(bad(format!("ISIN {} is used twice", row.isin)));
        }
        if row.name.trim().is_empty() || row.country.trim().is_empty() {
            return Err(bad("name and country must not be empty".into()));
        }
        if industries(&row.industry).next().is_none() {
            return Err(bad("industry must not be empty".into()));
        }
        if !traded.contains(&row.currency) {
            return Err(bad(format!(
                "currency {} has no FX rate in {PORTFOLIO_FILE}",
                row.currency
            )));
        }
        if row.min_lot < 1 {
            return Err(bad(format!("min_lot {} is below 1", row.min_lot)));
        }
        if !row.priority_multiplier.is_finite() || row.priority_multiplier <= 0.0 {
            return Err(bad("priority_multiplier must be positive".into()));
        }
        out.push(SecurityRecord {
            isin: Some(row.isin),
            name: row.name,
            currency: row.currency,
            country: Some(row.country),
            industry: Some(row.industry),
            min_lot: row.min_lot,
            allow_buy: row.allow_buy,
            allow_sell: row.allow_sell,
            priority_multiplier: row.priority_multiplier,
            active: row.active,
            symbol: row.symbol,
        });
    }
    Ok(out)
}

/// Two letters, nine letters or digits, one check digit (the check digit itself is not
/// verified: the ISINs are realistic, not necessarily real).
pub(super) fn is_isin(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 12
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..11]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && bytes[11].is_ascii_digit()
}

/// The industries of a security, as the reference splits its comma-separated column.
pub(super) fn industries(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn positions(
    rows: &[PositionRow],
    securities: &BTreeMap<&str, &SecurityRecord>,
) -> Result<Vec<PositionRecord>, DemoError> {
    let mut seen = BTreeSet::new();
    rows.iter()
        .map(|row| {
            let bad =
                |what: String| invalid(PORTFOLIO_FILE, format!("position {}: {what}", row.symbol));
            let security = securities
                .get(row.symbol.as_str())
                .ok_or_else(|| bad(format!("not a security of {SECURITIES_FILE}")))?;
            if !seen.insert(row.symbol.as_str()) {
                return Err(bad("listed twice".into()));
            }
            if !row.quantity.is_positive() || !row.avg_price.is_positive() {
                return Err(bad("quantity and avg_price must be positive".into()));
            }
            if !is_multiple_of(row.quantity, security.min_lot) {
                return Err(bad(format!(
                    "quantity {} is not a multiple of the lot {}",
                    row.quantity, security.min_lot
                )));
            }
            let quantity = Quantity::new(row.quantity).map_err(|e| bad(e.to_string()))?;
            Ok(PositionRecord {
                symbol: row.symbol.clone(),
                quantity,
                avg_price: row.avg_price,
                currency: security.currency,
            })
        })
        .collect()
}

/// Whether `quantity` is a whole number of lots.
pub(super) fn is_multiple_of(quantity: Decimal, lot: i64) -> bool {
    // Decimals are normalised, so a whole number has scale 0.
    quantity.scale() == 0 && lot > 0 && quantity.mantissa() % i128::from(lot) == 0
}

pub(super) fn cash(
    rows: &BTreeMap<Currency, String>,
    traded: &BTreeSet<Currency>,
) -> Result<Vec<Money>, DemoError> {
    rows.iter()
        .map(|(&currency, text)| {
            let bad = |what: String| invalid(PORTFOLIO_FILE, format!("cash.{currency}: {what}"));
            if !traded.contains(&currency) {
                return Err(bad("no FX rate for this currency".into()));
            }
            let amount = Money::parse(text, currency).map_err(|e| bad(e.to_string()))?;
            if amount.is_negative() {
                return Err(bad("cash must not be negative".into()));
            }
            Ok(amount)
        })
        .collect()
}

/// Checks that `symbols` are exactly the securities: none unknown, none missing.
pub(super) fn covers_every_security<'a>(
    file: &'static str,
    what: &str,
    symbols: impl Iterator<Item = &'a String>,
    securities: &BTreeMap<&str, &SecurityRecord>,
) -> Result<(), DemoError> {
    let given: BTreeSet<&str> = symbols.map(String::as_str).collect();
    if let Some(unknown) = given.iter().find(|s| !securities.contains_key(*s)) {
        return Err(invalid(
            file,
            format!("{what} for {unknown}, which is not a security of {SECURITIES_FILE}"),
        ));
    }
    if let Some(missing) = securities.keys().find(|s| !given.contains(*s)) {
        return Err(invalid(file, format!("{missing} has no {what}")));
    }
    Ok(())
}

pub(super) fn quotes(
    rows: &BTreeMap<String, Decimal>,
    securities: &BTreeMap<&str, &SecurityRecord>,
    now: &str,
) -> Result<Vec<QuoteRecord>, DemoError> {
    covers_every_security(PORTFOLIO_FILE, "quote", rows.keys(), securities)?;
    rows.iter()
        .map(|(symbol, &price)| {
            if !price.is_positive() {
                return Err(invalid(
                    PORTFOLIO_FILE,
                    format!("quotes.{symbol}: the price must be positive"),
                ));
            }
            Ok(QuoteRecord {
                symbol: symbol.clone(),
                price,
                currency: securities[symbol.as_str()].currency,
                as_of: now.to_string(),
                source: DEMO_SOURCE.to_string(),
            })
        })
        .collect()
}

pub(super) fn scores(
    rows: BTreeMap<String, ScoreRow>,
    securities: &BTreeMap<&str, &SecurityRecord>,
    now: &str,
) -> Result<Vec<ScoreRecord>, DemoError> {
    covers_every_security(SCORES_FILE, "score", rows.keys(), securities)?;
    rows.into_iter()
        .map(|(symbol, row)| {
            let components = row.components();
            let in_range = |v: f64| (0.0..=1.0).contains(&v);
            if !in_range(row.total) || !components.values().copied().all(in_range) {
                return Err(invalid(
                    SCORES_FILE,
                    format!("{symbol}: every score must lie in 0..=1"),
                ));
            }
            Ok(ScoreRecord {
                symbol,
                total_score: row.total,
                components,
                calculated_at: now.to_string(),
            })
        })
        .collect()
}

/// Every security must list the same metric names, so a misspelt name in one row fails.
pub(super) fn metrics(
    rows: BTreeMap<String, UniqueMap<String, f64>>,
    securities: &BTreeMap<&str, &SecurityRecord>,
    now: &str,
) -> Result<Vec<MetricRecord>, DemoError> {
    covers_every_security(METRICS_FILE, "metrics", rows.keys(), securities)?;
    let mut names: Option<(&str, BTreeSet<&str>)> = None;
    for (symbol, values) in &rows {
        let these: BTreeSet<&str> = values.0.keys().map(String::as_str).collect();
        match &names {
            None => names = Some((symbol, these)),
            Some((first, expected)) if *expected != these => {
                let missing: Vec<_> = expected.difference(&these).collect();
                let extra: Vec<_> = these.difference(expected).collect();
                return Err(invalid(
                    METRICS_FILE,
                    format!(
                        "{symbol} does not list the metrics of {first}: missing {missing:?}, \
                         extra {extra:?}"
                    ),
                ));
            }
            Some(_) => {}
        }
        if let Some((name, value)) = values.0.iter().find(|(_, v)| !v.is_finite()) {
            return Err(invalid(
                METRICS_FILE,
                format!("{symbol}.{name} is not a finite number ({value})"),
            ));
        }
    }
    Ok(rows
        .iter()
        .flat_map(|(symbol, values)| {
            values.0.iter().map(move |(metric, &value)| MetricRecord {
                symbol: symbol.clone(),
                metric: metric.clone(),
                value,
                calculated_at: now.to_string(),
                expires_at: None,
                source: DEMO_SOURCE.to_string(),
            })
        })
        .collect())
}

pub(super) fn targets(
    file: &TargetsFile,
    securities: &[SecurityRecord],
) -> Result<(Vec<AllocationTarget>, Vec<AllocationGroup>), DemoError> {
    let mut targets = Vec::new();
    let mut groups = Vec::new();
    for (kind, rows) in [
        (TargetKind::Country, &file.country_groups.0),
        (TargetKind::Industry, &file.industry_groups.0),
    ] {
        let label = kind.as_str();
        let mut sum = Decimal::ZERO;
        let mut member_of: BTreeMap<&str, &str> = BTreeMap::new();
        for (group, row) in rows {
            if row.target.is_negative() || row.target > Decimal::ONE {
                return Err(invalid(
                    TARGETS_FILE,
                    format!("{label} group {group}: the target must lie in 0..=1"),
                ));
            }
            sum = sum
                .checked_add(row.target)
                .map_err(|e| invalid(TARGETS_FILE, e.to_string()))?;
            targets.push(AllocationTarget {
                kind,
                group: group.clone(),
                target: row.target,
            });
            for member in &row.members {
                if let Some(other) = member_of.insert(member, group) {
                    return Err(invalid(
                        TARGETS_FILE,
                        format!("{label} {member:?} is in both {other} and {group}"),
                    ));
                }
                groups.push(AllocationGroup {
                    kind,
                    member: member.clone(),
                    group: group.clone(),
                });
            }
        }
        if sum > Decimal::ONE {
            return Err(invalid(
                TARGETS_FILE,
                format!("the {label} targets add up to {sum}, more than 1"),
            ));
        }
        for security in securities {
            let members: Vec<&str> = match kind {
                TargetKind::Country => security.country.as_deref().into_iter().collect(),
                TargetKind::Industry => {
                    industries(security.industry.as_deref().unwrap_or("")).collect()
                }
            };
            if let Some(orphan) = members.iter().find(|m| !member_of.contains_key(*m)) {
                return Err(invalid(
                    TARGETS_FILE,
                    format!(
                        "{label} {orphan:?} of {} is in no {label} group",
                        security.symbol
                    ),
                ));
            }
        }
    }
    Ok((targets, groups))
}

pub(super) fn settings(rows: BTreeMap<String, String>) -> Result<Vec<(String, String)>, DemoError> {
    rows.into_iter()
        .map(|(key, value)| {
            if key == keys::TRADING_MODE {
                return Err(invalid(
                    SETTINGS_FILE,
                    "trading_mode belongs at the top level, not under settings",
                ));
            }
            if key.trim().is_empty() || value.trim().parse::<Decimal>().is_err() {
                return Err(invalid(
                    SETTINGS_FILE,
                    format!("settings.{key}: {value:?} is not a number"),
                ));
            }
            Ok((key, value))
        })
        .collect()
}
