//! Organizations: the accounts of the organization (`organizations:ListAccounts`, suspended
//! ones set apart) and, per member account, `sts:AssumeRole` into it, giving an SDK
//! configuration that acts in that account with the caller's endpoint, retry and timeout
//! settings. Credentials are never printed: errors carry the call, the AWS error code and the
//! service's message only.

use crate::live::code_and_message;
use aws_credential_types::provider::SharedCredentialsProvider;
use iamwarden_core::org::report::{FailedAccount, SkippedAccount};
use iamwarden_core::org::Account;

/// Every Organizations and STS operation an organization run calls from the caller's account;
/// `examples/iam-org-caller-policy.json` grants exactly these (a test keeps them equal).
pub const CALLER_OPERATIONS: [&str; 6] = [
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
    "organizations:ListTagsForResource",
    "sts:AssumeRole",
];

/// A failed Organizations or STS call.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{call} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct OrgCallError {
    /// `organizations:ListAccounts`, `sts:AssumeRole`.
    pub call: &'static str,
    /// The AWS error code, when there is one.
    pub code: Option<String>,
    /// What the service said (never credentials).
    pub message: String,
}

impl OrgCallError {
    /// Whether the service refused the call for want of permission.
    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDenied" | "AccessDeniedException" | "AWSOrganizationsNotInUseException")
        )
    }

    /// The report entry for an account this error stopped; `resource` is what the permission
    /// is needed on (the role ARN for AssumeRole).
    pub fn failed(&self, account: &Account, resource: &str) -> FailedAccount {
        FailedAccount {
            id: account.id.clone(),
            name: account.name.clone(),
            call: self.call.to_string(),
            code: self.code.clone(),
            message: self.message.clone(),
            permission: self
                .is_access_denied()
                .then(|| format!("{} on {resource}", self.call)),
        }
    }
}

fn call_error<E>(
    call: &'static str,
    err: &aws_sdk_iam::error::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> OrgCallError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = code_and_message(err);
    OrgCallError {
        call,
        code,
        message,
    }
}

/// Which accounts of the organization to list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Only the accounts under these OUs (or roots), at any depth (`ListChildren`,
    /// `ListAccountsForParent`); empty: every account (`ListAccounts`).
    pub ous: Vec<String>,
    /// Read each active account's tags (`ListTagsForResource`), for `tag:` filters.
    pub tags: bool,
}

/// The accounts directly in `parent` and in every OU under it (breadth first).
async fn accounts_under(
    client: &aws_sdk_organizations::Client,
    root: &str,
) -> Result<Vec<aws_sdk_organizations::types::Account>, OrgCallError> {
    let mut queue = std::collections::VecDeque::from([root.to_string()]);
    let mut out = Vec::new();
    while let Some(parent) = queue.pop_front() {
        let mut pages = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("organizations:ListAccountsForParent", &e))?;
            out.extend(page.accounts().iter().cloned());
        }
        let mut pages = client
            .list_children()
            .parent_id(&parent)
            .child_type(aws_sdk_organizations::types::ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("organizations:ListChildren", &e))?;
            queue.extend(
                page.children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_string)),
            );
        }
    }
    Ok(out)
}

/// The organization's accounts: active ones (sorted by id, with their names, and their tags
/// when asked) and the others (suspended, pending closure), which are skipped and listed.
pub async fn list_accounts(
    config: &aws_config::SdkConfig,
    opts: &ListOptions,
) -> Result<(Vec<Account>, Vec<SkippedAccount>), OrgCallError> {
    let client = aws_sdk_organizations::Client::new(config);
    let mut listed = Vec::new();
    if opts.ous.is_empty() {
        let mut pages = client.list_accounts().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("organizations:ListAccounts", &e))?;
            listed.extend(page.accounts().iter().cloned());
        }
    } else {
        let mut seen = std::collections::BTreeSet::new();
        for ou in &opts.ous {
            for a in accounts_under(&client, ou).await? {
                if seen.insert(a.id().unwrap_or_default().to_string()) {
                    listed.push(a);
                }
            }
        }
    }
    let (mut active, mut skipped) = (Vec::new(), Vec::new());
    {
        for a in &listed {
            let id = a.id().unwrap_or_default().to_string();
            let name = a.name().unwrap_or_default().to_string();
            // `State` replaces the deprecated `Status`; older endpoints (and moto) give only
            // `Status`.
            #[allow(deprecated)]
            let state = a
                .state()
                .map(|s| s.as_str().to_string())
                .or_else(|| a.status().map(|s| s.as_str().to_string()))
                .unwrap_or_else(|| "ACTIVE".to_string());
            if state == "ACTIVE" {
                let mut account = Account::new(&id, &name);
                if opts.tags {
                    let mut pages = client
                        .list_tags_for_resource()
                        .resource_id(&id)
                        .into_paginator()
                        .send();
                    while let Some(page) = pages.next().await {
                        let page =
                            page.map_err(|e| call_error("organizations:ListTagsForResource", &e))?;
                        for t in page.tags() {
                            account
                                .tags
                                .insert(t.key().to_string(), t.value().to_string());
                        }
                    }
                }
                active.push(account);
            } else {
                skipped.push(SkippedAccount {
                    id,
                    name,
                    status: state,
                });
            }
        }
    }
    active.sort_by(|a, b| a.id.cmp(&b.id));
    skipped.sort_by(|a, b| a.id.cmp(&b.id));
    Ok((active, skipped))
}

/// The organization's management account (`DescribeOrganization`'s `MasterAccountId`).
pub async fn management_account(config: &aws_config::SdkConfig) -> Result<String, OrgCallError> {
    let client = aws_sdk_organizations::Client::new(config);
    let out = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| call_error("organizations:DescribeOrganization", &e))?;
    out.organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_string)
        .ok_or_else(|| OrgCallError {
            call: "organizations:DescribeOrganization",
            code: None,
            message: "the answer names no management account".to_string(),
        })
}

/// How to assume the member role.
#[derive(Debug, Clone)]
pub struct AssumeOptions {
    /// The session name (shows in the member account's CloudTrail).
    pub session_name: String,
    /// The session's duration in seconds (900 to the role's maximum).
    pub duration_seconds: i32,
}

impl Default for AssumeOptions {
    fn default() -> Self {
        AssumeOptions {
            session_name: "iamwarden".to_string(),
            duration_seconds: 3600,
        }
    }
}

/// Assumes `role_arn` (with the account's external id) from the caller's configuration and
/// returns a configuration that signs with the role's temporary credentials and keeps the
/// caller's region, endpoint, retries and timeouts. Refuses credentials of another account
/// than `account.id` (a role ARN template pointing elsewhere must not plan the wrong account).
pub async fn assume(
    caller: &aws_config::SdkConfig,
    account: &Account,
    role_arn: &str,
    opts: &AssumeOptions,
) -> Result<aws_config::SdkConfig, OrgCallError> {
    let sts = aws_sdk_sts::Client::new(caller);
    let out = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(&opts.session_name)
        .duration_seconds(opts.duration_seconds)
        .set_external_id(account.external_id.clone())
        .send()
        .await
        .map_err(|e| call_error("sts:AssumeRole", &e))?;
    let missing = || OrgCallError {
        call: "sts:AssumeRole",
        code: None,
        message: "the answer has no credentials".to_string(),
    };
    let assumed_account = out
        .assumed_role_user()
        .and_then(|u| u.arn().split(':').nth(4).map(str::to_string));
    if let Some(other) = assumed_account.filter(|a| !a.is_empty() && *a != account.id) {
        return Err(OrgCallError {
            call: "sts:AssumeRole",
            code: None,
            message: format!(
                "the role {role_arn} is in account {other}, not {}: check the role of this account",
                account.id
            ),
        });
    }
    let c = out.credentials().ok_or_else(missing)?;
    let expiry = std::time::SystemTime::try_from(*c.expiration()).ok();
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        expiry,
        "iamwarden-org-assume-role",
    );
    Ok(caller
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build())
}
