//! Comparing two answers to the same request: the status, then the body as JSON, as NDJSON
//! (one JSON value per line, as `POST /generator/generate` answers), or as bytes.
//!
//! # Paths
//!
//! A difference is reported at a path: `status` for the status code, `$` for the body's root,
//! `$.a.b[3].c` below it (an object key after a dot, an array index in brackets). A key that is
//! empty or holds anything but letters, digits, `_` and `-` is written as a JSON string in
//! brackets: `$.weights["BRK.B"]`. An NDJSON body is an array of its lines: `$[2].batch_number`.
//!
//! # Ignore patterns
//!
//! Patterns are paths in the same syntax, matched segment by segment from the start, where a
//! `*` segment (`.*` or `[*]`) matches any one segment and a `**` segment matches any number
//! of segments, none included. A path that a pattern matches is skipped with everything below
//! it. A body path starts with `$` (or a `*` or `**` standing for it). Examples: `$.stats.total_time_seconds` (one field), `$.plans[*].id` (the `id` of every
//! element), `**.created_at` (every `created_at` key at any depth), `status` (the status code).

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// At most this many differences are reported for one pair of answers; the comparison stops
/// there, so two wholly different large answers cost bounded memory.
pub const MAX_DIFFERENCES: usize = 1000;

/// Longest rendering of a value in a [`Difference`]; longer ones are cut with `…`.
pub const MAX_VALUE_CHARS: usize = 200;

/// The text of a missing key or array element in a [`Difference`].
pub const MISSING: &str = "(missing)";

/// How two answers are compared.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareOptions {
    /// Two numbers match when they differ by at most this much…
    pub abs_tolerance: f64,
    /// …or by at most this fraction of the larger magnitude.
    pub rel_tolerance: f64,
    /// Paths never compared (see the module documentation for the syntax).
    pub ignore: Vec<String>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            abs_tolerance: 1e-9,
            rel_tolerance: 1e-9,
            ignore: default_ignored_paths(),
        }
    }
}

/// What differs between two runs of the same request for reasons other than drift: the ids
/// each service hands out, the clock, and timings.
///
/// - `**.plan_id`, `$.plan.id`, `$.plans[*].id`: the plan ids of `/planning/*` and of
///   `/gateway/trading-cycle`'s results, numbered by each database;
/// - `**.run_id`, `**.cycle_id`: planning run ids (trading cycle, 409 answers);
/// - `**.created_at`: when a plan was kept (`/planning/*`);
/// - `**.total_time_seconds`: the coordinator's timing (`/coordinator/create-plan`);
/// - `**.request_id`, `**.elapsed_secs`, `**.elapsed_ms`: ids and timings of answers that
///   echo them.
pub fn default_ignored_paths() -> Vec<String> {
    [
        "**.plan_id",
        "$.plan.id",
        "$.plans[*].id",
        "**.run_id",
        "**.cycle_id",
        "**.created_at",
        "**.total_time_seconds",
        "**.request_id",
        "**.elapsed_secs",
        "**.elapsed_ms",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// An answer as it came back: the status, the `Content-Type` header and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// One thing that differs: where, and both sides rendered as JSON text (cut at
/// [`MAX_VALUE_CHARS`]), [`MISSING`] for a side without the key or element.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Difference {
    pub path: String,
    pub primary: String,
    pub candidate: String,
}

/// Checks an ignore pattern, so a command line can refuse a malformed one; `compare_*` never
/// match a pattern that does not parse.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    parse_path(pattern).map(|_| ())
}

/// The differences between two JSON documents: missing or extra keys, array lengths, types,
/// strings, booleans and nulls exactly, numbers within either tolerance. Ignored paths are
/// skipped with what is below them. At most [`MAX_DIFFERENCES`], in document order (the
/// primary's keys, then the keys only the candidate has).
#[cfg(test)]
pub fn compare_json(
    primary: &Value,
    candidate: &Value,
    options: &CompareOptions,
) -> Vec<Difference> {
    let mut walk = Walk::new(options);
    walk.value(primary, candidate);
    walk.out
}

/// The differences between two answers: the status (at `status`), then the bodies. Both JSON:
/// `compare_json`. Both NDJSON (every non-blank line a JSON value): arrays of the lines.
/// Otherwise the bytes, one difference at `$` when they are not equal. A content type naming
/// NDJSON makes NDJSON the first reading tried; either way both bodies must read the same way
/// to be compared as values.
pub fn compare_answers(
    primary: &Answer,
    candidate: &Answer,
    options: &CompareOptions,
) -> Vec<Difference> {
    let mut walk = Walk::new(options);
    if primary.status != candidate.status && !walk.ignored(&[Segment::Key("status".into())]) {
        walk.out.push(Difference {
            path: "status".into(),
            primary: primary.status.to_string(),
            candidate: candidate.status.to_string(),
        });
    }
    if primary.body == candidate.body {
        return walk.out;
    }
    let ndjson_first = [primary, candidate].iter().any(|a| {
        a.content_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().contains("ndjson"))
    });
    type Reading = fn(&[u8]) -> Option<Value>;
    let readings: [Reading; 2] = if ndjson_first {
        [read_ndjson, read_json]
    } else {
        [read_json, read_ndjson]
    };
    for read in readings {
        if let (Some(p), Some(c)) = (read(&primary.body), read(&candidate.body)) {
            walk.value(&p, &c);
            return walk.out;
        }
    }
    if !walk.ignored(&[Segment::Root]) {
        let (p, c) = render_bytes(&primary.body, &candidate.body);
        walk.out.push(Difference {
            path: "$".into(),
            primary: p,
            candidate: c,
        });
    }
    walk.out
}

fn read_json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// Every non-blank line a JSON value, at least one line.
fn read_ndjson(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?;
    let lines = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).ok())
        .collect::<Option<Vec<Value>>>()?;
    (!lines.is_empty()).then_some(Value::Array(lines))
}

/// Two bodies as text; when their cut renderings look the same, the first differing byte.
fn render_bytes(primary: &[u8], candidate: &[u8]) -> (String, String) {
    let p = cut(&String::from_utf8_lossy(primary));
    let c = cut(&String::from_utf8_lossy(candidate));
    if p != c {
        return (p, c);
    }
    let at = primary
        .iter()
        .zip(candidate)
        .position(|(a, b)| a != b)
        .unwrap_or(primary.len().min(candidate.len()));
    let window = |b: &[u8]| {
        let end = b.len().min(at + 60);
        format!(
            "{} bytes, from byte {at}: {}",
            b.len(),
            cut(&String::from_utf8_lossy(&b[at.min(b.len())..end]))
        )
    };
    (window(primary), window(candidate))
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn render(value: &Value) -> String {
    cut(&value.to_string())
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `$`, the body's root.
    Root,
    Key(String),
    Index(usize),
    /// `*` in a pattern: any one segment.
    Any,
    /// `**` in a pattern: any number of segments.
    AnyDepth,
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn render_path(path: &[Segment]) -> String {
    let mut out = String::new();
    for (n, segment) in path.iter().enumerate() {
        match segment {
            Segment::Root => out.push('$'),
            Segment::Key(key) if is_plain_key(key) => {
                if n > 0 {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Key(key) => {
                let _ = write!(out, "[{}]", Value::String(key.clone()));
            }
            Segment::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Segment::Any => out.push_str(if n > 0 { ".*" } else { "*" }),
            Segment::AnyDepth => out.push_str(if n > 0 { ".**" } else { "**" }),
        }
    }
    out
}

/// Parses a path or pattern: `$` or a first name, then `.name`, `.*`, `.**`, `[N]`, `[*]` or
/// `["any key"]`.
fn parse_path(text: &str) -> Result<Vec<Segment>, String> {
    fn name_segment(name: &str) -> Segment {
        match name {
            "$" => Segment::Root,
            "*" => Segment::Any,
            "**" => Segment::AnyDepth,
            _ => Segment::Key(name.to_string()),
        }
    }
    let bad = |why: &str| Err(format!("{text:?} is not a path pattern: {why}"));
    let mut segments = Vec::new();
    let mut rest = text.trim();
    if rest.is_empty() {
        return bad("it is empty");
    }
    let mut first = true;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            if inner.starts_with('"') {
                // A JSON string up to its closing quote, then `]`.
                let mut stream = serde_json::Deserializer::from_str(inner).into_iter::<String>();
                let Some(Ok(key)) = stream.next() else {
                    return bad("a bracketed key must be a JSON string");
                };
                let used = stream.byte_offset();
                let Some(tail) = inner[used..].strip_prefix(']') else {
                    return bad("a bracketed key must end with ]");
                };
                segments.push(Segment::Key(key));
                rest = tail;
            } else {
                let Some((index, tail)) = inner.split_once(']') else {
                    return bad("a [ without its ]");
                };
                segments.push(match index {
                    "*" => Segment::Any,
                    _ => match index.parse() {
                        Ok(i) => Segment::Index(i),
                        Err(_) => return bad("an index must be a number or *"),
                    },
                });
                rest = tail;
            }
        } else {
            let from = if first {
                rest
            } else if let Some(from) = rest.strip_prefix('.') {
                from
            } else {
                return bad("expected . or [");
            };
            let (name, tail) = from.split_at(from.find(['.', '[']).unwrap_or(from.len()));
            if name.is_empty() {
                return bad("an empty name");
            }
            if name.contains([']', '"']) {
                return bad("a name with ] or \"; write it as [\"key\"]");
            }
            if name.starts_with('$') && !(first && name == "$") {
                return bad("$ is the body's root, only at the start; write a key as [\"key\"]");
            }
            segments.push(name_segment(name));
            rest = tail;
        }
        first = false;
    }
    Ok(segments)
}

/// Whether `pattern` matches the whole of `path`.
fn matches(pattern: &[Segment], path: &[Segment]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((Segment::AnyDepth, rest)) => {
            (0..=path.len()).any(|skip| matches(rest, &path[skip..]))
        }
        Some((head, rest)) => match path.split_first() {
            None => false,
            Some((segment, tail)) => {
                (head == &Segment::Any || head == segment) && matches(rest, tail)
            }
        },
    }
}

struct Walk<'a> {
    options: &'a CompareOptions,
    patterns: Vec<Vec<Segment>>,
    path: Vec<Segment>,
    out: Vec<Difference>,
}

impl<'a> Walk<'a> {
    fn new(options: &'a CompareOptions) -> Walk<'a> {
        Walk {
            options,
            patterns: options
                .ignore
                .iter()
                .filter_map(|p| parse_path(p).ok())
                .collect(),
            path: vec![Segment::Root],
            out: Vec::new(),
        }
    }

    fn ignored(&self, path: &[Segment]) -> bool {
        self.patterns.iter().any(|p| matches(p, path))
    }

    fn full(&self) -> bool {
        self.out.len() >= MAX_DIFFERENCES
    }

    fn report(&mut self, primary: String, candidate: String) {
        if !self.full() {
            self.out.push(Difference {
                path: render_path(&self.path),
                primary,
                candidate,
            });
        }
    }

    fn child(&mut self, segment: Segment, primary: Option<&Value>, candidate: Option<&Value>) {
        self.path.push(segment);
        match (primary, candidate) {
            (Some(p), Some(c)) => self.value(p, c),
            (Some(p), None) => {
                if !self.ignored(&self.path) {
                    self.report(render(p), MISSING.into());
                }
            }
            (None, Some(c)) => {
                if !self.ignored(&self.path) {
                    self.report(MISSING.into(), render(c));
                }
            }
            (None, None) => {}
        }
        self.path.pop();
    }

    fn value(&mut self, primary: &Value, candidate: &Value) {
        if self.full() || self.ignored(&self.path) {
            return;
        }
        match (primary, candidate) {
            (Value::Object(p), Value::Object(c)) => {
                for (key, value) in p {
                    self.child(Segment::Key(key.clone()), Some(value), c.get(key));
                }
                for (key, value) in c {
                    if !p.contains_key(key) {
                        self.child(Segment::Key(key.clone()), None, Some(value));
                    }
                }
            }
            (Value::Array(p), Value::Array(c)) => {
                if p.len() != c.len() {
                    self.report(
                        format!("array of {} items", p.len()),
                        format!("array of {} items", c.len()),
                    );
                }
                for (i, (p, c)) in p.iter().zip(c).enumerate() {
                    self.child(Segment::Index(i), Some(p), Some(c));
                }
            }
            (Value::Number(p), Value::Number(c)) => {
                if !numbers_match(p, c, self.options) {
                    self.report(p.to_string(), c.to_string());
                }
            }
            _ => {
                if primary != candidate {
                    self.report(render(primary), render(candidate));
                }
            }
        }
    }
}

/// Within `abs_tolerance`, or within `rel_tolerance` of the larger magnitude. Two integers are
/// subtracted exactly; `1` and `1.0` are the same number.
fn numbers_match(p: &Number, c: &Number, options: &CompareOptions) -> bool {
    if p == c {
        return true;
    }
    let as_int = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    let (gap, scale) = match (as_int(p), as_int(c)) {
        (Some(x), Some(y)) => (
            x.abs_diff(y) as f64,
            x.unsigned_abs().max(y.unsigned_abs()) as f64,
        ),
        _ => {
            let (Some(x), Some(y)) = (p.as_f64(), c.as_f64()) else {
                return false;
            };
            ((x - y).abs(), x.abs().max(y.abs()))
        }
    };
    gap <= options.abs_tolerance || gap <= options.rel_tolerance * scale
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
