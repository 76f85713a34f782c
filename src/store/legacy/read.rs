//! Reading the legacy databases, never writing to them: which tables and columns, opened
//! read-only (or immutable when no running autoTrader has them open).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use itertools::Itertools;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use super::report::FileReport;
use super::{CALCULATIONS, CONFIG, LEDGER, LegacyError, RATES, STATE};

/// How long a read waits for a running autoTrader's write lock.
const LEGACY_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The legacy files, with what each provides (for "not found, … not imported").
const FILES: [(&str, &str); 5] = [
    (
        CONFIG,
        "securities, allocation targets and groups, settings",
    ),
    (STATE, "positions, quotes, cash"),
    (LEDGER, "trades"),
    (CALCULATIONS, "metrics, scores"),
    (RATES, "FX rates"),
];

/// One table to read: the columns wanted (absent optional ones read as NULL, so older schemas
/// still import) and those without which the table is useless.
struct TableSpec {
    file: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
    required: &'static [&'static str],
    /// ORDER BY (and LIMIT) clause.
    tail: &'static str,
}

const SECURITY_COLUMNS: &[&str] = &[
    "symbol",
    "isin",
    "name",
    "currency",
    "country",
    "industry",
    "min_lot",
    "allow_buy",
    "allow_sell",
    "priority_multiplier",
    "active",
];

const SCORE_COLUMNS: &[&str] = &[
    "symbol",
    "total_score",
    "quality_score",
    "opportunity_score",
    "analyst_score",
    "allocation_fit_score",
    "cagr_score",
    "consistency_score",
    "calculated_at",
];

/// Score columns that become components, with their component names.
pub(super) const SCORE_COMPONENTS: [(&str, &str); 6] = [
    ("quality_score", "quality"),
    ("opportunity_score", "opportunity"),
    ("analyst_score", "analyst"),
    ("allocation_fit_score", "allocation_fit"),
    ("cagr_score", "cagr"),
    ("consistency_score", "consistency"),
];

const TABLES: &[TableSpec] = &[
    TableSpec {
        file: CONFIG,
        table: "securities",
        columns: SECURITY_COLUMNS,
        required: &["symbol"],
        tail: "ORDER BY rowid",
    },
    // The name of the universe table before it became `securities`.
    TableSpec {
        file: CONFIG,
        table: "stocks",
        columns: SECURITY_COLUMNS,
        required: &["symbol"],
        tail: "ORDER BY rowid",
    },
    TableSpec {
        file: CONFIG,
        table: "allocation_targets",
        columns: &["type", "name", "target_pct"],
        required: &["type", "name", "target_pct"],
        tail: "ORDER BY rowid",
    },
    TableSpec {
        file: CONFIG,
        table: "country_groups",
        columns: &["group_name", "country_name"],
        required: &["group_name", "country_name"],
        tail: "ORDER BY rowid",
    },
    TableSpec {
        file: CONFIG,
        table: "industry_groups",
        columns: &["group_name", "industry_name"],
        required: &["group_name", "industry_name"],
        tail: "ORDER BY rowid",
    },
    TableSpec {
        file: CONFIG,
        table: "settings",
        columns: &["key", "value"],
        required: &["key", "value"],
        tail: "ORDER BY key",
    },
    TableSpec {
        file: STATE,
        table: "positions",
        columns: &[
            "symbol",
            "isin",
            "quantity",
            "avg_price",
            "current_price",
            "currency",
            "last_updated",
        ],
        required: &["symbol", "quantity", "avg_price"],
        tail: "ORDER BY symbol",
    },
    TableSpec {
        file: STATE,
        table: "portfolio_snapshots",
        columns: &["date", "cash_balance"],
        required: &["date", "cash_balance"],
        tail: "ORDER BY date DESC LIMIT 1",
    },
    // The older copy of the scores, read when calculations.db has none.
    TableSpec {
        file: STATE,
        table: "scores",
        columns: SCORE_COLUMNS,
        required: &["symbol", "total_score"],
        tail: "ORDER BY symbol",
    },
    TableSpec {
        file: LEDGER,
        table: "trades",
        columns: &[
            "id",
            "symbol",
            "isin",
            "side",
            "quantity",
            "price",
            "executed_at",
            "order_id",
            "currency",
            "currency_rate",
            "value_eur",
        ],
        required: &["id", "symbol", "side", "quantity", "price", "executed_at"],
        tail: "ORDER BY id",
    },
    TableSpec {
        file: CALCULATIONS,
        table: "calculated_metrics",
        columns: &[
            "symbol",
            "metric",
            "value",
            "calculated_at",
            "expires_at",
            "source",
        ],
        required: &["symbol", "metric", "value"],
        tail: "ORDER BY symbol, metric",
    },
    TableSpec {
        file: CALCULATIONS,
        table: "scores",
        columns: SCORE_COLUMNS,
        required: &["symbol", "total_score"],
        tail: "ORDER BY symbol",
    },
    TableSpec {
        file: RATES,
        table: "exchange_rates",
        columns: &[
            "from_currency",
            "to_currency",
            "rate",
            "fetched_at",
            "expires_at",
        ],
        required: &["from_currency", "to_currency", "rate"],
        tail: "ORDER BY from_currency, to_currency",
    },
];

/// One legacy row: the wanted columns by name (NULL when the column does not exist).
pub(super) type Row = HashMap<&'static str, Value>;

/// Everything read from the legacy folder; the files are closed once it is built.
pub(super) struct Legacy {
    pub(super) files: Vec<FileReport>,
    /// (file, table) → the rows, or why they are unavailable.
    tables: HashMap<(&'static str, &'static str), Result<Vec<Row>, String>>,
}

impl Legacy {
    pub(super) fn read(dir: &Path) -> Result<Legacy, LegacyError> {
        let mut files = Vec::new();
        let mut tables = HashMap::new();
        let mut found = 0;
        let mut failures = Vec::new();
        for (name, provides) in FILES {
            let path = dir.join(name);
            let specs: Vec<&TableSpec> = TABLES.iter().filter(|t| t.file == name).collect();
            let unavailable = |why: &str| {
                specs
                    .iter()
                    .map(|t| ((name, t.table), Err(format!("{name}: {why}"))))
                    .collect::<Vec<_>>()
            };
            if !path.is_file() {
                files.push(FileReport {
                    name,
                    status: format!("not found, {provides} not imported"),
                });
                tables.extend(unavailable("not found"));
                continue;
            }
            found += 1;
            match read_file(&path, &specs) {
                Ok((read, remark)) => {
                    let status = match remark {
                        Some(remark) => format!("read ({remark})"),
                        None => "read".to_string(),
                    };
                    files.push(FileReport { name, status });
                    tables.extend(read.into_iter().map(|(table, rows)| ((name, table), rows)));
                }
                Err(why) => {
                    failures.push(format!("{name}: {why}"));
                    files.push(FileReport {
                        name,
                        status: format!("cannot read ({why}), {provides} not imported"),
                    });
                    tables.extend(unavailable("cannot be read"));
                }
            }
        }
        if found == 0 {
            return Err(LegacyError::NoLegacyFiles(dir.to_path_buf()));
        }
        if failures.len() == found {
            return Err(LegacyError::Unreadable {
                dir: dir.to_path_buf(),
                reasons: failures.join("; "),
            });
        }
        Ok(Legacy { files, tables })
    }

    pub(super) fn rows(&self, file: &'static str, table: &'static str) -> Result<&[Row], String> {
        match self.tables.get(&(file, table)) {
            Some(Ok(rows)) => Ok(rows),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("{file}: {table} was not read")),
        }
    }

    /// The rows of a table, handed over to the kind that imports them.
    pub(super) fn take(
        &mut self,
        file: &'static str,
        table: &'static str,
    ) -> Result<Vec<Row>, String> {
        self.tables
            .remove(&(file, table))
            .unwrap_or_else(|| Err(format!("{file}: {table} was not read")))
    }
}

type FileTables = Vec<(&'static str, Result<Vec<Row>, String>)>;

/// Reads the tables of one file; the second value is a remark on how it was read.
fn read_file(path: &Path, specs: &[&TableSpec]) -> Result<(FileTables, Option<String>), String> {
    if has_sidecars(path) {
        return match open_legacy(path, false).and_then(|conn| read_tables(conn, specs)) {
            Ok(tables) => Ok((tables, None)),
            // Typically a read-only folder where the -shm cannot be created or mapped.
            Err(error) => match open_legacy(path, true).and_then(|conn| read_tables(conn, specs)) {
                Ok(tables) => Ok((
                    tables,
                    Some(format!(
                        "without its WAL ({error}): changes autoTrader has not checkpointed \
                         are missing"
                    )),
                )),
                Err(_) => Err(error.to_string()),
            },
        };
    }
    let tables = open_legacy(path, true)
        .and_then(|conn| read_tables(conn, specs))
        .map_err(|e| e.to_string())?;
    if has_sidecars(path) {
        // A writer opened the file while it was read without locks: read it again through
        // the WAL (which now exists, so nothing is created).
        let tables = open_legacy(path, false)
            .and_then(|conn| read_tables(conn, specs))
            .map_err(|e| e.to_string())?;
        return Ok((tables, None));
    }
    Ok((tables, None))
}

/// Whether SQLite's companion files exist, i.e. a connection is (or was, until a crash) open.
fn has_sidecars(path: &Path) -> bool {
    ["-wal", "-shm", "-journal"].iter().any(|suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        Path::new(&name).exists()
    })
}

/// What the path part of a `file:` URI percent-encodes: everything but unreserved characters
/// and `/`, so `?`, `#` and `%` in a folder name cannot end the path.
const URI_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Opens a legacy file read-only through a `file:` URI; `immutable` skips locking and the WAL.
fn open_legacy(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    open_read_only(path, immutable, LEGACY_BUSY_TIMEOUT)
}

/// Reads one table of [`TABLES`] from a file that a running service writes to: opened
/// read-only (never immutable: the writer's changes must be seen whole), in one short read
/// transaction, waiting at most `busy` for the writer's lock. The connection is closed before
/// this returns, so the writer is never held up for longer than the read.
pub(super) fn read_live_table(
    path: &Path,
    file: &'static str,
    table: &'static str,
    busy: Duration,
) -> Result<Vec<Row>, String> {
    let spec = TABLES
        .iter()
        .find(|t| t.file == file && t.table == table)
        .ok_or_else(|| format!("{file}: {table} is not a known table"))?;
    let conn = open_read_only(path, false, busy).map_err(|e| e.to_string())?;
    let mut tables = read_tables(conn, &[spec]).map_err(|e| e.to_string())?;
    tables.pop().map_or_else(
        || Err(format!("{file}: {table} was not read")),
        |(_, rows)| rows,
    )
}

/// Opens a file read-only through a `file:` URI, waiting at most `busy` on another
/// connection's lock.
fn open_read_only(path: &Path, immutable: bool, busy: Duration) -> rusqlite::Result<Connection> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let path = percent_encode(absolute.as_os_str().as_encoded_bytes(), URI_PATH);
    let mut uri = format!("file:{path}?mode=ro");
    if immutable {
        uri.push_str("&immutable=1");
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags)?;
    conn.busy_timeout(busy)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Reads every table of `specs` in one read transaction, so they come from one snapshot.
fn read_tables(mut conn: Connection, specs: &[&TableSpec]) -> rusqlite::Result<FileTables> {
    let tx = conn.transaction()?;
    // The first read reports a file that is not a database, before per-table reasons.
    tx.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    let mut out = Vec::new();
    for spec in specs {
        out.push((spec.table, read_table(&tx, spec)?));
    }
    Ok(out)
}

fn read_table(conn: &Connection, spec: &TableSpec) -> rusqlite::Result<Result<Vec<Row>, String>> {
    let present: Vec<String> = {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let names = stmt.query_map([spec.table], |r| r.get::<_, String>(0))?;
        names.collect::<Result<_, _>>()?
    };
    if present.is_empty() {
        return Ok(Err(format!("{} has no table {}", spec.file, spec.table)));
    }
    let has = |column: &str| present.iter().any(|p| p.eq_ignore_ascii_case(column));
    let missing: Vec<&str> = spec.required.iter().copied().filter(|c| !has(c)).collect();
    if !missing.is_empty() {
        return Ok(Err(format!(
            "{}: table {} lacks the column(s) {}",
            spec.file,
            spec.table,
            missing.join(", ")
        )));
    }
    let select = spec
        .columns
        .iter()
        .map(|&c| {
            if has(c) {
                format!("\"{c}\"")
            } else {
                format!("NULL AS \"{c}\"")
            }
        })
        .join(", ");
    let sql = format!("SELECT {} FROM \"{}\" {}", select, spec.table, spec.tail);
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        let mut row = Row::new();
        for (i, &column) in spec.columns.iter().enumerate() {
            row.insert(column, r.get::<_, Value>(i)?);
        }
        Ok(row)
    })?;
    Ok(Ok(rows.collect::<Result<_, _>>()?))
}
