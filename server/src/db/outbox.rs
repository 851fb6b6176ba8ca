//! The outbox: emails queued in the same transaction as the change they tell of, and text messages (the DfE
//! Identity account's mobile passcodes) in a table of their own, both sent by [`crate::outbox`].

use super::{json, Dialect, SqlStore, StoreError, StoreResult};
use app::domain::support::{EmailTemplate, SmsTemplate};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// An email to queue with a change.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewEmail {
    /// Unique; sent to Notify as the notification's reference.
    pub reference: String,
    pub template: String,
    pub email_address: String,
    pub personalisation: std::collections::BTreeMap<String, String>,
    pub task_reference: Option<String>,
}

/// An email in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEmail {
    pub id: i64,
    pub email: NewEmail,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A text message to queue. Its number and personalisation (a passcode) are personal data and a secret, so its
/// Debug output leaves them out.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSms {
    /// Unique; sent to Notify as the notification's reference.
    pub reference: String,
    pub template: SmsTemplate,
    /// As the person gave it once checked (E.164 for an account's mobile).
    pub phone_number: String,
    pub personalisation: std::collections::BTreeMap<String, String>,
}

/// A text message in the outbox.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxSms {
    pub id: i64,
    pub sms: NewSms,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub delivered_via: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSms")
            .field("reference", &self.reference)
            .field("template", &self.template)
            .field("phone_number", &"[redacted]")
            .field(
                "personalisation_keys",
                &self.personalisation.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl std::fmt::Debug for OutboxSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxSms")
            .field("id", &self.id)
            .field("sms", &self.sms)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("last_error", &self.last_error)
            .field("delivered_via", &self.delivered_via)
            .field("created_at", &self.created_at)
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// Where a sent text message went, which decides whether its passcode is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsDelivery {
    /// Notify has it: the copy here is no longer needed.
    Notify,
    /// The development mailbox shows it from here.
    DevMailbox,
}

impl SmsDelivery {
    fn as_str(self) -> &'static str {
        match self {
            SmsDelivery::Notify => "notify",
            SmsDelivery::DevMailbox => "dev_mailbox",
        }
    }
}

#[async_trait]
pub trait OutboxStore {
    /// Queues an email on its own (decisions queue theirs in their own transaction).
    async fn queue_email(&self, email: &NewEmail, now: DateTime<Utc>) -> StoreResult<()>;
    /// Takes up to `limit` emails that are due (pending, or "sending" whose lease ran out after a crash), marks
    /// them sending with a lease until `lease_until`, and counts the attempt.
    async fn claim_due_emails(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEmail>>;
    async fn mark_email_sent(
        &self,
        id: i64,
        notify_id: Option<&str>,
        via: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mark_email_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mark_email_failed(&self, id: i64, error: &str) -> StoreResult<()>;
    /// The newest emails, for the development mailbox and tests.
    async fn recent_emails(&self, limit: i64) -> StoreResult<Vec<OutboxEmail>>;

    /// Queues a text message on its own (a change that sends one in its transaction uses `insert_sms`).
    async fn queue_sms(&self, sms: &NewSms, now: DateTime<Utc>) -> StoreResult<()>;
    /// As [`OutboxStore::claim_due_emails`], for text messages.
    async fn claim_due_sms(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxSms>>;
    /// Records a text message as sent; one that went to Notify has its personalisation (the passcode) emptied.
    async fn mark_sms_sent(
        &self,
        id: i64,
        notify_id: Option<&str>,
        via: SmsDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn mark_sms_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Records a text message as failed for good, and empties its personalisation: the passcode will never be used.
    async fn mark_sms_failed(&self, id: i64, error: &str) -> StoreResult<()>;
    /// The newest text messages, for the development mailbox and tests.
    async fn recent_sms(&self, limit: i64) -> StoreResult<Vec<OutboxSms>>;
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    reference: String,
    template: String,
    email_address: String,
    personalisation: String,
    task_reference: Option<String>,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    delivered_via: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxRow> for OutboxEmail {
    type Error = StoreError;
    fn try_from(r: OutboxRow) -> StoreResult<Self> {
        Ok(OutboxEmail {
            id: r.id,
            email: NewEmail {
                reference: r.reference,
                template: r.template,
                email_address: r.email_address,
                personalisation: json("personalisation", &r.personalisation)?,
                task_reference: r.task_reference,
            },
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            delivered_via: r.delivered_via,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SmsRow {
    id: i64,
    reference: String,
    template: String,
    phone_number: String,
    personalisation: String,
    status: String,
    attempts: i64,
    last_error: Option<String>,
    delivered_via: Option<String>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<SmsRow> for OutboxSms {
    type Error = StoreError;
    fn try_from(r: SmsRow) -> StoreResult<Self> {
        let template = SmsTemplate::parse(&r.template).ok_or_else(|| {
            StoreError::Corrupt(format!("sms_outbox.template {:?} is unknown", r.template))
        })?;
        Ok(OutboxSms {
            id: r.id,
            sms: NewSms {
                reference: r.reference,
                template,
                phone_number: r.phone_number,
                personalisation: json("personalisation", &r.personalisation)?,
            },
            status: r.status,
            attempts: r.attempts,
            last_error: r.last_error,
            delivered_via: r.delivered_via,
            created_at: r.created_at,
            sent_at: r.sent_at,
        })
    }
}

const SMS_COLUMNS: &str = "id, reference, template, phone_number, personalisation, status, \
     CAST(attempts AS BIGINT) AS attempts, last_error, delivered_via, created_at, sent_at";

/// Claims due messages from an outbox table (`email_outbox` or `sms_outbox`, which share their queue's columns):
/// each leased until `$2` and its attempt counted, at most `$3`, skipping rows another worker holds.
fn claim_due_sql<DB: Dialect>(table: &str, columns: &str) -> String {
    format!(
        "UPDATE {table} SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2 \
         WHERE id IN (SELECT id FROM {table} WHERE status IN ('pending', 'sending') \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3{}) RETURNING {columns}",
        DB::SKIP_LOCKED
    )
}

const OUTBOX_COLUMNS: &str =
    "id, reference, template, email_address, personalisation, task_reference, status, \
     CAST(attempts AS BIGINT) AS attempts, last_error, delivered_via, created_at, sent_at";

#[async_trait]
impl<DB: Dialect> OutboxStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    async fn queue_email(&self, email: &NewEmail, now: DateTime<Utc>) -> StoreResult<()> {
        Self::insert_email(&self.pool, email, now).await
    }

    async fn claim_due_emails(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxEmail>> {
        let rows: Vec<OutboxRow> =
            sqlx::query_as(&claim_due_sql::<DB>("email_outbox", OUTBOX_COLUMNS))
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn mark_email_sent(
        &self,
        id: i64,
        notify_id: Option<&str>,
        via: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // A passcode is a secret: once Notify has it, the outbox keeps no copy (the development mailbox, which
        // shows it from here, keeps it), as the text messages' outbox does.
        sqlx::query(
            "UPDATE email_outbox SET status = 'sent', notify_id = $2, delivered_via = $3, sent_at = $4, \
             last_error = NULL, personalisation = CASE WHEN template = $5 AND $3 = 'notify' THEN '{}' \
             ELSE personalisation END WHERE id = $1",
        )
        .bind(id)
        .bind(notify_id)
        .bind(via)
        .bind(now)
        .bind(EmailTemplate::Passcode.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_email_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        Self::retry_in(&self.pool, "email_outbox", id, error, next_attempt_at).await
    }

    async fn mark_email_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE email_outbox SET status = 'failed', last_error = $2, \
             personalisation = CASE WHEN template = $3 THEN '{}' ELSE personalisation END WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(EmailTemplate::Passcode.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn recent_emails(&self, limit: i64) -> StoreResult<Vec<OutboxEmail>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM email_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn queue_sms(&self, sms: &NewSms, now: DateTime<Utc>) -> StoreResult<()> {
        Self::insert_sms(&self.pool, sms, now).await
    }

    async fn claim_due_sms(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OutboxSms>> {
        let rows: Vec<SmsRow> = sqlx::query_as(&claim_due_sql::<DB>("sms_outbox", SMS_COLUMNS))
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn mark_sms_sent(
        &self,
        id: i64,
        notify_id: Option<&str>,
        via: SmsDelivery,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let forget = via == SmsDelivery::Notify;
        sqlx::query(
            "UPDATE sms_outbox SET status = 'sent', notify_id = $2, delivered_via = $3, sent_at = $4, \
             last_error = NULL, personalisation = CASE WHEN $5 THEN '{}' ELSE personalisation END WHERE id = $1",
        )
        .bind(id)
        .bind(notify_id)
        .bind(via.as_str())
        .bind(now)
        .bind(forget)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mark_sms_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        Self::retry_in(&self.pool, "sms_outbox", id, error, next_attempt_at).await
    }

    async fn mark_sms_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE sms_outbox SET status = 'failed', last_error = $2, personalisation = '{}' WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn recent_sms(&self, limit: i64) -> StoreResult<Vec<OutboxSms>> {
        let rows: Vec<SmsRow> = sqlx::query_as(&format!(
            "SELECT {SMS_COLUMNS} FROM sms_outbox ORDER BY id DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}

impl<DB: Dialect> SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    /// Puts a claimed message of an outbox table back in the queue until `next_attempt_at`, with its error.
    async fn retry_in(
        pool: &sqlx::Pool<DB>,
        table: &str,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(&format!(
            "UPDATE {table} SET status = 'pending', last_error = $2, next_attempt_at = $3 WHERE id = $1"
        ))
        .bind(id)
        .bind(error)
        .bind(next_attempt_at)
        .execute(pool)
        .await?;
        Ok(())
    }

    pub(super) async fn insert_email<'e, E: Executor<'e, Database = DB>>(
        exec: E,
        email: &NewEmail,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // A teacher whose email One Login did not verify has none with us: there is no one to write to.
        if email.email_address.trim().is_empty() {
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO email_outbox (reference, template, email_address, personalisation, task_reference, \
             status, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
        )
        .bind(&email.reference)
        .bind(&email.template)
        .bind(&email.email_address)
        .bind(serde_json::to_string(&email.personalisation).expect("maps serialise"))
        .bind(&email.task_reference)
        .bind(now)
        .execute(exec)
        .await?;
        Ok(())
    }

    /// Queues a text message with `exec`: the pool, or the transaction of the change that sends it.
    pub(super) async fn insert_sms<'e, E: Executor<'e, Database = DB>>(
        exec: E,
        sms: &NewSms,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sms_outbox (reference, template, phone_number, personalisation, status, attempts, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
        )
        .bind(&sms.reference)
        .bind(sms.template.as_str())
        .bind(&sms.phone_number)
        .bind(serde_json::to_string(&sms.personalisation).expect("maps serialise"))
        .bind(now)
        .execute(exec)
        .await?;
        Ok(())
    }
}
