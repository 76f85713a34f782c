use std::os::unix::fs::PermissionsExt;

use axum::http::{HeaderValue, Method};

use super::*;

fn config(token: &str, token_file: &str) -> AuthConfig {
    AuthConfig {
        token: token.to_string(),
        token_file: token_file.to_string(),
        open_reads: true,
        ..AuthConfig::default()
    }
}

#[test]
fn a_token_is_generated_once_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (token, origin) = load_or_create_token(&config("", ""), &data).unwrap();
    let path = data.join(TOKEN_FILE_NAME);
    assert_eq!(origin, TokenOrigin::Generated(path.clone()));
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(!path.with_extension("partial").exists());

    let (again, origin) = load_or_create_token(&config("", ""), &data).unwrap();
    assert_eq!(again, token);
    assert_eq!(origin, TokenOrigin::File(path));

    let other = tempfile::tempdir().unwrap();
    let (fresh, _) = load_or_create_token(&config("", ""), other.path()).unwrap();
    assert_ne!(fresh, token);
}

#[test]
fn the_configured_token_wins_then_the_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "from-file\nsecond line ignored\n").unwrap();
    let file_name = file.to_str().unwrap();

    let (token, origin) =
        load_or_create_token(&config(" configured ", file_name), dir.path()).unwrap();
    assert_eq!(
        (token.as_str(), origin),
        ("configured", TokenOrigin::Config)
    );

    let (token, origin) = load_or_create_token(&config("", file_name), dir.path()).unwrap();
    assert_eq!(
        (token.as_str(), origin),
        ("from-file", TokenOrigin::File(file))
    );
    assert!(!dir.path().join(TOKEN_FILE_NAME).exists());
}

#[test]
fn a_missing_empty_or_unusable_token_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = load_or_create_token(&config("", missing.to_str().unwrap()), dir.path());
    assert!(matches!(err, Err(AuthError::Read { .. })), "{err:?}");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = load_or_create_token(&config("", empty.to_str().unwrap()), dir.path());
    assert!(matches!(err, Err(AuthError::Empty { .. })), "{err:?}");

    let spaced = dir.path().join("spaced");
    std::fs::write(&spaced, "two words\n").unwrap();
    let err = load_or_create_token(&config("", spaced.to_str().unwrap()), dir.path());
    assert!(matches!(err, Err(AuthError::Invalid { .. })), "{err:?}");

    let err = load_or_create_token(&config("tab\there", ""), dir.path());
    assert!(matches!(err, Err(AuthError::Invalid { .. })), "{err:?}");
}

#[test]
fn comparison_needs_the_whole_token() {
    assert!(constant_time_eq(b"secret", b"secret"));
    assert!(!constant_time_eq(b"secreT", b"secret"));
    assert!(!constant_time_eq(b"secre", b"secret"));
    assert!(!constant_time_eq(b"secrets", b"secret"));
    assert!(!constant_time_eq(b"", b"secret"));
    assert!(constant_time_eq(b"", b""));
}

#[test]
fn bearer_scheme_is_case_insensitive_and_required() {
    let token = |v: &str| bearer(&HeaderValue::from_str(v).unwrap()).map(<[u8]>::to_vec);
    assert_eq!(token("Bearer abc"), Some(b"abc".to_vec()));
    assert_eq!(token("bearer  abc "), Some(b"abc".to_vec()));
    assert_eq!(token("Basic abc"), None);
    assert_eq!(token("Bearer"), None);
    assert_eq!(token("abc"), None);
}

#[test]
fn only_reads_and_probes_go_without_the_token() {
    assert!(is_open(&Method::GET, "/api/plans", true));
    assert!(is_open(&Method::HEAD, "/api/plans", true));
    assert!(!is_open(&Method::GET, "/api/plans", false));
    assert!(is_open(&Method::GET, "/healthz", false));
    assert!(is_open(&Method::GET, "/readyz", false));
    assert!(!is_open(&Method::POST, "/healthz", true));
    assert!(!is_open(&Method::DELETE, "/api/plans", true));
    assert!(!is_open(&Method::OPTIONS, "/api/plans", false));
    assert!(!is_open(&Method::OPTIONS, "/universe/x", false));
    assert!(is_open(&Method::OPTIONS, "/api/plans", true));
}
