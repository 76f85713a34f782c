//! The kinds of `config.db`: securities, allocation targets and groups, settings.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::types::Value;

use super::report::{KindReport, LegacyKind};
use super::values::{currency, flag, integer, plural, real, text, value};
use super::{CONFIG, DEMO_SOURCE, Import, LegacyError, STATE, store_result};
use crate::domain::{Currency, Decimal, normalize_symbol};
use crate::store::{
    AllocationGroup, AllocationTarget, AllowEmpty, SecurityRecord, TargetKind, TradingMode, keys,
};

impl Import<'_> {
    /// The position currency of each legacy position, for securities without a currency.
    fn position_currencies(&self) -> HashMap<String, Currency> {
        self.legacy
            .rows(STATE, "positions")
            .unwrap_or_default()
            .iter()
            .filter_map(|row| {
                let symbol = normalize_symbol(&text(row, "symbol")?);
                let currency = currency(&text(row, "currency")?).ok()?;
                Some((symbol, currency))
            })
            .collect()
    }

    pub(super) fn securities(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Securities);
        let rows = match self.legacy.take(CONFIG, "securities") {
            Ok(rows) => rows,
            Err(why) => match self.legacy.take(CONFIG, "stocks") {
                Ok(rows) => {
                    report.note("read the older stocks table (config.db has no securities)");
                    rows
                }
                Err(_) => {
                    report.unavailable = Some(why);
                    return self.finish(report, false);
                }
            },
        };
        let position_currencies = self.position_currencies();
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        for row in &rows {
            let Some(symbol) = text(row, "symbol").map(|s| normalize_symbol(&s)) else {
                report.skip("a row", "no symbol");
                continue;
            };
            if !seen.insert(symbol.clone()) {
                report.skip(&symbol, "appears twice (symbols are compared upper case)");
                continue;
            }
            let currency = match text(row, "currency") {
                Some(code) => match currency(&code) {
                    Ok(c) => c,
                    Err(why) => {
                        report.skip(&symbol, why);
                        continue;
                    }
                },
                None => match position_currencies.get(&symbol) {
                    Some(&c) => {
                        report.note(format!(
                            "{symbol} has no currency in config.db; took {c} from its position"
                        ));
                        c
                    }
                    None => {
                        report.skip(&symbol, "no trading currency");
                        continue;
                    }
                },
            };
            let priority_multiplier = match real(row, "priority_multiplier") {
                None => 1.0,
                Some(m) if m.is_finite() && m >= 0.0 => m,
                Some(m) => {
                    report.note(format!(
                        "{symbol}: priority_multiplier {m} is not a weight; used 1.0"
                    ));
                    1.0
                }
            };
            records.push(SecurityRecord {
                isin: text(row, "isin"),
                name: text(row, "name").unwrap_or_else(|| symbol.clone()),
                currency,
                country: text(row, "country"),
                industry: text(row, "industry"),
                min_lot: integer(row, "min_lot").unwrap_or(1).max(1),
                allow_buy: flag(row, "allow_buy", true),
                // The reference's column default.
                allow_sell: flag(row, "allow_sell", false),
                priority_multiplier,
                active: flag(row, "active", true),
                symbol,
            });
        }
        report.taken = records.len();
        if records.is_empty() {
            report.note("no usable securities in config.db; the stored ones were kept");
            return self.finish(report, false);
        }
        // Securities only our database knows keep their state (replace_securities would mark
        // them inactive), unless they are the demo dataset's, which must not be traded.
        let freshness = self
            .store
            .data_freshness(LegacyKind::Securities.freshness_key());
        let demo = store_result(LegacyKind::Securities, freshness)?
            .is_some_and(|f| f.source == DEMO_SOURCE);
        let stored = store_result(LegacyKind::Securities, self.store.securities())?;
        let others = stored.into_iter().filter(|s| !seen.contains(&s.symbol));
        if demo {
            let deactivated = others.filter(|s| s.active).count();
            if deactivated > 0 {
                report.note(format!(
                    "{} of the demo dataset marked inactive",
                    plural(deactivated, "security", "securities")
                ));
            }
        } else {
            records.extend(others);
        }
        let written = self.store.replace_securities(&records, AllowEmpty::No);
        store_result(LegacyKind::Securities, written)?;
        self.finish(report, true)
    }

    pub(super) fn allocation_targets(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::AllocationTargets);
        let Some(rows) = self.rows_or_unavailable(&mut report, CONFIG, "allocation_targets") else {
            return self.finish(report, false);
        };
        // (kind, is the group form) for each legacy type.
        let kind_of = |t: &str| match t {
            "country_group" => Some((TargetKind::Country, true)),
            "industry_group" => Some((TargetKind::Industry, true)),
            "country" => Some((TargetKind::Country, false)),
            "industry" => Some((TargetKind::Industry, false)),
            _ => None,
        };
        let group_forms: BTreeSet<TargetKind> = rows
            .iter()
            .filter_map(|row| kind_of(&text(row, "type")?))
            .filter(|&(_, group)| group)
            .map(|(kind, _)| kind)
            .collect();
        let mut by_kind: BTreeMap<TargetKind, Vec<AllocationTarget>> = BTreeMap::new();
        for row in &rows {
            let kind_text = text(row, "type").unwrap_or_default();
            let name = text(row, "name").unwrap_or_default();
            let what = format!("{kind_text} {name:?}");
            let Some((kind, group_form)) = kind_of(&kind_text) else {
                report.skip(what, "unknown target type");
                continue;
            };
            if !group_form && group_forms.contains(&kind) {
                report.skip(what, format!("superseded by the {kind_text}_group targets"));
                continue;
            }
            if name.is_empty() {
                report.skip(what, "no group name");
                continue;
            }
            let target = match real(row, "target_pct").map(Decimal::from_f64) {
                Some(Ok(t)) if !t.is_negative() && t <= Decimal::ONE => t,
                Some(Ok(t)) => {
                    report.skip(what, format!("target_pct {t} is not a fraction 0–1"));
                    continue;
                }
                _ => {
                    report.skip(what, "target_pct is not a number");
                    continue;
                }
            };
            let targets = by_kind.entry(kind).or_default();
            if targets.iter().any(|t| t.group == name) {
                report.skip(what, "appears twice");
                continue;
            }
            targets.push(AllocationTarget {
                kind,
                group: name,
                target,
            });
        }
        let mut all = Vec::new();
        for (kind, targets) in by_kind {
            let sum = targets
                .iter()
                .try_fold(Decimal::ZERO, |sum, t| sum.checked_add(t.target));
            match sum {
                Ok(sum) if sum <= Decimal::ONE => all.extend(targets),
                _ => report.skip_many(
                    targets.len(),
                    format!("all {} targets", kind.as_str()),
                    "they add up to more than 1",
                ),
            }
        }
        report.taken = all.len();
        if all.is_empty() {
            report.note("no usable targets in config.db; the stored ones were kept");
            return self.finish(report, false);
        }
        // A kind the legacy folder has no targets for keeps the stored ones.
        let imported: BTreeSet<TargetKind> = all.iter().map(|t| t.kind).collect();
        let stored = store_result(
            LegacyKind::AllocationTargets,
            self.store.allocation_targets(),
        )?;
        all.extend(stored.into_iter().filter(|t| !imported.contains(&t.kind)));
        let written = self.store.replace_allocation_targets(&all, AllowEmpty::No);
        store_result(LegacyKind::AllocationTargets, written)?;
        self.finish(report, true)
    }

    pub(super) fn allocation_groups(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::AllocationGroups);
        let sources = [
            (TargetKind::Country, "country_groups", "country_name"),
            (TargetKind::Industry, "industry_groups", "industry_name"),
        ];
        let mut groups: Vec<AllocationGroup> = Vec::new();
        let mut read_kinds = BTreeSet::new();
        let mut unavailable = Vec::new();
        for (kind, table, member_column) in sources {
            let rows = match self.legacy.rows(CONFIG, table) {
                Ok(rows) => rows,
                Err(why) => {
                    unavailable.push(why);
                    continue;
                }
            };
            read_kinds.insert(kind);
            for row in rows {
                let (Some(group), Some(member)) =
                    (text(row, "group_name"), text(row, member_column))
                else {
                    report.skip(table, "a row without a group or member name");
                    continue;
                };
                if let Some(first) = groups.iter().find(|g| g.kind == kind && g.member == member) {
                    report.skip(
                        format!("{member} in {group}"),
                        format!("already in group {}", first.group),
                    );
                    continue;
                }
                groups.push(AllocationGroup {
                    kind,
                    member,
                    group,
                });
            }
        }
        if read_kinds.is_empty() {
            report.unavailable = Some(unavailable.join("; "));
            return self.finish(report, false);
        }
        for why in unavailable {
            report.note(format!("{why}; the stored groups of that kind were kept"));
        }
        report.taken = groups.len();
        if groups.is_empty() {
            report.note("no groups in config.db; the stored ones were kept");
            return self.finish(report, false);
        }
        let imported: BTreeSet<TargetKind> = groups.iter().map(|g| g.kind).collect();
        let stored = store_result(LegacyKind::AllocationGroups, self.store.allocation_groups())?;
        groups.extend(stored.into_iter().filter(|g| !imported.contains(&g.kind)));
        let written = self
            .store
            .replace_allocation_groups(&groups, AllowEmpty::No);
        store_result(LegacyKind::AllocationGroups, written)?;
        self.finish(report, true)
    }

    pub(super) fn settings(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Settings);
        let Some(rows) = self.rows_or_unavailable(&mut report, CONFIG, "settings") else {
            return self.finish(report, false);
        };
        let current_mode = store_result(LegacyKind::Settings, self.store.trading_mode())?;
        let mut settings = Vec::new();
        for row in &rows {
            let Some(key) = text(row, "key") else {
                report.skip("a row", "no key");
                continue;
            };
            // Values stay text, untrimmed, exactly as the reference stored them.
            let value = match value(row, "value") {
                Value::Text(t) => t.clone(),
                Value::Integer(i) => i.to_string(),
                Value::Real(f) => format!("{f:?}"),
                Value::Null | Value::Blob(_) => {
                    report.skip(&key, "no text value");
                    continue;
                }
            };
            // Switching to live trading is a decision, not a side effect of an import: two
            // planners trading one account is how duplicate orders happen.
            if key == keys::TRADING_MODE
                && value.trim().eq_ignore_ascii_case("live")
                && current_mode != TradingMode::Live
            {
                report.skip(
                    &key,
                    "autoTrader traded live; the planner stays in research mode until \
                     trading_mode is set to live deliberately",
                );
                continue;
            }
            settings.push((key, value));
        }
        report.taken = settings.len();
        if settings.is_empty() {
            return self.finish(report, false);
        }
        let written = self.store.set_settings(&settings);
        store_result(LegacyKind::Settings, written)?;
        self.finish(report, true)
    }
}
