//! The `Host` check against DNS rebinding: a page of another site that points its own name at
//! this server's address would otherwise read the API from the visitor's browser while reads
//! are open. A rebinding attack needs a name of the attacker's, so IP literals (the board's LAN
//! address, the bind address), `localhost` and the configured `server.allowed_hosts` pass;
//! any other name is refused before anything else runs.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;

/// Whether a `Host` header value (with or without its port) names this server.
pub fn is_allowed_host(host: &str, allowed: &[String]) -> bool {
    let name = host_name(host);
    if name.is_empty() {
        return false;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return true;
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || allowed
            .iter()
            .any(|a| a.trim().trim_end_matches('.').eq_ignore_ascii_case(&name))
}

/// The host part of `host[:port]`, `[v6]:port` kept in its brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim();
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The layer: 421 for a request naming another host. A request without `Host` (HTTP/1.0
/// tools) passes: browsers always send it.
pub async fn check_host(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or_default());
    match host {
        Some(host) if !is_allowed_host(host, &state.config.server.allowed_hosts) => (
            StatusCode::MISDIRECTED_REQUEST,
            Json(json!({
                "detail": "this server does not answer to that host name; \
                           add it to server.allowed_hosts"
            })),
        )
            .into_response(),
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::is_allowed_host;

    #[test]
    fn ip_literals_localhost_and_configured_names_pass_other_names_do_not() {
        let allowed = vec!["planner.lan".to_string()];
        for host in [
            "127.0.0.1:8000",
            "192.168.1.20:8000",
            "[::1]:8000",
            "localhost:8000",
            "LOCALHOST",
            "planner.lan:8000",
            "Planner.LAN.",
        ] {
            assert!(is_allowed_host(host, &allowed), "{host}");
        }
        for host in [
            "evil.example:8000",
            "evil.example",
            "planner.lan.evil.example",
            "",
            ":80",
        ] {
            assert!(!is_allowed_host(host, &allowed), "{host}");
        }
    }
}
