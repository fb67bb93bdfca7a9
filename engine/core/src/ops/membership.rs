//! Membership operators: `in`, `not_in`, `contains`.

use super::comparison::equal;
use super::{ok, Check, Operator};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// `in`.
pub const IN: Operator = Operator {
    key: "in",
    operand_schema: super::operand_schema::<Vec<Value>>,
    operand: "list",
    description: "equal to one of these values.",
    holds_when: "equals one of the list's items",
    conditioned: false,
    compile: |v, _| ok(OneOf::new(v, true)),
};

/// `not_in`.
pub const NOT_IN: Operator = Operator {
    key: "not_in",
    operand_schema: super::operand_schema::<Vec<Value>>,
    operand: "list",
    description: "equal to none of these values.",
    holds_when: "equals none of them",
    conditioned: false,
    compile: |v, _| ok(OneOf::new(v, false)),
};

/// `contains`.
pub const CONTAINS: Operator = Operator {
    key: "contains",
    operand_schema: super::operand_schema::<Value>,
    operand: "any",
    description: "a string containing this text, a list containing this element, or an object \
                  with this key.",
    holds_when:
        "is a string containing the text, a list containing the item, or an object with the key",
    conditioned: false,
    compile: |v, _| ok(Contains(v.clone())),
};

/// `in` (`want: true`) or `not_in`.
#[derive(Debug, Clone)]
pub struct OneOf {
    items: Vec<Value>,
    want: bool,
}

impl OneOf {
    fn new(operand: &Value, want: bool) -> OneOf {
        OneOf {
            items: operand.as_array().cloned().unwrap_or_default(),
            want,
        }
    }
}

impl Check for OneOf {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        self.items.iter().any(|x| equal(v, x)) == self.want
    }
}

/// `contains`.
#[derive(Debug, Clone)]
pub struct Contains(Value);

impl Check for Contains {
    fn holds(&self, v: &Value, _now: DateTime<Utc>) -> bool {
        let x = &self.0;
        match v {
            Value::String(s) => x.as_str().is_some_and(|n| s.contains(n)),
            Value::Array(items) => items.iter().any(|i| equal(i, x)),
            Value::Object(m) => x.as_str().is_some_and(|k| m.contains_key(k)),
            _ => false,
        }
    }
}
