//! Signed plans: an approval that the plan's content hash alone is not.
//!
//! Anyone who can edit a plan can recompute its `content_sha256`; nobody without the key can
//! sign it. `plan --sign KEY` writes a detached signature beside the plan (`PLAN.sig`, a small
//! JSON file, [`PlanSignature`]) over the plan's content hash; `apply --require-signature KEY`
//! refuses, before any AWS call that could change anything, a plan without one, one signed by
//! another key, and one whose content changed after it was signed ([`verify_local`], and
//! `iamwarden_aws::kms::verify_kms`).
//!
//! Two kinds of key:
//! - a local Ed25519 key (PKCS#8 PEM, `iamwarden keygen`), for air-gapped use: signing needs
//!   the private key file, checking needs the public key file (or the private one);
//! - an AWS KMS asymmetric signing key (key id, ARN or `alias/NAME`): signed with `kms:Sign`
//!   and checked with `kms:Verify` against the key the verifier names (never the key the
//!   signature file names), so a plan signed by any other key is refused.
//!
//! What is signed is the text `iamwarden-plan-signature/1\n` followed by the plan's content
//! hash (`sha256:<hex>`), so a signature cannot be mistaken for one over anything else. The
//! signing and checking of local keys is pure; the KMS calls are the I/O edge, in
//! `iamwarden_aws::kms`.

use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The signature file format this build writes and reads.
pub const SIGNATURE_FORMAT: &str = "iamwarden-plan-signature/1";

/// A detached plan signature (`PLAN.sig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "iamwarden plan signature")]
pub struct PlanSignature {
    /// Always `iamwarden-plan-signature/1`.
    pub format: String,
    /// The content hash of the plan signed (the plan's `content_sha256`).
    pub plan_sha256: String,
    /// The key that signed it.
    pub key: SigningKeyRef,
    /// The signature algorithm: `ED25519`, or the KMS signing algorithm (e.g. `ECDSA_SHA_256`).
    pub algorithm: String,
    /// The signature over `iamwarden-plan-signature/1\n<plan_sha256>`, base64.
    pub signature: String,
}

/// Which key made a signature (for people: checking always uses the key the verifier names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SigningKeyRef {
    /// A local Ed25519 key.
    Ed25519 {
        /// `sha256:<hex>` of the raw 32-byte public key.
        public_key_sha256: String,
    },
    /// An AWS KMS key.
    Kms {
        /// The key's ARN, as KMS answered.
        key_id: String,
    },
}

/// A plan could not be signed, or its signature does not hold.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// A key or signature file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A key file is not a key this build reads.
    #[error("{path}: {message}")]
    BadKey {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No signature beside the plan.
    #[error(
        "the plan is not signed: no signature file {0} (sign it with `iamwarden plan --sign KEY`)"
    )]
    Unsigned(PathBuf),
    /// The signature file is not one.
    #[error("{path}: not a plan signature: {message}")]
    BadSignatureFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The signature is over another content hash: the plan changed after it was signed.
    #[error(
        "the plan changed after it was signed: it was signed with content hash {signed}, and its \
         content is now {actual}. Review the plan and sign it again"
    )]
    Changed {
        /// The hash signed.
        signed: String,
        /// The plan's hash.
        actual: String,
    },
    /// Signed, but not by the required key (or the signature was altered).
    #[error("the plan's signature does not verify with the required key {key}: {why}")]
    WrongKey {
        /// The key required.
        key: String,
        /// Why.
        why: String,
    },
    /// A KMS call failed.
    #[error("{call} failed for key {key} at {endpoint}: {message}")]
    Kms {
        /// The operation.
        call: &'static str,
        /// The key.
        key: String,
        /// The endpoint called.
        endpoint: String,
        /// What the SDK said.
        message: String,
    },
}

/// The bytes a signature covers.
pub fn message_of(plan_sha256: &str) -> Vec<u8> {
    format!("{SIGNATURE_FORMAT}\n{plan_sha256}").into_bytes()
}

/// Where the detached signature of `plan` lives: `PLAN.sig`.
pub fn signature_path(plan: &Path) -> PathBuf {
    let mut name = plan.file_name().unwrap_or_default().to_os_string();
    name.push(".sig");
    plan.with_file_name(name)
}

use crate::digest::sha256_tagged as sha256_hex;

const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The body of the PEM block labelled `label`, decoded.
fn pem_block(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text.get(start..)?.find(&end)?;
    let body: String = text
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn read_text(path: &Path) -> Result<String, SignError> {
    std::fs::read_to_string(path).map_err(|source| SignError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn key_pair(path: &Path, text: &str) -> Result<Ed25519KeyPair, SignError> {
    let bad = |message: String| SignError::BadKey {
        path: path.to_path_buf(),
        message,
    };
    let der = pem_block(text, "PRIVATE KEY")
        .ok_or_else(|| bad("no `-----BEGIN PRIVATE KEY-----` block (PKCS#8 PEM)".into()))?;
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
        .map_err(|e| bad(format!("not an Ed25519 PKCS#8 private key ({e})")))
}

/// A new Ed25519 key: (private key PKCS#8 PEM, public key SPKI PEM).
pub fn generate_key() -> Result<(String, String), SignError> {
    let rng = ring::rand::SystemRandom::new();
    let doc = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| SignError::BadKey {
        path: PathBuf::from("(new key)"),
        message: format!("cannot generate a key: {e}"),
    })?;
    let kp = Ed25519KeyPair::from_pkcs8(doc.as_ref()).map_err(|e| SignError::BadKey {
        path: PathBuf::from("(new key)"),
        message: format!("cannot read the generated key: {e}"),
    })?;
    let mut spki = SPKI_ED25519_PREFIX.to_vec();
    spki.extend_from_slice(kp.public_key().as_ref());
    Ok((pem("PRIVATE KEY", doc.as_ref()), pem("PUBLIC KEY", &spki)))
}

/// The raw 32-byte Ed25519 public key in a public key file (SPKI PEM) or private key file.
pub fn public_key_of(path: &Path) -> Result<Vec<u8>, SignError> {
    let text = read_text(path)?;
    if let Some(der) = pem_block(&text, "PUBLIC KEY") {
        return match der.strip_prefix(SPKI_ED25519_PREFIX.as_slice()) {
            Some(raw) if raw.len() == 32 => Ok(raw.to_vec()),
            _ => Err(SignError::BadKey {
                path: path.to_path_buf(),
                message: "not an Ed25519 public key (SPKI PEM)".into(),
            }),
        };
    }
    Ok(key_pair(path, &text)?.public_key().as_ref().to_vec())
}

/// Signs a plan's content hash with a local Ed25519 private key file.
pub fn sign_local(plan_sha256: &str, key_file: &Path) -> Result<PlanSignature, SignError> {
    let kp = key_pair(key_file, &read_text(key_file)?)?;
    let sig = kp.sign(&message_of(plan_sha256));
    Ok(PlanSignature {
        format: SIGNATURE_FORMAT.to_string(),
        plan_sha256: plan_sha256.to_string(),
        key: SigningKeyRef::Ed25519 {
            public_key_sha256: sha256_hex(kp.public_key().as_ref()),
        },
        algorithm: "ED25519".to_string(),
        signature: base64::engine::general_purpose::STANDARD.encode(sig.as_ref()),
    })
}

/// Reads a signature file; a missing one is [`SignError::Unsigned`].
pub fn read_signature(path: &Path) -> Result<PlanSignature, SignError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SignError::Unsigned(path.to_path_buf()))
        }
        Err(source) => {
            return Err(SignError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let bad = |message: String| SignError::BadSignatureFile {
        path: path.to_path_buf(),
        message,
    };
    if text.len() > 64 << 10 {
        return Err(bad("larger than 64 KiB".into()));
    }
    let sig: PlanSignature = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if sig.format != SIGNATURE_FORMAT {
        return Err(bad(format!(
            "format `{}`, this build reads `{SIGNATURE_FORMAT}`",
            sig.format
        )));
    }
    Ok(sig)
}

/// Writes a signature file.
pub fn write_signature(path: &Path, sig: &PlanSignature) -> Result<(), SignError> {
    let mut text = serde_json::to_string_pretty(sig).map_err(|e| SignError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    std::fs::write(path, text).map_err(|source| SignError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The checks that need no key: the signature is over this plan's content hash.
pub fn check_hash(sig: &PlanSignature, plan_sha256: &str) -> Result<(), SignError> {
    if sig.plan_sha256 != plan_sha256 {
        return Err(SignError::Changed {
            signed: sig.plan_sha256.clone(),
            actual: plan_sha256.to_string(),
        });
    }
    Ok(())
}

/// The signature's bytes (base64-decoded); undecodable is [`SignError::WrongKey`] for `key`.
pub fn signature_bytes(sig: &PlanSignature, key: &str) -> Result<Vec<u8>, SignError> {
    base64::engine::general_purpose::STANDARD
        .decode(&sig.signature)
        .map_err(|e| SignError::WrongKey {
            key: key.to_string(),
            why: format!("the signature is not base64 ({e})"),
        })
}

/// Verifies a signature with a local Ed25519 public (or private) key file.
pub fn verify_local(
    sig: &PlanSignature,
    plan_sha256: &str,
    key_file: &Path,
) -> Result<(), SignError> {
    check_hash(sig, plan_sha256)?;
    let shown = key_file.display().to_string();
    let public = public_key_of(key_file)?;
    let wrong = |why: String| SignError::WrongKey {
        key: shown.clone(),
        why,
    };
    if sig.algorithm != "ED25519" {
        return Err(wrong(format!(
            "it was made with {} ({}), not with a local Ed25519 key",
            sig.algorithm,
            key_ref_text(&sig.key)
        )));
    }
    let bytes = signature_bytes(sig, &shown)?;
    UnparsedPublicKey::new(&ED25519, &public)
        .verify(&message_of(&sig.plan_sha256), &bytes)
        .map_err(|_| {
            wrong(format!(
                "it was signed by another key ({}) or altered",
                key_ref_text(&sig.key)
            ))
        })
}

/// How a signature's key is named in messages.
pub fn key_ref_text(k: &SigningKeyRef) -> String {
    match k {
        SigningKeyRef::Ed25519 { public_key_sha256 } => {
            format!("local Ed25519 key {public_key_sha256}")
        }
        SigningKeyRef::Kms { key_id } => format!("KMS key {key_id}"),
    }
}

/// Whether a `--sign` / `--require-signature` KEY names a local key file (else a KMS key).
pub fn is_local_key(key: &str) -> bool {
    Path::new(key).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (private, public) = generate_key().unwrap();
        let (a, b) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.pub.pem")),
        );
        std::fs::write(&a, private).unwrap();
        std::fs::write(&b, public).unwrap();
        (a, b)
    }

    #[test]
    fn a_local_signature_verifies_with_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = keys(dir.path(), "k");
        let (other_private, other_public) = keys(dir.path(), "other");
        let sig = sign_local("sha256:aa", &private).unwrap();
        assert_eq!(sig.algorithm, "ED25519");
        verify_local(&sig, "sha256:aa", &public).unwrap();
        verify_local(&sig, "sha256:aa", &private).unwrap();
        let e = verify_local(&sig, "sha256:aa", &other_public).unwrap_err();
        assert!(matches!(e, SignError::WrongKey { .. }), "{e}");
        let e = verify_local(&sig, "sha256:bb", &public).unwrap_err();
        assert!(matches!(e, SignError::Changed { .. }), "{e}");
        // A signature file edited to claim the new hash does not verify.
        let mut forged = sig.clone();
        forged.plan_sha256 = "sha256:bb".into();
        let e = verify_local(&forged, "sha256:bb", &public).unwrap_err();
        assert!(matches!(e, SignError::WrongKey { .. }), "{e}");
        // Another key's signature, relabelled, does not verify either.
        let mut relabelled = sign_local("sha256:aa", &other_private).unwrap();
        relabelled.key = sig.key.clone();
        assert!(verify_local(&relabelled, "sha256:aa", &public).is_err());
    }

    #[test]
    fn signature_files_round_trip_and_a_missing_one_is_unsigned() {
        let dir = tempfile::tempdir().unwrap();
        let (private, _) = keys(dir.path(), "k");
        let path = signature_path(&dir.path().join("plan.json"));
        assert!(path.ends_with("plan.json.sig"));
        assert!(matches!(
            read_signature(&path).unwrap_err(),
            SignError::Unsigned(_)
        ));
        let sig = sign_local("sha256:aa", &private).unwrap();
        write_signature(&path, &sig).unwrap();
        assert_eq!(read_signature(&path).unwrap(), sig);
        std::fs::write(&path, "{}").unwrap();
        assert!(matches!(
            read_signature(&path).unwrap_err(),
            SignError::BadSignatureFile { .. }
        ));
    }

    #[test]
    fn key_files_of_another_kind_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(
            sign_local("sha256:aa", &path).unwrap_err(),
            SignError::BadKey { .. }
        ));
        assert!(matches!(
            public_key_of(&path).unwrap_err(),
            SignError::BadKey { .. }
        ));
    }
}
