//! Diagnostics: an error in a user's input, with the file, position, rule id and field it is
//! about, rendered rustc-style with the offending source line and a caret.

use std::fmt;

/// One problem in one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (as given on the command line, or `builtin:<name>`).
    pub file: String,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    /// 1-based column.
    pub col: Option<usize>,
    /// The rule the problem is in, when it is in one.
    pub rule: Option<String>,
    /// The field, as a path inside the rule or pack (`when.all[1].older_than`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A suggestion (`did you mean ...?`).
    pub hint: Option<String>,
    /// The source line the position points into, for the caret display.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A diagnostic about `file` with a message and nothing else yet.
    pub fn new(file: &str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            line: None,
            col: None,
            rule: None,
            field: None,
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    /// Sets the position and remembers the source line for the caret display.
    pub fn at(mut self, text: &str, line: usize, col: usize) -> Diagnostic {
        self.line = Some(line);
        self.col = Some(col);
        self.source_line = text.lines().nth(line.saturating_sub(1)).map(str::to_string);
        self
    }

    /// Sets the rule id.
    pub fn rule(mut self, id: &str) -> Diagnostic {
        self.rule = Some(id.to_string());
        self
    }

    /// Sets the field.
    pub fn field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    /// Sets the hint.
    pub fn hint(mut self, hint: Option<String>) -> Diagnostic {
        self.hint = hint;
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.render(f, "error")
    }
}

/// A diagnostic shown as a warning (`file:line:col: warning in rule ...`), the same layout as
/// an error otherwise.
pub struct AsWarning<'a>(pub &'a Diagnostic);

impl fmt::Display for AsWarning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.render(f, "warning")
    }
}

impl Diagnostic {
    fn render(&self, f: &mut fmt::Formatter<'_>, level: &str) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(l), Some(c)) = (self.line, self.col) {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": {level}")?;
        if let Some(r) = &self.rule {
            write!(f, " in rule `{r}`")?;
        }
        if let Some(fl) = &self.field {
            write!(f, ", field `{fl}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        if let (Some(src), Some(c)) = (&self.source_line, self.col) {
            // A long line (a hostile one-line document) is shown as a window around the caret.
            let len = src.chars().count();
            let caret = c.saturating_sub(1).min(len);
            let start = if caret > 100 { caret - 60 } else { 0 };
            let end = len.min(caret.max(start) + 60).max(len.min(120));
            let prefix = if start > 0 { "..." } else { "" };
            let suffix = if end < len { "..." } else { "" };
            let shown: String = src
                .chars()
                .skip(start)
                .take(end.saturating_sub(start))
                .collect();
            let pad: String = prefix
                .chars()
                .map(|_| ' ')
                .chain(
                    src.chars()
                        .skip(start)
                        .take(caret.saturating_sub(start))
                        .map(|ch| if ch == '\t' { '\t' } else { ' ' }),
                )
                .collect();
            write!(f, "\n    |\n    | {prefix}{shown}{suffix}\n    | {pad}^")?;
        }
        Ok(())
    }
}

/// Several diagnostics, reported together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "\n{n} error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest of `candidates` to `word`, if close enough to be a plausible typo.
pub fn did_you_mean<'a, I: IntoIterator<Item = &'a str>>(
    word: &str,
    candidates: I,
) -> Option<String> {
    let limit = (word.chars().count() / 3).max(2);
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min();
    // A shortened name (`deactivate_key`): every word of it appears in the candidate.
    let words: Vec<&str> = word.split(['_', '-']).filter(|w| !w.is_empty()).collect();
    let contains_words = || {
        candidates
            .iter()
            .filter(|c| {
                words.len() > 1 && words.iter().all(|w| c.split(['_', '-']).any(|t| t == *w))
            })
            .min_by_key(|c| c.len())
            .copied()
    };
    close
        .map(|(_, c)| c)
        .or_else(contains_words)
        .map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_hint() {
        assert_eq!(edit_distance("older_thn", "older_than"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            did_you_mean("older_thn", ["older_than", "newer_than", "eq"]),
            Some("did you mean `older_than`?".to_string())
        );
        assert_eq!(did_you_mean("zzzzzz", ["older_than"]), None);
    }

    #[test]
    fn renders_caret() {
        let d = Diagnostic::new("p.yaml", "bad")
            .at("a: 1\n  select: $.x[\n", 2, 11)
            .rule("r1")
            .field("select");
        let s = d.to_string();
        assert!(
            s.starts_with("p.yaml:2:11: error in rule `r1`, field `select`: bad"),
            "{s}"
        );
        assert!(
            s.ends_with("    |   select: $.x[\n    |           ^"),
            "{s}"
        );
    }

    #[test]
    fn a_long_line_is_shown_as_a_window_around_the_caret() {
        let line = format!("{}X{}", "a".repeat(5_000), "b".repeat(5_000));
        let s = Diagnostic::new("p.yaml", "bad")
            .at(&line, 1, 5_001)
            .to_string();
        assert!(s.starts_with("p.yaml:1:5001: error: bad"), "{s}");
        assert!(s.len() < 400, "{} bytes", s.len());
        let mut lines = s.lines().skip(2);
        let (src, caret) = (lines.next().unwrap(), lines.next().unwrap());
        assert_eq!(src.find('X'), caret.find('^'), "{s}");
        assert!(src.contains("...") && src.ends_with("..."), "{s}");
        // Past the end of the line: no panic, the caret after the text.
        let s = Diagnostic::new("p.yaml", "bad")
            .at("short", 1, 400)
            .to_string();
        assert!(s.contains("| short"), "{s}");
    }
}
