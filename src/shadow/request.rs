//! A recorded request: one JSON file per request, written by `serve --record` and replayed by
//! `shadow`.
//!
//! ```json
//! {"method": "POST", "path": "/evaluator/evaluate?x=1",
//!  "headers": {"content-type": "application/json"},
//!  "body": {"sequences": [], "...": "..."}}
//! ```
//!
//! - `path` is the path and query as the client sent them.
//! - `headers` are the request's headers, lower-case, in arrival order (repeated headers joined
//!   with `, `), without credentials (`authorization`, `cookie`, API keys, …) and without the
//!   headers of the connection (`host`, `content-length`, `connection`, `accept-encoding`, …)
//!   or the request id.
//! - `body`: a body that is a JSON object or array is written as that JSON text, byte for byte,
//!   but compact: the whitespace between tokens (and around the value) is left out, nothing
//!   else changes. Key order, number text (`1e-05`, `0.30`, `1E+2`), escapes and the text of
//!   strings stay as sent (a body sent compact is kept exactly), and the replay sends exactly
//!   the text the file holds. Any other body (text, a JSON string or number, two JSON values)
//!   is its text as a JSON string, kept exactly; `null` or no `body` is an empty body. A body
//!   that is not UTF-8 is written in hex with `"body_encoding": "hex"`. In a hand-written file,
//!   a `body` that is not a string is sent as its text in the file, compacted the same way.
//!
//! File names start with a sequence number, so sorting them gives the order of arrival:
//! `000001-post-evaluator-evaluate.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Headers never written: credentials, and what belongs to one connection or one process.
pub const DROPPED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    "x-access-token",
    "x-csrf-token",
    "x-xsrf-token",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-connection",
    "accept-encoding",
    "x-request-id",
];

/// Whether a header is left out of a recording: the list above, and any name that looks like
/// it carries a secret.
pub fn is_dropped_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    DROPPED_HEADERS.contains(&name.as_str())
        || [
            "token", "secret", "password", "api-key", "apikey", "session", "auth",
        ]
        .iter()
        .any(|word| name.contains(word))
}

/// One request, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Upper case: `GET`, `POST`, …
    pub method: String,
    /// Path and query: `/planning/plans?portfolio_hash=abc`.
    pub path: String,
    /// Lower-case names, without the dropped ones.
    pub headers: IndexMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a recorded request: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl RecordedRequest {
    /// A request to record: header names lower-cased, dropped headers left out, headers that
    /// are not text left out too.
    pub fn new<'a>(
        method: &str,
        path: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: Vec<u8>,
    ) -> RecordedRequest {
        let mut kept: IndexMap<String, String> = IndexMap::new();
        for (name, value) in headers {
            if is_dropped_header(name) {
                continue;
            }
            let Ok(value) = std::str::from_utf8(value) else {
                continue;
            };
            kept.entry(name.to_ascii_lowercase())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(value);
                })
                .or_insert_with(|| value.to_string());
        }
        RecordedRequest {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            headers: kept,
            body,
        }
    }

    /// The path without its query: `/planning/plans`.
    pub fn route_path(&self) -> &str {
        self.path.split(['?', '#']).next().unwrap_or_default()
    }

    /// The file's text, pretty-printed, ending with a newline; a JSON body is in it as its text
    /// without whitespace between tokens.
    pub fn to_json(&self) -> Vec<u8> {
        let (body, body_encoding) = match std::str::from_utf8(&self.body) {
            Ok("") => (None, None),
            Ok(text) => (Some(json_or_string(text)), None),
            Err(_) => {
                let mut hex = String::with_capacity(self.body.len() * 2);
                for byte in &self.body {
                    let _ = write!(hex, "{byte:02x}");
                }
                (Some(json_string(&hex)), Some("hex".to_string()))
            }
        };
        let file = RequestFile {
            method: self.method.clone(),
            path: self.path.clone(),
            headers: self.headers.clone(),
            body,
            body_encoding,
        };
        let mut out = serde_json::to_vec_pretty(&file).expect("a request always serialises");
        out.push(b'\n');
        out
    }

    /// Reads a file's text; `path` only names it in errors.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<RecordedRequest, RequestFileError> {
        let invalid = |reason: String| RequestFileError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let file: RequestFile =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let method = file.method.trim();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(invalid(format!(
                "method {:?} is not an HTTP method",
                file.method
            )));
        }
        if !file.path.starts_with('/') {
            return Err(invalid(format!(
                "path {:?} must start with / (a path and query, not a URL)",
                file.path
            )));
        }
        let body = match (file.body, file.body_encoding.as_deref()) {
            (None, _) => Vec::new(),
            (Some(raw), Some("hex")) => {
                let hex =
                    string_of(&raw).ok_or_else(|| invalid("a hex body must be a string".into()))?;
                decode_hex(&hex).ok_or_else(|| invalid("body is not hex".into()))?
            }
            (_, Some(other)) => {
                return Err(invalid(format!("unknown body_encoding {other:?}")));
            }
            (Some(raw), None) => match string_of(&raw) {
                Some(text) => text.into_bytes(),
                // A recorded body is compact already and comes back as the file holds it.
                None => compact(raw.get()).into_bytes(),
            },
        };
        Ok(RecordedRequest {
            method: method.to_ascii_uppercase(),
            path: file.path,
            headers: file
                .headers
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            body,
        })
    }

    pub fn load(path: &Path) -> Result<RecordedRequest, RequestFileError> {
        let bytes = std::fs::read(path).map_err(|source| RequestFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RecordedRequest::from_json(&bytes, path)
    }

    /// Writes the file `dir/<file_name(sequence)>` (see [`write_new_file`]); returns its path
    /// and size.
    pub fn save(&self, dir: &Path, sequence: u64) -> Result<(PathBuf, u64), RequestFileError> {
        let path = dir.join(self.file_name(sequence));
        let text = self.to_json();
        write_new_file(&path, &text).map_err(|source| RequestFileError::Write {
            path: path.clone(),
            source,
        })?;
        Ok((path, text.len() as u64))
    }

    /// `000042-post-evaluator-evaluate.json`: the sequence number (six digits or more), the
    /// method and the path without its query, as lower-case words.
    pub fn file_name(&self, sequence: u64) -> String {
        let mut slug = String::new();
        for c in self.route_path().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 60 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        let method = self.method.to_ascii_lowercase();
        if slug.is_empty() {
            format!("{sequence:06}-{method}.json")
        } else {
            format!("{sequence:06}-{method}-{slug}.json")
        }
    }
}

/// Writes a file that must not exist yet (`AlreadyExists` otherwise, and the file is left as
/// it was). Its name only appears once it is complete: the text goes to a hidden `.partial`
/// file beside it first, which is then linked under the name (a link, unlike a rename, never
/// replaces a file; where links are not supported the file is created under its name).
pub fn write_new_file(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::other("a request file needs a UTF-8 name"))?;
    let partial = path.with_file_name(format!(".{name}.partial"));
    std::fs::write(&partial, text)?;
    let linked = std::fs::hard_link(&partial, path);
    let _ = std::fs::remove_file(&partial);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            // A file system without links: create the file under its name, never replacing.
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)?;
            file.write_all(text)
        }
        other => other,
    }
}

/// The sequence number a file name starts with, if any.
pub fn sequence_of(file_name: &str) -> Option<u64> {
    let digits = file_name.split('-').next()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The request files of a directory in arrival order: every `*.json` not starting with a dot,
/// sorted by the sequence number they start with, then by name.
pub fn request_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<(Option<u64>, String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || !name.ends_with(".json") || !entry.file_type()?.is_file() {
            continue;
        }
        files.push((sequence_of(name), name.to_string(), entry.path()));
    }
    // Numbered files first, by number; the others after them, by name.
    files.sort_by(|a, b| (a.0.is_none(), a.0, &a.1).cmp(&(b.0.is_none(), b.0, &b.1)));
    Ok(files.into_iter().map(|(_, _, path)| path).collect())
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    method: String,
    path: String,
    #[serde(default)]
    headers: IndexMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body_encoding: Option<String>,
}

/// The body as it goes in the file: its compact JSON text when it is a JSON object or array,
/// else a JSON string.
fn json_or_string(text: &str) -> Box<RawValue> {
    serde_json::from_str::<&RawValue>(text)
        .ok()
        .filter(|raw| raw.get().starts_with(['{', '[']))
        .and_then(|raw| RawValue::from_string(compact(raw.get())).ok())
        .unwrap_or_else(|| json_string(text))
}

/// JSON text without the whitespace between its tokens; the tokens themselves (strings,
/// numbers, key order) are left exactly as they are.
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

fn json_string(text: &str) -> Box<RawValue> {
    serde_json::value::to_raw_value(text).expect("a string always serialises")
}

/// The string a `body` holds, if it is a JSON string.
fn string_of(raw: &RawValue) -> Option<String> {
    if raw.get().starts_with('"') {
        serde_json::from_str(raw.get()).ok()
    } else {
        None
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
