//! Plans with their steps, and planning runs. A plan and its steps are written in one
//! transaction, so a plan is never visible without all of its steps.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{Store, StoreError, now_iso};
use crate::domain::{Money, Quantity, Side, normalize_symbol};

/// Where a plan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum PlanStatus {
    Proposed,
    Executing,
    Executed,
    Superseded,
    Failed,
    Cancelled,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(text: &str) -> Option<PlanStatus> {
        text.parse().ok()
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStepRecord {
    pub side: Side,
    pub symbol: String,
    pub quantity: Quantity,
    /// The step's value in EUR; never negative.
    pub value_eur: Money,
    pub narrative: String,
    pub reason: String,
}

/// A plan to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    /// The canonical hash of the portfolio the plan was made for.
    pub portfolio_hash: String,
    pub score_before: Option<f64>,
    pub score_after: Option<f64>,
    /// The full plan as JSON (breakdown, rejected opportunities, …).
    pub body: serde_json::Value,
    pub steps: Vec<PlanStepRecord>,
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub id: i64,
    pub created_at: String,
    pub status: PlanStatus,
    pub plan: NewPlan,
}

/// How a planning run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(text: &str) -> Option<RunStatus> {
        text.parse().ok()
    }
}

/// One planning run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanningRun {
    pub id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: RunStatus,
    pub sequences_evaluated: u64,
    pub plan_id: Option<i64>,
    pub error: Option<String>,
}

impl Store {
    /// Stores a plan and its steps (numbered from 0 in order) in one transaction.
    pub fn save_plan(&self, plan: &NewPlan) -> Result<i64, StoreError> {
        let finite = |s: Option<f64>| s.is_none_or(f64::is_finite);
        if plan.portfolio_hash.is_empty() || !finite(plan.score_before) || !finite(plan.score_after)
        {
            return Err(invalid(format!(
                "hash {:?}, scores {:?} / {:?}",
                plan.portfolio_hash, plan.score_before, plan.score_after
            )));
        }
        for step in &plan.steps {
            if normalize_symbol(&step.symbol).is_empty()
                || step.quantity.is_zero()
                || step.value_eur.is_negative()
                || step.value_eur.currency() != crate::domain::Currency::EUR
            {
                return Err(invalid(format!("step {step:?}")));
            }
        }
        let body = plan.body.to_string();
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO plans (portfolio_hash, created_at, score_before, score_after, \
                 status, body) VALUES (?1, ?2, ?3, ?4, 'proposed', ?5)",
                params![
                    plan.portfolio_hash,
                    now,
                    plan.score_before,
                    plan.score_after,
                    body
                ],
            )?;
            let id = tx.last_insert_rowid();
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO plan_steps (plan_id, step, side, symbol, quantity, \
                     value_eur_minor, narrative, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for (n, step) in plan.steps.iter().enumerate() {
                    insert.execute(params![
                        id,
                        n as i64,
                        step.side,
                        normalize_symbol(&step.symbol),
                        step.quantity,
                        step.value_eur.minor(),
                        step.narrative,
                        step.reason
                    ])?;
                }
            }
            tx.commit()?;
            Ok(id)
        })
    }

    /// One plan with its steps.
    pub fn plan(&self, id: i64) -> Result<Option<PlanRecord>, StoreError> {
        self.read(|conn| {
            let header = conn
                .prepare_cached(
                    "SELECT id, created_at, status, portfolio_hash, score_before, score_after, \
                     body FROM plans WHERE id = ?1",
                )?
                .query_row([id], plan_header)
                .optional()?;
            header.map(|h| with_steps(conn, h)).transpose()
        })
    }

    /// The newest plans first, at most `limit`.
    pub fn plans(&self, limit: usize) -> Result<Vec<PlanRecord>, StoreError> {
        self.read(|conn| {
            let headers: Vec<_> = conn
                .prepare_cached(
                    "SELECT id, created_at, status, portfolio_hash, score_before, score_after, \
                     body FROM plans ORDER BY created_at DESC, id DESC LIMIT ?1",
                )?
                .query_map([limit as i64], plan_header)?
                .collect::<Result<_, _>>()?;
            headers.into_iter().map(|h| with_steps(conn, h)).collect()
        })
    }

    /// At most `limit` plans older than plan `before` (all plans without it), newest first: one
    /// page of the list, so a long history is read a bounded page at a time.
    pub fn plans_page(
        &self,
        limit: usize,
        before: Option<i64>,
    ) -> Result<Vec<PlanRecord>, StoreError> {
        let Some(before) = before else {
            return self.plans(limit);
        };
        self.read(|conn| {
            let headers: Vec<_> = conn
                .prepare_cached(
                    "SELECT id, created_at, status, portfolio_hash, score_before, score_after, \
                     body FROM plans WHERE (created_at, id) < \
                     (SELECT created_at, id FROM plans WHERE id = ?2) \
                     ORDER BY created_at DESC, id DESC LIMIT ?1",
                )?
                .query_map(params![limit as i64, before], plan_header)?
                .collect::<Result<_, _>>()?;
            headers.into_iter().map(|h| with_steps(conn, h)).collect()
        })
    }

    /// Changes a plan's status.
    pub fn set_plan_status(&self, id: i64, status: PlanStatus) -> Result<(), StoreError> {
        self.write(|conn| {
            let changed = conn.execute(
                "UPDATE plans SET status = ?2 WHERE id = ?1",
                params![id, status.as_str()],
            )?;
            if changed == 0 {
                return Err(invalid(format!("no plan {id}")));
            }
            Ok(())
        })
    }

    /// Records the start of a planning run.
    pub fn start_planning_run(&self) -> Result<i64, StoreError> {
        let now = now_iso();
        self.write(|conn| {
            conn.execute(
                "INSERT INTO planning_runs (started_at, status) VALUES (?1, 'running')",
                [now],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// Records how a running planning run ended.
    pub fn finish_planning_run(
        &self,
        id: i64,
        status: RunStatus,
        sequences_evaluated: u64,
        plan_id: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        if status == RunStatus::Running {
            return Err(invalid("a run cannot finish as running".into()));
        }
        let now = now_iso();
        self.write(|conn| {
            let changed = conn.execute(
                "UPDATE planning_runs SET finished_at = ?2, status = ?3, \
                 sequences_evaluated = ?4, plan_id = ?5, error = ?6 \
                 WHERE id = ?1 AND status = 'running'",
                params![
                    id,
                    now,
                    status.as_str(),
                    i64::try_from(sequences_evaluated).unwrap_or(i64::MAX),
                    plan_id,
                    error
                ],
            )?;
            if changed == 0 {
                return Err(invalid(format!("planning run {id} is not running")));
            }
            Ok(())
        })
    }

    /// One planning run.
    pub fn planning_run(&self, id: i64) -> Result<Option<PlanningRun>, StoreError> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT id, started_at, finished_at, status, sequences_evaluated, plan_id, \
                     error FROM planning_runs WHERE id = ?1",
                )?
                .query_row([id], run_from_row)
                .optional()?)
        })
    }

    /// Runs left `running` by a process that died: marks them failed. Called at start-up.
    pub fn fail_abandoned_planning_runs(&self) -> Result<usize, StoreError> {
        let now = now_iso();
        self.write(|conn| {
            Ok(conn.execute(
                "UPDATE planning_runs SET status = 'failed', finished_at = ?1, \
                 error = 'the process stopped during the run' WHERE status = 'running'",
                [now],
            )?)
        })
    }
}

fn invalid(reason: String) -> StoreError {
    StoreError::Invalid {
        what: "plan",
        reason,
    }
}

type PlanHeader = (
    i64,
    String,
    String,
    String,
    Option<f64>,
    Option<f64>,
    String,
);

fn plan_header(r: &Row<'_>) -> rusqlite::Result<PlanHeader> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn with_steps(conn: &Connection, header: PlanHeader) -> Result<PlanRecord, StoreError> {
    let (id, created_at, status, portfolio_hash, score_before, score_after, body) = header;
    let corrupt = |column: &'static str, value: String, reason: String| StoreError::Corrupt {
        table: "plans",
        column,
        value,
        reason,
    };
    let status = PlanStatus::parse(&status)
        .ok_or_else(|| corrupt("status", status.clone(), "unknown status".into()))?;
    let body = serde_json::from_str(&body).map_err(|e| corrupt("body", body, e.to_string()))?;
    let steps = conn
        .prepare_cached(
            "SELECT side, symbol, quantity, value_eur_minor, narrative, reason FROM plan_steps \
             WHERE plan_id = ?1 ORDER BY step",
        )?
        .query_map([id], |r| {
            Ok(PlanStepRecord {
                side: r.get(0)?,
                symbol: r.get(1)?,
                quantity: r.get(2)?,
                value_eur: Money::from_minor(r.get(3)?, crate::domain::Currency::EUR),
                narrative: r.get(4)?,
                reason: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(PlanRecord {
        id,
        created_at,
        status,
        plan: NewPlan {
            portfolio_hash,
            score_before,
            score_after,
            body,
            steps,
        },
    })
}

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<PlanningRun> {
    let status: String = r.get(3)?;
    let status = RunStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            3,
            rusqlite::types::Type::Text,
            format!("unknown run status {status:?}").into(),
        )
    })?;
    Ok(PlanningRun {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        status,
        sequences_evaluated: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        plan_id: r.get(5)?,
        error: r.get(6)?,
    })
}

#[cfg(test)]
mod score_scale_tests {
    use rusqlite::Connection;
    use rusqlite_migration::Migrations;

    use super::super::{MIGRATIONS, Store};

    /// Two plans written before scores were put on one scale: the native planner's (0–1) and
    /// one of `POST /planning/create` (already 0–100).
    fn database_before_the_scale_was_one(path: &std::path::Path) {
        let mut conn = Connection::open(path).unwrap();
        Migrations::from_slice(&MIGRATIONS[..3])
            .to_latest(&mut conn)
            .unwrap();
        conn.execute_batch(
            "INSERT INTO plans (portfolio_hash, created_at, score_before, score_after, status, \
             body) VALUES \
             ('h', '2026-01-01T00:00:00', 0.61, 0.645, 'proposed', '{\"narrative\": \"\"}'), \
             ('h', '2026-01-02T00:00:00', 60.0, 62.5, 'proposed', \
              '{\"source\": \"planning/create\"}'), \
             ('h', '2026-01-03T00:00:00', NULL, NULL, 'proposed', '{}');",
        )
        .unwrap();
    }

    #[test]
    fn the_migration_puts_native_plan_scores_on_the_0_to_100_scale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        database_before_the_scale_was_one(&path);
        let store = Store::open(&path).unwrap();
        let scores: Vec<(Option<f64>, Option<f64>)> = (1..=3)
            .map(|id| {
                let plan = store.plan(id).unwrap().unwrap().plan;
                (plan.score_before, plan.score_after)
            })
            .collect();
        assert_eq!(
            scores,
            [
                (Some(0.61 * 100.0), Some(0.645 * 100.0)),
                (Some(60.0), Some(62.5)),
                (None, None)
            ]
        );
    }
}
