//! The support console's third task kind (issue 13 §5, DESIGN §7.3) over HTTP on both backends: an account whose
//! record was not found is on the dashboard under its own kind; its page shows the account's details, unverified
//! marked and the mobile masked; one officer assigns a TRN while another has the task open and is refused; the
//! account's next look-up finds its TRN; and a merge decision puts an account into another one.

use crate::console::{as_staff, console, OFFICER, OFFICER2};
use crate::util::{assert_redirect, version_in};
use app::domain::account::{AccountEmail, AccountName, Mobile, NewAccount};
use app::domain::account_record::AccountAnswers;
use app::domain::journey::Answer;
use app::domain::records::{RecordStatus, TeachingRecord};
use app::domain::task_details::{AccountRecordMatchingDetails, TaskDetails};
use app::domain::validation::parse_nino;
use chrono::NaiveDate;
use server::db::account_records::AccountLookup;
use server::db::connect::NewSupportTask;
use server::db::{Backend, DynStore};

on_both_backends!(
    an_account_task_is_shown_and_decided_once_across_officers,
    support_merges_an_account_into_another,
);

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(1985, 3, 14).unwrap()
}

/// An account and its account-record-matching task, raised in storage; the user id and task reference.
pub(crate) async fn account_with_task(
    store: &DynStore,
    email: &str,
    mobile: &str,
) -> (i64, String) {
    let now = chrono::Utc::now();
    let account = store
        .create_account(
            &NewAccount {
                email: AccountEmail::parse(email).unwrap(),
                mobile: Some(Mobile::parse(mobile).unwrap()),
                name: AccountName {
                    first: "Ann".into(),
                    last: "Lee".into(),
                    preferred: None,
                },
                date_of_birth: dob(),
            },
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let task = NewSupportTask {
        user_id: account.user_id,
        details: TaskDetails::AccountRecordMatching(AccountRecordMatchingDetails {
            first_name: "Ann".into(),
            last_name: "Lee".into(),
            preferred_name: None,
            date_of_birth: dob(),
            email: email.into(),
            mobile: account.mobile.as_ref().map(|m| m.as_str().to_string()),
            answers: AccountAnswers {
                nino: Some(Answer::Yes(parse_nino("CE123456A").unwrap())),
                trn: Some(Answer::No),
                itt: None,
            },
            flags: Default::default(),
        }),
        client_id: None,
    };
    let raised = store.raise_support_task(&task, now).await.unwrap();
    (account.user_id, raised.reference)
}

async fn a_record(store: &DynStore, trn: &str) {
    let record = TeachingRecord {
        trn: trn.into(),
        first_name: "Ann".into(),
        middle_name: None,
        last_name: "Lee".into(),
        date_of_birth: dob(),
        nino: Some("CE123456A".into()),
        email: None,
        status: RecordStatus::Active,
        previous_names: Vec::new(),
        qualifications: Vec::new(),
    };
    store
        .insert_records(&[record], chrono::Utc::now())
        .await
        .unwrap();
}

async fn an_account_task_is_shown_and_decided_once_across_officers(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    a_record(&store, "7777777").await;
    let (ann, reference) = account_with_task(&store, "ann.lee@example.com", "07400 123456").await;
    let task_path = app::domain::support::task_href(&reference);

    as_staff(&mut rp, OFFICER).await;
    // The dashboard lists it under its own kind, and not under record matching.
    let listed = rp
        .get("/support?type=account_record_matching&status=all")
        .await;
    assert!(listed.body.contains(&reference));
    assert!(listed.body.contains("Account record matching"));
    let other_kind = rp.get("/support?type=record_matching&status=all").await;
    assert!(!other_kind.body.contains(&reference));
    // Its page: the account's details, unverified marked, the mobile masked; the account's decisions.
    let page = rp.get(&task_path).await;
    assert!(
        !page.body.contains("What GOV.UK One Login gave us"),
        "an account holder's rows are not One Login's"
    );
    for shown in [
        "Their DfE Identity account",
        "Not verified: DfE Identity account",
        "ann.lee@example.com",
        "Name (not verified)",
        "Date of birth (not verified)",
        "+*********456",
        "CE123456A",
        "Assign a TRN",
        "No TRN: they do not have a teaching record",
        "Merge with another account",
        "7777777",
    ] {
        assert!(page.body.contains(shown), "task page shows {shown:?}");
    }
    assert!(
        !page.body.contains("7400123456"),
        "the whole mobile number is not shown"
    );
    let version = version_in(&page.body);

    // Sam assigns the TRN; Priya, who opened the same version, decides "no TRN" and is refused.
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "connect"),
            ("trn", "7777777"),
        ],
    )
    .await;
    let sam = rp.cookies.clone();
    as_staff(&mut rp, OFFICER2).await;
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "do_not_connect"),
            ("reason", "no_matching_record"),
        ],
    )
    .await;
    let priya = rp.cookies.clone();
    rp.cookies = sam;
    // Back to the dashboard as Sam last left it.
    let confirmed = rp.post(&format!("{task_path}/confirm"), &[]).await;
    assert!(
        confirmed.header("location").starts_with("/support"),
        "{}",
        confirmed.header("location")
    );
    rp.cookies = priya;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let refused = rp.get(&task_path).await;
    assert!(refused
        .body
        .contains("This task has already been decided by Sam Okafor"));
    // The account's next look-up finds its TRN, not "no TRN"; one email, to the account's address.
    assert_eq!(
        store.account_lookup(ann).await.unwrap(),
        AccountLookup::Found {
            trn: "7777777".into()
        }
    );
    let emails = store.recent_emails(10).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].email.email_address, "ann.lee@example.com");
    assert_eq!(emails[0].email.template, "account_record_found");
    // The decided page shows the record's change history with Sam's assignment.
    assert!(refused
        .body
        .contains(&format!("by Sam Okafor (support task {reference})")));
}

async fn support_merges_an_account_into_another(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    a_record(&store, "7777777").await;
    // The kept account holds the record; the duplicate has a task asking for one.
    let (kept, _) = account_with_task(&store, "ann.home@example.com", "07400 123456").await;
    store
        .connect_account(
            kept,
            "7777777",
            app::domain::matching::MatchedVia::Nino,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (gone, reference) =
        account_with_task(&store, "ann.school@example.com", "07400 654321").await;
    let task_path = app::domain::support::task_href(&reference);
    as_staff(&mut rp, OFFICER).await;
    let version = version_in(&rp.get(&task_path).await.body);
    // An email that is no account's is refused on the form, and nothing changes.
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "merge"),
            ("merge_email", "nobody@example.com"),
        ],
    )
    .await;
    rp.post(&format!("{task_path}/confirm"), &[]).await;
    let page = rp.get(&task_path).await;
    assert!(page
        .body
        .contains("There is no other account with this email address"));
    assert!(store.account(gone).await.unwrap().is_some());
    // The right one merges.
    let version = version_in(&page.body);
    rp.post(
        &format!("{task_path}/decision"),
        &[
            ("version", &version),
            ("action", "continue"),
            ("outcome", "merge"),
            ("merge_email", "Ann.Home@example.com"),
        ],
    )
    .await;
    assert_redirect(
        &rp.post(&format!("{task_path}/confirm"), &[]).await,
        "/support",
    );
    assert_eq!(store.account(gone).await.unwrap(), None);
    assert_eq!(
        store.account(kept).await.unwrap().unwrap().email.address(),
        "ann.home@example.com"
    );
    // The task went with the account, decided; the email goes to the kept address, which holds a record.
    let task = store.task_by_reference(&reference).await.unwrap().unwrap();
    assert_eq!(task.user_id, Some(kept));
    let emails = store.recent_emails(10).await.unwrap();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].email.email_address, "ann.home@example.com");
    assert_eq!(emails[0].email.template, "account_record_found");
    // Audited as a decision and as a merge on this task.
    let audit = store.audit_log(None, 50).await.unwrap();
    for action in ["decided", "people_merged"] {
        assert!(
            audit
                .iter()
                .any(|a| a.action == action && a.task_reference.as_deref() == Some(&reference)),
            "{action}"
        );
    }
}
