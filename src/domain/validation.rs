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
            loc: loc.iter().map(|s| loc_value(s)).collect(),
            msg: msg.into(),
            input,
            ctx,
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
