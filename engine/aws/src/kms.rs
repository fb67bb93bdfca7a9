//! Plan signatures with an AWS KMS asymmetric key: `kms:GetPublicKey` and `kms:Sign` to sign a
//! plan's content hash, `kms:Verify` against the key the verifier names. The signature format,
//! local keys and the hash check are in `iamwarden_core::sign`; this is their KMS edge.

use base64::Engine;
use iamwarden_core::sign::{
    check_hash, key_ref_text, message_of, signature_bytes, PlanSignature, SignError, SigningKeyRef,
    SIGNATURE_FORMAT,
};

fn kms_message<E, R>(err: &aws_sdk_kms::error::SdkError<E, R>) -> String
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match err.as_service_error() {
        Some(se) => format!(
            "{}: {}",
            se.code().unwrap_or("error"),
            se.message().unwrap_or("no message")
        ),
        None => {
            let mut parts = Vec::new();
            let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
            while let Some(e) = cur {
                let t = e.to_string();
                if !t.is_empty() && !parts.iter().any(|p: &String| p.contains(&t)) {
                    parts.push(t);
                }
                cur = e.source();
            }
            parts.join(": ")
        }
    }
}

/// Signs a plan's content hash with an AWS KMS asymmetric key (`kms:GetPublicKey` for its
/// algorithms, then `kms:Sign`). ECDSA_SHA_256 is used when the key offers it.
pub async fn sign_kms(
    client: &aws_sdk_kms::Client,
    endpoint: &str,
    plan_sha256: &str,
    key: &str,
) -> Result<PlanSignature, SignError> {
    use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
    let fail = |call: &'static str, message: String| SignError::Kms {
        call,
        key: key.to_string(),
        endpoint: endpoint.to_string(),
        message,
    };
    let info = client
        .get_public_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| fail("GetPublicKey", kms_message(&e)))?;
    let algs = info.signing_algorithms();
    let alg = algs
        .iter()
        .find(|a| **a == SigningAlgorithmSpec::EcdsaSha256)
        .or_else(|| algs.first())
        .cloned()
        .ok_or_else(|| {
            fail(
                "GetPublicKey",
                "the key has no signing algorithms (is it an asymmetric SIGN_VERIFY key?)".into(),
            )
        })?;
    let out = client
        .sign()
        .key_id(key)
        .message(aws_sdk_kms::primitives::Blob::new(message_of(plan_sha256)))
        .message_type(MessageType::Raw)
        .signing_algorithm(alg.clone())
        .send()
        .await
        .map_err(|e| fail("Sign", kms_message(&e)))?;
    let bytes = out
        .signature()
        .ok_or_else(|| fail("Sign", "no signature in the answer".into()))?;
    Ok(PlanSignature {
        format: SIGNATURE_FORMAT.to_string(),
        plan_sha256: plan_sha256.to_string(),
        key: SigningKeyRef::Kms {
            key_id: out.key_id().or(info.key_id()).unwrap_or(key).to_string(),
        },
        algorithm: alg.as_str().to_string(),
        signature: base64::engine::general_purpose::STANDARD.encode(bytes.as_ref()),
    })
}

/// Verifies a signature with `kms:Verify` against the required KMS key `key`.
pub async fn verify_kms(
    client: &aws_sdk_kms::Client,
    endpoint: &str,
    sig: &PlanSignature,
    plan_sha256: &str,
    key: &str,
) -> Result<(), SignError> {
    use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
    check_hash(sig, plan_sha256)?;
    let wrong = |why: String| SignError::WrongKey {
        key: key.to_string(),
        why,
    };
    if let SigningKeyRef::Ed25519 { .. } = sig.key {
        return Err(wrong(format!(
            "it was made with a {}, not with a KMS key",
            key_ref_text(&sig.key)
        )));
    }
    let bytes = signature_bytes(sig, key)?;
    let result = client
        .verify()
        .key_id(key)
        .message(aws_sdk_kms::primitives::Blob::new(message_of(
            &sig.plan_sha256,
        )))
        .message_type(MessageType::Raw)
        .signature(aws_sdk_kms::primitives::Blob::new(bytes))
        .signing_algorithm(SigningAlgorithmSpec::from(sig.algorithm.as_str()))
        .send()
        .await;
    match result {
        Ok(out) if out.signature_valid() => Ok(()),
        Ok(_) => Err(wrong(format!(
            "kms:Verify says it is not valid: it was signed by another key ({}) or altered",
            key_ref_text(&sig.key)
        ))),
        Err(e) => {
            let invalid = e
                .as_service_error()
                .is_some_and(|se| se.is_kms_invalid_signature_exception());
            if invalid {
                Err(wrong(format!(
                    "kms:Verify says it is not valid: it was signed by another key ({}) or altered",
                    key_ref_text(&sig.key)
                )))
            } else {
                Err(SignError::Kms {
                    call: "Verify",
                    key: key.to_string(),
                    endpoint: endpoint.to_string(),
                    message: kms_message(&e),
                })
            }
        }
    }
}
