//! The console's pages for the services that use Teacher ID (issue 12 items 2 and 4) over HTTP: an administrator
//! adds a service and sees its secret once, changes its URIs, replaces its secret and disables it; adds an API
//! client whose key then works at the API, and disables it; bad input comes back with what was typed and stores
//! nothing; every change is audited without a secret; anyone else is refused.

use crate::console::{as_staff, assert_redirect, console, ADMIN, OFFICER, VIEWER};
use crate::onelogin::Rp;
use crate::support::TestResponse;
use app::domain::provider::{ClientAuth, IdTokenAlg, Scope, Scopes, SignInPolicy, TrnPolicy};
use axum::body::Body;
use axum::http::Request;
use server::db::support::AuditEvent;
use server::db::Backend;

on_both_backends!(
    an_administrator_adds_a_service_and_sees_its_secret_once,
    an_administrator_changes_uris_replaces_the_secret_and_disables_a_service,
    bad_service_input_comes_back_with_what_was_typed_and_stores_nothing,
    an_administrator_adds_an_api_client_whose_key_works_until_it_is_disabled,
    bad_api_client_input_comes_back_with_what_was_typed_and_stores_nothing,
    staff_who_are_not_administrators_are_refused_every_services_page_and_form,
    a_service_may_ask_for_es256_id_tokens_and_a_tampered_algorithm_is_a_govuk_error,
    whether_new_accounts_need_a_mobile_is_chosen_saved_and_audited,
);

const NPQ: &str = "npq-test";

/// The add-a-service form as an administrator fills it in, with `changes` made to it.
fn service_form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("client_id", NPQ),
        ("display_name", "Register for an NPQ"),
        ("service_url", "https://npq.example"),
        (
            "redirect_uris",
            "https://npq.example/callback\r\nhttps://staging.npq.example/callback",
        ),
        ("post_logout_redirect_uris", ""),
        ("auth", "client_secret"),
        ("jwks_uri", ""),
        ("jwks", ""),
        ("scopes", "openid"),
        ("scopes", "email"),
        ("scopes", "teaching_record"),
        ("sign_in", "one_login_or_account"),
        ("trn", "optional"),
    ];
    for (name, value) in changes {
        form.retain(|(n, _)| n != name);
        form.push((name, value));
    }
    form
}

/// The console as an administrator, with the services page fetched (for the CSRF cookie).
async fn as_administrator(backend: Backend) -> Option<Rp> {
    let mut rp = console(backend).await?;
    as_staff(&mut rp, ADMIN).await;
    assert_eq!(rp.get("/support/services").await.status, 200);
    Some(rp)
}

/// The secret a secret page shows, if it shows one.
fn shown_secret(page: &TestResponse) -> Option<String> {
    let tag = page.body.find(r#"data-testid="secret""#)?;
    let at = tag + page.body[tag..].find('>')? + 1;
    let end = at + page.body[at..].find('<')?;
    Some(page.body[at..end].to_string())
}

/// Adds the service of [`service_form`] and returns its secret, from the page that shows it once.
async fn add_npq(rp: &mut Rp) -> String {
    let added = rp.post("/support/services/new", &service_form(&[])).await;
    assert_redirect(&added, &format!("/support/services/{NPQ}/secret"));
    let page = rp.get(&format!("/support/services/{NPQ}/secret")).await;
    assert_eq!(page.status, 200);
    shown_secret(&page).expect("the secret is shown")
}

/// The audit log's events, newest first.
async fn audited(rp: &Rp) -> Vec<AuditEvent> {
    rp.state
        .store
        .audit_log(None, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect()
}

/// The audit log as stored text: no secret, key or hash of one may be in it.
async fn audit_text(rp: &Rp) -> String {
    format!("{:?}", rp.state.store.audit_log(None, 200).await.unwrap())
}

fn secret_hash(auth: &ClientAuth) -> &str {
    match auth {
        ClientAuth::ClientSecret { sha256 } => sha256,
        other => panic!("a client secret, not {other:?}"),
    }
}

async fn an_administrator_adds_a_service_and_sees_its_secret_once(backend: Backend) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    let secret = add_npq(&mut rp).await;
    assert_eq!(secret.len(), 43, "256 bits, base64url");

    let client = rp.state.store.client(NPQ).await.unwrap().expect("stored");
    assert_eq!(client.display_name, "Register for an NPQ");
    assert_eq!(
        client.redirect_uris,
        [
            "https://npq.example/callback",
            "https://staging.npq.example/callback"
        ]
    );
    assert_eq!(
        client.allowed_scopes,
        Scopes::from([Scope::Openid, Scope::Email, Scope::TeachingRecord])
    );
    assert_eq!(
        (client.sign_in, client.trn, client.enabled),
        (SignInPolicy::OneLoginOrAccount, TrnPolicy::Optional, true)
    );
    assert_eq!(
        client.id_token_alg,
        IdTokenAlg::Rs256,
        "OpenID Connect's default when the form does not say"
    );
    assert!(server::provider::client_secret_matches(
        &client.auth,
        &secret
    ));
    assert_ne!(secret_hash(&client.auth), secret);

    // Shown once: a reload shows no secret.
    let again = rp.get(&format!("/support/services/{NPQ}/secret")).await;
    assert_eq!(again.status, 200);
    assert!(shown_secret(&again).is_none());
    assert!(!again.body.contains(&secret));
    assert!(again.body.contains("no longer shown"));

    let list = rp.get("/support/services").await;
    assert!(list.body.contains("Register for an NPQ"));
    assert!(list.body.contains(NPQ));
    assert!(!list.body.contains(&secret));

    assert_eq!(
        audited(&rp).await[0],
        AuditEvent::ServiceAdded {
            client_id: NPQ.into()
        }
    );
    let log = rp.state.store.audit_log(None, 1).await.unwrap();
    let admin = crate::util::staff_member(&rp.state.store, ADMIN).await;
    assert_eq!(log[0].staff.as_deref(), Some(admin.name.as_str()));
    let text = audit_text(&rp).await;
    assert!(!text.contains(&secret) && !text.contains(secret_hash(&client.auth)));
    let page = rp.get("/support/audit").await;
    assert!(page.body.contains(&format!("Added the service {NPQ}")));
}

async fn an_administrator_changes_uris_replaces_the_secret_and_disables_a_service(
    backend: Backend,
) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    let first = add_npq(&mut rp).await;
    let edit = format!("/support/services/{NPQ}/edit");
    assert_eq!(rp.get(&edit).await.status, 200);

    let saved = rp
        .post(
            &format!("/support/services/{NPQ}/uris"),
            &[
                ("redirect_uris", " https://npq.example/new-callback \n\n"),
                (
                    "post_logout_redirect_uris",
                    "https://npq.example/signed-out",
                ),
            ],
        )
        .await;
    assert_redirect(&saved, &edit);
    let client = rp.state.store.client(NPQ).await.unwrap().unwrap();
    assert_eq!(client.redirect_uris, ["https://npq.example/new-callback"]);
    assert_eq!(
        client.post_logout_redirect_uris,
        ["https://npq.example/signed-out"]
    );
    assert!(rp.get(&edit).await.body.contains("have been saved"));

    let rotated = rp
        .post(&format!("/support/services/{NPQ}/rotate-secret"), &[])
        .await;
    assert_redirect(&rotated, &format!("/support/services/{NPQ}/secret"));
    let second = shown_secret(&rp.get(&format!("/support/services/{NPQ}/secret")).await)
        .expect("the new secret is shown");
    assert_ne!(first, second);
    let auth = rp.state.store.client(NPQ).await.unwrap().unwrap().auth;
    assert!(server::provider::client_secret_matches(&auth, &second));
    assert!(!server::provider::client_secret_matches(&auth, &first));

    let enabled = |on: &'static str| [("enabled", on)];
    let off = rp
        .post(
            &format!("/support/services/{NPQ}/enabled"),
            &enabled("false"),
        )
        .await;
    assert_redirect(&off, &edit);
    assert!(!rp.state.store.client(NPQ).await.unwrap().unwrap().enabled);
    assert!(rp.get(&edit).await.body.contains("Disabled"));
    rp.post(
        &format!("/support/services/{NPQ}/enabled"),
        &enabled("true"),
    )
    .await;
    assert!(rp.state.store.client(NPQ).await.unwrap().unwrap().enabled);
    let tampered = rp
        .post(
            &format!("/support/services/{NPQ}/enabled"),
            &enabled("maybe"),
        )
        .await;
    assert_eq!(tampered.status, 400);
    let unknown = rp
        .post("/support/services/no-such-service/rotate-secret", &[])
        .await;
    assert_eq!(unknown.status, 404);

    let client_id = || NPQ.to_string();
    assert_eq!(
        audited(&rp).await[..4],
        [
            AuditEvent::ServiceEnabled {
                client_id: client_id(),
                enabled: true
            },
            AuditEvent::ServiceEnabled {
                client_id: client_id(),
                enabled: false
            },
            AuditEvent::ServiceSecretRotated {
                client_id: client_id()
            },
            AuditEvent::ServiceUrisChanged {
                client_id: client_id()
            },
        ]
    );
    let text = audit_text(&rp).await;
    assert!(!text.contains(&first) && !text.contains(&second));
}

async fn bad_service_input_comes_back_with_what_was_typed_and_stores_nothing(backend: Backend) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    let long_name = "N".repeat(201);
    let bad = service_form(&[
        ("client_id", "has space"),
        ("display_name", &long_name),
        ("redirect_uris", "http://npq.example/callback"),
        ("post_logout_redirect_uris", "https://npq.example/out#x"),
    ]);
    let refused = rp.post("/support/services/new", &bad).await;
    assert_redirect(&refused, "/support/services/new");
    let page = rp.get("/support/services/new").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("There is a problem"));
    for message in [
        "Client ID must be 100 characters or fewer",
        "Service name must be 200 characters or fewer",
        "must start with https://",
        "must not have a fragment",
    ] {
        assert!(page.body.contains(message), "{message}");
    }
    // What was typed is kept, including the checkboxes and radios.
    assert!(page.body.contains("has space"));
    assert!(page.body.contains(&long_name));
    assert!(page.body.contains("http://npq.example/callback"));
    assert!(page
        .body
        .contains(r#"value="one_login_or_account" checked"#));
    assert!(rp.state.store.client_ids().await.unwrap().is_empty());

    // A client id that is taken.
    add_npq(&mut rp).await;
    let again = rp
        .post(
            "/support/services/new",
            &service_form(&[("display_name", "Another name")]),
        )
        .await;
    assert_redirect(&again, "/support/services/new");
    let page = rp.get("/support/services/new").await;
    assert!(page
        .body
        .contains("A service with this client ID already exists"));
    assert!(page.body.contains("Another name"));
    assert_eq!(rp.state.store.client_ids().await.unwrap(), [NPQ]);
    assert_eq!(
        rp.state
            .store
            .client(NPQ)
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "Register for an NPQ"
    );

    // Nothing chosen where a choice is needed, and keys for a service using its own keys.
    rp.post(
        "/support/services/new",
        &[("client_id", "other"), ("auth", "private_key_jwt")],
    )
    .await;
    let page = rp.get("/support/services/new").await;
    for message in [
        "Enter the service’s name",
        "Enter at least one redirect URI",
        "Select openid",
        "Select how teachers may sign in",
        "Enter either the URL of the service’s public keys",
    ] {
        assert!(page.body.contains(message), "{message}");
    }

    // A bad URI on the edit form changes nothing.
    let edit = format!("/support/services/{NPQ}/edit");
    let refused = rp
        .post(
            &format!("/support/services/{NPQ}/uris"),
            &[
                ("redirect_uris", "https://npq.example/ok\nnot a url"),
                ("post_logout_redirect_uris", ""),
            ],
        )
        .await;
    assert_redirect(&refused, &edit);
    let page = rp.get(&edit).await;
    assert!(page.body.contains("There is a problem"));
    assert!(page.body.contains("not a url"));
    assert_eq!(
        rp.state
            .store
            .client(NPQ)
            .await
            .unwrap()
            .unwrap()
            .redirect_uris,
        [
            "https://npq.example/callback",
            "https://staging.npq.example/callback"
        ]
    );
    let services_audited = audited(&rp)
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                AuditEvent::ServiceAdded { .. } | AuditEvent::ServiceUrisChanged { .. }
            )
        })
        .count();
    assert_eq!(services_audited, 1, "only the one service added");
}

/// `POST /api/v1/trn-tokens` with `key` for the record `trn`.
async fn ask_for_a_trn_token(rp: &Rp, key: &str, trn: &str) -> u16 {
    use tower::ServiceExt;
    let req = Request::post("/api/v1/trn-tokens")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {key}"))
        .body(Body::from(format!(
            r#"{{"trn":"{trn}","email":"teacher@example.com"}}"#
        )))
        .unwrap();
    rp.router
        .clone()
        .oneshot(req)
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn an_administrator_adds_an_api_client_whose_key_works_until_it_is_disabled(
    backend: Backend,
) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    let added = rp
        .post(
            "/support/api-clients/new",
            &[
                ("name", " Find a lost TRN "),
                ("scopes", "trn_tokens:write"),
            ],
        )
        .await;
    let clients = rp.state.store.api_clients().await.unwrap();
    assert_eq!(clients.len(), 1);
    let id = clients[0].id;
    assert_eq!(clients[0].name, "Find a lost TRN");
    assert_redirect(&added, &format!("/support/api-clients/{id}/key"));
    let key = shown_secret(&rp.get(&format!("/support/api-clients/{id}/key")).await)
        .expect("the key is shown");
    assert!(shown_secret(&rp.get(&format!("/support/api-clients/{id}/key")).await).is_none());

    let trn = rp
        .standin
        .persona("exact-match")
        .unwrap()
        .trn_hint
        .clone()
        .unwrap();
    assert_eq!(ask_for_a_trn_token(&rp, &key, &trn).await, 201);

    let list = rp.get("/support/services").await;
    assert!(list.body.contains("Find a lost TRN"));
    assert!(list.body.contains("trn_tokens:write"));
    let off = rp
        .post(
            &format!("/support/api-clients/{id}/enabled"),
            &[("enabled", "false")],
        )
        .await;
    assert_redirect(&off, "/support/services");
    assert_eq!(ask_for_a_trn_token(&rp, &key, &trn).await, 401);
    rp.post(
        &format!("/support/api-clients/{id}/enabled"),
        &[("enabled", "true")],
    )
    .await;
    assert_eq!(ask_for_a_trn_token(&rp, &key, &trn).await, 201);
    assert_eq!(
        rp.post(
            "/support/api-clients/999999/enabled",
            &[("enabled", "false")]
        )
        .await
        .status,
        404
    );

    let name = || "Find a lost TRN".to_string();
    assert_eq!(
        audited(&rp).await[..3],
        [
            AuditEvent::ApiClientEnabled {
                api_client_id: id,
                name: name(),
                enabled: true
            },
            AuditEvent::ApiClientEnabled {
                api_client_id: id,
                name: name(),
                enabled: false
            },
            AuditEvent::ApiClientAdded {
                api_client_id: id,
                name: name()
            },
        ]
    );
    assert!(!audit_text(&rp).await.contains(&key));
}

async fn bad_api_client_input_comes_back_with_what_was_typed_and_stores_nothing(backend: Backend) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    let long_name = "K".repeat(201);
    for (fields, message, kept) in [
        (
            vec![("name", long_name.as_str()), ("scopes", "qts:write")],
            "Service name must be 200 characters or fewer",
            long_name.as_str(),
        ),
        (
            vec![("name", "Award QTS")],
            "Select at least one scope",
            "Award QTS",
        ),
        (
            vec![("name", "Award QTS"), ("scopes", "admin")],
            "Select scopes from the list",
            "Award QTS",
        ),
    ] {
        let refused = rp.post("/support/api-clients/new", &fields).await;
        assert_redirect(&refused, "/support/api-clients/new");
        let page = rp.get("/support/api-clients/new").await;
        assert!(page.body.contains("There is a problem"));
        assert!(page.body.contains(message), "{message}");
        assert!(page.body.contains(kept));
    }
    assert_eq!(rp.state.store.count_api_clients().await.unwrap(), 0);
}

async fn staff_who_are_not_administrators_are_refused_every_services_page_and_form(
    backend: Backend,
) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    add_npq(&mut rp).await;
    let pages = [
        "/support/services".to_string(),
        "/support/services/new".to_string(),
        format!("/support/services/{NPQ}/edit"),
        format!("/support/services/{NPQ}/secret"),
        "/support/api-clients/new".to_string(),
    ];
    let forms: [(String, Vec<(&str, &str)>); 5] = [
        (
            "/support/services/new".into(),
            service_form(&[("client_id", "sneaky")]),
        ),
        (
            format!("/support/services/{NPQ}/uris"),
            vec![("redirect_uris", "https://evil.example/cb")],
        ),
        (format!("/support/services/{NPQ}/rotate-secret"), vec![]),
        (
            format!("/support/services/{NPQ}/enabled"),
            vec![("enabled", "false")],
        ),
        (
            "/support/api-clients/new".into(),
            vec![("name", "Sneaky"), ("scopes", "qts:write")],
        ),
    ];
    let before = rp.state.store.client(NPQ).await.unwrap();
    for who in [OFFICER, VIEWER] {
        as_staff(&mut rp, who).await;
        for page in &pages {
            let res = rp.get(page).await;
            assert_eq!(res.status, 403, "{who} {page}");
            assert!(!res.body.contains("Register for an NPQ"), "{who} {page}");
        }
        for (path, fields) in &forms {
            assert_eq!(rp.post(path, fields).await.status, 403, "{who} {path}");
        }
    }
    // Signed out of the console: to sign in.
    rp.cookies.remove("tid_staff");
    assert_redirect(&rp.get("/support/services").await, "/support/sign-in");
    let (path, fields) = &forms[0];
    assert_redirect(&rp.post(path, fields).await, "/support/sign-in");

    assert_eq!(rp.state.store.client(NPQ).await.unwrap(), before);
    assert_eq!(rp.state.store.client_ids().await.unwrap(), [NPQ]);
    assert_eq!(rp.state.store.count_api_clients().await.unwrap(), 0);
}

async fn a_service_may_ask_for_es256_id_tokens_and_a_tampered_algorithm_is_a_govuk_error(
    backend: Backend,
) {
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    // A new form offers both, RS256 (OpenID Connect's default) chosen.
    let form = rp.get("/support/services/new").await;
    assert!(form.body.contains(r#"value="RS256" checked"#));
    assert!(form.body.contains(r#"value="ES256""#));
    assert!(!form.body.contains(r#"value="ES256" checked"#));

    // A value no radio offers: a GOV.UK error on that field, what was typed kept, nothing stored.
    for tampered in ["HS256", "none", "es256"] {
        let refused = rp
            .post(
                "/support/services/new",
                &service_form(&[
                    ("display_name", "Typed name kept"),
                    ("id_token_signed_response_alg", tampered),
                ]),
            )
            .await;
        assert_redirect(&refused, "/support/services/new");
        let page = rp.get("/support/services/new").await;
        assert!(page.body.contains("There is a problem"), "{tampered}");
        assert!(page
            .body
            .contains("Select how the service’s ID tokens are signed"));
        assert!(page.body.contains("#id_token_signed_response_alg"));
        assert!(page.body.contains("Typed name kept"));
        assert!(rp.state.store.client_ids().await.unwrap().is_empty());
    }

    // ES256 chosen: stored, and shown on the service's page.
    let added = rp
        .post(
            "/support/services/new",
            &service_form(&[("id_token_signed_response_alg", "ES256")]),
        )
        .await;
    assert_redirect(&added, &format!("/support/services/{NPQ}/secret"));
    let client = rp.state.store.client(NPQ).await.unwrap().expect("stored");
    assert_eq!(client.id_token_alg, IdTokenAlg::Es256);
    let page = rp.get(&format!("/support/services/{NPQ}/edit")).await;
    assert!(page.body.contains("ES256 (elliptic curve P-256)"));
}

async fn whether_new_accounts_need_a_mobile_is_chosen_saved_and_audited(backend: Backend) {
    use app::domain::provider::MobilePolicy;
    let Some(mut rp) = as_administrator(backend).await else {
        return;
    };
    // A new form asks for a mobile unless the administrator says otherwise.
    let form = rp.get("/support/services/new").await;
    assert!(mobile_radios(&form).contains(r#"value="required" checked"#));
    add_npq(&mut rp).await;
    assert_eq!(mobile_of(&rp).await, MobilePolicy::Required);
    let edit = format!("/support/services/{NPQ}/edit");
    assert!(rp
        .get(&edit)
        .await
        .body
        .contains("Required: new accounts must have a mobile number"));

    let saved = rp
        .post(
            &format!("/support/services/{NPQ}/mobile"),
            &[("mobile", "optional")],
        )
        .await;
    assert_redirect(&saved, &edit);
    assert_eq!(mobile_of(&rp).await, MobilePolicy::Optional);
    let page = rp.get(&edit).await;
    assert!(page
        .body
        .contains("Optional: teachers may create an account without a mobile number"));
    assert!(mobile_radios(&page).contains(r#"value="optional" checked"#));

    // A value no radio offers: a GOV.UK error on the service's page, nothing changed, nothing audited.
    let tampered = rp
        .post(
            &format!("/support/services/{NPQ}/mobile"),
            &[("mobile", "sometimes")],
        )
        .await;
    assert_redirect(&tampered, &edit);
    let page = rp.get(&edit).await;
    assert!(page.body.contains("There is a problem"));
    assert!(page
        .body
        .contains("Select whether new accounts need a mobile number"));
    assert!(page.body.contains("#mobile"));
    assert_eq!(mobile_of(&rp).await, MobilePolicy::Optional);
    let unknown = rp
        .post(
            "/support/services/no-such-service/mobile",
            &[("mobile", "optional")],
        )
        .await;
    assert_eq!(unknown.status, 404);

    assert_eq!(
        audited(&rp).await[0],
        AuditEvent::ServiceMobileChanged {
            client_id: NPQ.into(),
            mobile: MobilePolicy::Optional
        }
    );
    assert_eq!(
        audited(&rp)
            .await
            .iter()
            .filter(|e| matches!(e, AuditEvent::ServiceMobileChanged { .. }))
            .count(),
        1,
        "the refused change is not audited"
    );
}

async fn mobile_of(rp: &Rp) -> app::domain::provider::MobilePolicy {
    rp.state.store.client(NPQ).await.unwrap().unwrap().mobile
}

/// The mobile radios of a page: from the first input named `mobile` to the end of its fieldset.
fn mobile_radios(page: &TestResponse) -> &str {
    let from = page
        .body
        .find(r#"name="mobile""#)
        .expect("the mobile radios");
    let to = from + page.body[from..].find("</fieldset>").unwrap();
    &page.body[from..to]
}
