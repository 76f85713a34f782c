//! Import of an autoTrader data folder (external contracts §4): the universe, targets and
//! settings of `config.db`, the holdings and cash of `state.db`, the trades of `ledger.db`, the
//! metrics and scores of `calculations.db` and the FX rates of `rates.db`.
//!
//! The legacy files are only ever read. A running autoTrader holds them in WAL mode, and
//! SQLite's `mode=ro` creates (and leaves behind) the `-wal` and `-shm` files when they do not
//! exist, so a file without them is opened `immutable=1` instead: without those files no
//! connection is open on it, and the main file alone holds every committed row. When they
//! exist, the normal read-only open reads through the WAL, so rows a running autoTrader has
//! not checkpointed yet are seen.
//!
//! Every kind is converted completely before anything of it is written, and each kind is
//! written by one store call (one transaction), so a bad row is skipped with a reason instead
//! of leaving a kind half imported. Trades are the exception: they are recorded one by one, but
//! idempotently, so running the import again records no trade twice and completes a run that
//! failed halfway.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::{
    AllocationGroup, AllocationTarget, AllowEmpty, MetricRecord, NewTrade, PositionRecord,
    QuoteRecord, ScoreRecord, SecurityRecord, Store, StoreError, TargetKind, TradeSource, now_iso,
};
use crate::domain::{Currency, Decimal, FxRate, Money, Quantity, Side, normalize_symbol};

/// The `source` recorded for imported rows and in `data_freshness`.
const IMPORT_SOURCE: &str = "import";

/// The `data_freshness` source of the demo dataset a first `serve` loads (`crate::demo`).
const DEMO_SOURCE: &str = "demo";

/// Sources whose data an import replaces: an earlier import and the demo dataset. Data from
/// any other source came from a live sync, and for holdings and cash that is the truth.
const REPLACEABLE_SOURCES: [&str; 2] = [IMPORT_SOURCE, DEMO_SOURCE];

/// At most this many skipped rows are listed per kind; the rest are only counted.
const MAX_EXAMPLES: usize = 10;

/// How long a read waits for a running autoTrader's write lock.
const LEGACY_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Decimal places of a rate computed as the inverse of a legacy rate.
const INVERSE_PLACES: u32 = 12;

/// Relative difference above which two FX figures that should agree are reported.
const FX_TOLERANCE: f64 = 0.02;

const CONFIG: &str = "config.db";
const STATE: &str = "state.db";
const LEDGER: &str = "ledger.db";
const CALCULATIONS: &str = "calculations.db";
const RATES: &str = "rates.db";

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

/// Errors that stop the import. Missing files, tables and bad rows are not errors: they are
/// listed in the [`LegacyReport`].
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("{0} is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "{0} holds none of the autoTrader files (config.db, state.db, ledger.db, \
         calculations.db, rates.db)"
    )]
    NoLegacyFiles(PathBuf),
    #[error("none of the autoTrader files in {dir} could be read: {reasons}")]
    Unreadable { dir: PathBuf, reasons: String },
    /// Writing one kind failed; it was rolled back, and the kinds before it stay imported.
    #[error("importing the {kind} failed (kinds before it were imported): {source}")]
    Store {
        kind: &'static str,
        #[source]
        source: StoreError,
    },
}

/// A kind of data the import loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LegacyKind {
    Securities,
    AllocationTargets,
    AllocationGroups,
    Settings,
    FxRates,
    Positions,
    Quotes,
    Cash,
    Trades,
    Metrics,
    Scores,
}

impl LegacyKind {
    pub const ALL: [LegacyKind; 11] = [
        LegacyKind::Securities,
        LegacyKind::AllocationTargets,
        LegacyKind::AllocationGroups,
        LegacyKind::Settings,
        LegacyKind::FxRates,
        LegacyKind::Positions,
        LegacyKind::Quotes,
        LegacyKind::Cash,
        LegacyKind::Trades,
        LegacyKind::Metrics,
        LegacyKind::Scores,
    ];

    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            LegacyKind::Securities => "securities",
            LegacyKind::AllocationTargets => "allocation targets",
            LegacyKind::AllocationGroups => "allocation groups",
            LegacyKind::Settings => "settings",
            LegacyKind::FxRates => "fx rates",
            LegacyKind::Positions => "positions",
            LegacyKind::Quotes => "quotes",
            LegacyKind::Cash => "cash",
            LegacyKind::Trades => "trades",
            LegacyKind::Metrics => "metrics",
            LegacyKind::Scores => "scores",
        }
    }

    /// Its key in `data_freshness`.
    pub fn freshness_key(self) -> &'static str {
        match self {
            LegacyKind::Securities => "securities",
            LegacyKind::AllocationTargets | LegacyKind::AllocationGroups => "targets",
            LegacyKind::Settings => "settings",
            LegacyKind::FxRates => "fx",
            LegacyKind::Positions => "positions",
            LegacyKind::Quotes => "quotes",
            LegacyKind::Cash => "cash",
            LegacyKind::Trades => "trades",
            LegacyKind::Metrics => "metrics",
            LegacyKind::Scores => "scores",
        }
    }
}

/// What happened to one legacy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub name: &'static str,
    /// "read", "not found, … not imported", "cannot read: …", possibly with a remark.
    pub status: String,
}

/// What was taken and skipped of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindReport {
    pub kind: LegacyKind,
    /// Why nothing of this kind could be read (missing file or table), if so.
    pub unavailable: Option<String>,
    /// Rows written (for trades: newly recorded).
    pub taken: usize,
    /// Trades that an earlier import or a broker sync had already recorded.
    pub already_imported: usize,
    /// Rows left out.
    pub skipped: usize,
    /// "what: why" for the first [`MAX_EXAMPLES`] skipped rows.
    pub skip_examples: Vec<String>,
    pub notes: Vec<String>,
}

impl KindReport {
    fn new(kind: LegacyKind) -> KindReport {
        KindReport {
            kind,
            unavailable: None,
            taken: 0,
            already_imported: 0,
            skipped: 0,
            skip_examples: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn skip(&mut self, what: impl fmt::Display, why: impl fmt::Display) {
        self.skip_many(1, what, why);
    }

    fn skip_many(&mut self, count: usize, what: impl fmt::Display, why: impl fmt::Display) {
        self.skipped += count;
        if self.skip_examples.len() < MAX_EXAMPLES {
            self.skip_examples.push(format!("{what}: {why}"));
        }
    }

    fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }
}

/// What [`import_legacy`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyReport {
    pub dir: PathBuf,
    pub files: Vec<FileReport>,
    /// One entry per [`LegacyKind`], in [`LegacyKind::ALL`] order.
    pub kinds: Vec<KindReport>,
}

impl LegacyReport {
    pub fn kind(&self, kind: LegacyKind) -> &KindReport {
        self.kinds
            .iter()
            .find(|k| k.kind == kind)
            .expect("the report lists every kind")
    }

    fn kind_mut(&mut self, kind: LegacyKind) -> &mut KindReport {
        self.kinds
            .iter_mut()
            .find(|k| k.kind == kind)
            .expect("the report lists every kind")
    }
}

impl fmt::Display for LegacyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "autoTrader import from {}", self.dir.display())?;
        writeln!(f)?;
        for file in &self.files {
            writeln!(f, "  {:<16} {}", file.name, file.status)?;
        }
        writeln!(f)?;
        writeln!(f, "  {:<20} {:>6} {:>8}", "kind", "taken", "skipped")?;
        for k in &self.kinds {
            let (taken, skipped, remark) = match &k.unavailable {
                Some(why) => ("-".to_string(), "-".to_string(), why.clone()),
                None => {
                    let remark = if k.kind == LegacyKind::Trades {
                        format!("{} new, {} already imported", k.taken, k.already_imported)
                    } else {
                        String::new()
                    };
                    (k.taken.to_string(), k.skipped.to_string(), remark)
                }
            };
            let line = format!("  {:<20} {taken:>6} {skipped:>8}  {remark}", k.kind.label());
            writeln!(f, "{}", line.trim_end())?;
        }
        let skipped: Vec<&KindReport> = self.kinds.iter().filter(|k| k.skipped > 0).collect();
        if !skipped.is_empty() {
            writeln!(f)?;
            writeln!(f, "skipped:")?;
            for k in skipped {
                for example in &k.skip_examples {
                    writeln!(f, "  {}: {example}", k.kind.label())?;
                }
                let unlisted = k.skipped.saturating_sub(k.skip_examples.len());
                if unlisted > 0 {
                    writeln!(f, "  {}: … and {unlisted} more", k.kind.label())?;
                }
            }
        }
        if self.kinds.iter().any(|k| !k.notes.is_empty()) {
            writeln!(f)?;
            writeln!(f, "notes:")?;
            for k in &self.kinds {
                for note in &k.notes {
                    writeln!(f, "  {}: {note}", k.kind.label())?;
                }
            }
        }
        Ok(())
    }
}

/// Reads the autoTrader files in `dir` (never writing to them) and loads what the planner needs
/// into `store`. Missing files and tables, and rows that cannot be used, are reported, not
/// fatal; a folder with none of the files is an error.
pub fn import_legacy(store: &Store, dir: &Path) -> Result<LegacyReport, LegacyError> {
    if !dir.is_dir() {
        return Err(LegacyError::NotADirectory(dir.to_path_buf()));
    }
    let legacy = Legacy::read(dir)?;
    let mut import = Import {
        store,
        now: now_iso(),
        report: LegacyReport {
            dir: dir.to_path_buf(),
            files: legacy.files.clone(),
            kinds: LegacyKind::ALL.into_iter().map(KindReport::new).collect(),
        },
        legacy,
    };
    import.securities()?;
    import.allocation_targets()?;
    import.allocation_groups()?;
    import.settings()?;
    import.fx_rates()?;
    import.positions_and_quotes()?;
    import.cash()?;
    import.trades()?;
    import.metrics()?;
    import.scores()?;
    import.check_fx_coverage()?;
    Ok(import.report)
}

// ---------------------------------------------------------------------------------------------
// Reading

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
const SCORE_COMPONENTS: [(&str, &str); 6] = [
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
type Row = HashMap<&'static str, Value>;

/// Everything read from the legacy folder; the files are closed once it is built.
struct Legacy {
    files: Vec<FileReport>,
    /// (file, table) → the rows, or why they are unavailable.
    tables: HashMap<(&'static str, &'static str), Result<Vec<Row>, String>>,
}

impl Legacy {
    fn read(dir: &Path) -> Result<Legacy, LegacyError> {
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

    fn rows(&self, file: &'static str, table: &'static str) -> Result<&[Row], String> {
        match self.tables.get(&(file, table)) {
            Some(Ok(rows)) => Ok(rows),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("{file}: {table} was not read")),
        }
    }

    /// The rows of a table, handed over to the kind that imports them.
    fn take(&mut self, file: &'static str, table: &'static str) -> Result<Vec<Row>, String> {
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

/// Opens a legacy file read-only through a `file:` URI; `immutable` skips locking and the WAL.
fn open_legacy(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = format!("file:{}?mode=ro", percent_encode(&absolute));
    if immutable {
        uri.push_str("&immutable=1");
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags)?;
    conn.busy_timeout(LEGACY_BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// The path as the path part of a `file:` URI: everything but unreserved characters and `/`
/// percent-encoded, so `?`, `#` and `%` in a folder name cannot end the path.
fn percent_encode(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    let select: Vec<String> = spec
        .columns
        .iter()
        .map(|&c| {
            if has(c) {
                format!("\"{c}\"")
            } else {
                format!("NULL AS \"{c}\"")
            }
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM \"{}\" {}",
        select.join(", "),
        spec.table,
        spec.tail
    );
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

// ---------------------------------------------------------------------------------------------
// Values as the reference's dynamically typed columns may hold them

fn value<'a>(row: &'a Row, column: &str) -> &'a Value {
    row.get(column).unwrap_or(&Value::Null)
}

/// Trimmed text; NULL, empty and blobs are `None`.
fn text(row: &Row, column: &str) -> Option<String> {
    let text = match value(row, column) {
        Value::Text(t) => t.trim().to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format!("{f:?}"),
        Value::Null | Value::Blob(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

fn real(row: &Row, column: &str) -> Option<f64> {
    match value(row, column) {
        Value::Integer(i) => Some(*i as f64),
        Value::Real(f) => Some(*f),
        Value::Text(t) => t.trim().parse().ok(),
        Value::Null | Value::Blob(_) => None,
    }
}

fn integer(row: &Row, column: &str) -> Option<i64> {
    match value(row, column) {
        Value::Integer(i) => Some(*i),
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
        Value::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// A 0/1 column; NULL or an unreadable value means the column's default.
fn flag(row: &Row, column: &str, default: bool) -> bool {
    match value(row, column) {
        Value::Integer(i) => *i != 0,
        Value::Real(f) => *f != 0.0,
        Value::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "1.0" | "true" | "yes" => true,
            "0" | "0.0" | "false" | "no" => false,
            _ => default,
        },
        Value::Null | Value::Blob(_) => default,
    }
}

/// An exact decimal of a REAL column: the shortest decimal that reads back as the stored
/// double, so 0.5 stays 0.5 and 690.0 stays 690.
fn decimal(row: &Row, column: &str) -> Result<Option<Decimal>, String> {
    let parsed = match value(row, column) {
        Value::Null => return Ok(None),
        Value::Integer(i) => Ok(Decimal::from_i64(*i)),
        Value::Real(f) => Decimal::from_f64(*f),
        Value::Text(t) if t.trim().is_empty() => return Ok(None),
        Value::Text(t) => t.trim().parse::<Decimal>().or_else(|_| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| crate::domain::MoneyError::InvalidDecimal(t.clone()))
                .and_then(Decimal::from_f64)
        }),
        Value::Blob(_) => return Err(format!("{column} is not a number")),
    };
    parsed
        .map(Some)
        .map_err(|e| format!("{column} {:?}: {e}", value(row, column)))
}

fn currency(code: &str) -> Result<Currency, String> {
    Currency::from_legacy_code(code).map_err(|_| format!("unknown currency {code:?}"))
}

/// `1 / value`, rounded half-even to [`INVERSE_PLACES`] places.
fn inverse(value: Decimal) -> Option<Decimal> {
    if !value.is_positive() {
        return None;
    }
    // 1 / (m / 10^s) = 10^s / m, in units of 10^-INVERSE_PLACES.
    let numerator = 10i128.checked_pow(value.scale() + INVERSE_PLACES)?;
    let m = value.mantissa();
    let (q, r) = (numerator / m, numerator % m);
    let up = r > m - r || (r == m - r && q % 2 != 0);
    Decimal::new(if up { q + 1 } else { q }, INVERSE_PLACES).ok()
}

/// "1 trade", "3 trades".
fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= FX_TOLERANCE * a.abs().max(b.abs())
}

// ---------------------------------------------------------------------------------------------
// Converting and writing, one kind at a time

struct Import<'a> {
    store: &'a Store,
    legacy: Legacy,
    now: String,
    report: LegacyReport,
}

/// A store result, with the kind it was writing or reading for when it failed.
fn store_result<T>(kind: LegacyKind, result: Result<T, StoreError>) -> Result<T, LegacyError> {
    result.map_err(|source| LegacyError::Store {
        kind: kind.label(),
        source,
    })
}

impl Import<'_> {
    fn finish(&mut self, report: KindReport, written: bool) -> Result<(), LegacyError> {
        let kind = report.kind;
        if written {
            store_result(
                kind,
                self.store
                    .mark_refreshed(kind.freshness_key(), IMPORT_SOURCE, &self.now),
            )?;
        }
        *self.report.kind_mut(kind) = report;
        Ok(())
    }

    /// The rows of a table, or `None` after recording why the kind is unavailable.
    fn rows_or_unavailable(
        &mut self,
        report: &mut KindReport,
        file: &'static str,
        table: &'static str,
    ) -> Option<Vec<Row>> {
        match self.legacy.take(file, table) {
            Ok(rows) => Some(rows),
            Err(why) => {
                report.unavailable = Some(why);
                None
            }
        }
    }

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

    fn securities(&mut self) -> Result<(), LegacyError> {
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

    fn allocation_targets(&mut self) -> Result<(), LegacyError> {
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

    fn allocation_groups(&mut self) -> Result<(), LegacyError> {
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

    fn settings(&mut self) -> Result<(), LegacyError> {
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
            if key == super::keys::TRADING_MODE
                && value.trim().eq_ignore_ascii_case("live")
                && current_mode != super::TradingMode::Live
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

    fn fx_rates(&mut self) -> Result<(), LegacyError> {
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

    /// Where and when `kind` was last synced, if that was a live sync (e.g. from the broker),
    /// whose data is the truth and must not be replaced by older legacy rows.
    fn synced_elsewhere(&self, kind: LegacyKind) -> Result<Option<String>, LegacyError> {
        let freshness = store_result(kind, self.store.data_freshness(kind.freshness_key()))?;
        Ok(freshness
            .filter(|f| !REPLACEABLE_SOURCES.contains(&f.source.as_str()))
            .map(|f| format!("{} at {}", f.source, f.refreshed_at)))
    }

    fn positions_and_quotes(&mut self) -> Result<(), LegacyError> {
        let mut positions_report = KindReport::new(LegacyKind::Positions);
        let mut quotes_report = KindReport::new(LegacyKind::Quotes);
        let Some(rows) = self.rows_or_unavailable(&mut positions_report, STATE, "positions") else {
            quotes_report.unavailable = positions_report.unavailable.clone();
            self.finish(quotes_report, false)?;
            return self.finish(positions_report, false);
        };
        let known: HashMap<String, Currency> =
            store_result(LegacyKind::Positions, self.store.securities())?
                .into_iter()
                .map(|s| (s.symbol, s.currency))
                .collect();
        let mut seen = BTreeSet::new();
        let mut positions = Vec::new();
        let mut stubs = Vec::new();
        let mut quote_rows = Vec::new();
        for row in &rows {
            let Some(symbol) = text(row, "symbol").map(|s| normalize_symbol(&s)) else {
                positions_report.skip("a row", "no symbol");
                continue;
            };
            if !seen.insert(symbol.clone()) {
                positions_report.skip(&symbol, "appears twice (symbols compared upper case)");
                continue;
            }
            match position(row, &symbol, &known) {
                Ok((record, note)) => {
                    if let Some(note) = note {
                        positions_report.note(note);
                    }
                    if !known.contains_key(&symbol) {
                        stubs.push(SecurityRecord {
                            isin: text(row, "isin"),
                            // Nothing is known about it beyond the holding: do not buy more.
                            allow_buy: false,
                            ..SecurityRecord::new(&symbol, &symbol, record.currency)
                        });
                    }
                    quote_rows.push((row, record.currency));
                    positions.push(record);
                }
                Err(why) => positions_report.skip(&symbol, why),
            }
        }
        let mut positions_written = false;
        if let Some(source) = self.synced_elsewhere(LegacyKind::Positions)? {
            positions_report.skip_many(
                positions.len(),
                format!("all {} positions", positions.len()),
                format!(
                    "the database holds positions synced from {source}; the broker's are the \
                     truth"
                ),
            );
        } else if positions.is_empty() {
            positions_report.note("no usable positions in state.db; the stored ones were kept");
        } else {
            if !stubs.is_empty() {
                let added = self.store.insert_missing_securities(&stubs);
                store_result(LegacyKind::Positions, added)?;
                let symbols: Vec<&str> = stubs
                    .iter()
                    .take(MAX_EXAMPLES)
                    .map(|s| s.symbol.as_str())
                    .collect();
                positions_report.note(format!(
                    "added {} held but not in config.db, not buyable: {}",
                    plural(stubs.len(), "security", "securities"),
                    symbols.join(", ")
                ));
            }
            let written = self.store.replace_positions(&positions, AllowEmpty::No);
            store_result(LegacyKind::Positions, written)?;
            positions_report.taken = positions.len();
            positions_written = true;
        }
        self.finish(positions_report, positions_written)?;

        let stored_quotes: HashMap<String, String> =
            store_result(LegacyKind::Quotes, self.store.quotes())?
                .into_iter()
                .map(|q| (q.symbol, q.as_of))
                .collect();
        let mut quotes = Vec::new();
        for (row, currency) in quote_rows {
            let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
            let price = match decimal(row, "current_price") {
                Ok(Some(p)) if p.is_positive() => p,
                Ok(Some(p)) => {
                    quotes_report.skip(&symbol, format!("current price {p} is not positive"));
                    continue;
                }
                Ok(None) => {
                    quotes_report.skip(&symbol, "no current price");
                    continue;
                }
                Err(why) => {
                    quotes_report.skip(&symbol, why);
                    continue;
                }
            };
            let as_of = text(row, "last_updated").unwrap_or_else(|| self.now.clone());
            if let Some(stored) = stored_quotes.get(&symbol)
                && *stored > as_of
            {
                quotes_report.skip(
                    &symbol,
                    format!("the stored quote (as of {stored}) is newer"),
                );
                continue;
            }
            quotes.push(QuoteRecord {
                symbol,
                price,
                currency,
                as_of,
                source: IMPORT_SOURCE.to_string(),
            });
        }
        quotes_report.taken = quotes.len();
        if quotes.is_empty() {
            return self.finish(quotes_report, false);
        }
        let written = self.store.put_quotes(&quotes);
        store_result(LegacyKind::Quotes, written)?;
        self.finish(quotes_report, true)
    }

    fn cash(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Cash);
        let Some(rows) = self.rows_or_unavailable(&mut report, STATE, "portfolio_snapshots") else {
            return self.finish(report, false);
        };
        let Some(latest) = rows.first() else {
            report.note("state.db has no portfolio snapshot, so no cash balance");
            return self.finish(report, false);
        };
        let date = text(latest, "date").unwrap_or_default();
        let what = format!("snapshot {date}");
        let balance = match decimal(latest, "cash_balance") {
            Ok(Some(amount)) => Money::from_decimal_rounded(amount, Currency::EUR),
            Ok(None) => {
                report.skip(what, "no cash_balance");
                return self.finish(report, false);
            }
            Err(why) => {
                report.skip(what, why);
                return self.finish(report, false);
            }
        };
        let balance = match balance {
            Ok(balance) => balance,
            Err(e) => {
                report.skip(what, e);
                return self.finish(report, false);
            }
        };
        // The snapshot holds one EUR total of every currency: adding it to balances synced
        // from the broker would count cash twice.
        let stored = store_result(LegacyKind::Cash, self.store.cash_balances())?;
        let freshness = self.store.data_freshness(LegacyKind::Cash.freshness_key());
        let freshness = store_result(LegacyKind::Cash, freshness)?;
        let replaceable = freshness
            .as_ref()
            .is_some_and(|f| REPLACEABLE_SOURCES.contains(&f.source.as_str()));
        if !stored.is_empty() && !replaceable {
            let source = freshness.map_or_else(
                || "an unknown source".to_string(),
                |f| format!("{} at {}", f.source, f.refreshed_at),
            );
            report.skip(
                what,
                format!(
                    "the database already holds cash balances (from {source}); the \
                     snapshot's EUR total was not imported so cash is not counted twice"
                ),
            );
            return self.finish(report, false);
        }
        let written = self.store.replace_cash_balances(&[balance], AllowEmpty::No);
        store_result(LegacyKind::Cash, written)?;
        report.taken = 1;
        report.note(format!(
            "{balance} is the EUR total of all currencies in autoTrader's latest portfolio \
             snapshot ({date}), its fallback when the broker is unreachable; the next broker \
             sync replaces it with per-currency balances"
        ));
        if balance.is_negative() {
            report.note("the imported cash balance is negative; nothing will be bought with it");
        }
        self.finish(report, true)
    }

    fn trades(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Trades);
        let Some(rows) = self.rows_or_unavailable(&mut report, LEDGER, "trades") else {
            return self.finish(report, false);
        };
        let currencies: HashMap<String, Currency> =
            store_result(LegacyKind::Trades, self.store.securities())?
                .into_iter()
                .map(|s| (s.symbol, s.currency))
                .collect();
        let mut trades = Vec::new();
        let mut fx_dropped = Vec::new();
        for row in &rows {
            let id = text(row, "id").unwrap_or_default();
            let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
            let what = format!("ledger id {id} ({symbol})");
            match trade(row, &id, &symbol, &currencies) {
                Ok((trade, fx_note)) => {
                    if let Some(note) = fx_note {
                        fx_dropped.push(format!("{what}: {note}"));
                    }
                    trades.push(trade);
                }
                Err(why) => report.skip(what, why),
            }
        }
        if let Some(first) = fx_dropped.first() {
            report.note(format!(
                "the currency_rate of {} did not match value_eur and was left out (e.g. \
                 {first})",
                plural(fx_dropped.len(), "trade", "trades")
            ));
        }
        // One call per trade: record_trade is idempotent (order id or key), so if a write
        // fails halfway, importing again records exactly the missing ones.
        for trade in &trades {
            let recorded = self.store.record_trade(trade);
            if store_result(LegacyKind::Trades, recorded)?.was_inserted() {
                report.taken += 1;
            } else {
                report.already_imported += 1;
            }
        }
        let written = !trades.is_empty();
        self.finish(report, written)
    }

    fn metrics(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Metrics);
        let Some(rows) = self.rows_or_unavailable(&mut report, CALCULATIONS, "calculated_metrics")
        else {
            return self.finish(report, false);
        };
        let stored_times = store_result(LegacyKind::Metrics, self.store.metric_times())?;
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        let mut expired = 0;
        for row in &rows {
            let symbol = normalize_symbol(&text(row, "symbol").unwrap_or_default());
            let metric = text(row, "metric").unwrap_or_default();
            let what = format!("{symbol} {metric}");
            if symbol.is_empty() || metric.is_empty() {
                report.skip(what, "no symbol or metric name");
                continue;
            }
            if !seen.insert((symbol.clone(), metric.clone())) {
                report.skip(what, "appears twice (symbols compared upper case)");
                continue;
            }
            let value = match real(row, "value") {
                Some(v) if v.is_finite() => v,
                _ => {
                    report.skip(what, "value is not a finite number");
                    continue;
                }
            };
            let calculated_at = text(row, "calculated_at").unwrap_or_else(|| self.now.clone());
            if let Some(stored) = stored_times.get(&(symbol.clone(), metric.clone()))
                && *stored > calculated_at
            {
                report.skip(what, format!("the stored value (of {stored}) is newer"));
                continue;
            }
            let expires_at = text(row, "expires_at");
            if expires_at.as_ref().is_some_and(|e| *e <= self.now) {
                expired += 1;
            }
            records.push(MetricRecord {
                symbol,
                metric,
                value,
                calculated_at,
                expires_at,
                source: text(row, "source").unwrap_or_else(|| "calculated".to_string()),
            });
        }
        if expired > 0 {
            report.note(format!(
                "{} had expired already; kept with their expiry, so the \
                 planner treats them as missing until they are recalculated",
                plural(expired, "metric", "metrics")
            ));
        }
        report.taken = records.len();
        if records.is_empty() {
            return self.finish(report, false);
        }
        let written = self.store.put_metrics(&records);
        store_result(LegacyKind::Metrics, written)?;
        self.finish(report, true)
    }

    fn scores(&mut self) -> Result<(), LegacyError> {
        let mut report = KindReport::new(LegacyKind::Scores);
        let rows = match self.legacy.take(CALCULATIONS, "scores") {
            Ok(rows) => rows,
            Err(why) => match self.legacy.take(STATE, "scores") {
                Ok(rows) => {
                    report.note(format!("{why}; read the older copy in state.db"));
                    rows
                }
                Err(_) => {
                    report.unavailable = Some(why);
                    return self.finish(report, false);
                }
            },
        };
        let stored: HashMap<String, String> =
            store_result(LegacyKind::Scores, self.store.scores())?
                .into_iter()
                .map(|s| (s.symbol, s.calculated_at))
                .collect();
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        for row in &rows {
            let Some(symbol) = text(row, "symbol").map(|s| normalize_symbol(&s)) else {
                report.skip("a row", "no symbol");
                continue;
            };
            if !seen.insert(symbol.clone()) {
                report.skip(&symbol, "appears twice (symbols compared upper case)");
                continue;
            }
            let Some(total_score) = real(row, "total_score").filter(|t| t.is_finite()) else {
                report.skip(&symbol, "no total score");
                continue;
            };
            let components = SCORE_COMPONENTS
                .iter()
                .filter_map(|&(column, name)| {
                    real(row, column)
                        .filter(|v| v.is_finite())
                        .map(|v| (name.to_string(), v))
                })
                .collect();
            let calculated_at = text(row, "calculated_at").unwrap_or_else(|| self.now.clone());
            if let Some(stored_at) = stored.get(&symbol)
                && *stored_at > calculated_at
            {
                report.skip(
                    &symbol,
                    format!("the stored score (of {stored_at}) is newer"),
                );
                continue;
            }
            records.push(ScoreRecord {
                symbol,
                total_score,
                components,
                calculated_at,
            });
        }
        report.taken = records.len();
        if records.is_empty() {
            return self.finish(report, false);
        }
        let written = self.store.put_scores(&records);
        store_result(LegacyKind::Scores, written)?;
        self.finish(report, true)
    }

    /// Notes the currencies that positions or active securities use but that have no rate:
    /// their values cannot be converted to EUR until one is synced.
    fn check_fx_coverage(&mut self) -> Result<(), LegacyError> {
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

/// A position of a legacy row, with a remark when its currency differs from its security's.
fn position(
    row: &Row,
    symbol: &str,
    known: &HashMap<String, Currency>,
) -> Result<(PositionRecord, Option<String>), String> {
    let quantity = decimal(row, "quantity")?.ok_or("no quantity")?;
    if quantity.is_zero() {
        return Err("zero quantity".to_string());
    }
    let quantity = Quantity::new(quantity).map_err(|_| format!("negative quantity {quantity}"))?;
    let avg_price = decimal(row, "avg_price")?.ok_or("no average price")?;
    if avg_price.is_negative() {
        return Err(format!("negative average price {avg_price}"));
    }
    let currency = match text(row, "currency") {
        Some(code) => currency(&code)?,
        None => *known.get(symbol).ok_or("no currency")?,
    };
    let note = known
        .get(symbol)
        .filter(|&&c| c != currency)
        .map(|c| format!("{symbol}: the position is in {currency} but the security trades in {c}"));
    Ok((
        PositionRecord {
            symbol: symbol.to_string(),
            quantity,
            avg_price,
            currency,
        },
        note,
    ))
}

/// A trade of a legacy ledger row, with a remark when its currency_rate was left out.
fn trade(
    row: &Row,
    id: &str,
    symbol: &str,
    currencies: &HashMap<String, Currency>,
) -> Result<(NewTrade, Option<String>), String> {
    if symbol.is_empty() {
        return Err("no symbol".to_string());
    }
    let side = match text(row, "side").map(|s| s.to_ascii_uppercase()).as_deref() {
        Some("BUY") => Side::Buy,
        Some("SELL") => Side::Sell,
        other => return Err(format!("unknown side {:?}", other.unwrap_or(""))),
    };
    let quantity = decimal(row, "quantity")?.ok_or("no quantity")?;
    if quantity.is_zero() {
        return Err("zero quantity".to_string());
    }
    let quantity = Quantity::new(quantity).map_err(|_| format!("negative quantity {quantity}"))?;
    let price = decimal(row, "price")?.ok_or("no price")?;
    if price.is_negative() {
        return Err(format!("negative price {price}"));
    }
    let currency = match text(row, "currency") {
        Some(code) => currency(&code)?,
        None => *currencies
            .get(symbol)
            .ok_or("no currency, and its security is unknown")?,
    };
    let executed_at = text(row, "executed_at").ok_or("no execution time")?;
    let order_id = text(row, "order_id");
    let (fx_per_eur, fx_note) = trade_rate(row, currency, quantity, price);
    Ok((
        NewTrade {
            symbol: symbol.to_string(),
            isin: text(row, "isin"),
            side,
            quantity,
            price,
            currency,
            fx_per_eur,
            executed_at,
            source: TradeSource::Import,
            // Without a broker order id, the legacy row id keeps a second import from
            // recording the trade again.
            idempotency_key: order_id.is_none().then(|| format!("legacy-ledger-{id}")),
            order_id,
        },
        fx_note,
    ))
}

/// The trade's `currency_rate` (1 EUR = rate units, like positions) when it is believable:
/// it must agree with `value_eur` when that is known, and a rate of exactly 1 for a foreign
/// currency is the reference's placeholder, not a rate.
fn trade_rate(
    row: &Row,
    currency: Currency,
    quantity: Quantity,
    price: Decimal,
) -> (Option<Decimal>, Option<String>) {
    if currency == Currency::EUR {
        return (None, None);
    }
    let Some(rate) = real(row, "currency_rate").filter(|r| r.is_finite() && *r > 0.0) else {
        return (None, None);
    };
    let native = quantity.as_decimal().to_f64() * price.to_f64();
    if let Some(value_eur) = real(row, "value_eur").filter(|v| v.is_finite() && *v > 0.0)
        && native > 0.0
    {
        let implied = native / value_eur;
        if !close(rate, implied) {
            let remark = if close(1.0 / rate, implied) {
                " (its inverse)"
            } else {
                ""
            };
            return (
                None,
                Some(format!(
                    "rate {rate}, but value_eur implies {implied:.4}{remark}"
                )),
            );
        }
    } else if rate == 1.0 {
        return (None, None);
    }
    (Decimal::from_f64(rate).ok(), None)
}

// ---------------------------------------------------------------------------------------------
// Store writes the import needs in one transaction

impl Store {
    /// Stores many rates (as [`Store::set_fx_rate`]) in one transaction.
    fn put_fx_rates(&self, rates: &[FxRate]) -> Result<(), StoreError> {
        let now = now_iso();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO fx_rates (currency, per_eur, updated_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(currency) DO UPDATE SET per_eur = excluded.per_eur, \
                     updated_at = excluded.updated_at",
                )?;
                for rate in rates {
                    upsert.execute(params![rate.currency(), rate.per_eur(), now])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// `calculated_at` of every stored metric, by (symbol, metric).
    fn metric_times(&self) -> Result<HashMap<(String, String), String>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT symbol, metric, calculated_at FROM calculated_metrics")?;
            let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }
}
