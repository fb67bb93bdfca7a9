//! Age operators: `older_than`, `newer_than`, judged against the evaluation clock; the
//! duration is parsed once at load ([`super::duration`]).

use super::comparison::as_time;
use super::duration::parse_duration;
use super::{ok, string, Check, Operator};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

const MUST: &str = "must be a duration such as `90d`";

/// `older_than`.
pub const OLDER_THAN: Operator = Operator {
    key: "older_than",
    operand_schema: super::operand_schema::<String>,
    operand: "duration",
    description: "a timestamp at least this long before the evaluation clock, e.g. `90d` \
                  (units `s`, `m`, `h`, `d`, `w`; combinable: `1d12h`).",
    holds_when: "is a timestamp at least that long before the clock",
    conditioned: false,
    compile: |v, _| ok(Age::new(parse_duration(&string(v, MUST)?)?, true)),
};

/// `newer_than`.
pub const NEWER_THAN: Operator = Operator {
    key: "newer_than",
    operand_schema: super::operand_schema::<String>,
    operand: "duration",
    description: "a timestamp less than this long before the evaluation clock.",
    holds_when: "is a timestamp less than that long before the clock",
    conditioned: false,
    compile: |v, _| ok(Age::new(parse_duration(&string(v, MUST)?)?, false)),
};

/// `older_than` (`older: true`) or `newer_than`.
#[derive(Debug, Clone)]
pub struct Age {
    age: Duration,
    older: bool,
}

impl Age {
    fn new(age: Duration, older: bool) -> Age {
        Age { age, older }
    }
}

impl Check for Age {
    fn holds(&self, v: &Value, now: DateTime<Utc>) -> bool {
        as_time(v).is_some_and(|t| {
            if self.older {
                now - t >= self.age
            } else {
                now - t < self.age
            }
        })
    }
}
