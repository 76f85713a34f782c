//! The CA roots of `https://` upstreams. They come from the system's bundle (Debian's
//! `ca-certificates`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`), read by reqwest's platform
//! verifier. A minimal image has no bundle, and the platform verifier then refuses to build a
//! client at all, so the process could not start even with only `http://` services. Without a
//! bundle the clients are built instead with a verifier that refuses every certificate with a
//! message naming the missing CA certificates: `http://` services work, and an `https://` one
//! is reported unhealthy with the reason. No roots are bundled in the binary: webpki-roots
//! would spend a large part of the board binary's size budget on roots that go stale with it,
//! where one package fixes the machine (see the README).

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Why every `https://` call fails on a machine without a CA bundle.
pub const NO_CA_CERTIFICATES: &str = "no CA certificates on this machine to verify the \
     service's certificate: install the ca-certificates package (or set SSL_CERT_FILE)";

/// Whether the system has CA certificates, read once per process (the bundle is ~200 KB).
pub fn system_has_ca_certificates() -> bool {
    static HAS: OnceLock<bool> = OnceLock::new();
    *HAS.get_or_init(|| !rustls_native_certs::load_native_certs().certs.is_empty())
}

/// `builder` with the system's roots when it has any, else with the verifier that explains
/// their absence.
pub fn with_roots(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    if system_has_ca_certificates() {
        builder
    } else {
        without_roots(builder)
    }
}

/// `builder` with a TLS configuration whose verifier refuses every certificate with
/// [`NO_CA_CERTIFICATES`].
pub fn without_roots(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(NoRoots(Arc::clone(&provider)));
    match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(config) => builder.tls_backend_preconfigured(
            config
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth(),
        ),
        // ring supports the default versions; should it not, reqwest's own error says why.
        Err(_) => builder,
    }
}

/// A verifier without any trusted root.
#[derive(Debug)]
struct NoRoots(Arc<CryptoProvider>);

impl ServerCertVerifier for NoRoots {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(NO_CA_CERTIFICATES.to_owned()))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(NO_CA_CERTIFICATES.to_owned()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General(NO_CA_CERTIFICATES.to_owned()))
    }

    /// The schemes offered in the handshake, so a server gets as far as its certificate.
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
