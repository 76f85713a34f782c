//! `trading-planner shadow`: replays a directory of recorded requests (`serve --record DIR`)
//! against two base URLs, one request at a time in arrival order, both targets at once, and
//! compares each pair of answers with [`compare_answers`].
//!
//! Exit status: 0 when every answer matches, 1 on any drift or any error reaching a target,
//! 2 on a usage error (a bad URL, option or directory, no request files, a malformed file),
//! found before any request is sent.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indexmap::IndexMap;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;

use super::compare::{
    Answer, CompareOptions, Difference, check_pattern, compare_answers, default_ignored_paths,
};
use super::request::{RecordedRequest, request_files};

/// Requests from which a progress bar is shown (on a terminal only).
const PROGRESS_FROM: usize = 20;

/// Routes never replayed: they execute trades.
const NEVER_REPLAYED: [(&str, &str); 1] = [("POST", "/gateway/trading-cycle")];

#[derive(Debug, Clone, Args)]
pub struct ShadowArgs {
    /// Base URL of the trusted side (e.g. the Python gateway): http://HOST:PORT[/PREFIX].
    #[arg(long, value_name = "URL")]
    pub primary: String,
    /// Base URL of the side under test (e.g. trading-planner serve).
    #[arg(long, value_name = "URL")]
    pub candidate: String,
    /// Directory of recorded requests (written by `serve --record DIR`), replayed in the order
    /// of their file names.
    #[arg(long, value_name = "DIR")]
    pub requests: PathBuf,
    /// Bearer token sent to both targets (state-changing routes need it).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SHADOW_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// File whose first line is the bearer token (e.g. DATA_DIR/access-token).
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Numbers match when they differ by at most this much…
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1e-9,
        allow_negative_numbers = true
    )]
    pub abs_tolerance: f64,
    /// …or by at most this fraction of the larger one.
    #[arg(
        long,
        value_name = "X",
        default_value_t = 1e-9,
        allow_negative_numbers = true
    )]
    pub rel_tolerance: f64,
    /// A JSON path not compared, added to the default ones (ids, timestamps, timings): `$.a.b`,
    /// `$.items[*].id`, `**.created_at`, `status`. Repeatable.
    #[arg(long = "ignore", value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Compare the ids, timestamps and timings the default ignores leave out.
    #[arg(long)]
    pub no_default_ignores: bool,
    /// Longest wait for one answer, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout_secs: f64,
    /// Print the report as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Differences and errors shown per route.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show: usize,
}

/// A usage error: reported before anything is sent, exit status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What `shadow` checked and loaded before sending anything.
#[derive(Debug)]
pub struct Plan {
    pub primary: reqwest::Url,
    pub candidate: reqwest::Url,
    pub token: Option<String>,
    pub options: CompareOptions,
    pub timeout: Duration,
    pub requests: Vec<(String, RecordedRequest)>,
}

/// Checks the arguments and loads every request file.
pub fn prepare(args: &ShadowArgs) -> Result<Plan, UsageError> {
    let usage = |m: String| Err(UsageError(m));
    let primary = base_url("--primary", &args.primary)?;
    let candidate = base_url("--candidate", &args.candidate)?;
    for (name, value) in [
        ("--abs-tolerance", args.abs_tolerance),
        ("--rel-tolerance", args.rel_tolerance),
    ] {
        if !(value.is_finite() && value >= 0.0) {
            return usage(format!("{name} must be a number ≥ 0, not {value}"));
        }
    }
    if !(args.timeout_secs.is_finite() && args.timeout_secs > 0.0 && args.timeout_secs <= 3600.0) {
        return usage(format!(
            "--timeout-secs must be between 0 and 3600, not {}",
            args.timeout_secs
        ));
    }
    let mut ignore = if args.no_default_ignores {
        Vec::new()
    } else {
        default_ignored_paths()
    };
    for pattern in &args.ignore {
        check_pattern(pattern).map_err(|e| UsageError(format!("--ignore {e}")))?;
        ignore.push(pattern.clone());
    }
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.trim().to_string()),
        (None, Some(path)) => Some(read_token(path)?),
        (None, None) => None,
    };
    if let Some(token) = &token
        && (token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()))
    {
        return usage("the token must be one word of visible ASCII characters".into());
    }
    let dir = &args.requests;
    if !dir.is_dir() {
        return usage(format!(
            "--requests {}: no such directory (record one with `trading-planner serve --record DIR`)",
            dir.display()
        ));
    }
    let files =
        request_files(dir).map_err(|e| UsageError(format!("--requests {}: {e}", dir.display())))?;
    if files.is_empty() {
        return usage(format!(
            "--requests {}: no request files (*.json) in it (record some with \
             `trading-planner serve --record DIR`)",
            dir.display()
        ));
    }
    let mut requests = Vec::with_capacity(files.len());
    for path in files {
        let request = RecordedRequest::load(&path).map_err(|e| UsageError(e.to_string()))?;
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        requests.push((name, request));
    }
    Ok(Plan {
        primary,
        candidate,
        token,
        options: CompareOptions {
            abs_tolerance: args.abs_tolerance,
            rel_tolerance: args.rel_tolerance,
            ignore,
        },
        timeout: Duration::from_secs_f64(args.timeout_secs),
        requests,
    })
}

fn base_url(flag: &str, text: &str) -> Result<reqwest::Url, UsageError> {
    let bad = |why: String| UsageError(format!("{flag} {text:?} is not a base URL: {why}"));
    let url = reqwest::Url::parse(text.trim()).map_err(|e| bad(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https".into()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or a fragment".into()));
    }
    Ok(url)
}

fn read_token(path: &Path) -> Result<String, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("--token-file {}: {e}", path.display())))?;
    Ok(text.lines().next().unwrap_or_default().trim().to_string())
}

/// `base` + the recorded path and query: `http://h:1/prefix` + `/a?b` = `http://h:1/prefix/a?b`.
pub fn target_url(base: &reqwest::Url, path: &str) -> Result<reqwest::Url, String> {
    let joined = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    reqwest::Url::parse(&joined).map_err(|e| format!("{joined}: {e}"))
}

/// How many requests were replayed and how they went: the columns of the report's table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub requests: u64,
    pub matches: u64,
    /// Requests whose answers differ.
    pub differences: u64,
    /// Requests that could not be compared: a target did not answer, or refused the token.
    pub errors: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.requests += other.requests;
        self.matches += other.matches;
        self.differences += other.differences;
        self.errors += other.errors;
    }
}

/// How the requests of one route (method and path without query) went.
#[derive(Debug, Default, Serialize)]
pub struct RouteReport {
    pub route: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// The first differences, with the request file they came from.
    pub first_differences: Vec<ShownDifference>,
    pub first_errors: Vec<ShownError>,
}

#[derive(Debug, Serialize)]
pub struct ShownDifference {
    pub file: String,
    #[serde(flatten)]
    pub difference: Difference,
}

#[derive(Debug, Serialize)]
pub struct ShownError {
    pub file: String,
    pub error: String,
}

/// The whole replay.
#[derive(Debug, Serialize)]
pub struct Report {
    pub primary: String,
    pub candidate: String,
    /// Over all routes.
    #[serde(flatten)]
    pub counts: Counts,
    /// Files not replayed (routes that execute trades).
    pub skipped: Vec<String>,
    /// Set when the replay stopped early because a target could not be reached at all.
    pub aborted: Option<String>,
    pub routes: Vec<RouteReport>,
}

impl Report {
    pub fn all_match(&self) -> bool {
        self.counts.differences == 0 && self.counts.errors == 0 && self.aborted.is_none()
    }
}

/// Runs `shadow`: prints the report and returns the exit status.
pub fn run(args: &ShadowArgs) -> ExitCode {
    let plan = match prepare(args) {
        Ok(plan) => plan,
        Err(UsageError(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let report = match replay(&plan, args.show, false) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {}", with_causes(&error));
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        print_table(&mut out, &report, args.requests.as_path())
    };
    if let Err(error) = printed {
        eprintln!("error: writing the report: {error}");
        return ExitCode::FAILURE;
    }
    if let Some(why) = &report.aborted {
        eprintln!("error: {why}");
    }
    if report.all_match() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Why a replay could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `error` followed by each of its causes, separated by `": "`.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends every request of `plan` to both targets and compares the answers, keeping `show`
/// examples per route; `quiet` never shows the progress bar.
pub fn replay(plan: &Plan, show: usize, quiet: bool) -> Result<Report, ReplayError> {
    let client = crate::upstream::http_client(plan.timeout)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let bar = progress_bar(plan.requests.len(), quiet);
    let mut report = Report {
        primary: plan.primary.to_string(),
        candidate: plan.candidate.to_string(),
        counts: Counts::default(),
        skipped: Vec::new(),
        aborted: None,
        routes: Vec::new(),
    };
    let mut routes: IndexMap<String, RouteReport> = IndexMap::new();
    let mut answered = [false, false];
    for (file, request) in &plan.requests {
        bar.inc(1);
        let route = format!("{} {}", request.method, request.route_path());
        if NEVER_REPLAYED
            .iter()
            .any(|(m, p)| request.method == *m && request.route_path().trim_end_matches('/') == *p)
        {
            bar.suspend(|| eprintln!("skipped {file}: {route} executes trades"));
            report.skipped.push(file.clone());
            continue;
        }
        let stats = routes.entry(route.clone()).or_insert_with(|| RouteReport {
            route,
            ..RouteReport::default()
        });
        stats.counts.requests += 1;
        let request_id = format!("shadow-{}", file.trim_end_matches(".json"));
        let (primary, candidate) = runtime.block_on(async {
            tokio::join!(
                send(
                    &client,
                    &plan.primary,
                    plan.token.as_deref(),
                    request,
                    &request_id
                ),
                send(
                    &client,
                    &plan.candidate,
                    plan.token.as_deref(),
                    request,
                    &request_id
                ),
            )
        });
        let mut failures = Vec::new();
        for (n, (role, base, outcome)) in [
            ("primary", &plan.primary, &primary),
            ("candidate", &plan.candidate, &candidate),
        ]
        .into_iter()
        .enumerate()
        {
            match outcome {
                Ok(_) => answered[n] = true,
                Err(failure) => {
                    if failure.unreachable && !answered[n] && report.aborted.is_none() {
                        report.aborted = Some(format!(
                            "cannot reach the {role} at {base}: {}",
                            failure.message
                        ));
                    }
                    failures.push(format!("{role}: {}", failure.message));
                }
            }
        }
        // The recorder only keeps requests that passed authentication, so a refusal here means
        // the token is missing or wrong: nothing was compared.
        for (role, outcome) in [("primary", &primary), ("candidate", &candidate)] {
            if let Ok(answer) = outcome
                && matches!(answer.status, 401 | 403)
            {
                failures.push(format!(
                    "{role}: answered {} (give the token with --token or --token-file)",
                    answer.status
                ));
            }
        }
        match (primary, candidate) {
            (Ok(primary), Ok(candidate)) if failures.is_empty() => {
                let found = compare_answers(&primary, &candidate, &plan.options);
                if found.is_empty() {
                    stats.counts.matches += 1;
                } else {
                    stats.counts.differences += 1;
                    let room = show.saturating_sub(stats.first_differences.len());
                    stats
                        .first_differences
                        .extend(
                            found
                                .into_iter()
                                .take(room)
                                .map(|difference| ShownDifference {
                                    file: file.clone(),
                                    difference,
                                }),
                        );
                }
            }
            _ => {
                stats.counts.errors += 1;
                if stats.first_errors.len() < show {
                    stats.first_errors.push(ShownError {
                        file: file.clone(),
                        error: failures.join("; "),
                    });
                }
            }
        }
        if report.aborted.is_some() {
            break;
        }
    }
    bar.finish_and_clear();
    for stats in routes.values() {
        report.counts += stats.counts;
    }
    report.routes = routes.into_values().collect();
    Ok(report)
}

fn progress_bar(total: usize, quiet: bool) -> indicatif::ProgressBar {
    if quiet || total < PROGRESS_FROM || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} replaying [{bar:30}] {pos}/{len} requests (ETA {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// Why a target gave no answer.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Nothing listens there, or the name does not resolve.
    unreachable: bool,
}

async fn send(
    client: &reqwest::Client,
    base: &reqwest::Url,
    token: Option<&str>,
    request: &RecordedRequest,
    request_id: &str,
) -> Result<Answer, Failure> {
    let fail = |message: String| Failure {
        message,
        unreachable: false,
    };
    let url = target_url(base, &request.path).map_err(fail)?;
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|e| fail(format!("method {}: {e}", request.method)))?;
    let mut headers = HeaderMap::new();
    for (name, value) in &request.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    if let Some(token) = token
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(AUTHORIZATION, value);
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(crate::http_common::REQUEST_ID, value);
    }
    let response = client
        .request(method, url)
        .headers(headers)
        .body(request.body.clone())
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let content_type = crate::http_common::content_type(response.headers());
    let body = response.bytes().await.map_err(|e| describe(&e))?.to_vec();
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

fn describe(error: &reqwest::Error) -> Failure {
    use std::error::Error as _;
    let mut message = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        error.to_string()
    };
    // The innermost cause says why (connection refused, no such host, …).
    let mut source = error.source();
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(cause) = last
        && !message.contains(&cause)
    {
        message = format!("{message}: {cause}");
    }
    Failure {
        message,
        unreachable: error.is_connect(),
    }
}

/// The report as a table, then the first differences and errors of each route.
pub fn print_table(out: &mut impl Write, report: &Report, dir: &Path) -> std::io::Result<()> {
    writeln!(
        out,
        "Replayed {} requests from {}",
        report.counts.requests,
        dir.display()
    )?;
    writeln!(out, "  primary:   {}", report.primary)?;
    writeln!(out, "  candidate: {}", report.candidate)?;
    writeln!(out)?;
    let width = report
        .routes
        .iter()
        .map(|r| r.route.chars().count())
        .chain([5, "all routes".len()])
        .max()
        .unwrap_or(5);
    writeln!(
        out,
        "{:<width$}  {:>8}  {:>7}  {:>11}  {:>6}",
        "route", "requests", "matches", "differences", "errors"
    )?;
    let row = |out: &mut dyn Write, name: &str, c: &Counts| {
        writeln!(
            out,
            "{name:<width$}  {:>8}  {:>7}  {:>11}  {:>6}",
            c.requests, c.matches, c.differences, c.errors
        )
    };
    for r in &report.routes {
        row(out, &r.route, &r.counts)?;
    }
    row(out, "all routes", &report.counts)?;
    for r in &report.routes {
        let c = &r.counts;
        if c.differences > 0 {
            writeln!(out)?;
            writeln!(
                out,
                "Drift in {}: {} of {} requests differ",
                r.route, c.differences, c.requests
            )?;
            for shown in &r.first_differences {
                let d = &shown.difference;
                writeln!(out, "  {}  {}", shown.file, d.path)?;
                writeln!(out, "      primary:   {}", d.primary)?;
                writeln!(out, "      candidate: {}", d.candidate)?;
            }
        }
        if c.errors > 0 {
            writeln!(out)?;
            writeln!(
                out,
                "Errors in {}: {} of {} requests could not be compared",
                r.route, c.errors, c.requests
            )?;
            for shown in &r.first_errors {
                writeln!(out, "  {}  {}", shown.file, shown.error)?;
            }
        }
    }
    if !report.skipped.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Skipped {} requests that execute trades: {}",
            report.skipped.len(),
            report.skipped.join(", ")
        )?;
    }
    writeln!(out)?;
    if report.all_match() {
        writeln!(out, "All {} answers match.", report.counts.matches)
    } else {
        writeln!(
            out,
            "{} of {} requests differ, {} errors{}.",
            report.counts.differences,
            report.counts.requests,
            report.counts.errors,
            if report.aborted.is_some() {
                "; the replay stopped early"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
