//! Reading a live account through aws-sdk-iam: the I/O edge of the inventory.
//!
//! Bulk calls first, per-user calls only where no bulk call has the data:
//! `GetAccountAuthorizationDetails` (paginated) for users, groups, roles, managed policies with
//! every version and inline policies; the credential report (generated, polled with backoff,
//! parsed) for password and key usage; `ListVirtualMFADevices`; `GetAccountPasswordPolicy`;
//! `GetAccountSummary`; `ListAccountAliases`. Then `ListAccessKeys` for the users that hold
//! keys (the report gives key slots, not ids) and `ListMFADevices` only for users the report
//! says have MFA that no virtual device explains. Any failed call ends the read with the call
//! and the IAM permission it needs: a partial inventory is never planned on.
//!
//! Event mode reads only what its events touched instead ([`scoped`]).
//!
//! Opt-in ([`LiveOptions::service_access`]): IAM's service last-accessed data for every user and
//! role ([`access`]), two or more calls per entity; a job that fails or times out is a gap for
//! that entity, not the end of the read.

pub mod access;
pub mod report;
pub mod scoped;
pub mod settings;

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use chrono::{DateTime, Utc};
use iamwarden_core::inventory::{
    AccessKey, Group, InlinePolicy, Inventory, KeyStatus, LoginProfile, ManagedPolicy, MfaDevice,
    OwnerKind, PasswordPolicy, PolicyVersion, Role, RootUser, Tags, User, INVENTORY_FORMAT_VERSION,
};
use iamwarden_core::policy::parse_document_text;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every IAM operation the full reader calls. `examples/iam-read-only-policy.json` grants
/// exactly these and [`scoped::OPERATIONS`] (a test keeps them equal).
pub const OPERATIONS: [&str; 11] = [
    "GetAccountAuthorizationDetails",
    "GenerateCredentialReport",
    "GetCredentialReport",
    "ListVirtualMFADevices",
    "GetAccountPasswordPolicy",
    "GetAccountSummary",
    "ListAccountAliases",
    "ListAccessKeys",
    "ListMFADevices",
    "GenerateServiceLastAccessedDetails",
    "GetServiceLastAccessedDetails",
];

/// Called as the read advances: (step, done, total; total 0 when unknown). The CLI draws a
/// progress line on a terminal with it.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(&'static str, usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// How to reach the account.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Progress reports, if wanted.
    pub progress: Option<Progress>,
    /// A named profile from the shared config files.
    pub profile: Option<String>,
    /// The region flag (IAM is global; the region picks the partition's endpoints and STS's
    /// region). Without it: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile, us-east-1.
    pub region: Option<String>,
    /// The endpoint URL flag, for every service (a local test server, a VPC endpoint): it wins
    /// over `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL` and the profile, which aws-config
    /// reads when it is not set.
    pub endpoint_url: Option<String>,
    /// Per-user calls in flight at once (default 8).
    pub concurrency: usize,
    /// Time limits on every call.
    pub timeouts: Timeouts,
    /// Read service last-accessed data for every user and role, waiting at most this long for
    /// each entity's job (`None`: not read; rules then see no data).
    pub service_access: Option<Duration>,
}

/// Time limits on every AWS call (IAM, STS, KMS: every client built from [`sdk_config`]), so
/// that a dead endpoint fails in seconds and a hung call in under a minute, never hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a TCP/TLS connection.
    pub connect: Duration,
    /// One attempt of a call, from sending the request to the last byte of the answer.
    pub attempt: Duration,
    /// A whole call, retries and their backoff included.
    pub call: Duration,
}

impl Timeouts {
    /// `--connect-timeout` default.
    pub const CONNECT: Duration = Duration::from_secs(3);
    /// `--attempt-timeout` default: generous for a large page of authorization details.
    pub const ATTEMPT: Duration = Duration::from_secs(20);
    /// `--call-timeout` default.
    pub const CALL: Duration = Duration::from_secs(50);
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Timeouts::CONNECT,
            attempt: Timeouts::ATTEMPT,
            call: Timeouts::CALL,
        }
    }
}

/// A failed read: which call, why, and the permission it needs.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// An IAM call failed.
    #[error("{operation} failed: {message}{}", permission_hint(operation, code.as_deref()))]
    Call {
        /// The API operation.
        operation: &'static str,
        /// The AWS error code, when there is one.
        code: Option<String>,
        /// What the SDK said (never credentials).
        message: String,
    },
    /// The data made no sense (a report that does not parse, an account id nowhere).
    #[error("{0}")]
    Data(String),
}

fn permission_hint(operation: &str, code: Option<&str>) -> String {
    match code {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => format!(
            " (the caller needs the IAM permission iam:{operation}; see examples/iam-read-only-policy.json)"
        ),
        _ => String::new(),
    }
}

/// API calls made, per operation, and the wall time.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Calls per operation (every attempt the SDK made counts once per logical call).
    pub calls: BTreeMap<&'static str, u64>,
    /// Wall time of the whole read.
    pub elapsed: Duration,
}

impl Stats {
    /// All calls.
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

#[derive(Clone, Default)]
struct Counter(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl Counter {
    fn hit(&self, op: &'static str) {
        if let Ok(mut m) = self.0.lock() {
            *m.entry(op).or_default() += 1;
        }
    }
    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

/// The AWS error code and a one-line message of a failed SDK call (never credentials). An
/// answer without an AWS error (a wrong path, another server) names its HTTP status.
pub(crate) fn code_and_message<E>(
    err: &aws_sdk_iam::error::SdkError<E, HttpResponse>,
) -> (Option<String>, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_iam::error::SdkError;
    let code = err.code().map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    let message = match err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            match (se.err().code(), se.err().message()) {
                (_, Some(m)) => m.to_string(),
                (Some(c), None) => format!("{c} (HTTP {status})"),
                (None, None) => not_aws(status),
            }
        }
        SdkError::ResponseError(_) => {
            let text = chain_text(err);
            let lower = text.to_ascii_lowercase();
            let cut = [
                "connection",
                "closed",
                "reset",
                "eof",
                "incomplete",
                "truncated",
            ]
            .iter()
            .any(|w| lower.contains(w));
            match status {
                _ if cut => format!("the answer was cut off ({text})"),
                Some(s) if !(200..300).contains(&s) => not_aws(s),
                Some(s) => format!("HTTP {s}, but the body is not an AWS answer ({text})"),
                None => format!("the answer could not be read ({text})"),
            }
        }
        SdkError::TimeoutError(_) => format!("no answer in time ({})", chain_text(err)),
        _ => describe_transport_error(err),
    };
    (code, message)
}

fn not_aws(status: u16) -> String {
    format!("HTTP {status}, not an AWS answer (check the endpoint URL and its path)")
}

fn call_error<E>(
    operation: &'static str,
    err: aws_sdk_iam::error::SdkError<E, HttpResponse>,
) -> LiveError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message) = code_and_message(&err);
    LiveError::Call {
        operation,
        code,
        message,
    }
}

/// The error chain's `Display` texts, joined (never `Debug`, which could carry the request).
pub(crate) fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && text != "other" && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// A one-line account of a failure that is not an answer: no credentials, an endpoint that
/// cannot be reached (refused, no such host: not retried), a timeout, a TLS failure, a cut
/// connection. Only `Display` texts are used (never `Debug`, which could carry request
/// details).
fn describe_transport_error(err: &(dyn std::error::Error + 'static)) -> String {
    let all = chain_text(err);
    let lower = all.to_ascii_lowercase();
    if lower.contains("credentials") {
        format!(
            "no usable AWS credentials ({all}). Set AWS_PROFILE or pass --profile, or set \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or sign in with `aws sso login`"
        )
    } else if settings::unreachable(err) {
        let why = if lower.contains("dns error") || lower.contains("failed to lookup address") {
            "the host name does not resolve"
        } else {
            "connection refused"
        };
        format!(
            "cannot reach the endpoint ({why}): is the server running? check --endpoint-url \
             and AWS_ENDPOINT_URL ({all})"
        )
    } else if lower.contains("timeout") || lower.contains("timed out") {
        format!("no answer in time ({all})")
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        format!(
            "the TLS handshake failed ({all}); behind a proxy or with a private CA, set \
             AWS_CA_BUNDLE or the profile's ca_bundle"
        )
    } else if lower.contains("connection closed")
        || lower.contains("connection reset")
        || lower.contains("broken pipe")
        || lower.contains("incomplete")
    {
        format!("the connection was cut ({all})")
    } else {
        all
    }
}

fn chrono_of(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The document as JSON; text that is not JSON is kept as text, so normalization reports it
/// (`document_error`) instead of the policy silently granting nothing.
fn document(text: Option<&str>) -> Value {
    match text {
        Some(t) => parse_document_text(t).unwrap_or_else(|_| Value::String(t.to_string())),
        None => Value::Null,
    }
}

fn tags(list: &[aws_sdk_iam::types::Tag]) -> Tags {
    list.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The account password policy as the inventory has it (zero ages mean "none").
pub(crate) fn password_policy_of(p: &aws_sdk_iam::types::PasswordPolicy) -> PasswordPolicy {
    PasswordPolicy {
        minimum_password_length: p
            .minimum_password_length()
            .and_then(|n| u32::try_from(n).ok()),
        require_symbols: p.require_symbols(),
        require_numbers: p.require_numbers(),
        require_uppercase_characters: p.require_uppercase_characters(),
        require_lowercase_characters: p.require_lowercase_characters(),
        allow_users_to_change_password: p.allow_users_to_change_password(),
        max_password_age: p
            .max_password_age()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0),
        password_reuse_prevention: p
            .password_reuse_prevention()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0),
        hard_expiry: p.hard_expiry().unwrap_or(false),
    }
}

/// Builds the IAM client the way AWS users expect: the standard credential chain and the
/// [`settings`] (profile, region, retries, CA bundle, endpoints) as the AWS CLI reads them,
/// and the [`Timeouts`] on every call.
pub async fn client(opts: &LiveOptions) -> Result<Client, settings::SettingsError> {
    Ok(Client::new(&sdk_config(opts).await?))
}

/// The shared SDK configuration every client is built from (IAM, STS, KMS, Organizations,
/// SQS, Secrets Manager): [`settings::settings`] read once, reads retried as they say (at most
/// 5 s between attempts; mutating calls turn the SDK's retries off per call), a refused
/// connection not retried, and the [`Timeouts`]. A setting that cannot be used (a profile
/// that is not in the files, an unreadable CA bundle) is an error before any network call.
pub async fn sdk_config(
    opts: &LiveOptions,
) -> Result<aws_config::SdkConfig, settings::SettingsError> {
    let s = settings::settings(opts).await?;
    let t = opts.timeouts;
    let retry = match s.retry_mode {
        settings::RetryMode::Standard => aws_config::retry::RetryConfig::standard(),
        settings::RetryMode::Adaptive => aws_config::retry::RetryConfig::adaptive(),
    }
    .with_max_attempts(s.max_attempts)
    .with_max_backoff(Duration::from_secs(5));
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(t.connect)
                .operation_attempt_timeout(t.attempt)
                .operation_timeout(t.call)
                .build(),
        )
        .http_client(settings::http_client(s.ca_bundle.as_ref()))
        .region(aws_config::Region::new(s.region));
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    Ok(loader.load().await)
}

/// Reads the whole account.
pub async fn read(client: &Client, opts: &LiveOptions) -> Result<(Inventory, Stats), LiveError> {
    let started = Instant::now();
    let counter = Counter::default();
    let mut inv = Inventory {
        format_version: INVENTORY_FORMAT_VERSION,
        generated_at: Some(Utc::now()),
        ..Inventory::default()
    };

    let tick = |step: &'static str, done: usize, total: usize| {
        if let Some(p) = &opts.progress {
            (p.0)(step, done, total);
        }
    };
    tick("GetAccountAuthorizationDetails", 0, 0);
    read_authorization_details(client, &counter, &mut inv).await?;
    tick("credential report", 0, 0);
    let rows = read_credential_report(client, &counter).await?;
    let virtual_mfa = read_virtual_mfa(client, &counter).await?;

    counter.hit("GetAccountPasswordPolicy");
    inv.account.password_policy = match client.get_account_password_policy().send().await {
        Ok(out) => out.password_policy().map(password_policy_of),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(e) => return Err(call_error("GetAccountPasswordPolicy", e)),
    };

    counter.hit("GetAccountSummary");
    let summary = client
        .get_account_summary()
        .send()
        .await
        .map_err(|e| call_error("GetAccountSummary", e))?;
    if let Some(m) = summary.summary_map() {
        inv.account.summary = m
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), i64::from(*v)))
            .collect();
    }

    counter.hit("ListAccountAliases");
    let aliases = client
        .list_account_aliases()
        .send()
        .await
        .map_err(|e| call_error("ListAccountAliases", e))?;
    inv.account.alias = aliases.account_aliases().first().cloned();

    apply_report(&mut inv, &rows);
    read_keys(client, &counter, opts, &mut inv, &rows).await?;
    read_mfa(client, &counter, opts, &mut inv, &rows, virtual_mfa).await?;
    if let Some(wait) = opts.service_access {
        tick("service last-accessed data", 0, 0);
        access::read(client, &counter, opts, &mut inv, wait).await;
    }

    inv.account.id = account_id(&inv, &rows).ok_or_else(|| {
        LiveError::Data("cannot tell the account id: no ARN in the account names one".into())
    })?;
    inv.account.arn = format!("arn:aws:iam::{}:root", inv.account.id);
    inv.normalize();
    Ok((
        inv,
        Stats {
            calls: counter.snapshot(),
            elapsed: started.elapsed(),
        },
    ))
}

fn account_of(arn: &str) -> Option<String> {
    let id = arn.split(':').nth(4)?;
    (id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// A key's status as the inventory has it (anything but `Active` is inactive).
fn key_status(status: Option<&aws_sdk_iam::types::StatusType>) -> KeyStatus {
    if status == Some(&aws_sdk_iam::types::StatusType::Active) {
        KeyStatus::Active
    } else {
        KeyStatus::Inactive
    }
}

/// One of `user`'s MFA devices as `ListMFADevices` returns it (a virtual device's serial is
/// its ARN).
fn mfa_device_of(d: &aws_sdk_iam::types::MfaDevice, user: &str) -> MfaDevice {
    MfaDevice {
        id: d.serial_number().to_string(),
        user: Some(user.to_string()),
        r#virtual: d.serial_number().starts_with("arn:"),
        enabled_at: chrono_of(Some(d.enable_date())),
        ..MfaDevice::default()
    }
}

/// The account id, from the first ARN of the account's own resources (then the report's).
fn account_id(inv: &Inventory, rows: &[report::ReportRow]) -> Option<String> {
    inv.users
        .iter()
        .map(|u| u.arn.as_str())
        .chain(inv.roles.iter().map(|r| r.arn.as_str()))
        .chain(inv.groups.iter().map(|g| g.arn.as_str()))
        .chain(
            inv.managed_policies
                .iter()
                .filter(|p| !p.aws_managed)
                .map(|p| p.arn.as_str()),
        )
        .chain(rows.iter().map(|r| r.arn.as_str()))
        .find_map(account_of)
}

async fn read_authorization_details(
    client: &Client,
    counter: &Counter,
    inv: &mut Inventory,
) -> Result<(), LiveError> {
    let mut marker: Option<String> = None;
    loop {
        counter.hit("GetAccountAuthorizationDetails");
        let page = client
            .get_account_authorization_details()
            .max_items(1000)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| call_error("GetAccountAuthorizationDetails", e))?;
        for u in page.user_detail_list() {
            let name = u.user_name().unwrap_or_default().to_string();
            for p in u.user_policy_list() {
                inv.inline_policies.push(inline(OwnerKind::User, &name, p));
            }
            inv.users.push(User {
                id: u.user_id().unwrap_or_default().to_string(),
                arn: u.arn().unwrap_or_default().to_string(),
                name,
                path: u.path().unwrap_or("/").to_string(),
                created_at: chrono_of(u.create_date()).unwrap_or_default(),
                groups: u.group_list().to_vec(),
                attached_policies: attached_arns(u.attached_managed_policies()),
                inline_policies: inline_names(u.user_policy_list()),
                permissions_boundary: u
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn().map(str::to_string)),
                tags: tags(u.tags()),
                ..User::default()
            });
        }
        for g in page.group_detail_list() {
            let name = g.group_name().unwrap_or_default().to_string();
            for p in g.group_policy_list() {
                inv.inline_policies.push(inline(OwnerKind::Group, &name, p));
            }
            inv.groups.push(Group {
                id: g.group_id().unwrap_or_default().to_string(),
                arn: g.arn().unwrap_or_default().to_string(),
                name,
                path: g.path().unwrap_or("/").to_string(),
                created_at: chrono_of(g.create_date()).unwrap_or_default(),
                attached_policies: attached_arns(g.attached_managed_policies()),
                inline_policies: inline_names(g.group_policy_list()),
                ..Group::default()
            });
        }
        for r in page.role_detail_list() {
            let name = r.role_name().unwrap_or_default().to_string();
            for p in r.role_policy_list() {
                inv.inline_policies.push(inline(OwnerKind::Role, &name, p));
            }
            inv.roles.push(Role {
                id: r.role_id().unwrap_or_default().to_string(),
                arn: r.arn().unwrap_or_default().to_string(),
                name,
                path: r.path().unwrap_or("/").to_string(),
                created_at: chrono_of(r.create_date()).unwrap_or_default(),
                trust_policy: document(r.assume_role_policy_document()),
                last_used_at: r
                    .role_last_used()
                    .and_then(|l| chrono_of(l.last_used_date())),
                last_used_region: r
                    .role_last_used()
                    .and_then(|l| l.region().map(str::to_string)),
                attached_policies: attached_arns(r.attached_managed_policies()),
                inline_policies: inline_names(r.role_policy_list()),
                permissions_boundary: r
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn().map(str::to_string)),
                tags: tags(r.tags()),
                ..Role::default()
            });
        }
        for p in page.policies() {
            let arn = p.arn().unwrap_or_default().to_string();
            // Some endpoints omit PolicyName here: the ARN's last segment is the name.
            let name = p
                .policy_name()
                .map(str::to_string)
                .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default().to_string());
            inv.managed_policies.push(ManagedPolicy {
                id: arn.clone(),
                aws_managed: arn.starts_with("arn:aws:iam::aws:policy/"),
                arn,
                name,
                path: p.path().unwrap_or("/").to_string(),
                policy_id: p.policy_id().map(str::to_string),
                description: p.description().map(str::to_string),
                created_at: chrono_of(p.create_date()),
                updated_at: chrono_of(p.update_date()),
                default_version_id: p.default_version_id().unwrap_or_default().to_string(),
                versions: p
                    .policy_version_list()
                    .iter()
                    .map(|v| PolicyVersion {
                        version_id: v.version_id().unwrap_or_default().to_string(),
                        is_default: v.is_default_version(),
                        created_at: chrono_of(v.create_date()),
                        document: document(v.document()),
                    })
                    .collect(),
                ..ManagedPolicy::default()
            });
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => return Ok(()),
        }
    }
}

fn attached_arns(list: &[aws_sdk_iam::types::AttachedPolicy]) -> Vec<String> {
    list.iter()
        .filter_map(|a| a.policy_arn().map(str::to_string))
        .collect()
}

fn inline_names(list: &[aws_sdk_iam::types::PolicyDetail]) -> Vec<String> {
    list.iter()
        .filter_map(|p| p.policy_name().map(str::to_string))
        .collect()
}

fn inline(kind: OwnerKind, owner: &str, p: &aws_sdk_iam::types::PolicyDetail) -> InlinePolicy {
    let name = p.policy_name().unwrap_or_default().to_string();
    InlinePolicy {
        id: format!("{}/{owner}/{name}", kind.as_str()),
        owner_kind: kind,
        owner: owner.to_string(),
        name,
        document: document(p.policy_document()),
        ..InlinePolicy::default()
    }
}

async fn read_credential_report(
    client: &Client,
    counter: &Counter,
) -> Result<Vec<report::ReportRow>, LiveError> {
    use aws_sdk_iam::types::ReportStateType;
    let mut delay = Duration::from_millis(200);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        counter.hit("GenerateCredentialReport");
        let out = client
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| call_error("GenerateCredentialReport", e))?;
        if out.state() == Some(&ReportStateType::Complete) {
            break;
        }
        if Instant::now() > deadline {
            return Err(LiveError::Data(
                "the credential report was not ready after 120 s".into(),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    counter.hit("GetCredentialReport");
    let out = client
        .get_credential_report()
        .send()
        .await
        .map_err(|e| call_error("GetCredentialReport", e))?;
    let bytes = out
        .content()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    let text = String::from_utf8(bytes)
        .map_err(|_| LiveError::Data("the credential report is not UTF-8".into()))?;
    report::parse(&text).map_err(LiveError::Data)
}

async fn read_virtual_mfa(client: &Client, counter: &Counter) -> Result<Vec<MfaDevice>, LiveError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        counter.hit("ListVirtualMFADevices");
        let page = client
            .list_virtual_mfa_devices()
            .max_items(1000)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| call_error("ListVirtualMFADevices", e))?;
        for d in page.virtual_mfa_devices() {
            out.push(MfaDevice {
                id: d.serial_number().to_string(),
                user: d.user().map(|u| u.user_name().to_string()),
                r#virtual: true,
                enabled_at: chrono_of(d.enable_date()),
                ..MfaDevice::default()
            });
        }
        match (page.is_truncated(), page.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

/// Folds the credential report into users, login profiles and root.
fn apply_report(inv: &mut Inventory, rows: &[report::ReportRow]) {
    let by_user: HashMap<&str, &report::ReportRow> =
        rows.iter().map(|r| (r.user.as_str(), r)).collect();
    if let Some(root) = by_user.get("<root_account>") {
        inv.account.root = RootUser {
            mfa_enabled: root.mfa_active,
            access_keys_present: root.keys.iter().any(|k| k.active),
            password_last_used_at: root.password_last_used,
            access_key_last_used_at: root.keys.iter().filter_map(|k| k.last_used).max(),
        };
    } else {
        // Endpoints without a root row: the account summary has the two facts.
        let s = &inv.account.summary;
        inv.account.root.mfa_enabled = s.get("AccountMFAEnabled").copied().unwrap_or(0) > 0;
        inv.account.root.access_keys_present =
            s.get("AccountAccessKeysPresent").copied().unwrap_or(0) > 0;
    }
    for u in &mut inv.users {
        let Some(row) = by_user.get(u.name.as_str()) else {
            continue;
        };
        u.password_last_used_at = row.password_last_used;
        u.password_last_changed_at = row.password_last_changed;
        if row.password_enabled {
            // The report has no login-profile creation time or reset flag; the last password
            // change is the closest fact without a per-user GetLoginProfile call.
            inv.login_profiles.push(LoginProfile {
                id: u.name.clone(),
                user: u.name.clone(),
                user_arn: u.arn.clone(),
                created_at: row.password_last_changed.unwrap_or(u.created_at),
                ..LoginProfile::default()
            });
        }
    }
}

async fn read_keys(
    client: &Client,
    counter: &Counter,
    opts: &LiveOptions,
    inv: &mut Inventory,
    rows: &[report::ReportRow],
) -> Result<(), LiveError> {
    let holders: Vec<&report::ReportRow> = rows
        .iter()
        .filter(|r| r.user != "<root_account>" && r.has_keys())
        .collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, row) in holders.iter().enumerate() {
        let client = client.clone();
        let counter = counter.clone();
        let sem = sem.clone();
        let user = row.user.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let mut keys = Vec::new();
            let mut marker: Option<String> = None;
            loop {
                counter.hit("ListAccessKeys");
                let page = client
                    .list_access_keys()
                    .user_name(&user)
                    .set_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| call_error("ListAccessKeys", e))?;
                keys.extend(page.access_key_metadata().iter().cloned());
                match (page.is_truncated(), page.marker()) {
                    (true, Some(m)) => marker = Some(m.to_string()),
                    _ => break,
                }
            }
            Ok::<_, LiveError>((i, user, keys))
        });
    }
    let mut results = Vec::new();
    let total = holders.len();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => results.push(r?),
            Err(e) => {
                return Err(LiveError::Data(format!(
                    "a ListAccessKeys task failed: {e}"
                )))
            }
        }
        if let Some(p) = &opts.progress {
            (p.0)("ListAccessKeys", results.len(), total);
        }
    }
    results.sort_by_key(|(i, _, _)| *i);
    for (i, user, keys) in results {
        let Some(row) = holders.get(i) else { continue };
        let listed: Vec<(String, DateTime<Utc>)> = keys
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap_or_default().to_string(),
                    chrono_of(k.create_date()).unwrap_or_default(),
                )
            })
            .collect();
        let slots = report::match_key_slots(row, &listed);
        for (k, slot) in keys.iter().zip(slots) {
            inv.access_keys.push(AccessKey {
                id: k.access_key_id().unwrap_or_default().to_string(),
                user: user.clone(),
                status: key_status(k.status()),
                created_at: chrono_of(k.create_date()).unwrap_or_default(),
                last_used_at: slot.and_then(|s| s.last_used),
                last_used_service: slot.and_then(|s| s.last_used_service.clone()),
                last_used_region: slot.and_then(|s| s.last_used_region.clone()),
                ..AccessKey::default()
            });
        }
    }
    Ok(())
}

async fn read_mfa(
    client: &Client,
    counter: &Counter,
    opts: &LiveOptions,
    inv: &mut Inventory,
    rows: &[report::ReportRow],
    virtual_devices: Vec<MfaDevice>,
) -> Result<(), LiveError> {
    let explained: std::collections::HashSet<String> = virtual_devices
        .iter()
        .filter_map(|d| d.user.clone())
        .collect();
    inv.mfa_devices = virtual_devices;
    let need: Vec<String> = rows
        .iter()
        .filter(|r| r.user != "<root_account>" && r.mfa_active && !explained.contains(&r.user))
        .map(|r| r.user.clone())
        .collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for user in need {
        let client = client.clone();
        let counter = counter.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            counter.hit("ListMFADevices");
            let out = client
                .list_mfa_devices()
                .user_name(&user)
                .send()
                .await
                .map_err(|e| call_error("ListMFADevices", e))?;
            Ok::<_, LiveError>(
                out.mfa_devices()
                    .iter()
                    .map(|d| mfa_device_of(d, &user))
                    .collect::<Vec<_>>(),
            )
        });
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(r) => inv.mfa_devices.extend(r?),
            Err(e) => {
                return Err(LiveError::Data(format!(
                    "a ListMFADevices task failed: {e}"
                )))
            }
        }
    }
    Ok(())
}
