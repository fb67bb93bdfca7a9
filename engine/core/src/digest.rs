//! Content digests, in one place: every `sha256` iamwarden writes into a plan, a report or a
//! signature is computed here, so two parts can never hash the same thing two ways.
//!
//! - [`sha256_hex`]: bare lowercase hex of some bytes (a pack's source text, a SARIF
//!   fingerprint);
//! - [`sha256_tagged`]: the same as `sha256:<hex>` (a public key in a plan signature);
//! - [`sha256_of_json`]: `sha256:<hex>` of a value's JSON, streamed into the hash (the plan's
//!   content hash, the inventory fingerprint built by `Inventory::fingerprint`);
//! - [`document_sha256`]: a policy document as a precondition records it;
//! - [`short_id`]: the first bytes of a digest as hex, for stable ids (plan action ids).
//!
//! Pure: no I/O. The journal's hash chain is computed beside the journal (`apply::journal`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;

/// Lowercase hex of `bytes`, written into one string (no allocation per byte: action ids and
/// document hashes are computed for every action of a plan).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Lowercase hex of the sha256 of `bytes`, without a prefix.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_tagged(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// `sha256:<hex>` of the concatenation of `parts` (hashed in turn, never joined in memory).
pub fn sha256_tagged_parts(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    format!("sha256:{}", hex(&h.finalize()))
}

/// Lowercase hex of the first `n` bytes of the sha256 of `bytes` (`2 * n` characters).
pub fn short_id(bytes: &[u8], n: usize) -> String {
    let d = Sha256::digest(bytes);
    hex(&d[..n.min(d.len())])
}

/// The digest of a policy document as preconditions record it: bare hex over the document's
/// compact JSON text.
pub fn document_sha256(document: &Value) -> String {
    sha256_hex(document.to_string().as_bytes())
}

struct HashWriter(Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `sha256:<hex>` of `value`'s JSON, streamed into the hash (no copy of the text is held).
/// Empty when `value` cannot be serialized (a map with non-string keys).
pub fn sha256_of_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Sha256::new()));
    if serde_json::to_writer(&mut w, value).is_err() {
        return String::new();
    }
    let Ok(w) = w.into_inner() else {
        return String::new();
    };
    format!("sha256:{}", hex(&w.0.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digests_of_known_inputs() {
        // sha256("abc"), FIPS 180-2 appendix B.1.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), abc);
        assert_eq!(sha256_tagged(b"abc"), format!("sha256:{abc}"));
        assert_eq!(short_id(b"abc", 6), abc[..12]);
        assert_eq!(short_id(b"abc", 99), abc);
        // The JSON digest hashes exactly the compact text.
        let v = json!({"b": [1, 2], "a": "x"});
        assert_eq!(sha256_of_json(&v), sha256_tagged(v.to_string().as_bytes()));
        assert_eq!(document_sha256(&v), sha256_hex(v.to_string().as_bytes()));
    }
}
