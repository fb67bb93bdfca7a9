//! The AWS session of one command: the async runtime and the one `SdkConfig` every AWS client
//! of the command is built from, opened on first use and then shared. One `SdkConfig` is one
//! HTTP client (one connection pool: a connection opened by the read is reused by apply) and
//! one credentials cache (an SSO or assume-role profile resolves once, not once per phase).
//! `event --apply` reads and applies through one session; `watch` and `lambda` through one for
//! the whole run, batch after batch.

use super::AwsArgs;
use anyhow::{Context, Result};
use std::sync::OnceLock;

/// An open session: the runtime the calls run on and the configuration they are built from.
/// The pooled connections belong to the runtime, so both live as long as the session.
#[derive(Debug)]
pub(crate) struct Connected {
    /// The runtime every call of the command runs on.
    pub(crate) rt: tokio::runtime::Runtime,
    /// The configuration every client is built from.
    pub(crate) config: aws_config::SdkConfig,
}

/// A session not opened until a command needs AWS: a plan on a snapshot reads no AWS setting
/// (a broken profile is no error then), and an error in the rules still comes before one in
/// the settings.
#[derive(Debug, Default)]
pub(crate) struct Session(OnceLock<Connected>);

impl Session {
    /// The session, opened with `aws`'s settings the first time (later calls share it, whatever
    /// `aws` they pass: a command has one set of AWS settings).
    pub(crate) fn get(&self, aws: &AwsArgs) -> Result<&Connected> {
        if let Some(c) = self.0.get() {
            return Ok(c);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let config = rt.block_on(iamwarden_aws::live::sdk_config(&aws.options()))?;
        Ok(self.0.get_or_init(|| Connected { rt, config }))
    }
}
