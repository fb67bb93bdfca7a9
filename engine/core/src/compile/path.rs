//! Compiled JSONPaths: parsed once at load. Plain field chains (`$.user_tags.team`) take a fast
//! path; anything else (wildcards, filters) runs through jsonpath-rust.

use jsonpath_rust::parser::model::{JpQuery, Segment, Selector};
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::Value;

/// One step of a plain field chain.
#[derive(Debug, Clone)]
pub enum Step {
    /// A field.
    Name(String),
    /// An array index (negative counts from the end).
    Index(i64),
}

#[derive(Debug, Clone)]
enum Kind {
    Fields(Vec<Step>),
    Query(JpQuery),
}

/// A JSONPath relative to one resource.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    text: std::sync::Arc<str>,
    kind: Kind,
}

impl CompiledPath {
    /// Compiles a path that starts with `$` or `@` (both mean the resource).
    pub fn compile(text: &str) -> Result<CompiledPath, String> {
        let t = text.trim();
        let normalized = match t.strip_prefix('@') {
            Some(rest) => format!("${rest}"),
            None if t.starts_with('$') => t.to_string(),
            None => {
                return Err(format!(
                    "path `{text}` must start with `$` (the resource), e.g. `$.{t}`"
                ))
            }
        };
        let q =
            parse_json_path(&normalized).map_err(|e| format!("invalid JSONPath `{text}`: {e}"))?;
        let mut steps = Vec::new();
        for seg in &q.segments {
            match seg {
                Segment::Selector(Selector::Name(n)) => steps.push(Step::Name(n.clone())),
                Segment::Selector(Selector::Index(i)) => steps.push(Step::Index(*i)),
                _ => {
                    return Ok(CompiledPath {
                        text: text.into(),
                        kind: Kind::Query(q),
                    })
                }
            }
        }
        Ok(CompiledPath {
            text: text.into(),
            kind: Kind::Fields(steps),
        })
    }

    /// A plain field chain (used for selector filters compiled natively).
    pub fn from_steps(text: String, steps: Vec<Step>) -> CompiledPath {
        CompiledPath {
            text: text.into(),
            kind: Kind::Fields(steps),
        }
    }

    /// The path as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The path as written, shared (evidence refers to it without copying).
    pub fn shared_text(&self) -> std::sync::Arc<str> {
        self.text.clone()
    }

    /// The first field name, for checking it against the resource's fields.
    pub fn first_field(&self) -> Option<&str> {
        match &self.kind {
            Kind::Fields(steps) => match steps.first() {
                Some(Step::Name(n)) => Some(n),
                _ => None,
            },
            Kind::Query(q) => match q.segments.first() {
                Some(Segment::Selector(Selector::Name(n))) => Some(n),
                _ => None,
            },
        }
    }

    /// The non-null values the path selects in `record`.
    pub fn values<'a>(&self, record: &'a Value) -> Vec<&'a Value> {
        match &self.kind {
            Kind::Fields(steps) => {
                let mut cur = record;
                for s in steps {
                    let next = match s {
                        Step::Name(n) => cur.get(n.as_str()),
                        Step::Index(i) => {
                            let arr = cur.as_array();
                            arr.and_then(|a| {
                                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                                usize::try_from(idx).ok().and_then(|u| a.get(u))
                            })
                        }
                    };
                    match next {
                        Some(v) => cur = v,
                        None => return Vec::new(),
                    }
                }
                if cur.is_null() {
                    Vec::new()
                } else {
                    vec![cur]
                }
            }
            Kind::Query(q) => js_path_process(q, record)
                .map(|refs| {
                    refs.into_iter()
                        .map(|r| r.val)
                        .filter(|v| !v.is_null())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vals(path: &str, v: &Value) -> Vec<Value> {
        match CompiledPath::compile(path) {
            Ok(p) => p.values(v).into_iter().cloned().collect(),
            Err(e) => unreachable!("{e}"),
        }
    }

    #[test]
    fn fast_and_general_paths_agree() {
        let r = json!({"a": {"b": [1, 2, {"c": "x"}]}, "n": null, "tags": {"team": "ops"}});
        assert_eq!(vals("$.a.b[2].c", &r), vec![json!("x")]);
        assert_eq!(vals("@.a.b[-1].c", &r), vec![json!("x")]);
        assert_eq!(vals("$.tags.team", &r), vec![json!("ops")]);
        assert_eq!(vals("$['tags']['team']", &r), vec![json!("ops")]);
        assert_eq!(vals("$.a.b[*]", &r).len(), 3);
        assert_eq!(vals("$.a.b[?@ > 1]", &r), vec![json!(2)]);
        assert!(vals("$.n", &r).is_empty());
        assert!(vals("$.missing.deeper", &r).is_empty());
    }

    #[test]
    fn bad_paths() {
        assert!(CompiledPath::compile("status").is_err());
        assert!(CompiledPath::compile("$.a[").is_err());
    }
}
