//! An in-memory [`Iam`] for unit tests: it holds users (keys, password, MFA, groups,
//! attachments, inline policies, tags, boundary, other credentials), groups, roles, managed
//! policies with their versions, virtual MFA devices and the password policy; it applies
//! every [`IamCall`] to that state with IAM's own refusals (`NoSuchEntity`, `DeleteConflict`,
//! `LimitExceeded`), records the calls it got, and can be told to answer a call with a
//! refusal, throttling, "not sent", or no answer (applied or not, by choice).

use super::*;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

/// A user and everything it holds.
#[derive(Debug, Clone, Default)]
pub struct FakeUser {
    /// The user id.
    pub id: String,
    /// Access keys: (id, status).
    pub keys: Vec<KeyStatus>,
    /// The login profile.
    pub login_profile: Option<LoginProfileInfo>,
    /// The last console sign-in.
    pub password_last_used: Option<DateTime<Utc>>,
    /// Enabled MFA devices.
    pub mfa: Vec<MfaDeviceInfo>,
    /// Group names.
    pub groups: Vec<String>,
    /// Attached managed policy ARNs.
    pub attached: Vec<String>,
    /// Inline policies by name.
    pub inline: BTreeMap<String, Value>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The permissions boundary.
    pub boundary: Option<String>,
    /// Signing certificate ids.
    pub certificates: Vec<String>,
    /// SSH public key ids.
    pub ssh_keys: Vec<String>,
    /// Service-specific credential ids.
    pub service_credentials: Vec<String>,
}

/// A group or role.
#[derive(Debug, Clone, Default)]
pub struct FakeEntity {
    /// The id.
    pub id: String,
    /// The path (empty reads as `/`).
    pub path: String,
    /// Attached managed policy ARNs.
    pub attached: Vec<String>,
    /// Inline policies by name.
    pub inline: BTreeMap<String, Value>,
    /// Tags (roles).
    pub tags: BTreeMap<String, String>,
}

/// A managed policy.
#[derive(Debug, Clone, Default)]
pub struct FakePolicy {
    /// The policy id.
    pub id: String,
    /// Versions, oldest first: (id, document, is default).
    pub versions: Vec<(String, Value, bool)>,
    /// The number the next version gets.
    pub next_version: u32,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl FakePolicy {
    /// A policy with one default version `v1` holding `document`.
    pub fn with_document(id: &str, document: Value) -> FakePolicy {
        FakePolicy {
            id: id.to_string(),
            versions: vec![("v1".into(), document, true)],
            next_version: 2,
            tags: BTreeMap::new(),
        }
    }
}

/// The whole account.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// Users by name.
    pub users: BTreeMap<String, FakeUser>,
    /// Groups by name.
    pub groups: BTreeMap<String, FakeEntity>,
    /// Roles by name.
    pub roles: BTreeMap<String, FakeEntity>,
    /// Managed policies by ARN.
    pub policies: BTreeMap<String, FakePolicy>,
    /// Virtual MFA device serials.
    pub virtual_mfa: BTreeSet<String>,
    /// Access key last use.
    pub key_last_used: BTreeMap<String, DateTime<Utc>>,
    /// The account password policy.
    pub password_policy: Option<PasswordPolicy>,
    /// Secrets Manager secrets by name.
    pub secrets: BTreeMap<String, FakeSecret>,
    /// The number the next created access key gets (`AKIAFAKE<n>`).
    pub next_key: u32,
}

/// A Secrets Manager secret.
#[derive(Debug, Clone, Default)]
pub struct FakeSecret {
    /// The ARN.
    pub arn: String,
    /// Versions, oldest first: (id, value).
    pub versions: Vec<(String, String)>,
    /// The version holding `AWSCURRENT`.
    pub current: Option<String>,
    /// The version holding `AWSPREVIOUS`.
    pub previous: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The KMS key.
    pub kms_key_id: Option<String>,
}

impl FakeSecret {
    /// The current value.
    pub fn current_value(&self) -> Option<&str> {
        let cur = self.current.as_deref()?;
        self.versions
            .iter()
            .find(|(v, _)| v == cur)
            .map(|(_, s)| s.as_str())
    }
}

/// How the fake answers a call it was told about.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An error response with this code (nothing applied).
    Refused(&'static str),
    /// `Throttling`: an answer that proves nothing was changed.
    Throttled,
    /// The request never left.
    NotSent,
    /// No answer; the call was applied or not.
    Unknown {
        /// Whether the state changed anyway.
        applied: bool,
    },
}

#[derive(Debug)]
struct Rule {
    call: String,
    answer: Answer,
    times: usize,
}

#[derive(Debug, Default)]
struct Inner {
    state: State,
    rules: Vec<Rule>,
    calls: Vec<IamCall>,
    /// The waits asked for (backoff, settle): the fake does not wait, it adds them up.
    slept: std::time::Duration,
}

/// The in-memory IAM (clones share the state).
#[derive(Debug, Clone, Default)]
pub struct FakeIam {
    inner: Arc<Mutex<Inner>>,
}

type Applied = Result<CallOk, (&'static str, String)>;

fn no_such(what: impl std::fmt::Display) -> (&'static str, String) {
    ("NoSuchEntity", format!("{what} not found"))
}

fn conflict(what: impl std::fmt::Display) -> (&'static str, String) {
    ("DeleteConflict", format!("{what}"))
}

impl FakeIam {
    /// The total of the waits asked for so far.
    pub fn slept(&self) -> std::time::Duration {
        self.lock().slept
    }

    /// A fake holding `state`.
    pub fn new(state: State) -> FakeIam {
        FakeIam {
            inner: Arc::new(Mutex::new(Inner {
                state,
                ..Inner::default()
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Answers the next `times` calls named `call` (IAM's name) with `answer`.
    pub fn answer(&self, call: &str, answer: Answer, times: usize) {
        self.lock().rules.push(Rule {
            call: call.to_string(),
            answer,
            times,
        });
    }

    /// Every call received, in order (answered or not).
    pub fn calls(&self) -> Vec<IamCall> {
        self.lock().calls.clone()
    }

    /// The names of the calls received, in order.
    pub fn call_names(&self) -> Vec<&'static str> {
        self.lock().calls.iter().map(IamCall::name).collect()
    }

    /// A copy of the state.
    pub fn state(&self) -> State {
        self.lock().state.clone()
    }

    /// Changes the state (someone else acting on the account).
    pub fn edit(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock().state);
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Read<T> {
        Ok(f(&self.lock().state))
    }
}

fn entity<'a>(
    s: &'a mut State,
    kind: &str,
    name: &str,
) -> Result<EntityMut<'a>, (&'static str, String)> {
    match kind {
        "user" => s
            .users
            .get_mut(name)
            .map(|u| EntityMut {
                attached: &mut u.attached,
                inline: &mut u.inline,
                tags: &mut u.tags,
            })
            .ok_or_else(|| no_such(format!("user {name}"))),
        "group" => s
            .groups
            .get_mut(name)
            .map(|g| EntityMut {
                attached: &mut g.attached,
                inline: &mut g.inline,
                tags: &mut g.tags,
            })
            .ok_or_else(|| no_such(format!("group {name}"))),
        _ => s
            .roles
            .get_mut(name)
            .map(|r| EntityMut {
                attached: &mut r.attached,
                inline: &mut r.inline,
                tags: &mut r.tags,
            })
            .ok_or_else(|| no_such(format!("role {name}"))),
    }
}

struct EntityMut<'a> {
    attached: &'a mut Vec<String>,
    inline: &'a mut BTreeMap<String, Value>,
    tags: &'a mut BTreeMap<String, String>,
}

fn user<'a>(s: &'a mut State, name: &str) -> Result<&'a mut FakeUser, (&'static str, String)> {
    s.users
        .get_mut(name)
        .ok_or_else(|| no_such(format!("user {name}")))
}

fn policy<'a>(s: &'a mut State, arn: &str) -> Result<&'a mut FakePolicy, (&'static str, String)> {
    s.policies
        .get_mut(arn)
        .ok_or_else(|| no_such(format!("policy {arn}")))
}

fn tags_of<'a>(
    s: &'a mut State,
    kind: &str,
    name: &str,
) -> Result<&'a mut BTreeMap<String, String>, (&'static str, String)> {
    match kind {
        "user" | "role" => entity(s, kind, name).map(|e| e.tags),
        _ => policy(s, name).map(|p| &mut p.tags),
    }
}

fn remove_item(
    list: &mut Vec<String>,
    item: &str,
    what: &str,
) -> Result<(), (&'static str, String)> {
    let before = list.len();
    list.retain(|x| x != item);
    if list.len() == before {
        return Err(no_such(format!("{what} {item}")));
    }
    Ok(())
}

fn attach_to(s: &mut State, kind: &str, name: &str, arn: &str) -> Applied {
    policy(s, arn)?;
    let e = entity(s, kind, name)?;
    if !e.attached.iter().any(|a| a == arn) {
        e.attached.push(arn.to_string());
    }
    Ok(CallOk::Empty)
}

fn detach_from(s: &mut State, kind: &str, name: &str, arn: &str) -> Applied {
    let e = entity(s, kind, name)?;
    remove_item(e.attached, arn, "attached policy")?;
    Ok(CallOk::Empty)
}

fn put_inline(s: &mut State, kind: &str, name: &str, policy_name: &str, doc: &Value) -> Applied {
    let e = entity(s, kind, name)?;
    e.inline.insert(policy_name.to_string(), doc.clone());
    Ok(CallOk::Empty)
}

fn delete_inline(s: &mut State, kind: &str, name: &str, policy_name: &str) -> Applied {
    let e = entity(s, kind, name)?;
    e.inline
        .remove(policy_name)
        .map(|_| CallOk::Empty)
        .ok_or_else(|| no_such(format!("inline policy {policy_name}")))
}

fn tag(s: &mut State, kind: &str, name: &str, tags: &BTreeMap<String, String>) -> Applied {
    let t = tags_of(s, kind, name)?;
    t.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(CallOk::Empty)
}

fn untag(s: &mut State, kind: &str, name: &str, keys: &[String]) -> Applied {
    let t = tags_of(s, kind, name)?;
    for k in keys {
        t.remove(k);
    }
    Ok(CallOk::Empty)
}

fn secret<'a>(s: &'a mut State, id: &str) -> Result<&'a mut FakeSecret, (&'static str, String)> {
    let name = s
        .secrets
        .iter()
        .find(|(n, x)| *n == id || x.arn == id)
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    s.secrets.get_mut(&name).ok_or((
        "ResourceNotFoundException",
        format!("secret {id} not found"),
    ))
}

fn new_version(x: &mut FakeSecret, value: &str) -> CallOk {
    let id = format!("ver-{}", x.versions.len() + 1);
    x.versions.push((id.clone(), value.to_string()));
    x.previous = x.current.replace(id.clone());
    CallOk::SecretWritten {
        arn: x.arn.clone(),
        version_id: id,
    }
}

fn attached_anywhere(s: &State, arn: &str) -> bool {
    s.users
        .values()
        .any(|u| u.attached.iter().any(|a| a == arn))
        || s.groups
            .values()
            .any(|g| g.attached.iter().any(|a| a == arn))
        || s.roles
            .values()
            .any(|r| r.attached.iter().any(|a| a == arn))
}

/// Applies a call to the state as IAM would.
fn apply(s: &mut State, call: &IamCall) -> Applied {
    use IamCall as C;
    match call {
        C::UpdateAccessKey {
            user: u,
            key,
            status,
        } => {
            let k = user(s, u)?
                .keys
                .iter_mut()
                .find(|(id, _)| id == key)
                .ok_or_else(|| no_such(format!("access key {key}")))?;
            k.1 = status.clone();
        }
        C::DeleteAccessKey { user: u, key } => {
            let keys = &mut user(s, u)?.keys;
            let n = keys.len();
            keys.retain(|(id, _)| id != key);
            if keys.len() == n {
                return Err(no_such(format!("access key {key}")));
            }
        }
        C::UpdateLoginProfile {
            user: u,
            reset_required,
        } => {
            let lp = user(s, u)?
                .login_profile
                .as_mut()
                .ok_or_else(|| no_such(format!("login profile of {u}")))?;
            lp.1 = *reset_required;
        }
        C::DeleteLoginProfile { user: u } => {
            user(s, u)?
                .login_profile
                .take()
                .ok_or_else(|| no_such(format!("login profile of {u}")))?;
        }
        C::DeactivateMfaDevice { user: u, serial } => {
            let mfa = &mut user(s, u)?.mfa;
            let n = mfa.len();
            mfa.retain(|(d, _)| d != serial);
            if mfa.len() == n {
                return Err(no_such(format!("MFA device {serial}")));
            }
        }
        C::DeleteVirtualMfaDevice { serial } => {
            if s.users
                .values()
                .any(|u| u.mfa.iter().any(|(d, _)| d == serial))
            {
                return Err(conflict("the device is still enabled for a user"));
            }
            if !s.virtual_mfa.remove(serial) {
                return Err(no_such(format!("virtual MFA device {serial}")));
            }
        }
        C::DetachUserPolicy { user, policy_arn } => {
            return detach_from(s, "user", user, policy_arn)
        }
        C::DetachGroupPolicy { group, policy_arn } => {
            return detach_from(s, "group", group, policy_arn)
        }
        C::DetachRolePolicy { role, policy_arn } => {
            return detach_from(s, "role", role, policy_arn)
        }
        C::AttachUserPolicy { user, policy_arn } => return attach_to(s, "user", user, policy_arn),
        C::AttachGroupPolicy { group, policy_arn } => {
            return attach_to(s, "group", group, policy_arn)
        }
        C::AttachRolePolicy { role, policy_arn } => return attach_to(s, "role", role, policy_arn),
        C::DeleteUserPolicy { user, policy_name } => {
            return delete_inline(s, "user", user, policy_name)
        }
        C::DeleteGroupPolicy { group, policy_name } => {
            return delete_inline(s, "group", group, policy_name)
        }
        C::DeleteRolePolicy { role, policy_name } => {
            return delete_inline(s, "role", role, policy_name)
        }
        C::PutUserPolicy {
            user,
            policy_name,
            document,
        } => return put_inline(s, "user", user, policy_name, document),
        C::PutGroupPolicy {
            group,
            policy_name,
            document,
        } => return put_inline(s, "group", group, policy_name, document),
        C::PutRolePolicy {
            role,
            policy_name,
            document,
        } => return put_inline(s, "role", role, policy_name, document),
        C::RemoveUserFromGroup { user: u, group } => {
            if !s.groups.contains_key(group) {
                return Err(no_such(format!("group {group}")));
            }
            remove_item(&mut user(s, u)?.groups, group, "group membership")?;
        }
        C::AddUserToGroup { user: u, group } => {
            if !s.groups.contains_key(group) {
                return Err(no_such(format!("group {group}")));
            }
            let gs = &mut user(s, u)?.groups;
            if !gs.contains(group) {
                gs.push(group.clone());
            }
        }
        C::CreatePolicyVersion {
            policy_arn,
            set_as_default,
            document,
        } => {
            let p = policy(s, policy_arn)?;
            if p.versions.len() >= 5 {
                return Err(("LimitExceeded", "a policy has at most five versions".into()));
            }
            let id = format!("v{}", p.next_version);
            p.next_version += 1;
            if *set_as_default {
                for v in &mut p.versions {
                    v.2 = false;
                }
            }
            p.versions
                .push((id.clone(), document.clone(), *set_as_default));
            return Ok(CallOk::CreatedVersion(id));
        }
        C::DeletePolicyVersion {
            policy_arn,
            version_id,
        } => {
            let p = policy(s, policy_arn)?;
            let i = p
                .versions
                .iter()
                .position(|(v, _, _)| v == version_id)
                .ok_or_else(|| no_such(format!("version {version_id}")))?;
            if p.versions.get(i).is_some_and(|v| v.2) {
                return Err(conflict("cannot delete the default version"));
            }
            p.versions.remove(i);
        }
        C::SetDefaultPolicyVersion {
            policy_arn,
            version_id,
        } => {
            let p = policy(s, policy_arn)?;
            if !p.versions.iter().any(|(v, _, _)| v == version_id) {
                return Err(no_such(format!("version {version_id}")));
            }
            for v in &mut p.versions {
                v.2 = v.0 == *version_id;
            }
        }
        C::DeletePolicy { policy_arn } => {
            if attached_anywhere(s, policy_arn) {
                return Err(conflict("the policy is still attached"));
            }
            if policy(s, policy_arn)?.versions.len() > 1 {
                return Err(conflict("the policy has non-default versions"));
            }
            s.policies.remove(policy_arn);
        }
        C::UpdateAccountPasswordPolicy { settings } => {
            s.password_policy = Some(settings.clone());
        }
        C::DeleteAccountPasswordPolicy {} => {
            s.password_policy
                .take()
                .ok_or_else(|| no_such("the password policy"))?;
        }
        C::TagUser { user, tags } => return tag(s, "user", user, tags),
        C::TagRole { role, tags } => return tag(s, "role", role, tags),
        C::TagPolicy { policy_arn, tags } => return tag(s, "managed_policy", policy_arn, tags),
        C::UntagUser { user, keys } => return untag(s, "user", user, keys),
        C::UntagRole { role, keys } => return untag(s, "role", role, keys),
        C::UntagPolicy { policy_arn, keys } => return untag(s, "managed_policy", policy_arn, keys),
        C::DeleteSigningCertificate {
            user: u,
            certificate_id,
        } => remove_item(&mut user(s, u)?.certificates, certificate_id, "certificate")?,
        C::DeleteSshPublicKey { user: u, key_id } => {
            remove_item(&mut user(s, u)?.ssh_keys, key_id, "SSH key")?
        }
        C::DeleteServiceSpecificCredential {
            user: u,
            credential_id,
        } => remove_item(
            &mut user(s, u)?.service_credentials,
            credential_id,
            "credential",
        )?,
        C::DeleteUserPermissionsBoundary { user: u } => {
            user(s, u)?.boundary = None;
        }
        C::CreateAccessKey { user: u } => {
            s.next_key += 1;
            let n = s.next_key;
            let keys = &mut user(s, u)?.keys;
            if keys.len() >= 2 {
                return Err(("LimitExceeded", "a user has at most two access keys".into()));
            }
            let id = format!("AKIAFAKE{n:04}");
            keys.push((id.clone(), "Active".into()));
            return Ok(CallOk::CreatedKey {
                id,
                secret: Secret::new(format!("fake-secret-{n:04}-do-not-print")),
            });
        }
        C::CreateSecret {
            name,
            secret_string,
            kms_key_id,
            tags,
        } => {
            if s.secrets.contains_key(name) {
                return Err(("ResourceExistsException", format!("secret {name} exists")));
            }
            let mut x = FakeSecret {
                arn: format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf"),
                tags: tags.clone(),
                kms_key_id: kms_key_id.clone(),
                ..FakeSecret::default()
            };
            let ok = new_version(&mut x, secret_string.expose());
            s.secrets.insert(name.clone(), x);
            return Ok(ok);
        }
        C::PutSecretValue {
            secret_id,
            secret_string,
        } => return Ok(new_version(secret(s, secret_id)?, secret_string.expose())),
        C::TagSecret { secret_id, tags } => {
            secret(s, secret_id)?.tags.extend(tags.clone());
        }
        C::UpdateSecretVersionStage {
            secret_id,
            move_to,
            remove_from,
        } => {
            let x = secret(s, secret_id)?;
            if x.current.as_deref() != Some(remove_from.as_str()) {
                return Err((
                    "InvalidParameterException",
                    format!("{remove_from} is not the current version"),
                ));
            }
            if !x.versions.iter().any(|(v, _)| v == move_to) {
                return Err(("ResourceNotFoundException", format!("no version {move_to}")));
            }
            x.previous = x.current.replace(move_to.clone());
        }
        C::DeleteSecret { secret_id } => {
            let arn = secret(s, secret_id)?.arn.clone();
            s.secrets.retain(|_, x| x.arn != arn);
        }
        C::DeleteUser { user: u } => {
            let x = user(s, u)?;
            let holds = [
                (!x.keys.is_empty(), "access keys"),
                (x.login_profile.is_some(), "a login profile"),
                (!x.mfa.is_empty(), "MFA devices"),
                (!x.groups.is_empty(), "group memberships"),
                (!x.attached.is_empty(), "attached policies"),
                (!x.inline.is_empty(), "inline policies"),
                (!x.certificates.is_empty(), "signing certificates"),
                (!x.ssh_keys.is_empty(), "SSH keys"),
                (
                    !x.service_credentials.is_empty(),
                    "service-specific credentials",
                ),
            ];
            if let Some((_, what)) = holds.iter().find(|(has, _)| *has) {
                return Err(conflict(format!("user {u} still has {what}")));
            }
            s.users.remove(u);
        }
    }
    Ok(CallOk::Empty)
}

impl Iam for FakeIam {
    async fn sleep(&self, d: std::time::Duration) {
        self.lock().slept += d;
    }

    async fn send(&self, call: &IamCall) -> CallOutcome<CallOk> {
        let mut inner = self.lock();
        inner.calls.push(call.clone());
        let rule = inner
            .rules
            .iter_mut()
            .find(|r| r.call == call.name() && r.times > 0);
        let answer = rule.map(|r| {
            r.times -= 1;
            r.answer.clone()
        });
        let refused = |code: &str, message: String, retryable: bool| CallOutcome::Refused {
            code: Some(code.to_string()),
            message,
            status: if code == "NoSuchEntity" { 404 } else { 400 },
            retryable,
        };
        match answer {
            Some(Answer::Refused(code)) => refused(code, "refused (fake)".into(), false),
            Some(Answer::Throttled) => refused("Throttling", "rate exceeded".into(), true),
            Some(Answer::NotSent) => CallOutcome::NotSent {
                message: "connection refused (fake)".into(),
            },
            Some(Answer::Unknown { applied }) => {
                if applied {
                    let _ = apply(&mut inner.state, call);
                }
                CallOutcome::Unknown {
                    message: "no answer within the timeout (fake)".into(),
                }
            }
            None => match apply(&mut inner.state, call) {
                Ok(ok) => CallOutcome::Done(ok),
                Err((code, message)) => refused(code, message, false),
            },
        }
    }

    async fn access_keys(&self, user: &str) -> Read<Option<Vec<KeyStatus>>> {
        self.read(|s| s.users.get(user).map(|u| u.keys.clone()))
    }

    async fn key_last_used(&self, key: &str) -> Read<Option<DateTime<Utc>>> {
        self.read(|s| s.key_last_used.get(key).copied())
    }

    async fn login_profile(&self, user: &str) -> Read<Option<LoginProfileInfo>> {
        self.read(|s| s.users.get(user).and_then(|u| u.login_profile))
    }

    async fn mfa_devices(&self, user: &str) -> Read<Option<Vec<MfaDeviceInfo>>> {
        self.read(|s| s.users.get(user).map(|u| u.mfa.clone()))
    }

    async fn virtual_mfa_exists(&self, serial: &str) -> Read<bool> {
        self.read(|s| s.virtual_mfa.contains(serial))
    }

    async fn user(&self, name: &str) -> Read<Option<UserInfo>> {
        self.read(|s| {
            s.users.get(name).map(|u| UserInfo {
                id: u.id.clone(),
                boundary: u.boundary.clone(),
                password_last_used: u.password_last_used,
            })
        })
    }

    async fn group_id(&self, name: &str) -> Read<Option<String>> {
        self.read(|s| s.groups.get(name).map(|g| g.id.clone()))
    }

    async fn role_id(&self, name: &str) -> Read<Option<String>> {
        self.read(|s| s.roles.get(name).map(|r| r.id.clone()))
    }

    async fn role_path(&self, name: &str) -> Read<Option<String>> {
        self.read(|s| {
            s.roles.get(name).map(|r| match r.path.as_str() {
                "" => "/".to_string(),
                p => p.to_string(),
            })
        })
    }

    async fn attached(&self, kind: &str, name: &str) -> Read<Option<Vec<String>>> {
        self.read(|s| match kind {
            "user" => s.users.get(name).map(|u| u.attached.clone()),
            "group" => s.groups.get(name).map(|g| g.attached.clone()),
            _ => s.roles.get(name).map(|r| r.attached.clone()),
        })
    }

    async fn inline(&self, kind: &str, owner: &str, name: &str) -> Read<Option<Value>> {
        self.read(|s| {
            let map = match kind {
                "user" => s.users.get(owner).map(|u| &u.inline),
                "group" => s.groups.get(owner).map(|g| &g.inline),
                _ => s.roles.get(owner).map(|r| &r.inline),
            };
            map.and_then(|m| m.get(name).cloned())
        })
    }

    async fn inline_names(&self, user: &str) -> Read<Vec<String>> {
        self.read(|s| {
            s.users
                .get(user)
                .map(|u| u.inline.keys().cloned().collect())
                .unwrap_or_default()
        })
    }

    async fn groups_of(&self, user: &str) -> Read<Option<Vec<String>>> {
        self.read(|s| s.users.get(user).map(|u| u.groups.clone()))
    }

    async fn policy_id(&self, arn: &str) -> Read<Option<String>> {
        self.read(|s| s.policies.get(arn).map(|p| p.id.clone()))
    }

    async fn policy_default(&self, arn: &str) -> Read<Option<String>> {
        self.read(|s| {
            s.policies.get(arn).map(|p| {
                p.versions
                    .iter()
                    .find(|v| v.2)
                    .map(|v| v.0.clone())
                    .unwrap_or_default()
            })
        })
    }

    async fn policy_document(&self, arn: &str, version: &str) -> Read<Value> {
        let doc = self.read(|s| {
            s.policies
                .get(arn)
                .and_then(|p| p.versions.iter().find(|v| v.0 == version))
                .map(|v| v.1.clone())
        })?;
        doc.ok_or_else(|| ReadError {
            call: "GetPolicyVersion",
            code: Some("NoSuchEntity".into()),
            message: format!("version {version} of {arn} not found"),
        })
    }

    async fn policy_versions(&self, arn: &str) -> Read<Vec<VersionInfo>> {
        self.read(|s| {
            s.policies
                .get(arn)
                .map(|p| {
                    p.versions
                        .iter()
                        .map(|(id, _, d)| (id.clone(), *d, None))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    async fn entities(&self, arn: &str) -> Read<Attachments> {
        self.read(|s| {
            let has = |a: &Vec<String>| a.iter().any(|x| x == arn);
            Attachments {
                users: s
                    .users
                    .iter()
                    .filter(|(_, u)| has(&u.attached))
                    .map(|(n, _)| n.clone())
                    .collect(),
                groups: s
                    .groups
                    .iter()
                    .filter(|(_, g)| has(&g.attached))
                    .map(|(n, _)| n.clone())
                    .collect(),
                roles: s
                    .roles
                    .iter()
                    .filter(|(_, r)| has(&r.attached))
                    .map(|(n, _)| n.clone())
                    .collect(),
            }
        })
    }

    async fn password_policy(&self) -> Read<Option<PasswordPolicy>> {
        self.read(|s| s.password_policy.clone())
    }

    async fn tags(&self, kind: &str, name: &str) -> Read<Option<BTreeMap<String, String>>> {
        self.read(|s| match kind {
            "user" => s.users.get(name).map(|u| u.tags.clone()),
            "role" => s.roles.get(name).map(|r| r.tags.clone()),
            _ => s.policies.get(name).map(|p| p.tags.clone()),
        })
    }

    async fn signing_certificates(&self, user: &str) -> Read<Vec<String>> {
        self.read(|s| {
            s.users
                .get(user)
                .map(|u| u.certificates.clone())
                .unwrap_or_default()
        })
    }

    async fn ssh_public_keys(&self, user: &str) -> Read<Vec<String>> {
        self.read(|s| {
            s.users
                .get(user)
                .map(|u| u.ssh_keys.clone())
                .unwrap_or_default()
        })
    }

    async fn service_specific_credentials(&self, user: &str) -> Read<Vec<String>> {
        self.read(|s| {
            s.users
                .get(user)
                .map(|u| u.service_credentials.clone())
                .unwrap_or_default()
        })
    }

    async fn secret(&self, id: &str) -> Read<Option<SecretInfo>> {
        self.read(|s| {
            s.secrets
                .iter()
                .find(|(n, x)| *n == id || x.arn == id)
                .map(|(_, x)| SecretInfo {
                    arn: x.arn.clone(),
                    current_version: x.current.clone(),
                    previous_version: x.previous.clone(),
                    versions: x.versions.iter().map(|(v, _)| v.clone()).collect(),
                    tags: x.tags.clone(),
                    deleted: false,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(f))
            .unwrap()
    }

    #[test]
    fn the_fake_refuses_what_iam_refuses() {
        let mut s = State::default();
        s.users.insert(
            "bob".into(),
            FakeUser {
                id: "AIDABOB".into(),
                keys: vec![("AKIA1".into(), "Active".into())],
                ..FakeUser::default()
            },
        );
        let fake = FakeIam::new(s);
        let del = IamCall::DeleteUser { user: "bob".into() };
        match block(fake.send(&del)) {
            CallOutcome::Refused { code, message, .. } => {
                assert_eq!(code.as_deref(), Some("DeleteConflict"));
                assert!(message.contains("access keys"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let key = IamCall::DeleteAccessKey {
            user: "bob".into(),
            key: "AKIA1".into(),
        };
        assert_eq!(block(fake.send(&key)), CallOutcome::Done(CallOk::Empty));
        assert!(matches!(
            block(fake.send(&key)),
            CallOutcome::Refused { code: Some(c), .. } if c == "NoSuchEntity"
        ));
        assert_eq!(block(fake.send(&del)), CallOutcome::Done(CallOk::Empty));
        assert!(fake.state().users.is_empty());
        assert_eq!(
            fake.call_names(),
            [
                "DeleteUser",
                "DeleteAccessKey",
                "DeleteAccessKey",
                "DeleteUser"
            ]
        );
    }

    #[test]
    fn scripted_answers_apply_or_not_as_told_then_run_out() {
        let mut s = State::default();
        s.policies.insert(
            "arn:p".into(),
            FakePolicy::with_document("ANPA", json!({"v": 1})),
        );
        let fake = FakeIam::new(s);
        let create = IamCall::CreatePolicyVersion {
            policy_arn: "arn:p".into(),
            set_as_default: true,
            document: json!({"v": 2}),
        };
        fake.answer("CreatePolicyVersion", Answer::Unknown { applied: true }, 1);
        fake.answer("CreatePolicyVersion", Answer::Unknown { applied: false }, 1);
        assert!(matches!(
            block(fake.send(&create)),
            CallOutcome::Unknown { .. }
        ));
        assert_eq!(fake.state().policies["arn:p"].versions.len(), 2);
        assert!(matches!(
            block(fake.send(&create)),
            CallOutcome::Unknown { .. }
        ));
        assert_eq!(fake.state().policies["arn:p"].versions.len(), 2);
        assert_eq!(
            block(fake.send(&create)),
            CallOutcome::Done(CallOk::CreatedVersion("v3".into()))
        );
        let p = &fake.state().policies["arn:p"];
        assert_eq!(p.versions.iter().filter(|v| v.2).count(), 1);
        assert_eq!(
            block(fake.policy_default("arn:p")).unwrap().as_deref(),
            Some("v3")
        );
    }
}
