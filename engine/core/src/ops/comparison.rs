//! Comparison operators: `eq`, `ne`, `lt`, `le`, `gt`, `ge`.
//!
//! Numbers compare numerically (`1` equals `1.0`), strings that are both RFC 3339 timestamps
//! compare in time, other strings by text; anything else is unordered (no ordering holds).

use super::{ok, Check, Compiled, Operator};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::cmp::Ordering;
use std::sync::Arc;

/// `eq`.
pub const EQ: Operator = Operator {
    key: "eq",
    operand_schema: super::operand_schema::<Value>,
    operand: "any",
    description: "equal to this value.",
    holds_when: "equals the operand",
    conditioned: false,
    compile: |v, _| ok(Compare::new(Kind::Eq, v)),
};

/// `ne`.
pub const NE: Operator = Operator {
    key: "ne",
    operand_schema: super::operand_schema::<Value>,
    operand: "any",
    description: "not equal to this value.",
    holds_when: "does not equal the operand",
    conditioned: false,
    compile: |v, _| ok(Compare::new(Kind::Ne, v)),
};

/// `lt`.
pub const LT: Operator = Operator {
    key: "lt",
    operand_schema: super::operand_schema::<Value>,
    operand: "number or string",
    description: "less than (numbers numerically, timestamps in time, other strings by text).",
    holds_when: "is less than the operand (numbers, timestamps, text)",
    conditioned: false,
    compile: |v, _| ok(Compare::new(Kind::Lt, v)),
};

/// `le`.
pub const LE: Operator = Operator {
    key: "le",
    operand_schema: super::operand_schema::<Value>,
    operand: "number or string",
    description: "less than or equal.",
    holds_when: "is less than or equal to the operand",
    conditioned: false,
    compile: |v, _| ok(Compare::new(Kind::Le, v)),
};

/// `gt`.
pub const GT: Operator = Operator {
    key: "gt",
    operand_schema: super::operand_schema::<Value>,
    operand: "number or string",
    description: "greater than.",
    holds_when: "is greater than the operand",
    conditioned: false,
    compile: |v, _| ok(Compare::new(Kind::Gt, v)),
};

/// `ge`.
pub const GE: Operator = Operator {
    key: "ge",
    operand_schema: super::operand_schema::<Value>,
    operand: "number or string",
    description: "greater than or equal.",
    holds_when: "is greater than or equal to the operand",
    conditioned: false,
    compile: |v, _| ok(Compare::new(Kind::Ge, v)),
};

/// Which comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater or equal.
    Ge,
}

/// A comparison with a literal.
#[derive(Debug, Clone)]
pub struct Compare {
    kind: Kind,
    operand: Value,
}

impl Compare {
    /// The comparison `value <kind> operand`.
    pub fn new(kind: Kind, operand: &Value) -> Compare {
        Compare {
            kind,
            operand: operand.clone(),
        }
    }

    /// The same, as a compiled operator (for the native JSONPath filters).
    pub fn compiled(kind: Kind, operand: &Value) -> Compiled {
        Arc::new(Compare::new(kind, operand))
    }
}

impl Check for Compare {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        let x = &self.operand;
        match self.kind {
            Kind::Eq => equal(v, x),
            Kind::Ne => !equal(v, x),
            Kind::Lt => compare(v, x) == Some(Ordering::Less),
            Kind::Le => matches!(compare(v, x), Some(Ordering::Less | Ordering::Equal)),
            Kind::Gt => compare(v, x) == Some(Ordering::Greater),
            Kind::Ge => matches!(compare(v, x), Some(Ordering::Greater | Ordering::Equal)),
        }
    }
}

/// An RFC 3339 timestamp string, as a time.
pub(crate) fn as_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Equality, numbers by value.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => match (as_time(a), as_time(b)) {
            (Some(p), Some(q)) => Some(p.cmp(&q)),
            _ => Some(x.cmp(y)),
        },
        _ => None,
    }
}
