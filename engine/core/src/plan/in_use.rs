//! The in-use guard: a step that stops a credential working (see
//! [`StepName::disables_credential`]) is not planned while that credential was used within the
//! rule's window, unless the rule says `allow_in_use: true`.
//!
//! Which credentials count: for a key step the key itself; for `delete_login_profile` the
//! console password; for `quarantine_user` and `delete_user` every *active* key of the user and
//! the password (an inactive key signs nothing, so its past use does not make the user busy).
//! A credential that was never used is not in use. "Within the window" means its last use is
//! less than the window before the evaluation clock (a use exactly one window ago is not).
//!
//! Pure: reads the normalized inventory, never AWS. The apply-time re-check lives in
//! `steps::live` (shared by every step that disables a credential).

use crate::inventory::{Inventory, KeyStatus, ResourceKind};
use crate::spec::StepName;
use crate::steps::Disables;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// The most recent use of a credential a step would disable.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// What was used: `access key AKIA...`, `password`, or `` for the acted-on key itself.
    pub credential: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Use {
    /// `last used 2026-11-30, 1 day ago` (prefixed with the credential when it is not the
    /// acted-on key: `password last used ...`).
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let days = (now - self.at).num_days();
        let ago = match days {
            i64::MIN..=0 => "today".to_string(),
            1 => "1 day ago".to_string(),
            n => format!("{n} days ago"),
        };
        let what = if self.credential.is_empty() {
            String::new()
        } else {
            format!("{} ", self.credential)
        };
        format!("{what}last used {}, {ago}", self.at.format("%Y-%m-%d"))
    }
}

/// Lookups the guard needs: a user's keys and login profile by user name.
#[derive(Debug, Default)]
pub struct CredentialIndex<'a> {
    keys_of: HashMap<&'a str, Vec<usize>>,
    users: HashMap<&'a str, usize>,
}

impl<'a> CredentialIndex<'a> {
    /// Indexes `inv`.
    pub fn new(inv: &'a Inventory) -> CredentialIndex<'a> {
        let mut keys_of: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, k) in inv.access_keys.iter().enumerate() {
            keys_of.entry(k.user.as_str()).or_default().push(i);
        }
        CredentialIndex {
            keys_of,
            users: inv
                .users
                .iter()
                .enumerate()
                .map(|(i, u)| (u.name.as_str(), i))
                .collect(),
        }
    }

    /// The most recent use, at or after `since`, of the credentials `step` would disable on the
    /// resource `(kind, index)`; `None` when none was used since then (or the step disables no
    /// credential).
    pub fn recent_use(
        &self,
        inv: &Inventory,
        step: StepName,
        kind: ResourceKind,
        index: usize,
        since: DateTime<Utc>,
    ) -> Option<Use> {
        let recent = |t: Option<DateTime<Utc>>| t.filter(|t| *t > since);
        match step.disables_credential()? {
            Disables::AccessKey => {
                let k = inv
                    .access_keys
                    .get(index)
                    .filter(|_| kind == ResourceKind::AccessKey)?;
                // An inactive key signs nothing: deleting it stops nothing that works.
                if k.status != KeyStatus::Active {
                    return None;
                }
                recent(k.last_used_at).map(|at| Use {
                    credential: String::new(),
                    at,
                })
            }
            Disables::RotatedKey => {
                let k = inv
                    .access_keys
                    .get(index)
                    .filter(|_| kind == ResourceKind::AccessKey)?;
                // Phase one only adds a key: nothing stops working.
                if crate::steps::rotate::recorded(|t| k.user_tags.get(t)).map(|r| r.old)
                    != Some(k.id.as_str())
                    || k.status != KeyStatus::Active
                {
                    return None;
                }
                recent(k.last_used_at).map(|at| Use {
                    credential: String::new(),
                    at,
                })
            }
            Disables::Password => {
                let user = match kind {
                    ResourceKind::User => inv.users.get(index).map(|u| u.name.as_str()),
                    ResourceKind::LoginProfile => {
                        inv.login_profiles.get(index).map(|l| l.user.as_str())
                    }
                    _ => None,
                }?;
                self.password_use(inv, user, &recent)
            }
            Disables::User => {
                let u = inv
                    .users
                    .get(index)
                    .filter(|_| kind == ResourceKind::User)?;
                let keys = self
                    .keys_of
                    .get(u.name.as_str())
                    .into_iter()
                    .flatten()
                    .filter_map(|&i| inv.access_keys.get(i))
                    .filter(|k| k.status == KeyStatus::Active)
                    .filter_map(|k| {
                        recent(k.last_used_at).map(|at| Use {
                            credential: format!("access key {}", k.id),
                            at,
                        })
                    });
                keys.chain(self.password_use(inv, &u.name, &recent))
                    .max_by(|a, b| a.at.cmp(&b.at).then(b.credential.cmp(&a.credential)))
            }
        }
    }

    fn password_use(
        &self,
        inv: &Inventory,
        user: &str,
        recent: &dyn Fn(Option<DateTime<Utc>>) -> Option<DateTime<Utc>>,
    ) -> Option<Use> {
        let u = self.users.get(user).and_then(|&i| inv.users.get(i))?;
        // A password that was deleted signs nobody in, whatever its last use.
        if !u.password_enabled {
            return None;
        }
        recent(u.password_last_used_at).map(|at| Use {
            credential: "password".to_string(),
            at,
        })
    }
}

/// What the guard says about the resource `index` of `rule`'s collection, for `explain`: for
/// each of the rule's steps that disables a credential, whether it would be planned.
pub fn verdict(
    rule: &crate::compile::Rule,
    inv: &Inventory,
    index: usize,
    now: DateTime<Utc>,
) -> Option<String> {
    let ix = CredentialIndex::new(inv);
    let since = window_start(now, rule.in_use.window);
    let lines: Vec<String> = rule
        .steps
        .iter()
        .filter(|s| s.name.disables_credential().is_some())
        .map(
            |s| match ix.recent_use(inv, s.name, rule.kind, index, since) {
                None => format!("{}: not in use", s.name),
                Some(u) if rule.in_use.allow => {
                    format!("{}: allowed while in use: {}", s.name, u.describe(now))
                }
                Some(u) => format!("{}: not planned, in use: {}", s.name, u.describe(now)),
            },
        )
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// The start of the window: uses after this instant are "in use".
pub fn window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    now.checked_sub_signed(window).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn describes_days() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        let u = |d: i64, c: &str| Use {
            credential: c.to_string(),
            at: now - Duration::days(d) - Duration::minutes(1),
        };
        assert_eq!(u(1, "").describe(now), "last used 2026-11-30, 1 day ago");
        assert_eq!(
            u(0, "password").describe(now),
            "password last used 2026-12-01, today"
        );
        assert_eq!(
            u(44, "access key AKIA1").describe(now),
            "access key AKIA1 last used 2026-10-18, 44 days ago"
        );
    }
}
