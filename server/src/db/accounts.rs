//! DfE Identity accounts (DESIGN §7.3): the passcodes that prove an email or mobile, and the accounts themselves.
//! The rules are `app::domain::account`'s; this is where they are kept.
//!
//! An account is one way into a person: a `users` row whose `one_login_sub` is empty when the person has only the
//! account, plus its `accounts` row. The record found for an account will be a `connections` row, as for One Login.
//! `users.email` stays One Login's verified email (blank for an account-only person); the account's email is
//! `accounts.email`.
//!
//! **Passcodes** are kept by [`PasscodeSlot`] (a keyed hash of the email or mobile, and the purpose: no personal
//! data) with the code's keyed hash. Checking one is two statements, each atomic on both backends:
//! 1. *claim an attempt*: the live code's tries go up by one only while it is unexpired and has tries left, and
//!    the statement returns its hash. Concurrent checks each claim their own attempt, so together they never get
//!    more than [`MAX_TRIES`] comparisons;
//! 2. when the typed hash matches, *use it*: `used_at` is set only if still unset, so of two right checks at once
//!    exactly one succeeds and the other gets [`PasscodeCheck::NoCode`].
//!
//! Issuing cancels the slot's live code and adds the new one in one transaction; if two issues race, the partial
//! unique index (one live code per slot) turns the second insert into replacing the first's code in place.
//!
//! **Uniqueness** of an account's email key and mobile is the database's: two creations with the same email at
//! once insert one account, and the other learns which of its details is taken ([`Taken`]).

use super::{ConnectStore, Dialect, RowsAffected, SqlStore, StoreError, StoreResult};
use app::domain::account::passcode::{check_claimed, check_unclaimed, MAX_TRIES};
use app::domain::account::{
    Account, AccountEmail, AccountName, Applicant, Mobile, NewAccount, PasscodeCheck, PasscodeHash,
    PasscodeSlot, SendLimits,
};
use app::domain::names::name_key;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// Which of a new or changed account's details another account already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    Email,
    Mobile,
}

/// What changing an account's email or mobile did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    Changed,
    /// Another account has that email or mobile; nothing changed.
    Taken,
    /// There is no account for that person.
    NoAccount,
}

/// What changing an account's name and date of birth did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetailsChange {
    Changed,
    /// The account is connected to a teaching record: its name and date of birth are that record's (DESIGN §7.3).
    TrnHeld,
    NoAccount,
}

/// The most namesakes born on the same day the duplicate check reads (oldest first): more than this many accounts
/// with one name and date of birth means something other than a person is creating them.
const MAX_NAMESAKES: i64 = 20;

#[async_trait]
pub trait AccountStore {
    /// Keeps a new passcode (its hash) for `slot`, cancelling the slot's live one; returns when it expires.
    async fn issue_passcode(
        &self,
        slot: &PasscodeSlot,
        code: &PasscodeHash,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>>;
    /// Checks a typed passcode (its hash) against the slot's live one, counting the try; a right one is used up.
    /// Of concurrent checks of the same right code, at most one gets [`PasscodeCheck::Ok`].
    async fn verify_passcode(
        &self,
        slot: &PasscodeSlot,
        typed: &PasscodeHash,
        now: DateTime<Utc>,
    ) -> StoreResult<PasscodeCheck>;
    /// Deletes the passcodes that expired before `cutoff`; how many.
    async fn forget_passcodes_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;

    /// Makes a person with only this account (no One Login), or says which of its email and mobile another
    /// account has (the email first), making nothing.
    async fn create_account(
        &self,
        account: &NewAccount,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Account, Taken>>;
    async fn account(&self, user_id: i64) -> StoreResult<Option<Account>>;
    /// The account whose email has this email's key.
    async fn account_by_email(&self, email: &AccountEmail) -> StoreResult<Option<Account>>;
    async fn account_by_mobile(&self, mobile: &Mobile) -> StoreResult<Option<Account>>;
    /// Every account the duplicate check (`app::domain::account::find_duplicate`) must see for this applicant:
    /// the one with their email, the one with their mobile, and those with their last name's key and date of
    /// birth (at most [`MAX_NAMESAKES`], oldest first; first names are compared by the domain, synonyms and all).
    async fn possible_duplicates(&self, applicant: &Applicant<'_>) -> StoreResult<Vec<Account>>;
    /// Changes an account's email (once the new one is proven).
    async fn change_account_email(
        &self,
        user_id: i64,
        email: &AccountEmail,
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange>;
    /// Changes an account's mobile (once the new one is proven), or removes it.
    async fn change_account_mobile(
        &self,
        user_id: i64,
        mobile: Option<&Mobile>,
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange>;
    /// Changes an account's name and date of birth, only while it is connected to no record: checked in the same
    /// statement, so a connection made at the same moment is never changed under.
    async fn change_account_details(
        &self,
        user_id: i64,
        name: &AccountName,
        date_of_birth: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<DetailsChange>;
}

const ACCOUNT_COLUMNS: &str =
    "user_id, email, email_key, mobile, first_name, last_name, preferred_name, \
     date_of_birth";

#[derive(sqlx::FromRow)]
struct AccountRow {
    user_id: i64,
    email: String,
    email_key: String,
    mobile: Option<String>,
    first_name: String,
    last_name: String,
    preferred_name: Option<String>,
    date_of_birth: NaiveDate,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;
    fn try_from(row: AccountRow) -> StoreResult<Self> {
        let mobile = match row.mobile {
            None => None,
            Some(m) => Some(Mobile::from_stored(m).ok_or_else(|| {
                StoreError::Corrupt(format!("account {}: mobile not in E.164", row.user_id))
            })?),
        };
        Ok(Account {
            user_id: row.user_id,
            email: AccountEmail::from_stored(row.email, row.email_key),
            mobile,
            name: AccountName {
                first: row.first_name,
                last: row.last_name,
                preferred: row.preferred_name,
            },
            date_of_birth: row.date_of_birth,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    id: i64,
    code_hash: String,
    tries: i64,
}

/// Counts sending a passcode to `slot`'s email or mobile, and from `client_address` (as
/// `http::client_addr::rate_limit_key` gives it; `None` when unknown), in the service's rate-limit windows (the
/// `rate_limits` table, as the connect journey's answers are counted). `Some(window in seconds)` when either count
/// is now over `limits` (send nothing; the page says when to try again), `None` to send. The keys are kept as their
/// SHA-256 like every rate-limit key; the target's is already a keyed hash, so no email or number is stored.
/// The counters are forgotten after the connect journey's longest window (`lib.rs`), which must not be shorter
/// than `limits`' longest.
pub async fn count_passcode_send<S: ConnectStore + ?Sized>(
    store: &S,
    slot: &PasscodeSlot,
    client_address: Option<&str>,
    limits: &SendLimits,
    now: DateTime<Utc>,
) -> StoreResult<Option<i64>> {
    let sha256 = crate::http::assets::sha256_hex;
    let target_sends = store
        .count_attempt(
            &sha256(&slot.send_limit_key()),
            limits.target_window_seconds,
            now,
        )
        .await?;
    let address_sends = match client_address {
        Some(address) => Some(
            store
                .count_attempt(
                    &sha256(&SendLimits::address_key(address)),
                    limits.address_window_seconds,
                    now,
                )
                .await?,
        ),
        None => None,
    };
    Ok(limits.refused(target_sends, address_sends))
}

/// Whether `e` is the database refusing a duplicate in a unique column.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[async_trait]
impl<DB: Dialect> AccountStore for SqlStore<DB>
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
    async fn issue_passcode(
        &self,
        slot: &PasscodeSlot,
        code: &PasscodeHash,
        now: DateTime<Utc>,
    ) -> StoreResult<DateTime<Utc>> {
        let expires_at = app::domain::account::passcode::expires_at(now);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE passcodes SET cancelled_at = $3 \
             WHERE target_hash = $1 AND purpose = $2 AND used_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(&slot.target_hash)
        .bind(slot.purpose.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The conflict arises only when another issue for the slot committed between the two statements: its
        // code is replaced in place (tries start again), which is what cancelling it would have done.
        sqlx::query(
            "INSERT INTO passcodes (target_kind, target_hash, purpose, code_hash, created_at, expires_at, tries) \
             VALUES ($1, $2, $3, $4, $5, $6, 0) \
             ON CONFLICT (target_hash, purpose) WHERE used_at IS NULL AND cancelled_at IS NULL \
             DO UPDATE SET code_hash = excluded.code_hash, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, tries = 0",
        )
        .bind(slot.kind.as_str())
        .bind(&slot.target_hash)
        .bind(slot.purpose.as_str())
        .bind(code.as_str())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(expires_at)
    }

    async fn verify_passcode(
        &self,
        slot: &PasscodeSlot,
        typed: &PasscodeHash,
        now: DateTime<Utc>,
    ) -> StoreResult<PasscodeCheck> {
        let claimed: Option<ClaimedRow> = sqlx::query_as(
            "UPDATE passcodes SET tries = tries + 1 \
             WHERE target_hash = $1 AND purpose = $2 AND used_at IS NULL AND cancelled_at IS NULL \
             AND tries < $3 AND expires_at > $4 \
             RETURNING id, code_hash, tries",
        )
        .bind(&slot.target_hash)
        .bind(slot.purpose.as_str())
        .bind(i64::from(MAX_TRIES))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(claimed) = claimed else {
            let live: Option<(i64, DateTime<Utc>)> = sqlx::query_as(
                "SELECT tries, expires_at FROM passcodes \
                 WHERE target_hash = $1 AND purpose = $2 AND used_at IS NULL AND cancelled_at IS NULL",
            )
            .bind(&slot.target_hash)
            .bind(slot.purpose.as_str())
            .fetch_optional(&self.pool)
            .await?;
            let live = live
                .map(|(tries, expires_at)| (u32::try_from(tries).unwrap_or(u32::MAX), expires_at));
            return Ok(check_unclaimed(live, now));
        };
        let stored = PasscodeHash::from_stored(claimed.code_hash);
        let tries = u32::try_from(claimed.tries).unwrap_or(u32::MAX);
        let check = check_claimed(&stored, typed, tries);
        if check != PasscodeCheck::Ok {
            return Ok(check);
        }
        // The hash too: a code replaced in place since the claim (see `issue_passcode`) is another code.
        let used = sqlx::query(
            "UPDATE passcodes SET used_at = $2 \
             WHERE id = $1 AND code_hash = $3 AND used_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(claimed.id)
        .bind(now)
        .bind(stored.as_str())
        .execute(&self.pool)
        .await?;
        Ok(if used.rows_affected() == 1 {
            PasscodeCheck::Ok
        } else {
            PasscodeCheck::NoCode
        })
    }

    async fn forget_passcodes_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM passcodes WHERE expires_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn create_account(
        &self,
        account: &NewAccount,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Account, Taken>> {
        let mut tx = self.pool.begin().await?;
        // Blank: `users.email` is One Login's verified email, which an account-only person has not got.
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, created_at, last_signed_in_at) VALUES ('', $1, $1) RETURNING id",
        )
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        // A clash on either unique column inserts nothing (a creation at the same moment waits for the other's
        // commit first): which one is found afterwards, without reading the database's error.
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "INSERT INTO accounts (user_id, email, email_key, mobile, first_name, last_name, preferred_name, \
             date_of_birth, last_name_key, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT DO NOTHING RETURNING {ACCOUNT_COLUMNS}"
        ))
        .bind(user_id)
        .bind(account.email.address())
        .bind(account.email.key())
        .bind(account.mobile.as_ref().map(Mobile::as_str))
        .bind(&account.name.first)
        .bind(&account.name.last)
        .bind(account.name.preferred.as_deref())
        .bind(account.date_of_birth)
        .bind(name_key(&account.name.last))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            tx.commit().await?;
            return Ok(Ok(row.try_into()?));
        }
        tx.rollback().await?;
        if self.account_by_email(&account.email).await?.is_some() {
            return Ok(Err(Taken::Email));
        }
        if let Some(mobile) = &account.mobile {
            if self.account_by_mobile(mobile).await?.is_some() {
                return Ok(Err(Taken::Mobile));
            }
        }
        Err(StoreError::Corrupt(
            "a new account clashed with an account that is not there".into(),
        ))
    }

    async fn account(&self, user_id: i64) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account_by_email(&self, email: &AccountEmail) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email_key = $1"
        ))
        .bind(email.key())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Account::try_from).transpose()
    }

    async fn account_by_mobile(&self, mobile: &Mobile) -> StoreResult<Option<Account>> {
        let row: Option<AccountRow> = sqlx::query_as(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE mobile = $1"
        ))
        .bind(mobile.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Account::try_from).transpose()
    }

    async fn possible_duplicates(&self, applicant: &Applicant<'_>) -> StoreResult<Vec<Account>> {
        let mut found = Vec::new();
        found.extend(self.account_by_email(applicant.email).await?);
        if let Some(mobile) = applicant.mobile {
            found.extend(self.account_by_mobile(mobile).await?);
        }
        if let Some((_, last, dob)) = applicant.name_and_date_of_birth {
            let rows: Vec<AccountRow> = sqlx::query_as(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE last_name_key = $1 AND date_of_birth = $2 \
                 ORDER BY user_id LIMIT $3"
            ))
            .bind(name_key(last))
            .bind(dob)
            .bind(MAX_NAMESAKES)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                found.push(row.try_into()?);
            }
        }
        found.sort_by_key(|a: &Account| a.user_id);
        found.dedup_by_key(|a| a.user_id);
        Ok(found)
    }

    async fn change_account_email(
        &self,
        user_id: i64,
        email: &AccountEmail,
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        // `email_key` is the only unique column this changes, so a unique violation can only mean it is taken.
        let changed = sqlx::query(
            "UPDATE accounts SET email = $2, email_key = $3, updated_at = $4 WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(email.address())
        .bind(email.key())
        .bind(now)
        .execute(&self.pool)
        .await;
        Self::account_change(changed)
    }

    async fn change_account_mobile(
        &self,
        user_id: i64,
        mobile: Option<&Mobile>,
        now: DateTime<Utc>,
    ) -> StoreResult<AccountChange> {
        // `mobile` is the only unique column this changes (see `change_account_email`).
        let changed =
            sqlx::query("UPDATE accounts SET mobile = $2, updated_at = $3 WHERE user_id = $1")
                .bind(user_id)
                .bind(mobile.map(Mobile::as_str))
                .bind(now)
                .execute(&self.pool)
                .await;
        Self::account_change(changed)
    }

    async fn change_account_details(
        &self,
        user_id: i64,
        name: &AccountName,
        date_of_birth: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<DetailsChange> {
        let changed = sqlx::query(
            "UPDATE accounts SET first_name = $2, last_name = $3, preferred_name = $4, last_name_key = $5, \
             date_of_birth = $6, updated_at = $7 \
             WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM connections WHERE user_id = $1)",
        )
        .bind(user_id)
        .bind(&name.first)
        .bind(&name.last)
        .bind(name.preferred.as_deref())
        .bind(name_key(&name.last))
        .bind(date_of_birth)
        .bind(now)
        .execute(&self.pool)
        .await?;
        if changed.rows_affected() == 1 {
            return Ok(DetailsChange::Changed);
        }
        Ok(match self.account(user_id).await? {
            Some(_) => DetailsChange::TrnHeld,
            None => DetailsChange::NoAccount,
        })
    }
}

impl<DB: Dialect> SqlStore<DB> {
    /// An account update's outcome from its result.
    fn account_change(
        result: Result<<DB as sqlx::Database>::QueryResult, sqlx::Error>,
    ) -> StoreResult<AccountChange> {
        match result {
            Ok(r) if r.rows_affected() == 1 => Ok(AccountChange::Changed),
            Ok(_) => Ok(AccountChange::NoAccount),
            Err(e) if is_unique_violation(&e) => Ok(AccountChange::Taken),
            Err(e) => Err(e.into()),
        }
    }
}
