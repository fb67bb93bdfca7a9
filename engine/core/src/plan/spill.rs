//! Findings kept in a file while a plan is made, not in memory: what lets `plan --out` on a
//! large account stay within a few times the snapshot's size.
//!
//! At 100,000 users a plan has about 250,000 findings, 180 MB as structs; written, they are
//! most of the plan file. A [`Spill`] takes each finding already rendered (pretty JSON, on the
//! evaluating threads, with its `actions` still empty) and appends it to a file the caller
//! provides, keeping 25 bytes a finding: where its text ends, its severity and its rule (a
//! pointer to the rule set's id). Which actions a
//! finding led to is known only once every finding is in (deduplication and superseding move
//! findings between actions), so the builder links them at the end ([`Spill::link`]) and
//! [`SpilledFindings::render_chunk`] writes each finding's `actions` into its text as the plan
//! is written. The text is exactly what [`super::Plan::write_sealed`] writes for the same
//! findings held in memory (a test in `pipeline` compares the two, byte for byte).

use super::{Action, Finding};
use crate::digest::Chunk;
use crate::spec::Severity;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Mutex;

/// How a finding's pretty text ends while its `actions` are empty: the builder strips the
/// `[]` and the closing brace, and [`SpilledFindings::render_chunk`] writes them back filled.
const EMPTY_ACTIONS_END: &[u8] = b"\"actions\": []\n}";

/// What the spill strips off the end of a rendered finding (the `[]` and the closing brace).
const STRIPPED: usize = b"[]\n}".len();

/// A finding's pretty JSON (standalone, as `serde_json::to_writer_pretty` writes it) with its
/// `actions` left off the end, ready for [`Spill::push`]. `f.actions` must be empty.
pub fn render_head(f: &Finding) -> std::io::Result<Vec<u8>> {
    let mut text = Vec::with_capacity(512);
    serde_json::to_writer_pretty(&mut text, f).map_err(std::io::Error::from)?;
    if !f.actions.is_empty() || !text.ends_with(EMPTY_ACTIONS_END) {
        return Err(std::io::Error::other(
            "a finding to spill must end with its empty actions",
        ));
    }
    text.truncate(text.len() - STRIPPED);
    Ok(text)
}

/// What is kept in memory of each spilled finding, in the plan's order.
#[derive(Default)]
struct Kept {
    /// Where its text ends in the file (it starts where the one before ends).
    ends: Vec<u64>,
    severities: Vec<Severity>,
    /// Its rule (shared with the rule set: a pointer each).
    rules: Vec<std::sync::Arc<str>>,
}

/// Findings being written to a file, in the plan's order.
pub struct Spill {
    out: BufWriter<File>,
    written: u64,
    kept: Kept,
    links: Vec<(u32, u32)>,
    /// The first write that failed: the spill is then useless, and [`Spill::finish`] says why.
    failed: Option<std::io::Error>,
}

impl Spill {
    /// A spill into `file` (empty, opened for reading and writing; a temporary file the
    /// caller removes).
    pub fn new(file: File) -> Spill {
        Spill {
            out: BufWriter::with_capacity(1 << 20, file),
            written: 0,
            kept: Kept::default(),
            links: Vec::new(),
            failed: None,
        }
    }

    /// How many findings were pushed.
    pub fn len(&self) -> usize {
        self.kept.ends.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.kept.ends.is_empty()
    }

    /// Appends a finding of rule `rule` rendered by [`render_head`] (or the error rendering it
    /// gave).
    pub fn push(
        &mut self,
        head: std::io::Result<Vec<u8>>,
        rule: std::sync::Arc<str>,
        severity: Severity,
    ) {
        let written = head.and_then(|h| self.out.write_all(&h).map(|()| h.len() as u64));
        match written {
            Ok(n) => self.written += n,
            Err(e) => {
                self.failed.get_or_insert(e);
            }
        }
        self.kept.ends.push(self.written);
        self.kept.severities.push(severity);
        self.kept.rules.push(rule);
    }

    /// Records that finding `finding` led to the action at `action` in the plan's actions.
    /// Links may come in any order; a finding lists its actions in action order.
    pub fn link(&mut self, finding: usize, action: usize) {
        match (u32::try_from(finding), u32::try_from(action)) {
            (Ok(f), Ok(a)) => self.links.push((f, a)),
            _ => {
                self.failed
                    .get_or_insert_with(|| std::io::Error::other("too many findings to spill"));
            }
        }
    }

    /// The findings, ready to be read back: the file flushed, the links sorted.
    pub fn finish(self) -> std::io::Result<SpilledFindings> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        let mut links = self.links;
        links.sort_unstable();
        links.dedup();
        Ok(SpilledFindings {
            file: Mutex::new(file),
            kept: self.kept,
            links,
        })
    }
}

/// Findings in a file (see [`Spill`]): what a plan's `findings` hold, read back a chunk at a
/// time as the plan is written.
pub struct SpilledFindings {
    file: Mutex<File>,
    kept: Kept,
    /// (finding, action index), sorted.
    links: Vec<(u32, u32)>,
}

impl SpilledFindings {
    /// How many findings.
    pub fn len(&self) -> usize {
        self.kept.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.kept.ends.is_empty()
    }

    /// Each finding's rule id and severity, in order (what an organization's report counts).
    pub fn rules_and_severities(&self) -> impl Iterator<Item = (&str, Severity)> + '_ {
        self.kept
            .rules
            .iter()
            .map(|r| &**r)
            .zip(self.kept.severities.iter().copied())
    }

    /// How many findings are at or above `min` (what `--fail-on` counts).
    pub fn at_or_above(&self, min: Severity) -> usize {
        self.kept.severities.iter().filter(|s| **s >= min).count()
    }

    /// Renders the findings `range` (of [`SpilledFindings::len`]) as one chunk of the plan's
    /// `findings` array, each with the ids of its actions from `actions`.
    pub fn render_chunk(
        &self,
        range: std::ops::Range<usize>,
        actions: &[Action],
    ) -> std::io::Result<Chunk> {
        self.render_chunk_with(range, &|a| actions.get(a).map(|a| a.id.as_str()))
    }

    /// [`SpilledFindings::render_chunk`] with the id of the action at each index from `id_of`.
    fn render_chunk_with<'a>(
        &self,
        range: std::ops::Range<usize>,
        id_of: &dyn Fn(usize) -> Option<&'a str>,
    ) -> std::io::Result<Chunk> {
        let mut chunk = Chunk::default();
        if range.is_empty() {
            return Ok(chunk);
        }
        let end_of = |i: usize| self.kept.ends.get(i).copied();
        let base = match range.start.checked_sub(1) {
            Some(prev) => end_of(prev),
            None => Some(0),
        };
        let (Some(base), Some(last)) = (base, range.end.checked_sub(1).and_then(end_of)) else {
            return Err(std::io::Error::other("spilled findings out of range"));
        };
        let mut text = vec![0; usize::try_from(last - base).map_err(std::io::Error::other)?];
        {
            let mut file = self
                .file
                .lock()
                .map_err(|_| std::io::Error::other("the spill file's lock is poisoned"))?;
            file.seek(SeekFrom::Start(base))?;
            file.read_exact(&mut text)?;
        }
        let mut links = self
            .links
            .get(
                self.links
                    .partition_point(|(f, _)| (*f as usize) < range.start)..,
            )
            .unwrap_or_default()
            .iter()
            .peekable();
        let mut one = Vec::new();
        let mut start = base;
        for i in range {
            let end = end_of(i).unwrap_or(start);
            let head = usize::try_from(start - base)
                .ok()
                .zip(usize::try_from(end - base).ok())
                .and_then(|(a, b)| text.get(a..b))
                .ok_or_else(|| std::io::Error::other("spilled findings out of range"))?;
            start = end;
            one.clear();
            one.extend_from_slice(head);
            let mut ids = 0;
            while let Some((_, a)) = links.next_if(|(f, _)| *f as usize == i) {
                let id = id_of(*a as usize)
                    .ok_or_else(|| std::io::Error::other("a finding links a missing action"))?;
                one.extend_from_slice(if ids == 0 { b"[\n    " } else { b",\n    " });
                serde_json::to_writer(&mut one, id).map_err(std::io::Error::from)?;
                ids += 1;
            }
            one.extend_from_slice(if ids == 0 { b"[]\n}" } else { b"\n  ]\n}" });
            chunk.push_element(&one);
        }
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::inventory::{ResourceKind, ResourceRef};

    fn finding(n: usize) -> Finding {
        Finding {
            rule: format!("rule-{n}").into(),
            severity: if n.is_multiple_of(2) {
                Severity::High
            } else {
                Severity::Low
            },
            title: "a \"quoted\" title\nwith a new line".into(),
            resource: ResourceRef {
                kind: ResourceKind::User,
                id: format!("AIDA{n}"),
                arn: (!n.is_multiple_of(3)).then(|| format!("arn:aws:iam::1:user/u{n}")),
                name: format!("u{n}"),
            },
            evidence: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Findings with no, one and several actions (ids that need escaping among them) render
    /// from the spill as they render held in memory, for every range.
    #[test]
    fn spilled_findings_render_as_held_ones_with_their_actions() {
        let ids = ["act-1", "act-\"2\"", "act-3"];
        // finding -> indices of its actions, given out of order and twice.
        let links: [&[usize]; 6] = [&[], &[2, 0], &[1], &[], &[0, 1, 2, 1], &[2]];
        let mut spill = Spill::new(tempfile::tempfile().unwrap());
        let mut held = Vec::new();
        for (n, of) in links.iter().enumerate() {
            let f = finding(n);
            spill.push(render_head(&f), f.rule.clone(), f.severity);
            for &a in *of {
                spill.link(n, a);
            }
            let mut f = f;
            let mut sorted = of.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            f.actions = sorted.iter().map(|&a| ids[a].to_string()).collect();
            held.push(f);
        }
        assert_eq!(spill.len(), 6);
        let spilled = spill.finish().unwrap();
        assert_eq!(spilled.at_or_above(Severity::High), 3);
        let id_of = |a: usize| ids.get(a).copied();
        for start in 0..held.len() {
            for end in start..=held.len() {
                assert_eq!(
                    spilled.render_chunk_with(start..end, &id_of).unwrap(),
                    crate::digest::render_elements(&held[start..end]).unwrap(),
                    "{start}..{end}"
                );
            }
        }
        assert!(spilled.render_chunk_with(5..7, &id_of).is_err());
        assert!(
            spilled.render_chunk_with(0..2, &|_| None).is_err(),
            "a missing action"
        );
    }

    #[test]
    fn a_finding_with_actions_is_not_rendered_for_the_spill() {
        let mut f = finding(1);
        f.actions.push("act-1".into());
        assert!(render_head(&f).is_err());
        let mut spill = Spill::new(tempfile::tempfile().unwrap());
        spill.push(render_head(&f), f.rule.clone(), f.severity);
        assert!(spill.finish().is_err(), "a failed push fails the spill");
    }
}
