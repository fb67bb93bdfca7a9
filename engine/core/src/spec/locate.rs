//! Where each node of a YAML document is: a map from JSON-pointer paths (`/rules/2/when`) to
//! line and column, so errors found on parsed values (schema violations, rule compile errors)
//! can still point at `file:line:col`.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// Positions of the nodes of one YAML document.
#[derive(Debug, Default, Clone)]
pub struct Locations {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

impl Locations {
    /// Indexes `text`. A document that does not parse yields an empty index (serde reports
    /// the syntax error with its own position).
    pub fn index(text: &str) -> Locations {
        let mut rx = Receiver::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut rx, false).is_err() {
            return Locations::default();
        }
        rx.locs
    }

    /// Where the value at `pointer` starts (a JSON pointer such as `/rules/0/select`).
    pub fn value(&self, pointer: &str) -> Option<Pos> {
        self.values.get(pointer).copied()
    }

    /// Where the key of the entry at `pointer` is, falling back to its value.
    pub fn key(&self, pointer: &str) -> Option<Pos> {
        self.keys
            .get(pointer)
            .copied()
            .or_else(|| self.value(pointer))
    }

    /// The closest located ancestor-or-self of `pointer` (value position).
    pub fn nearest(&self, pointer: &str) -> Option<Pos> {
        let mut p = pointer.to_string();
        loop {
            if let Some(pos) = self.value(&p) {
                return Some(pos);
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => return None,
            }
        }
    }
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

/// Bytes of paths the index may build: beyond it, later nodes go unindexed (their errors point
/// at the nearest indexed ancestor), so indexing a hostile document stays linear.
const PATH_BUDGET: usize = 32 << 20;

#[derive(Default)]
struct Receiver {
    stack: Vec<Frame>,
    locs: Locations,
    /// Bytes of paths built so far.
    spent: usize,
}

fn pos(m: Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

/// Escapes a map key as a JSON-pointer token.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Receiver {
    /// Called for every node start; returns the node's path, or None when it is a map key.
    fn node(&mut self, text: Option<&str>, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => {
                self.locs.values.insert(String::new(), pos(mark));
                Some(String::new())
            }
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}/{next}");
                *next += 1;
                self.locs.values.insert(p.clone(), pos(mark));
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                None => {
                    let k = text.unwrap_or_default();
                    let p = format!("{path}/{}", token(k));
                    self.locs.keys.insert(p, pos(mark));
                    *key = Some(k.to_string());
                    None
                }
                Some(k) => {
                    let p = format!("{path}/{}", token(&k));
                    self.locs.values.insert(p.clone(), pos(mark));
                    Some(p)
                }
            },
        }
    }
}

impl MarkedEventReceiver for Receiver {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.spent > PATH_BUDGET {
            return;
        }
        self.spent += match self.stack.last() {
            Some(Frame::Map { path, .. } | Frame::Seq { path, .. }) => path.len() + 16,
            None => 16,
        };
        match ev {
            Event::Scalar(text, ..) => {
                self.node(Some(&text), mark);
            }
            Event::Alias(_) => {
                self.node(Some(""), mark);
            }
            Event::MappingStart(..) => {
                // A mapping used as a key is not supported by our packs; index it under "".
                let path = self.node(Some(""), mark).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.node(Some(""), mark).unwrap_or_default();
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_nodes() {
        let text = "pack:\n  name: x\nrules:\n  - id: a\n    when:\n      path: $.x\n  - {id: b, select: \"$.users\"}\n";
        let l = Locations::index(text);
        assert_eq!(l.value("/pack/name"), Some(Pos { line: 2, col: 9 }));
        assert_eq!(l.key("/pack/name"), Some(Pos { line: 2, col: 3 }));
        assert_eq!(
            l.value("/rules/0/when/path"),
            Some(Pos { line: 6, col: 13 })
        );
        assert_eq!(l.value("/rules/1/select"), Some(Pos { line: 7, col: 21 }));
        assert_eq!(
            l.nearest("/rules/1/when/any/3"),
            Some(Pos { line: 7, col: 5 })
        );
        assert!(Locations::index("a: [").value("").is_none());
    }
}
