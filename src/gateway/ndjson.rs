//! The generator's NDJSON answer: one `SequenceBatch` object per line, written as the reference
//! writes it (`json.dumps` text), produced on a blocking thread and streamed with back-pressure.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::domain::ActionCandidate;
use crate::domain::py_json::{PythonFormatter, write_python_json};

/// Lines the producer may run ahead of the client.
const LINES_IN_FLIGHT: usize = 4;

/// `max(1, ceil(n / batch_size))`: the reference announces at least one batch, even when empty.
pub fn total_batches(sequences: u64, batch_size: usize) -> u64 {
    sequences.div_ceil(batch_size.max(1) as u64).max(1)
}

/// One line, fields in the reference's order.
#[derive(Serialize)]
struct BatchLine<S> {
    batch_number: u64,
    sequences: S,
    total_batches: u64,
    more_available: bool,
}

/// Writes batch lines of at most `batch_size` sequences; call `push` for each sequence in
/// order and `finish` once. `send` receives each finished line and returns false when the
/// client is gone.
pub struct LineWriter<F: FnMut(Bytes) -> bool> {
    batch_size: usize,
    total: u64,
    next_batch: u64,
    pending: Vec<Vec<ActionCandidate>>,
    send: F,
    open: bool,
}

impl<F: FnMut(Bytes) -> bool> LineWriter<F> {
    pub fn new(sequences: u64, batch_size: usize, send: F) -> Self {
        let batch_size = batch_size.max(1);
        LineWriter {
            batch_size,
            total: total_batches(sequences, batch_size),
            next_batch: 0,
            pending: Vec::with_capacity(batch_size.min(4096)),
            send,
            open: true,
        }
    }

    /// Queues one sequence; returns false once the client has gone away.
    pub fn push(&mut self, sequence: Vec<ActionCandidate>) -> bool {
        self.pending.push(sequence);
        if self.pending.len() == self.batch_size {
            self.flush_line();
        }
        self.open
    }

    /// Writes what is left; an empty answer is still one line, as the reference writes it.
    pub fn finish(mut self) {
        if !self.pending.is_empty() || self.next_batch == 0 {
            self.flush_line();
        }
    }

    fn flush_line(&mut self) {
        if !self.open {
            self.pending.clear();
            return;
        }
        let line = BatchLine {
            batch_number: self.next_batch,
            sequences: &self.pending,
            total_batches: self.total,
            more_available: self.next_batch + 1 < self.total,
        };
        let mut out = Vec::with_capacity(256 * self.pending.len().max(1));
        write_python_json(&mut out, &line, PythonFormatter::DUMPS)
            .expect("batch lines serialise: plain structs, strings and numbers");
        out.push(b'\n');
        self.next_batch += 1;
        self.pending.clear();
        self.open = (self.send)(Bytes::from(out));
    }
}

/// A 200 `application/x-ndjson` answer whose lines come from `produce`, run on a blocking
/// thread. `produce` gets a `send` function that blocks while the client is slow and returns
/// false once it has disconnected.
pub fn stream<P>(produce: P) -> Response
where
    P: FnOnce(&mut dyn FnMut(Bytes) -> bool) + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<Bytes>(LINES_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut send = |line: Bytes| tx.blocking_send(line).is_ok();
        produce(&mut send);
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<Bytes, Infallible>(line), rx))
    });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response()
}
