//! Where the log goes and how it looks. Under systemd, stderr is a stream into journald:
//! each line then starts with its sd-daemon priority (`<3>` error, `<4>` warning, `<6>` info,
//! `<7>` debug) so `journalctl -p warning` finds the warnings, and carries no timestamp, which
//! journald adds itself. Colour only reaches a terminal, and not when `NO_COLOR` is set.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How stderr is to be written, decided once at start.
#[derive(Debug, Clone, Copy)]
struct Stderr {
    /// stderr is the journal stream systemd connected (`JOURNAL_STREAM` names its device and
    /// inode); a child that inherited the variable but writes elsewhere does not match.
    journal: bool,
    colour: bool,
}

fn stderr_kind() -> Stderr {
    let journal = stderr_is_journal();
    let colour = !journal
        && std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    Stderr { journal, colour }
}

fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}

/// Installs the process's subscriber: `RUST_LOG`, else `default_level`, to stderr.
pub(super) fn init(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_level.into());
    let stderr = stderr_kind();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr.colour);
    let _ = if stderr.journal {
        builder
            .event_format(JournalPriority(Format::default().without_time()))
            .try_init()
    } else {
        builder.try_init()
    };
}

/// Writes the error that ends the process, as an error of the journal under systemd.
pub(super) fn fatal(error: &anyhow::Error) {
    let prefix = if stderr_kind().journal {
        priority(Level::ERROR)
    } else {
        ""
    };
    let mut text = String::new();
    for line in format!("error: {error:#}").lines() {
        let _ = writeln!(text, "{prefix}{line}");
    }
    eprint!("{text}");
}

/// The sd-daemon prefix of a level (see sd-daemon(3)).
fn priority(level: Level) -> &'static str {
    match level {
        Level::ERROR => "<3>",
        Level::WARN => "<4>",
        Level::INFO => "<6>",
        Level::DEBUG | Level::TRACE => "<7>",
    }
}

/// An event format that puts the level's sd-daemon prefix before every line `F` writes:
/// journald reads the priority per line, so a message with a line break keeps it throughout.
struct JournalPriority<F>(F);

impl<S, N, F> FormatEvent<S, N> for JournalPriority<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut text = String::new();
        self.0.format_event(ctx, Writer::new(&mut text), event)?;
        let prefix = priority(*event.metadata().level());
        for line in text.lines() {
            writeln!(writer, "{prefix}{line}")?;
        }
        Ok(())
    }
}
