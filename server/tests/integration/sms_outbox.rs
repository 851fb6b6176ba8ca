//! Text messages through the outbox (DESIGN §7.3's mobile passcodes): queued like emails, sent by the same worker
//! through a Notify-compatible server over real HTTP, retried after a transient failure, never sent twice (not
//! even after a crash between Notify accepting one and the outbox recording it), failed for good when Notify
//! refuses them, and never with the number or the code in the logs. Then the development mailbox, which shows
//! them beside the emails.

use crate::console::{as_staff, console, ADMIN};
use crate::support::{postgres_store, sqlite_store};
use app::domain::support::{EmailTemplate, SmsTemplate};
use notify::fake::{FakeNotify, FakeNotifyHandle};
use server::db::{Backend, DynStore};
use server::outbox::{
    deliver_sms, queue_passcode, run_once, Delivery, PasscodeMessage, PasscodeTo, Sender,
};
use std::sync::{Arc, Mutex};

on_both_backends!(
    a_passcode_text_message_is_sent_once_and_its_code_not_kept,
    a_text_message_is_retried_after_a_transient_failure_and_sent_once,
    a_text_message_notify_accepted_before_a_crash_is_not_sent_again,
    a_text_message_notify_refuses_fails_for_good_without_the_number_in_the_error,
    a_passcode_email_is_sent_with_its_own_template,
    the_development_mailbox_shows_text_messages_beside_emails,
);

const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";
const SMS_TEMPLATE_ID: &str = "a7d2c1e0-5b3f-4e8a-9c6d-1f2e3d4c5b6a";
const EMAIL_TEMPLATE_ID: &str = "b8e3d2f1-6c4a-4f9b-8d7e-2a3b4c5d6e7f";
const MOBILE: &str = "+447700900123";
const CODE: &str = "483920";

/// A migrated store on `backend`, or `None` for PostgreSQL when `TEST_POSTGRES_URL` is not set.
async fn store(backend: Backend) -> Option<(DynStore, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let (store, dir) = sqlite_store().await;
            Some((store, Some(dir)))
        }
        Backend::Postgres => postgres_store().await.map(|(store, _)| (store, None)),
    }
}

/// A Notify fake that knows both passcode templates, and a sender configured with them.
async fn notify() -> (Sender, notify::NotifyClient, FakeNotifyHandle) {
    let fake = FakeNotify::new(SERVICE_ID, SECRET);
    fake.add_sms_template(SMS_TEMPLATE_ID, SmsTemplate::Passcode.text());
    let (subject, body) = EmailTemplate::Passcode.text();
    fake.add_template(EMAIL_TEMPLATE_ID, subject, body);
    let api_key = fake.api_key("teacher_id_test");
    let (base_url, handle) = fake.spawn().await;
    let client = notify::NotifyClient::new(&api_key, &base_url).unwrap();
    let sender = Sender::Notify {
        client: client.clone(),
        templates: [(EmailTemplate::Passcode, EMAIL_TEMPLATE_ID.to_string())].into(),
        sms_templates: [(SmsTemplate::Passcode, SMS_TEMPLATE_ID.to_string())].into(),
    };
    (sender, client, handle)
}

async fn queue_sms(store: &DynStore, number: &str) {
    let wake = tokio::sync::Notify::new();
    queue_passcode(
        store,
        &wake,
        PasscodeTo::Sms(number),
        CODE,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
}

/// Everything logged while it is held, as the service's formatter writes it.
struct Logs {
    text: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    fn capture() -> Logs {
        #[derive(Clone)]
        struct Writer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Writer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let text = Arc::new(Mutex::new(Vec::new()));
        let writer = Writer(text.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        Logs {
            text,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }
}

/// Neither the number (in any shape) nor the code.
fn assert_nothing_personal(text: &str) {
    for secret in [MOBILE, "7700900123", "7700 900123", CODE] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

async fn a_passcode_text_message_is_sent_once_and_its_code_not_kept(backend: Backend) {
    let Some((store, _dir)) = store(backend).await else {
        return;
    };
    let (sender, _client, fake) = notify().await;
    queue_sms(&store, MOBILE).await;

    assert_eq!(run_once(&store, &sender).await.unwrap(), 1);
    assert_eq!(run_once(&store, &sender).await.unwrap(), 0, "nothing left");
    let sent = fake.sent_sms();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].phone_number, MOBILE);
    assert_eq!(sent[0].template_id, SMS_TEMPLATE_ID);
    assert_eq!(
        sent[0].body,
        format!(
            "{CODE} is your DfE Identity account passcode. It expires in 15 minutes. Do not share it with anyone."
        )
    );
    assert!(sent[0]
        .reference
        .as_deref()
        .is_some_and(|r| r.starts_with("passcode-")));
    assert!(fake.sent().is_empty(), "a text message, not an email");

    let recorded = store.recent_sms(10).await.unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].status, "sent");
    assert_eq!(recorded[0].attempts, 1);
    assert_eq!(recorded[0].delivered_via.as_deref(), Some("notify"));
    assert!(
        recorded[0].sms.personalisation.is_empty(),
        "the code is not kept once Notify has it"
    );
    assert!(store.recent_emails(10).await.unwrap().is_empty());
}

async fn a_text_message_is_retried_after_a_transient_failure_and_sent_once(backend: Backend) {
    let Some((store, _dir)) = store(backend).await else {
        return;
    };
    let (sender, _client, fake) = notify().await;
    let logs = Logs::capture();
    queue_sms(&store, MOBILE).await;

    fake.fail_next(1, 503);
    assert_eq!(run_once(&store, &sender).await.unwrap(), 1);
    let waiting = store.recent_sms(1).await.unwrap().remove(0);
    assert_eq!((waiting.status.as_str(), waiting.attempts), ("pending", 1));
    let error = waiting.last_error.clone().unwrap();
    assert!(error.contains("HTTP 503"), "{error}");
    assert_eq!(
        waiting.sms.personalisation.get("code").map(String::as_str),
        Some(CODE),
        "kept for the next attempt"
    );
    assert!(fake.sent_sms().is_empty());
    // Not due again until its backoff has passed.
    assert_eq!(run_once(&store, &sender).await.unwrap(), 0);

    let later = chrono::Utc::now() + server::outbox::backoff(1) + chrono::Duration::seconds(1);
    let due = store
        .claim_due_sms(later, later + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        deliver_sms(&store, &sender, &due[0], later).await.unwrap(),
        Delivery::Sent
    );
    assert_eq!(fake.sent_sms().len(), 1);
    let sent = store.recent_sms(1).await.unwrap().remove(0);
    assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 2));
    assert_eq!(sent.last_error, None);
    assert_eq!(run_once(&store, &sender).await.unwrap(), 0);
    assert_eq!(fake.sent_sms().len(), 1, "not sent twice");

    let logged = logs.text();
    assert!(
        logged.contains("text message not sent; will retry"),
        "{logged}"
    );
    assert_nothing_personal(&logged);
    assert_nothing_personal(&error);
}

async fn a_text_message_notify_accepted_before_a_crash_is_not_sent_again(backend: Backend) {
    let Some((store, _dir)) = store(backend).await else {
        return;
    };
    let (sender, client, fake) = notify().await;
    queue_sms(&store, MOBILE).await;
    // Claimed, sent, and the process dies before recording it: its lease has run out.
    let now = chrono::Utc::now();
    let claimed = store
        .claim_due_sms(now, now - chrono::Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    client
        .send_sms(&notify::SmsRequest {
            template_id: SMS_TEMPLATE_ID.into(),
            phone_number: claimed[0].sms.phone_number.clone(),
            personalisation: claimed[0].sms.personalisation.clone(),
            reference: Some(claimed[0].sms.reference.clone()),
            sms_sender_id: None,
        })
        .await
        .unwrap();
    assert_eq!(fake.sent_sms().len(), 1);

    let again = store
        .claim_due_sms(now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "claimed again after the lease");
    assert_eq!(again[0].attempts, 2);
    assert_eq!(
        deliver_sms(&store, &sender, &again[0], now).await.unwrap(),
        Delivery::AlreadySent
    );
    assert_eq!(fake.sent_sms().len(), 1, "not sent a second time");
    let recorded = store.recent_sms(1).await.unwrap().remove(0);
    assert_eq!(recorded.status, "sent");
    assert!(recorded.sms.personalisation.is_empty());
}

async fn a_text_message_notify_refuses_fails_for_good_without_the_number_in_the_error(
    backend: Backend,
) {
    let Some((store, _dir)) = store(backend).await else {
        return;
    };
    let (sender, _client, fake) = notify().await;
    let logs = Logs::capture();
    // A landline: Notify refuses it, and trying again cannot help.
    let landline = "+442079460000";
    queue_sms(&store, landline).await;
    assert_eq!(run_once(&store, &sender).await.unwrap(), 1);
    let failed = store.recent_sms(1).await.unwrap().remove(0);
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1));
    let error = failed.last_error.unwrap();
    assert!(
        error.contains("ValidationError: phone_number Not a UK mobile number"),
        "{error}"
    );
    assert!(!error.contains("2079460000"), "{error}");
    assert!(
        failed.sms.personalisation.is_empty(),
        "a code that will never arrive is not kept"
    );
    assert_eq!(run_once(&store, &sender).await.unwrap(), 0, "not retried");

    // A service without the template: failed, nothing sent.
    let without = Sender::Notify {
        client: notify::NotifyClient::new(&format!("key-{SERVICE_ID}-{SECRET}"), fake.base_url())
            .unwrap(),
        templates: Default::default(),
        sms_templates: Default::default(),
    };
    queue_sms(&store, MOBILE).await;
    assert_eq!(run_once(&store, &without).await.unwrap(), 1);
    let failed = store.recent_sms(1).await.unwrap().remove(0);
    assert_eq!(failed.status, "failed");
    assert!(fake.sent_sms().is_empty());

    let logged = logs.text();
    assert!(
        logged.contains("text message could not be sent"),
        "{logged}"
    );
    assert!(!logged.contains("2079460000"), "{logged}");
    assert_nothing_personal(&logged);
}

async fn a_passcode_email_is_sent_with_its_own_template(backend: Backend) {
    let Some((store, _dir)) = store(backend).await else {
        return;
    };
    let (sender, _client, fake) = notify().await;
    let wake = tokio::sync::Notify::new();
    queue_passcode(
        &store,
        &wake,
        PasscodeTo::Email("ann.lee+npq@example.com"),
        CODE,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    // The worker is woken at once.
    tokio::time::timeout(std::time::Duration::from_secs(1), wake.notified())
        .await
        .expect("queueing wakes the worker");
    assert_eq!(run_once(&store, &sender).await.unwrap(), 1);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].email_address, "ann.lee+npq@example.com");
    assert_eq!(sent[0].template_id, EMAIL_TEMPLATE_ID);
    assert_eq!(sent[0].subject, "Your DfE Identity account passcode");
    assert!(sent[0].body.contains(CODE), "{}", sent[0].body);
    assert!(fake.sent_sms().is_empty());
    // Once Notify has it, the outbox keeps no copy of the code.
    let kept = store.recent_emails(1).await.unwrap();
    assert_eq!(kept[0].email.template, "passcode");
    assert_eq!(kept[0].email.personalisation.get("code"), None);

    // For a change that queues it in its own transaction: the same message, and nothing secret in its Debug.
    let message = PasscodeMessage::new(PasscodeTo::Sms(MOBILE), CODE);
    let PasscodeMessage::Sms(sms) = &message else {
        panic!("a text message");
    };
    assert_eq!(sms.template, SmsTemplate::Passcode);
    assert_eq!(
        sms.personalisation.get("code").map(String::as_str),
        Some(CODE)
    );
    assert_nothing_personal(&format!("{message:?} {sms:?}"));
}

async fn the_development_mailbox_shows_text_messages_beside_emails(backend: Backend) {
    let Some(mut rp) = console(backend).await else {
        return;
    };
    let store = rp.state.store.clone();
    let wake = tokio::sync::Notify::new();
    let now = chrono::Utc::now();
    // The email a second before the text message, both due now.
    queue_passcode(
        &store,
        &wake,
        PasscodeTo::Email("ann@example.com"),
        "111222",
        now - chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    queue_passcode(&store, &wake, PasscodeTo::Sms(MOBILE), CODE, now)
        .await
        .unwrap();
    assert_eq!(run_once(&store, &Sender::DevMailbox).await.unwrap(), 2);
    let kept = store.recent_sms(1).await.unwrap().remove(0);
    assert_eq!(kept.delivered_via.as_deref(), Some("dev_mailbox"));
    assert_eq!(
        kept.sms.personalisation.get("code").map(String::as_str),
        Some(CODE),
        "the mailbox shows it from here"
    );

    as_staff(&mut rp, ADMIN).await;
    let page = rp.get("/dev/mailbox").await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    let text = body
        .find(r#"data-testid="text-message""#)
        .expect("a text message card");
    let email = body.find(r#"data-testid="email""#).expect("an email card");
    assert!(text < email, "newest first: the text message came second");
    assert!(
        body.contains(&format!("Text message to {MOBILE}")),
        "{body}"
    );
    assert!(body.contains(&format!("{CODE} is your DfE Identity account passcode")));
    assert!(body.contains("Your DfE Identity account passcode"));
    assert!(body.contains("111222"));
}
