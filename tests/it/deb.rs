//! The Debian package built by cargo-deb (tests/run installs it) from the binary under test:
//! its files, its conffiles and its maintainer scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::binary;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `cargo deb --no-build` on the binary this suite built: its target directory, its target
/// triple when cross-built, its profile; stripped (the debug binary is 200 MB) and fast compression keep it quick.
fn build_package(out: &Path) -> PathBuf {
    let binary = Path::new(binary());
    let profile_dir = binary.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev",
        other => other,
    };
    let above = profile_dir.parent().unwrap();
    let above_name = above.file_name().unwrap().to_str().unwrap();
    let (target_dir, triple) = if above_name.contains("-linux-") {
        (above.parent().unwrap(), Some(above_name))
    } else {
        (above, None)
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(repo(""))
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["deb", "--no-build", "--strip", "--fast", "-Z", "gz"])
        .args(["--profile", profile, "--output"])
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

    // Install enables and starts, removal stops, purge (only) deletes the data.
    let script = |name: &str| std::fs::read_to_string(control.join(name)).unwrap_or_default();
    let postinst = script("postinst");
    assert!(
        postinst.contains("deb-systemd-helper") && postinst.contains("enable"),
        "{postinst}"
    );
    assert!(postinst.contains("trading-planner.service"), "{postinst}");
    assert!(
        postinst.contains("deb-systemd-invoke") && postinst.contains("start"),
        "{postinst}"
    );
    let prerm = script("prerm");
    assert!(prerm.contains("stop"), "{prerm}");
    let postrm = script("postrm");
    let purge = postrm
        .find("\"$1\" = purge ]")
        .expect("a purge branch in postrm");
    assert!(
        postrm[purge..].contains("rm -rf /var/lib/trading-planner"),
        "{postrm}"
    );
    assert!(
        !postrm[..purge].contains("/var/lib/trading-planner"),
        "data deleted outside purge:\n{postrm}"
    );
}
