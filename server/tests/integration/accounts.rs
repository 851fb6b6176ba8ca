//! DfE Identity accounts' storage (issue 13, DESIGN §7.3), on both backends: passcodes (single use under
//! concurrent checks, five tries, expiry, a new code cancels the old, nothing personal stored), accounts (unique
//! email and mobile, also when two are created at once; the duplicate check's lookups; changing email and mobile),
//! and migration 0024, which makes `users.one_login_sub` nullable (on SQLite by rebuilding `users`) without losing
//! One Login users, their connections, sessions and foreign keys.

use app::domain::account::passcode::MAX_TRIES;
use app::domain::account::{
    find_duplicate, AccountEmail, AccountName, Applicant, Duplicate, Mobile, NewAccount, Passcode,
    PasscodeCheck, PasscodeKey, PasscodePurpose, PasscodeSlot, PasscodeTarget,
};
use chrono::{Duration, NaiveDate, Utc};
use server::db::accounts::{count_passcode_send, AccountChange, Taken};
use server::db::{Backend, DynStore};
use std::sync::Arc;

on_both_backends!(
    a_right_code_passes_once_and_only_once,
    two_checks_of_the_right_code_at_once_pass_only_once,
    five_wrong_tries_kill_a_code_even_the_right_one_after,
    concurrent_guesses_get_no_more_than_five_tries,
    an_expired_code_fails_as_expired,
    a_new_code_cancels_the_old_one,
    a_code_for_one_purpose_or_address_does_not_pass_for_another,
    no_code_sent_is_no_code,
    passcodes_hold_no_email_or_code,
    expired_passcodes_are_forgotten,
    an_account_is_a_person_without_one_login,
    an_email_or_mobile_cannot_belong_to_two_accounts,
    two_accounts_created_at_once_with_one_email_make_one,
    two_accounts_created_at_once_with_one_mobile_make_one,
    the_duplicate_check_finds_seed_002s_three_scenarios,
    email_and_mobile_change_only_to_free_ones,
    migration_0024_keeps_one_login_users_their_connections_sessions_and_foreign_keys,
    passcode_sends_are_limited_per_email_and_per_client_address,
);

/// A fresh store on `backend`, its database's URL (for [`run_sql`] and [`texts`]) and the SQLite file's folder;
/// `None` when PostgreSQL is not there.
async fn store_on(backend: Backend) -> Option<(DynStore, String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let (store, dir) = crate::support::sqlite_store().await;
            let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
            Some((store, url, Some(dir)))
        }
        Backend::Postgres => {
            match crate::support::postgres_store().await {
                Some((store, url)) => Some((store, url, None)),
                None => {
                    eprintln!("TEST_POSTGRES_URL is not set: accounts on PostgreSQL not run (./test sets it)");
                    None
                }
            }
        }
    }
}

fn key() -> PasscodeKey {
    PasscodeKey::new(b"a test secret of at least 32 bytes, never used elsewhere").unwrap()
}

fn email(s: &str) -> AccountEmail {
    AccountEmail::parse(s).unwrap()
}

fn mobile(s: &str) -> Mobile {
    Mobile::parse(s).unwrap()
}

fn code(s: &str) -> Passcode {
    app::domain::account::passcode::parse_passcode("code", s).unwrap()
}

/// A code sent to `address` for signing in.
struct Sent {
    target: PasscodeTarget,
    purpose: PasscodePurpose,
    slot: PasscodeSlot,
}

impl Sent {
    fn sign_in(address: &str) -> Self {
        Self::to(
            PasscodeTarget::Email(email(address)),
            PasscodePurpose::SignIn,
        )
    }

    fn to(target: PasscodeTarget, purpose: PasscodePurpose) -> Self {
        let slot = key().slot(&target, purpose);
        Self {
            target,
            purpose,
            slot,
        }
    }

    async fn issue(&self, store: &DynStore, digits: &str, now: chrono::DateTime<Utc>) {
        let hash = key().hash(&self.target, self.purpose, &code(digits));
        let expires = store.issue_passcode(&self.slot, &hash, now).await.unwrap();
        assert_eq!(expires, now + Duration::minutes(15));
    }

    async fn verify(
        &self,
        store: &DynStore,
        digits: &str,
        now: chrono::DateTime<Utc>,
    ) -> PasscodeCheck {
        let hash = key().hash(&self.target, self.purpose, &code(digits));
        store.verify_passcode(&self.slot, &hash, now).await.unwrap()
    }
}

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 6, 1).unwrap()
}

fn new_account(address: &str, mobile_number: Option<&str>, first: &str, last: &str) -> NewAccount {
    NewAccount {
        email: email(address),
        mobile: mobile_number.map(mobile),
        name: AccountName {
            first: first.into(),
            last: last.into(),
            preferred: None,
        },
        date_of_birth: dob(),
    }
}

async fn a_right_code_passes_once_and_only_once(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sent = Sent::sign_in("jo@example.com");
    sent.issue(&store, "123456", now).await;
    // The same address typed in another case is the same slot.
    let again = Sent::sign_in("JO@Example.COM");
    assert_eq!(
        again.verify(&store, "123 456", now).await,
        PasscodeCheck::Ok
    );
    assert_eq!(
        sent.verify(&store, "123456", now).await,
        PasscodeCheck::NoCode
    );
}

async fn two_checks_of_the_right_code_at_once_pass_only_once(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sent = Arc::new(Sent::sign_in("jo@example.com"));
    for round in 0..5 {
        sent.issue(&store, "123456", now).await;
        let checks: Vec<_> = (0..2)
            .map(|_| {
                let (store, sent) = (store.clone(), sent.clone());
                tokio::spawn(async move { sent.verify(&store, "123456", now).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for check in checks {
            outcomes.push(check.await.unwrap());
        }
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            [PasscodeCheck::NoCode, PasscodeCheck::Ok],
            "round {round}"
        );
    }
}

async fn five_wrong_tries_kill_a_code_even_the_right_one_after(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sent = Sent::sign_in("jo@example.com");
    sent.issue(&store, "111111", now).await;
    let mut outcomes = Vec::new();
    for _ in 0..MAX_TRIES {
        outcomes.push(sent.verify(&store, "222222", now).await);
    }
    assert_eq!(
        outcomes,
        [
            PasscodeCheck::Wrong { tries_left: 4 },
            PasscodeCheck::Wrong { tries_left: 3 },
            PasscodeCheck::Wrong { tries_left: 2 },
            PasscodeCheck::Wrong { tries_left: 1 },
            PasscodeCheck::TooManyTries,
        ]
    );
    assert_eq!(
        sent.verify(&store, "111111", now).await,
        PasscodeCheck::TooManyTries
    );
    // The fifth try may be the right one.
    sent.issue(&store, "333333", now).await;
    for _ in 1..MAX_TRIES {
        sent.verify(&store, "444444", now).await;
    }
    assert_eq!(sent.verify(&store, "333333", now).await, PasscodeCheck::Ok);
}

async fn concurrent_guesses_get_no_more_than_five_tries(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sent = Arc::new(Sent::sign_in("jo@example.com"));
    sent.issue(&store, "000000", now).await;
    // Twenty wrong guesses at once, then the right code: at most five comparisons ever happened, so the code is
    // dead and the right code no longer passes.
    let guesses: Vec<_> = (1..=20)
        .map(|n| {
            let (store, sent) = (store.clone(), sent.clone());
            tokio::spawn(async move { sent.verify(&store, &format!("{n:06}"), now).await })
        })
        .collect();
    let mut wrong = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            PasscodeCheck::Wrong { .. } => wrong += 1,
            PasscodeCheck::TooManyTries => {}
            other => panic!("a wrong guess was {other:?}"),
        }
    }
    assert_eq!(wrong, MAX_TRIES - 1, "the fifth wrong try kills it");
    assert_eq!(
        sent.verify(&store, "000000", now).await,
        PasscodeCheck::TooManyTries
    );
}

async fn an_expired_code_fails_as_expired(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sent = Sent::sign_in("jo@example.com");
    sent.issue(&store, "123456", now).await;
    let later = now + Duration::minutes(15);
    assert_eq!(
        sent.verify(&store, "123456", later).await,
        PasscodeCheck::Expired
    );
    assert_eq!(
        sent.verify(&store, "654321", later).await,
        PasscodeCheck::Expired
    );
    // A second before, it still worked.
    sent.issue(&store, "123456", now).await;
    assert_eq!(
        sent.verify(&store, "123456", later - Duration::seconds(1))
            .await,
        PasscodeCheck::Ok
    );
}

async fn a_new_code_cancels_the_old_one(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sent = Sent::sign_in("jo@example.com");
    sent.issue(&store, "111111", now).await;
    sent.verify(&store, "999999", now).await;
    sent.issue(&store, "222222", now + Duration::minutes(1))
        .await;
    let then = now + Duration::minutes(2);
    assert_eq!(
        sent.verify(&store, "111111", then).await,
        PasscodeCheck::Wrong { tries_left: 4 },
        "the old code is wrong now, and the new one's tries start again"
    );
    assert_eq!(sent.verify(&store, "222222", then).await, PasscodeCheck::Ok);
}

async fn a_code_for_one_purpose_or_address_does_not_pass_for_another(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let sign_in = Sent::sign_in("jo@example.com");
    sign_in.issue(&store, "123456", now).await;
    let change = Sent::to(
        PasscodeTarget::Email(email("jo@example.com")),
        PasscodePurpose::ChangeEmail,
    );
    assert_eq!(
        change.verify(&store, "123456", now).await,
        PasscodeCheck::NoCode
    );
    let plus = Sent::sign_in("jo+npq@example.com");
    assert_eq!(
        plus.verify(&store, "123456", now).await,
        PasscodeCheck::NoCode
    );
    // A code for the other purpose does not cancel this one.
    change.issue(&store, "654321", now).await;
    let phone = Sent::to(
        PasscodeTarget::Mobile(mobile("07400 123456")),
        PasscodePurpose::NewAccount,
    );
    phone.issue(&store, "123456", now).await;
    assert_eq!(
        sign_in.verify(&store, "123456", now).await,
        PasscodeCheck::Ok
    );
    assert_eq!(
        change.verify(&store, "654321", now).await,
        PasscodeCheck::Ok
    );
    assert_eq!(
        Sent::to(
            PasscodeTarget::Mobile(mobile("+44 7400 123456")),
            PasscodePurpose::NewAccount
        )
        .verify(&store, "123456", now)
        .await,
        PasscodeCheck::Ok
    );
}

async fn no_code_sent_is_no_code(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let sent = Sent::sign_in("nobody@example.com");
    assert_eq!(
        sent.verify(&store, "123456", Utc::now()).await,
        PasscodeCheck::NoCode
    );
}

async fn passcodes_hold_no_email_or_code(backend: Backend) {
    let Some((store, url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    Sent::sign_in("jo.bloggs@example.com")
        .issue(&store, "123456", now)
        .await;
    Sent::to(
        PasscodeTarget::Mobile(mobile("07400 123456")),
        PasscodePurpose::NewAccount,
    )
    .issue(&store, "123456", now)
    .await;
    let rows = texts(
        backend,
        &url,
        "SELECT target_kind || ' ' || target_hash || ' ' || purpose || ' ' || code_hash FROM passcodes",
    )
    .await;
    assert_eq!(rows.len(), 2);
    for row in rows {
        for secret in ["bloggs", "example", "123456", "7400"] {
            assert!(!row.contains(secret), "{row} holds {secret}");
        }
    }
}

async fn expired_passcodes_are_forgotten(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    Sent::sign_in("old@example.com")
        .issue(&store, "123456", now - Duration::days(2))
        .await;
    let fresh = Sent::sign_in("new@example.com");
    fresh.issue(&store, "123456", now).await;
    assert_eq!(
        store
            .forget_passcodes_before(now - Duration::days(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(fresh.verify(&store, "123456", now).await, PasscodeCheck::Ok);
}

async fn an_account_is_a_person_without_one_login(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let mut new = new_account(
        "Jo.Bloggs@Example.com",
        Some("07400 123456"),
        "Jo",
        "Bloggs",
    );
    new.name.preferred = Some("Joanne".into());
    let account = store.create_account(&new, now).await.unwrap().unwrap();
    assert_eq!(account.email.address(), "Jo.Bloggs@Example.com");
    assert_eq!(account.email.key(), "jo.bloggs@example.com");
    assert_eq!(account.mobile, Some(mobile("+447400123456")));
    assert_eq!(account.name, new.name);
    assert_eq!(account.date_of_birth, dob());
    // A person (a `users` row) with no One Login email or identity.
    let user = store.user_by_id(account.user_id).await.unwrap().unwrap();
    assert_eq!((user.email, user.verification), (None, None));
    let standing = store
        .teacher_standing(account.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((standing.record, standing.open_task), (None, None));
    // Found every way, and the same.
    assert_eq!(
        store.account(account.user_id).await.unwrap().as_ref(),
        Some(&account)
    );
    assert_eq!(
        store
            .account_by_email(&email("JO.BLOGGS@example.com"))
            .await
            .unwrap()
            .as_ref(),
        Some(&account)
    );
    assert_eq!(
        store
            .account_by_mobile(&mobile("+44 7400 123456"))
            .await
            .unwrap()
            .as_ref(),
        Some(&account)
    );
    assert_eq!(
        store
            .account_by_email(&email("jo@example.com"))
            .await
            .unwrap(),
        None
    );
    // A second account-only person is another user: NULL subjects never clash.
    let other = store
        .create_account(&new_account("sam@example.com", None, "Sam", "Brown"), now)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(other.user_id, account.user_id);
    assert_eq!(other.mobile, None);
    // One Login users are still made and found by their subject.
    let signed_in = store
        .sign_in_user("urn:fdc:gov.uk:2022:abc", None, now)
        .await
        .unwrap();
    let again = store
        .sign_in_user("urn:fdc:gov.uk:2022:abc", None, now)
        .await
        .unwrap();
    assert_eq!(signed_in.id, again.id);
    assert!(![account.user_id, other.user_id].contains(&signed_in.id));
}

async fn an_email_or_mobile_cannot_belong_to_two_accounts(backend: Backend) {
    let Some((store, url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    store
        .create_account(
            &new_account("jo@example.com", Some("07400 123456"), "Jo", "Bloggs"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let same_email = new_account("JO@EXAMPLE.COM", None, "Sam", "Brown");
    assert_eq!(
        store.create_account(&same_email, now).await.unwrap(),
        Err(Taken::Email)
    );
    let same_mobile = new_account("sam@example.com", Some("+44 7400 123456"), "Sam", "Brown");
    assert_eq!(
        store.create_account(&same_mobile, now).await.unwrap(),
        Err(Taken::Mobile)
    );
    let both = new_account("jo@example.com", Some("07400 123456"), "Sam", "Brown");
    assert_eq!(
        store.create_account(&both, now).await.unwrap(),
        Err(Taken::Email)
    );
    // The refusals left no person behind, and the free details still make an account.
    let plus = new_account("jo+npq@example.com", None, "Jo", "Bloggs");
    assert!(store.create_account(&plus, now).await.unwrap().is_ok());
    assert_eq!(
        texts(backend, &url, "SELECT CAST(COUNT(*) AS TEXT) FROM users").await,
        ["2"]
    );
}

/// Creates `accounts` all at once; how many were made and how many were refused as taken.
async fn create_at_once(store: &DynStore, accounts: Vec<NewAccount>) -> (usize, Vec<Taken>) {
    let now = Utc::now();
    let tasks: Vec<_> = accounts
        .into_iter()
        .map(|a| {
            let store = store.clone();
            tokio::spawn(async move { store.create_account(&a, now).await.unwrap() })
        })
        .collect();
    let (mut made, mut taken) = (0, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => made += 1,
            Err(t) => taken.push(t),
        }
    }
    (made, taken)
}

async fn two_accounts_created_at_once_with_one_email_make_one(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    for round in 0..3 {
        let address = format!("jo{round}@example.com");
        let (made, taken) = create_at_once(
            &store,
            vec![
                new_account(&address, None, "Jo", "Bloggs"),
                new_account(&address.to_uppercase(), None, "Sam", "Brown"),
            ],
        )
        .await;
        assert_eq!((made, taken), (1, vec![Taken::Email]), "round {round}");
    }
}

async fn two_accounts_created_at_once_with_one_mobile_make_one(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    for round in 0..3 {
        let number = format!("07400 12345{round}");
        let (made, taken) = create_at_once(
            &store,
            vec![
                new_account(
                    &format!("a{round}@example.com"),
                    Some(&number),
                    "Jo",
                    "Bloggs",
                ),
                new_account(
                    &format!("b{round}@example.com"),
                    Some(&number),
                    "Sam",
                    "Brown",
                ),
            ],
        )
        .await;
        assert_eq!((made, taken), (1, vec![Taken::Mobile]), "round {round}");
    }
}

async fn the_duplicate_check_finds_seed_002s_three_scenarios(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let existing = store
        .create_account(
            &new_account(
                "william.smith@education.gov.uk",
                Some("07400 123456"),
                "William",
                "Smith",
            ),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    // Someone else with the same last name and birthday, but another first name: found, and not a duplicate.
    store
        .create_account(
            &new_account("robert@example.com", None, "Robert", "Smith"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    // Scenario 1: their email.
    let same_email = email("William.Smith@education.gov.uk");
    assert_eq!(
        check(
            &store,
            Applicant {
                email: &same_email,
                mobile: None,
                name_and_date_of_birth: None
            }
        )
        .await,
        Some(Duplicate::SameEmail {
            user_id: existing.user_id
        })
    );
    // Scenario 2: another email, their mobile.
    let new_email = email("bill@example.com");
    let same_mobile = mobile("+44 7400 123 456");
    assert_eq!(
        check(
            &store,
            Applicant {
                email: &new_email,
                mobile: Some(&same_mobile),
                name_and_date_of_birth: None
            }
        )
        .await,
        Some(Duplicate::SameMobile {
            user_id: existing.user_id
        })
    );
    // Scenario 3: another email and mobile, a synonym of their first name, their last name and birthday.
    let new_mobile = mobile("07400 654321");
    assert_eq!(
        check(
            &store,
            Applicant {
                email: &new_email,
                mobile: Some(&new_mobile),
                name_and_date_of_birth: Some(("Bill", "SMITH", dob())),
            }
        )
        .await,
        Some(Duplicate::SameNameAndDateOfBirth {
            user_id: existing.user_id,
            masked_email: "w****@****.gov.uk".into()
        })
    );
    // None of them: carry on.
    assert_eq!(
        check(
            &store,
            Applicant {
                email: &new_email,
                mobile: Some(&new_mobile),
                name_and_date_of_birth: Some(("Bill", "Smith", dob().succ_opt().unwrap())),
            }
        )
        .await,
        None
    );
    let found = store
        .possible_duplicates(&Applicant {
            email: &new_email,
            mobile: None,
            name_and_date_of_birth: Some(("Anyone", "smith", dob())),
        })
        .await
        .unwrap();
    assert_eq!(
        found.len(),
        2,
        "both Smiths born that day are read for the domain to compare"
    );
}

/// The duplicate check as the pages will make it: the storage's lookups, then the domain's rule.
async fn check(store: &DynStore, applicant: Applicant<'_>) -> Option<Duplicate> {
    let found = store.possible_duplicates(&applicant).await.unwrap();
    find_duplicate(&applicant, &found)
}

async fn email_and_mobile_change_only_to_free_ones(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let now = Utc::now();
    let jo = store
        .create_account(
            &new_account("jo@example.com", Some("07400 123456"), "Jo", "Bloggs"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    store
        .create_account(
            &new_account("sam@example.com", Some("07400 654321"), "Sam", "Brown"),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let later = now + Duration::minutes(5);
    assert_eq!(
        store
            .change_account_email(jo.user_id, &email("SAM@example.com"), later)
            .await
            .unwrap(),
        AccountChange::Taken
    );
    assert_eq!(
        store
            .change_account_mobile(jo.user_id, Some(&mobile("07400 654321")), later)
            .await
            .unwrap(),
        AccountChange::Taken
    );
    assert_eq!(
        store.account(jo.user_id).await.unwrap(),
        Some(jo.clone()),
        "nothing changed"
    );
    assert_eq!(
        store
            .change_account_email(jo.user_id, &email("Jo.New@example.com"), later)
            .await
            .unwrap(),
        AccountChange::Changed
    );
    assert_eq!(
        store
            .change_account_mobile(jo.user_id, Some(&mobile("+33 6 12 34 56 78")), later)
            .await
            .unwrap(),
        AccountChange::Changed
    );
    let changed = store.account(jo.user_id).await.unwrap().unwrap();
    assert_eq!(changed.email.address(), "Jo.New@example.com");
    assert_eq!(changed.mobile, Some(mobile("+33612345678")));
    assert_eq!(
        store
            .account_by_email(&email("jo@example.com"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .change_account_mobile(jo.user_id, None, later)
            .await
            .unwrap(),
        AccountChange::Changed
    );
    assert_eq!(
        store.account(jo.user_id).await.unwrap().unwrap().mobile,
        None
    );
    // The old email is free for someone else now.
    assert!(store
        .create_account(
            &new_account("jo@example.com", None, "Other", "Person"),
            later
        )
        .await
        .unwrap()
        .is_ok());
    assert_eq!(
        store
            .change_account_email(999_999, &email("x@example.com"), later)
            .await
            .unwrap(),
        AccountChange::NoAccount
    );
}

async fn passcode_sends_are_limited_per_email_and_per_client_address(backend: Backend) {
    let Some((store, _url, _dir)) = store_on(backend).await else {
        return;
    };
    let limits = app::domain::account::SendLimits {
        per_target: 3,
        target_window_seconds: 900,
        per_address: 4,
        address_window_seconds: 3600,
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let count = |slot: PasscodeSlot, address: Option<&'static str>, at| {
        let store = store.clone();
        async move {
            count_passcode_send(&*store, &slot, address, &limits, at)
                .await
                .unwrap()
        }
    };
    let jo = || Sent::sign_in("jo@example.com").slot;
    let from = Some("203.0.113.9");
    for _ in 0..3 {
        assert_eq!(count(jo(), from, now).await, None);
    }
    assert_eq!(
        count(jo(), from, now).await,
        Some(900),
        "a fourth code to one email"
    );
    // The same email for another purpose counts against the same limit.
    let change = Sent::to(
        PasscodeTarget::Email(email("JO@example.com")),
        PasscodePurpose::ChangeEmail,
    )
    .slot;
    assert_eq!(count(change, None, now).await, Some(900));
    // Another email from the same address: its fifth send (refused ones count too) is over its four.
    assert_eq!(
        count(Sent::sign_in("sam@example.com").slot, from, now).await,
        Some(3600)
    );
    // From another address, another email goes.
    assert_eq!(
        count(
            Sent::sign_in("sam@example.com").slot,
            Some("198.51.100.7"),
            now
        )
        .await,
        None
    );
    // The email's window over, it may be sent to again (from an address still under its limit).
    let later = now + Duration::minutes(15);
    assert_eq!(count(jo(), Some("198.51.100.7"), later).await, None);
}

/// The database of a store on `backend` made with the migrations before 0024 only, and its URL: `None` when
/// PostgreSQL is not there.
async fn migrated_before_0024(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    let before = |m: &sqlx::migrate::Migrator| {
        m.migrations
            .iter()
            .filter(|m| m.version < 24)
            .cloned()
            .collect::<Vec<_>>()
    };
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
            migrator.migrations = before(&migrator).into();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
            Some((url, Some(dir)))
        }
        Backend::Postgres => {
            let Some(base) = crate::support::postgres_url() else {
                eprintln!("TEST_POSTGRES_URL is not set: migration 0024 on PostgreSQL not run");
                return None;
            };
            let name = format!(
                "t_m24_{}_{}",
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
            migrator.migrations = before(&migrator).into();
            migrator.run(&pool).await.unwrap();
            pool.close().await;
            Some((url, None))
        }
    }
}

/// Runs `statements` (portable SQL, no parameters) on the database at `url`.
async fn run_sql(backend: Backend, url: &str, statements: &[&str]) -> Result<(), sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)?
                .foreign_keys(true);
            let pool = sqlx::SqlitePool::connect_with(options).await?;
            for s in statements {
                sqlx::query(s).execute(&pool).await?;
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(url).await?;
            for s in statements {
                sqlx::query(s).execute(&pool).await?;
            }
            pool.close().await;
        }
    }
    Ok(())
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

async fn migration_0024_keeps_one_login_users_their_connections_sessions_and_foreign_keys(
    backend: Backend,
) {
    let Some((url, _dir)) = migrated_before_0024(backend).await else {
        return;
    };
    let t = "'2026-11-30T10:00:00+00:00'";
    run_sql(
        backend,
        &url,
        &[
            &format!(
                "INSERT INTO persons (id, trn, first_name, last_name, first_name_key, last_name_key, \
                 date_of_birth, status, created_at, updated_at) \
                 VALUES (41, '1234567', 'Jo', 'Bloggs', 'jo', 'bloggs', '1990-06-01', 'active', {t}, {t})"
            ),
            &format!(
                "INSERT INTO users (id, one_login_sub, email, verified_identity, identity_verified_at, \
                 identity_verified_via, created_at, last_signed_in_at, page_version) \
                 VALUES (7, 'urn:fdc:gov.uk:2022:jo', 'jo@example.com', \
                 '{{\"names\":[],\"dates_of_birth\":[]}}', {t}, 'one_login', {t}, {t}, 3)"
            ),
            &format!(
                "INSERT INTO users (id, one_login_sub, email, created_at, last_signed_in_at) \
                 VALUES (8, 'urn:fdc:gov.uk:2022:sam', '', {t}, {t})"
            ),
            &format!(
                "INSERT INTO connections (user_id, person_id, matched_via, connected_at) VALUES (7, 41, 'nino', {t})"
            ),
            &format!(
                "INSERT INTO sessions (id_hash, data, created_at, expires_at, subject) \
                 VALUES ('session-of-jo', '{{}}', {t}, '2099-01-01T00:00:00+00:00', 'urn:fdc:gov.uk:2022:jo')"
            ),
            &format!("INSERT INTO provider_subjects (user_id, sub, created_at) VALUES (8, 'our-sub-of-sam', {t})"),
        ],
    )
    .await
    .unwrap();

    // The service starts: migration 0024 (and any other new one) runs.
    let store = server::db::connect(&url, 5).await.unwrap();

    // The One Login users are there, with their identity, and found again by their subject (UNIQUE kept).
    let jo = store.user_by_id(7).await.unwrap().unwrap();
    assert_eq!(
        jo.email.as_ref().map(|e| e.as_str()),
        Some("jo@example.com")
    );
    assert!(jo.verification.is_some());
    let now = Utc::now();
    assert_eq!(
        store
            .sign_in_user("urn:fdc:gov.uk:2022:jo", None, now)
            .await
            .unwrap()
            .id,
        7
    );
    assert_eq!(
        store
            .sign_in_user("urn:fdc:gov.uk:2022:sam", None, now)
            .await
            .unwrap()
            .id,
        8
    );
    // Jo's connection to their record.
    let standing = store.teacher_standing(7).await.unwrap().unwrap();
    assert_eq!(standing.record.map(|r| r.trn), Some("1234567".to_string()));
    // Jo's session still finds Jo's page version (through the subject), which the sign-in just moved on.
    let session = store
        .load_live_session("session-of-jo", now)
        .await
        .unwrap()
        .expect("the session survived");
    assert!(
        session.page_version.is_some_and(|v| v > 3),
        "{:?}",
        session.page_version
    );
    // The page-version trigger on `users` was made again: changing a user moves their version.
    let before = store
        .load_live_session("session-of-jo", now)
        .await
        .unwrap()
        .unwrap()
        .page_version;
    store
        .record_verified_identity(7, &jo.verification.unwrap().identity, now)
        .await
        .unwrap();
    let after = store
        .load_live_session("session-of-jo", now)
        .await
        .unwrap()
        .unwrap()
        .page_version;
    assert_eq!(after, before.map(|v| v + 1));
    // Foreign keys to `users` still hold, both ways.
    let dangling = run_sql(
        backend,
        &url,
        &[
            "INSERT INTO connections (user_id, person_id, matched_via, connected_at) \
           VALUES (999, 41, 'nino', '2026-11-30T10:00:00+00:00')",
        ],
    )
    .await;
    assert!(dangling.is_err(), "a connection to nobody was accepted");
    let orphaning = run_sql(backend, &url, &["DELETE FROM users WHERE id = 8"]).await;
    assert!(
        orphaning.is_err(),
        "a user with a provider subject was deleted"
    );
    // And an account-only person can now exist beside them.
    let account = store
        .create_account(&new_account("new@example.com", None, "New", "Person"), now)
        .await
        .unwrap()
        .unwrap();
    assert!(![7, 8].contains(&account.user_id));
}
