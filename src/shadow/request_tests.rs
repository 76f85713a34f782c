use std::path::Path;

use proptest::prelude::*;

use super::*;

fn request(body: &[u8]) -> RecordedRequest {
    RecordedRequest::new(
        "post",
        "/evaluator/evaluate?x=1",
        [
            ("Content-Type", b"application/json".as_slice()),
            ("Authorization", b"Bearer secret".as_slice()),
            ("Cookie", b"session=1".as_slice()),
            ("X-Api-Key", b"k".as_slice()),
            ("X-Request-Id", b"abc".as_slice()),
            ("Host", b"localhost".as_slice()),
            ("Content-Length", b"12".as_slice()),
            ("Accept", b"text/plain".as_slice()),
            ("accept", b"application/json".as_slice()),
            ("X-Binary", b"\xff".as_slice()),
        ],
        body.to_vec(),
    )
}

#[test]
fn credentials_and_connection_headers_are_never_kept() {
    let r = request(b"{}");
    assert_eq!(r.method, "POST");
    let headers: Vec<(&str, &str)> = r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        headers,
        vec![
            ("content-type", "application/json"),
            ("accept", "text/plain, application/json"),
        ]
    );
    let text = String::from_utf8(r.to_json()).unwrap();
    for secret in ["secret", "session", "Bearer", "authorization", "cookie"] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "{text}"
        );
    }
    for name in ["x-session-id", "x-secret", "x-password", "x-upstream-token"] {
        assert!(is_dropped_header(name), "{name}");
    }
    assert!(!is_dropped_header("content-type"));
}

/// The `body` of a file exactly as it stands there.
fn raw_body(file: &[u8]) -> Option<String> {
    let file: RequestFile = serde_json::from_slice(file).unwrap();
    file.body.map(|raw| raw.get().to_string())
}

#[test]
fn a_compact_json_body_is_written_and_replayed_byte_for_byte() {
    // Key order, number text, escapes and a repeated key are all kept: the body is its text,
    // not a value written again.
    let body = r#"{"z":1,"a":{"y":[1.5,1e-05,0.30,1E+2,-0.0,12345678901234567890],"b":null},"m":"\u00e9\/é \"x\"","z":2}"#;
    let r = request(body.as_bytes());
    let file = r.to_json();
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.contains(&format!("\n  \"body\": {body}\n")), "{text}");
    assert_eq!(raw_body(&file).as_deref(), Some(body));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["method"], "POST");
    assert_eq!(value["path"], "/evaluator/evaluate?x=1");
    assert_eq!(value["body"]["a"]["y"][1], 1e-05);
    assert!(value.get("body_encoding").is_none());

    // What the replay sends: the very bytes recorded.
    let back = RecordedRequest::from_json(&file, Path::new("x.json")).unwrap();
    assert_eq!(String::from_utf8(back.body.clone()).unwrap(), body);
    assert_eq!(back, r);
    // Written again, the file is the same bytes.
    assert_eq!(back.to_json(), file);
}

#[test]
fn whitespace_between_the_tokens_of_a_json_body_is_left_out_and_nothing_else() {
    let sent =
        "\r\n {\"z\" : 1,\n  \"a\":\t[ 1e-05 , 0.30 ],\n  \"s\": \" keep \\\" these \\\\\" }\n";
    let kept = r#"{"z":1,"a":[1e-05,0.30],"s":" keep \" these \\"}"#;
    let file = request(sent.as_bytes()).to_json();
    assert_eq!(raw_body(&file).as_deref(), Some(kept));
    let back = RecordedRequest::from_json(&file, Path::new("x.json")).unwrap();
    assert_eq!(String::from_utf8(back.body).unwrap(), kept);

    // Not an object or array, or not one JSON value: a string, kept exactly.
    for body in [
        "1e-05",
        " 1e-05\n",
        "\"a string\"",
        "null",
        "true",
        "{\"a\": 1}{\"b\": 2}",
        "{\"a\": 1} x",
    ] {
        let file = request(body.as_bytes()).to_json();
        let value: serde_json::Value = serde_json::from_slice(&file).unwrap();
        assert_eq!(value["body"], body, "{body:?}");
        let back = RecordedRequest::from_json(&file, Path::new("x.json")).unwrap();
        assert_eq!(back.body, body.as_bytes(), "{body:?}");
    }

    // Nesting deeper than a JSON value may be parsed is still kept and read back.
    let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    let file = request(deep.as_bytes()).to_json();
    assert_eq!(raw_body(&file).as_deref(), Some(deep.as_str()));
    let back = RecordedRequest::from_json(&file, Path::new("x.json")).unwrap();
    assert_eq!(back.body, deep.as_bytes());
}

#[test]
fn a_hand_written_body_is_sent_as_its_compact_text() {
    let file = "{\"method\": \"POST\", \"path\": \"/a\",\n  \"body\":  {\n    \"b\": 1e-05,\n    \"a\": [1, 2.50]\n  }  \n}";
    let r = RecordedRequest::from_json(file.as_bytes(), Path::new("x.json")).unwrap();
    assert_eq!(r.body, br#"{"b":1e-05,"a":[1,2.50]}"#);
    for (body, sent) in [
        ("42", &b"42"[..]),
        ("1e-05", b"1e-05"),
        ("true", b"true"),
        ("null", b""),
        ("\"\\u00e9 \\\"x\\\"\"", "é \"x\"".as_bytes()),
        ("\"\"", b""),
    ] {
        let file = format!(r#"{{"method": "POST", "path": "/a", "body": {body}}}"#);
        let r = RecordedRequest::from_json(file.as_bytes(), Path::new("x.json")).unwrap();
        assert_eq!(r.body, sent, "{file}");
    }
}

#[test]
fn other_bodies_are_kept_byte_for_byte() {
    for body in [
        &b""[..],
        b"not json",
        b"{not json",
        b"  [1, 2]  trailing",
        b"\xff\x00binary",
    ] {
        let r = request(body);
        let text = r.to_json();
        let back = RecordedRequest::from_json(&text, Path::new("x.json")).unwrap();
        assert_eq!(back.body, body, "{}", String::from_utf8_lossy(&text));
    }
    let file: serde_json::Value = serde_json::from_slice(&request(b"\xff").to_json()).unwrap();
    assert_eq!(file["body"], "ff");
    assert_eq!(file["body_encoding"], "hex");
    let file: serde_json::Value = serde_json::from_slice(&request(b"").to_json()).unwrap();
    assert!(file.get("body").is_none());
}

#[test]
fn malformed_files_are_refused_with_the_file_named() {
    let path = Path::new("dir/000001-post-x.json");
    for (text, needle) in [
        ("", "EOF"),
        ("[]", "invalid length"),
        (r#"{"path": "/a"}"#, "missing field `method`"),
        (
            r#"{"method": "POST", "path": "http://x/a"}"#,
            "must start with /",
        ),
        (r#"{"method": "PO ST", "path": "/a"}"#, "not an HTTP method"),
        (
            r#"{"method": "GET", "path": "/a", "extra": 1}"#,
            "unknown field",
        ),
        (
            r#"{"method": "GET", "path": "/a", "body": "zz", "body_encoding": "hex"}"#,
            "not hex",
        ),
        (
            r#"{"method": "GET", "path": "/a", "body": [0], "body_encoding": "hex"}"#,
            "a hex body must be a string",
        ),
        (
            r#"{"method": "GET", "path": "/a", "body": "00", "body_encoding": "b64"}"#,
            "unknown body_encoding",
        ),
        (
            r#"{"method": "GET", "path": "/a", "body": {"a": }}"#,
            "expected value",
        ),
        (
            r#"{"method": "GET", "path": "/a", "headers": {"a": 1}}"#,
            "invalid type",
        ),
    ] {
        let error = RecordedRequest::from_json(text.as_bytes(), path).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("dir/000001-post-x.json is not a recorded request"),
            "{message}"
        );
        assert!(message.contains(needle), "{text}: {message}");
    }
    let minimal = RecordedRequest::from_json(br#"{"method": "get", "path": "/a"}"#, path).unwrap();
    assert_eq!(minimal.method, "GET");
    assert!(minimal.body.is_empty() && minimal.headers.is_empty());
}

#[test]
fn file_names_sort_in_arrival_order() {
    let r = request(b"");
    assert_eq!(r.file_name(1), "000001-post-evaluator-evaluate.json");
    assert_eq!(r.route_path(), "/evaluator/evaluate");
    let odd = RecordedRequest::new("GET", "/planning/plans/{7}?q=1", [], Vec::new());
    assert_eq!(
        odd.file_name(1_234_567),
        "1234567-get-planning-plans-7.json"
    );
    let root = RecordedRequest::new("GET", "/", [], Vec::new());
    assert_eq!(root.file_name(3), "000003-get.json");
    assert_eq!(sequence_of("000042-get.json"), Some(42));
    assert_eq!(sequence_of("notes.json"), None);

    let dir = tempfile::tempdir().unwrap();
    for (n, path) in [(10, "/b"), (2, "/a"), (1_000_000, "/c"), (999_999, "/d")] {
        let r = RecordedRequest::new("GET", path, [], Vec::new());
        r.save(dir.path(), n).unwrap();
    }
    std::fs::write(dir.path().join("zz-notes.json"), "{}").unwrap();
    std::fs::write(dir.path().join("README.txt"), "").unwrap();
    std::fs::write(dir.path().join(".000003-get-x.json.partial"), "").unwrap();
    std::fs::create_dir(dir.path().join("000004-dir.json")).unwrap();
    let names: Vec<String> = request_files(dir.path())
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        vec![
            "000002-get-a.json",
            "000010-get-b.json",
            "999999-get-d.json",
            "1000000-get-c.json",
            "zz-notes.json"
        ]
    );
}

#[test]
fn saving_never_replaces_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = request(br#"{"a": 1}"#);
    let (path, size) = r.save(dir.path(), 1).unwrap();
    assert_eq!(size, std::fs::metadata(&path).unwrap().len());
    assert_eq!(RecordedRequest::load(&path).unwrap().body, br#"{"a":1}"#);
    let other = request(br#"{"a": 2}"#);
    assert!(other.save(dir.path(), 1).is_err());
    assert_eq!(RecordedRequest::load(&path).unwrap().body, br#"{"a":1}"#);
    // No partial file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// JSON text, twice: with whitespace between its tokens, and without (what is recorded).
/// Numbers and strings come in every form; strings hold spaces, which are kept.
fn json_text() -> impl Strategy<Value = (String, String)> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?",
        r#""([a-zA-Z0-9é€ ]|\\n|\\"|\\\\|\\/|\\u00[0-9a-f]{2}){0,8}""#,
    ]
    .prop_map(|token| (token.clone(), token));
    leaf.prop_recursive(4, 32, 4, |inner| {
        let join = |open: &str, parts: Vec<(String, String)>, close: &str| {
            let (spaced, compact): (Vec<String>, Vec<String>) = parts.into_iter().unzip();
            (
                format!("{open}{}{close}", spaced.join(",")),
                format!("{open}{}{close}", compact.join(",")),
            )
        };
        prop_oneof![
            prop::collection::vec((ws(), inner.clone(), ws()), 0..4).prop_map(move |items| {
                let items = items
                    .into_iter()
                    .map(|(a, (spaced, compact), b)| (a + &spaced + &b, compact))
                    .collect();
                join("[", items, "]")
            }),
            prop::collection::vec((ws(), "\"[a-z ]{0,2}\"", ws(), inner, ws()), 0..4).prop_map(
                move |entries| {
                    let entries = entries
                        .into_iter()
                        .map(|(a, key, b, (spaced, compact), c)| {
                            (
                                format!("{a}{key}{b}:{spaced}{c}"),
                                format!("{key}:{compact}"),
                            )
                        })
                        .collect();
                    join("{", entries, "}")
                }
            ),
        ]
    })
}

fn ws() -> impl Strategy<Value = String> {
    "[ \t\n\r]{0,2}"
}

proptest! {
    #[test]
    fn a_json_body_comes_back_as_its_compact_text(
        (a, (spaced, compact), b) in (ws(), json_text(), ws())
    ) {
        let body = format!("{a}{spaced}{b}");
        let file = request(body.as_bytes()).to_json();
        let back = RecordedRequest::from_json(&file, Path::new("x.json")).unwrap();
        prop_assert_eq!(back.to_json(), file.clone());
        let raw = raw_body(&file).unwrap();
        if compact.starts_with(['[', '{']) {
            // An object or array: its compact text, in the file and on the wire.
            prop_assert_eq!(&raw, &compact);
            prop_assert_eq!(String::from_utf8(back.body).unwrap(), compact);
        } else {
            // Anything else: a string, kept exactly.
            prop_assert!(raw.starts_with('"'), "{}", raw);
            prop_assert_eq!(String::from_utf8(back.body).unwrap(), body);
        }
    }

    #[test]
    fn any_other_body_comes_back_byte_for_byte(
        body in prop::collection::vec(any::<u8>(), 0..40).prop_filter(
            "not a JSON object or array",
            |bytes| !serde_json::from_slice::<&RawValue>(bytes)
                .is_ok_and(|raw| raw.get().starts_with(['[', '{'])),
        )
    ) {
        let file = request(&body).to_json();
        let back = RecordedRequest::from_json(&file, Path::new("x.json")).unwrap();
        prop_assert_eq!(back.body, body);
    }
}
