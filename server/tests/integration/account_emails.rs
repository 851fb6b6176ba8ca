//! The emails about a teacher's record speak of how they sign in (issue 13 §5): an administrator's disconnection
//! and the QTS award tell a DfE Identity account holder about their account (at its email now), and a One Login
//! teacher about One Login; a person with both ways in hears of the one they asked support with. On both backends.

use crate::console::{as_staff, console, raise_record_matching_task, ADMIN};
use crate::console_accounts::account_with_task;
use crate::onelogin::Rp;
use crate::util::{assert_redirect, record};
use app::domain::account::AccountEmail;
use app::domain::matching::MatchedVia;
use app::domain::records::RecordStatus;
use app::domain::support::{render_template, task_href, EmailTemplate};
use chrono::{NaiveDate, Utc};
use server::db::account_records::{KeepAccount, MergedBy};
use server::db::support::NewEmail;
use server::db::Backend;

on_both_backends!(
    a_disconnection_tells_an_account_holder_of_their_account_at_its_email_now,
    a_disconnection_tells_a_one_login_teacher_of_one_login_and_a_person_with_both_of_the_way_they_asked,
    the_qts_email_of_an_account_holders_record_speaks_of_their_account_without_a_link_or_token,
);

const REASON: &str = "The teacher says this is not their record";

/// Active records with these TRNs (and the record's email, for the QTS email), stored.
async fn records(rp: &Rp, trns: &[&str], email: Option<&str>) {
    let dob = NaiveDate::from_ymd_opt(1985, 3, 14).unwrap();
    let stored: Vec<_> = trns
        .iter()
        .map(|trn| {
            let mut r = record(trn, ("Ann", "Lee"), dob, None, RecordStatus::Active);
            r.email = email.map(str::to_string);
            r
        })
        .collect();
    rp.state
        .store
        .insert_records(&stored, Utc::now())
        .await
        .unwrap();
}

/// An administrator disconnects the record `trn` from the teacher of task `reference`, through the console's
/// check step; the email queued, and the task page after.
async fn disconnect(rp: &mut Rp, reference: &str, trn: &str) -> (NewEmail, String) {
    as_staff(rp, ADMIN).await;
    let task_path = task_href(reference);
    let action = format!("{task_path}/disconnect");
    rp.post(
        &action,
        &[("action", "continue"), ("disconnect_reason", REASON)],
    )
    .await;
    assert_redirect(
        &rp.post(
            &action,
            &[
                ("action", "confirm"),
                ("disconnect_reason", REASON),
                ("trn", trn),
            ],
        )
        .await,
        &task_path,
    );
    let page = rp.get(&task_path).await.body;
    let emails = rp.state.store.recent_emails(1).await.unwrap();
    (emails[0].email.clone(), page)
}

/// The email's body as sent.
fn body(email: &NewEmail) -> String {
    let template = EmailTemplate::parse(&email.template).expect("a known template");
    render_template(template.text().1, &email.personalisation)
}

async fn a_disconnection_tells_an_account_holder_of_their_account_at_its_email_now(
    backend: Backend,
) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    records(&rp, &["7700001"], None).await;
    let (ann, reference) = account_with_task(&store, "ann.lee@example.com", "07400 123456").await;
    store
        .connect_account(ann, "7700001", MatchedVia::Nino, Utc::now())
        .await
        .unwrap();
    // She changed her account's email since she asked support.
    store
        .change_account_email(
            ann,
            &AccountEmail::parse("ann.new@example.com").unwrap(),
            Utc::now(),
        )
        .await
        .unwrap();

    let (email, page) = disconnect(&mut rp, &reference, "7700001").await;
    assert_eq!(email.template, "account_disconnected");
    assert_eq!(email.email_address, "ann.new@example.com");
    let sent = body(&email);
    assert!(sent.starts_with("Dear Ann Lee"), "{sent}");
    assert!(sent.contains("your DfE Identity account"), "{sent}");
    assert!(sent.contains(REASON), "{sent}");
    assert!(sent.contains(&reference), "{sent}");
    assert!(
        !sent.contains("One Login") && !sent.contains("(("),
        "{sent}"
    );
    assert!(
        page.contains("no longer connected to the teacher’s DfE Identity account"),
        "the banner names the account"
    );
    assert!(store.connected_record(ann).await.unwrap().is_none());
}

async fn a_disconnection_tells_a_one_login_teacher_of_one_login_and_a_person_with_both_of_the_way_they_asked(
    backend: Backend,
) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    records(&rp, &["7700011", "7700012", "7700013"], None).await;
    // A One Login teacher asked support (a record-matching task) and is connected to a record.
    let one_login_task = raise_record_matching_task(&mut rp).await;
    let task = store
        .task_by_reference(&one_login_task)
        .await
        .unwrap()
        .unwrap();
    let teacher = task.user_id.unwrap();
    let one_login_email = task.requester_email.clone();
    assert!(!one_login_email.is_empty());
    let connect = |trn: &'static str| {
        let store = store.clone();
        let email = one_login_email.clone();
        async move {
            store
                .connect_user(teacher, trn, MatchedVia::Nino, &email, Utc::now())
                .await
                .unwrap();
        }
    };
    connect("7700011").await;
    let (email, page) = disconnect(&mut rp, &one_login_task, "7700011").await;
    assert_eq!(email.template, "disconnected");
    assert_eq!(email.email_address, one_login_email);
    assert!(body(&email).contains("your GOV.UK One Login"));
    assert!(page.contains("no longer connected to the teacher’s GOV.UK One Login"));

    // They also had a DfE Identity account, with its own task, and proved both are theirs: one person, both ways in.
    let (account, account_task) =
        account_with_task(&store, "ann.account@example.com", "07400 654321").await;
    store
        .merge_users(
            teacher,
            account,
            KeepAccount::Gone,
            MergedBy::Person,
            Utc::now(),
        )
        .await
        .unwrap()
        .unwrap();
    // Undone from the task they asked with through One Login: One Login's email, to One Login's address.
    connect("7700012").await;
    let (email, _) = disconnect(&mut rp, &one_login_task, "7700012").await;
    assert_eq!(email.template, "disconnected");
    assert_eq!(email.email_address, one_login_email);
    // Undone from the task they asked with through their account: the account's, to the account's address.
    connect("7700013").await;
    let (email, page) = disconnect(&mut rp, &account_task, "7700013").await;
    assert_eq!(email.template, "account_disconnected");
    assert_eq!(email.email_address, "ann.account@example.com");
    assert!(!body(&email).contains("One Login"));
    assert!(page.contains("no longer connected to the teacher’s DfE Identity account"));
}

async fn the_qts_email_of_an_account_holders_record_speaks_of_their_account_without_a_link_or_token(
    backend: Backend,
) {
    let Some(rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    records(&rp, &["7700021", "7700022"], Some("ann.lee@school.example")).await;
    // An account holder holds the first record; a One Login teacher the second.
    let (ann, _) = account_with_task(&store, "ann.lee@example.com", "07400 123456").await;
    store
        .connect_account(ann, "7700021", MatchedVia::Nino, Utc::now())
        .await
        .unwrap();
    let one_login = store
        .sign_in_user("urn:fdc:qts:one-login", None, Utc::now())
        .await
        .unwrap();
    store
        .connect_user(one_login.id, "7700022", MatchedVia::Nino, "", Utc::now())
        .await
        .unwrap();

    let awarded = crate::trn_token_redemption::award_qts(&rp, "7700021").await;
    assert_eq!(awarded.status, 201, "{}", awarded.body);
    assert!(awarded.body.contains(r#""emailSent":true"#));
    let email = store.recent_emails(1).await.unwrap()[0].email.clone();
    assert_eq!(email.template, "qts_awarded_account");
    // To the record's address, as every QTS email; with no link, so no token was made.
    assert_eq!(email.email_address, "ann.lee@school.example");
    assert!(!email.personalisation.contains_key("sign_in_url"));
    let sent = body(&email);
    assert!(sent.contains("15 July 2026"), "{sent}");
    assert!(sent.contains("your DfE Identity account"), "{sent}");
    assert!(
        !sent.contains("One Login") && !sent.contains("(("),
        "{sent}"
    );
    assert!(!sent.contains("trn_token"), "{sent}");

    let awarded = crate::trn_token_redemption::award_qts(&rp, "7700022").await;
    assert_eq!(awarded.status, 201, "{}", awarded.body);
    let email = store.recent_emails(1).await.unwrap()[0].email.clone();
    assert_eq!(email.template, "qts_awarded");
    let sent = body(&email);
    assert!(sent.contains("Sign in with GOV.UK One Login"), "{sent}");
    assert!(sent.contains("/sign-in?trn_token="), "{sent}");
    assert_eq!(
        store.count_trn_tokens().await.unwrap(),
        1,
        "a token for the One Login teacher's link only"
    );
}
