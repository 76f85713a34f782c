//! Validation errors in the shape FastAPI/pydantic reports them (`{type, loc, msg, input, ctx}`),
//! so compatibility clients see the errors they know.

use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: String,
    pub loc: Vec<Value>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

/// A location segment: array indices are numbers, field names are strings, as in pydantic.
fn loc_value(segment: &str) -> Value {
    match segment.parse::<u64>() {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(segment),
    }
}

/// A location from string segments: numeric segments become indices, as pydantic reports them.
pub fn locate(segments: &[String]) -> Vec<Value> {
    segments.iter().map(|s| loc_value(s)).collect()
}

/// The location of `field` inside the object at `loc`.
pub fn field_loc(loc: &[&str], field: &str) -> Vec<String> {
    let mut path: Vec<String> = loc.iter().map(|s| s.to_string()).collect();
    path.push(field.to_string());
    path
}

/// Formats a bound the way pydantic prints it in messages (`1`, `0.1`).
fn bound_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn bound_value(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

impl FieldError {
    pub fn new(
        kind: &str,
        loc: Vec<String>,
        msg: impl Into<String>,
        input: Value,
        ctx: Option<Value>,
    ) -> Self {
        FieldError {
            kind: kind.to_string(),
            loc: locate(&loc),
            msg: msg.into(),
            input,
            ctx,
        }
    }

    /// An error raised by a validator, in pydantic's words (`Value error, …`).
    pub fn value_error(loc: Vec<Value>, message: &str, input: Value) -> Self {
        FieldError {
            kind: "value_error".into(),
            loc,
            msg: format!("Value error, {message}"),
            input,
            ctx: Some(json!({ "error": message })),
        }
    }

    fn lower(loc: Vec<String>, input: Value, ge: f64) -> Self {
        FieldError::new(
            "greater_than_equal",
            loc,
            format!(
                "Input should be greater than or equal to {}",
                bound_text(ge)
            ),
            input,
            Some(json!({ "ge": bound_value(ge) })),
        )
    }

    fn upper(loc: Vec<String>, input: Value, le: f64) -> Self {
        FieldError::new(
            "less_than_equal",
            loc,
            format!("Input should be less than or equal to {}", bound_text(le)),
            input,
            Some(json!({ "le": bound_value(le) })),
        )
    }

    pub fn int_range(errors: &mut Vec<FieldError>, loc: Vec<String>, v: i64, min: i64, max: i64) {
        if v < min {
            errors.push(FieldError::lower(loc, Value::from(v), min as f64));
        } else if v > max {
            errors.push(FieldError::upper(loc, Value::from(v), max as f64));
        }
    }

    pub fn float_min(errors: &mut Vec<FieldError>, loc: Vec<String>, v: f64, min: f64) {
        if !v.is_finite() {
            errors.push(FieldError::finite(loc));
        } else if v < min {
            errors.push(FieldError::lower(loc, Value::from(v), min));
        }
    }

    pub fn float_range(errors: &mut Vec<FieldError>, loc: Vec<String>, v: f64, min: f64, max: f64) {
        if !v.is_finite() {
            errors.push(FieldError::finite(loc));
        } else if v < min {
            errors.push(FieldError::lower(loc, Value::from(v), min));
        } else if v > max {
            errors.push(FieldError::upper(loc, Value::from(v), max));
        }
    }

    pub fn finite(loc: Vec<String>) -> Self {
        FieldError::new(
            "finite_number",
            loc,
            "Input should be a finite number",
            Value::Null,
            None,
        )
    }

    pub fn too_short(loc: Vec<String>, min: usize, actual: usize) -> Self {
        FieldError::new(
            "too_short",
            loc,
            format!("List should have at least {min} item after validation, not {actual}"),
            Value::Array(vec![]),
            Some(json!({ "field_type": "List", "min_length": min, "actual_length": actual })),
        )
    }
}

/// Largest deposit accepted in one trading cycle, in EUR: far above any household's, far below
/// what the ledger's minor units can hold once added to the cash already there.
pub const MAX_DEPOSIT_EUR: f64 = 1e9;

/// The deposit of a trading cycle (`deposit_amount` at `loc`): `None` for no deposit (absent
/// or 0), the amount as EUR when it is within (0, [`MAX_DEPOSIT_EUR`]], and a 422 naming the
/// field for anything else (negative, non-finite, beyond the bound), so a bad amount never
/// reaches the ledger or starts a cycle.
pub fn deposit_amount(
    loc: &[&str],
    amount: Option<f64>,
) -> Result<Option<crate::domain::Money>, Vec<FieldError>> {
    use crate::domain::{Currency, Decimal, Money};
    let Some(amount) = amount.filter(|a| *a != 0.0) else {
        return Ok(None);
    };
    let path: Vec<String> = loc.iter().map(|s| s.to_string()).collect();
    let mut errors = Vec::new();
    FieldError::float_range(&mut errors, path.clone(), amount, 0.0, MAX_DEPOSIT_EUR);
    if !errors.is_empty() {
        return Err(errors);
    }
    Decimal::from_f64(amount)
        .and_then(|d| Money::from_decimal_rounded(d, Currency::EUR))
        .map(Some)
        .map_err(|e| {
            vec![FieldError::value_error(
                locate(&path),
                &format!("not a representable amount of EUR: {e}"),
                json!(amount),
            )]
        })
}

/// Largest body whose schema errors quote the offending input.
const LOCATE_INPUT_LIMIT: usize = 64 * 1024;

/// Decodes a JSON request body into `T`, reporting problems as FastAPI would: malformed JSON as
/// `json_invalid`, a missing field as `missing`, a wrong type or enum value with its location.
/// Reports the first schema problem (FastAPI reports all of them).
pub fn decode_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Vec<FieldError>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![FieldError::new(
            "missing",
            vec!["body".into()],
            "Field required",
            Value::Null,
            None,
        )]);
    }
    let invalid = |e: &serde_json::Error| {
        let offset = byte_offset(bytes, e.line(), e.column());
        vec![FieldError {
            kind: "json_invalid".into(),
            loc: vec![Value::from("body"), Value::from(offset)],
            msg: "JSON decode error".into(),
            input: json!({}),
            ctx: Some(json!({ "error": e.to_string() })),
        }]
    };
    // Decoding straight from the bytes keeps the order of object keys, which the reference's
    // maps iterate in; a `Value` is built only to locate the input of an error.
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(decoded) => {
            deserializer.end().map_err(|e| invalid(&e))?;
            Ok(decoded)
        }
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => Err(invalid(e.inner())),
        // The input at the error's path is quoted from a `Value` of the body; a large body's
        // `Value` would cost many times its size, so its errors quote nothing.
        Err(e) if bytes.len() > LOCATE_INPUT_LIMIT => Err(vec![schema_error(&Value::Null, &e)]),
        Err(e) => match serde_json::from_slice::<Value>(bytes) {
            Err(syntax) => Err(invalid(&syntax)),
            Ok(value) => Err(vec![schema_error(&value, &e)]),
        },
    }
}

fn byte_offset(bytes: &[u8], line: usize, column: usize) -> usize {
    let mut current = 1;
    for (i, b) in bytes.iter().enumerate() {
        if current == line {
            return (i + column.saturating_sub(1)).min(bytes.len());
        }
        if *b == b'\n' {
            current += 1;
        }
    }
    bytes.len()
}

fn schema_error(root: &Value, error: &serde_path_to_error::Error<serde_json::Error>) -> FieldError {
    use serde_path_to_error::Segment;
    let mut loc = vec!["body".to_string()];
    let mut node = Some(root);
    for segment in error.path().iter() {
        match segment {
            Segment::Seq { index } => {
                loc.push(index.to_string());
                node = node.and_then(|n| n.get(*index));
            }
            Segment::Map { key } => {
                loc.push(key.clone());
                node = node.and_then(|n| n.get(key));
            }
            Segment::Enum { variant } => loc.push(variant.clone()),
            Segment::Unknown => {}
        }
    }
    let input = node.cloned().unwrap_or(Value::Null);
    let message = error.inner().to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_string();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        loc.push(field.to_string());
        return FieldError::new("missing", loc, "Field required", input, None);
    }
    if message.starts_with("unknown variant") {
        let expected = message
            .split("expected ")
            .nth(1)
            .unwrap_or("")
            .replace('`', "'");
        return FieldError::new(
            "enum",
            loc,
            format!("Input should be {expected}"),
            input,
            Some(json!({ "expected": expected })),
        );
    }
    if let Some(expected) = message.split(", expected ").nth(1) {
        let (kind, msg) =
            if expected.contains("i64") || expected.contains("u64") || expected.contains("integer")
            {
                ("int_type", "Input should be a valid integer")
            } else if expected.contains("f64") || expected.contains("float") {
                ("float_type", "Input should be a valid number")
            } else if expected.contains("bool") {
                ("bool_type", "Input should be a valid boolean")
            } else if expected.starts_with("struct") || expected.contains("map") {
                (
                    "model_attributes_type",
                    "Input should be a valid dictionary or object to extract fields from",
                )
            } else if expected.contains("string") {
                ("string_type", "Input should be a valid string")
            } else if expected.contains("sequence") {
                ("list_type", "Input should be a valid list")
            } else {
                ("value_error", message.as_str())
            };
        return FieldError::new(kind, loc, msg, input, None);
    }
    FieldError::new("value_error", loc, message, input, None)
}

#[cfg(test)]
mod decode_tests {
    use super::*;
    use crate::domain::ActionCandidate;

    #[test]
    fn malformed_json_is_json_invalid_with_offset() {
        let errors = decode_body::<ActionCandidate>(b"{\"side\": ").unwrap_err();
        assert_eq!(errors[0].kind, "json_invalid");
        assert_eq!(errors[0].loc[0], "body");
    }

    #[test]
    fn missing_field_names_the_field() {
        let errors = decode_body::<ActionCandidate>(br#"{"side":"BUY"}"#).unwrap_err();
        assert_eq!(errors[0].kind, "missing");
        assert_eq!(
            errors[0].loc,
            vec![Value::from("body"), Value::from("symbol")]
        );
    }

    #[test]
    fn wrong_side_is_an_enum_error() {
        let body = br#"{"side":"buy","symbol":"A","name":"A","quantity":1,"price":1.0,"value_eur":1.0,"currency":"EUR","priority":0.1,"reason":"r"}"#;
        let errors = decode_body::<ActionCandidate>(body).unwrap_err();
        assert_eq!(errors[0].kind, "enum");
        assert_eq!(
            errors[0].loc,
            vec![Value::from("body"), Value::from("side")]
        );
        assert_eq!(errors[0].input, Value::from("buy"));
        assert_eq!(errors[0].msg, "Input should be 'BUY' or 'SELL'");
    }

    #[test]
    fn wrong_type_is_located() {
        let body = br#"{"side":"BUY","symbol":"A","name":"A","quantity":"many","price":1.0,"value_eur":1.0,"currency":"EUR","priority":0.1,"reason":"r"}"#;
        let errors = decode_body::<ActionCandidate>(body).unwrap_err();
        assert_eq!(errors[0].kind, "int_type");
        assert_eq!(
            errors[0].loc,
            vec![Value::from("body"), Value::from("quantity")]
        );
    }

    #[test]
    fn object_key_order_is_kept() {
        let map: indexmap::IndexMap<String, f64> = decode_body(br#"{"b": 1.0, "a": 2.0}"#).unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["b", "a"]);
    }

    #[test]
    fn trailing_garbage_is_json_invalid() {
        let errors = decode_body::<indexmap::IndexMap<String, f64>>(b"{} x").unwrap_err();
        assert_eq!(errors[0].kind, "json_invalid");
    }

    #[test]
    fn empty_body_is_missing() {
        assert_eq!(
            decode_body::<ActionCandidate>(b"  ").unwrap_err()[0].kind,
            "missing"
        );
    }
}

#[cfg(test)]
#[path = "validation_deposit_tests.rs"]
mod deposit_tests;
