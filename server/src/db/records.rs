//! Teaching records: bulk insert for the synthetic generator, and the look-ups the teacher journey needs.

use super::{Dialect, SqlStore, StoreError, StoreResult};
use app::domain::names::name_key;
use app::domain::records::{
    PreviousName, Qualification, QualificationKind, RecordStatus, TeachingRecord,
};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::QueryBuilder;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Type};

/// Rows per multi-row INSERT: under SQLite's 32,766 bound parameters for the widest table (14 columns).
const BATCH: usize = 1000;

#[async_trait]
pub trait RecordStore {
    /// Inserts records with their previous names and qualifications, in one transaction.
    async fn insert_records(
        &self,
        records: &[TeachingRecord],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Loads the records `batches` brings, in order, in one transaction, the fastest way the backend has (seeding
    /// millions: see `db/bulk.rs`). The records are stored exactly as [`Self::insert_records`] stores them. Commits
    /// only if `expected` records came, so a generator that stopped early leaves nothing behind.
    async fn bulk_load_records(
        &self,
        batches: tokio::sync::mpsc::Receiver<Vec<TeachingRecord>>,
        expected: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn count_records(&self) -> StoreResult<i64>;
    async fn record_by_trn(&self, trn: &str) -> StoreResult<Option<TeachingRecord>>;
    /// Records born on `date_of_birth` whose current or a previous last name has the key of `last_name`.
    async fn records_by_date_of_birth_and_last_name(
        &self,
        date_of_birth: NaiveDate,
        last_name: &str,
    ) -> StoreResult<Vec<TeachingRecord>>;
    /// Every initial teacher training provider the records name, once each, sorted: the suggestions of the third
    /// question's provider field (DESIGN §5).
    async fn itt_providers(&self) -> StoreResult<Vec<String>>;
}

#[derive(sqlx::FromRow)]
pub(super) struct PersonRow {
    pub(super) id: i64,
    trn: String,
    first_name: String,
    middle_name: Option<String>,
    last_name: String,
    date_of_birth: NaiveDate,
    nino: Option<String>,
    email: Option<String>,
    status: String,
}

#[derive(sqlx::FromRow)]
pub(super) struct PreviousNameRow {
    pub(super) first_name: String,
    pub(super) middle_name: Option<String>,
    pub(super) last_name: String,
    pub(super) valid_until: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
pub(super) struct QualificationRow {
    kind: String,
    name: String,
    status: String,
    awarded_on: Option<NaiveDate>,
    provider: Option<String>,
}

pub(super) fn to_record(
    p: PersonRow,
    previous: Vec<PreviousNameRow>,
    quals: Vec<QualificationRow>,
) -> StoreResult<TeachingRecord> {
    let status = RecordStatus::parse(&p.status)
        .ok_or_else(|| StoreError::Corrupt(format!("status {}", p.status)))?;
    let qualifications = quals
        .into_iter()
        .map(|q| {
            let kind = QualificationKind::parse(&q.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("kind {}", q.kind)))?;
            Ok(Qualification {
                kind,
                name: q.name,
                status: q.status,
                awarded_on: q.awarded_on,
                provider: q.provider,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(TeachingRecord {
        trn: p.trn,
        first_name: p.first_name,
        middle_name: p.middle_name,
        last_name: p.last_name,
        date_of_birth: p.date_of_birth,
        nino: p.nino,
        email: p.email,
        status,
        previous_names: previous
            .into_iter()
            .map(|n| PreviousName {
                first_name: n.first_name,
                middle_name: n.middle_name,
                last_name: n.last_name,
                valid_until: n.valid_until,
            })
            .collect(),
        qualifications,
    })
}

pub(super) const PERSON_COLUMNS: &str =
    "id, trn, first_name, middle_name, last_name, date_of_birth, nino, email, status";

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
    /// The record of `person` with its previous names and qualifications.
    pub(super) async fn load_full(&self, person: PersonRow) -> StoreResult<TeachingRecord> {
        use sqlx::Row;
        // Previous names and qualifications in one round trip (a teacher's record page runs this on every view):
        // `part` 0 is a previous name (a first, b middle, c last name, d valid until), 1 a qualification (a kind,
        // b name, c status, d awarded on, e provider).
        let mut conn = self.lookups.get().await?;
        let found = sqlx::query(
            "SELECT CAST(0 AS BIGINT) AS part, id, first_name AS a, middle_name AS b, last_name AS c, \
             valid_until AS d, NULL AS e FROM previous_names WHERE person_id = $1 \
             UNION ALL \
             SELECT CAST(1 AS BIGINT), id, kind, name, status, awarded_on, provider FROM qualifications \
             WHERE person_id = $1 \
             ORDER BY part, id",
        )
        .bind(person.id)
        .fetch_all(&mut *conn)
        .await;
        let rows = conn.check(found)?;
        let mut previous = Vec::new();
        let mut quals = Vec::new();
        for row in &rows {
            let a: Option<String> = row.try_get(2)?;
            let b: Option<String> = row.try_get(3)?;
            let c: Option<String> = row.try_get(4)?;
            let d: Option<NaiveDate> = row.try_get(5)?;
            let missing = || StoreError::Corrupt("record part without a required column".into());
            if row.try_get::<i64, _>(0)? == 0 {
                previous.push(PreviousNameRow {
                    first_name: a.ok_or_else(missing)?,
                    middle_name: b,
                    last_name: c.ok_or_else(missing)?,
                    valid_until: d,
                });
            } else {
                quals.push(QualificationRow {
                    kind: a.ok_or_else(missing)?,
                    name: b.ok_or_else(missing)?,
                    status: c.ok_or_else(missing)?,
                    awarded_on: d,
                    provider: row.try_get(6)?,
                });
            }
        }
        to_record(person, previous, quals)
    }
}

#[async_trait]
impl<DB: Dialect> RecordStore for SqlStore<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<NaiveDate>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
{
    async fn insert_records(
        &self,
        records: &[TeachingRecord],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let max_id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM persons")
            .fetch_one(&mut *tx)
            .await?;
        let first_id = max_id.unwrap_or(0) + 1;
        // Ids are given here, not by the database, so children can refer to parents within one batch.
        let with_ids: Vec<(i64, &TeachingRecord)> = (first_id..).zip(records.iter()).collect();
        insert_rows::<DB>(&mut tx, &with_ids, now).await?;
        for statement in DB::AFTER_BULK_INSERT {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn bulk_load_records(
        &self,
        batches: tokio::sync::mpsc::Receiver<Vec<TeachingRecord>>,
        expected: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        // SQLite's checkpoints wait while the load switches journal modes ([`super::checkpoint`]).
        let _paused = match &self.checkpoints {
            Some(checkpoints) => Some(checkpoints.pause().await),
            None => None,
        };
        DB::bulk_load_records(&self.pool, batches, expected, now).await
    }

    async fn count_records(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM persons")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn record_by_trn(&self, trn: &str) -> StoreResult<Option<TeachingRecord>> {
        let person: Option<PersonRow> = sqlx::query_as(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE trn = $1"
        ))
        .bind(trn)
        .fetch_optional(&self.pool)
        .await?;
        match person {
            Some(p) => Ok(Some(self.load_full(p).await?)),
            None => Ok(None),
        }
    }

    async fn records_by_date_of_birth_and_last_name(
        &self,
        date_of_birth: NaiveDate,
        last_name: &str,
    ) -> StoreResult<Vec<TeachingRecord>> {
        let key = name_key(last_name);
        let people: Vec<PersonRow> = sqlx::query_as(&format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE date_of_birth = $1 AND last_name_key = $2 \
             UNION \
             SELECT {PERSON_COLUMNS} FROM persons WHERE date_of_birth = $1 AND id IN \
             (SELECT person_id FROM previous_names WHERE last_name_key = $2) \
             ORDER BY trn"
        ))
        .bind(date_of_birth)
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        let mut records = Vec::with_capacity(people.len());
        for p in people {
            records.push(self.load_full(p).await?);
        }
        Ok(records)
    }

    async fn itt_providers(&self) -> StoreResult<Vec<String>> {
        // A DISTINCT reads every ITT line (0.7–1.2 s at 2,000,000 records on either backend); stepping from one
        // provider to the next in the partial index `qualifications_itt_provider` reads one entry per provider.
        Ok(sqlx::query_scalar(
            "WITH RECURSIVE p (provider) AS ( \
               SELECT MIN(provider) FROM qualifications WHERE kind = 'itt' \
               UNION ALL \
               SELECT (SELECT MIN(q.provider) FROM qualifications q WHERE q.kind = 'itt' AND q.provider > p.provider) \
               FROM p WHERE p.provider IS NOT NULL) \
             SELECT provider FROM p WHERE provider IS NOT NULL ORDER BY provider",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Inserts records with the ids given, with their previous names and qualifications, in multi-row statements of
/// [`BATCH`] rows. Shared by [`RecordStore::insert_records`] and SQLite's bulk load, so both store the same rows.
pub(super) async fn insert_rows<DB: Dialect>(
    conn: &mut DB::Connection,
    with_ids: &[(i64, &TeachingRecord)],
    now: DateTime<Utc>,
) -> StoreResult<()>
where
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> Option<NaiveDate>: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> NaiveDate: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    for chunk in with_ids.chunks(BATCH) {
        let mut q = QueryBuilder::<DB>::new(
            "INSERT INTO persons (id, trn, first_name, middle_name, last_name, first_name_key, \
             last_name_key, date_of_birth, nino, email, email_key, status, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut b, (id, r)| {
            b.push_bind(*id)
                .push_bind(r.trn.as_str())
                .push_bind(r.first_name.as_str())
                .push_bind(r.middle_name.as_deref())
                .push_bind(r.last_name.as_str())
                .push_bind(name_key(&r.first_name))
                .push_bind(name_key(&r.last_name))
                .push_bind(r.date_of_birth)
                // In the form a typed NINO takes, so the candidate search's `nino = $1` finds it.
                .push_bind(
                    r.nino
                        .as_deref()
                        .and_then(app::domain::validation::Nino::key),
                )
                .push_bind(r.email.as_deref())
                .push_bind(r.email.as_deref().map(str::to_lowercase))
                .push_bind(r.status.as_str())
                .push_bind(now)
                .push_bind(now);
        });
        DB::execute_built(q, &mut *conn).await?;

        // Each previous name with its person's date of birth, which the candidate search looks them up by.
        let names: Vec<(i64, &PreviousName, NaiveDate)> = chunk
            .iter()
            .flat_map(|(id, r)| {
                r.previous_names
                    .iter()
                    .map(move |n| (*id, n, r.date_of_birth))
            })
            .collect();
        for names in names.chunks(BATCH) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO previous_names (person_id, first_name, middle_name, last_name, \
                 first_name_key, last_name_key, valid_until, date_of_birth) ",
            );
            q.push_values(names, |mut b, (id, n, born)| {
                b.push_bind(*id)
                    .push_bind(n.first_name.as_str())
                    .push_bind(n.middle_name.as_deref())
                    .push_bind(n.last_name.as_str())
                    .push_bind(name_key(&n.first_name))
                    .push_bind(name_key(&n.last_name))
                    .push_bind(n.valid_until)
                    .push_bind(*born);
            });
            DB::execute_built(q, &mut *conn).await?;
        }

        let quals: Vec<(i64, &Qualification)> = chunk
            .iter()
            .flat_map(|(id, r)| r.qualifications.iter().map(move |q| (*id, q)))
            .collect();
        for quals in quals.chunks(BATCH) {
            let mut q = QueryBuilder::<DB>::new(
                "INSERT INTO qualifications (person_id, kind, name, status, awarded_on, provider) ",
            );
            q.push_values(quals, |mut b, (id, qual)| {
                b.push_bind(*id)
                    .push_bind(qual.kind.as_str())
                    .push_bind(qual.name.as_str())
                    .push_bind(qual.status.as_str())
                    .push_bind(qual.awarded_on)
                    .push_bind(qual.provider.as_deref());
            });
            DB::execute_built(q, &mut *conn).await?;
        }
    }
    Ok(())
}
