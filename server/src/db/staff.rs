//! Support staff: who signed in with Microsoft Entra ID, and their roles.

use super::{Dialect, RowsAffected, SqlStore, StoreError, StoreResult};
use app::domain::support::{Role, StaffMember};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// What the identity provider told us at a staff sign-in.
#[derive(Clone, Debug)]
pub struct StaffSignIn<'a> {
    pub subject: &'a str,
    /// The provider's stable ids for the person: Entra's tenant id (`tid`) and object id (`oid`).
    pub tenant_id: &'a str,
    pub object_id: &'a str,
    pub email: &'a str,
    /// Whether the provider vouches for the email (see [`crate::staff_auth`]); only then may it claim a role set
    /// up in advance for that email, or become the member's email.
    pub email_verified: bool,
    pub name: &'a str,
}

/// What came of a role change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleChange {
    Changed,
    NoSuchMember,
    /// It would leave no administrator: refused, nothing changed.
    LastAdministrator,
}

#[async_trait]
pub trait StaffStore {
    /// Records a staff sign-in: the member bound to these provider ids (tenant and object id); else the member who
    /// signed in with this subject before the ids were kept (now bound to them); else, with a verified email, the
    /// member added by that email who has not signed in yet (now bound); else a new member with no role. A bound
    /// member's email follows a verified email claim that no one else has.
    async fn staff_signed_in(
        &self,
        who: &StaffSignIn<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffMember>;
    async fn staff_by_id(&self, id: i64) -> StoreResult<Option<StaffMember>>;
    /// Adds a member of staff by email with a role, or sets the role of the one with that email.
    async fn add_staff(
        &self,
        email: &str,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffMember>;
    /// Sets (or removes) a role, in one transaction that refuses to leave no administrator.
    async fn set_role(&self, staff_id: i64, role: Option<Role>) -> StoreResult<RoleChange>;
    async fn list_staff(&self) -> StoreResult<Vec<StaffMember>>;
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    id: i64,
    email: String,
    name: String,
    role: Option<String>,
    last_signed_in_at: Option<DateTime<Utc>>,
}

impl TryFrom<StaffRow> for StaffMember {
    type Error = StoreError;
    fn try_from(r: StaffRow) -> StoreResult<Self> {
        let role = match r.role.as_deref() {
            None => None,
            Some(s) => Some(
                Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("staff role {s:?}")))?,
            ),
        };
        Ok(StaffMember {
            id: r.id,
            email: r.email,
            name: r.name,
            role,
            last_signed_in_at: r.last_signed_in_at,
        })
    }
}

const STAFF_COLUMNS: &str = "id, email, name, role, last_signed_in_at";

#[async_trait]
impl<DB: Dialect> StaffStore for SqlStore<DB>
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
    async fn staff_signed_in(
        &self,
        who: &StaffSignIn<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffMember> {
        let email = who.email.trim().to_lowercase();
        // A bound member: their email follows a verified claim, unless another member has that email.
        let bound: Option<StaffRow> = sqlx::query_as(&format!(
            "UPDATE staff SET name = $3, last_signed_in_at = $4, \
             email = CASE WHEN $6 AND NOT EXISTS (SELECT 1 FROM staff o WHERE o.email = $5 AND o.id <> staff.id) \
             THEN $5 ELSE email END \
             WHERE tenant_id = $1 AND object_id = $2 RETURNING {STAFF_COLUMNS}"
        ))
        .bind(who.tenant_id)
        .bind(who.object_id)
        .bind(who.name)
        .bind(now)
        .bind(&email)
        .bind(who.email_verified)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = bound {
            return row.try_into();
        }
        // Signed in before the ids were kept: bound by `sub` then, bound by the ids from now on.
        let legacy: Option<StaffRow> = sqlx::query_as(&format!(
            "UPDATE staff SET tenant_id = $1, object_id = $2, name = $3, last_signed_in_at = $4 \
             WHERE subject = $5 AND object_id IS NULL RETURNING {STAFF_COLUMNS}"
        ))
        .bind(who.tenant_id)
        .bind(who.object_id)
        .bind(who.name)
        .bind(now)
        .bind(who.subject)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = legacy {
            return row.try_into();
        }
        // A role set up in advance for an email is claimed only with an email the provider vouches for.
        if who.email_verified {
            let claimed: Option<StaffRow> = sqlx::query_as(&format!(
                "UPDATE staff SET tenant_id = $1, object_id = $2, name = $3, last_signed_in_at = $4 \
                 WHERE email = $5 AND subject IS NULL AND object_id IS NULL RETURNING {STAFF_COLUMNS}"
            ))
            .bind(who.tenant_id)
            .bind(who.object_id)
            .bind(who.name)
            .bind(now)
            .bind(&email)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = claimed {
                return row.try_into();
            }
        }
        // Someone new: no role until an administrator gives one. An email that is taken, or that the
        // provider does not vouch for, is not theirs to use: they get a marked copy that cannot collide
        // (so `server staff add` with that email can never give them a role).
        let row: StaffRow = sqlx::query_as(&format!(
            "INSERT INTO staff (tenant_id, object_id, email, name, role, created_at, last_signed_in_at) \
             VALUES ($1, $2, CASE WHEN $6 AND NOT EXISTS (SELECT 1 FROM staff WHERE email = $3) THEN $3 \
             ELSE $3 || '#' || $2 END, $4, NULL, $5, $5) RETURNING {STAFF_COLUMNS}"
        ))
        .bind(who.tenant_id)
        .bind(who.object_id)
        .bind(&email)
        .bind(who.name)
        .bind(now)
        .bind(who.email_verified)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn staff_by_id(&self, id: i64) -> StoreResult<Option<StaffMember>> {
        let row: Option<StaffRow> =
            sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn add_staff(
        &self,
        email: &str,
        name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<StaffMember> {
        let row: StaffRow = sqlx::query_as(&format!(
            "INSERT INTO staff (subject, email, name, role, created_at) VALUES (NULL, $1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET role = excluded.role RETURNING {STAFF_COLUMNS}"
        ))
        .bind(email.trim().to_lowercase())
        .bind(name)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        row.try_into()
    }

    async fn set_role(&self, staff_id: i64, role: Option<Role>) -> StoreResult<RoleChange> {
        let mut tx = self.pool.begin().await?;
        // Every administrator row is locked first (on SQLite: the write lock), so two administrators
        // removing each other at once go one after the other, and the second sees the first's change.
        sqlx::query(DB::LOCK_ADMINISTRATORS)
            .execute(&mut *tx)
            .await?;
        let changed = sqlx::query("UPDATE staff SET role = $2 WHERE id = $1")
            .bind(staff_id)
            .bind(role.map(Role::as_str))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(RoleChange::NoSuchMember);
        }
        let administrators: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM staff WHERE role = 'administrator'")
                .fetch_one(&mut *tx)
                .await?;
        if administrators == 0 {
            // Dropping the transaction rolls the change back.
            return Ok(RoleChange::LastAdministrator);
        }
        tx.commit().await?;
        Ok(RoleChange::Changed)
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffMember>> {
        let rows: Vec<StaffRow> = sqlx::query_as(&format!(
            "SELECT {STAFF_COLUMNS} FROM staff ORDER BY name, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
