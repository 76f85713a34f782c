//! Clients of the Python services that stay Python (tradernet, scoring): one shared HTTP client
//! built on rustls with the ring provider, so the build carries no C code besides SQLite and
//! ring.

use std::time::Duration;

/// Makes ring the process's TLS crypto provider; reqwest is built without one. Calling it again
/// does nothing.
pub fn install_crypto_provider() {
    // `Err` means a provider is already installed, which is what is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The shared HTTP client: `timeout` per request, connections kept alive for reuse.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .user_agent(concat!("trading-planner/", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_builds_with_the_ring_provider() {
        assert!(http_client(Duration::from_secs(1)).is_ok());
        // A second client reuses the installed provider.
        assert!(http_client(Duration::from_secs(1)).is_ok());
    }
}
