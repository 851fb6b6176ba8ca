//! The outbox's worker (emails and text messages), and the live feed of new and changed tasks.
//!
//! Emails are written to `email_outbox` in the same transaction as the decision they announce, so a decision is
//! never made without its email, nor an email sent for a decision that rolled back. The worker claims due emails
//! with a lease, sends each through GOV.UK Notify (or, in development without a Notify key, delivers it to the
//! development mailbox), and marks it sent; a failure it may retry waits with exponential backoff, one it may not
//! is recorded as failed. If the process dies after Notify accepted an email but before it was marked sent, the
//! lease runs out and the email is claimed again: any email on a second or later attempt is first looked up in
//! Notify by its reference, so it is never sent twice.
//!
//! Text messages (the DfE Identity account's mobile passcodes) wait in `sms_outbox` and go the same way, in the
//! same worker, with the same leases, retries and check by reference. Nothing about a message is logged but its
//! attempts and Notify's error, which the `notify` crate has stripped of the number and the personalisation: the
//! number is personal data and the code a secret. [`queue_passcode`] is how the rest of the server sends a
//! passcode by either way.

use crate::config::EmailConfig;
use crate::db::audit::TaskChangeRecord;
use crate::db::support::{NewEmail, NewSms, OutboxEmail, OutboxSms, SmsDelivery};
use crate::db::DynStore;
use app::domain::support::{passcode_personalisation, EmailTemplate, SmsTemplate};
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

/// Where emails and text messages go.
pub enum Sender {
    Notify {
        client: notify::NotifyClient,
        templates: std::collections::BTreeMap<EmailTemplate, String>,
        /// The text message templates' ids; a message without one fails.
        sms_templates: std::collections::BTreeMap<SmsTemplate, String>,
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
                sms_templates,
            } => Sender::Notify {
                client: notify::NotifyClient::new(api_key, base_url).map_err(|e| e.to_string())?,
                templates: templates.clone(),
                sms_templates: sms_templates.clone(),
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
        Sender::Notify {
            client, templates, ..
        } => (client, templates),
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

/// Sends one claimed text message and records the outcome, as [`deliver`] does an email.
pub async fn deliver_sms(
    store: &DynStore,
    sender: &Sender,
    sms: &OutboxSms,
    now: DateTime<Utc>,
) -> Result<Delivery, crate::db::StoreError> {
    let (client, templates) = match sender {
        Sender::DevMailbox => {
            store
                .mark_sms_sent(sms.id, None, SmsDelivery::DevMailbox, now)
                .await?;
            return Ok(Delivery::Sent);
        }
        Sender::Notify {
            client,
            sms_templates,
            ..
        } => (client, sms_templates),
    };
    let Some(template_id) = templates.get(&sms.sms.template) else {
        store
            .mark_sms_failed(sms.id, "no Notify template for this text message")
            .await?;
        return Ok(Delivery::Failed);
    };
    // A second attempt may follow a send that worked but was not recorded: ask Notify first.
    if sms.attempts > 1 {
        match client.find_sms_by_reference(&sms.sms.reference).await {
            Ok(found) if !found.is_empty() => {
                store
                    .mark_sms_sent(sms.id, Some(&found[0].id), SmsDelivery::Notify, now)
                    .await?;
                return Ok(Delivery::AlreadySent);
            }
            Ok(_) => {}
            Err(e) => return sms_retry_or_fail(store, sms, &e, now).await,
        }
    }
    let request = notify::SmsRequest {
        template_id: template_id.clone(),
        phone_number: sms.sms.phone_number.clone(),
        personalisation: sms.sms.personalisation.clone(),
        reference: Some(sms.sms.reference.clone()),
        sms_sender_id: None,
    };
    match client.send_sms(&request).await {
        Ok(sent) => {
            store
                .mark_sms_sent(sms.id, Some(&sent.id), SmsDelivery::Notify, now)
                .await?;
            Ok(Delivery::Sent)
        }
        Err(e) => sms_retry_or_fail(store, sms, &e, now).await,
    }
}

/// The error is Notify's, which the `notify` crate has already stripped of the number and the code.
async fn sms_retry_or_fail(
    store: &DynStore,
    sms: &OutboxSms,
    error: &notify::SendError,
    now: DateTime<Utc>,
) -> Result<Delivery, crate::db::StoreError> {
    let message = error.to_string();
    if error.is_retryable() && sms.attempts < MAX_ATTEMPTS {
        tracing::warn!(
            attempts = sms.attempts,
            error = message,
            "text message not sent; will retry"
        );
        store
            .mark_sms_retry(sms.id, &message, now + backoff(sms.attempts))
            .await?;
        Ok(Delivery::Retry)
    } else {
        tracing::error!(
            attempts = sms.attempts,
            error = message,
            "text message could not be sent"
        );
        store.mark_sms_failed(sms.id, &message).await?;
        Ok(Delivery::Failed)
    }
}

/// Claims and delivers what is due now, emails then text messages, until nothing is; returns how many messages
/// were handled.
pub async fn run_once(store: &DynStore, sender: &Sender) -> Result<usize, crate::db::StoreError> {
    let mut handled = 0;
    loop {
        let now = Utc::now();
        let lease_until = now + Duration::seconds(LEASE_SECONDS);
        let emails = store.claim_due_emails(now, lease_until, BATCH).await?;
        for email in &emails {
            deliver(store, sender, email, Utc::now()).await?;
            handled += 1;
        }
        let texts = store.claim_due_sms(now, lease_until, BATCH).await?;
        for sms in &texts {
            deliver_sms(store, sender, sms, Utc::now()).await?;
            handled += 1;
        }
        if emails.is_empty() && texts.is_empty() {
            return Ok(handled);
        }
    }
}

/// Where a one-time passcode goes (DfE Identity account, DESIGN §7.3): an email address, or a mobile number as
/// the account keeps it (E.164).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PasscodeTo<'a> {
    Email(&'a str),
    Sms(&'a str),
}

/// The message that carries a passcode, for a change that queues it in its own transaction.
#[derive(Clone, PartialEq, Eq)]
pub enum PasscodeMessage {
    Email(NewEmail),
    Sms(NewSms),
}

/// The code is a secret and the address personal data: only the kind and reference are shown.
impl std::fmt::Debug for PasscodeMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasscodeMessage::Email(email) => f
                .debug_tuple("PasscodeMessage::Email")
                .field(&email.reference)
                .finish(),
            PasscodeMessage::Sms(sms) => f
                .debug_tuple("PasscodeMessage::Sms")
                .field(&sms.reference)
                .finish(),
        }
    }
}

impl PasscodeMessage {
    /// The passcode email or text message to `to`, with a reference of its own.
    pub fn new(to: PasscodeTo<'_>, code: &str) -> PasscodeMessage {
        let reference = format!("passcode-{}", uuid::Uuid::new_v4());
        match to {
            PasscodeTo::Email(address) => PasscodeMessage::Email(NewEmail {
                reference,
                template: EmailTemplate::Passcode.as_str().to_string(),
                email_address: address.to_string(),
                personalisation: passcode_personalisation(code),
                task_reference: None,
            }),
            PasscodeTo::Sms(number) => PasscodeMessage::Sms(NewSms {
                reference,
                template: SmsTemplate::Passcode,
                phone_number: number.to_string(),
                personalisation: passcode_personalisation(code),
            }),
        }
    }
}

/// Queues a passcode by email or text message and wakes the worker to send it now.
pub async fn queue_passcode(
    store: &DynStore,
    wake: &Notify,
    to: PasscodeTo<'_>,
    code: &str,
    now: DateTime<Utc>,
) -> Result<(), crate::db::StoreError> {
    match PasscodeMessage::new(to, code) {
        PasscodeMessage::Email(email) => store.queue_email(&email, now).await?,
        PasscodeMessage::Sms(sms) => store.queue_sms(&sms, now).await?,
    }
    wake.notify_one();
    Ok(())
}

/// The worker: runs until the process stops, woken early by `wake` when an email or text message is queued.
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

/// Polls over which the live feed reads task changes again (10 s at [`LIVE_POLL`]). On PostgreSQL an audit entry
/// takes its id from a sequence when it is inserted, not when it commits, so a change can become visible after one
/// with a higher id has been read: reading only past the highest id seen would skip it for good, and one officer's
/// decision would never reach another officer's open dashboard. So the feed reads again from the highest id it had
/// seen this many polls ago, and sends only what it has not sent. (SQLite takes ids under its one write lock, so
/// they commit in order there; the window costs it a small re-read.)
const LOOK_BACK_POLLS: usize = 40;

/// Where the live feed reads task changes from, and which of them it has sent: see [`LOOK_BACK_POLLS`].
#[derive(Debug)]
struct ChangeCursor {
    /// Every change at or below this id was read at least [`LOOK_BACK_POLLS`] polls ago; it is not read again.
    floor: i64,
    /// The highest id seen by each of the last polls, oldest first.
    highest: std::collections::VecDeque<i64>,
    /// The ids above `floor` already sent.
    sent: std::collections::BTreeSet<i64>,
}

impl ChangeCursor {
    /// Watching starts at `latest`: what happened before is not sent.
    fn new(latest: i64) -> Self {
        Self {
            floor: latest,
            highest: Default::default(),
            sent: Default::default(),
        }
    }

    /// The next read: changes after this id, at most this many (room for every change sent again and
    /// [`LIVE_BATCH`] new ones).
    fn next_read(&self) -> (i64, i64) {
        (self.floor, LIVE_BATCH + self.sent.len() as i64)
    }

    /// Takes one poll's changes (the answer to [`Self::next_read`]) and returns those not sent before, in order.
    fn take(&mut self, read: Vec<TaskChangeRecord>) -> Vec<TaskChangeRecord> {
        let fresh: Vec<_> = read
            .into_iter()
            .filter(|c| self.sent.insert(c.id))
            .collect();
        let before = self.highest.back().copied().unwrap_or(self.floor);
        self.highest
            .push_back(self.sent.last().copied().unwrap_or(before).max(before));
        if self.highest.len() > LOOK_BACK_POLLS {
            self.floor = self.highest.pop_front().unwrap_or(self.floor);
            self.sent = self.sent.split_off(&(self.floor + 1));
        }
        fresh
    }
}

/// Watches for new tasks and for changes to tasks (from any instance, so it reads the database) and tells every
/// open dashboard. It reads nothing while nobody watches, and when someone starts watching it begins from now, so
/// a new dashboard is not sent what happened before it opened.
pub async fn watch_tasks(store: DynStore, live: broadcast::Sender<LiveEvent>) {
    let mut positions: Option<(i64, ChangeCursor)> = None;
    loop {
        tokio::time::sleep(LIVE_POLL).await;
        if live.receiver_count() == 0 {
            positions = None;
            continue;
        }
        let Some((latest_task, changes)) = &mut positions else {
            match (store.latest_task_id().await, store.latest_audit_id().await) {
                (Ok(task), Ok(audit)) => positions = Some((task, ChangeCursor::new(audit))),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "live task feed could not read the database")
                }
            }
            continue;
        };
        match store.latest_task_id().await {
            Ok(now) if now > *latest_task => {
                *latest_task = now;
                let _ = live.send(LiveEvent::NewTask(now));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "live task feed could not read the database"),
        }
        let (after, limit) = changes.next_read();
        match store.task_changes_since(after, limit).await {
            Ok(read) => {
                for change in changes.take(read) {
                    let _ = live.send(LiveEvent::Changed(app::domain::support::TaskChanged {
                        reference: change.reference,
                        change: change.change,
                    }));
                }
            }
            Err(e) => tracing::warn!(error = %e, "live task feed could not read the database"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{backoff, ChangeCursor, LIVE_BATCH, LOOK_BACK_POLLS};
    use crate::db::audit::TaskChangeRecord;
    use app::domain::support::TaskChange;

    /// The audit log as a store would answer the feed: the committed changes after `after`, by id, at most `limit`.
    fn read(committed: &[i64], (after, limit): (i64, i64)) -> Vec<TaskChangeRecord> {
        let mut ids: Vec<i64> = committed.iter().copied().filter(|id| *id > after).collect();
        ids.sort_unstable();
        ids.into_iter()
            .take(limit as usize)
            .map(|id| TaskChangeRecord {
                id,
                reference: format!("T{id}"),
                change: TaskChange::Decided,
            })
            .collect()
    }

    fn ids(changes: Vec<TaskChangeRecord>) -> Vec<i64> {
        changes.into_iter().map(|c| c.id).collect()
    }

    #[test]
    fn a_change_committed_after_a_higher_id_was_read_is_still_sent_once() {
        let mut cursor = ChangeCursor::new(10);
        // Ids 11 and 12 were taken at once; 12 committed first.
        let mut committed = vec![12];
        assert_eq!(ids(cursor.take(read(&committed, cursor.next_read()))), [12]);
        committed.push(11);
        assert_eq!(ids(cursor.take(read(&committed, cursor.next_read()))), [11]);
        committed.push(13);
        assert_eq!(ids(cursor.take(read(&committed, cursor.next_read()))), [13]);
        for _ in 0..3 * LOOK_BACK_POLLS {
            assert!(cursor.take(read(&committed, cursor.next_read())).is_empty());
        }
    }

    #[test]
    fn changes_before_watching_began_are_not_sent() {
        let mut cursor = ChangeCursor::new(10);
        assert_eq!(
            ids(cursor.take(read(&[9, 10, 11], cursor.next_read()))),
            [11]
        );
    }

    #[test]
    fn what_was_read_long_enough_ago_is_not_read_again_nor_remembered() {
        let mut cursor = ChangeCursor::new(0);
        let committed: Vec<i64> = (1..=5).collect();
        cursor.take(read(&committed, cursor.next_read()));
        assert_eq!(cursor.next_read(), (0, LIVE_BATCH + 5));
        for _ in 0..LOOK_BACK_POLLS {
            cursor.take(read(&committed, cursor.next_read()));
        }
        assert_eq!(
            cursor.next_read(),
            (5, LIVE_BATCH),
            "read from 5 on, nothing kept"
        );
    }

    #[test]
    fn changes_sent_again_never_crowd_out_new_ones() {
        let mut cursor = ChangeCursor::new(0);
        let mut committed: Vec<i64> = (1..=LIVE_BATCH).collect();
        assert_eq!(
            cursor.take(read(&committed, cursor.next_read())).len(),
            LIVE_BATCH as usize
        );
        committed.extend(LIVE_BATCH + 1..=3 * LIVE_BATCH);
        assert_eq!(
            ids(cursor.take(read(&committed, cursor.next_read()))),
            (LIVE_BATCH + 1..=2 * LIVE_BATCH).collect::<Vec<_>>(),
            "a whole batch of new changes, beside the 50 read again"
        );
    }

    #[test]
    fn backoff_doubles_and_stops_at_an_hour() {
        let waits: Vec<i64> = (1..=10).map(|a| backoff(a).num_seconds()).collect();
        assert_eq!(waits, vec![10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]);
        assert_eq!(backoff(0).num_seconds(), 10);
        assert_eq!(backoff(1_000).num_seconds(), 3600);
    }
}
