//! What an import did: the kinds of data, per-kind and per-file reports, and the report's text.

use std::fmt;
use std::path::PathBuf;

/// At most this many skipped rows are listed per kind; the rest are only counted.
pub(super) const MAX_EXAMPLES: usize = 10;

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
    pub(super) fn new(kind: LegacyKind) -> KindReport {
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

    pub(super) fn skip(&mut self, what: impl fmt::Display, why: impl fmt::Display) {
        self.skip_many(1, what, why);
    }

    pub(super) fn skip_many(
        &mut self,
        count: usize,
        what: impl fmt::Display,
        why: impl fmt::Display,
    ) {
        self.skipped += count;
        if self.skip_examples.len() < MAX_EXAMPLES {
            self.skip_examples.push(format!("{what}: {why}"));
        }
    }

    pub(super) fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }
}

/// What [`import_legacy`](super::import_legacy) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyReport {
    pub dir: PathBuf,
    pub files: Vec<FileReport>,
    /// One entry per [`LegacyKind`], in [`LegacyKind::ALL`] order.
    pub kinds: Vec<KindReport>,
}

impl LegacyReport {
    #[cfg(test)]
    pub fn kind(&self, kind: LegacyKind) -> &KindReport {
        self.kinds
            .iter()
            .find(|k| k.kind == kind)
            .expect("the report lists every kind")
    }

    pub(super) fn kind_mut(&mut self, kind: LegacyKind) -> &mut KindReport {
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
