use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Weekday};
use tempfile::TempDir;

use super::files::{SCORES_FILE, SECURITIES_FILE, SETTINGS_FILE};
use super::*;
use crate::domain::{Currency, Decimal, Money, Security};
use crate::evaluator::ScoringProfile;
use crate::evaluator::symbol_terms::metric_names;
use crate::store::{
    AllocationTarget, AllowEmpty, DataFreshness, PositionRecord, SecurityRecord, TargetKind,
    TradingMode, keys,
};

fn temp_store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(&dir.path().join("planner.db")).unwrap();
    (dir, store)
}

/// A fresh store with the demo loaded.
fn loaded() -> (TempDir, Store, DemoReport) {
    let (dir, store) = temp_store();
    let report = load_if_empty(&store)
        .unwrap()
        .expect("an empty store is loaded");
    (dir, store, report)
}

fn currencies(list: impl IntoIterator<Item = Currency>) -> BTreeSet<Currency> {
    list.into_iter().collect()
}

fn four_currencies() -> BTreeSet<Currency> {
    currencies([Currency::EUR, Currency::USD, Currency::GBP, Currency::HKD])
}

/// The error of parsing the bundled files after `edit` changed one of them.
fn rejected(edit: impl FnOnce(&mut DemoFiles)) -> DemoError {
    let mut files = DemoFiles::BUNDLED;
    edit(&mut files);
    match Dataset::parse(&files, &now_iso()) {
        Ok(_) => panic!("the edited files were accepted"),
        Err(e) => e,
    }
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

#[test]
fn every_bundled_file_parses_and_agrees_with_the_others() {
    let dataset = Dataset::parse(&DemoFiles::BUNDLED, &now_iso()).unwrap();
    assert_eq!(dataset.securities.len(), 40);
}

#[test]
fn a_typo_in_a_field_name_fails_naming_the_file_and_the_place() {
    let err = rejected(|f| {
        f.securities = leak(f.securities.replacen("min_lot: 1}", "min_lots: 1}", 1));
    });
    let text = err.to_string();
    assert!(matches!(err, DemoError::Parse { file, .. } if file == SECURITIES_FILE));
    assert!(
        text.contains("securities[0]") && text.contains("min_lots"),
        "{text}"
    );
}

#[test]
fn a_value_that_is_not_a_number_or_a_misspelt_group_fails() {
    let err = rejected(|f| {
        f.portfolio = leak(f.portfolio.replacen("\"680.40\"", "\"68O.40\"", 1));
    });
    assert!(err.to_string().contains("quotes"), "{err}");
    let err = rejected(|f| {
        f.scores = leak(f.scores.replacen("opinion:", "opinon:", 1));
    });
    assert!(matches!(err, DemoError::Parse { file, .. } if file == SCORES_FILE));
}

#[test]
fn a_key_given_twice_fails() {
    let err = rejected(|f| {
        f.portfolio = leak(f.portfolio.replacen(
            "  SAP.EU: \"236.50\"",
            "  SAP.EU: \"236.50\"\n  SAP.EU: \"1.00\"",
            1,
        ));
    });
    assert!(
        err.to_string().contains("\"SAP.EU\" appears twice"),
        "{err}"
    );
}

#[test]
fn inconsistent_files_fail_before_anything_is_written() {
    let position_off_lot = rejected(|f| {
        f.portfolio = leak(f.portfolio.replacen(
            "{symbol: 0700.HK, quantity: \"100\"",
            "{symbol: 0700.HK, quantity: \"150\"",
            1,
        ));
    });
    assert!(
        position_off_lot
            .to_string()
            .contains("not a multiple of the lot 100"),
        "{position_off_lot}"
    );

    let unknown_quote = rejected(|f| {
        f.portfolio = leak(f.portfolio.replacen("  KO.US: ", "  KOO.US: ", 1));
    });
    assert!(
        unknown_quote.to_string().contains("KOO.US"),
        "{unknown_quote}"
    );

    let ungrouped = rejected(|f| {
        f.targets = leak(f.targets.replacen("      - Semiconductors\n", "", 1));
    });
    assert!(
        ungrouped
            .to_string()
            .contains("\"Semiconductors\" of NVDA.US"),
        "{ungrouped}"
    );

    let metric_typo = rejected(|f| {
        f.metrics = leak(f.metrics.replacen("RSI_14: ", "RSI_41: ", 1));
    });
    assert!(metric_typo.to_string().contains("RSI_41"), "{metric_typo}");

    let live = rejected(|f| {
        f.settings = leak(
            f.settings
                .replacen("trading_mode: research", "trading_mode: live", 1),
        );
    });
    assert!(matches!(live, DemoError::Parse { file, .. } if file == SETTINGS_FILE));
}

#[test]
fn loading_an_empty_store_reports_what_it_wrote() {
    let (_dir, store, report) = loaded();
    assert!(report.securities >= 38, "{report}");
    assert_eq!(report.securities, store.securities().unwrap().len());
    assert_eq!(report.positions, store.positions().unwrap().len());
    assert!((12..=15).contains(&report.positions), "{report}");
    assert_eq!(report.cash_balances, 4);
    assert_eq!(report.fx_rates, 3);
    assert_eq!(report.quotes, report.securities);
    assert_eq!(report.scores, report.securities);
    assert_eq!(report.metrics % report.securities, 0);
    assert!(report.allocation_targets > 0 && report.allocation_groups > 0);
    assert!(report.settings > 0 && report.trading_mode_set);
}

#[test]
fn the_universe_spans_the_four_currencies_with_realistic_lots() {
    let (_dir, store, _) = loaded();
    let securities = store.securities().unwrap();
    assert_eq!(
        currencies(securities.iter().map(|s| s.currency)),
        four_currencies()
    );
    for s in &securities {
        assert!(s.active && s.allow_buy && s.allow_sell, "{s:?}");
        assert_eq!(s.priority_multiplier, 1.0);
        assert_eq!(s.isin.as_deref().map(str::len), Some(12), "{s:?}");
        if s.currency == Currency::HKD {
            assert!(s.min_lot >= 100, "{s:?}");
        } else {
            assert_eq!(s.min_lot, 1, "{s:?}");
        }
    }
    let isins: BTreeSet<_> = securities.iter().map(|s| s.isin.clone()).collect();
    assert_eq!(isins.len(), securities.len(), "ISINs are unique");
}

#[test]
fn positions_are_whole_lots_of_known_securities_in_every_currency() {
    let (_dir, store, _) = loaded();
    let securities: BTreeMap<String, SecurityRecord> = store
        .securities()
        .unwrap()
        .into_iter()
        .map(|s| (s.symbol.clone(), s))
        .collect();
    let positions = store.positions().unwrap();
    for p in &positions {
        let security = securities
            .get(&p.symbol)
            .unwrap_or_else(|| panic!("{} is a security", p.symbol));
        assert_eq!(p.currency, security.currency, "{p:?}");
        let quantity = p.quantity.as_decimal();
        assert!(quantity.is_positive() && p.avg_price.is_positive(), "{p:?}");
        assert_eq!(quantity.scale(), 0, "{p:?}");
        assert_eq!(
            quantity.mantissa() % i128::from(security.min_lot),
            0,
            "{p:?}"
        );
    }
    assert_eq!(
        currencies(positions.iter().map(|p| p.currency)),
        four_currencies()
    );
}

#[test]
fn some_positions_gain_some_lose_and_one_has_more_than_doubled() {
    let (_dir, store, _) = loaded();
    let gains: Vec<f64> = store
        .positions()
        .unwrap()
        .iter()
        .map(|p| {
            let quote = store.quote(&p.symbol).unwrap().unwrap();
            quote.price.to_f64() / p.avg_price.to_f64() - 1.0
        })
        .collect();
    assert!(gains.iter().any(|&g| g < 0.0), "{gains:?}");
    assert!(gains.iter().any(|&g| g > 0.0), "{gains:?}");
    assert!(gains.iter().any(|&g| g >= 1.0), "a windfall: {gains:?}");
    assert!(
        gains.iter().any(|&g| g < -0.20),
        "a dip to average down: {gains:?}"
    );
}

#[test]
fn every_security_has_a_positive_quote_in_its_own_currency() {
    let (_dir, store, _) = loaded();
    for s in store.securities().unwrap() {
        let quote = store
            .quote(&s.symbol)
            .unwrap()
            .unwrap_or_else(|| panic!("{} has a quote", s.symbol));
        assert!(quote.price.is_positive(), "{quote:?}");
        assert_eq!(quote.currency, s.currency, "{quote:?}");
        assert_eq!(quote.source, DEMO_SOURCE);
    }
}

#[test]
fn every_security_has_every_metric_either_scoring_profile_reads() {
    let (_dir, store, _) = loaded();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    names.extend(metric_names(ScoringProfile::PythonCompat));
    names.extend(metric_names(ScoringProfile::Corrected));
    names.extend([
        "CAGR_5Y",
        "CAGR_10Y",
        "DIVIDEND_YIELD",
        "PAYOUT_RATIO",
        "SHARPE",
        "SORTINO",
        "MAX_DRAWDOWN",
        "VOLATILITY_ANNUAL",
        "RSI_14",
        "EMA_200",
        "DISTANCE_FROM_52W_HIGH",
        "MOMENTUM_30D",
        "MOMENTUM_90D",
        "PE_RATIO",
    ]);
    let names: Vec<&str> = names.into_iter().collect();
    let securities = store.securities().unwrap();
    let symbols: Vec<&str> = securities.iter().map(|s| s.symbol.as_str()).collect();
    let stored = store.valid_metrics_now(&symbols, &names).unwrap();
    for symbol in &symbols {
        let metrics = &stored[*symbol];
        for name in &names {
            assert!(metrics.contains_key(*name), "{symbol} lacks {name}");
        }
        let m = |name: &str| metrics[name];
        assert!(m("MAX_DRAWDOWN") < 0.0, "{symbol}: drawdowns are negative");
        assert!((0.0..=100.0).contains(&m("RSI_14")), "{symbol}");
        assert!((-0.5..=1.0).contains(&m("CAGR_5Y")), "{symbol}: a fraction");
        assert!((0.0..0.15).contains(&m("DIVIDEND_YIELD")), "{symbol}");
        assert!((0.05..1.0).contains(&m("VOLATILITY_ANNUAL")), "{symbol}");
        assert!(m("DISTANCE_FROM_52W_HIGH") >= 0.0, "{symbol}");
        assert!(m("EMA_200") > 0.0, "{symbol}: a price");
    }
}

#[test]
fn demo_metrics_never_expire() {
    let (_dir, store, _) = loaded();
    let far_future = "9999-12-31T00:00:00.000000";
    let stored = store
        .valid_metrics(&["ASML.EU"], &["CAGR_5Y"], far_future)
        .unwrap();
    assert_eq!(stored["ASML.EU"]["CAGR_5Y"], 0.215);
}

#[test]
fn fx_rates_convert_in_the_reference_direction() {
    let (_dir, store, _) = loaded();
    let eur = |code: Currency, amount: &str| {
        let rate = store.fx_rate(code).unwrap().expect("a stored rate");
        rate.to_eur(Money::parse(amount, code).unwrap()).unwrap()
    };
    assert_eq!(
        eur(Currency::USD, "100.00"),
        Money::parse("92.59", Currency::EUR).unwrap()
    );
    let hundred_eur = Money::parse("100.00", Currency::EUR).unwrap();
    assert_eq!(eur(Currency::GBP, "84.00"), hundred_eur);
    assert_eq!(eur(Currency::HKD, "840.00"), hundred_eur);
    assert_eq!(
        currencies(store.fx_rates().unwrap().iter().map(|r| r.currency())),
        currencies([Currency::USD, Currency::GBP, Currency::HKD])
    );
}

#[test]
fn cash_is_non_negative_in_every_currency() {
    let (_dir, store, _) = loaded();
    let cash = store.cash_balances().unwrap();
    assert!(cash.iter().all(|m| !m.is_negative()), "{cash:?}");
    assert_eq!(
        currencies(cash.iter().map(|m| m.currency())),
        four_currencies()
    );
    let eur = store.cash_balance(Currency::EUR).unwrap().unwrap();
    assert!(eur.minor() > store.eur_setting(keys::MIN_CASH_RESERVE).unwrap().minor());
}

#[test]
fn targets_add_up_to_at_most_one_and_every_security_is_in_a_group() {
    let (_dir, store, _) = loaded();
    let targets = store.allocation_targets().unwrap();
    for kind in [TargetKind::Country, TargetKind::Industry] {
        let sum = targets
            .iter()
            .filter(|t| t.kind == kind)
            .try_fold(Decimal::ZERO, |sum, t| sum.checked_add(t.target))
            .unwrap();
        assert!(sum.is_positive() && sum <= Decimal::ONE, "{kind:?}: {sum}");
    }
    let groups = store.allocation_groups().unwrap();
    let grouped = |kind: TargetKind, member: &str| {
        groups.iter().any(|g| g.kind == kind && g.member == member)
    };
    for s in store.securities().unwrap() {
        let security = Security {
            industry: s.industry.clone(),
            ..Security::new(&s.symbol, &s.name)
        };
        let country = s.country.as_deref().unwrap();
        assert!(grouped(TargetKind::Country, country), "{country}");
        for industry in security.industries() {
            assert!(grouped(TargetKind::Industry, industry), "{industry}");
        }
    }
}

#[test]
fn scores_lie_between_zero_and_one_with_the_eight_groups() {
    let (_dir, store, _) = loaded();
    let scores = store.scores().unwrap();
    assert_eq!(scores.len(), store.securities().unwrap().len());
    let groups = [
        "long_term",
        "fundamentals",
        "opportunity",
        "opinion",
        "diversification",
        "technicals",
        "dividends",
        "short_term",
    ];
    for score in &scores {
        assert!((0.0..=1.0).contains(&score.total_score), "{score:?}");
        assert_eq!(
            score
                .components
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            {
                let mut sorted = groups.to_vec();
                sorted.sort_unstable();
                sorted
            }
        );
        assert!(score.components.values().all(|v| (0.0..=1.0).contains(v)));
    }
    assert!(scores.iter().any(|s| s.total_score >= 0.7), "high quality");
    assert!(
        scores.iter().any(|s| s.total_score < 0.5),
        "below the minimum"
    );
}

#[test]
fn the_store_is_in_research_mode_with_the_planning_settings() {
    let (_dir, store, _) = loaded();
    assert_eq!(
        store.setting(keys::TRADING_MODE).unwrap().as_deref(),
        Some("research")
    );
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Research);
    assert_eq!(
        store.setting("transaction_cost_fixed").unwrap().as_deref(),
        Some("2.0")
    );
    assert_eq!(
        store.ratio_setting(keys::TRANSACTION_COST_PERCENT).unwrap(),
        "0.002".parse().unwrap()
    );
    assert_eq!(
        store.eur_setting(keys::MIN_CASH_RESERVE).unwrap(),
        Money::parse("500.00", Currency::EUR).unwrap()
    );
    assert_eq!(store.count_setting(keys::SELL_COOLDOWN_DAYS).unwrap(), 180);
}

#[test]
fn every_kind_is_marked_refreshed_from_the_demo() {
    let (_dir, store, _) = loaded();
    for kind in DEMO_KINDS {
        let freshness = store.data_freshness(kind).unwrap();
        assert!(
            matches!(&freshness, Some(DataFreshness { source, stale: false, .. }) if source == DEMO_SOURCE),
            "{kind}: {freshness:?}"
        );
    }
}

/// Everything a load writes, to compare before and after.
fn snapshot(store: &Store) -> impl PartialEq + std::fmt::Debug {
    (
        store.securities().unwrap(),
        store.positions().unwrap(),
        store.cash_balances().unwrap(),
        store.fx_rates().unwrap(),
        store.quotes().unwrap(),
        store.scores().unwrap(),
        store.allocation_targets().unwrap(),
        store.allocation_groups().unwrap(),
        store.settings().unwrap(),
        store.all_data_freshness().unwrap(),
    )
}

#[test]
fn a_second_load_does_nothing() {
    let (_dir, store, _) = loaded();
    let before = snapshot(&store);
    assert!(load_if_empty(&store).unwrap().is_none());
    assert_eq!(snapshot(&store), before);
}

#[test]
fn a_store_with_a_position_is_not_touched() {
    let (_dir, store) = temp_store();
    store
        .upsert_security(&SecurityRecord::new("XYZ.US", "Xyz", Currency::USD))
        .unwrap();
    store
        .replace_positions(
            &[PositionRecord {
                symbol: "XYZ.US".into(),
                quantity: "3".parse().unwrap(),
                avg_price: "10".parse().unwrap(),
                currency: Currency::USD,
            }],
            AllowEmpty::No,
        )
        .unwrap();
    let before = snapshot(&store);
    assert!(load_if_empty(&store).unwrap().is_none());
    assert_eq!(snapshot(&store), before);
    assert_eq!(store.setting(keys::TRADING_MODE).unwrap(), None);
}

#[test]
fn a_store_with_only_a_security_is_not_touched() {
    let (_dir, store) = temp_store();
    store
        .upsert_security(&SecurityRecord::new("XYZ.US", "Xyz", Currency::USD))
        .unwrap();
    assert!(load_if_empty(&store).unwrap().is_none());
    assert_eq!(store.securities().unwrap().len(), 1);
    assert!(store.quotes().unwrap().is_empty());
}

#[test]
fn a_live_store_stays_live_and_own_configuration_is_kept() {
    let (_dir, store) = temp_store();
    store.set_trading_mode(TradingMode::Live).unwrap();
    store.set_setting("transaction_cost_fixed", "5.0").unwrap();
    let own_target = AllocationTarget {
        kind: TargetKind::Country,
        group: "WORLD".into(),
        target: Decimal::ONE,
    };
    store
        .replace_allocation_targets(std::slice::from_ref(&own_target), AllowEmpty::No)
        .unwrap();

    let report = load_if_empty(&store).unwrap().expect("no securities yet");
    assert!(!report.trading_mode_set);
    assert_eq!(report.allocation_targets, 0);
    assert_eq!(store.trading_mode().unwrap(), TradingMode::Live);
    assert_eq!(
        store.setting("transaction_cost_fixed").unwrap().as_deref(),
        Some("5.0")
    );
    assert_eq!(store.allocation_targets().unwrap(), vec![own_target]);
    assert!(store.data_freshness("targets").unwrap().is_none());
    assert!(report.securities >= 38);
}

fn demo_history(today: chrono::NaiveDate) -> Vec<crate::store::DailyClose> {
    let dataset = Dataset::parse(&DemoFiles::BUNDLED, &now_iso()).unwrap();
    history::invented_closes(&dataset.quotes, &dataset.metrics, today)
}

fn closes_by_symbol(
    rows: &[crate::store::DailyClose],
) -> BTreeMap<String, Vec<(chrono::NaiveDate, f64)>> {
    let mut by_symbol: BTreeMap<String, Vec<(chrono::NaiveDate, f64)>> = BTreeMap::new();
    for row in rows {
        by_symbol
            .entry(row.symbol.clone())
            .or_default()
            .push((row.day, row.close));
    }
    by_symbol
}

#[test]
fn the_invented_history_ends_at_each_quote_with_a_close_per_weekday_of_the_year() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let dataset = Dataset::parse(&DemoFiles::BUNDLED, &now_iso()).unwrap();
    let by_symbol = closes_by_symbol(&demo_history(today));
    assert_eq!(by_symbol.len(), dataset.quotes.len());
    for quote in &dataset.quotes {
        let closes = &by_symbol[&quote.symbol];
        // 2025-11-27 to 2026-12-04: 373 days, 267 of them weekdays.
        assert_eq!(closes.len(), 267, "{}", quote.symbol);
        assert_eq!(closes.first().unwrap().0.to_string(), "2025-11-27");
        assert_eq!(*closes.last().unwrap(), (today, quote.price.to_f64()));
        assert!(closes.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(closes.iter().all(|(d, c)| {
            c.is_finite() && *c > 0.0 && !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        }));
    }
}

#[test]
fn the_invented_history_moves_with_each_securitys_demo_volatility_and_is_the_same_every_start() {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    let rows = demo_history(today);
    assert_eq!(rows, demo_history(today), "seeded by symbol");
    let dataset = Dataset::parse(&DemoFiles::BUNDLED, &now_iso()).unwrap();
    let by_symbol = closes_by_symbol(&rows);
    let mut shapes = BTreeSet::new();
    for (symbol, closes) in &by_symbol {
        let returns: Vec<f64> = closes.windows(2).map(|w| (w[1].1 / w[0].1).ln()).collect();
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let variance = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let annual = (variance * 252.0).sqrt();
        let demo = dataset
            .metrics
            .iter()
            .find(|m| &m.symbol == symbol && m.metric == "VOLATILITY_ANNUAL")
            .unwrap()
            .value;
        // 266 returns estimate a volatility to about ±4.4 % of itself (one standard error).
        assert!(
            (annual / demo - 1.0).abs() < 0.2,
            "{symbol}: {annual:.3} drawn, {demo:.3} in the demo"
        );
        // Distinct walks, not one shape scaled.
        shapes.insert(format!("{:.6}", closes[100].1 / closes[266].1));
    }
    assert_eq!(shapes.len(), by_symbol.len());
}

/// The demo loaded, with one real close of SAP.EU stored before the invented history; the day
/// the history is seeded for.
fn loaded_with_a_real_close() -> (TempDir, Store, chrono::NaiveDate, crate::store::DailyClose) {
    let (dir, store, _) = loaded();
    let real = crate::store::DailyClose {
        symbol: "SAP.EU".into(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        close: 123.45,
    };
    store
        .put_daily_closes(std::slice::from_ref(&real), false)
        .unwrap();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    (dir, store, today, real)
}

#[test]
fn seeding_the_history_values_the_demo_portfolio_over_the_year_and_keeps_real_closes() {
    let (_dir, store, today, real) = loaded_with_a_real_close();
    let added = seed_price_history(&store, today).unwrap();
    assert_eq!(added, demo_history(today).len() - 1);
    assert_eq!(
        seed_price_history(&store, today).unwrap(),
        0,
        "a second seed adds nothing"
    );
    let sap = store.daily_closes("SAP.EU").unwrap();
    assert!(sap.contains(&(real.day, real.close)));
    let filled = crate::portfolio_history::backfill_from_history(&store, today).unwrap();
    assert_eq!(filled, 266, "every weekday before today is valued");
}

#[test]
fn a_real_close_replaces_an_invented_one_of_the_same_day_and_never_the_other_way() {
    let (_dir, store) = temp_store();
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 6, d).unwrap();
    let close = |d: u32, close: f64| crate::store::DailyClose {
        symbol: "SAP.EU".into(),
        day: day(d),
        close,
    };
    assert_eq!(
        store
            .put_invented_closes(&[close(1, 10.0), close(2, 11.0), close(3, 12.0)])
            .unwrap(),
        3
    );
    // A back-fill adds missing days and takes the place of invented ones; a later quote of the
    // day replaces any close.
    assert_eq!(
        store
            .put_daily_closes(&[close(1, 20.0), close(4, 22.0)], false)
            .unwrap(),
        2
    );
    assert_eq!(store.put_daily_closes(&[close(2, 21.0)], true).unwrap(), 1);
    assert_eq!(store.put_invented_closes(&[close(1, 99.0)]).unwrap(), 0);
    assert_eq!(
        store.daily_closes("SAP.EU").unwrap(),
        [
            (day(1), 20.0),
            (day(2), 21.0),
            (day(3), 12.0),
            (day(4), 22.0)
        ]
    );
    assert_eq!(store.invented_close_count().unwrap(), 1);
}

#[test]
fn the_accounts_own_positions_make_the_demo_forget_its_invented_history_and_values() {
    let (_dir, store, today, real) = loaded_with_a_real_close();
    seed_price_history(&store, today).unwrap();
    crate::portfolio_history::backfill_from_history(&store, today).unwrap();
    crate::sync::history_metrics::refresh_history_metrics(
        &store,
        today,
        today.and_hms_opt(18, 0, 0).unwrap(),
    )
    .unwrap();
    let from_history = |store: &Store| {
        store
            .metric_origins()
            .unwrap()
            .iter()
            .filter(|o| o.source == crate::sync::history_metrics::HISTORY_SOURCE)
            .count()
    };
    assert!(from_history(&store) > 0);
    let demo_metrics = store.metric_origins().unwrap().len() - from_history(&store);

    let forgotten = forget_if_replacing(&store).unwrap().unwrap();
    assert_eq!(forgotten.invented_closes, demo_history(today).len() - 1);
    assert_eq!(forgotten.daily_values, 266);
    assert!(forgotten.history_metrics > 0);
    assert_eq!(store.invented_close_count().unwrap(), 0);
    assert_eq!(
        store.daily_closes("SAP.EU").unwrap(),
        [(real.day, real.close)]
    );
    assert!(store.daily_values().unwrap().is_empty());
    assert_eq!(from_history(&store), 0);
    assert_eq!(store.metric_origins().unwrap().len(), demo_metrics);

    // Once the positions are the account's, nothing more is forgotten.
    store
        .mark_refreshed("positions", "tradernet", &now_iso())
        .unwrap();
    assert_eq!(forget_if_replacing(&store).unwrap(), None);
}
