use std::io::{Read, Write};
use std::net::TcpStream;

use axum::routing::get;

use super::*;

fn limits() -> ListenerLimits {
    ListenerLimits {
        max_connections: 8,
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(1),
    }
}

/// Polls until `done`, failing after a minute.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every way a connection ends (served and closed, dropped idle, evicted at the cap, timed
/// out) leaves nothing behind: after many of them the table of open connections is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_table_is_empty_again_after_many_connections_come_and_go() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/", get(|| async { "ok" }));
    let connections = Arc::new(Connections::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_tracked(
        listener,
        app,
        limits(),
        async {
            let _ = stopped.await;
        },
        Arc::clone(&connections),
    ));
    tokio::task::spawn_blocking(move || {
        for round in 0..50 {
            // A request answered on a connection the client then closes.
            let mut served = TcpStream::connect(("127.0.0.1", port)).unwrap();
            served
                .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            served.read_to_string(&mut answer).unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            // More idle connections than the cap, closed by the client or evicted; every
            // tenth round one is left for the header timeout to close.
            let idle: Vec<TcpStream> = (0..12)
                .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
                .collect();
            if round % 10 == 0 {
                std::mem::forget(idle.into_iter().next());
            }
        }
    })
    .await
    .unwrap();
    until("every connection to leave the table", || {
        connections.lock().is_empty()
    })
    .await;
    stop.send(()).unwrap();
    assert_eq!(server.await.unwrap(), 0);
}
