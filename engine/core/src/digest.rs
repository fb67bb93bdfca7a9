//! Content digests, in one place: every `sha256` iamwarden writes into a plan, a report or a
//! signature is computed here, so two parts can never hash the same thing two ways.
//!
//! - [`sha256_hex`]: bare lowercase hex of some bytes (a pack's source text, a SARIF
//!   fingerprint);
//! - [`sha256_tagged`]: the same as `sha256:<hex>` (a public key in a plan signature);
//! - [`sha256_of_json`]: `sha256:<hex>` of a value's JSON, streamed into the hash (the plan's
//!   content hash, the inventory fingerprint built by `Inventory::fingerprint`);
//! - [`write_pretty_hashing`]: a value written as pretty JSON while its compact JSON is hashed,
//!   one serialization for both; [`write_pretty_hashing_spliced`] the same with the big
//!   top-level arrays rendered in chunks on every core ([`render_elements`]) and written in
//!   their place (a plan sealed as it is written, `Plan::write_sealed`);
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

/// What [`write_pretty_hashing`] found while writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrettyHashed {
    /// `sha256:<hex>` of the value's compact JSON, with the top-level key's string left empty.
    pub sha256: String,
    /// Where, in the bytes written, the top-level key's string value starts (its first byte
    /// after the opening quote); `None` when the value has no such key holding a string.
    pub value_offset: Option<u64>,
}

/// Writes `value` as pretty JSON (exactly as `serde_json::to_writer_pretty` writes it) to `w`
/// and, in the same pass, hashes its compact JSON (exactly what [`sha256_of_json`] hashes),
/// except that the string value of the top-level key `blank` is hashed as if it were empty.
///
/// That is how a plan is sealed while it is written: the content hash is of the plan with
/// `content_sha256` empty, and the file holds the hash, so the file is written with a
/// placeholder of the hash's length that the caller overwrites at `value_offset`. One
/// serialization instead of two (each of which, for 100k users, is seconds).
pub fn write_pretty_hashing<T: serde::Serialize + ?Sized, W: Write>(
    value: &T,
    blank: &str,
    w: &mut W,
) -> std::io::Result<PrettyHashed> {
    write_pretty_hashing_spliced(value, blank, w, &[], 1)
}

/// Some elements of a top-level array, rendered apart from the rest of the document: their
/// pretty text as it stands inside the array (indented for that depth, joined by `,` and a
/// new line) and their compact text (joined by `,`). See [`render_elements`].
#[derive(Debug, Default, PartialEq)]
pub struct Chunk {
    pretty: Vec<u8>,
    compact: Vec<u8>,
    /// Whether an element was pushed (the next one is preceded by a comma).
    filled: bool,
}

/// Renders `items` as one [`Chunk`] of the elements of a top-level array: each element
/// serialized once (pretty), its compact text the pretty text without the whitespace outside
/// strings (which is exactly serde_json's compact text: pretty printing only adds new lines,
/// indentation and the space after a colon, and a string never holds a raw new line).
pub fn render_elements<T: serde::Serialize>(items: &[T]) -> std::io::Result<Chunk> {
    let mut chunk = Chunk::default();
    let mut one = Vec::new();
    for item in items {
        one.clear();
        serde_json::to_writer_pretty(&mut one, item).map_err(std::io::Error::from)?;
        chunk.push_element(&one);
    }
    Ok(chunk)
}

impl Chunk {
    /// Appends one element given as its standalone pretty JSON (what
    /// `serde_json::to_writer_pretty` writes for it): indented for its depth in the array, and
    /// its compact text derived from it.
    pub fn push_element(&mut self, one: &[u8]) {
        if self.filled {
            self.pretty.extend_from_slice(b",\n");
            self.pretty.extend_from_slice(ELEMENT_INDENT);
            self.compact.push(b',');
        }
        self.filled = true;
        let mut in_string = false;
        let mut escaped = false;
        for &b in one {
            self.pretty.push(b);
            if b == b'\n' {
                self.pretty.extend_from_slice(ELEMENT_INDENT);
            }
            if in_string {
                self.compact.push(b);
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
            } else if !matches!(b, b' ' | b'\n') {
                self.compact.push(b);
                in_string = b == b'"';
            }
        }
    }
}

/// The indentation of an element of a top-level array (depth 2, two spaces a level).
const ELEMENT_INDENT: &[u8] = b"    ";

/// A top-level array whose elements [`write_pretty_hashing_spliced`] renders apart: the value
/// serialized holds it empty; `render(i)` renders the `i`-th of its `chunks` chunks.
pub struct Spliced<'a> {
    /// The top-level key.
    pub key: &'a str,
    /// How many chunks there are.
    pub chunks: usize,
    /// Renders one chunk (on any thread).
    pub render: &'a (dyn Fn(usize) -> std::io::Result<Chunk> + Sync),
}

/// [`write_pretty_hashing`] of a value whose top-level arrays named in `spliced` are empty in
/// `value` and are written, in their place, from chunks that up to `threads` threads render
/// side by side (the calling thread writes and hashes them in order as they come). The bytes
/// written and the hash are those of [`write_pretty_hashing`] of the value with the arrays
/// filled in: a plan's findings and actions are most of its text, and rendering them is the
/// part of writing a plan that several cores can share.
pub fn write_pretty_hashing_spliced<T: serde::Serialize + ?Sized, W: Write>(
    value: &T,
    blank: &str,
    w: &mut W,
    spliced: &[Spliced<'_>],
    threads: usize,
) -> std::io::Result<PrettyHashed> {
    let mut tally = Tally {
        hash: HashBuf::default(),
        written: 0,
        value_offset: None,
    };
    let f = DualFormatter {
        pretty: serde_json::ser::PrettyFormatter::new(),
        tally: &mut tally,
        depth: 0,
        key: None,
        blank,
        pending_blank: false,
        blanking: false,
        last_key: None,
        spliced,
        threads,
        filled: false,
    };
    let mut ser = serde_json::Serializer::with_formatter(&mut *w, f);
    value.serialize(&mut ser).map_err(std::io::Error::from)?;
    Ok(PrettyHashed {
        sha256: format!("sha256:{}", hex(&tally.hash.finish())),
        value_offset: tally.value_offset,
    })
}

/// Renders the chunks of `s` on up to `threads` threads and hands them to `emit` in order.
fn render_in_order(
    s: &Spliced<'_>,
    threads: usize,
    emit: &mut dyn FnMut(Chunk) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if s.chunks == 0 {
        return Ok(());
    }
    let threads = threads.clamp(1, s.chunks);
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, std::io::Result<Chunk>)>();
        let mut spawned = 0;
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            let work = move || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= s.chunks || tx.send((i, (s.render)(i))).is_err() {
                    break;
                }
            };
            // A thread the system refuses leaves its share to the others (or to this one).
            if std::thread::Builder::new()
                .name("render-plan".into())
                .spawn_scoped(scope, work)
                .is_ok()
            {
                spawned += 1;
            }
        }
        drop(tx);
        if spawned == 0 {
            for i in 0..s.chunks {
                emit((s.render)(i)?)?;
            }
            return Ok(());
        }
        // Chunks finish out of order; each waits until those before it are written.
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (i, chunk) in rx {
            waiting.insert(i, chunk);
            while let Some(chunk) = waiting.remove(&due) {
                emit(chunk?)?;
                due += 1;
            }
        }
        if due < s.chunks {
            // A renderer died without its chunk (it panicked): the scope re-raises it.
            return Err(std::io::Error::other("a plan renderer stopped"));
        }
        Ok(())
    })
}

/// SHA-256 fed through a buffer (the formatter hands it a few bytes at a time).
struct HashBuf {
    sha: Sha256,
    buf: Vec<u8>,
}

impl Default for HashBuf {
    fn default() -> HashBuf {
        HashBuf {
            sha: Sha256::new(),
            buf: Vec::with_capacity(HASH_BUF),
        }
    }
}

const HASH_BUF: usize = 1 << 16;

impl HashBuf {
    fn update(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > HASH_BUF {
            self.sha.update(&self.buf);
            self.buf.clear();
        }
        if bytes.len() >= HASH_BUF {
            self.sha.update(bytes);
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn finish(mut self) -> sha2::digest::Output<Sha256> {
        self.sha.update(&self.buf);
        self.sha.finalize()
    }
}

impl Write for HashBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The bytes of one token, to the output (counted) and, unless blanked, to the hash.
struct Both<'a, W: ?Sized> {
    out: &'a mut W,
    written: &'a mut u64,
    hash: Option<&'a mut HashBuf>,
}

impl<W: ?Sized + Write> Write for Both<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        *self.written += n as u64;
        if let (Some(h), Some(done)) = (self.hash.as_deref_mut(), buf.get(..n)) {
            h.update(done);
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Output counted, for the whitespace of the pretty form (never hashed).
struct Counted<'a, W: ?Sized> {
    out: &'a mut W,
    written: &'a mut u64,
}

impl<W: ?Sized + Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        *self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A formatter that writes the pretty form to the output and the compact form to a hash:
/// values go to both (through `CompactFormatter`, which is serde_json's own text for them),
/// structure goes pretty to the output and compact to the hash.
struct DualFormatter<'b> {
    pretty: serde_json::ser::PrettyFormatter<'static>,
    tally: &'b mut Tally,
    /// Nesting: 1 inside the top-level object.
    depth: usize,
    /// The top-level key being written (collected from its fragments), if one is.
    key: Option<String>,
    blank: &'b str,
    /// The top-level key just written is `blank`: its value, if a string, is not hashed.
    pending_blank: bool,
    /// Inside the string value of the top-level key `blank`.
    blanking: bool,
    /// The last top-level key written.
    last_key: Option<String>,
    /// Top-level arrays written from chunks rendered apart.
    spliced: &'b [Spliced<'b>],
    /// Threads that render them.
    threads: usize,
    /// The array being written was filled from chunks.
    filled: bool,
}

/// What the formatter leaves behind: the hash, the bytes written, where the blanked value is.
struct Tally {
    hash: HashBuf,
    written: u64,
    value_offset: Option<u64>,
}

/// Serializes a value token: its bytes to the output and (unless blanked) to the hash.
macro_rules! both {
    ($name:ident, $t:ty) => {
        fn $name<W: ?Sized + Write>(&mut self, w: &mut W, v: $t) -> std::io::Result<()> {
            serde_json::ser::CompactFormatter.$name(&mut self.both(w), v)
        }
    };
}

impl DualFormatter<'_> {
    fn both<'a, W: ?Sized>(&'a mut self, out: &'a mut W) -> Both<'a, W> {
        Both {
            out,
            written: &mut self.tally.written,
            hash: (!self.blanking).then_some(&mut self.tally.hash),
        }
    }

    /// Structure: pretty to the output, compact to the hash.
    fn structure<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        pretty: impl FnOnce(
            &mut serde_json::ser::PrettyFormatter<'static>,
            &mut Counted<'_, W>,
        ) -> std::io::Result<()>,
        compact: impl FnOnce(&mut HashBuf) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        pretty(
            &mut self.pretty,
            &mut Counted {
                out: w,
                written: &mut self.tally.written,
            },
        )?;
        compact(&mut self.tally.hash)
    }
}

impl serde_json::ser::Formatter for DualFormatter<'_> {
    fn write_null<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        serde_json::ser::CompactFormatter.write_null(&mut self.both(w))
    }
    both!(write_bool, bool);
    both!(write_i8, i8);
    both!(write_i16, i16);
    both!(write_i32, i32);
    both!(write_i64, i64);
    both!(write_i128, i128);
    both!(write_u8, u8);
    both!(write_u16, u16);
    both!(write_u32, u32);
    both!(write_u64, u64);
    both!(write_u128, u128);
    both!(write_f32, f32);
    both!(write_f64, f64);
    both!(write_number_str, &str);
    both!(write_raw_fragment, &str);

    fn begin_string<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        serde_json::ser::CompactFormatter.begin_string(&mut self.both(w))?;
        if self.pending_blank && self.depth == 1 {
            // The string value of the top-level key `blank`: its text goes to the output only.
            self.pending_blank = false;
            self.blanking = true;
            self.tally.value_offset = Some(self.tally.written);
        }
        Ok(())
    }
    fn end_string<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.blanking = false;
        serde_json::ser::CompactFormatter.end_string(&mut self.both(w))
    }
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if let Some(k) = &mut self.key {
            k.push_str(fragment);
        }
        serde_json::ser::CompactFormatter.write_string_fragment(&mut self.both(w), fragment)
    }
    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: serde_json::ser::CharEscape,
    ) -> std::io::Result<()> {
        if let Some(k) = &mut self.key {
            // An escaped key is never the one blanked (its name has no escapes).
            k.push('\\');
        }
        serde_json::ser::CompactFormatter.write_char_escape(&mut self.both(w), escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.structure(w, |p, o| p.begin_array(o), |h| h.write_all(b"["))?;
        let spliced = self.spliced;
        let Some(s) = (self.depth == 2)
            .then(|| {
                spliced
                    .iter()
                    .find(|s| self.last_key.as_deref() == Some(s.key))
            })
            .flatten()
        else {
            return Ok(());
        };
        // The array is empty in the value serialized: its elements are written here.
        let threads = self.threads;
        let tally = &mut *self.tally;
        let mut first = true;
        render_in_order(s, threads, &mut |chunk| {
            if chunk.compact.is_empty() {
                return Ok(());
            }
            let lead: &[u8] = if first { b"\n" } else { b",\n" };
            if !first {
                tally.hash.update(b",");
            }
            first = false;
            for bytes in [lead, ELEMENT_INDENT, &chunk.pretty] {
                w.write_all(bytes)?;
                tally.written += bytes.len() as u64;
            }
            tally.hash.update(&chunk.compact);
            Ok(())
        })?;
        self.filled = !first;
        Ok(())
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if std::mem::take(&mut self.filled) {
            // What the pretty formatter writes before the `]` of a non-empty array.
            w.write_all(b"\n  ")?;
            self.tally.written += 3;
        }
        self.structure(w, |p, o| p.end_array(o), |h| h.write_all(b"]"))
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.structure(
            w,
            |p, o| p.begin_array_value(o, first),
            |h| serde_json::ser::CompactFormatter.begin_array_value(h, first),
        )
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.structure(w, |p, o| p.end_array_value(o), |_| Ok(()))
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.structure(w, |p, o| p.begin_object(o), |h| h.write_all(b"{"))
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.structure(w, |p, o| p.end_object(o), |h| h.write_all(b"}"))
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if self.depth == 1 {
            self.key = Some(String::new());
        }
        self.structure(
            w,
            |p, o| p.begin_object_key(o, first),
            |h| serde_json::ser::CompactFormatter.begin_object_key(h, first),
        )
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if let Some(k) = self.key.take() {
            self.pending_blank = k == self.blank;
            self.last_key = Some(k);
        }
        self.structure(w, |p, o| p.end_object_key(o), |_| Ok(()))
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.structure(
            w,
            |p, o| p.begin_object_value(o),
            |h| serde_json::ser::CompactFormatter.begin_object_value(h),
        )
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.pending_blank = false;
        self.structure(w, |p, o| p.end_object_value(o), |_| Ok(()))
    }
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

    /// Issue 13: one pass writes exactly serde_json's pretty text and hashes exactly its
    /// compact text, the named top-level string blanked (and only that one: not a nested key
    /// of the same name, not a value equal to it), escapes and all.
    #[test]
    fn the_pretty_text_is_written_and_the_compact_text_hashed_in_one_pass() {
        let v = json!({
            "n": 4,
            "seal": "placeholder \"quoted\"",
            "deep": {"seal": "kept", "list": [1, -2, 3.5, null, true, [], {}]},
            "text": "line\nbreak \u{1} tab\t é \\ /",
            "seal2": "seal",
        });
        let mut out = Vec::new();
        let got = write_pretty_hashing(&v, "seal", &mut out).unwrap();
        assert_eq!(out, serde_json::to_vec_pretty(&v).unwrap());
        let mut blanked = v.clone();
        blanked["seal"] = json!("");
        assert_eq!(got.sha256, sha256_of_json(&blanked));
        let at = usize::try_from(got.value_offset.unwrap()).unwrap();
        assert!(out[at..].starts_with(b"placeholder \\\"quoted"));
        // No such key: the whole compact text is hashed, and there is no offset.
        let mut out = Vec::new();
        let got = write_pretty_hashing(&v, "absent", &mut out).unwrap();
        assert_eq!(got.sha256, sha256_of_json(&v));
        assert_eq!(got.value_offset, None);
    }
    /// The arrays written from chunks rendered apart (any number of threads, any chunk size,
    /// empty chunks and arrays, elements holding whitespace, escapes and nesting) give the
    /// bytes and the hash of the document written whole.
    #[test]
    fn spliced_arrays_are_written_and_hashed_as_the_whole_document() {
        let items: Vec<serde_json::Value> = (0..7)
            .map(|i| {
                json!({
                    "i": i,
                    "text": format!("a b\n\"{i}\" \\ \t: ,"),
                    "nested": {"list": [i, [], {}, [{"k": "v v"}]], "empty": {}},
                })
            })
            .collect();
        let other = vec![json!("x: y"), json!([1, {"a": []}])];
        for (chunk, threads) in [(1, 1), (2, 3), (3, 2), (7, 2), (100, 4)] {
            for (first, second) in [(items.clone(), other.clone()), (vec![], other.clone())] {
                let whole = json!({
                    "seal": "abc",
                    "before": [1, 2],
                    "first": first,
                    "middle": {"first": [3]},
                    "second": second,
                    "after": [],
                });
                let mut want = Vec::new();
                let expected = write_pretty_hashing(&whole, "seal", &mut want).unwrap();
                let mut hollow = whole.clone();
                hollow["first"] = json!([]);
                hollow["second"] = json!([]);
                let render_first = |i: usize| {
                    let start = (i * chunk).min(first.len());
                    let end = (start + chunk).min(first.len());
                    render_elements(&first[start..end])
                };
                let render_second = |i: usize| render_elements(&second[i..=i]);
                // One chunk past the end of `first` renders nothing, and is skipped.
                let spliced = [
                    Spliced {
                        key: "first",
                        chunks: first.len().div_ceil(chunk) + 1,
                        render: &render_first,
                    },
                    Spliced {
                        key: "second",
                        chunks: second.len(),
                        render: &render_second,
                    },
                ];
                let mut got = Vec::new();
                let hashed =
                    write_pretty_hashing_spliced(&hollow, "seal", &mut got, &spliced, threads)
                        .unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&want),
                    "chunk {chunk}, threads {threads}"
                );
                assert_eq!(hashed, expected, "chunk {chunk}, threads {threads}");
            }
        }
    }

    /// A chunk that cannot be rendered fails the write; it is not left out.
    #[test]
    fn a_chunk_that_fails_fails_the_write() {
        let render = |i: usize| {
            if i == 2 {
                Err(std::io::Error::other("cannot render"))
            } else {
                render_elements(&[i])
            }
        };
        let spliced = [Spliced {
            key: "list",
            chunks: 5,
            render: &render,
        }];
        for threads in [1, 2] {
            let err = write_pretty_hashing_spliced(
                &json!({"list": []}),
                "seal",
                &mut Vec::new(),
                &spliced,
                threads,
            )
            .unwrap_err();
            assert!(err.to_string().contains("cannot render"), "{err}");
        }
    }
}
