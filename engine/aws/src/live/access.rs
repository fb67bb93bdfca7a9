//! Service last-accessed data (IAM's access advisor), per user and role, opt-in: for each one
//! `GenerateServiceLastAccessedDetails` (`Granularity=ACTION_LEVEL`) starts a job, then
//! `GetServiceLastAccessedDetails` polls it (backoff from 200 ms to 2 s) until it completes,
//! fails, or the bounded wait runs out, then pages through the answer. Every call runs under the
//! reader's timeouts. A refused call, a failed job or a job still running at the deadline is a
//! gap for that entity only (`status: failed` / `timed_out` with the reason), never the end of
//! the read: rules see no data for it (unknown, never unused). Service-linked roles are not
//! read (IAM manages them; no step acts on them).

use super::{call_error, chrono_of, Counter, LiveOptions};
use aws_sdk_iam::types::{AccessAdvisorUsageGranularityType, JobStatusType};
use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};
use iamwarden_core::inventory::{
    AccessDataStatus, ActionLastAccessed, Inventory, ServiceAccess, ServiceLastAccessed,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The wait for one entity's job when the caller gives none.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// Reads the report of every user and (not service-linked) role of `inv`, waiting at most
/// `wait` for each job.
pub(super) async fn read(
    client: &Client,
    counter: &Counter,
    opts: &LiveOptions,
    inv: &mut Inventory,
    wait: Duration,
) {
    let mut arns: Vec<(bool, usize, String)> = inv
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| (true, i, u.arn.clone()))
        .collect();
    arns.extend(
        inv.roles
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.path.starts_with("/aws-service-role/"))
            .map(|(i, r)| (false, i, r.arn.clone())),
    );
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (user, i, arn) in arns.iter().cloned() {
        let client = client.clone();
        let counter = counter.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            (user, i, report_of(&client, &counter, &arn, wait).await)
        });
    }
    let total = arns.len();
    let mut done = 0;
    while let Some(joined) = set.join_next().await {
        done += 1;
        if let Some(p) = &opts.progress {
            (p.0)("service last-accessed data", done, total);
        }
        let Ok((user, i, data)) = joined else {
            continue;
        };
        let slot = if user {
            inv.users.get_mut(i).map(|u| &mut u.service_access)
        } else {
            inv.roles.get_mut(i).map(|r| &mut r.service_access)
        };
        if let Some(s) = slot {
            *s = Some(Box::new(data));
        }
    }
    // A task that panicked leaves its entity unread: say so rather than leave it absent.
    for u in inv.users.iter_mut().filter(|u| u.service_access.is_none()) {
        u.service_access = Some(Box::new(gap(
            AccessDataStatus::Failed,
            "the read did not finish",
        )));
    }
    for r in inv
        .roles
        .iter_mut()
        .filter(|r| r.service_access.is_none() && !r.path.starts_with("/aws-service-role/"))
    {
        r.service_access = Some(Box::new(gap(
            AccessDataStatus::Failed,
            "the read did not finish",
        )));
    }
}

fn gap(status: AccessDataStatus, why: impl Into<String>) -> ServiceAccess {
    ServiceAccess {
        status,
        generated_at: None,
        error: Some(why.into()),
        services: Vec::new(),
    }
}

/// A completion date IAM gave (the SDK fills a missing one with the epoch).
fn completed_at(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    chrono_of(Some(t)).filter(|t| t.timestamp() > 0)
}

/// One entity's report, or its gap.
async fn report_of(client: &Client, counter: &Counter, arn: &str, wait: Duration) -> ServiceAccess {
    counter.hit("GenerateServiceLastAccessedDetails");
    let job = match client
        .generate_service_last_accessed_details()
        .arn(arn)
        .granularity(AccessAdvisorUsageGranularityType::ActionLevel)
        .send()
        .await
    {
        Ok(out) => match out.job_id() {
            Some(id) => id.to_string(),
            None => return gap(AccessDataStatus::Failed, "IAM returned no job id"),
        },
        Err(e) => {
            return gap(
                AccessDataStatus::Failed,
                call_error("GenerateServiceLastAccessedDetails", e).to_string(),
            )
        }
    };
    let deadline = Instant::now() + wait;
    let mut delay = Duration::from_millis(200);
    let mut services: Vec<ServiceLastAccessed> = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        counter.hit("GetServiceLastAccessedDetails");
        let out = match client
            .get_service_last_accessed_details()
            .job_id(&job)
            .set_marker(marker.clone())
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                return gap(
                    AccessDataStatus::Failed,
                    call_error("GetServiceLastAccessedDetails", e).to_string(),
                )
            }
        };
        match out.job_status() {
            JobStatusType::Completed => {}
            JobStatusType::Failed => {
                let why = out
                    .error()
                    .map(|e| format!("the job failed: {}: {}", e.code(), e.message()))
                    .unwrap_or_else(|| "the job failed".to_string());
                return gap(AccessDataStatus::Failed, why);
            }
            _ => {
                let now = Instant::now();
                if now >= deadline {
                    return gap(
                        AccessDataStatus::TimedOut,
                        format!(
                            "the job was still {} after {} s",
                            out.job_status().as_str(),
                            wait.as_secs()
                        ),
                    );
                }
                tokio::time::sleep(delay.min(deadline - now)).await;
                delay = (delay * 2).min(Duration::from_secs(2));
                continue;
            }
        }
        services.extend(out.services_last_accessed().iter().map(service_of));
        match (out.is_truncated(), out.marker()) {
            (true, Some(m)) => marker = Some(m.to_string()),
            _ => {
                return ServiceAccess {
                    status: AccessDataStatus::Complete,
                    generated_at: completed_at(out.job_completion_date())
                        .or_else(|| Some(Utc::now())),
                    error: None,
                    services,
                }
            }
        }
    }
}

fn service_of(s: &aws_sdk_iam::types::ServiceLastAccessed) -> ServiceLastAccessed {
    ServiceLastAccessed {
        namespace: s.service_namespace().to_ascii_lowercase(),
        name: Some(s.service_name().to_string()).filter(|n| !n.is_empty()),
        last_authenticated_at: chrono_of(s.last_authenticated()),
        last_authenticated_region: s.last_authenticated_region().map(str::to_string),
        actions: s
            .tracked_actions_last_accessed()
            .iter()
            .filter_map(|a| {
                Some(ActionLastAccessed {
                    action: a.action_name()?.to_string(),
                    last_accessed_at: chrono_of(a.last_accessed_time()),
                    last_accessed_region: a.last_accessed_region().map(str::to_string),
                })
            })
            .collect(),
        idle_since: None,
    }
}
