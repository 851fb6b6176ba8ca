//! The client against the fake Notify, over real HTTP on 127.0.0.1.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use notify::fake::{FakeNotify, FakeNotifyHandle};
use notify::{EmailRequest, KeyError, NotifyClient, SendError};
use sha2::Sha256;

const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";
const OTHER_SECRET: &str = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const TEMPLATE: &str = "f33517ff-2a88-4f6e-b855-c550268ce08a";
const ADDRESS: &str = "ada.lovelace@example.com";

async fn start() -> (NotifyClient, FakeNotifyHandle) {
    let fake = FakeNotify::new(SERVICE_ID, SECRET);
    fake.add_template(
        TEMPLATE,
        "Your code, ((name))",
        "Dear ((name)),\n\nYour code is ((code)).",
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

/// Errors are logged, so they must never carry the address or the personalisation.
fn assert_no_personal_data(error: &SendError) {
    let text = format!("{error} {error:?}");
    for personal in [ADDRESS, "483920"] {
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
