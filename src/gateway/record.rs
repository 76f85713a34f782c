//! `serve --record DIR`: every request to a compatibility route is written to `DIR` as one
//! JSON file (see [`crate::shadow::request`]), for `trading-planner shadow` to replay later.
//!
//! Recorded: requests under `/evaluator`, `/opportunity`, `/generator`, `/coordinator`,
//! `/planning` and `/gateway` that passed authentication, except the `…/health` probes and
//! `POST /gateway/trading-cycle`, which executes trades and must never be replayed. Not
//! recorded: `/api`, the dashboard, `/healthz`, `/readyz`, `/metrics` and the proxied
//! services.
//!
//! The layer reads the body (at most `server.max_body_bytes`, as the handlers do) and hands the
//! same bytes to the handler; one writer thread, fed through a bounded queue, builds and writes
//! the files, so the request never waits on the disk. The directory is bounded by a number of
//! files and of bytes, counting the request files already in it: once a file would go beyond
//! either bound, recording stops with one warning and the requests go on being served. Files
//! are never deleted or replaced; numbering continues after the highest file already there.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::AppState;
use super::error::ApiError;
use crate::shadow::request::{RecordedRequest, request_files, sequence_of};

/// Default of `--record-max-files`.
pub const DEFAULT_MAX_FILES: u64 = 1000;
/// Default of `--record-max-bytes`: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Requests waiting for the writer at most; beyond, a request is left out of the recording
/// (with one warning) rather than held in memory or made to wait.
pub const QUEUE_LENGTH: usize = 256;

/// The prefixes of the compatibility routes.
pub const RECORDED_PREFIXES: [&str; 6] = [
    "/evaluator",
    "/opportunity",
    "/generator",
    "/coordinator",
    "/planning",
    "/gateway",
];

/// Whether a request is one `serve --record` writes: see the module documentation.
pub fn is_recorded(method: &Method, path: &str) -> bool {
    let under_prefix = RECORDED_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let health = path.trim_end_matches('/').ends_with("/health");
    let trading_cycle =
        method == Method::POST && path.trim_end_matches('/') == "/gateway/trading-cycle";
    under_prefix && !health && !trading_cycle
}

/// A size in bytes: a number, optionally followed by `B`, `K`/`KiB`, `M`/`MiB` or `G`/`GiB`
/// (powers of 1024; `KB`, `MB`, `GB` too), case and spaces ignored: `65536`, `500KiB`, `64MiB`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let shift = match unit {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("{text:?}: the unit must be B, KiB, MiB or GiB")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size: expected a whole number like 64MiB"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// The bounds of a recording directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLimits {
    pub max_files: u64,
    pub max_bytes: u64,
}

impl Default for RecordLimits {
    fn default() -> Self {
        RecordLimits {
            max_files: DEFAULT_MAX_FILES,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// A request on its way to the writer.
struct Job {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// What the writer has put in the directory so far.
struct Usage {
    files: u64,
    bytes: u64,
    next_sequence: u64,
}

/// Writes recorded requests to a directory; shared by the layer through [`AppState`].
pub struct Recorder {
    dir: PathBuf,
    /// Set once recording stopped (a bound reached, or the disk failed).
    stopped: Arc<AtomicBool>,
    queue_warned: AtomicBool,
    /// Requests left out because the writer was behind.
    dropped: AtomicU64,
    /// Files written by this process.
    written: Arc<AtomicU64>,
    sender: Option<SyncSender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    /// Creates `dir` if needed, counts the request files already there, and starts the writer.
    pub fn start(dir: &Path, limits: RecordLimits) -> std::io::Result<Recorder> {
        std::fs::create_dir_all(dir)?;
        let mut usage = Usage {
            files: 0,
            bytes: 0,
            next_sequence: 1,
        };
        for path in request_files(dir)? {
            usage.files += 1;
            usage.bytes += std::fs::metadata(&path)?.len();
            let sequence = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(sequence_of);
            if let Some(n) = sequence {
                usage.next_sequence = usage.next_sequence.max(n.saturating_add(1));
            }
        }
        tracing::info!(
            dir = %dir.display(),
            files = usage.files,
            bytes = usage.bytes,
            max_files = limits.max_files,
            max_bytes = limits.max_bytes,
            "recording the requests to the compatibility routes"
        );
        let stopped = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let (sender, receiver) = std::sync::mpsc::sync_channel(QUEUE_LENGTH);
        let writer = {
            let dir = dir.to_path_buf();
            let stopped = Arc::clone(&stopped);
            let written = Arc::clone(&written);
            std::thread::Builder::new()
                .name("recorder".into())
                .spawn(move || write_jobs(&dir, limits, usage, &receiver, &stopped, &written))?
        };
        Ok(Recorder {
            dir: dir.to_path_buf(),
            stopped,
            queue_warned: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            written,
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// False once recording stopped.
    pub fn is_recording(&self) -> bool {
        !self.stopped.load(Ordering::Relaxed)
    }

    /// Files this process wrote.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Requests left out because the writer was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Queues a request for the writer; never waits.
    fn submit(&self, job: Job) {
        let Some(sender) = &self.sender else { return };
        match sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                if !self.queue_warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        queue = QUEUE_LENGTH,
                        "the recorder falls behind: requests are left out of the recording"
                    );
                }
            }
            Err(TrySendError::Disconnected(_)) => {
                self.stopped.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every queued request is written, then stops the writer.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Recorder {
    /// The queue is written out before the process goes, so the last requests are not lost.
    fn drop(&mut self) {
        self.close();
    }
}

fn write_jobs(
    dir: &Path,
    limits: RecordLimits,
    mut usage: Usage,
    jobs: &Receiver<Job>,
    stopped: &AtomicBool,
    written: &AtomicU64,
) {
    let stop = |why: &str| {
        stopped.store(true, Ordering::Relaxed);
        tracing::warn!(dir = %dir.display(), "recording stopped: {why}; requests are still served");
    };
    if usage.files >= limits.max_files || usage.bytes >= limits.max_bytes {
        stop(&format!(
            "the directory already holds {} request files, {} bytes (bounds: {} files, {} bytes)",
            usage.files, usage.bytes, limits.max_files, limits.max_bytes
        ));
    }
    for job in jobs {
        if stopped.load(Ordering::Relaxed) {
            continue;
        }
        let headers = job
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()));
        let request =
            RecordedRequest::new(job.method.as_str(), &job.path, headers, job.body.to_vec());
        let text = request.to_json();
        let size = text.len() as u64;
        if usage.files + 1 > limits.max_files || usage.bytes + size > limits.max_bytes {
            stop(&format!(
                "the next file would take the directory beyond its bounds of {} files or {} \
                 bytes ({} files, {} bytes there)",
                limits.max_files, limits.max_bytes, usage.files, usage.bytes
            ));
            continue;
        }
        // A name taken by someone else's file is skipped, never replaced.
        let mut outcome = Err(std::io::Error::other("no free file name"));
        for _ in 0..100 {
            let path = dir.join(request.file_name(usage.next_sequence));
            usage.next_sequence += 1;
            outcome = crate::shadow::request::write_new_file(&path, &text);
            match &outcome {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                _ => break,
            }
        }
        match outcome {
            Ok(()) => {
                usage.files += 1;
                usage.bytes += size;
                written.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => stop(&format!("could not write a request file: {error}")),
        }
    }
}

/// The layer: hands recorded requests to the recorder, then to the handler with the same body.
pub async fn record(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(recorder) = state.recorder.as_ref() else {
        return next.run(request).await;
    };
    if !recorder.is_recording() || !is_recorded(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let limit = state.config.server.max_body_bytes;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        // The handler refuses it; there is nothing worth recording.
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        // The answers the handlers give for the same body.
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return ApiError::PayloadTooLarge { limit }.into_response();
        }
        Err(e) => return ApiError::BadBody(e.to_string()).into_response(),
    };
    let path = parts.uri.path_and_query().map_or_else(
        || parts.uri.path().to_string(),
        |pq| pq.as_str().to_string(),
    );
    recorder.submit(Job {
        method: parts.method.clone(),
        path,
        headers: parts.headers.clone(),
        body: bytes.clone(),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
