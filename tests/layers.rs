//! One-way layers: a module of the engine may import only from its own layer or a lower one.
//!
//! The test reads every `engine/core/src/**.rs`, finds each path that names another top-level module
//! (`crate::x`, `use crate::{x, y::{z}}` trees over any number of lines, `$crate::x`, and `super::`
//! chains that climb out of the file's top module), and fails naming `file:line` and the upward
//! edge. Comments and string or char literals are skipped, so a doc link or a message that looks
//! like a path is not an import. `render` and `apply` share a layer but neither may import the
//! other. Between crates Cargo enforces the direction (core <- aws <- cli); the last tests here
//! check that the core crate's manifest names no AWS SDK, async runtime or CLI crate.
//!
//! The layer order is the one ARCHITECTURE.md states; keep both in step.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every top-level module of the engine and its layer, lowest first. A module not listed here
/// fails the test: give it a layer when you add it.
const LAYERS: &[(&str, u8)] = &[
    ("diag", 1),
    ("digest", 1),
    ("policy", 2),
    ("inventory", 3),
    // The SDK-free `Iam` trait and the typed `IamCall`, the operator and step registries, and
    // the event names: units every layer above consumes a slice of.
    ("iam", 4),
    ("ops", 4),
    ("steps", 4),
    ("event_name", 4),
    ("spec", 5),
    ("compile", 6),
    ("eval", 7),
    ("event", 8),
    ("plan", 9),
    ("render", 10),
    ("apply", 10),
    ("sign", 11),
    ("packs", 11),
    ("pipeline", 11),
    ("ruletest", 11),
    ("schema", 11),
    ("scaffold", 11),
    // Organizations: accounts, filters, shards, the org report (uses plan and spec::locate).
    ("org", 11),
    // `watch`: queue messages sorted, the seen-event state, log lines and metrics.
    ("watch", 11),
];

/// Modules of one layer that must not import each other.
const APART: &[(&str, &str)] = &[("render", "apply")];

/// Edges that break the rules today and are being removed by another part of issue 12 in the same
/// wave. Each entry must still exist in the code (the test fails when one is gone, so this list
/// empties as the edges go); do not add entries.
const ALLOWED: &[(&str, &str, &str)] = &[];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

// ---------------------------------------------------------------------------------------------
// The scanner: a small Rust tokenizer (enough to skip comments and literals) and a path walker.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// Tokens with their 1-based line; comments, strings, chars, numbers and lifetimes dropped.
fn tokenize(src: &str) -> Vec<(Tok, usize)> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    let at = |i: usize| b.get(i).copied().unwrap_or('\0');
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            // Block comments nest in Rust.
            let mut depth = 0usize;
            while i < b.len() {
                if b[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if b[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some(end) = raw_string_end(&b, i) {
            line += b[i..end].iter().filter(|&&c| c == '\n').count();
            i = end;
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            i += if c == 'b' { 2 } else { 1 };
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            // A char literal ('x', '\n', '\u{1F600}', b'x') or a lifetime ('a).
            let s = if c == 'b' { i + 1 } else { i };
            if at(s + 1) == '\\' {
                let mut j = s + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(s + 2) == '\'' {
                i = s + 3;
            } else {
                i = s + 1; // a lifetime: its name follows as an identifier, harmless
            }
        } else if c.is_alphabetic() || c == '_' {
            let s = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let word: String = b[s..i].iter().collect();
            out.push((Tok::Ident(word.trim_start_matches("r#").to_string()), line));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// The end (exclusive) of a raw string (`r"…"`, `r#"…"#`, `br##"…"##`) starting at `i`.
fn raw_string_end(b: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    if b.get(j) != Some(&'r') {
        return None;
    }
    if i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_') {
        return None; // the tail of an identifier such as `for` or `bar`
    }
    j += 1;
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(b.len())
}

/// A path in `file` that names a top-level module: `crate::target…` or a `super::` climb.
#[derive(Debug, Clone, PartialEq)]
struct Ref {
    line: usize,
    target: String,
}

/// The top-level modules a source names. `module` is the file's module path below the crate
/// root (`["apply", "aws"]` for `apply/aws/mod.rs`, `[]` for `lib.rs`); inline `mod x { … }`
/// blocks extend it, so `super::` is resolved where it stands. Paths into the file's own top
/// module are kept too (the caller drops them).
fn scan(src: &str, module: &[&str]) -> Result<Vec<Ref>, String> {
    let toks = tokenize(src);
    let mut refs = Vec::new();
    let mut depth = 0usize;
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |i: usize, t: &Tok| toks.get(i).map(|(x, _)| x) == Some(t);
    let mut i = 0;
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        match tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(name), true) = (ident(i + 1), is(i + 2, &Tok::Punct('{'))) {
                    inline.push((name.to_string(), depth + 1));
                }
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super") && !is(i.wrapping_sub(1), &Tok::Path) =>
            {
                let mut j = i;
                let mut climbs = 0usize;
                if w == "super" {
                    while ident(j) == Some("super") && is(j + 1, &Tok::Path) {
                        climbs += 1;
                        j += 2;
                    }
                    if climbs == 0 {
                        i += 1;
                        continue; // `pub(super)`
                    }
                    let here: Vec<&str> = module
                        .iter()
                        .copied()
                        .chain(inline.iter().map(|(n, _)| n.as_str()))
                        .collect();
                    if climbs > here.len() {
                        return Err(format!(
                            "line {line}: `super::` climbs above the crate root"
                        ));
                    }
                    if climbs < here.len() {
                        // Still inside a top-level module: name it, the caller sees it is its own.
                        refs.push(Ref {
                            line,
                            target: here[0].to_string(),
                        });
                        i = j;
                        continue;
                    }
                } else {
                    if !is(i + 1, &Tok::Path) {
                        i += 1;
                        continue; // `pub(crate)`
                    }
                    j = i + 2;
                }
                // `j` is at the first segment after the root: a name or a `{ … }` tree.
                match toks.get(j).map(|(t, _)| t) {
                    Some(Tok::Ident(name)) if name != "self" => {
                        refs.push(Ref {
                            line,
                            target: name.clone(),
                        });
                    }
                    Some(Tok::Punct('{')) => {
                        let (names, end) = tree_heads(&toks, j)?;
                        refs.extend(names.into_iter().map(|(target, line)| Ref { line, target }));
                        i = end;
                        continue;
                    }
                    _ => {}
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(refs)
}

/// The first segment of every branch of a use tree whose `{` is at `open`, with its line, and
/// the index after the matching `}`. Nested braces below a head are skipped: they stay inside it.
fn tree_heads(toks: &[(Tok, usize)], open: usize) -> Result<(Vec<(String, usize)>, usize), String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut expect_head = true;
    let mut i = open;
    while i < toks.len() {
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
            }
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return Ok((heads, i + 1));
                }
            }
            Tok::Punct(',') if depth == 1 => expect_head = true,
            Tok::Ident(name) if depth == 1 && expect_head => {
                if name != "self" {
                    heads.push((name.clone(), toks[i].1));
                }
                expect_head = false;
            }
            _ if depth == 1 => expect_head = false,
            _ => {}
        }
        i += 1;
    }
    Err(format!("line {}: unclosed use tree", toks[open].1))
}

/// The file's module path below the crate root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every edge between two different top-level modules: (from, to) -> "file:line" sites.
type Edges = BTreeMap<(String, String), Vec<String>>;

fn edges_of(src_dir: &Path) -> (Edges, Vec<String>) {
    let mut files = Vec::new();
    rust_files(src_dir, &mut files);
    files.sort();
    let mut edges = Edges::new();
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(src_dir).unwrap();
        let shown = format!("engine/core/src/{}", rel.display());
        let module = module_path(rel);
        let Some(from) = module.first().cloned() else {
            continue; // lib.rs and main.rs: the roots declare modules, they sit above every layer
        };
        let text = std::fs::read_to_string(f).unwrap();
        let path: Vec<&str> = module.iter().map(String::as_str).collect();
        match scan(&text, &path) {
            Ok(refs) => {
                for r in refs.into_iter().filter(|r| r.target != from) {
                    edges
                        .entry((from.clone(), r.target))
                        .or_default()
                        .push(format!("{shown}:{}", r.line));
                }
            }
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    (edges, problems)
}

/// What is wrong with one edge, if anything.
fn violation(from: &str, to: &str) -> Option<String> {
    let Some(lf) = layer(from) else {
        return Some(format!(
            "module `{from}` has no layer: add it to LAYERS in tests/layers.rs"
        ));
    };
    let Some(lt) = layer(to) else {
        return Some(format!(
            "module `{to}` has no layer: add it to LAYERS in tests/layers.rs"
        ));
    };
    if lt > lf {
        return Some(format!(
            "`{from}` (layer {lf}) imports `{to}` (layer {lt}), a layer above it"
        ));
    }
    if APART
        .iter()
        .any(|&(a, b)| (a, b) == (from, to) || (b, a) == (from, to))
    {
        return Some(format!(
            "`{from}` imports `{to}`: neither of the two may import the other"
        ));
    }
    None
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let src = core_src();
    let (edges, mut problems) = edges_of(&src);
    for ((from, to), sites) in &edges {
        let allowed = ALLOWED
            .iter()
            .any(|&(f, t, _)| (f, t) == (from.as_str(), to.as_str()));
        if let (Some(why), false) = (violation(from, to), allowed) {
            for s in sites {
                problems.push(format!("{s}: {why}"));
            }
        }
    }
    for &(f, t, why) in ALLOWED {
        if !edges.contains_key(&(f.to_string(), t.to_string())) {
            problems.push(format!(
                "the allowed edge `{f} -> {t}` ({why}) no longer exists: delete it from ALLOWED"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "layer rules broken:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_module_of_the_engine_has_a_layer() {
    let src = core_src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let tops: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(f.strip_prefix(&src).unwrap()).first().cloned())
        .collect();
    let missing: Vec<&String> = tops.iter().filter(|m| layer(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "modules without a layer in LAYERS: {missing:?}"
    );
    // The scan sees the modules that exist today, so it is not reading an empty directory.
    for m in [
        "spec", "compile", "eval", "plan", "render", "apply", "steps",
    ] {
        assert!(tops.contains(m), "{m} not found under {}", src.display());
    }
}

// ---------------------------------------------------------------------------------------------
// The scanner on small sources.

fn targets(src: &str, module: &[&str]) -> Vec<(usize, String)> {
    scan(src, module)
        .unwrap()
        .into_iter()
        .map(|r| (r.line, r.target))
        .collect()
}

#[test]
fn scanner_reads_use_trees_over_several_lines() {
    let src = "use crate::{a, b::{c, d}};\nuse crate::{\n    e::F,\n    self,\n    g as h,\n};\n";
    let got = targets(src, &["x"]);
    assert_eq!(
        got,
        vec![
            (1, "a".into()),
            (1, "b".into()),
            (3, "e".into()),
            (5, "g".into())
        ]
    );
}

#[test]
fn scanner_finds_paths_in_expressions_and_types() {
    let src =
        "fn f(x: &crate::plan::Plan) -> u8 {\n    crate::digest::hash(x); $crate::ops::X; 0\n}\n";
    assert_eq!(
        targets(src, &["render"]),
        vec![(1, "plan".into()), (2, "digest".into()), (2, "ops".into())]
    );
}

#[test]
fn scanner_skips_comments_strings_and_chars() {
    let src = r####"
// use crate::plan;
/// See [`crate::plan::Evidence`].
/* crate::plan /* nested crate::plan */ still a comment crate::plan */
let a = "crate::plan::Plan";
let b = r#"use crate::{plan}; "quoted" "#;
let c = b"crate::plan";
let d = '"'; let e = '\''; fn g<'a>(x: &'a str) {}
let f = "escaped \" crate::plan";
use crate::eval::Match;
"####;
    assert_eq!(targets(src, &["render"]), vec![(10, "eval".into())]);
}

#[test]
fn scanner_resolves_super_where_it_stands() {
    // In a top-level file, `super::` leaves the module.
    assert_eq!(
        targets("use super::plan::Action;", &["eval"]),
        vec![(1, "plan".into())]
    );
    assert_eq!(
        targets("use super::{plan, spec::X};", &["eval"]),
        vec![(1, "plan".into()), (1, "spec".into())]
    );
    // One level down it stays inside; two levels leave.
    assert_eq!(
        targets("use super::Match;", &["eval", "explain"]),
        vec![(1, "eval".into())]
    );
    assert_eq!(
        targets("use super::super::plan::Action;", &["eval", "explain"]),
        vec![(1, "plan".into())]
    );
    // An inline `mod tests { … }` is one more level; after its `}` the level is gone again.
    let src = "mod tests {\n    use super::*;\n    use super::super::apply::X;\n}\nuse super::render::Y;\n";
    assert_eq!(
        targets(src, &["eval"]),
        vec![
            (2, "eval".into()),
            (3, "apply".into()),
            (5, "render".into())
        ]
    );
    // `pub(super)` and `pub(crate)` are not paths.
    assert!(targets("pub(super) fn f() {} pub(crate) struct S;", &["eval"]).is_empty());
    assert!(scan("use super::super::x;", &["eval"]).is_err());
}

#[test]
fn an_upward_edge_is_named_and_apart_modules_are_kept_apart() {
    assert!(violation("eval", "plan")
        .unwrap()
        .contains("`eval` (layer 7) imports `plan` (layer 9)"));
    assert!(violation("render", "apply").is_some());
    assert!(violation("apply", "render").is_some());
    assert!(violation("plan", "eval").is_none());
    assert!(violation("spec", "spec").is_none());
    assert!(violation("newthing", "diag").unwrap().contains("no layer"));
}

/// `engine/core/src`, the crate whose modules have layers.
fn core_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src")
}

/// The dependency names of one `[section]` of a crate manifest.
fn manifest_deps(krate: &str, section: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../{krate}/Cargo.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut inside = false;
    let mut deps = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                deps.push(name.trim().to_string());
            }
        }
    }
    deps
}

#[test]
fn the_core_crate_has_no_aws_sdk_runtime_or_cli_dependency() {
    let deps = manifest_deps("core", "dependencies");
    assert!(
        deps.iter().any(|d| d == "serde"),
        "read no dependencies: {deps:?}"
    );
    let banned: Vec<&String> = deps
        .iter()
        .filter(|d| {
            d.starts_with("aws-")
                || d.starts_with("clap")
                || ["tokio", "anyhow", "hyper", "reqwest", "mimalloc"].contains(&d.as_str())
                || d.starts_with("iamwarden")
        })
        .collect();
    assert!(
        banned.is_empty(),
        "engine/core/Cargo.toml depends on {banned:?}: SDK and runtime code goes in engine/aws, \
         CLI code in engine/cli"
    );
}

#[test]
fn the_aws_crate_depends_on_the_core_only() {
    let deps = manifest_deps("aws", "dependencies");
    assert!(deps.iter().any(|d| d == "iamwarden-core"), "{deps:?}");
    assert!(
        !deps
            .iter()
            .any(|d| d == "iamwarden" || d == "iamwarden-test-support" || d.starts_with("clap")),
        "engine/aws/Cargo.toml: {deps:?}"
    );
}
