//! Writing the files the CLI produces (plans, snapshots): streamed through a large buffer (one
//! serialization, no copy of the text in memory) into a temporary file beside the target, which
//! is renamed over it only when complete, so a failed or interrupted write never leaves a
//! truncated plan or snapshot where a complete one is expected.

use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The write buffer: large enough that a plan of 100k users is a few thousand writes.
const BUFFER: usize = 1 << 20;

/// Writes `value` as pretty JSON and a final newline to `path`; `what` names the file in errors
/// ("the plan", "the snapshot").
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T, what: &str) -> Result<()> {
    write_with(path, what, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })
}

/// Writes `plan` to `path` as [`write_json`] would, sealing it in the same pass
/// ([`iamwarden_core::plan::Plan::write_sealed`]): the plan is serialized once, not once to
/// hash it and again to write it.
pub fn write_plan(path: &Path, plan: &mut iamwarden_core::plan::Plan) -> Result<()> {
    write_with(path, "the plan", |w| plan.write_sealed(w))
}

/// [`write_plan`] of a plan whose findings were kept in a file
/// ([`iamwarden_core::pipeline::make_spilled_plan`]): the same bytes.
pub fn write_spilled_plan(
    path: &Path,
    plan: &mut iamwarden_core::plan::Plan,
    findings: &iamwarden_core::plan::spill::SpilledFindings,
) -> Result<()> {
    write_with(path, "the plan", |w| plan.write_sealed_spilled(w, findings))
}

/// An unnamed temporary file in the directory `path` will be written to (the file system the
/// user chose for the plan, rather than a `/tmp` that may be memory): where the findings of a
/// large plan wait until it is written. The system removes it when it is closed. Made before
/// the rules run, so a plan that cannot be written fails at once, naming the plan's path.
pub fn spill_beside(path: &Path) -> Result<std::fs::File> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    tempfile::tempfile_in(dir).with_context(|| {
        format!(
            "cannot write the plan to {}: no temporary file can be made in {}",
            path.display(),
            dir.display()
        )
    })
}

/// Runs `write` on a buffered temporary file beside `path`, then syncs it and renames it over
/// `path`; on any failure the temporary file is removed and `path` left as it was.
fn write_with(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let tmp = temp_beside(path);
    let written = (|| -> std::io::Result<()> {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(BUFFER, file);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    let done = written.and_then(|()| std::fs::rename(&tmp, path));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done.with_context(|| format!("cannot write {what} to {}", path.display()))
}

/// `DIR/.NAME.tmp-PID` beside `path` (same file system, so the rename is atomic).
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes every published schema into `dir` (created if needed) as `NAME.schema.json`, the
/// names committed in `schemas/`: `schema --write DIR`, and `init` into the new repository's
/// `schemas/`. Returns the paths written.
pub fn write_schemas(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in iamwarden_core::schema::files() {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn writes_pretty_json_with_a_newline_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "old").unwrap();
        write_json(&path, &serde_json::json!({"a": [1, 2]}), "the plan").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, "old").unwrap();
        // A map with non-string keys cannot be JSON: serialization fails midway.
        let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let err = write_json(&path, &bad, "the plan").unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot write the plan to"),
            "{err:#}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
