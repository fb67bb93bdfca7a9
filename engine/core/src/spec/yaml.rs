//! The one YAML reader: a document's text to a JSON value and the position of every node, in
//! one pass over the events of granit-parser (the maintained YAML 1.2 parser serde-saphyr is
//! built on). Rule packs, rule tests and accounts files all read YAML here; nothing else
//! parses YAML.
//!
//! Why events and not a serde deserializer: every later check (the JSON Schema pass, typed
//! reads, compile) works on the JSON value and reports at a JSON pointer, so the reader must
//! give both the value and a pointer -> position index. Building both from one event stream
//! parses each document once.
//!
//! Callers run the input limits ([`super::limits`]) first. What limits cannot bound is bounded
//! here: aliases may not expand the document past [`MAX_NODES`] nodes (the billion laughs), and
//! the position index stops growing past a byte budget (see [`super::locate`]).
//!
//! Scalars resolve as YAML 1.2's core schema says (`null`, `~` and empty are null;
//! `true`/`false`; decimal, `0o` and `0x` integers; floats, with `.inf`/`.nan` as null since
//! JSON has neither); quoted and block scalars are strings; `!!str`, `!!int`, `!!float`,
//! `!!bool` and `!!null` tags are honoured. Duplicate keys are an error at the second key.

use super::locate::{Locations, Pos};
use crate::diag::Diagnostic;
use granit_parser::{ErrorKind, Event, Marker, Parser, ScalarStyle, ScanError, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// Nodes a document may have once its aliases are expanded. A real pack has a few thousand;
/// nine aliases nested nine deep (the billion laughs) would make 3.8 billion.
pub const MAX_NODES: usize = 1_000_000;

/// A parsed document: its value and where each node is.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document as JSON (an empty document is `null`).
    pub value: Value,
    /// Node positions by JSON pointer.
    pub locations: Locations,
}

/// A document that is not valid YAML (or is over the alias budget), with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {col}")]
pub struct YamlError {
    /// What is wrong, without the position.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl YamlError {
    /// As a located diagnostic of `file` (`invalid YAML: ...`).
    pub fn diagnostic(&self, text: &str, file: &str) -> Diagnostic {
        Diagnostic::new(file, format!("invalid YAML: {}", self.message))
            .at(text, self.line, self.col)
    }
}

fn pos(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

fn scan_error(e: &ScanError) -> YamlError {
    let message = match e.kind() {
        // The parser points at the opening quote; say what it is in words a pack author uses.
        ErrorKind::UnclosedQuotedScalar => {
            "unterminated quoted string (the quote opened here is never closed)".to_string()
        }
        _ => e.info(),
    };
    let at = pos(e.marker());
    YamlError {
        message,
        line: at.line,
        col: at.col,
    }
}

/// Parses one YAML document (a stream of more than one is an error).
pub fn parse(text: &str) -> Result<Document, YamlError> {
    let mut b = Builder::default();
    for ev in Parser::new_from_str(text) {
        let (event, span) = ev.map_err(|e| scan_error(&e))?;
        b.event(event, pos(&span.start))?;
    }
    Ok(Document {
        value: b.root.unwrap_or(Value::Null),
        locations: b.locs,
    })
}

enum Frame {
    Map {
        map: Map<String, Value>,
        /// The key read, waiting for its value.
        key: Option<String>,
        path: String,
        anchor: usize,
        nodes_at_start: usize,
    },
    Seq {
        items: Vec<Value>,
        path: String,
        anchor: usize,
        nodes_at_start: usize,
    },
}

/// Bytes of paths the index may build: beyond it, later nodes go unindexed (their errors point
/// at the nearest indexed ancestor), so indexing a hostile document stays linear.
const PATH_BUDGET: usize = 32 << 20;

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    locs: Locations,
    /// Anchored values (by the parser's anchor id) and how many nodes each expands to.
    anchors: HashMap<usize, (Value, usize)>,
    /// Nodes so far, aliases counted as what they expand to.
    nodes: usize,
    /// Bytes of paths built so far.
    spent: usize,
}

/// Escapes a map key as a JSON-pointer token.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn err(at: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        message: message.into(),
        line: at.line,
        col: at.col,
    }
}

impl Builder {
    fn event(&mut self, event: Event<'_>, at: Pos) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(err(
                        at,
                        "more than one YAML document (`---`) in one file is not supported",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, at)?;
                if self.wants_key() {
                    return self.key(text.into_owned(), at);
                }
                let value = resolve(&text, style, tag.as_deref());
                if anchor != 0 {
                    self.anchors.insert(anchor, (value.clone(), 1));
                }
                self.index(at);
                self.put(value, at)?;
            }
            Event::Alias(id) => {
                let (value, n) = self
                    .anchors
                    .get(&id)
                    .map(|(v, n)| (v.clone(), *n))
                    .ok_or_else(|| err(at, "alias to an unknown anchor"))?;
                self.count(n, at)?;
                if self.wants_key() {
                    return match value {
                        Value::String(s) => self.key(s, at),
                        Value::Array(_) | Value::Object(_) => {
                            Err(err(at, "a mapping key must be a scalar"))
                        }
                        other => self.key(other.to_string(), at),
                    };
                }
                self.index(at);
                self.put(value, at)?;
            }
            Event::MappingStart(_, anchor, _) | Event::SequenceStart(_, anchor, _) => {
                if self.wants_key() {
                    return Err(err(at, "a mapping key must be a scalar"));
                }
                self.count(1, at)?;
                let path = self.index(at);
                let nodes_at_start = self.nodes - 1;
                self.stack
                    .push(if matches!(event, Event::MappingStart(..)) {
                        Frame::Map {
                            map: Map::new(),
                            key: None,
                            path,
                            anchor,
                            nodes_at_start,
                        }
                    } else {
                        Frame::Seq {
                            items: Vec::new(),
                            path,
                            anchor,
                            nodes_at_start,
                        }
                    });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (value, anchor, start) = match self.stack.pop() {
                    Some(Frame::Map {
                        map,
                        anchor,
                        nodes_at_start,
                        ..
                    }) => (Value::Object(map), anchor, nodes_at_start),
                    Some(Frame::Seq {
                        items,
                        anchor,
                        nodes_at_start,
                        ..
                    }) => (Value::Array(items), anchor, nodes_at_start),
                    None => return Ok(()),
                };
                if anchor != 0 {
                    self.anchors
                        .insert(anchor, (value.clone(), self.nodes - start));
                }
                self.put(value, at)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn count(&mut self, n: usize, at: Pos) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(err(
                at,
                format!(
                    "aliases expand the document past {MAX_NODES} nodes; refusing to expand it"
                ),
            ));
        }
        Ok(())
    }

    fn wants_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn key(&mut self, key: String, at: Pos) -> Result<(), YamlError> {
        let Some(Frame::Map {
            map,
            key: slot,
            path,
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(());
        };
        if map.contains_key(&key) {
            return Err(err(at, format!("duplicate key `{key}`")));
        }
        if self.spent <= PATH_BUDGET {
            let p = format!("{path}/{}", token(&key));
            self.spent += p.len() + 16;
            self.locs.insert_key(p, at);
        }
        *slot = Some(key);
        Ok(())
    }

    /// Records the position of the node starting at `at` and returns its path.
    fn index(&mut self, at: Pos) -> String {
        let path = match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { path, items, .. }) => format!("{path}/{}", items.len()),
            Some(Frame::Map { path, key, .. }) => {
                format!("{path}/{}", token(key.as_deref().unwrap_or_default()))
            }
        };
        if self.spent <= PATH_BUDGET {
            self.spent += path.len() + 16;
            self.locs.insert_value(path.clone(), at);
        }
        path
    }

    fn put(&mut self, value: Value, at: Pos) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(value);
                Ok(())
            }
            Some(Frame::Map { map, key, .. }) => match key.take() {
                Some(k) => {
                    map.insert(k, value);
                    Ok(())
                }
                None => Err(err(at, "a mapping key must be a scalar")),
            },
        }
    }
}

/// The value of a scalar: quoted and block scalars are strings, plain ones resolve by YAML
/// 1.2's core schema, a core tag decides.
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let string = || Value::String(text.to_string());
    match tag.and_then(Tag::core_suffix) {
        Some("str") => return string(),
        Some("null") => return Value::Null,
        Some("bool") => return bool_of(text).map_or_else(string, Value::Bool),
        Some("int") | Some("float") => return number_of(text).unwrap_or_else(string),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return string();
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = bool_of(text) {
        return Value::Bool(b);
    }
    number_of(text).unwrap_or_else(string)
}

fn bool_of(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A core-schema number: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`, or a float
/// (`[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `.inf`, `.nan`).
fn number_of(text: &str) -> Option<Value> {
    if let Some(oct) = text.strip_prefix("0o") {
        return u64::from_str_radix(oct, 8).ok().map(Value::from);
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(Value::from);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        // JSON has no infinity or NaN.
        return Some(Value::Null);
    }
    let bytes = unsigned.as_bytes();
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::from(u));
        }
    }
    if !is_float(unsigned) {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number))
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => digits(e.strip_prefix(['-', '+']).unwrap_or(e)),
    };
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Value {
        parse(text).unwrap().value
    }

    #[test]
    fn scalars_resolve_by_the_core_schema() {
        assert_eq!(
            value("a: 1\nb: -2\nc: 1.5\nd: 1.0.0\ne: true\nf: ~\ng:\nh: '1'\ni: \"true\"\nj: 0x1f\nk: 1e3\nl: yes\nm: !!str 5\nn: .5\no: \"111111111111\"\np: 007\n"),
            json!({"a": 1, "b": -2, "c": 1.5, "d": "1.0.0", "e": true, "f": null, "g": null,
                   "h": "1", "i": "true", "j": 31, "k": 1000.0, "l": "yes", "m": "5", "n": 0.5,
                   "o": "111111111111", "p": 7})
        );
        assert_eq!(value("k: |\n  x\n  y\n"), json!({"k": "x\ny\n"}));
        assert_eq!(value(""), Value::Null);
        assert_eq!(value("$.users"), json!("$.users"));
    }

    #[test]
    fn aliases_expand_and_positions_are_recorded() {
        let d = parse("a: &x [1, {b: 2}]\nc: *x\n").unwrap();
        assert_eq!(d.value, json!({"a": [1, {"b": 2}], "c": [1, {"b": 2}]}));
        assert_eq!(d.locations.value("/a/1/b"), Some(Pos { line: 1, col: 15 }));
        assert_eq!(d.locations.value("/c"), Some(Pos { line: 2, col: 4 }));
        assert_eq!(d.locations.key("/c"), Some(Pos { line: 2, col: 1 }));
    }

    #[test]
    fn errors_are_located() {
        let e = parse("pack:\n  name: \"abc\n  version: 1\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 9), "{e}");
        assert!(e.message.contains("unterminated quoted string"), "{e}");
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            (e.line, e.col, e.message.as_str()),
            (3, 1, "duplicate key `a`")
        );
        let e = parse("a: *nope\n").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(e.message.contains("more than one"), "{e}");
        let e = parse("? [a]\n: 1\n").unwrap_err();
        assert!(e.message.contains("key must be a scalar"), "{e}");
    }

    #[test]
    fn the_billion_laughs_is_refused_quickly() {
        let mut t = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            t.push_str(&format!(
                "l{i}: &l{i} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let start = std::time::Instant::now();
        let e = parse(&t).unwrap_err();
        assert!(e.message.contains("aliases expand"), "{e}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}
