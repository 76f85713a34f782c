use clap::Parser;

use super::*;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    args: ShadowArgs,
}

fn args(extra: &[&str]) -> ShadowArgs {
    let mut argv = vec!["shadow"];
    argv.extend_from_slice(extra);
    Wrapper::try_parse_from(argv).unwrap().args
}

fn with_dir(dir: &Path, extra: &[&str]) -> ShadowArgs {
    let mut all = vec![
        "--primary",
        "http://127.0.0.1:1",
        "--candidate",
        "http://127.0.0.1:2/prefix/",
        "--requests",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(extra);
    args(&all)
}

fn usage_error(args: &ShadowArgs) -> String {
    match prepare(args) {
        Err(UsageError(message)) => message,
        Ok(plan) => panic!("accepted: {plan:?}"),
    }
}

fn one_request(dir: &Path) {
    RecordedRequest::new("GET", "/planning/plans?portfolio_hash=x", [], Vec::new())
        .save(dir, 1)
        .unwrap();
}

#[test]
fn a_good_directory_is_loaded_in_order_with_the_options() {
    let dir = tempfile::tempdir().unwrap();
    one_request(dir.path());
    RecordedRequest::new("POST", "/evaluator/evaluate", [], b"{}".to_vec())
        .save(dir.path(), 2)
        .unwrap();
    let plan = prepare(&with_dir(
        dir.path(),
        &[
            "--ignore",
            "$.x",
            "--abs-tolerance",
            "0.5",
            "--token",
            " t ",
        ],
    ))
    .unwrap();
    assert_eq!(plan.requests.len(), 2);
    assert_eq!(plan.requests[0].0, "000001-get-planning-plans.json");
    assert_eq!(plan.requests[1].1.body, b"{}");
    assert_eq!(plan.options.abs_tolerance, 0.5);
    assert_eq!(plan.options.rel_tolerance, 1e-9);
    let mut expected = default_ignored_paths();
    expected.push("$.x".into());
    assert_eq!(plan.options.ignore, expected);
    assert_eq!(plan.token.as_deref(), Some("t"));
    assert_eq!(plan.timeout, Duration::from_secs(30));

    let plan = prepare(&with_dir(
        dir.path(),
        &["--no-default-ignores", "--ignore", "status"],
    ))
    .unwrap();
    assert_eq!(plan.options.ignore, vec!["status".to_string()]);
    assert_eq!(plan.token, None);

    let token_file = dir.path().join("token.txt");
    std::fs::write(&token_file, "from-file\nrest\n").unwrap();
    let plan = prepare(&with_dir(
        dir.path(),
        &["--token-file", token_file.to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(plan.token.as_deref(), Some("from-file"));
}

#[test]
fn usage_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let message = usage_error(&with_dir(&missing, &[]));
    assert!(message.contains("no such directory"), "{message}");

    let message = usage_error(&with_dir(dir.path(), &[]));
    assert!(message.contains("no request files"), "{message}");

    std::fs::write(dir.path().join("000001-get-x.json"), "{not json").unwrap();
    let message = usage_error(&with_dir(dir.path(), &[]));
    assert!(
        message.contains("000001-get-x.json is not a recorded request"),
        "{message}"
    );
    std::fs::remove_file(dir.path().join("000001-get-x.json")).unwrap();
    one_request(dir.path());

    for (extra, needle) in [
        (&["--ignore", "$.a["][..], "--ignore"),
        (&["--abs-tolerance", "-1"], "--abs-tolerance"),
        (&["--rel-tolerance", "NaN"], "--rel-tolerance"),
        (&["--timeout-secs", "0"], "--timeout-secs"),
        (&["--token", "two words\n"], "token"),
        (&["--token-file", "/nonexistent/token"], "--token-file"),
    ] {
        let message = usage_error(&with_dir(dir.path(), extra));
        assert!(message.contains(needle), "{extra:?}: {message}");
    }
    for (primary, needle) in [
        ("localhost:8000", "scheme"),
        ("ftp://host/", "scheme"),
        ("not a url", "relative URL"),
        ("http://host/?q=1", "query"),
    ] {
        let mut a = with_dir(dir.path(), &[]);
        a.primary = primary.into();
        let message = usage_error(&a);
        assert!(message.starts_with("--primary"), "{message}");
        assert!(message.contains(needle), "{primary}: {message}");
    }
}

#[test]
fn the_recorded_path_goes_below_the_base_url() {
    let join = |base: &str, path: &str| {
        target_url(&reqwest::Url::parse(base).unwrap(), path)
            .unwrap()
            .to_string()
    };
    assert_eq!(join("http://h:1", "/a/b?x=1"), "http://h:1/a/b?x=1");
    assert_eq!(join("http://h:1/", "/a"), "http://h:1/a");
    assert_eq!(join("http://h:1/pre/", "/a?b"), "http://h:1/pre/a?b");
    assert_eq!(join("https://h/pre", "/a"), "https://h/pre/a");
}

#[test]
fn the_table_shows_every_route_then_the_drift() {
    let report = Report {
        primary: "http://p/".into(),
        candidate: "http://c/".into(),
        counts: Counts {
            requests: 3,
            matches: 1,
            differences: 1,
            errors: 1,
        },
        skipped: vec!["000009-post-gateway-trading-cycle.json".into()],
        aborted: None,
        routes: vec![
            RouteReport {
                route: "POST /evaluator/evaluate".into(),
                counts: Counts {
                    requests: 2,
                    matches: 1,
                    differences: 1,
                    errors: 0,
                },
                first_differences: vec![ShownDifference {
                    file: "000002-post-evaluator-evaluate.json".into(),
                    difference: Difference {
                        path: "$.top_sequences[0].total_score".into(),
                        primary: "0.5".into(),
                        candidate: "0.6".into(),
                    },
                }],
                first_errors: vec![],
            },
            RouteReport {
                route: "GET /planning/plans".into(),
                counts: Counts {
                    requests: 1,
                    errors: 1,
                    ..Counts::default()
                },
                first_errors: vec![ShownError {
                    file: "000003-get-planning-plans.json".into(),
                    error: "candidate: timed out".into(),
                }],
                ..RouteReport::default()
            },
        ],
    };
    let mut out = Vec::new();
    print_table(&mut out, &report, Path::new("rec")).unwrap();
    let text = String::from_utf8(out).unwrap();
    let expected = "\
Replayed 3 requests from rec
  primary:   http://p/
  candidate: http://c/

route                     requests  matches  differences  errors
POST /evaluator/evaluate         2        1            1       0
GET /planning/plans              1        0            0       1
all routes                       3        1            1       1

Drift in POST /evaluator/evaluate: 1 of 2 requests differ
  000002-post-evaluator-evaluate.json  $.top_sequences[0].total_score
      primary:   0.5
      candidate: 0.6

Errors in GET /planning/plans: 1 of 1 requests could not be compared
  000003-get-planning-plans.json  candidate: timed out

Skipped 1 requests that execute trades: 000009-post-gateway-trading-cycle.json

1 of 3 requests differ, 1 errors.
";
    assert_eq!(text, expected);
    assert!(!report.all_match());
}
