//! The Debian package built by cargo-deb (tests/run installs it) from the binary under test:
//! its files, its conffiles and its maintainer scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::binary;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `cargo deb --no-build` on the binary this suite built, without building or compressing
/// anything slow: the binary is linked into a throw-away target directory where cargo-deb
/// looks for a release build (`target[/TRIPLE]/release`), stripped, and gzip-compressed by
/// the system's gzip (cargo-deb's own compressor takes minutes on a debug binary).
fn build_package(out: &Path) -> PathBuf {
    let binary = Path::new(binary());
    let above = binary.parent().unwrap().parent().unwrap();
    let above_name = above.file_name().unwrap().to_str().unwrap();
    let triple = above_name.contains("-linux-").then_some(above_name);
    // Under the suite's own target directory, so the link stays on one filesystem.
    let target = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let release = match triple {
        Some(triple) => target.path().join(triple).join("release"),
        None => target.path().join("release"),
    };
    std::fs::create_dir_all(&release).unwrap();
    let staged = release.join("trading-planner");
    if std::fs::hard_link(binary, &staged).is_err() {
        std::fs::copy(binary, &staged).unwrap();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(repo(""))
        .env("CARGO_TARGET_DIR", target.path())
        .args(["deb", "--no-build", "--strip", "--fast", "-Z", "gz"])
        .args(["--compress-system", "--output"])
        .arg(out);
    if let Some(triple) = triple {
        command.args(["--target", triple]);
    }
    let output = command
        .output()
        .expect("cargo runs (tests/run installs cargo-deb)");
    assert!(
        output.status.success(),
        "cargo deb failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb file")
}

fn dpkg_deb(args: &[&str], deb: &Path) -> String {
    let output = Command::new("dpkg-deb")
        .args(args)
        .arg(deb)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "dpkg-deb {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_debian_package_holds_the_service_its_conffile_and_its_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let deb = build_package(dir.path());

    // The files, where install.sh puts them, so the unit and profile are the same files.
    let listing = dpkg_deb(&["--contents"], &deb);
    for path in [
        "./usr/local/bin/trading-planner",
        "./etc/trading-planner/config.yaml",
        "./usr/lib/systemd/system/trading-planner.service",
        "./usr/local/share/trading-planner/backtest/sp500_prices.csv",
        "./usr/local/share/trading-planner/backtest/ecb_rates.csv",
        "./usr/local/share/trading-planner/backtest/scenario.yaml",
        "./usr/local/share/trading-planner/backtest/NOTICE.md",
        "./usr/local/share/doc/trading-planner/README.md",
        "./usr/share/doc/trading-planner/copyright",
        "./usr/share/doc/trading-planner/NOTICE.backtest-data.md",
        "./usr/local/share/trading-planner/matrix/trading_planner_matrix/trading_planner_matrix.ino",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(path)),
            "{path} not in:\n{listing}"
        );
    }
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("usr/local/bin/trading-planner")),
        "{listing}"
    );

    // The unpacked files are the repository's.
    let root = dir.path().join("root");
    let out = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&root)
        .output()
        .unwrap();
    assert!(out.status.success());
    for (installed, shipped) in [
        ("etc/trading-planner/config.yaml", "config/board.yaml"),
        (
            "usr/lib/systemd/system/trading-planner.service",
            "systemd/trading-planner.service",
        ),
    ] {
        assert_eq!(
            std::fs::read(root.join(installed)).unwrap(),
            std::fs::read(repo(shipped)).unwrap(),
            "{installed}"
        );
    }

    // The board profile is a conffile: dpkg keeps the user's edits on upgrade.
    let control = dir.path().join("control");
    let out = Command::new("dpkg-deb")
        .arg("-e")
        .arg(&deb)
        .arg(&control)
        .output()
        .unwrap();
    assert!(out.status.success());
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert_eq!(
        conffiles.lines().collect::<Vec<_>>(),
        ["/etc/trading-planner/config.yaml"]
    );
    let fields = std::fs::read_to_string(control.join("control")).unwrap();
    assert!(fields.contains("Package: trading-planner"), "{fields}");

    // Install enables and starts, removal stops, remove keeps the data and purge deletes it:
    // the scripts run as dpkg runs them, against a fake root.
    let root = dir.path().join("fake-root");
    let run = |script: &str, args: &[&str]| run_maintainer_script(&control, &root, script, args);

    let calls = run("postinst", &["configure"]);
    assert!(
        calls.contains(&"deb-systemd-helper enable trading-planner.service".to_owned()),
        "{calls:?}"
    );
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("deb-systemd-invoke")
                && c.contains("start trading-planner.service")),
        "{calls:?}"
    );

    let calls = run("prerm", &["remove"]);
    assert!(
        calls
            .iter()
            .any(|c| c.starts_with("deb-systemd-invoke stop trading-planner.service")),
        "{calls:?}"
    );

    let data = root.join("var/lib/trading-planner");
    let private = root.join("var/lib/private/trading-planner");
    let etc = root.join("etc/trading-planner");
    for dir in [&data, &private, &etc] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("kept"), "x").unwrap();
    }
    run("postrm", &["remove"]);
    for dir in [&data, &private, &etc] {
        assert!(
            dir.join("kept").exists(),
            "{} deleted on remove",
            dir.display()
        );
    }
    run("postrm", &["purge"]);
    for dir in [&data, &private, &etc] {
        assert!(!dir.exists(), "{} kept on purge", dir.display());
    }
}

/// Runs maintainer script `name` of the package with `args`, its absolute paths moved under
/// `root` and the systemd helpers replaced by stubs that log their arguments: the calls made.
fn run_maintainer_script(control: &Path, root: &Path, name: &str, args: &[&str]) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read_to_string(control.join(name))
        .unwrap_or_else(|e| panic!("no {name} in the package: {e}"));
    let root_text = root.to_str().unwrap();
    let mut moved = text.clone();
    for prefix in ["/var/lib/", "/etc/", "/run/", "/usr/bin/"] {
        moved = moved.replace(&format!(" {prefix}"), &format!(" {root_text}{prefix}"));
        moved = moved.replace(&format!("\"{prefix}"), &format!("\"{root_text}{prefix}"));
    }
    let stubs = root.join("usr/bin");
    std::fs::create_dir_all(&stubs).unwrap();
    // systemd is "running" (the scripts check /run/systemd/system).
    std::fs::create_dir_all(root.join("run/systemd/system")).unwrap();
    let log = root.join("calls.log");
    let _ = std::fs::remove_file(&log);
    for tool in [
        "systemctl",
        "deb-systemd-helper",
        "deb-systemd-invoke",
        "invoke-rc.d",
    ] {
        let stub = stubs.join(tool);
        std::fs::write(
            &stub,
            format!("#!/bin/sh\necho \"{tool} $*\" >> '{}'\n", log.display()),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let script = root.join(format!("{name}.sh"));
    std::fs::write(&script, moved).unwrap();
    let path = format!("{}:/usr/bin:/bin", stubs.display());
    let out = Command::new("sh")
        .arg(&script)
        .args(args)
        .env("PATH", path)
        .env_remove("DPKG_ROOT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?} failed:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}
