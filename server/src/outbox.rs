//! The email outbox's worker, and the live feed of new and changed tasks.
//!
//! Emails are written to `email_outbox` in the same transaction as the decision they announce, so a decision is
//! never made without its email, nor an email sent for a decision that rolled back. The worker claims due emails
//! with a lease, sends each through GOV.UK Notify (or, in development without a Notify key, delivers it to the
//! development mailbox), and marks it sent; a failure it may retry waits with exponential backoff, one it may not
//! is recorded as failed. If the process dies after Notify accepted an email but before it was marked sent, the
//! lease runs out and the email is claimed again: any email on a second or later attempt is first looked up in
//! Notify by its reference, so it is never sent twice.

use crate::config::EmailConfig;
use crate::db::support::OutboxEmail;
use crate::db::DynStore;
use app::domain::support::EmailTemplate;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tokio::sync::{broadcast, Notify};

/// How long a claimed email is reserved for the worker that claimed it.
pub const LEASE_SECONDS: i64 = 60;
/// After this many attempts an email is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// Emails claimed at once.
const BATCH: i64 = 20;
/// How often the worker looks for due emails when nobody wakes it.
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Where emails go.
pub enum Sender {
    Notify {
        client: notify::NotifyClient,
        templates: std::collections::BTreeMap<EmailTemplate, String>,
    },
    DevMailbox,
}

impl Sender {
    pub fn from_config(config: &EmailConfig) -> Result<Self, String> {
        Ok(match config {
            EmailConfig::Notify {
                api_key,
                base_url,
                templates,
            } => Sender::Notify {
                client: notify::NotifyClient::new(api_key, base_url).map_err(|e| e.to_string())?,
                templates: templates.clone(),
            },
            EmailConfig::DevMailbox => Sender::DevMailbox,
        })
    }
}

/// The wait before attempt `attempts + 1`: 10 s, 20 s, 40 s … capped at an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = attempts.clamp(1, 20) - 1;
    Duration::seconds((10i64 << exponent).min(3600))
}

/// What happened to one email.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    AlreadySent,
    Retry,
    Failed,
}

/// Sends one claimed email and records the outcome.
pub async fn deliver(
    store: &DynStore,
    sender: &Sender,
    email: &OutboxEmail,
    now: DateTime<Utc>,
) -> Result<Delivery, crate::db::StoreError> {
    let (client, templates) = match sender {
        Sender::DevMailbox => {
            store
                .mark_email_sent(email.id, None, "dev_mailbox", now)
                .await?;
            return Ok(Delivery::Sent);
        }
        Sender::Notify { client, templates } => (client, templates),
    };
    let Some(template_id) =
        EmailTemplate::parse(&email.email.template).and_then(|t| templates.get(&t))
    else {
        store
            .mark_email_failed(email.id, "no Notify template for this email")
            .await?;
        return Ok(Delivery::Failed);
    };
    // A second attempt may follow a send that worked but was not recorded: ask Notify first.
    if email.attempts > 1 {
        match client.find_by_reference(&email.email.reference).await {
            Ok(found) if !found.is_empty() => {
                store
                    .mark_email_sent(email.id, Some(&found[0].id), "notify", now)
                    .await?;
                return Ok(Delivery::AlreadySent);
            }
            Ok(_) => {}
            Err(e) => {
                return retry_or_fail(store, email, &e.to_string(), e.is_retryable(), now).await
            }
        }
    }
    let request = notify::EmailRequest {
        template_id: template_id.clone(),
        email_address: email.email.email_address.clone(),
        personalisation: email.email.personalisation.clone(),
        reference: Some(email.email.reference.clone()),
    };
    match client.send_email(&request).await {
        Ok(sent) => {
            store
                .mark_email_sent(email.id, Some(&sent.id), "notify", now)
                .await?;
            Ok(Delivery::Sent)
        }
        Err(e) => retry_or_fail(store, email, &e.to_string(), e.is_retryable(), now).await,
    }
}

async fn retry_or_fail(
    store: &DynStore,
    email: &OutboxEmail,
    error: &str,
    retryable: bool,
    now: DateTime<Utc>,
) -> Result<Delivery, crate::db::StoreError> {
    if retryable && email.attempts < MAX_ATTEMPTS {
        tracing::warn!(
            attempts = email.attempts,
            error,
            "email not sent; will retry"
        );
        store
            .mark_email_retry(email.id, error, now + backoff(email.attempts))
            .await?;
        Ok(Delivery::Retry)
    } else {
        tracing::error!(attempts = email.attempts, error, "email could not be sent");
        store.mark_email_failed(email.id, error).await?;
        Ok(Delivery::Failed)
    }
}

/// Claims and delivers what is due now, until nothing is; returns how many emails were handled.
pub async fn run_once(store: &DynStore, sender: &Sender) -> Result<usize, crate::db::StoreError> {
    let mut handled = 0;
    loop {
        let now = Utc::now();
        let due = store
            .claim_due_emails(now, now + Duration::seconds(LEASE_SECONDS), BATCH)
            .await?;
        if due.is_empty() {
            return Ok(handled);
        }
        for email in &due {
            deliver(store, sender, email, Utc::now()).await?;
            handled += 1;
        }
    }
}

/// The worker: runs until the process stops, woken early by `wake` when an email is queued.
pub async fn worker(store: DynStore, sender: Arc<Sender>, wake: Arc<Notify>) {
    loop {
        if let Err(e) = run_once(&store, &sender).await {
            tracing::error!(error = %e, "email outbox could not be read; trying again shortly");
        }
        let _ = tokio::time::timeout(POLL, wake.notified()).await;
    }
}

/// How often the live feed looks for new and changed tasks while someone watches the dashboard.
pub const LIVE_POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// Task changes read at once; more wait for the next look.
const LIVE_BATCH: i64 = 50;

/// What open dashboards are told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveEvent {
    /// New tasks have arrived; the newest task's id.
    NewTask(i64),
    /// A task was assigned, saved or decided.
    Changed(app::domain::support::TaskChanged),
}

/// Watches for new tasks and for changes to tasks (from any instance, so it reads the database) and tells every
/// open dashboard. It reads nothing while nobody watches, and when someone starts watching it begins from now, so
/// a new dashboard is not sent what happened before it opened.
pub async fn watch_tasks(store: DynStore, live: broadcast::Sender<LiveEvent>) {
    let mut positions: Option<(i64, i64)> = None;
    loop {
        tokio::time::sleep(LIVE_POLL).await;
        if live.receiver_count() == 0 {
            positions = None;
            continue;
        }
        let (latest_task, latest_change) = match positions {
            Some(p) => p,
            None => match (store.latest_task_id().await, store.latest_audit_id().await) {
                (Ok(task), Ok(audit)) => {
                    positions = Some((task, audit));
                    continue;
                }
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "live task feed could not read the database");
                    continue;
                }
            },
        };
        let mut latest = (latest_task, latest_change);
        match store.latest_task_id().await {
            Ok(now) if now > latest_task => {
                latest.0 = now;
                let _ = live.send(LiveEvent::NewTask(now));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "live task feed could not read the database"),
        }
        match store.task_changes_since(latest_change, LIVE_BATCH).await {
            Ok(changes) => {
                for change in changes {
                    latest.1 = change.id;
                    let _ = live.send(LiveEvent::Changed(app::domain::support::TaskChanged {
                        reference: change.reference,
                        change: change.change,
                    }));
                }
            }
            Err(e) => tracing::warn!(error = %e, "live task feed could not read the database"),
        }
        positions = Some(latest);
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_stops_at_an_hour() {
        let waits: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(waits, vec![10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        assert_eq!(backoff(0).num_seconds(), 10);
        assert_eq!(backoff(1_000).num_seconds(), 3600);
    }
}
