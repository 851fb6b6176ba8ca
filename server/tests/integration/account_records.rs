//! The record of a DfE Identity account (issue 13 §3 and §5, DESIGN §7.3) on both backends: connecting an
//! account's person to the record found, "TRN in use", merging two people into one (what it keeps, what it
//! refuses, two at once), and the third task kind acted on by two officers: one assigns a TRN while the other has
//! the task open and is refused; the account's next sign-in finds its TRN; "no TRN" stops further look-ups.

use app::domain::account::{AccountEmail, AccountName, Mobile, NewAccount};
use app::domain::account_record::AccountAnswers;
use app::domain::identity::VerifiedEmail;
use app::domain::journey::Answer;
use app::domain::matching::MatchedVia;
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::support::{
    describe_event, Decision, NotConnectedReason, Role, StaffMember, StatusFilter, TaskChange,
    TaskKind, TaskQuery, TaskStatus, PEOPLE_MERGED,
};
use app::domain::task_details::{AccountRecordMatchingDetails, TaskDetails};
use app::domain::validation::parse_nino;
use chrono::{DateTime, NaiveDate, Utc};
use server::db::account_records::{AccountLookup, KeepAccount, MergeRefused, MergedBy, TrnHolder};
use server::db::connect::{ConnectResult, NewSupportTask};
use server::db::support::{NewEmail, TaskChangeRefused};
use server::db::{Backend, DynStore};

on_both_backends!(
    an_accounts_record_is_connected_and_found_at_its_next_sign_in,
    trn_in_use_names_the_holder_and_where_the_passcode_goes,
    merging_keeps_every_connection_task_subject_code_and_history_event,
    merging_two_accounts_keeps_the_chosen_email,
    merges_that_would_lose_or_confuse_something_are_refused_and_change_nothing,
    two_merges_of_one_person_at_once_merge_once,
    an_account_task_is_decided_once_across_officers_and_its_trn_found_at_sign_in,
    no_trn_stops_further_look_ups,
    the_third_kind_is_filtered_searched_and_counted_like_the_others,
    migration_0029_keeps_tasks_their_counts_search_columns_and_triggers,
    an_account_is_looked_up_at_each_sign_in_until_found_or_no_trn,
    the_history_names_an_account_holders_dfe_identity_account_and_a_teachers_one_login,
);

async fn store_on(backend: Backend) -> Option<(DynStore, String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let (store, dir) = crate::support::sqlite_store().await;
            let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
            Some((store, url, Some(dir)))
        }
        Backend::Postgres => match crate::support::postgres_store().await {
            Some((store, url)) => Some((store, url, None)),
            None => {
                eprintln!("TEST_POSTGRES_URL is not set: account records on PostgreSQL not run");
                None
            }
        },
    }
}

/// The first column, as text, of the rows `sql` (portable, no parameters) selects on the database at `url`.
async fn texts(backend: Backend, url: &str, sql: &str) -> Vec<String> {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }
}

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
}

fn record(trn: &str, first: &str, last: &str) -> TeachingRecord {
    TeachingRecord {
        trn: trn.into(),
        first_name: first.into(),
        middle_name: None,
        last_name: last.into(),
        date_of_birth: dob(),
        nino: Some("AB123456C".into()),
        email: None,
        status: RecordStatus::Active,
        previous_names: Vec::new(),
        qualifications: Vec::new(),
    }
}

async fn account(store: &DynStore, email: &str, mobile: Option<&str>, now: DateTime<Utc>) -> i64 {
    let new = NewAccount {
        email: AccountEmail::parse(email).unwrap(),
        mobile: mobile.map(|m| Mobile::parse(m).unwrap()),
        name: AccountName {
            first: "Ann".into(),
            last: "Lee".into(),
            preferred: None,
        },
        date_of_birth: dob(),
    };
    store
        .create_account(&new, now)
        .await
        .unwrap()
        .unwrap()
        .user_id
}

async fn one_login(store: &DynStore, sub: &str, email: &str, now: DateTime<Utc>) -> i64 {
    store
        .sign_in_user(sub, VerifiedEmail::verified_before(email).as_ref(), now)
        .await
        .unwrap()
        .id
}

async fn officer(store: &DynStore, email: &str, now: DateTime<Utc>) -> StaffMember {
    store
        .add_staff(email, email, Role::SupportOfficer, now)
        .await
        .unwrap()
}

fn account_task(user_id: i64, email: &str) -> NewSupportTask {
    NewSupportTask {
        user_id,
        details: TaskDetails::AccountRecordMatching(AccountRecordMatchingDetails {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            preferred_name: None,
            date_of_birth: dob(),
            email: email.into(),
            mobile: Some("+447700900123".into()),
            answers: AccountAnswers {
                nino: Some(Answer::Yes(parse_nino("AB123456C").unwrap())),
                trn: Some(Answer::No),
                itt: Some(Answer::No),
            },
            flags: Default::default(),
        }),
        client_id: Some("npq".into()),
    }
}

fn email_to(address: &str, task: &str, template: &str) -> NewEmail {
    NewEmail {
        reference: format!("{task}-{template}"),
        template: template.into(),
        email_address: address.into(),
        personalisation: Default::default(),
        task_reference: Some(task.into()),
    }
}

fn all_tasks() -> TaskQuery {
    TaskQuery {
        status: StatusFilter::All,
        page: 1,
        ..Default::default()
    }
}

async fn an_accounts_record_is_connected_and_found_at_its_next_sign_in(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(&[record("1234567", "Ann", "Lee")], now)
        .await
        .unwrap();
    let ann = account(&store, "ann@example.com", None, now).await;
    assert_eq!(
        store.account_lookup(ann).await.unwrap(),
        AccountLookup::LookUp
    );
    assert_eq!(
        store
            .connect_account(ann, "1234567", MatchedVia::Nino, now)
            .await
            .unwrap(),
        ConnectResult::Connected
    );
    assert_eq!(
        store.account_lookup(ann).await.unwrap(),
        AccountLookup::Found {
            trn: "1234567".into()
        }
    );
    // The change history names the account's email, as it names One Login's.
    let history = store.record_history("1234567").await.unwrap();
    assert_eq!(history.len(), 1);
    let event = history[0].details.as_ref().unwrap();
    assert_eq!(
        (event.user_id, event.one_login_email.as_str()),
        (ann, "ann@example.com")
    );
    // Nobody else holds it, as far as Ann is concerned.
    assert_eq!(store.trn_holder("1234567", ann).await.unwrap(), None);
    assert_eq!(
        store
            .connect_account(ann, "9999999", MatchedVia::Nino, now)
            .await
            .unwrap(),
        ConnectResult::UnknownRecord
    );
}

async fn trn_in_use_names_the_holder_and_where_the_passcode_goes(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(
            &[
                record("1234567", "Ann", "Lee"),
                record("7654321", "Bo", "Ng"),
            ],
            now,
        )
        .await
        .unwrap();
    let teacher = one_login(
        &store,
        "urn:fdc:gov.uk:2022:ann",
        "ann.onelogin@example.com",
        now,
    )
    .await;
    store
        .connect_user(
            teacher,
            "1234567",
            MatchedVia::Nino,
            "ann.onelogin@example.com",
            now,
        )
        .await
        .unwrap();
    let ann = account(&store, "ann@example.com", None, now).await;
    // The One Login person holds it: the passcode goes to the One Login email on file (issue 13 §6).
    assert_eq!(
        store.trn_holder("1234567", ann).await.unwrap(),
        Some(TrnHolder {
            user_id: teacher,
            email: "ann.onelogin@example.com".into(),
            one_login: true,
            account: false,
        })
    );
    // An account holding one is reached at the account's email.
    let bo = account(&store, "bo@example.com", None, now).await;
    store
        .connect_account(bo, "7654321", MatchedVia::Trn, now)
        .await
        .unwrap();
    assert_eq!(
        store.trn_holder("7654321", ann).await.unwrap(),
        Some(TrnHolder {
            user_id: bo,
            email: "bo@example.com".into(),
            one_login: false,
            account: true,
        })
    );
    // Connecting anyway is refused: one record, one person.
    assert_eq!(
        store
            .connect_account(ann, "1234567", MatchedVia::Nino, now)
            .await
            .unwrap(),
        ConnectResult::RecordTaken
    );
}

async fn merging_keeps_every_connection_task_subject_code_and_history_event(backend: Backend) {
    let Some((store, url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(&[record("1234567", "Ann", "Lee")], now)
        .await
        .unwrap();
    // Kept: a One Login person connected to the record, signed in to a service.
    let teacher = one_login(
        &store,
        "urn:fdc:gov.uk:2022:ann",
        "ann.onelogin@example.com",
        now,
    )
    .await;
    store
        .connect_user(
            teacher,
            "1234567",
            MatchedVia::Nino,
            "ann.onelogin@example.com",
            now,
        )
        .await
        .unwrap();
    let kept_subject = store.provider_subject(teacher, now).await.unwrap();
    // Goes: an account with an open task, a provider subject, a session, and a task decided long ago.
    let ann = account(&store, "ann@example.com", Some("07400 123456"), now).await;
    let gone_subject = store.provider_subject(ann, now).await.unwrap();
    let task = store
        .raise_support_task(&account_task(ann, "ann@example.com"), now)
        .await
        .unwrap();
    store
        .insert_session(
            "session-of-ann",
            "{}",
            None,
            Some(ann),
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    store
        .insert_session(
            "session-of-teacher",
            "{}",
            Some("urn:fdc:gov.uk:2022:ann"),
            Some(teacher),
            now,
            now + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let audit_before = store.latest_audit_id().await.unwrap();

    let report = store
        .merge_users(teacher, ann, KeepAccount::Gone, MergedBy::Person, now)
        .await
        .unwrap()
        .unwrap();
    assert!(report.account_moved && !report.account_deleted);
    assert!(!report.one_login_moved && !report.connection_moved);
    assert_eq!(report.tasks_moved, 1);
    assert_eq!(report.task_closed, None);
    assert!(
        !report.provider_subject_moved,
        "the kept person had a subject"
    );
    assert_eq!(report.sessions_ended, 1);

    // One person with both ways in: the account and the One Login subject on the kept row.
    let moved = store.account(teacher).await.unwrap().unwrap();
    assert_eq!(moved.email.address(), "ann@example.com");
    assert_eq!(moved.mobile, Some(Mobile::parse("+447400123456").unwrap()));
    assert_eq!(store.account(ann).await.unwrap(), None);
    let kept_user = store.user_by_id(teacher).await.unwrap().unwrap();
    assert_eq!(
        kept_user.email.as_ref().map(VerifiedEmail::as_str),
        Some("ann.onelogin@example.com")
    );
    assert_eq!(
        store.account_lookup(teacher).await.unwrap(),
        AccountLookup::Found {
            trn: "1234567".into()
        }
    );
    // The task is the kept person's now, still open.
    let open = store.open_task_for_user(teacher).await.unwrap().unwrap();
    assert_eq!(open.reference, task.reference);
    assert_eq!(store.open_task_for_user(ann).await.unwrap(), None);
    // The provider subjects both still exist; the kept person's is unchanged.
    assert_eq!(
        store.provider_subject(teacher, now).await.unwrap(),
        kept_subject
    );
    let subjects = texts(
        backend,
        &url,
        &format!("SELECT sub FROM provider_subjects WHERE user_id = {ann}"),
    )
    .await;
    assert_eq!(subjects, [gone_subject]);
    // The person who went points at the kept one; only the kept person's session is left.
    let merged_into = texts(
        backend,
        &url,
        &format!("SELECT CAST(merged_into AS TEXT) FROM users WHERE id = {ann}"),
    )
    .await;
    assert_eq!(merged_into, [teacher.to_string()]);
    let sessions = texts(
        backend,
        &url,
        "SELECT id_hash FROM sessions ORDER BY id_hash",
    )
    .await;
    assert_eq!(sessions, ["session-of-teacher"]);
    // The record's history keeps its connection event and says who merged.
    let history = store.record_history("1234567").await.unwrap();
    assert_eq!(
        history.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["one_login_connected", PEOPLE_MERGED]
    );
    assert_eq!(history[1].details.as_ref().unwrap().user_id, teacher);
    // Audited, with ids only.
    let log = store.audit_log(None, 10).await.unwrap();
    let merged: Vec<_> = log
        .iter()
        .filter(|e| e.id > audit_before && e.action == "people_merged")
        .collect();
    assert_eq!(merged.len(), 1);
    match &merged[0].event {
        server::db::support::AuditEvent::PeopleMerged {
            kept_user_id,
            gone_user_id,
            moved,
        } => {
            assert_eq!((*kept_user_id, *gone_user_id), (teacher, ann));
            assert_eq!(moved, &report);
        }
        other => panic!("{other:?}"),
    }
    // Merged once is merged: again is refused.
    assert_eq!(
        store
            .merge_users(teacher, ann, KeepAccount::Gone, MergedBy::Person, now)
            .await
            .unwrap(),
        Err(MergeRefused::NotMergeable)
    );
}

async fn merging_two_accounts_keeps_the_chosen_email(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(&[record("1234567", "Ann", "Lee")], now)
        .await
        .unwrap();
    // The one who goes holds the record and a One Login subject; both have accounts.
    let kept = account(&store, "ann.home@example.com", None, now).await;
    let gone = account(&store, "ann.school@example.com", None, now).await;
    let sub_user = one_login(&store, "urn:fdc:gov.uk:2022:x", "x@example.com", now).await;
    // A One Login subject on the account that goes: merge the One Login person into it first.
    store
        .merge_users(gone, sub_user, KeepAccount::Kept, MergedBy::Person, now)
        .await
        .unwrap()
        .unwrap();
    store
        .connect_account(gone, "1234567", MatchedVia::Nino, now)
        .await
        .unwrap();

    let report = store
        .merge_users(kept, gone, KeepAccount::Kept, MergedBy::Person, now)
        .await
        .unwrap()
        .unwrap();
    assert!(report.account_deleted && !report.account_moved);
    assert!(report.one_login_moved && report.connection_moved);
    assert_eq!(
        store.account(kept).await.unwrap().unwrap().email.address(),
        "ann.home@example.com"
    );
    // The deleted account's email is free again; the kept person has the record and the One Login subject.
    assert_eq!(
        store
            .account_by_email(&AccountEmail::parse("ann.school@example.com").unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.account_lookup(kept).await.unwrap(),
        AccountLookup::Found {
            trn: "1234567".into()
        }
    );
    let signed_in = store
        .sign_in_user("urn:fdc:gov.uk:2022:x", None, now)
        .await
        .unwrap();
    assert_eq!(signed_in.id, kept);
}

async fn merges_that_would_lose_or_confuse_something_are_refused_and_change_nothing(
    backend: Backend,
) {
    let Some((store, url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(
            &[
                record("1234567", "Ann", "Lee"),
                record("7654321", "Ann", "Lee"),
            ],
            now,
        )
        .await
        .unwrap();
    let a = one_login(&store, "urn:a", "a@example.com", now).await;
    let b = one_login(&store, "urn:b", "b@example.com", now).await;
    let c = account(&store, "c@example.com", None, now).await;
    let d = account(&store, "d@example.com", None, now).await;
    store
        .connect_account(c, "1234567", MatchedVia::Nino, now)
        .await
        .unwrap();
    store
        .connect_account(d, "7654321", MatchedVia::Nino, now)
        .await
        .unwrap();
    let snapshot = || async {
        texts(
            backend,
            &url,
            "SELECT CAST(id AS TEXT) || ':' || COALESCE(one_login_sub, '') || ':' || \
             COALESCE(CAST(merged_into AS TEXT), '') FROM users ORDER BY id",
        )
        .await
    };
    let before = snapshot().await;
    let merge = |keep, gone| {
        let store = store.clone();
        async move {
            store
                .merge_users(keep, gone, KeepAccount::Kept, MergedBy::Person, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(merge(a, a).await, Err(MergeRefused::SamePerson));
    assert_eq!(merge(a, b).await, Err(MergeRefused::BothOneLogin));
    assert_eq!(merge(c, d).await, Err(MergeRefused::DifferentRecords));
    assert_eq!(merge(a, 999_999).await, Err(MergeRefused::NotMergeable));
    assert_eq!(snapshot().await, before);
    assert!(store.account(c).await.unwrap().is_some());
    assert!(store.account(d).await.unwrap().is_some());
}

async fn two_merges_of_one_person_at_once_merge_once(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let gone = account(&store, "gone@example.com", None, now).await;
    let first = account(&store, "first@example.com", None, now).await;
    let second = account(&store, "second@example.com", None, now).await;
    let merge = |keep| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .merge_users(keep, gone, KeepAccount::Gone, MergedBy::Person, now)
                .await
                .unwrap()
        })
    };
    let (a, b) = tokio::join!(merge(first), merge(second));
    let results = [a.unwrap(), b.unwrap()];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results.contains(&Err(MergeRefused::NotMergeable)));
    // The gone account's email is on exactly one of the two now.
    let holders = [
        store.account(first).await.unwrap(),
        store.account(second).await.unwrap(),
    ];
    let with_gone_email = holders
        .iter()
        .flatten()
        .filter(|a| a.email.address() == "gone@example.com")
        .count();
    assert_eq!(with_gone_email, 1);
}

async fn an_account_task_is_decided_once_across_officers_and_its_trn_found_at_sign_in(
    backend: Backend,
) {
    let Some((store, url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(&[record("1234567", "Ann", "Lee")], now)
        .await
        .unwrap();
    let alex = officer(&store, "alex@education.gov.uk", now).await;
    let blair = officer(&store, "blair@education.gov.uk", now).await;
    // The account's record was not found: a task of the third kind.
    let ann = account(&store, "ann@example.com", None, now).await;
    let raised = store
        .raise_support_task(&account_task(ann, "ann@example.com"), now)
        .await
        .unwrap();
    let feed_start = store.latest_audit_id().await.unwrap();
    // Both officers open it at the same version.
    let task = store
        .task_by_reference(&raised.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(task.kind, TaskKind::AccountRecordMatching);
    assert_eq!(task.requester_email, "ann@example.com");
    assert_eq!(task.service.as_deref(), Some("npq"));
    let seen_by_blair = task.version;
    // Alex assigns the TRN.
    let assign = Decision::Connect {
        trn: "1234567".into(),
    };
    store
        .decide_task(
            &raised.reference,
            task.version,
            &assign,
            &alex,
            &email_to("ann@example.com", &raised.reference, "connected"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    // Blair, still looking at the version before, decides "no TRN": refused, saying who decided.
    let refused = store
        .decide_task(
            &raised.reference,
            seen_by_blair,
            &Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None,
            },
            &blair,
            &email_to("ann@example.com", &raised.reference, "not_connected"),
            now,
        )
        .await
        .unwrap();
    assert!(
        matches!(refused, Err(TaskChangeRefused::AlreadyDecided { by: Some(ref by), .. }) if by == &alex.name),
        "{refused:?}"
    );
    // The account's next sign-in finds its TRN, and nothing says "no TRN".
    assert_eq!(
        store.account_lookup(ann).await.unwrap(),
        AccountLookup::Found {
            trn: "1234567".into()
        }
    );
    let decided = store
        .task_by_reference(&raised.reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decided.status, TaskStatus::Done);
    assert_eq!(decided.decision, Some(assign));
    // One email, to the account's address; a change-history event by Alex; open dashboards told once.
    let outbox = texts(
        backend,
        &url,
        "SELECT email_address || ' ' || template FROM email_outbox",
    )
    .await;
    assert_eq!(outbox, ["ann@example.com connected"]);
    let history = store.record_history("1234567").await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].actor, "support:alex@education.gov.uk");
    let changes = store.task_changes_since(feed_start, 10).await.unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| (c.reference.as_str(), c.change))
            .collect::<Vec<_>>(),
        [(raised.reference.as_str(), TaskChange::Decided)]
    );
}

async fn no_trn_stops_further_look_ups(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let alex = officer(&store, "alex@education.gov.uk", now).await;
    let ann = account(&store, "ann@example.com", None, now).await;
    let other = account(&store, "other@example.com", None, now).await;
    let no_trn = Decision::DoNotConnect {
        reason: NotConnectedReason::NoMatchingRecord,
        detail: None,
    };
    let account_email = ("ann@example.com", "not_connected");
    decided_account_task(&store, ann, account_email, &no_trn, &alex, now).await;
    assert_eq!(
        store.account_lookup(ann).await.unwrap(),
        AccountLookup::NoTrn
    );
    // Only hers: another account is still looked up.
    assert_eq!(
        store.account_lookup(other).await.unwrap(),
        AccountLookup::LookUp
    );
    assert_eq!(store.open_task_for_user(ann).await.unwrap(), None);
}

async fn the_third_kind_is_filtered_searched_and_counted_like_the_others(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let me = officer(&store, "me@education.gov.uk", now).await;
    let ann = account(&store, "ann.lee@example.com", None, now).await;
    let raised = store
        .raise_support_task(&account_task(ann, "ann.lee@example.com"), now)
        .await
        .unwrap();
    // A One Login record-matching task beside it.
    let teacher = one_login(&store, "urn:t", "t@example.com", now).await;
    let mut one_login_task = account_task(teacher, "t@example.com");
    one_login_task.details = TaskDetails::parse(
        TaskKind::RecordMatching,
        r#"{"verified":{"names":[{"given_names":["Tom"],"family_name":"Ng","valid_from":null,"valid_until":null}],"dates_of_birth":["1980-01-01"]},"one_login_email":"t@example.com","nino":null,"trn":null}"#,
    )
    .unwrap();
    store
        .raise_support_task(&one_login_task, now)
        .await
        .unwrap();

    let only = |kind| TaskQuery {
        kind: Some(kind),
        ..all_tasks()
    };
    let page = store
        .list_tasks(&only(TaskKind::AccountRecordMatching), me.id)
        .await
        .unwrap();
    assert_eq!(
        page.tasks
            .iter()
            .map(|t| t.reference.as_str())
            .collect::<Vec<_>>(),
        [raised.reference.as_str()]
    );
    assert_eq!(page.tasks[0].kind, TaskKind::AccountRecordMatching);
    assert_eq!(page.tasks[0].name, "Ann Lee");
    assert_eq!((page.counts.open, page.total), (1, 1));
    let others = store
        .list_tasks(&only(TaskKind::RecordMatching), me.id)
        .await
        .unwrap();
    assert_eq!(others.total, 1);
    assert_ne!(others.tasks[0].reference, raised.reference);
    // Search by the account's email and by name finds it.
    for search in ["ann.lee@", "Ann Lee", raised.reference.as_str()] {
        let found = store
            .list_tasks(
                &TaskQuery {
                    search: search.to_string(),
                    ..all_tasks()
                },
                me.id,
            )
            .await
            .unwrap();
        assert_eq!(
            found
                .tasks
                .iter()
                .map(|t| t.reference.as_str())
                .collect::<Vec<_>>(),
            [raised.reference.as_str()],
            "search {search:?}"
        );
    }
    // All kinds: both, counted.
    let all = store.list_tasks(&all_tasks(), me.id).await.unwrap();
    assert_eq!((all.total, all.counts.open), (2, 2));
}

/// A database with every migration before `version` run, and its URL; `None` when PostgreSQL is not there.
async fn migrated_before(
    backend: Backend,
    version: i64,
) -> Option<(String, Option<tempfile::TempDir>)> {
    let folder = |name: &str| {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(name)
    };
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
            let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
                .unwrap()
                .create_if_missing(true)
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let mut migrator = sqlx::migrate::Migrator::new(folder("sqlite"))
                .await
                .unwrap();
            migrator.migrations = migrator
                .migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect::<Vec<_>>()
                .into();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
            Some((url, Some(dir)))
        }
        Backend::Postgres => {
            let base = crate::support::postgres_url()?;
            let name = format!(
                "t_m29_{}_{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            );
            let admin = sqlx::PgPool::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
            let pool = sqlx::PgPool::connect(&url).await.unwrap();
            let mut migrator = sqlx::migrate::Migrator::new(folder("postgres"))
                .await
                .unwrap();
            migrator.migrations = migrator
                .migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect::<Vec<_>>()
                .into();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
            Some((url, None))
        }
    }
}

async fn run_sql(backend: Backend, url: &str, statements: &[String]) {
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            for s in statements {
                sqlx::query(s).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }
    }
}

async fn migration_0029_keeps_tasks_their_counts_search_columns_and_triggers(backend: Backend) {
    let Some((url, _dir)) = migrated_before(backend, 29).await else {
        return;
    };
    let t = "'2026-11-30T10:00:00+00:00'";
    let task = |id: i64, kind: &str, status: &str, email: &str| {
        format!(
            "INSERT INTO support_tasks (id, reference, kind, status, requester_name, requester_email, details, \
             created_at, updated_at, user_id, name_key, last_name_key, email_key, client_id) \
             VALUES ({id}, 'TRS-00000{id}', '{kind}', '{status}', 'Jo Bloggs', '{email}', \
             '{{\"verified\":{{\"names\":[],\"dates_of_birth\":[]}},\"nino\":null,\"trn\":null}}', {t}, {t}, \
             {user}, 'jobloggs', 'bloggs', '{email}', {client})",
            user = if status == "open" { "7" } else { "NULL" },
            client = if id == 1 { "'npq'" } else { "NULL" },
        )
    };
    run_sql(
        backend,
        &url,
        &[
            format!(
                "INSERT INTO users (id, one_login_sub, email, created_at, last_signed_in_at) \
                 VALUES (7, 'urn:jo', 'jo@school.example.com', {t}, {t})"
            ),
            task(1, "record_matching", "open", "jo@school.example.com"),
            task(2, "identity_verification", "done", "jo@home.example.com"),
        ],
    )
    .await;

    // The service starts: migration 0029 runs.
    let store = server::db::connect(&url, 5).await.unwrap();
    let now = Utc::now();
    let me = officer(&store, "me@education.gov.uk", now).await;
    let all = store.list_tasks(&all_tasks(), me.id).await.unwrap();
    assert_eq!(
        (all.total, all.counts.open, all.counts.done),
        (2, 1, 1),
        "the tasks and the counts the triggers kept"
    );
    // The generated search column is worked out again: a search by the email's domain finds the task.
    let by_domain = store
        .list_tasks(
            &TaskQuery {
                search: "@school.example.com".into(),
                ..all_tasks()
            },
            me.id,
        )
        .await
        .unwrap();
    assert_eq!(
        by_domain
            .tasks
            .iter()
            .map(|t| t.reference.as_str())
            .collect::<Vec<_>>(),
        ["TRS-000001"]
    );
    assert_eq!(by_domain.tasks[0].service.as_deref(), Some("npq"));
    // One open task per person still holds.
    let ann = account(&store, "ann@example.com", None, now).await;
    let raised = store
        .raise_support_task(&account_task(7, "ann@example.com"), now)
        .await
        .unwrap();
    assert_eq!(raised.reference, "TRS-000001", "the open task comes back");
    // The triggers are back: a new task of the new kind is counted, and a change moves the page versions.
    let new = store
        .raise_support_task(&account_task(ann, "ann@example.com"), now)
        .await
        .unwrap();
    let counted = store
        .list_tasks(
            &TaskQuery {
                kind: Some(TaskKind::AccountRecordMatching),
                ..all_tasks()
            },
            me.id,
        )
        .await
        .unwrap();
    assert_eq!((counted.total, counted.counts.open), (1, 1));
    let versions = || {
        texts(
            backend,
            &url,
            "SELECT CAST(page_version AS TEXT) FROM support_tasks WHERE reference = 'TRS-000001' \
             UNION ALL SELECT CAST(page_version AS TEXT) FROM users WHERE id = 7",
        )
    };
    let before = versions().await;
    let task = store
        .task_by_reference("TRS-000001")
        .await
        .unwrap()
        .unwrap();
    store
        .assign_task("TRS-000001", task.version, Some(me.id), me.id, now)
        .await
        .unwrap()
        .unwrap();
    let after = versions().await;
    assert_eq!(before.len(), 2);
    for (b, a) in before.iter().zip(&after) {
        assert!(
            a.parse::<i64>().unwrap() > b.parse::<i64>().unwrap(),
            "{before:?} -> {after:?}"
        );
    }
    assert_ne!(new.reference, raised.reference);
}

async fn an_account_is_looked_up_at_each_sign_in_until_found_or_no_trn(backend: Backend) {
    use server::account_record_lookup::{look_up_account_record, AccountRecord};
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(
            &[record("1234567", "Ann", "Lee"), {
                let mut bo = record("7654321", "Bo", "Ng");
                bo.nino = Some("CE123456A".into());
                bo
            }],
            now,
        )
        .await
        .unwrap();
    let alex = officer(&store, "alex@education.gov.uk", now).await;
    let answers = |nino: Option<&str>| AccountAnswers {
        nino: Some(nino.map_or(Answer::No, |n| Answer::Yes(parse_nino(n).unwrap()))),
        trn: Some(Answer::No),
        itt: Some(Answer::No),
    };
    // Not found (no identifier typed): a task of the third kind, the same one at the next sign-in.
    let ann_id = account(&store, "ann@example.com", None, now).await;
    let ann = store.account(ann_id).await.unwrap().unwrap();
    let first = look_up_account_record(&store, &ann, &answers(None), Some("npq".into()), now)
        .await
        .unwrap();
    let AccountRecord::SupportTask { reference } = first else {
        panic!("{first:?}")
    };
    let again = look_up_account_record(&store, &ann, &answers(None), None, now)
        .await
        .unwrap();
    assert_eq!(
        again,
        AccountRecord::SupportTask {
            reference: reference.clone()
        }
    );
    let task = store.task_by_reference(&reference).await.unwrap().unwrap();
    assert_eq!(task.kind, TaskKind::AccountRecordMatching);
    assert_eq!(task.service.as_deref(), Some("npq"));
    // Support assigns the TRN: the next sign-in finds it without a search.
    store
        .decide_task(
            &reference,
            task.version,
            &Decision::Connect {
                trn: "1234567".into(),
            },
            &alex,
            &email_to("ann@example.com", &reference, "connected"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        look_up_account_record(&store, &ann, &answers(None), None, now)
            .await
            .unwrap(),
        AccountRecord::AlreadyFound {
            trn: "1234567".into()
        }
    );
    // Found directly by the NINO; then, for a second account with the same facts, the record is in use.
    let bo_id = account(&store, "bo@example.com", None, now).await;
    let mut bo = store.account(bo_id).await.unwrap().unwrap();
    bo.name.first = "Bo".into();
    bo.name.last = "Ng".into();
    assert_eq!(
        look_up_account_record(&store, &bo, &answers(Some("CE123456A")), None, now)
            .await
            .unwrap(),
        AccountRecord::Found {
            trn: "7654321".into(),
            typed_trn_differs: false
        }
    );
    let twin_id = account(&store, "bo.again@example.com", None, now).await;
    let mut twin = store.account(twin_id).await.unwrap().unwrap();
    twin.name = bo.name.clone();
    assert_eq!(
        look_up_account_record(&store, &twin, &answers(Some("CE123456A")), None, now)
            .await
            .unwrap(),
        AccountRecord::TrnInUse {
            trn: "7654321".into(),
            holder: TrnHolder {
                user_id: bo_id,
                email: "bo@example.com".into(),
                one_login: false,
                account: true,
            }
        }
    );
    // "No TRN" from support: never looked up again, and no new task.
    let cy_id = account(&store, "cy@example.com", None, now).await;
    let cy = store.account(cy_id).await.unwrap().unwrap();
    let AccountRecord::SupportTask { reference } =
        look_up_account_record(&store, &cy, &answers(None), None, now)
            .await
            .unwrap()
    else {
        panic!("a task")
    };
    let task = store.task_by_reference(&reference).await.unwrap().unwrap();
    store
        .decide_task(
            &reference,
            task.version,
            &Decision::DoNotConnect {
                reason: NotConnectedReason::NoMatchingRecord,
                detail: None,
            },
            &alex,
            &email_to("cy@example.com", &reference, "not_connected"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        look_up_account_record(&store, &cy, &answers(None), None, now)
            .await
            .unwrap(),
        AccountRecord::NoTrn
    );
    assert_eq!(store.open_task_for_user(cy_id).await.unwrap(), None);
}

/// A task of the third kind raised for `user_id` with `email`, then decided by `officer` at once, emailing
/// `template`; its reference.
async fn decided_account_task(
    store: &DynStore,
    user_id: i64,
    (email, template): (&str, &str),
    decision: &Decision,
    officer: &StaffMember,
    now: DateTime<Utc>,
) -> String {
    let raised = store
        .raise_support_task(&account_task(user_id, email), now)
        .await
        .unwrap();
    let task = store
        .task_by_reference(&raised.reference)
        .await
        .unwrap()
        .unwrap();
    store
        .decide_task(
            &raised.reference,
            task.version,
            decision,
            officer,
            &email_to(email, &raised.reference, template),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    raised.reference
}

/// Each record's change history in words, oldest first.
async fn history_in_words(store: &DynStore, trn: &str) -> Vec<String> {
    store
        .record_history(trn)
        .await
        .unwrap()
        .iter()
        .map(|e| describe_event(&e.kind, &e.actor, e.details.as_ref()))
        .collect()
}

async fn the_history_names_an_account_holders_dfe_identity_account_and_a_teachers_one_login(
    backend: Backend,
) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .insert_records(
            &[
                record("1234567", "Ann", "Lee"),
                record("2345678", "Bea", "Lee"),
                record("3456789", "Cat", "Lee"),
            ],
            now,
        )
        .await
        .unwrap();
    // An account holder's record found at sign-in.
    let ann = account(&store, "ann@example.com", None, now).await;
    store
        .connect_account(ann, "1234567", MatchedVia::Nino, now)
        .await
        .unwrap();
    assert_eq!(
        history_in_words(&store, "1234567").await,
        ["DfE Identity account ann@example.com connected by National Insurance number"]
    );
    // An account holder's record assigned by support, then disconnected by support.
    let alex = officer(&store, "alex@education.gov.uk", now).await;
    let bea = account(&store, "bea@example.com", None, now).await;
    let assign = Decision::Connect {
        trn: "2345678".into(),
    };
    let reference = decided_account_task(
        &store,
        bea,
        ("bea@example.com", "connected"),
        &assign,
        &alex,
        now,
    )
    .await;
    store
        .disconnect(
            bea,
            "2345678",
            "Wrong person",
            &reference,
            &alex,
            &email_to("bea@example.com", &reference, "disconnected"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let by = format!("{} (support task {reference})", alex.name);
    assert_eq!(
        history_in_words(&store, "2345678").await,
        [
            format!("DfE Identity account bea@example.com connected by {by}"),
            format!("DfE Identity account bea@example.com disconnected by {by}: Wrong person"),
        ]
    );
    // A One Login teacher's connection still names their One Login.
    let cat = one_login(&store, "urn:fdc:cat", "cat@example.com", now).await;
    store
        .connect_user(cat, "3456789", MatchedVia::Trn, "cat@example.com", now)
        .await
        .unwrap();
    assert_eq!(
        history_in_words(&store, "3456789").await,
        ["GOV.UK One Login cat@example.com connected by TRN"]
    );
}
