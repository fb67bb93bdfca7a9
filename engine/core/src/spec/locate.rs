//! Where each node of a YAML document is: a map from JSON-pointer paths (`/rules/2/when`) to
//! line and column, so errors found on parsed values (schema violations, rule compile errors)
//! can still point at `file:line:col`. Built by the YAML reader ([`super::yaml`]) in the same
//! pass that builds the value.

use std::collections::HashMap;

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
    /// Indexes `text` (an empty index when it is not valid YAML).
    pub fn index(text: &str) -> Locations {
        super::yaml::parse(text)
            .map(|d| d.locations)
            .unwrap_or_default()
    }

    pub(crate) fn insert_value(&mut self, pointer: String, at: Pos) {
        self.values.insert(pointer, at);
    }

    pub(crate) fn insert_key(&mut self, pointer: String, at: Pos) {
        self.keys.insert(pointer, at);
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
