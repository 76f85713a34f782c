//! The first boot of a minimal image: no CA bundle (Debian's `ca-certificates` is not
//! installed), and stderr connected to journald by systemd (`JOURNAL_STREAM`).

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::cli::{clean_command, free_port, http};
use crate::fake_upstreams::FakeKind;
use crate::server::{ServerProcess, wait_for};
use crate::sync_faults::{fast_sync_env, service_report};

const WAIT: Duration = Duration::from_secs(30);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The environment of a machine without CA certificates: rustls-native-certs reads only the
/// empty file and the empty directory named here instead of the system's bundle.
fn no_ca_bundle(dir: &Path) -> Vec<(&'static str, String)> {
    let file = dir.join("empty-bundle.pem");
    std::fs::write(&file, "").unwrap();
    let certs = dir.join("empty-certs");
    std::fs::create_dir_all(&certs).unwrap();
    vec![
        ("SSL_CERT_FILE", file.display().to_string()),
        ("SSL_CERT_DIR", certs.display().to_string()),
    ]
}

/// A TLS listener on a free loopback port that presents the fixture certificate to every
/// client; it only does handshakes, which is as far as a client without CA roots gets.
fn tls_listener() -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_file(repo("tests/fixtures/tls/cert.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(repo("tests/fixtures/tls/key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                while conn.is_handshaking() {
                    if conn.complete_io(&mut stream).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn the_board_profile_starts_without_a_ca_bundle_when_every_upstream_is_http() {
    let dir = tempfile::tempdir().unwrap();
    let board = repo("config/board.yaml");
    let env = no_ca_bundle(dir.path());
    let mut server =
        ServerProcess::spawn_with(dir.path(), &env, &["--config", board.to_str().unwrap()]);
    let port = server.port();
    let log = || server.stderr();
    wait_for(WAIT, "the server without a CA bundle", || {
        assert!(!log().contains("error:"), "{}", log());
        http(port, "GET", "/readyz", "")
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    server.kill();
    // Nothing to warn about: no service is reached over https.
    assert!(
        !server.stderr().contains("CA certificates"),
        "{}",
        server.stderr()
    );
}

#[test]
fn an_https_upstream_without_a_ca_bundle_is_reported_unhealthy_naming_the_missing_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let port = tls_listener();
    let mut env = no_ca_bundle(dir.path());
    env.extend(fast_sync_env(
        FakeKind::Scoring,
        &format!("https://127.0.0.1:{port}"),
    ));
    let server = ServerProcess::start(dir.path(), &env);
    let report = wait_for(WAIT, "the scoring service's error", || {
        let report = service_report(&server, "scoring");
        report["last_error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("CA certificates"))
            .then_some(report)
    });
    let message = report["last_error"]["message"].as_str().unwrap();
    assert!(
        message.contains("install the ca-certificates package"),
        "{message}"
    );
    assert!(
        report["consecutive_failures"].as_u64().unwrap() > 0,
        "{report}"
    );
    // Said once at start too, as a warning.
    let log = server.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("scoring") && l.contains("CA certificates")),
        "{log}"
    );
}

/// A pipe for the child's stderr and the `JOURNAL_STREAM` value systemd would give for it:
/// the device and inode of the pipe, which both ends share.
fn journal_pipe() -> (std::io::PipeReader, std::io::PipeWriter, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    let file = std::fs::File::from(reader.as_fd().try_clone_to_owned().unwrap());
    let meta = file.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    (reader, writer, stream)
}

/// Lines of `reader`, as they come, over a channel.
fn lines_of(reader: std::io::PipeReader) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

#[test]
fn under_journald_each_line_carries_its_priority_and_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, writer, stream) = journal_pipe();
    let mut command = clean_command();
    command
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .env("RUST_LOG", "info")
        .env("JOURNAL_STREAM", &stream)
        .env_remove("NO_COLOR")
        .envs(no_ca_bundle(dir.path()))
        // An https service without CA certificates: a warning at start.
        .env(
            "TRADING_PLANNER_UPSTREAM__SCORING__URL",
            "https://127.0.0.1:9",
        )
        .stdout(Stdio::null())
        .stderr(writer);
    let mut child = command.spawn().unwrap();
    drop(command);
    let lines = lines_of(reader);
    let mut seen = Vec::new();
    let (mut warning, mut info) = (false, false);
    while !(warning && info) {
        let line = lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("{e}; so far:\n{}", seen.join("\n")));
        warning |= line.starts_with("<4>") && line.contains("CA certificates");
        info |= line.starts_with("<6>");
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    for line in &seen {
        let prefix = line.get(..3).unwrap_or_default();
        assert!(
            ["<3>", "<4>", "<6>", "<7>"].contains(&prefix),
            "no priority: {line:?}"
        );
        assert!(!line.contains('\u{1b}'), "colour code: {line:?}");
    }
}

/// Runs the binary with `--bind nowhere`, which fails at start, stderr into a pipe.
fn failed_start(journal: Option<&str>, stderr: std::io::PipeWriter) -> std::process::Child {
    let mut command = clean_command();
    command
        .args(["serve", "--bind", "nowhere"])
        .env_remove("JOURNAL_STREAM")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(stderr);
    if let Some(stream) = journal {
        command.env("JOURNAL_STREAM", stream);
    }
    command.spawn().unwrap()
}

fn read_all(mut reader: std::io::PipeReader) -> String {
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    text
}

#[test]
fn a_fatal_start_error_is_an_error_of_the_journal() {
    let (reader, writer, stream) = journal_pipe();
    let mut child = failed_start(Some(&stream), writer);
    let text = read_all(reader);
    assert!(!child.wait().unwrap().success());
    assert!(text.starts_with("<3>error: "), "{text:?}");
    assert!(text.contains("nowhere"), "{text:?}");
    assert!(text.lines().all(|l| l.starts_with("<3>")), "{text:?}");
}

#[test]
fn off_the_journal_lines_carry_no_priority_and_no_colour() {
    // JOURNAL_STREAM inherited by a process whose stderr goes elsewhere is not the journal.
    for journal in [None, Some("1:1")] {
        let (reader, writer, _) = journal_pipe();
        let mut child = failed_start(journal, writer);
        let text = read_all(reader);
        assert!(!child.wait().unwrap().success());
        assert!(text.starts_with("error: "), "{journal:?}: {text:?}");
    }
    // Info lines of a running server, written to a file.
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), &[("JOURNAL_STREAM", "1:1".to_string())]);
    server.kill();
    let log = server.stderr();
    assert!(log.contains(" INFO "), "{log}");
    assert!(!log.contains('\u{1b}'), "colour code in {log:?}");
    assert!(!log.contains("<6>"), "{log}");
}
