//! `plan --sign`, `apply --require-signature` and `iamwarden keygen`: the CLI side of signed
//! plans. What is signed and how it is checked lives in the library's `sign` module.

use super::AwsArgs;
use anyhow::{Context, Result};
use iamwarden_core::sign;
use std::path::{Path, PathBuf};

fn kms_client(aws: &AwsArgs) -> Result<(tokio::runtime::Runtime, aws_sdk_kms::Client, String)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let config = rt.block_on(iamwarden_aws::live::sdk_config(&aws.options()))?;
    let endpoint = iamwarden_aws::live::settings::endpoint(
        &config,
        iamwarden_aws::live::settings::Service::Kms,
    );
    Ok((rt, aws_sdk_kms::Client::new(&config), endpoint))
}

/// Signs the plan written to `plan_file` and writes `PLAN.sig` beside it.
pub fn sign_plan(plan_file: &Path, plan_sha256: &str, key: &str, aws: &AwsArgs) -> Result<PathBuf> {
    let sig = if sign::is_local_key(key) {
        sign::sign_local(plan_sha256, Path::new(key))?
    } else {
        let (rt, kms, endpoint) = kms_client(aws)?;
        rt.block_on(iamwarden_aws::kms::sign_kms(
            &kms,
            &endpoint,
            plan_sha256,
            key,
        ))?
    };
    let path = sign::signature_path(plan_file);
    sign::write_signature(&path, &sig)?;
    Ok(path)
}

/// Refuses the plan unless its signature (`sig_file`, default `PLAN.sig`) verifies with `key`.
pub fn require_signature(
    plan_file: &Path,
    sig_file: Option<&Path>,
    plan_sha256: &str,
    key: &str,
    aws: &AwsArgs,
) -> Result<()> {
    let path = sig_file.map_or_else(|| sign::signature_path(plan_file), Path::to_path_buf);
    let refuse = || format!("refusing to apply {}", plan_file.display());
    let sig = sign::read_signature(&path).with_context(refuse)?;
    if sign::is_local_key(key) {
        sign::verify_local(&sig, plan_sha256, Path::new(key)).with_context(refuse)?;
    } else {
        sign::check_hash(&sig, plan_sha256).with_context(refuse)?;
        let (rt, kms, endpoint) = kms_client(aws)?;
        rt.block_on(iamwarden_aws::kms::verify_kms(
            &kms,
            &endpoint,
            &sig,
            plan_sha256,
            key,
        ))
        .with_context(refuse)?;
    }
    super::output::notice!("The plan's signature verifies with {key}.");
    Ok(())
}

/// `iamwarden keygen OUT`: a new Ed25519 key for signing plans without KMS.
pub fn keygen(out: &Path, force: bool, w: &mut dyn std::io::Write) -> Result<()> {
    let public = {
        let mut name = out.file_name().unwrap_or_default().to_os_string();
        name.push(".pub");
        out.with_file_name(name)
    };
    for p in [out, public.as_path()] {
        if p.exists() && !force {
            anyhow::bail!(
                "{} exists; nothing was written (--force overwrites)",
                p.display()
            );
        }
    }
    let (private_pem, public_pem) = sign::generate_key()?;
    write_private(out, &private_pem)?;
    std::fs::write(&public, public_pem)
        .with_context(|| format!("cannot write {}", public.display()))?;
    writeln!(
        w,
        "Wrote the private key {} (keep it secret; `plan --sign {}`) and the public key {} \
         (`apply --require-signature {}`)",
        out.display(),
        out.display(),
        public.display(),
        public.display()
    )?;
    Ok(())
}

fn write_private(path: &Path, pem: &str) -> Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
