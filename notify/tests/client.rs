//! The client against the fake Notify, over real HTTP on 127.0.0.1.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use notify::fake::{FakeNotify, FakeNotifyHandle};
use notify::{EmailRequest, KeyError, NotifyClient, SendError, SmsRequest};
use sha2::Sha256;

const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";
const OTHER_SECRET: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";
const ADDRESS: &str = "ada.lovelace@example.com";
const SMS_TEMPLATE: &str = "a7d2c1e0-5b3f-4e8a-9c6d-1f2e3d4c5b6a";
const MOBILE: &str = "07700 900123";

async fn start() -> (NotifyClient, FakeNotifyHandle) {
    let fake = FakeNotify::new(SERVICE_ID, SECRET);
    fake.add_template(
        TEMPLATE,
        "Your code, ((name))",
        "Dear ((name)),\n\nYour code is ((code)).",
    );
    fake.add_sms_template(
        SMS_TEMPLATE,
        "((code)) is your DfE Identity passcode. It expires in 15 minutes.",
    );
    let api_key = fake.api_key("teacher_id_test");
    let (base_url, handle) = fake.spawn().await;
    // The trailing slash is tolerated.
    (
        NotifyClient::new(&api_key, &format!("{base_url}/")).unwrap(),
        handle,
    )
}

fn email(reference: Option<&str>) -> EmailRequest {
    EmailRequest {
        template_id: TEMPLATE.into(),
        email_address: ADDRESS.into(),
        personalisation: BTreeMap::from([
            ("name".into(), "Ada".into()),
            ("code".into(), "483920".into()),
        ]),
        reference: reference.map(Into::into),
    }
}

fn sms(reference: Option<&str>) -> SmsRequest {
    SmsRequest {
        template_id: SMS_TEMPLATE.into(),
        phone_number: MOBILE.into(),
        personalisation: BTreeMap::from([("code".into(), "483920".into())]),
        reference: reference.map(Into::into),
        sms_sender_id: None,
    }
}

/// Errors are logged, so they must never carry the address, the number or the personalisation.
fn assert_no_personal_data(error: &SendError) {
    let text = format!("{error} {error:?}");
    for personal in [ADDRESS, "483920", MOBILE, "7700900123", "7700 900123"] {
        assert!(
            !text.to_lowercase().contains(personal),
            "{personal} in {text}"
        );
    }
}

fn jwt(service_id: &str, secret: &str, iat: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"HS256"}"#);
    let claims =
        URL_SAFE_NO_PAD.encode(serde_json::json!({ "iss": service_id, "iat": iat }).to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{claims}").as_bytes());
    format!(
        "{header}.{claims}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn sends_an_email_rendered_like_notify() {
    let (client, fake) = start().await;
    let sent = client.send_email(&email(Some("outbox-1"))).await.unwrap();
    assert_eq!(sent.reference.as_deref(), Some("outbox-1"));
    assert_eq!(sent.subject, "Your code, Ada");
    assert_eq!(sent.body, "Dear Ada,\n\nYour code is 483920.");
    assert!(uuid::Uuid::try_parse(&sent.id).is_ok());

    let stored = fake.sent();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, sent.id);
    assert_eq!(stored[0].email_address, ADDRESS);
    assert_eq!(stored[0].template_id, TEMPLATE);
    assert_eq!(stored[0].reference.as_deref(), Some("outbox-1"));
    assert_eq!(stored[0].subject, sent.subject);
    assert_eq!(stored[0].body, sent.body);
    assert_eq!(stored[0].personalisation, email(None).personalisation);

    // Without a reference, Notify answers null.
    assert_eq!(
        client.send_email(&email(None)).await.unwrap().reference,
        None
    );
}

#[tokio::test]
async fn answers_201_with_notifys_response_shape() {
    let (_, fake) = start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/v2/notifications/email", fake.base_url()))
        .bearer_auth(jwt(SERVICE_ID, SECRET, unix_now()))
        .json(&serde_json::json!({
            "email_address": ADDRESS,
            "template_id": TEMPLATE,
            "personalisation": {"Name": "Ada", "code": 7},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["reference"], serde_json::Value::Null);
    assert_eq!(body["content"]["subject"], "Your code, Ada");
    assert_eq!(body["content"]["body"], "Dear Ada,\n\nYour code is 7.");
    assert!(body["content"]["from_email"].is_string());
    assert_eq!(body["template"]["id"], TEMPLATE);
    assert_eq!(body["template"]["version"], 1);
    let uri = body["uri"].as_str().unwrap();
    assert!(
        uri.ends_with(&format!(
            "/v2/notifications/{}",
            body["id"].as_str().unwrap()
        )),
        "{uri}"
    );
}

#[test]
fn parses_api_keys() {
    let good = format!("my-key-{SERVICE_ID}-{SECRET}");
    assert_eq!(
        NotifyClient::new(&good, notify::NOTIFY_BASE_URL)
            .unwrap()
            .service_id(),
        SERVICE_ID
    );

    assert_eq!(
        NotifyClient::new("key-123", notify::NOTIFY_BASE_URL).unwrap_err(),
        KeyError::TooShort
    );
    let bad_service = format!("key-{}-{SECRET}", "x".repeat(36));
    assert_eq!(
        NotifyClient::new(&bad_service, notify::NOTIFY_BASE_URL).unwrap_err(),
        KeyError::ServiceId
    );
    let bad_secret = format!("key-{SERVICE_ID}-{}", SECRET.replace('-', "_"));
    assert_eq!(
        NotifyClient::new(&bad_secret, notify::NOTIFY_BASE_URL).unwrap_err(),
        KeyError::SecretKey
    );
    assert!(matches!(
        NotifyClient::new(&good, "ftp://example.com"),
        Err(KeyError::BaseUrl(_))
    ));
    assert!(matches!(
        NotifyClient::new(&good, "not a url"),
        Err(KeyError::BaseUrl(_))
    ));
}

#[test]
fn debug_does_not_show_the_secret() {
    let client = NotifyClient::new(
        &format!("my-key-{SERVICE_ID}-{SECRET}"),
        notify::NOTIFY_BASE_URL,
    )
    .unwrap();
    let debug = format!("{client:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains(SERVICE_ID), "{debug}");

    let debug = format!("{:?}", email(Some("r")));
    assert!(
        !debug.contains(ADDRESS) && !debug.contains("483920"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_a_permanent_auth_error() {
    let (_, fake) = start().await;
    let client =
        NotifyClient::new(&format!("key-{SERVICE_ID}-{OTHER_SECRET}"), fake.base_url()).unwrap();
    let error = client.send_email(&email(None)).await.unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            status: 403,
            message: "AuthError: Invalid token: API key not found".into()
        }
    );
    assert!(!error.is_retryable());
    assert_no_personal_data(&error);

    // Another service's key is refused before its signature is looked at.
    let client =
        NotifyClient::new(&format!("key-{OTHER_SECRET}-{SECRET}"), fake.base_url()).unwrap();
    let error = client.find_by_reference("r").await.unwrap_err();
    assert_eq!(
        error.message(),
        "AuthError: Invalid token: service not found"
    );
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn refuses_a_token_issued_more_than_30_seconds_away() {
    let (_, fake) = start().await;
    let http = reqwest::Client::new();
    for iat in [unix_now() - 40, unix_now() + 40] {
        let response = http
            .get(format!("{}/v2/notifications", fake.base_url()))
            .bearer_auth(jwt(SERVICE_ID, SECRET, iat))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(
            body,
            serde_json::json!({"status_code": 403, "errors": [{
                "error": "AuthError",
                "message": "Error: Your system clock must be accurate to within 30 seconds",
            }]})
        );
    }
    let fresh = http
        .get(format!("{}/v2/notifications", fake.base_url()))
        .bearer_auth(jwt(SERVICE_ID, SECRET, unix_now() - 5))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), 200);

    let unauthenticated = http
        .get(format!("{}/v2/notifications", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn a_server_error_is_retryable_and_the_next_send_works() {
    let (client, fake) = start().await;
    fake.fail_next(1, 500);
    let error = client
        .send_email(&email(Some("outbox-2")))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Retryable {
            status: Some(500),
            message: "Exception: Internal server error".into()
        }
    );
    assert!(error.is_retryable());
    assert!(fake.sent().is_empty());

    client.send_email(&email(Some("outbox-2"))).await.unwrap();
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn rate_limiting_is_retryable() {
    let (client, fake) = start().await;
    fake.fail_next(2, 429);
    for _ in 0..2 {
        let error = client.send_email(&email(None)).await.unwrap_err();
        assert!(error.is_retryable(), "{error}");
        assert_eq!(error.status(), Some(429));
        assert!(error.message().starts_with("RateLimitError: "), "{error}");
    }
    client.send_email(&email(None)).await.unwrap();
}

#[tokio::test]
async fn missing_personalisation_is_permanent_with_notifys_message() {
    let (client, fake) = start().await;
    let mut request = email(None);
    request.personalisation.remove("name");
    let error = client.send_email(&request).await.unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            status: 400,
            message: "BadRequestError: Missing personalisation: name".into()
        }
    );
    assert_no_personal_data(&error);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn validation_errors_are_permanent_and_impersonal() {
    let (client, fake) = start().await;
    let cases = [
        (
            EmailRequest {
                email_address: "ada.lovelace@example".into(),
                ..email(None)
            },
            "ValidationError: email_address Not a valid email address",
        ),
        (
            EmailRequest {
                template_id: "welcome".into(),
                ..email(None)
            },
            "ValidationError: template_id is not a valid UUID",
        ),
        (
            EmailRequest {
                template_id: "00000000-0000-4000-8000-000000000000".into(),
                ..email(None)
            },
            "BadRequestError: Template not found",
        ),
    ];
    for (request, message) in cases {
        let error = client.send_email(&request).await.unwrap_err();
        assert_eq!(
            error,
            SendError::Permanent {
                status: 400,
                message: message.into()
            }
        );
        assert_no_personal_data(&error);
    }
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn finds_sent_emails_by_reference() {
    let (client, _fake) = start().await;
    let sent = client.send_email(&email(Some("outbox-3"))).await.unwrap();
    client.send_email(&email(Some("outbox-4"))).await.unwrap();

    let found = client.find_by_reference("outbox-3").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, sent.id);
    assert_eq!(found[0].reference.as_deref(), Some("outbox-3"));
    assert_eq!(found[0].email_address, ADDRESS);
    assert_eq!(found[0].subject, "Your code, Ada");
    assert_eq!(found[0].body, sent.body);
    assert_eq!(found[0].status, "delivered");

    assert!(client
        .find_by_reference("outbox-unknown")
        .await
        .unwrap()
        .is_empty());
    // A reference that needs escaping in the query string.
    assert!(client
        .find_by_reference("a&reference=outbox-3")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_closed_port_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = NotifyClient::new(&format!("key-{SERVICE_ID}-{SECRET}"), &base_url).unwrap();

    let error = client.send_email(&email(None)).await.unwrap_err();
    assert!(
        matches!(error, SendError::Retryable { status: None, .. }),
        "{error:?}"
    );
    assert!(error.message().starts_with("could not connect"), "{error}");
    assert_no_personal_data(&error);
    assert!(client
        .find_by_reference("r")
        .await
        .unwrap_err()
        .is_retryable());
}

#[tokio::test]
async fn a_stopped_fake_is_retryable() {
    let (client, fake) = start().await;
    // The client now holds a kept-alive connection, which shutting down must close too.
    client.send_email(&email(None)).await.unwrap();
    fake.shutdown().await;
    let error = client.send_email(&email(None)).await.unwrap_err();
    assert!(
        matches!(error, SendError::Retryable { status: None, .. }),
        "{error:?}"
    );
    assert_eq!(fake.sent().len(), 1);
}

/// Some of Notify's validation messages quote the request (JSON schema errors do); the client strips what it sent.
#[tokio::test]
async fn error_messages_never_carry_the_address_or_personalisation() {
    let echo = axum::Router::new().route(
        "/v2/notifications/email",
        axum::routing::post(|axum::Json(body): axum::Json<serde_json::Value>| async move {
            let message = format!(
                "{} is not allowed for ADA.LOVELACE@example.com with code {} and {}",
                body["email_address"].as_str().unwrap(),
                body["personalisation"]["code"].as_str().unwrap(),
                "someone.else@example.org",
            );
            let body = serde_json::json!({"status_code": 400, "errors": [{"error": "ValidationError", "message": message}]});
            (axum::http::StatusCode::BAD_REQUEST, axum::Json(body))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, echo).await });

    let client = NotifyClient::new(&format!("key-{SERVICE_ID}-{SECRET}"), &base_url).unwrap();
    let error = client.send_email(&email(None)).await.unwrap_err();
    assert_no_personal_data(&error);
    assert!(!error.message().contains("someone.else"), "{error}");
    assert_eq!(
        error.message(),
        "ValidationError: [redacted] is not allowed for [redacted] with code [redacted] and [redacted]"
    );
}

#[tokio::test]
async fn sends_a_text_message_rendered_like_notify() {
    let (client, fake) = start().await;
    let sent = client.send_sms(&sms(Some("outbox-sms-1"))).await.unwrap();
    assert_eq!(sent.reference.as_deref(), Some("outbox-sms-1"));
    assert_eq!(
        sent.body,
        "483920 is your DfE Identity passcode. It expires in 15 minutes."
    );
    assert_eq!(sent.from_number, "DfE");
    assert!(uuid::Uuid::try_parse(&sent.id).is_ok());

    let stored = fake.sent_sms();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, sent.id);
    assert_eq!(stored[0].phone_number, MOBILE);
    assert_eq!(stored[0].normalised_number, "447700900123");
    assert_eq!(stored[0].template_id, SMS_TEMPLATE);
    assert_eq!(stored[0].body, sent.body);
    assert_eq!(stored[0].sms_sender_id, None);
    assert!(fake.sent().is_empty(), "a text message is not an email");

    // Without a reference Notify answers null; a sender id is passed on.
    let sender = "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    let sent = client
        .send_sms(&SmsRequest {
            reference: None,
            sms_sender_id: Some(sender.into()),
            phone_number: "+33 6 12 34 56 78".into(),
            ..sms(None)
        })
        .await
        .unwrap();
    assert_eq!(sent.reference, None);
    assert_eq!(fake.sent_sms()[1].sms_sender_id.as_deref(), Some(sender));
    assert_eq!(fake.sent_sms()[1].normalised_number, "33612345678");
}

#[tokio::test]
async fn answers_a_text_message_with_notifys_response_shape() {
    let (_, fake) = start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/v2/notifications/sms", fake.base_url()))
        .bearer_auth(jwt(SERVICE_ID, SECRET, unix_now()))
        .json(&serde_json::json!({
            "phone_number": "+447700900123",
            "template_id": SMS_TEMPLATE,
            "personalisation": {"Code": 123456},
            "reference": "r-1",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["reference"], "r-1");
    assert_eq!(
        body["content"]["body"],
        "123456 is your DfE Identity passcode. It expires in 15 minutes."
    );
    assert_eq!(body["content"]["from_number"], "DfE");
    assert_eq!(body["template"]["id"], SMS_TEMPLATE);
    assert_eq!(body["template"]["version"], 1);
    let id = body["id"].as_str().unwrap();
    assert!(
        body["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/v2/notifications/{id}")),
        "{body}"
    );
    assert_eq!(body["scheduled_for"], serde_json::Value::Null);
}

#[tokio::test]
async fn bad_phone_numbers_are_permanent_validation_errors_in_notifys_words() {
    let (client, fake) = start().await;
    for (number, reason) in [
        ("07700 9001", "Not enough digits"),
        ("07700 90012345", "Too many digits"),
        ("020 7946 0000", "Not a UK mobile number"),
        ("07700 900l23", "Must not contain letters or symbols"),
        ("+999 1234 5678", "Not a valid country prefix"),
        ("", "Not enough digits"),
    ] {
        let request = SmsRequest {
            phone_number: number.into(),
            ..sms(None)
        };
        let error = client.send_sms(&request).await.unwrap_err();
        assert_eq!(
            error,
            SendError::Permanent {
                status: 400,
                message: format!("ValidationError: phone_number {reason}")
            },
            "{number:?}"
        );
        assert_no_personal_data(&error);
    }
    for number in [
        "07700900123",
        "+44 (0)7700 900 123",
        "0044 7700 900123",
        "+1 202-555-0123",
    ] {
        let request = SmsRequest {
            phone_number: number.into(),
            ..sms(None)
        };
        client.send_sms(&request).await.unwrap();
    }
    assert_eq!(fake.sent_sms().len(), 4);
}

#[tokio::test]
async fn a_text_message_is_refused_what_an_email_is_refused() {
    let (client, fake) = start().await;
    let mut missing = sms(None);
    missing.personalisation.clear();
    let cases = [
        (
            SmsRequest {
                template_id: "passcode".into(),
                ..sms(None)
            },
            "ValidationError: template_id is not a valid UUID",
        ),
        (
            SmsRequest {
                template_id: "00000000-0000-4000-8000-000000000000".into(),
                ..sms(None)
            },
            "BadRequestError: Template not found",
        ),
        (
            SmsRequest {
                template_id: TEMPLATE.into(),
                ..sms(None)
            },
            "BadRequestError: email template is not suitable for sms notification",
        ),
        (
            SmsRequest {
                sms_sender_id: Some("default".into()),
                ..sms(None)
            },
            "ValidationError: sms_sender_id is not a valid UUID",
        ),
        (missing, "BadRequestError: Missing personalisation: code"),
    ];
    for (request, message) in cases {
        let error = client.send_sms(&request).await.unwrap_err();
        assert_eq!(
            error,
            SendError::Permanent {
                status: 400,
                message: message.into()
            }
        );
        assert_no_personal_data(&error);
    }
    // And the other way round.
    let error = client
        .send_email(&EmailRequest {
            template_id: SMS_TEMPLATE.into(),
            ..email(None)
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        "BadRequestError: sms template is not suitable for email notification"
    );
    assert!(fake.sent_sms().is_empty() && fake.sent().is_empty());
}

#[tokio::test]
async fn text_message_failures_are_classified_like_emails() {
    let (client, fake) = start().await;
    for (status, retryable, kind) in [
        (500, true, "Exception: "),
        (503, true, "Exception: "),
        (429, true, "RateLimitError: "),
        (400, false, "BadRequestError: "),
        (403, false, "AuthError: "),
    ] {
        fake.fail_next(1, status);
        let error = client.send_sms(&sms(Some("r"))).await.unwrap_err();
        assert_eq!(error.is_retryable(), retryable, "{status}: {error}");
        assert_eq!(error.status(), Some(status));
        assert!(error.message().starts_with(kind), "{error}");
        assert_no_personal_data(&error);
    }
    assert!(fake.sent_sms().is_empty());
    client.send_sms(&sms(Some("r"))).await.unwrap();
    assert_eq!(fake.sent_sms().len(), 1);

    let wrong_key =
        NotifyClient::new(&format!("key-{SERVICE_ID}-{OTHER_SECRET}"), fake.base_url()).unwrap();
    let error = wrong_key.send_sms(&sms(None)).await.unwrap_err();
    assert_eq!(
        error,
        SendError::Permanent {
            status: 403,
            message: "AuthError: Invalid token: API key not found".into()
        }
    );
    assert_eq!(fake.sent_sms().len(), 1);
}

#[tokio::test]
async fn finds_text_messages_by_reference_apart_from_emails() {
    let (client, _fake) = start().await;
    let text = client.send_sms(&sms(Some("shared"))).await.unwrap();
    let email = client.send_email(&email(Some("shared"))).await.unwrap();

    let found = client.find_sms_by_reference("shared").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, text.id);
    assert_eq!(found[0].phone_number, MOBILE);
    assert_eq!(found[0].email_address, "");
    assert_eq!(found[0].subject, "");
    assert_eq!(found[0].body, text.body);
    assert_eq!(found[0].status, "delivered");

    let found = client.find_by_reference("shared").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, email.id);
    assert_eq!(found[0].phone_number, "");
    assert!(client
        .find_sms_by_reference("other")
        .await
        .unwrap()
        .is_empty());

    // One notification by id, whatever its kind.
    let response = reqwest::Client::new()
        .get(format!("{}/v2/notifications/{}", _fake.base_url(), text.id))
        .bearer_auth(jwt(SERVICE_ID, SECRET, unix_now()))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["type"], "sms");
    assert_eq!(body["phone_number"], MOBILE);
}

#[test]
fn sms_debug_does_not_show_the_number_or_the_code() {
    let debug = format!("{:?}", sms(Some("r")));
    assert!(
        !debug.contains("900123") && !debug.contains("483920"),
        "{debug}"
    );
    assert!(debug.contains("code"), "{debug}");
}

/// The client strips the number in any shape Notify might quote it in.
#[tokio::test]
async fn text_message_error_messages_never_carry_the_number_or_the_code() {
    let echo = axum::Router::new().route(
        "/v2/notifications/sms",
        axum::routing::post(|axum::Json(body): axum::Json<serde_json::Value>| async move {
            let message = format!(
                "{} (447700900123, 7700900123) with code {} is not allowed",
                body["phone_number"].as_str().unwrap(),
                body["personalisation"]["code"].as_str().unwrap(),
            );
            let body = serde_json::json!({"status_code": 400, "errors": [{"error": "BadRequestError", "message": message}]});
            (axum::http::StatusCode::BAD_REQUEST, axum::Json(body))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, echo).await });

    let client = NotifyClient::new(&format!("key-{SERVICE_ID}-{SECRET}"), &base_url).unwrap();
    let error = client.send_sms(&sms(None)).await.unwrap_err();
    assert_no_personal_data(&error);
    assert_eq!(
        error.message(),
        "BadRequestError: [redacted] [redacted] [redacted] with code [redacted] is not allowed"
    );
}
