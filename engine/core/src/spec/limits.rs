//! Input limits on YAML documents (rule packs, rule tests), checked by one linear pass over
//! the text BEFORE any parser sees it: document size, nesting depth (block and flow), length
//! of one scalar, of one mapping key, and the number of aliases.
//!
//! Why before: the parsers are not linear on hostile input. libyaml (under the serde_yaml
//! this crate once used) scanned a whole document before serde saw a node, and on nested flow
//! collections (`{a: {a: ...}}`) it re-checked every pending simple key at every token, so a
//! 500 KB pack of nesting took minutes to reject; the position index ([`super::locate`]) builds a path per node that grows
//! with depth. Bounding depth and key length here makes everything after it linear.
//!
//! The pass is a small lexer that knows just enough YAML to count correctly on real packs:
//! quoted scalars (single and double, across lines), comments, block scalars (`|`, `>`), and
//! flow indicators only where YAML treats them as indicators. It never rejects a document
//! within the limits; a document it misjudges is still parsed (and reported) by the YAML reader
//! ([`super::yaml`]), which also bounds alias expansion.

/// The limits of one kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in the whole document.
    pub max_bytes: usize,
    /// Nesting depth of collections (block indentation levels plus flow brackets).
    pub max_depth: usize,
    /// Bytes in one scalar (a quoted string, or one line of a plain or block scalar).
    pub max_scalar: usize,
    /// Bytes in one mapping key.
    pub max_key: usize,
    /// Aliases (`*name`) in the document.
    pub max_aliases: usize,
}

/// Rule packs: the built-in ones are ~10 KB, 8 levels deep.
pub const PACK: Limits = Limits {
    max_bytes: 4 << 20,
    max_depth: 64,
    max_scalar: 64 << 10,
    max_key: 1 << 10,
    max_aliases: 256,
};

/// Rule tests files: they carry inventories, so they may be larger than packs.
pub const RULE_TESTS: Limits = Limits {
    max_bytes: 32 << 20,
    max_depth: 64,
    max_scalar: 1 << 20,
    max_key: 1 << 10,
    max_aliases: 1 << 10,
};

/// Accounts files (`org --accounts`): one entry per account, up to tens of thousands of
/// accounts with their tags, params and exemptions.
pub const ACCOUNTS: Limits = Limits {
    max_bytes: 64 << 20,
    max_depth: 32,
    max_scalar: 64 << 10,
    max_key: 1 << 10,
    max_aliases: 1 << 10,
};

/// A document over a limit: what, and where (1-based line and column) when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitError {
    /// What is over which limit.
    pub message: String,
    /// 1-based line.
    pub line: Option<usize>,
    /// 1-based column.
    pub col: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Single,
    Double,
}

struct Scanner<'a> {
    limits: &'a Limits,
    line: usize,
    /// Column stack of block collections (indentation levels).
    indents: Vec<usize>,
    flow: usize,
    aliases: usize,
}

impl Scanner<'_> {
    fn err(&self, col: usize, message: String) -> LimitError {
        LimitError {
            message,
            line: Some(self.line),
            col: Some(col + 1),
        }
    }

    fn check_depth(&self, col: usize) -> Result<(), LimitError> {
        let depth = self.indents.len() + self.flow;
        if depth > self.limits.max_depth {
            return Err(self.err(
                col,
                format!(
                    "nested more than {} levels deep (the input limit; rule packs need far fewer)",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    fn check_scalar(&self, col: usize, len: usize, what: &str) -> Result<(), LimitError> {
        if len > self.limits.max_scalar {
            return Err(self.err(
                col,
                format!(
                    "a {what} of {len} bytes, more than the input limit of {} bytes",
                    self.limits.max_scalar
                ),
            ));
        }
        Ok(())
    }

    /// Pushes a block collection starting at `col`, after popping the ones it is not inside.
    fn block_at(&mut self, col: usize) -> Result<(), LimitError> {
        while self.indents.last().is_some_and(|&c| c > col) {
            self.indents.pop();
        }
        if self.indents.last() != Some(&col) {
            self.indents.push(col);
        }
        self.check_depth(col)
    }
}

/// Checks `text` against `limits` in one pass, in time linear in its length.
pub fn check(text: &str, limits: &Limits) -> Result<(), LimitError> {
    if text.len() > limits.max_bytes {
        return Err(LimitError {
            message: format!(
                "{} bytes, more than the input limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
            line: None,
            col: None,
        });
    }
    let mut s = Scanner {
        limits,
        line: 0,
        indents: Vec::new(),
        flow: 0,
        aliases: 0,
    };
    // An open quoted scalar carried across lines: its kind, where it started, its length.
    let mut open: Option<(Quote, usize, usize, usize)> = None;
    // Inside a block scalar whose parent line is indented this much.
    let mut block_scalar: Option<usize> = None;
    for raw in text.split('\n') {
        s.line += 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw).as_bytes();
        let indent = line.iter().take_while(|b| **b == b' ').count();
        let blank = line.iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                s.check_scalar(indent, line.len(), "block scalar line")?;
                continue;
            }
            block_scalar = None;
        }
        let mut i = 0usize;
        if open.is_none() && s.flow == 0 {
            if blank || line.get(indent) == Some(&b'#') {
                continue;
            }
            if line.starts_with(b"---") || line.starts_with(b"...") {
                s.indents.clear();
                continue;
            }
            // Block structure: the indentation, then each `- ` on the line opens a level.
            let mut col = indent;
            s.block_at(col)?;
            while line.get(col) == Some(&b'-')
                && line.get(col + 1).is_none_or(|b| *b == b' ' || *b == b'\t')
            {
                col += 1;
                while line.get(col).is_some_and(|b| *b == b' ' || *b == b'\t') {
                    col += 1;
                }
                if col < line.len() {
                    s.block_at(col)?;
                }
            }
            i = col;
        }
        // Where the current plain scalar (or key) started on this line.
        let mut plain_start: Option<usize> = None;
        while i < line.len() {
            let b = line.get(i).copied().unwrap_or_default();
            if let Some((q, line0, col0, len)) = open.as_mut() {
                *len += 1;
                let close = match q {
                    Quote::Double if b == b'\\' => {
                        i += 2;
                        *len += 1;
                        continue;
                    }
                    Quote::Double => b == b'"',
                    Quote::Single if b == b'\'' && line.get(i + 1) == Some(&b'\'') => {
                        i += 2;
                        *len += 1;
                        continue;
                    }
                    Quote::Single => b == b'\'',
                };
                if *len > s.limits.max_scalar {
                    let (l, c) = (*line0, *col0);
                    s.line = l;
                    return Err(s.err(
                        c,
                        format!(
                            "a quoted string of more than {} bytes (the input limit)",
                            s.limits.max_scalar
                        ),
                    ));
                }
                if close {
                    let (len, col0) = (*len, *col0);
                    open = None;
                    i += 1;
                    if next_is_key_colon(line, i) {
                        check_key(&s, col0, len)?;
                    }
                } else {
                    i += 1;
                }
                continue;
            }
            let prev = i.checked_sub(1).and_then(|p| line.get(p)).copied();
            let token_start = match prev {
                None => true,
                Some(p) => {
                    p == b' '
                        || p == b'\t'
                        || (s.flow > 0 && matches!(p, b'[' | b'{' | b',' | b':'))
                }
            };
            match b {
                b'#' if token_start => break,
                b'"' | b'\'' if token_start && plain_start.is_none() => {
                    let q = if b == b'"' {
                        Quote::Double
                    } else {
                        Quote::Single
                    };
                    open = Some((q, s.line, i, 0));
                }
                b'[' | b'{' if (token_start || s.flow > 0) && plain_start.is_none() => {
                    s.flow += 1;
                    s.check_depth(i)?;
                }
                b']' | b'}' if s.flow > 0 => {
                    s.flow -= 1;
                    end_plain(&s, line, &mut plain_start, i)?;
                }
                b',' if s.flow > 0 => end_plain(&s, line, &mut plain_start, i)?,
                b'*' if token_start && plain_start.is_none() => {
                    s.aliases += 1;
                    if s.aliases > s.limits.max_aliases {
                        return Err(s.err(
                            i,
                            format!(
                                "more than {} aliases (`*name`), the input limit",
                                s.limits.max_aliases
                            ),
                        ));
                    }
                    plain_start = Some(i);
                }
                b'|' | b'>' if token_start && s.flow == 0 && plain_start.is_none() => {
                    if line
                        .get(i + 1..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|c| **c != b'#')
                        .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b'-' | b' ' | b'\t'))
                    {
                        block_scalar = Some(indent);
                        break;
                    }
                    plain_start = Some(i);
                }
                b':' if line.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t')
                    || (s.flow > 0 && matches!(line.get(i + 1), Some(b',' | b']' | b'}'))) =>
                {
                    if let Some(start) = plain_start.take() {
                        check_key(&s, start, i - start)?;
                    }
                }
                // In a flow collection, a colon outside a plain scalar (after `"key"`) is an indicator.
                b':' if s.flow > 0 && plain_start.is_none() => {}
                b' ' | b'\t' => {}
                _ => {
                    if plain_start.is_none() {
                        plain_start = Some(i);
                    }
                }
            }
            i += 1;
        }
        end_plain(&s, line, &mut plain_start, line.len())?;
    }
    Ok(())
}

fn next_is_key_colon(line: &[u8], mut i: usize) -> bool {
    while line.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    line.get(i) == Some(&b':')
}

fn check_key(s: &Scanner<'_>, col: usize, len: usize) -> Result<(), LimitError> {
    if len > s.limits.max_key {
        return Err(s.err(
            col,
            format!(
                "a mapping key of {len} bytes, more than the input limit of {} bytes",
                s.limits.max_key
            ),
        ));
    }
    Ok(())
}

fn end_plain(
    s: &Scanner<'_>,
    _line: &[u8],
    start: &mut Option<usize>,
    end: usize,
) -> Result<(), LimitError> {
    if let Some(st) = start.take() {
        s.check_scalar(st, end.saturating_sub(st), "scalar")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) {
        if let Err(e) = check(text, &PACK) {
            panic!("rejected {text:?}: {e} at {:?}:{:?}", e.line, e.col);
        }
    }

    #[test]
    fn every_shipped_pack_and_tests_file_is_within_the_limits() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                check(&text, &RULE_TESTS).unwrap();
                if !path.to_string_lossy().ends_with(".tests.yaml") {
                    check(&text, &PACK).unwrap();
                }
                n += 1;
            }
        }
        assert!(n >= 4, "read {n} files");
    }

    #[test]
    fn ordinary_yaml_passes() {
        ok("a: 1\nb:\n  - c: \"it's # not a comment\"\n    d: 'say ''hi'''\n  - [1, {x: y}]\n");
        ok("msg: it's fine [really\nnext: {a: b}\n");
        ok("text: |\n  \"an unclosed quote in a block scalar\n  { [ and brackets\nafter: 1\n");
        ok("regex: '^arn:aws:iam::[0-9]{12}:'\nplain: a [b] {c}\n");
        ok("base: &b {x: 1}\nuse: *b\n");
    }

    #[test]
    fn deep_flow_nesting_is_rejected_with_its_position() {
        let text = format!("{}1{}", "{a: ".repeat(100), "}".repeat(100));
        let e = check(&text, &PACK).unwrap_err();
        assert!(e.message.contains("nested more than 64 levels"), "{e}");
        assert_eq!((e.line, e.col), (Some(1), Some(4 * 63 + 1)));
        let seq = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        assert!(check(&seq, &PACK).is_err());
        ok(&format!("{}1{}", "[".repeat(60), "]".repeat(60)));
    }

    #[test]
    fn deep_block_nesting_is_rejected() {
        let mut text = String::new();
        for d in 0..70 {
            text.push_str(&" ".repeat(d * 2));
            text.push_str("a:\n");
        }
        let e = check(&text, &PACK).unwrap_err();
        assert_eq!(e.line, Some(65), "{e}");
        let dashes = format!("{}x\n", "- ".repeat(70));
        assert!(check(&dashes, &PACK).is_err());
    }

    #[test]
    fn long_strings_keys_big_documents_and_many_aliases_are_rejected() {
        let long = format!("a: \"{}\"\n", "x".repeat(70_000));
        assert!(check(&long, &PACK)
            .unwrap_err()
            .message
            .contains("quoted string"));
        let plain = format!("a: {}\n", "x".repeat(70_000));
        assert!(check(&plain, &PACK).unwrap_err().message.contains("scalar"));
        let key = format!("{}: 1\n", "k".repeat(2_000));
        assert!(check(&key, &PACK)
            .unwrap_err()
            .message
            .contains("mapping key"));
        let big = "a: 1\n".repeat(1 << 20);
        assert!(check(&big, &PACK).unwrap_err().message.contains("bytes"));
        let mut laughs = String::from("a: &a [\"lol\"]\n");
        for i in 0..300 {
            laughs.push_str(&format!("b{i}: [*a, *a]\n"));
        }
        assert!(check(&laughs, &PACK)
            .unwrap_err()
            .message
            .contains("aliases"));
    }
}
