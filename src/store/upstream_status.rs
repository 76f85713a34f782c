//! Health of the upstream services and freshness of each kind of synced data, so the planner
//! and the dashboard can tell stored data from fresh data when a service is down.

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, StoreError, now_iso};
pub use crate::domain::BreakerState;

/// What is known about one upstream service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamStatus {
    pub service: String,
    pub last_success_at: Option<String>,
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
    pub breaker_state: BreakerState,
    pub consecutive_failures: i64,
}

/// When one kind of data was last refreshed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFreshness {
    pub kind: String,
    pub refreshed_at: String,
    pub source: String,
    pub stale: bool,
}

const STATUS_COLUMNS: &str = "service, last_success_at, last_error_at, last_error, \
     breaker_state, consecutive_failures";

impl Store {
    /// A successful call: the failure count resets; the last error is kept for the dashboard.
    pub fn record_upstream_success(
        &self,
        service: &str,
        at: &str,
        breaker: BreakerState,
    ) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO upstream_status (service, last_success_at, breaker_state, \
                 consecutive_failures, updated_at) VALUES (?1, ?2, ?3, 0, ?4) \
                 ON CONFLICT(service) DO UPDATE SET last_success_at = excluded.last_success_at, \
                 breaker_state = excluded.breaker_state, consecutive_failures = 0, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![service, at, breaker.as_str(), now])?;
            Ok(())
        })
    }

    /// A failed call: counts consecutive failures and keeps the error text.
    pub fn record_upstream_failure(
        &self,
        service: &str,
        at: &str,
        error: &str,
        breaker: BreakerState,
    ) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO upstream_status (service, last_error_at, last_error, breaker_state, \
                 consecutive_failures, updated_at) VALUES (?1, ?2, ?3, ?4, 1, ?5) \
                 ON CONFLICT(service) DO UPDATE SET last_error_at = excluded.last_error_at, \
                 last_error = excluded.last_error, breaker_state = excluded.breaker_state, \
                 consecutive_failures = consecutive_failures + 1, \
                 updated_at = excluded.updated_at",
            )?
            .execute(params![service, at, error, breaker.as_str(), now])?;
            Ok(())
        })
    }

    pub fn upstream_status(&self, service: &str) -> Result<Option<UpstreamStatus>, StoreError> {
        self.read(|conn| {
            let sql = format!("SELECT {STATUS_COLUMNS} FROM upstream_status WHERE service = ?1");
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([service], status_from_row)
                .optional()?)
        })
    }

    /// Every known service, by name.
    pub fn upstream_statuses(&self) -> Result<Vec<UpstreamStatus>, StoreError> {
        self.read(|conn| {
            let sql = format!("SELECT {STATUS_COLUMNS} FROM upstream_status ORDER BY service");
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([], status_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// `kind` was refreshed from `source` at `at`; it is fresh again.
    pub fn mark_refreshed(&self, kind: &str, source: &str, at: &str) -> Result<(), StoreError> {
        self.write(|conn| {
            conn.prepare_cached(
                "INSERT INTO data_freshness (kind, refreshed_at, source, stale) \
                 VALUES (?1, ?2, ?3, 0) ON CONFLICT(kind) DO UPDATE SET \
                 refreshed_at = excluded.refreshed_at, source = excluded.source, stale = 0",
            )?
            .execute(params![kind, at, source])?;
            Ok(())
        })
    }

    /// Flags `kind` stale (keeping when it was last refreshed); false if it was never refreshed.
    pub fn mark_stale(&self, kind: &str) -> Result<bool, StoreError> {
        self.write(|conn| {
            let changed = conn
                .prepare_cached("UPDATE data_freshness SET stale = 1 WHERE kind = ?1")?
                .execute([kind])?;
            Ok(changed > 0)
        })
    }

    pub fn data_freshness(&self, kind: &str) -> Result<Option<DataFreshness>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT kind, refreshed_at, source, stale FROM data_freshness WHERE kind = ?1",
                )?
                .query_row([kind], freshness_from_row)
                .optional()?)
        })
    }

    /// Every kind, by name.
    pub fn all_data_freshness(&self) -> Result<Vec<DataFreshness>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, refreshed_at, source, stale FROM data_freshness ORDER BY kind",
            )?;
            let rows = stmt.query_map([], freshness_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}

fn status_from_row(r: &Row<'_>) -> rusqlite::Result<UpstreamStatus> {
    let breaker: String = r.get(4)?;
    let breaker_state = BreakerState::parse(&breaker).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("unexpected breaker state {breaker:?}").into(),
        )
    })?;
    Ok(UpstreamStatus {
        service: r.get(0)?,
        last_success_at: r.get(1)?,
        last_error_at: r.get(2)?,
        last_error: r.get(3)?,
        breaker_state,
        consecutive_failures: r.get(5)?,
    })
}

fn freshness_from_row(r: &Row<'_>) -> rusqlite::Result<DataFreshness> {
    Ok(DataFreshness {
        kind: r.get(0)?,
        refreshed_at: r.get(1)?,
        source: r.get(2)?,
        stale: r.get(3)?,
    })
}
