//! What ships for the board: the systemd unit (accepted by systemd, hardened), the install and
//! uninstall scripts, the board profile and the commented default configuration.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::{binary, http, http_with};
use crate::server::{ServerProcess, wait_for};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn unit_text() -> String {
    std::fs::read_to_string(repo("systemd/trading-planner.service")).unwrap()
}

/// `systemd-analyze` from Debian's systemd package, which tests/run installs.
fn systemd_analyze(args: &[&str]) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .output()
        .expect("systemd-analyze runs (tests/run installs the systemd package)")
}

/// The unit as installed, with ExecStart pointing at the binary under test: `verify` checks
/// that the command exists and is executable.
fn unit_for_verify(dir: &Path) -> PathBuf {
    let text = unit_text().replace("/usr/local/bin/trading-planner", binary());
    let path = dir.join("trading-planner.service");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn systemd_accepts_the_unit_without_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_verify(dir.path());
    let out = systemd_analyze(&["verify", unit.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "verify failed:\n{stderr}");
    // verify exits 0 on unknown keys and bad values (it only warns), so any line is a defect.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("trading-planner.service"))
        .collect();
    assert!(
        warnings.is_empty(),
        "systemd warns:\n{}",
        warnings.join("\n")
    );

    // The check itself notices a misspelt key.
    let broken = unit_text().replace("ProtectHome=yes", "ProtectHome=maybe");
    std::fs::write(
        &unit,
        broken.replace("/usr/local/bin/trading-planner", binary()),
    )
    .unwrap();
    let out = systemd_analyze(&["verify", unit.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("trading-planner.service") && stderr.contains("protect home"),
        "{stderr}"
    );
}

/// `key=value` pairs of the unit, later assignments after earlier ones.
fn unit_settings() -> Vec<(String, String)> {
    unit_text()
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.starts_with('['))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

fn setting(key: &str) -> Option<String> {
    unit_settings()
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .next_back()
}

#[test]
fn the_unit_is_hardened_and_notifies_systemd() {
    let expected = [
        ("Type", "notify"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "trading-planner"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("Restart", "on-failure"),
    ];
    for (key, value) in expected {
        assert_eq!(setting(key).as_deref(), Some(value), "{key}");
    }
    let watchdog: u64 = setting("WatchdogSec")
        .expect("WatchdogSec")
        .parse()
        .unwrap();
    assert!((5..=120).contains(&watchdog), "WatchdogSec={watchdog}");

    // MemoryMax fits a 2 GB board that also runs the Python services, and leaves the planner
    // far more than it uses (under 20 MB planning 100 securities).
    let memory_max = setting("MemoryMax").expect("MemoryMax");
    let megabytes: u64 = memory_max
        .strip_suffix('M')
        .expect("MemoryMax in megabytes")
        .parse()
        .unwrap();
    assert!((128..=768).contains(&megabytes), "MemoryMax={memory_max}");

    let exec = setting("ExecStart").expect("ExecStart");
    assert!(
        exec.starts_with("/usr/local/bin/trading-planner "),
        "{exec}"
    );
    assert!(
        exec.contains("--config /etc/trading-planner/config.yaml"),
        "{exec}"
    );
    assert!(
        exec.contains("--data-dir /var/lib/trading-planner"),
        "{exec}"
    );
    assert!(exec.ends_with(" serve"), "{exec}");
}

/// The `key=value` pairs of one `[section]` of the unit.
fn section_settings(section: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut settings = Vec::new();
    for line in unit_text().lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
        } else if current == section
            && !line.starts_with('#')
            && let Some((key, value)) = line.split_once('=')
        {
            settings.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    settings
}

fn seconds(section: &str, key: &str) -> u64 {
    let value = section_settings(section)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in [{section}]"))
        .1;
    value
        .strip_suffix('s')
        .unwrap_or(&value)
        .parse()
        .unwrap_or_else(|_| panic!("{key}={value} is not a number of seconds"))
}

#[test]
fn a_start_that_keeps_failing_hits_the_start_limit() {
    // systemd reads the start limit in [Unit]; in [Service] it is a deprecated alias.
    let interval = seconds("Unit", "StartLimitIntervalSec");
    let burst = seconds("Unit", "StartLimitBurst");
    let restart = seconds("Service", "RestartSec");
    assert!(
        section_settings("Service")
            .iter()
            .all(|(k, _)| !k.starts_with("StartLimit"))
    );
    assert!(burst >= 2, "StartLimitBurst={burst}");
    // `burst` failed starts are `burst - 1` pauses of RestartSec apart; each start itself
    // takes a few seconds at most (ready in ~2.6 s on the board), counted here as 10 s. If
    // they do not fit in the interval, the limit never trips and systemd restarts forever.
    let needed = (burst - 1) * restart + burst * 10;
    assert!(
        needed <= interval,
        "{burst} starts take {needed} s, more than StartLimitIntervalSec={interval}"
    );
}

#[test]
fn systemd_rates_the_unit_exposure_low() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_verify(dir.path());
    let out = systemd_analyze(&["security", "--offline=yes", unit.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no exposure line:\n{stdout}"));
    let level: f64 = line
        .split(':')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("unreadable: {line}"));
    // systemd calls up to 2.0 "OK"; a unit without hardening rates 9.6.
    assert!(level <= 2.0, "{line}");
}

/// Runs a script of systemd/ with a fake `systemctl` that logs its arguments.
fn run_script(script: &str, args: &[&str], log: &Path) -> Output {
    let fake = log.with_extension("sh");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    Command::new(repo(&format!("systemd/{script}")))
        .args(args)
        .env("SYSTEMCTL", &fake)
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn install_places_binary_config_and_unit_and_keeps_an_edited_config() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("systemctl.log");
    let root_arg = root.path().to_str().unwrap();
    let out = run_script(
        "install.sh",
        &["--root", root_arg, "--binary", binary()],
        &log,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let installed = root.path().join("usr/local/bin/trading-planner");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(binary()).unwrap()
    );
    assert_eq!(mode(&installed), 0o755);
    let config = root.path().join("etc/trading-planner/config.yaml");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        std::fs::read_to_string(repo("config/board.yaml")).unwrap()
    );
    let unit = root
        .path()
        .join("etc/systemd/system/trading-planner.service");
    assert_eq!(std::fs::read_to_string(&unit).unwrap(), unit_text());
    // Where config/board.yaml's backtest.data_dir points.
    let backtest = root.path().join("usr/local/share/trading-planner/backtest");
    for file in [
        "sp500_prices.csv",
        "ecb_rates.csv",
        "scenario.yaml",
        "NOTICE.md",
    ] {
        assert_eq!(
            std::fs::read(backtest.join(file)).unwrap(),
            std::fs::read(repo(&format!("data/backtest/{file}"))).unwrap(),
            "{file}"
        );
    }
    let board: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo("config/board.yaml")).unwrap()).unwrap();
    assert_eq!(
        board["backtest"]["data_dir"].as_str(),
        Some("/usr/local/share/trading-planner/backtest")
    );
    assert!(!log.exists(), "systemctl must not run with --root");

    // A second install keeps the user's edits and puts the shipped file beside them.
    std::fs::write(&config, "server:\n  bind: 192.168.1.20:8000\n").unwrap();
    let out = run_script(
        "install.sh",
        &["--root", root_arg, "--binary", binary()],
        &log,
    );
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "server:\n  bind: 192.168.1.20:8000\n"
    );
    assert!(
        root.path()
            .join("etc/trading-planner/config.yaml.new")
            .exists()
    );

    // Uninstall keeps configuration and data; --purge removes them.
    let data = root.path().join("var/lib/trading-planner");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("trading-planner.db"), b"plans").unwrap();
    let out = run_script("uninstall.sh", &["--root", root_arg], &log);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!installed.exists() && !unit.exists() && !backtest.exists());
    assert!(config.exists() && data.join("trading-planner.db").exists());
    let out = run_script("uninstall.sh", &["--root", root_arg, "--purge"], &log);
    assert!(out.status.success());
    assert!(!config.exists() && !data.exists());
}

#[test]
fn install_refuses_missing_files_and_unknown_arguments() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("systemctl.log");
    let root_arg = root.path().to_str().unwrap();
    let missing = root.path().join("no-such-binary");
    let cases: [(&[&str], &str); 3] = [
        (
            &["--root", root_arg, "--binary", missing.to_str().unwrap()],
            "does not exist",
        ),
        (&["--root", root_arg, "--frobnicate"], "unknown argument"),
        (&["--root"], "needs a directory"),
    ];
    for (args, message) in cases {
        let out = run_script("install.sh", args, &log);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    assert!(!root.path().join("usr").exists(), "nothing installed");
}

#[test]
fn the_board_profile_loads_and_serves_with_the_python_services_configured() {
    let dir = tempfile::tempdir().unwrap();
    let board = repo("config/board.yaml");
    let mut server =
        ServerProcess::start_with(dir.path(), &[], &["--config", board.to_str().unwrap()]);
    let port = server.port();
    wait_for(std::time::Duration::from_secs(30), "the server", || {
        http(port, "GET", "/readyz", "")
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    // Reads need the token, generated on first start; the dashboard's page does not.
    let token = std::fs::read_to_string(dir.path().join("access-token")).unwrap();
    let token = Some(token.trim());
    assert_eq!(http(port, "GET", "/api/upstreams", "").unwrap().0, 401);
    assert_eq!(http(port, "GET", "/", "").unwrap().0, 200);
    let (status, body) = http_with(port, "GET", "/api/upstreams", "", token).unwrap();
    assert_eq!(status, 200, "{body}");
    let upstreams: Value = serde_json::from_str(&body).unwrap();
    let (_, gateway_status) = http_with(port, "GET", "/gateway/status", "", token).unwrap();
    server.kill();

    // The planner's own clients, with the board's URLs.
    let text = upstreams.to_string();
    for url in ["http://127.0.0.1:9001", "http://127.0.0.1:8004"] {
        assert!(text.contains(url), "{url} not in {text}");
    }
    // The services only proxied are configured too.
    for name in ["universe", "portfolio", "trading", "optimization"] {
        assert!(
            gateway_status.contains(&format!("\"service_name\":\"{name}\"")),
            "{name} not in {gateway_status}"
        );
    }
    let log = server.stderr();
    assert!(!log.contains("panicked"), "{log}");

    let board: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo("config/board.yaml")).unwrap()).unwrap();
    assert_eq!(board["server"]["bind"].as_str(), Some("0.0.0.0:8000"));
}

/// Leaf keys of a YAML file with the line each is on.
fn leaf_keys(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut keys = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let has_children = value.trim().is_empty()
            && lines[i + 1..]
                .iter()
                .find(|next| !next.trim().is_empty() && !next.trim().starts_with('#'))
                .is_some_and(|next| indent(next) > indent(line));
        if !has_children {
            keys.push((i, key.to_owned()));
        }
    }
    keys
}

#[test]
fn default_yaml_documents_every_key() {
    let text = std::fs::read_to_string(repo("config/default.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Keys repeated per service or per data kind are explained once, at their first use.
    let mut documented = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (line, key) in leaf_keys(&text) {
        seen.insert(key.clone());
        let commented = lines[..line]
            .iter()
            .rev()
            .take_while(|l| l.trim().starts_with('#') || l.trim().is_empty())
            .any(|l| l.trim().starts_with('#'))
            || lines[line].contains(" # ");
        if commented {
            documented.insert(key);
        }
    }
    let undocumented: Vec<_> = seen.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "keys without a comment: {undocumented:?}"
    );
    assert!(seen.len() > 30, "{seen:?}");
}
