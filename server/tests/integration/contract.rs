//! The storage contract: the same tests, word for word, against SQLite and PostgreSQL.

use crate::support::{postgres_store, sqlite_store};
use app::domain::records::{PreviousName, RecordStatus, TeachingRecord};
use app::domain::synthetic;
use chrono::{Duration, NaiveDate, Utc};
use server::db::DynStore;
use server::seed;

/// Runs `$case(store)` once per backend, as two tests named `sqlite` and `postgres` in module `$case`.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                let (store, _dir) = crate::support::sqlite_store().await;
                super::$case(store).await;
            }

            #[tokio::test]
            async fn postgres() {
                match crate::support::postgres_store().await {
                    Some((store, _url)) => super::$case(store).await,
                    None => eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL contract not run (./test sets it)"),
                }
            }
        }
    )*};
}

contract!(
    records_round_trip_with_previous_names_and_qualifications,
    records_are_found_by_date_of_birth_and_current_or_previous_last_name,
    seeding_twice_appends_without_clashing,
    sessions_save_load_expire_and_delete,
    every_session_of_a_subject_can_be_ended,
    logout_token_ids_are_remembered_for_three_minutes,
    users_are_keyed_by_our_id_and_keep_only_names_and_dates_of_birth,
    feedback_is_stored_newest_first,
    ping_answers_when_the_database_is_up,
    candidates_share_a_verified_date_of_birth_and_a_name_nino_trn_or_email,
    candidates_connected_to_someone_else_are_marked,
    a_user_is_connected_once_with_a_history_event,
    one_open_support_task_per_user_whatever_the_number_of_submits,
    attempts_are_counted_per_key_and_window,
);

fn verified(first: &str, last: &str, dob: NaiveDate) -> app::domain::identity::VerifiedIdentity {
    app::domain::identity::VerifiedIdentity {
        names: vec![app::domain::identity::VerifiedName {
            given_names: vec![first.into()],
            family_name: last.into(),
            valid_from: None,
            valid_until: None,
        }],
        dates_of_birth: vec![dob],
    }
}

fn candidate_trns(candidates: &[app::domain::matching::Candidate]) -> Vec<&str> {
    candidates.iter().map(|c| c.record.trn.as_str()).collect()
}

async fn candidates_share_a_verified_date_of_birth_and_a_name_nino_trn_or_email(store: DynStore) {
    use app::domain::matching::Evidence;
    use app::domain::validation::{parse_nino, parse_trn};
    let dob = NaiveDate::from_ymd_opt(1980, 1, 2).unwrap();
    let mut by_name = record("2000001", "Rhys", "Ap-Gwilym", dob);
    by_name.previous_names.push(PreviousName {
        first_name: "Rhys".into(),
        middle_name: None,
        last_name: "Jones".into(),
        valid_until: None,
    });
    let mut by_nino = record("2000002", "Someone", "Else", dob);
    by_nino.nino = Some("AB123456C".into());
    let by_trn = record("2000003", "Another", "Person", dob);
    let mut by_email = record("2000004", "Email", "Match", dob);
    by_email.email = Some("Rhys@Example.com".into());
    let other_day = record("2000005", "Rhys", "Ap Gwilym", dob + Duration::days(1));
    let unrelated = record("2000006", "Nobody", "Related", dob);
    store
        .insert_records(
            &[by_name, by_nino, by_trn, by_email, other_day, unrelated],
            Utc::now(),
        )
        .await
        .unwrap();

    let identity = verified("Rhys", "ap gwilym", dob);
    let evidence = Evidence::from_identity(&identity, None);
    let found = store.find_candidates(&evidence, 1).await.unwrap();
    assert_eq!(candidate_trns(&found), ["2000001"]);

    // By a previous name, and with everything the teacher may type.
    let evidence = Evidence::from_identity(
        &verified("Rhys", "JONES", dob),
        app::domain::identity::VerifiedEmail::verified_before("rhys@example.com").as_ref(),
    )
    .with_nino(parse_nino("AB 12 34 56 C").unwrap())
    .with_trn(parse_trn("2000003").unwrap());
    let found = store.find_candidates(&evidence, 1).await.unwrap();
    assert_eq!(
        candidate_trns(&found),
        ["2000001", "2000002", "2000003", "2000004"]
    );
    assert!(found.iter().all(|c| !c.connected_to_another_login));

    // Hostile input is only ever a bound value.
    let evidence = Evidence::from_identity(
        &verified("x", "' OR 1=1 --", dob),
        app::domain::identity::VerifiedEmail::verified_before("' OR '1'='1").as_ref(),
    );
    assert!(store
        .find_candidates(&evidence, 1)
        .await
        .unwrap()
        .is_empty());
    // Without a date of birth nothing can match, so nothing is fetched.
    let mut no_dob = verified("Rhys", "Ap-Gwilym", dob);
    no_dob.dates_of_birth.clear();
    let evidence = Evidence::from_identity(&no_dob, None);
    assert!(store
        .find_candidates(&evidence, 1)
        .await
        .unwrap()
        .is_empty());
}

async fn candidates_connected_to_someone_else_are_marked(store: DynStore) {
    use app::domain::matching::{Evidence, MatchedVia};
    use server::db::connect::ConnectResult;
    let dob = NaiveDate::from_ymd_opt(1970, 5, 6).unwrap();
    store
        .insert_records(&[record("3000001", "Ann", "Lee", dob)], Utc::now())
        .await
        .unwrap();
    let now = Utc::now();
    let first = store
        .sign_in_user(
            "sub-first",
            app::domain::identity::VerifiedEmail::verified_before("a@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    let second = store
        .sign_in_user(
            "sub-second",
            app::domain::identity::VerifiedEmail::verified_before("b@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .connect_user(
                first.id,
                "3000001",
                MatchedVia::Automatic,
                "a@example.com",
                now
            )
            .await
            .unwrap(),
        ConnectResult::Connected
    );
    let evidence = Evidence::from_identity(&verified("Ann", "Lee", dob), None);
    let for_first = store.find_candidates(&evidence, first.id).await.unwrap();
    assert!(!for_first[0].connected_to_another_login);
    let for_second = store.find_candidates(&evidence, second.id).await.unwrap();
    assert!(for_second[0].connected_to_another_login);
}

async fn a_user_is_connected_once_with_a_history_event(store: DynStore) {
    use app::domain::matching::MatchedVia;
    use server::db::connect::ConnectResult;
    let dob = NaiveDate::from_ymd_opt(1975, 7, 8).unwrap();
    store
        .insert_records(
            &[
                record("4000001", "Ann", "Lee", dob),
                record("4000002", "Bea", "Lee", dob),
            ],
            Utc::now(),
        )
        .await
        .unwrap();
    let now = Utc::now();
    let ann = store
        .sign_in_user(
            "sub-ann",
            app::domain::identity::VerifiedEmail::verified_before("ann@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    let bea = store
        .sign_in_user(
            "sub-bea",
            app::domain::identity::VerifiedEmail::verified_before("bea@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.connected_record(ann.id).await.unwrap(), None);
    assert_eq!(
        store
            .connect_user(ann.id, "4000001", MatchedVia::Nino, "ann@example.com", now)
            .await
            .unwrap(),
        ConnectResult::Connected
    );
    // Connecting again to the same record changes nothing and adds no second event.
    assert_eq!(
        store
            .connect_user(ann.id, "4000001", MatchedVia::Nino, "ann@example.com", now)
            .await
            .unwrap(),
        ConnectResult::Connected
    );
    // The record is taken, and Ann cannot hold a second record.
    assert_eq!(
        store
            .connect_user(bea.id, "4000001", MatchedVia::Trn, "bea@example.com", now)
            .await
            .unwrap(),
        ConnectResult::RecordTaken
    );
    assert_eq!(
        store
            .connect_user(ann.id, "4000002", MatchedVia::Trn, "ann@example.com", now)
            .await
            .unwrap(),
        ConnectResult::RecordTaken
    );
    assert_eq!(
        store
            .connect_user(bea.id, "9999999", MatchedVia::Trn, "bea@example.com", now)
            .await
            .unwrap(),
        ConnectResult::UnknownRecord
    );
    assert_eq!(
        store.connected_record(ann.id).await.unwrap().map(|r| r.trn),
        Some("4000001".into())
    );
    assert_eq!(store.connected_record(bea.id).await.unwrap(), None);

    let history = store.record_history("4000001").await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "one_login_connected");
    assert_eq!(history[0].actor, "teacher");
    let details = history[0].details.as_ref().expect("a connection's details");
    assert_eq!(details.how, app::domain::support::ConnectedHow::Nino);
    assert_eq!(details.one_login_email, "ann@example.com");
    assert_eq!(details.user_id, ann.id);
    assert!(store.record_history("4000002").await.unwrap().is_empty());
}

async fn one_open_support_task_per_user_whatever_the_number_of_submits(store: DynStore) {
    use server::db::connect::{NewSupportTask, TaskDetails, TaskKind};
    let now = Utc::now();
    let ann = store
        .sign_in_user(
            "sub-task-ann",
            app::domain::identity::VerifiedEmail::verified_before("ann@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    let bea = store
        .sign_in_user(
            "sub-task-bea",
            app::domain::identity::VerifiedEmail::verified_before("bea@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(store.open_task_for_user(ann.id).await.unwrap(), None);
    let details = serde_json::json!({
        "verified": {"names": [{"given_names": ["Ann"], "family_name": "<b>Lee</b>", "valid_from": null, "valid_until": null}], "dates_of_birth": []},
        "one_login_email": "ann@example.com",
        "nino": null,
        "trn": null,
        "flags": ["possible_duplicate"],
    });
    let task = |user_id| NewSupportTask {
        user_id,
        details: TaskDetails::parse(TaskKind::RecordMatching, &details.to_string()).unwrap(),
        client_id: None,
    };
    // References come from a counter: the first two numbers' references were taken before the counter existed
    // (drawn at random then), so the counter skips them.
    use app::domain::journey::support_reference;
    let taken: Vec<server::db::support::GeneratedTask> = (0..2)
        .map(|n| server::db::support::GeneratedTask {
            reference: support_reference(n),
            kind: TaskKind::RecordMatching,
            status: app::domain::support::TaskStatus::Done,
            name: "Old Task".into(),
            email: "old@example.com".into(),
            trn: None,
            assignee_id: None,
            created_at: now,
            client_id: None,
        })
        .collect();
    store.insert_generated_tasks(&taken).await.unwrap();
    let first = store.raise_support_task(&task(ann.id), now).await.unwrap();
    assert_eq!(first.reference, support_reference(2));
    let again = store.raise_support_task(&task(ann.id), now).await.unwrap();
    assert_eq!(again, first, "a repeated submit gives the same task");
    let other = store.raise_support_task(&task(bea.id), now).await.unwrap();
    assert_ne!(other.reference, first.reference);
    assert!(
        [support_reference(3), support_reference(4)].contains(&other.reference),
        "the next free number's reference: {}",
        other.reference
    );
    assert_eq!(store.open_task_for_user(ann.id).await.unwrap(), Some(first));
}

async fn attempts_are_counted_per_key_and_window(store: DynStore) {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-29T10:15:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(store.count_attempt("key-a", 3600, at).await.unwrap(), 1);
    assert_eq!(
        store
            .count_attempt("key-a", 3600, at + Duration::minutes(44))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.count_attempt("key-b", 3600, at).await.unwrap(), 1);
    // 11:00 starts a new hour.
    assert_eq!(
        store
            .count_attempt("key-a", 3600, at + Duration::minutes(45))
            .await
            .unwrap(),
        1
    );
}

fn record(trn: &str, first: &str, last: &str, dob: NaiveDate) -> TeachingRecord {
    TeachingRecord {
        trn: trn.into(),
        first_name: first.into(),
        middle_name: None,
        last_name: last.into(),
        date_of_birth: dob,
        nino: None,
        email: None,
        status: RecordStatus::Active,
        previous_names: vec![],
        qualifications: vec![],
    }
}

async fn records_round_trip_with_previous_names_and_qualifications(store: DynStore) {
    let original = synthetic::record(0, 7);
    let mut with_history = synthetic::record(1, 7);
    with_history.previous_names.push(PreviousName {
        first_name: "Siân".into(),
        middle_name: Some("Mair".into()),
        last_name: "O’Brien-Llewelyn".into(),
        valid_until: NaiveDate::from_ymd_opt(2015, 8, 1),
    });
    store
        .insert_records(&[original.clone(), with_history.clone()], Utc::now())
        .await
        .unwrap();
    assert_eq!(store.count_records().await.unwrap(), 2);
    assert_eq!(
        store.record_by_trn(&original.trn).await.unwrap(),
        Some(original)
    );
    assert_eq!(
        store.record_by_trn(&with_history.trn).await.unwrap(),
        Some(with_history)
    );
    assert_eq!(store.record_by_trn("9999999").await.unwrap(), None);
    assert_eq!(store.record_by_trn("' OR '1'='1").await.unwrap(), None);
}

async fn records_are_found_by_date_of_birth_and_current_or_previous_last_name(store: DynStore) {
    let dob = NaiveDate::from_ymd_opt(1985, 3, 14).unwrap();
    let mut married = record("1000001", "Zoë", "Smith-Jones", dob);
    married.previous_names.push(PreviousName {
        first_name: "Zoë".into(),
        middle_name: None,
        last_name: "O'Connor".into(),
        valid_until: NaiveDate::from_ymd_opt(2012, 6, 30),
    });
    let namesake = record("1000002", "Zoe", "Smith Jones", dob);
    let other_day = record("1000003", "Zoë", "Smith-Jones", dob + Duration::days(1));
    store
        .insert_records(&[married, namesake, other_day], Utc::now())
        .await
        .unwrap();

    let trns =
        |records: Vec<TeachingRecord>| records.into_iter().map(|r| r.trn).collect::<Vec<_>>();
    let by_current = store
        .records_by_date_of_birth_and_last_name(dob, "SMITH JONES")
        .await
        .unwrap();
    assert_eq!(trns(by_current), ["1000001", "1000002"]);
    let by_previous = store
        .records_by_date_of_birth_and_last_name(dob, "o’connor")
        .await
        .unwrap();
    assert_eq!(trns(by_previous), ["1000001"]);
    assert!(store
        .records_by_date_of_birth_and_last_name(dob, "Nobody")
        .await
        .unwrap()
        .is_empty());
}

async fn seeding_twice_appends_without_clashing(store: DynStore) {
    seed::seed_store(&store, 0, 250, 3).await.unwrap();
    seed::seed_store(&store, 250, 250, 3).await.unwrap();
    assert_eq!(store.count_records().await.unwrap(), 500);
    for i in [0, 249, 250, 499] {
        let expected = synthetic::record(i, 3);
        assert_eq!(
            store.record_by_trn(&expected.trn).await.unwrap(),
            Some(expected),
            "record {i}"
        );
    }
}

async fn sessions_save_load_expire_and_delete(store: DynStore) {
    let now = Utc::now();
    let later = now + Duration::hours(2);
    store
        .insert_session("a", r#"{"flash":null}"#, None, None, now, later)
        .await
        .unwrap();
    assert_eq!(
        store.load_session("a", now).await.unwrap().as_deref(),
        Some(r#"{"flash":null}"#)
    );
    assert!(store
        .update_session("a", "{}", None, None, later)
        .await
        .unwrap());
    assert_eq!(
        store.load_session("a", now).await.unwrap().as_deref(),
        Some("{}")
    );
    let live = store.load_live_session("a", now).await.unwrap().unwrap();
    assert_eq!(
        (live.created_at.timestamp(), live.expires_at.timestamp()),
        (now.timestamp(), later.timestamp())
    );
    assert_eq!(
        store
            .load_session("a", now + Duration::hours(3))
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.load_session("unknown", now).await.unwrap(), None);
    // Only a new session is inserted, and an update or renewal never creates one.
    assert!(store
        .insert_session("a", "{}", None, None, now, later)
        .await
        .is_err());
    assert!(!store
        .update_session("unknown", "{}", None, None, later)
        .await
        .unwrap());
    assert!(!store.touch_session("unknown", later).await.unwrap());
    assert_eq!(store.load_session("unknown", now).await.unwrap(), None);

    store
        .insert_session(
            "old",
            "{}",
            None,
            None,
            now - Duration::hours(3),
            now - Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(store.delete_expired_sessions(now).await.unwrap(), 1);
    assert_eq!(
        store.load_session("a", now).await.unwrap().as_deref(),
        Some("{}")
    );
    assert!(store
        .touch_session("a", now + Duration::hours(4))
        .await
        .unwrap());
    assert!(
        store
            .load_session("a", now + Duration::hours(3))
            .await
            .unwrap()
            .is_some(),
        "renewed"
    );
    assert!(store.delete_session("a").await.unwrap());
    assert!(!store.delete_session("a").await.unwrap(), "already gone");
    assert_eq!(store.load_session("a", now).await.unwrap(), None);
    assert!(!store
        .update_session("a", "{}", None, None, later)
        .await
        .unwrap());
    assert_eq!(
        store.load_session("a", now).await.unwrap(),
        None,
        "stays ended"
    );
}

async fn every_session_of_a_subject_can_be_ended(store: DynStore) {
    let now = Utc::now();
    let later = now + Duration::hours(2);
    store
        .insert_session("phone", "{}", Some("urn:fdc:a"), None, now, later)
        .await
        .unwrap();
    store
        .insert_session("laptop", "{}", Some("urn:fdc:a"), None, now, later)
        .await
        .unwrap();
    store
        .insert_session("other", "{}", Some("urn:fdc:b"), None, now, later)
        .await
        .unwrap();
    store
        .insert_session("anonymous", "{}", None, None, now, later)
        .await
        .unwrap();
    assert_eq!(
        store
            .delete_sessions_for_subject("urn:fdc:a")
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.load_session("phone", now).await.unwrap(), None);
    assert_eq!(store.load_session("laptop", now).await.unwrap(), None);
    assert!(store.load_session("other", now).await.unwrap().is_some());
    assert!(store
        .load_session("anonymous", now)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .delete_sessions_for_subject("urn:fdc:nobody")
            .await
            .unwrap(),
        0
    );
}

async fn logout_token_ids_are_remembered_for_three_minutes(store: DynStore) {
    let now = Utc::now();
    let window = now - Duration::minutes(3);
    assert!(store
        .remember_logout_token("jti-1", now, window)
        .await
        .unwrap());
    assert!(
        !store
            .remember_logout_token("jti-1", now, window)
            .await
            .unwrap(),
        "replay"
    );
    assert!(store
        .remember_logout_token("jti-2", now, window)
        .await
        .unwrap());
    let much_later = now + Duration::minutes(4);
    assert!(store
        .remember_logout_token("jti-1", much_later, much_later - Duration::minutes(3))
        .await
        .unwrap());
}

async fn users_are_keyed_by_our_id_and_keep_only_names_and_dates_of_birth(store: DynStore) {
    use app::domain::identity::{VerifiedIdentity, VerifiedName};
    let now = Utc::now();
    let first = store
        .sign_in_user(
            "urn:fdc:gov.uk:2022:abc",
            app::domain::identity::VerifiedEmail::verified_before("old@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(first.verification, None);
    let again = store
        .sign_in_user(
            "urn:fdc:gov.uk:2022:abc",
            app::domain::identity::VerifiedEmail::verified_before("new@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(
        again.email.as_ref().map(|e| e.as_str()),
        Some("new@example.com")
    );
    let other = store
        .sign_in_user(
            "urn:fdc:gov.uk:2022:xyz",
            app::domain::identity::VerifiedEmail::verified_before("x@example.com").as_ref(),
            now,
        )
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
    let identity = VerifiedIdentity {
        names: vec![VerifiedName {
            given_names: vec!["Siân".into(), "Mair".into()],
            family_name: "O’Brien-Llewelyn".into(),
            valid_from: None,
            valid_until: None,
        }],
        dates_of_birth: vec![NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()],
    };
    store
        .record_verified_identity(first.id, &identity, now)
        .await
        .unwrap();
    let stored = store.user_by_id(first.id).await.unwrap().unwrap();
    assert_eq!(stored.verified_identity(), Some(&identity));
    assert_eq!(
        stored.verification.map(|v| v.by),
        Some(app::domain::identity::VerifiedBy::OneLogin)
    );
    assert_eq!(
        store
            .user_by_id(other.id)
            .await
            .unwrap()
            .unwrap()
            .verification,
        None
    );
    assert_eq!(store.user_by_id(987_654).await.unwrap(), None);
}

async fn feedback_is_stored_newest_first(store: DynStore) {
    let at = Utc::now();
    store
        .insert_feedback("satisfied", "first", at)
        .await
        .unwrap();
    store
        .insert_feedback("dissatisfied", "<script>alert(1)</script>", at)
        .await
        .unwrap();
    let stored = store.recent_feedback(10).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].details, "<script>alert(1)</script>");
    assert_eq!(stored[1].satisfaction, "satisfied");
    assert_eq!(store.recent_feedback(1).await.unwrap().len(), 1);
}

async fn ping_answers_when_the_database_is_up(store: DynStore) {
    store.ping().await.unwrap();
}

#[tokio::test]
async fn both_backends_are_what_they_say() {
    let (sqlite, _dir) = sqlite_store().await;
    assert_eq!(sqlite.backend(), server::db::Backend::Sqlite);
    if let Some((pg, _)) = postgres_store().await {
        assert_eq!(pg.backend(), server::db::Backend::Postgres);
    }
}
