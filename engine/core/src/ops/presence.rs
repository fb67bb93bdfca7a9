//! Presence operators: `exists`, `absent` (the only operators that judge a missing value
//! themselves, ignoring `if_missing`) and `empty`.

use super::{boolean, ok, Check, Operator};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// `exists`.
pub const EXISTS: Operator = Operator {
    key: "exists",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "`true` holds when the path has a non-null value, `false` when it has none.",
    holds_when: "is present (`true`) / is missing (`false`)",
    conditioned: false,
    compile: |v, _| ok(Exists(boolean(v)?)),
};

/// `absent`.
pub const ABSENT: Operator = Operator {
    key: "absent",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "`true` holds when the path has no value (or null); the opposite of `exists`.",
    holds_when: "the opposite of `exists`",
    conditioned: false,
    compile: |v, _| ok(Exists(!boolean(v)?)),
};

/// `empty`.
pub const EMPTY: Operator = Operator {
    key: "empty",
    operand_schema: super::operand_schema::<bool>,
    operand: "`true`/`false`",
    description: "`true` holds for an empty string, list or object; `false` for a non-empty one.",
    holds_when: "is an empty (`true`) / a non-empty (`false`) string, list or object",
    conditioned: false,
    compile: |v, _| ok(Empty(boolean(v)?)),
};

/// Presence: `exists: true` or `absent: false` (`Exists(true)`), and the opposites.
#[derive(Debug, Clone)]
pub struct Exists(bool);

impl Check for Exists {
    fn holds(&self, _v: &Value, _now: DateTime<Utc>) -> bool {
        self.0
    }

    fn on_missing(&self) -> Option<bool> {
        Some(!self.0)
    }
}

/// Emptiness.
#[derive(Debug, Clone)]
pub struct Empty(bool);

impl Check for Empty {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        let want = self.0;
        match v {
            Value::String(s) => s.is_empty() == want,
            Value::Array(a) => a.is_empty() == want,
            Value::Object(m) => m.is_empty() == want,
            _ => false,
        }
    }
}
