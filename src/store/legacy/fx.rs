//! FX rates of `rates.db`, and the check that every traded currency has one.

use std::collections::{BTreeMap, BTreeSet};

use super::report::{KindReport, LegacyKind};
use super::values::{close, currency, decimal, inverse, plural, text};
use super::{Import, LegacyError, RATES, store_result};
use crate::domain::{Currency, Decimal, FxRate};

impl Import<'_> {
    pub(super) fn fx_rates(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::FxRates);
        let Some(rows) = self.rows_or_unavailable(&mut report, RATES, "exchange_rates") else {
            return self.finish(report, false);
        };
        // The reference converts any pair as amount_to = amount_from / rate (§4.5). A row
        // X→EUR therefore says 1 EUR = rate X, which is exactly our per_eur. A row EUR→X says
        // amount_X = amount_EUR / rate, i.e. 1 EUR = 1/rate X, so its per_eur is the inverse.
        let mut direct: BTreeMap<Currency, (Decimal, String)> = BTreeMap::new();
        let mut inverse_rows: BTreeMap<Currency, (Decimal, String)> = BTreeMap::new();
        let mut fetched = BTreeSet::new();
        for row in &rows {
            let from = text(row, "from_currency").unwrap_or_default();
            let to = text(row, "to_currency").unwrap_or_default();
            let what = format!("{from}→{to}");
            let (from_ccy, to_ccy) = match (currency(&from), currency(&to)) {
                (Ok(f), Ok(t)) => (f, t),
                (Err(why), _) | (_, Err(why)) => {
                    report.skip(what, why);
                    continue;
                }
            };
            let rate = match decimal(row, "rate") {
                Ok(Some(r)) if r.is_positive() => r,
                Ok(Some(r)) => {
                    report.skip(what, format!("rate {r} is not positive"));
                    continue;
                }
                Ok(None) => {
                    report.skip(what, "no rate");
                    continue;
                }
                Err(why) => {
                    report.skip(what, why);
                    continue;
                }
            };
            let (target, foreign) = match (from_ccy == Currency::EUR, to_ccy == Currency::EUR) {
                (false, true) => (&mut direct, from_ccy),
                (true, false) => (&mut inverse_rows, to_ccy),
                (true, true) => {
                    report.skip(what, "both sides are EUR (TEST counts as EUR)");
                    continue;
                }
                (false, false) => {
                    report.skip(what, "not a rate against EUR");
                    continue;
                }
            };
            if target.contains_key(&foreign) {
                report.skip(what, "appears twice (currencies compared upper case)");
                continue;
            }
            if let Some(at) = text(row, "fetched_at") {
                fetched.insert(at);
            }
            target.insert(foreign, (rate, what));
        }
        let mut rates = Vec::new();
        for (&ccy, (rate, _)) in &direct {
            if let Some((inverse_rate, what)) = inverse_rows.get(&ccy)
                && let Some(implied) = inverse(*inverse_rate)
                && !close(rate.to_f64(), implied.to_f64())
            {
                report.note(format!(
                    "{what} {inverse_rate} implies 1 EUR = {implied} {ccy}, which disagrees \
                     with {ccy}→EUR {rate}; kept {ccy}→EUR"
                ));
            }
            rates.push((ccy, *rate));
        }
        for (&ccy, (rate, what)) in &inverse_rows {
            if direct.contains_key(&ccy) {
                continue;
            }
            match inverse(*rate) {
                Some(per_eur) => {
                    report.note(format!(
                        "{ccy}: only {what} {rate} exists; used its inverse, 1 EUR = {per_eur} \
                         {ccy}"
                    ));
                    rates.push((ccy, per_eur));
                }
                None => report.skip(what, format!("cannot invert {rate}")),
            }
        }
        let rates: Vec<FxRate> = rates
            .into_iter()
            .filter_map(|(ccy, per_eur)| match FxRate::new(ccy, per_eur) {
                Ok(rate) => Some(rate),
                Err(e) => {
                    report.skip(ccy, e);
                    None
                }
            })
            .collect();
        report.taken = rates.len();
        if rates.is_empty() {
            return self.finish(report, false);
        }
        if let (Some(first), Some(last)) = (fetched.first(), fetched.last()) {
            let when = if first == last {
                first.clone()
            } else {
                format!("{first} to {last}")
            };
            report.note(format!(
                "rates as autoTrader fetched them ({when}); the next FX sync replaces them"
            ));
        }
        let written = self.store.put_fx_rates(&rates);
        store_result(LegacyKind::FxRates, written)?;
        self.finish(report, true)
    }

    /// Notes the currencies that positions or active securities use but that have no rate:
    /// their values cannot be converted to EUR until one is synced.
    pub(super) fn check_fx_coverage(&mut self) -> Result<(), LegacyError> {
        let kind = LegacyKind::FxRates;
        let mut users: BTreeMap<Currency, (usize, usize)> = BTreeMap::new();
        for p in store_result(kind, self.store.positions())? {
            users.entry(p.currency).or_default().0 += 1;
        }
        for s in store_result(kind, self.store.securities())? {
            if s.active {
                users.entry(s.currency).or_default().1 += 1;
            }
        }
        let mut notes = Vec::new();
        for (ccy, (positions, securities)) in users {
            if ccy == Currency::EUR || store_result(kind, self.store.fx_rate(ccy))?.is_some() {
                continue;
            }
            notes.push(format!(
                "no FX rate for {ccy}, which {} and {} use; their EUR values are unknown \
                 until a rate is synced",
                plural(positions, "position", "positions"),
                plural(securities, "active security", "active securities"),
            ));
        }
        self.report.kind_mut(kind).notes.extend(notes);
        Ok(())
    }
}
