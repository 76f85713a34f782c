//! A fresh clone has nothing beside it: no file of the product, its tests or its scripts may
//! refer to a path outside the repository — neither a relative path that climbs out of it
//! (a sibling folder of the checkout, from a test) nor an absolute path of a developer's machine.

use std::path::{Component, Path, PathBuf};

use regex::Regex;

/// The folders whose files must stay inside the repository.
const CHECKED: [&str; 5] = ["src", "tests", ".ci", ".cargo", "systemd"];

/// Build output a script may name although a fresh clone does not have it yet.
const BUILD_OUTPUT: [&str; 1] = ["target"];

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Lexically resolves `relative` against `base` (both inside `root`); `None` when it climbs
/// above `root`.
fn resolve(root: &Path, base: &Path, relative: &str) -> Option<PathBuf> {
    let mut parts: Vec<_> = base
        .strip_prefix(root)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(name) => parts.push(name.to_owned()),
            _ => {}
        }
    }
    Some(parts.iter().collect())
}

/// The references to places outside the repository in `text`, a file of directory `dir`.
fn outside_references(root: &Path, dir: &Path, text: &str) -> Vec<String> {
    // A run of `../` and the first name after it. What comes before decides the base: a quote,
    // a space or the start of a line (a path of its own), or `$here/`, `$(dirname "$0")/`,
    // `${…}/` in a script (the script's folder). A `../` inside a longer path (`/universe/../x`,
    // a URL) is that path's business, not a file reference.
    let relative = Regex::new(
        r#"(?m)(?:^|[\s"'`(=]|\$\w+/|\$\{[^}]*\}/|\$\([^)]*\)/)((?:\.\./)+)([A-Za-z0-9_.-]+)"#,
    )
    .unwrap();
    let absolute =
        Regex::new(r"(?:^|[^\w.])(/(?:home|Users|root|work|mnt)/[A-Za-z0-9_.-]+)").unwrap();
    let mut found = Vec::new();
    for m in relative.captures_iter(text) {
        let path = format!("{}{}", &m[1], &m[2]);
        let inside = resolve(root, dir, &path).is_some_and(|resolved| {
            let first = resolved.components().next();
            root.join(&resolved).exists()
                || first.is_some_and(|c| BUILD_OUTPUT.iter().any(|b| c.as_os_str() == *b))
        });
        if !inside {
            found.push(path);
        }
    }
    found.extend(absolute.captures_iter(text).map(|m| m[1].to_string()));
    found
}

#[test]
fn no_file_refers_to_a_path_outside_the_repository() {
    let root = repository();
    let mut files = Vec::new();
    for dir in CHECKED {
        text_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 100,
        "the walk found only {} files",
        files.len()
    );
    let mut offences = Vec::new();
    // This file's own examples of what is refused are not references.
    let this_file = root.join(file!());
    for file in files.into_iter().filter(|f| *f != this_file) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue; // not text
        };
        for reference in outside_references(&root, file.parent().unwrap(), &text) {
            offences.push(format!(
                "{}: {reference}",
                file.strip_prefix(&root).unwrap().display()
            ));
        }
    }
    assert!(
        offences.is_empty(),
        "files refer to paths outside the repository (a fresh clone has nothing beside it):\n{}",
        offences.join("\n")
    );
}

#[test]
fn a_sibling_folder_or_a_home_directory_counts_as_outside() {
    let root = repository();
    let tests_it = root.join("tests/it");
    let found = outside_references(
        &root,
        &tests_it,
        r#"Path::new(env!("CARGO_MANIFEST_DIR")).join("../elsewhere/oracle")"#,
    );
    assert_eq!(found, ["../elsewhere"]);
    let found = outside_references(&root, &root.join(".ci"), "exec ../../elsewhere/run");
    assert_eq!(found, ["../../elsewhere"]);
    let found = outside_references(&root, &root, "cat /home/dev/oracle.json /Users/x/a");
    assert_eq!(found, ["/home/dev", "/Users/x"]);
}

#[test]
fn paths_that_stay_inside_the_repository_pass() {
    let root = repository();
    let src = root.join("src");
    assert!(
        outside_references(
            &root,
            &src,
            r#"include_str!("../data/demo/securities.yaml")"#
        )
        .is_empty()
    );
    let systemd = root.join("systemd");
    assert!(outside_references(&root, &systemd, r#"first_of "$here/../target/dist/x""#).is_empty());
    assert!(
        outside_references(
            &root,
            &root.join(".ci"),
            r#"exec "$(dirname "$0")/../tests/run""#
        )
        .is_empty()
    );
    // A URL path with a dot-dot segment is not a file reference.
    assert!(
        outside_references(
            &root,
            &src,
            r#"target_url("http://h:1", "/universe/../admin")"#
        )
        .is_empty()
    );
    assert!(
        outside_references(&root, &src, r#"Some("/etc/trading-planner/config.yaml")"#).is_empty()
    );
}
