use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn exact() -> CompareOptions {
    CompareOptions {
        abs_tolerance: 0.0,
        rel_tolerance: 0.0,
        ignore: Vec::new(),
    }
}

fn diff(path: &str, primary: &str, candidate: &str) -> Difference {
    Difference {
        path: path.into(),
        primary: primary.into(),
        candidate: candidate.into(),
    }
}

fn json_answer(status: u16, body: &str) -> Answer {
    Answer {
        status,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn equal_documents_have_no_difference_whatever_the_key_order() {
    let a = json!({"a": 1, "b": [true, null, "x", {"c": 2.5}]});
    let b: Value = serde_json::from_str(r#"{"b": [true, null, "x", {"c": 2.5}], "a": 1}"#).unwrap();
    assert_eq!(compare_json(&a, &b, &exact()), vec![]);
}

#[test]
fn a_changed_leaf_is_reported_at_its_path() {
    let a = json!({"top_sequences": [{"sequence": [], "end_state_score": 0.5}, {"risk_score": 1}]});
    let b = json!({"top_sequences": [{"sequence": [], "end_state_score": 0.5}, {"risk_score": 2}]});
    assert_eq!(
        compare_json(&a, &b, &exact()),
        vec![diff("$.top_sequences[1].risk_score", "1", "2")]
    );
}

#[test]
fn keys_that_are_not_plain_names_are_quoted_in_brackets() {
    let a = json!({"weights": {"BRK.B": 0.1, "": 1, "a b": "x"}});
    let b = json!({"weights": {"BRK.B": 0.2, "": 2, "a b": "y"}});
    let paths: Vec<String> = compare_json(&a, &b, &exact())
        .into_iter()
        .map(|d| d.path)
        .collect();
    let mut paths = paths;
    paths.sort();
    assert_eq!(
        paths,
        vec![
            r#"$.weights[""]"#,
            r#"$.weights["BRK.B"]"#,
            r#"$.weights["a b"]"#
        ]
    );
    // A reported path is a pattern that ignores exactly that path.
    let options = CompareOptions {
        ignore: paths.clone(),
        ..exact()
    };
    assert_eq!(compare_json(&a, &b, &options), vec![]);
}

#[test]
fn missing_and_extra_keys_are_reported_on_their_side() {
    let a = json!({"a": 1, "b": {"c": "x"}});
    let b = json!({"a": 1, "d": [1]});
    assert_eq!(
        compare_json(&a, &b, &exact()),
        vec![
            diff("$.b", r#"{"c":"x"}"#, MISSING),
            diff("$.d", MISSING, "[1]"),
        ]
    );
}

#[test]
fn arrays_of_other_lengths_are_reported_then_compared_item_by_item() {
    let a = json!([1, 2, 3]);
    let b = json!([1, 5]);
    assert_eq!(
        compare_json(&a, &b, &exact()),
        vec![
            diff("$", "array of 3 items", "array of 2 items"),
            diff("$[1]", "2", "5"),
        ]
    );
}

#[test]
fn types_strings_booleans_and_nulls_compare_exactly() {
    let a = json!({"n": 1, "s": "BUY", "b": true, "z": null, "o": {}});
    let b = json!({"n": "1", "s": "buy", "b": false, "z": 0, "o": []});
    let found = compare_json(&a, &b, &CompareOptions::default());
    assert_eq!(
        found,
        vec![
            diff("$.b", "true", "false"),
            diff("$.n", "1", r#""1""#),
            diff("$.o", "{}", "[]"),
            diff("$.s", r#""BUY""#, r#""buy""#),
            diff("$.z", "null", "0"),
        ]
    );
}

#[test]
fn numbers_match_within_either_tolerance() {
    let options = CompareOptions {
        abs_tolerance: 1e-6,
        rel_tolerance: 1e-3,
        ignore: Vec::new(),
    };
    let same = |a: Value, b: Value| compare_json(&a, &b, &options).is_empty();
    assert!(same(json!(0.0), json!(9e-7)), "absolute");
    assert!(!same(json!(0.0), json!(2e-6)));
    assert!(same(json!(1000.0), json!(1000.9)), "relative");
    assert!(!same(json!(1000.0), json!(1001.1)));
    assert!(same(json!(1), json!(1.0)), "an integer and its float");
    assert!(same(json!(-5), json!(-5.0000000001)));
    // Integers are subtracted exactly, even beyond what a float holds.
    let exact = exact();
    let big = u64::MAX;
    assert_eq!(
        compare_json(&json!(big), &json!(big - 1), &exact),
        vec![diff("$", &big.to_string(), &(big - 1).to_string())]
    );
    assert!(compare_json(&json!(i64::MIN), &json!(i64::MIN), &exact).is_empty());
}

#[test]
fn ignore_patterns_skip_a_path_and_everything_below_it() {
    let a = json!({"stats": {"total_time_seconds": 0.1, "n": 1},
                   "plans": [{"id": "1", "score": 2}, {"id": "2", "score": 3}],
                   "deep": {"x": {"created_at": "a"}}, "keep": {"created_at": "a"}});
    let b = json!({"stats": {"total_time_seconds": 0.9, "n": 1},
                   "plans": [{"id": "7", "score": 2}, {"id": "8", "score": 4}],
                   "deep": {"x": {"created_at": "b"}}, "keep": {"created_at": "b"}});
    let with = |patterns: &[&str]| {
        let options = CompareOptions {
            ignore: patterns.iter().map(|p| p.to_string()).collect(),
            ..exact()
        };
        compare_json(&a, &b, &options)
            .into_iter()
            .map(|d| d.path)
            .collect::<Vec<_>>()
    };
    let all = with(&[]);
    assert_eq!(
        all,
        vec![
            "$.deep.x.created_at",
            "$.keep.created_at",
            "$.plans[0].id",
            "$.plans[1].id",
            "$.plans[1].score",
            "$.stats.total_time_seconds",
        ]
    );
    assert_eq!(
        with(&["$.stats.total_time_seconds", "$.plans[*].id"]),
        vec![
            "$.deep.x.created_at",
            "$.keep.created_at",
            "$.plans[1].score",
        ]
    );
    assert_eq!(
        with(&["**.created_at", "$.stats", "$.plans.*.id"]),
        vec!["$.plans[1].score"]
    );
    // `*` is one segment only; a pattern not starting with `$`, `*` or `**` names no body path.
    assert_eq!(with(&["*.created_at", "plans"]), all);
    assert_eq!(with(&["$.*.created_at"]).len(), 5);
    assert_eq!(with(&["$"]), Vec::<String>::new());
    assert_eq!(with(&["**"]), Vec::<String>::new());
}

#[test]
fn the_default_ignores_cover_the_ids_and_clocks_of_the_compat_routes() {
    // POST /planning/create, GET /planning/plans, POST /coordinator/create-plan and
    // POST /gateway/trading-cycle answers of two databases, one request apart.
    let pairs = [
        (
            json!({"plan_id": "7", "success": true, "plan": {"id": "7", "score": 50.0,
                   "created_at": "2026-01-01T10:00:00", "actions": []}}),
            json!({"plan_id": "9", "success": true, "plan": {"id": "9", "score": 50.0,
                   "created_at": "2026-01-01T10:00:05", "actions": []}}),
        ),
        (
            json!({"plans": [{"id": "1", "created_at": "a"}], "total": 1}),
            json!({"plans": [{"id": "2", "created_at": "b"}], "total": 1}),
        ),
        (
            json!({"plan": {"steps": []}, "stats": {"total_time_seconds": 0.003, "batches_processed": 1}}),
            json!({"plan": {"steps": []}, "stats": {"total_time_seconds": 0.011, "batches_processed": 1}}),
        ),
        (
            json!({"cycle_id": "3", "final_update": {"cycle_id": "3",
                   "results": {"plan_id": "4", "run_id": "3", "filled": "2"}}}),
            json!({"cycle_id": "5", "final_update": {"cycle_id": "5",
                   "results": {"plan_id": "6", "run_id": "5", "filled": "2"}}}),
        ),
    ];
    for (a, b) in &pairs {
        assert_eq!(
            compare_json(a, b, &CompareOptions::default()),
            vec![],
            "{a} / {b}"
        );
    }
    // They do not hide real drift next to them.
    let (a, mut b) = pairs[3].clone();
    b["final_update"]["results"]["filled"] = json!("1");
    assert_eq!(
        compare_json(&a, &b, &CompareOptions::default()),
        vec![diff("$.final_update.results.filled", r#""2""#, r#""1""#)]
    );
    for pattern in default_ignored_paths() {
        assert_eq!(check_pattern(&pattern), Ok(()), "{pattern}");
    }
}

#[test]
fn malformed_patterns_are_refused() {
    for bad in [
        "",
        "$.a[",
        "$.a[x]",
        "$..a",
        "$.a]",
        r#"$["a"x"#,
        "$.[1",
        "$a",
    ] {
        assert!(check_pattern(bad).is_err(), "{bad:?}");
    }
    for good in [
        "$",
        "status",
        "$.a.b[3].c",
        "**.id",
        "$.a[*]",
        r#"$["a.b"].c"#,
        "*.x",
    ] {
        assert_eq!(check_pattern(good), Ok(()), "{good:?}");
    }
}

#[test]
fn answers_differ_by_status_then_body() {
    let found = compare_answers(
        &json_answer(200, r#"{"a": 1}"#),
        &json_answer(422, r#"{"a": 2}"#),
        &exact(),
    );
    assert_eq!(
        found,
        vec![diff("status", "200", "422"), diff("$.a", "1", "2")]
    );
    let options = CompareOptions {
        ignore: vec!["status".into()],
        ..exact()
    };
    let found = compare_answers(
        &json_answer(200, r#"{"a": 1}"#),
        &json_answer(500, r#"{"a": 1}"#),
        &options,
    );
    assert_eq!(found, vec![]);
}

#[test]
fn json_answers_compare_as_values_not_text() {
    let found = compare_answers(
        &json_answer(200, r#"{"a":1e-05,"b":[1,2]}"#),
        &json_answer(200, "{\n  \"b\": [1, 2],\n  \"a\": 0.00001\n}"),
        &exact(),
    );
    assert_eq!(found, vec![]);
}

#[test]
fn ndjson_answers_compare_line_by_line() {
    let ndjson = |text: &str| Answer {
        status: 200,
        content_type: Some("application/x-ndjson".into()),
        body: text.as_bytes().to_vec(),
    };
    let a = ndjson(
        "{\"batch_number\": 0, \"more_available\": true}\n{\"batch_number\": 1, \"more_available\": false}\n",
    );
    let b = ndjson(
        "{\"batch_number\": 0, \"more_available\": true}\n\n{\"batch_number\": 2, \"more_available\": false}",
    );
    assert_eq!(
        compare_answers(&a, &b, &exact()),
        vec![diff("$[1].batch_number", "1", "2")]
    );
    let short = ndjson("{\"batch_number\": 0, \"more_available\": true}\n");
    assert_eq!(
        compare_answers(&a, &short, &exact())[0],
        diff("$", "array of 2 items", "array of 1 items")
    );
    // Without the content type, a body of several JSON lines still reads as NDJSON.
    let plain = |a: &Answer| Answer {
        content_type: None,
        ..a.clone()
    };
    assert_eq!(
        compare_answers(&plain(&a), &plain(&b), &exact()),
        vec![diff("$[1].batch_number", "1", "2")]
    );
}

#[test]
fn other_bodies_compare_as_bytes() {
    let text = |body: &str| Answer {
        status: 200,
        content_type: Some("text/plain".into()),
        body: body.as_bytes().to_vec(),
    };
    assert_eq!(compare_answers(&text("ok"), &text("ok"), &exact()), vec![]);
    assert_eq!(
        compare_answers(&text("ok"), &text("not ok"), &exact()),
        vec![diff("$", "ok", "not ok")]
    );
    // One side JSON, the other not: the bodies as text.
    assert_eq!(
        compare_answers(&json_answer(200, "{}"), &text("<html>"), &exact()),
        vec![diff("$", "{}", "<html>")]
    );
    // Long bodies that differ after the cut show where.
    let long = "x".repeat(500);
    let found = compare_answers(&text(&(long.clone() + "a")), &text(&(long + "b")), &exact());
    assert_eq!(found.len(), 1);
    assert!(found[0].primary.contains("from byte 500: a"), "{found:?}");
    assert!(found[0].candidate.contains("from byte 500: b"), "{found:?}");
    assert!(compare_answers(&text(""), &text(""), &exact()).is_empty());
}

#[test]
fn long_values_are_cut() {
    let a = json!({"s": "a".repeat(1000)});
    let b = json!({"s": "b"});
    let found = compare_json(&a, &b, &exact());
    assert_eq!(found[0].primary.chars().count(), MAX_VALUE_CHARS + 1);
    assert!(found[0].primary.ends_with('…'));
}

#[test]
fn the_differences_of_one_comparison_are_bounded() {
    let a = Value::Array((0..5000).map(|i| json!(i)).collect());
    let b = Value::Array((0..5000).map(|i| json!(i + 1)).collect());
    assert_eq!(compare_json(&a, &b, &exact()).len(), MAX_DIFFERENCES);
}

// Properties.

fn arb_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "id",
        "plan_id",
        "x.y",
        "",
        "two words",
        "[0]",
    ])
    .prop_map(String::from)
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6..1e6f64).prop_map(|x| json!(x)),
        "[a-z.]{0,4}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Every node below the root: its path and its JSON pointer.
fn nodes(value: &Value) -> Vec<(Vec<Segment>, String)> {
    fn walk(
        value: &Value,
        path: &mut Vec<Segment>,
        pointer: String,
        out: &mut Vec<(Vec<Segment>, String)>,
    ) {
        let children: Vec<(Segment, String, &Value)> = match value {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    let escaped = k.replace('~', "~0").replace('/', "~1");
                    (Segment::Key(k.clone()), format!("{pointer}/{escaped}"), v)
                })
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Segment::Index(i), format!("{pointer}/{i}"), v))
                .collect(),
            _ => Vec::new(),
        };
        for (segment, pointer, child) in children {
            path.push(segment);
            out.push((path.clone(), pointer.clone()));
            walk(child, path, pointer, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(value, &mut vec![Segment::Root], String::new(), &mut out);
    out
}

proptest! {
    #[test]
    fn a_value_always_matches_itself(value in arb_json(), abs in 0.0..1e-3f64, rel in 0.0..1e-3f64) {
        let options = CompareOptions { abs_tolerance: abs, rel_tolerance: rel, ignore: Vec::new() };
        prop_assert_eq!(compare_json(&value, &value, &options), vec![]);
        prop_assert_eq!(compare_json(&value, &value, &exact()), vec![]);
        // Also as answers, whatever the text of the body.
        let compact = Answer { status: 200, content_type: None, body: value.to_string().into_bytes() };
        let pretty = Answer {
            status: 200,
            content_type: Some("application/json".into()),
            body: serde_json::to_vec_pretty(&value).unwrap(),
        };
        prop_assert_eq!(compare_answers(&compact, &pretty, &exact()), vec![]);
    }

    #[test]
    fn a_number_moved_beyond_the_tolerance_is_reported_at_its_path(
        value in arb_json(),
        x in -1e6..1e6f64,
        which in any::<prop::sample::Index>(),
        abs in 0.0..1e-3f64,
        rel in 0.0..1e-3f64,
        factor in 1.0..1e3f64,
        down in any::<bool>(),
    ) {
        // The number is always there: beside the generated value, or one of its numbers.
        let primary = json!({"n": x, "v": value});
        let numbers: Vec<(Vec<Segment>, String)> = nodes(&primary)
            .into_iter()
            .filter(|(_, pointer)| primary.pointer(pointer).is_some_and(Value::is_number))
            .collect();
        let (path, pointer) = which.get(&numbers).clone();
        let old = primary.pointer(&pointer).unwrap().as_f64().unwrap();
        let step = (abs + 2.0 * rel * old.abs() + 1.0) * factor;
        let new = if down { old - step } else { old + step };
        let mut candidate = primary.clone();
        *candidate.pointer_mut(&pointer).unwrap() = json!(new);
        let options = CompareOptions { abs_tolerance: abs, rel_tolerance: rel, ignore: Vec::new() };
        let found = compare_json(&primary, &candidate, &options);
        prop_assert_eq!(found.len(), 1, "{:?}", found);
        prop_assert_eq!(&found[0].path, &render_path(&path));
        prop_assert_eq!(&found[0].candidate, &json!(new).to_string());
        // The reported path parses back to the same segments.
        prop_assert_eq!(parse_path(&found[0].path).unwrap(), path);
    }

    #[test]
    fn an_ignored_path_is_never_reported(
        value in arb_json(),
        replacement in arb_json(),
        which in any::<prop::sample::Index>(),
        wildcards in prop::collection::vec(any::<bool>(), 8),
        deep in any::<bool>(),
        remove in any::<bool>(),
    ) {
        let primary = json!({"v": value, "w": [1, {"a": "x"}]});
        let all = nodes(&primary);
        let (path, pointer) = which.get(&all).clone();
        // The path itself, some segments as `*`, or `**` for all but its last segment.
        let pattern: Vec<Segment> = if deep {
            vec![Segment::AnyDepth, path.last().unwrap().clone()]
        } else {
            path.iter()
                .zip(wildcards.iter().chain(std::iter::repeat(&false)))
                .map(|(s, &wild)| if wild { Segment::Any } else { s.clone() })
                .collect()
        };
        let mut candidate = primary.clone();
        let (parent, last) = pointer.rsplit_once('/').unwrap();
        match candidate.pointer_mut(if parent.is_empty() { "" } else { parent }).unwrap() {
            Value::Object(map) if remove => {
                let key = last.replace("~1", "/").replace("~0", "~");
                map.remove(&key);
            }
            _ => *candidate.pointer_mut(&pointer).unwrap() = replacement,
        }
        let options = CompareOptions { ignore: vec![render_path(&pattern)], ..exact() };
        let found = compare_json(&primary, &candidate, &options);
        for d in &found {
            let reported = parse_path(&d.path).unwrap();
            prop_assert!(!matches(&pattern, &reported), "{:?} matches {}", d, render_path(&pattern));
        }
        // With the exact path, nothing at all differs: only that node changed.
        let options = CompareOptions { ignore: vec![render_path(&path)], ..exact() };
        prop_assert_eq!(compare_json(&primary, &candidate, &options), vec![]);
    }
}
