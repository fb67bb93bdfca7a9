//! Snapshot files: an inventory saved as JSON, read back with errors that say where.

use super::{Inventory, INVENTORY_FORMAT_VERSION};
use std::path::Path;

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be read.
    #[error("{path}: cannot read snapshot")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The JSON is malformed or does not match the inventory schema.
    #[error("{path}:{line}:{column}: invalid inventory snapshot: {message}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// The snapshot was written by a newer, incompatible iamwarden.
    #[error("{path}: inventory format_version {found} is not supported (this build reads {INVENTORY_FORMAT_VERSION})")]
    Version {
        /// The file.
        path: String,
        /// The version found.
        found: u32,
    },
}

/// Parses a snapshot from bytes and normalizes it. `path` is only used in error messages.
///
/// A large snapshot's collections are parsed side by side, one thread per core (see
/// `split`); a document that path does not take whole is parsed serially, so an error names
/// its line and column in the file either way.
pub fn parse(bytes: &[u8], path: &str) -> Result<Inventory, SnapshotError> {
    let mut inv = parse_records(bytes, path)?;
    inv.normalize();
    Ok(inv)
}

/// [`parse`] without the normalization, so a caller can free the bytes first.
fn parse_records(bytes: &[u8], path: &str) -> Result<Inventory, SnapshotError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let parsed = match super::split::parse(bytes, threads) {
        Some(inv) => Ok(inv),
        None => serde_json::from_slice(bytes).map_err(|e| SnapshotError::Parse {
            path: path.to_string(),
            line: e.line(),
            column: e.column(),
            message: strip_location(&e.to_string()),
        }),
    };
    // The tag maps this thread shared stay where they are used; the interner lets go.
    super::tags::forget_interned();
    let mut inv = parsed?;
    if inv.format_version != INVENTORY_FORMAT_VERSION {
        return Err(SnapshotError::Version {
            path: path.to_string(),
            found: inv.format_version,
        });
    }
    inv.shrink_to_fit();
    Ok(inv)
}

/// Reads, parses and normalizes a snapshot file. The file's bytes are freed before the
/// derived fields are computed, so the two are never in memory together.
pub fn load(path: &Path) -> Result<Inventory, SnapshotError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut inv = parse_records(&bytes, &shown)?;
    drop(bytes);
    inv.normalize();
    Ok(inv)
}

/// Serializes an inventory as pretty JSON (what `snapshot --out` writes).
pub fn to_json(inv: &Inventory) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(inv)
}

fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg.get(..i).unwrap_or(msg).to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of the parse error `text` gives as the file `path`.
    fn parse_error(text: &str, path: &str) -> String {
        match parse(text.as_bytes(), path) {
            Err(e @ SnapshotError::Parse { .. }) => e.to_string(),
            other => unreachable!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = "{\n  \"account\": {\"id\": \"1\"},\n  \"users\": [{\"id\": 5}]\n}";
        let s = parse_error(text, "snap.json");
        assert!(s.starts_with("snap.json:3:"), "{s}");
        assert!(s.contains("invalid type"), "{s}");
        match parse(b"{\"account\": {\"id\": \"1\"}, \"userz\": []}", "s.json") {
            Err(e) => assert!(e.to_string().contains("unknown field `userz`"), "{e}"),
            Ok(_) => unreachable!("unknown field accepted"),
        }
    }

    #[test]
    fn a_large_snapshots_error_still_names_line_and_column() {
        // Over a megabyte: the side-by-side path is tried first, and gives way to the serial
        // parser for the error.
        let keys: Vec<String> = (0..12_000)
            .map(|i| {
                let status = if i == 9_000 { "Enabled" } else { "Active" };
                format!(
                    "{{\"id\": \"AKIA{i:016}\", \"user\": \"u{i}\", \"status\": \"{status}\", \"created_at\": \"2021-01-01T00:00:00Z\"}}"
                )
            })
            .collect();
        let text = format!(
            "{{\"account\": {{\"id\": \"1\"}},\n\"access_keys\": [\n{}\n]}}\n",
            keys.join(",\n")
        );
        assert!(text.len() > 1 << 20);
        let s = parse_error(&text, "big.json");
        assert!(s.starts_with("big.json:9003:"), "{s}");
        assert!(s.contains("Enabled"), "{s}");
        let fixed = text.replace("Enabled", "Active");
        let inv = parse(fixed.as_bytes(), "big.json").expect("valid");
        assert_eq!(inv.access_keys.len(), 12_000);
        assert_eq!(inv.format_version, INVENTORY_FORMAT_VERSION);
    }

    #[test]
    fn unsupported_version() {
        let r = parse(
            b"{\"format_version\": 9, \"account\": {\"id\": \"1\"}}",
            "s.json",
        );
        assert!(matches!(r, Err(SnapshotError::Version { found: 9, .. })));
    }
}
