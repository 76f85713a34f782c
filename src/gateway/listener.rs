//! The accept loop: HTTP/1 connections with a cap on their number, a deadline on request heads
//! (which also closes idle keep-alive connections) and on body bytes, and a bounded drain on
//! shutdown. `axum::serve` has none of these knobs, and without them a LAN client holding idle
//! connections uses up the file descriptors and locks everyone out.
//!
//! At the cap the oldest idle connection is closed to make room, so the dashboard stays
//! reachable however many connections others hold open; a connection counts as busy from the
//! moment its request head is read until its answer's last byte is written.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower_http::timeout::TimeoutBody;
use tower_service::Service;

use crate::config::ServerConfig;

/// The limits of the accept loop, from `server.*`.
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl ListenerLimits {
    pub fn from_config(server: &ServerConfig) -> ListenerLimits {
        ListenerLimits {
            max_connections: server.max_connections,
            header_read_timeout: server.header_read_timeout(),
            body_read_timeout: server.body_read_timeout(),
            shutdown_grace: server.shutdown_grace(),
        }
    }
}

/// One open connection: how many of its requests are in flight, and the signal that closes it.
#[derive(Default)]
struct Slot {
    busy: AtomicUsize,
    close: Notify,
}

/// Keeps its slot busy while alive: held by the request, then by the answer's body.
struct Busy(Arc<Slot>);

impl Busy {
    fn new(slot: &Arc<Slot>) -> Busy {
        slot.busy.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(slot))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The open connections by number, oldest first.
#[derive(Default)]
struct Connections {
    open: Mutex<BTreeMap<u64, Arc<Slot>>>,
}

impl Connections {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        // A panic while holding the map leaves it consistent (every change is one call).
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot for connection `id`, closing the oldest idle connection when `max` are
    /// open; `None` when all of them are busy.
    fn admit(&self, id: u64, max: usize) -> Option<Arc<Slot>> {
        let mut open = self.lock();
        if open.len() >= max {
            let idle = open
                .iter()
                .find(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
                .map(|(&id, _)| id)?;
            if let Some(slot) = open.remove(&idle) {
                slot.close.notify_one();
            }
        }
        let slot = Arc::new(Slot::default());
        open.insert(id, Arc::clone(&slot));
        Some(slot)
    }

    fn release(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn close_all(&self) {
        for slot in self.lock().values() {
            slot.close.notify_one();
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then closes idle connections, lets
/// the requests in flight finish for at most `limits.shutdown_grace`, and cuts the rest.
/// Returns the number of connections that had to be cut.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
) -> usize {
    serve_tracked(
        listener,
        app,
        limits,
        shutdown,
        Arc::new(Connections::default()),
    )
    .await
}

/// [`serve`] keeping its open connections in `connections`, which tests can watch.
async fn serve_tracked(
    listener: TcpListener,
    app: Router,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()>,
    connections: Arc<Connections>,
) -> usize {
    let mut tasks = JoinSet::new();
    let mut next_id = 0u64;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted: the
                // listener itself is fine. A short pause keeps an exhausted process from
                // spinning on the same error.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        let Some(slot) = connections.admit(id, limits.max_connections) else {
            tracing::debug!(
                max = limits.max_connections,
                "every connection is busy; refusing a new one"
            );
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = connection_service(
            app.clone(),
            Arc::clone(&slot),
            limits.body_read_timeout,
            peer,
        );
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let connections = Arc::clone(&connections);
        tasks.spawn(async move {
            tokio::pin!(connection);
            let served = tokio::select! {
                served = connection.as_mut() => served,
                () = slot.close.notified() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended with an error");
            }
            connections.release(id);
        });
    }
    drop(listener);
    connections.close_all();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    let cut = if drained.is_ok() { 0 } else { tasks.len() };
    if cut > 0 {
        tracing::warn!(
            connections = cut,
            grace = ?limits.shutdown_grace,
            "closing connections whose requests did not finish in the shutdown grace"
        );
    }
    // Aborting drops the connections' handlers, and with them their hold on the state.
    tasks.shutdown().await;
    cut
}

/// The router for one connection: request bodies that stall are cut, and the slot is busy
/// from the request's head to its answer's end.
fn connection_service(
    app: Router,
    slot: Arc<Slot>,
    body_timeout: Duration,
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |request: Request<Incoming>| {
        let busy = Busy::new(&slot);
        let mut request = request.map(|body| Body::new(TimeoutBody::new(body_timeout, body)));
        // The client's address decides whether `auth.compat_routes: loopback` opens a route.
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move {
            let response = app.call(request).await?;
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    // Owned by the answer's body, so the slot stays busy until it ends.
                    let _ = &busy;
                    frame
                }))
            }))
        }
    })
}

#[cfg(test)]
#[path = "listener_tests.rs"]
mod tests;
