//! The in-use guard at apply time: a user-level step that stops every credential of a user
//! (`quarantine_user`, `delete_user`) is stale when one of the user's active keys or the
//! console password was used after the start of the window the plan judged with
//! (`precondition.in_use_since`), unless the plan let the rule act on credentials in use
//! (`allowed_in_use`). Key steps and `delete_login_profile` already go stale when their own
//! credential was used since the plan (see `check`).

use super::*;

impl Aws {
    /// Why `a` is stale because a credential it would stop was used within the window, if it is.
    pub(super) async fn in_use_since_plan(&self, a: &Action) -> Result<Option<String>, StepError> {
        let user_level = a
            .action
            .disables_credential()
            .is_some_and(|d| d == crate::plan::steps::Disables::User);
        let since = plan_ts(a.precondition.get("in_use_since"));
        let (true, Some(since), None) = (user_level, since, &a.allowed_in_use) else {
            return Ok(None);
        };
        let user = param(a, "user")?;
        let mut uses: Vec<(DateTime<Utc>, String)> = Vec::new();
        for (key, status) in self.access_keys(user).await?.unwrap_or_default() {
            if status != "Active" {
                continue;
            }
            if let Some(t) = self.key_last_used(&key).await?.filter(|t| *t > since) {
                uses.push((t, format!("access key {key}")));
            }
        }
        if self.login_profile(user).await?.is_some() {
            let used = self.user(user).await?.and_then(|u| u.password_last_used);
            if let Some(t) = used.filter(|t| *t > since) {
                uses.push((t, "password".to_string()));
            }
        }
        Ok(uses.into_iter().max().map(|(t, what)| {
            format!(
                "user {user} is in use: {what} was used at {} (after {}, the start of the plan's in-use window)",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        }))
    }
}
