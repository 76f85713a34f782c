//! The project's SQLite database.
//!
//! [`Store`] owns one writer connection (behind a mutex) and a pool of at most eight reader
//! connections (a read beyond waits for one), all opened with the same pragmas (WAL, `busy_timeout`, foreign keys,
//! `synchronous=NORMAL`). The schema is built by the embedded migrations in
//! `src/store/migrations/`, tracked with `PRAGMA user_version`.
//!
//! Every method is blocking; async callers run them off the runtime (e.g. with
//! `tokio::task::spawn_blocking`). Each table family lives in its own submodule that adds
//! methods to [`Store`]: `metrics` (`calculated_metrics`), `portfolio` (securities, positions,
//! cash, FX), `market` (quotes, the broker's open orders), `scores`, `targets` (allocation targets
//! and groups), `ledger` (trades, pending orders), `ledger_entries`
//! (deposits, and trades and deposits listed together), `settings`, `upstream_status` (upstream health
//! and data freshness).

mod demo_derived;
mod deposits;
mod fx;
mod ledger;
mod ledger_entries;
pub(crate) mod legacy;
mod market;
mod metrics;
mod paper;
mod plan_queries;
mod plans;
mod portfolio;
mod portfolio_values;
mod prices;
mod scores;
mod settings;
mod targets;
mod text;
mod upstream_status;

#[cfg(test)]
mod fx_tests;
#[cfg(test)]
mod ledger_entries_tests;
#[cfg(test)]
mod ledger_tests;
#[cfg(test)]
mod legacy_tests;
#[cfg(test)]
mod market_tests;
#[cfg(test)]
mod paper_tests;
#[cfg(test)]
mod plans_tests;
#[cfg(test)]
mod portfolio_tests;
#[cfg(test)]
mod portfolio_values_tests;
#[cfg(test)]
mod settings_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_status_tests;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

pub use demo_derived::DemoDerived;
pub use deposits::Deposit;
pub use fx::{DatedRate, DayRates, FxHistoryWrite};
pub use ledger::{
    NewOrder, NewTrade, OrderFill, OrderStatus, PendingOrder, Recorded, Trade, TradeSource,
};
pub use ledger_entries::{EntryKind, LedgerCursor, LedgerFilter, LedgerRow};
pub use market::{BrokerOrderRecord, QuoteRecord};
pub use metrics::{MetricOrigin, MetricRecord, MetricsImport, iso, now_iso};
pub use paper::{PaperFill, eur_for};
pub use plans::{NewPlan, PlanRecord, PlanStatus, PlanStepRecord, PlanningRun, RunStatus};
pub use portfolio::{AllowEmpty, PositionRecord, SecurityRecord};
pub use portfolio_values::DailyValue;
pub use prices::{DailyClose, HistorySpan};
pub use scores::ScoreRecord;
pub use settings::{CountSetting, EurSetting, FlagSetting, RatioSetting, TradingMode, keys};
pub use targets::{AllocationGroup, AllocationTarget, TargetKind};
pub use upstream_status::{BreakerState, DataFreshness, UpstreamStatus};

/// The schema migrations, in order. Append new ones; never edit or reorder applied ones.
/// After migrating, `PRAGMA user_version` equals `MIGRATIONS.len()`.
static MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("migrations/01-calculated-metrics.sql")),
    M::up(include_str!("migrations/02-portfolio-ledger-plans.sql")),
    M::up(include_str!("migrations/03-quotes-orders-targets.sql")),
    M::up(include_str!("migrations/04-plan-scores-0-100.sql")),
    M::up(include_str!("migrations/05-price-history-fx-dates.sql")),
    M::up(include_str!("migrations/06-unattributable-open-orders.sql")),
    M::up(include_str!("migrations/07-broker-order-margin.sql")),
    M::up(include_str!("migrations/08-ledger-deposits-trade-fees.sql")),
    M::up(include_str!("migrations/09-portfolio-values.sql")),
    M::up(include_str!(
        "migrations/10-deposits-only-in-the-ledger.sql"
    )),
    M::up(include_str!("migrations/11-invented-demo-closes.sql")),
    M::up(include_str!("migrations/12-fx-history.sql")),
];

/// How long a connection waits on a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// At most this many idle reader connections are kept for reuse.
const MAX_IDLE_READERS: usize = 4;

/// At most this many reader connections are open at once; a read beyond waits for one. Each
/// connection holds its own page cache, and reads run on the blocking pool, whose hundreds of
/// threads a burst of requests could otherwise each give a connection.
const MAX_READERS: usize = 8;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database's parent directory could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database file could not be opened or configured.
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The schema migrations could not be applied.
    #[error("cannot migrate the database {path}: {source}")]
    Migrate {
        path: PathBuf,
        #[source]
        source: Box<rusqlite_migration::Error>,
    },
    /// A metric value is NaN or infinite; nothing was written.
    #[error("metric {metric} of {symbol} is not a finite number ({value}); nothing was written")]
    NonFiniteValue {
        symbol: String,
        metric: String,
        value: f64,
    },
    /// A replacement of a whole table family was empty; the stored rows were kept, because an
    /// empty answer from upstream must never overwrite good data.
    #[error("refusing to replace all {what} with an empty list; the stored rows were kept")]
    EmptyReplacement { what: &'static str },
    /// The input was refused before anything was written.
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A stored value cannot be read back as its type.
    #[error("corrupt value in {table}.{column}: {value:?} ({reason})")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
        reason: String,
    },
    /// A new order was refused because the symbol already has an open one.
    #[error("{symbol} already has an open order (id {open_order_id})")]
    OpenOrderExists { symbol: String, open_order_id: i64 },
    /// A paper buy would take the cash of its currency below zero; nothing was written.
    #[error("not enough {currency} cash: {needed} needed, {available} available")]
    InsufficientCash {
        currency: crate::domain::Currency,
        needed: String,
        available: String,
    },
    /// A sell wants more shares than are held; nothing was written.
    #[error("cannot sell {wanted} {symbol}: {held} held")]
    InsufficientShares {
        symbol: String,
        held: String,
        wanted: String,
    },
    /// No pending order has this id.
    #[error("no pending order with id {0}")]
    OrderNotFound(i64),
    /// The order is no longer open, so it cannot be filled or cancelled.
    #[error("pending order {id} is {status}, not open")]
    OrderNotOpen { id: i64, status: String },
    /// Money arithmetic failed (overflow, currency mismatch, bad rate).
    #[error(transparent)]
    Money(#[from] crate::domain::MoneyError),
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The SQLite database: one writer connection and a pool of reader connections.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Reader connections, opened lazily and returned after use.
    readers: Mutex<ReaderPool>,
    /// Signalled when a reader is returned or one fewer is open.
    reader_freed: Condvar,
}

/// The reader connections: those idle, and how many are open (idle or in use).
#[derive(Debug, Default)]
struct ReaderPool {
    idle: Vec<Connection>,
    open: usize,
    /// Reads waiting for a connection.
    waiting: usize,
}

impl Store {
    /// Opens (creating parent directories and the file if needed) and applies the embedded
    /// migrations.
    ///
    /// Every connection uses `journal_mode=WAL`, `busy_timeout=5000`, `foreign_keys=ON`
    /// and `synchronous=NORMAL`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut writer = open_connection(path)?;
        restrict_to_owner(path);
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut writer)
            .map_err(|source| StoreError::Migrate {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        Ok(Store {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(ReaderPool::default()),
            reader_freed: Condvar::new(),
        })
    }

    /// The schema version of the open database (`PRAGMA user_version`), read through a
    /// reader connection so it also proves the database answers.
    pub fn schema_version(&self) -> Result<usize, StoreError> {
        self.read(|conn| {
            Ok(conn.pragma_query_value(None, "user_version", |r| r.get::<_, usize>(0))?)
        })
    }

    /// The schema version this build migrates to.
    pub fn latest_schema_version() -> usize {
        MIGRATIONS.len()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with exclusive use of the writer connection.
    ///
    /// A panic in an earlier writer does not poison the store: an open transaction is rolled
    /// back when its `Transaction` is dropped, so the connection is still usable.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        f(&mut conn)
    }

    /// Runs `f` with a reader connection from the pool (opening one if none is idle); the
    /// connection goes back to the pool afterwards, also when `f` fails.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let reader = self.reader()?;
        f(&reader)
    }

    /// An idle reader, a new one while fewer than [`MAX_READERS`] are open, or else the next
    /// one returned.
    fn reader(&self) -> Result<Reader<'_>, StoreError> {
        let mut pool = lock(&self.readers);
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(Reader {
                    store: self,
                    conn: Some(conn),
                });
            }
            if pool.open < MAX_READERS {
                break;
            }
            pool.waiting += 1;
            pool = self
                .reader_freed
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
            pool.waiting -= 1;
        }
        pool.open += 1;
        drop(pool);
        let opened = open_connection(&self.path).and_then(|conn| {
            conn.pragma_update(None, "query_only", true)
                .map_err(|source| self.open_error(source))?;
            Ok(conn)
        });
        match opened {
            Ok(conn) => Ok(Reader {
                store: self,
                conn: Some(conn),
            }),
            Err(error) => {
                self.close_reader();
                Err(error)
            }
        }
    }

    /// Counts one reader fewer open and lets a waiting read open its own.
    fn close_reader(&self) {
        lock(&self.readers).open -= 1;
        self.reader_freed.notify_one();
    }

    fn open_error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Open {
            path: self.path.clone(),
            source,
        }
    }
}

/// A reader connection borrowed from the pool; returned to it on drop.
struct Reader<'a> {
    store: &'a Store,
    conn: Option<Connection>,
}

impl Deref for Reader<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("reader connection present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut pool = lock(&self.store.readers);
            // Kept when a read waits for it or while few are idle; closed otherwise.
            if pool.waiting > 0 || pool.idle.len() < MAX_IDLE_READERS {
                pool.idle.push(conn);
                drop(pool);
                self.store.reader_freed.notify_one();
            } else {
                pool.open -= 1;
                drop(pool);
                drop(conn);
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning (the guarded connections stay consistent; see
/// [`Store::write`]).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Opens one connection and applies the connection pragmas.
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open_error)?;
    configure(&conn).map_err(open_error)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // First, so that switching the journal mode waits for other connections' locks.
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(journal_mode = %mode, "SQLite did not switch to WAL journal mode");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// The database and its WAL files hold the portfolio: readable by their owner only, whatever
/// the umask (systemd sets one; a shell usually leaves them world-readable). SQLite creates
/// `-wal` and `-shm` with the main file's mode, so fixing the main file early covers them; any
/// that exist already are fixed too. A failure (a file system without modes) is logged.
fn restrict_to_owner(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                if let Err(error) =
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                {
                    tracing::warn!(path = %file.display(), %error, "could not make the database private");
                }
            }
            _ => {}
        }
    }
}
