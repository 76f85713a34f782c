//! The one error type of the upstream layer. Messages name the service and the route so a
//! dashboard can show them as they are ("tradernet: timed out after 5 s on positions").

use std::time::Duration;

/// The application error the tradernet wrapper answers while it has lost its broker session;
/// it clears by itself once the wrapper reconnects, so it is worth retrying (spec §9).
pub const NOT_CONNECTED: &str = "Not connected to Tradernet";

/// Why a call to an upstream service failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// No complete answer within the per-request timeout.
    #[error("{service}: timed out after {} s on {route}", secs(*.after))]
    Timeout {
        service: &'static str,
        route: &'static str,
        after: Duration,
    },
    /// The connection could not be made, or broke before the whole answer arrived.
    #[error("{service}: connection failed on {route}: {reason}")]
    Connect {
        service: &'static str,
        route: &'static str,
        reason: String,
    },
    /// The service answered with a status other than 2xx.
    #[error("{service}: HTTP {status} on {route}{}", excerpt_suffix(.excerpt))]
    Status {
        service: &'static str,
        route: &'static str,
        status: u16,
        /// The start of the answer's body, for the log and the dashboard.
        excerpt: String,
    },
    /// A 2xx answer whose body is not what the contract promises.
    #[error("{service}: malformed answer on {route}: {reason}")]
    Malformed {
        service: &'static str,
        route: &'static str,
        reason: String,
    },
    /// The service said `success: false` (tradernet's envelope).
    #[error("{service}: {route} failed: {message}")]
    Application {
        service: &'static str,
        route: &'static str,
        message: String,
    },
    /// The circuit breaker is open; the network was not touched.
    #[error("{service}: circuit open, {route} not called")]
    CircuitOpen {
        service: &'static str,
        route: &'static str,
    },
}

impl UpstreamError {
    /// Whether another attempt of an idempotent call could succeed: connection errors,
    /// timeouts, 408, 429, 5xx and tradernet's "Not connected". Never a malformed body, another
    /// 4xx or another application error, which would answer the same again.
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::Timeout { .. } | UpstreamError::Connect { .. } => true,
            UpstreamError::Status { status, .. } => {
                matches!(status, 408 | 429) || (500..=599).contains(status)
            }
            UpstreamError::Application { message, .. } => message.trim() == NOT_CONNECTED,
            UpstreamError::Malformed { .. } | UpstreamError::CircuitOpen { .. } => false,
        }
    }

    /// Whether the error says the service is unwell, so it counts towards opening the breaker.
    ///
    /// A 4xx other than 408/429 and an application error other than "Not connected" (an
    /// unknown symbol, a refused order) are answers about the request: the service understood
    /// it and is working, so they count as the service being healthy. A malformed body does
    /// count: a service that answers garbage is not one to keep calling.
    pub fn is_service_failure(&self) -> bool {
        match self {
            UpstreamError::Status { status, .. } => {
                !(400..=499).contains(status) || matches!(status, 408 | 429)
            }
            UpstreamError::Application { .. } => self.is_retryable(),
            UpstreamError::Timeout { .. }
            | UpstreamError::Connect { .. }
            | UpstreamError::Malformed { .. } => true,
            // Refused locally; says nothing new about the service.
            UpstreamError::CircuitOpen { .. } => false,
        }
    }

    /// The `outcome` label of the `upstream_requests_total` metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { .. } => "timeout",
            UpstreamError::Connect { .. } => "connect_error",
            UpstreamError::Status { .. } => "http_error",
            UpstreamError::Malformed { .. } => "malformed",
            UpstreamError::Application { .. } => "application_error",
            UpstreamError::CircuitOpen { .. } => "circuit_open",
        }
    }

    /// The service the failed call went to.
    pub fn service(&self) -> &'static str {
        match self {
            UpstreamError::Timeout { service, .. }
            | UpstreamError::Connect { service, .. }
            | UpstreamError::Status { service, .. }
            | UpstreamError::Malformed { service, .. }
            | UpstreamError::Application { service, .. }
            | UpstreamError::CircuitOpen { service, .. } => service,
        }
    }
}

/// Seconds as a person writes them: "5", "0.3", "1.25".
fn secs(duration: Duration) -> String {
    let text = format!("{:.3}", duration.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

/// Most characters of a body kept in [`UpstreamError::Status`].
const EXCERPT_CHARS: usize = 200;

/// The start of a body on one line: enough to tell a proxy's HTML page from FastAPI's
/// `{"detail": …}` without flooding the log.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(EXCERPT_CHARS).collect();
    if one_line.chars().count() > EXCERPT_CHARS {
        cut.push('…');
    }
    cut
}
