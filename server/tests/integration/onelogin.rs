//! The One Login relying party against the stand-in, a real OpenID provider on a random localhost port. Test
//! names start with the rule of `one-login-rp.md` §a they check; `docs/one-login.md` maps rules to tests.

use crate::support::*;
use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use onelogin_standin::{Misbehaviour, NextLogin, Outcome, StaffClient, Standin, StandinConfig};
use std::collections::HashMap;
use tower::ServiceExt;

const CLIENT_ID: &str = "teacher-id-test";
const BASE: &str = "http://localhost:3000";
pub const STAFF_CLIENT_ID: &str = "teacher-id-staff-test";
const STAFF_CLIENT_SECRET: &str = "staff-test-secret";

/// A browser: keeps our cookies, follows nothing by itself.
pub struct Rp {
    pub router: Router,
    pub state: server::state::AppState,
    pub standin: Standin,
    pub cookies: HashMap<String, String>,
    /// The client address requests come from, if any.
    pub client_addr: Option<std::net::SocketAddr>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Rp {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub async fn with(change: impl FnOnce(&mut StandinConfig)) -> Self {
        let standin = onelogin_standin::spawn(standin_config(change)).await;
        Self::against(standin, None).await
    }

    /// Our service configured against `standin`, or against `issuer` when given (e.g. nothing listening).
    pub async fn against(standin: Standin, issuer: Option<String>) -> Self {
        let (store, dir) = sqlite_store().await;
        Self::against_store(standin, issuer, store, dir)
    }

    pub fn against_store(
        standin: Standin,
        issuer: Option<String>,
        store: server::db::DynStore,
        dir: tempfile::TempDir,
    ) -> Self {
        let issuer = issuer.unwrap_or_else(|| standin.issuer());
        let config = test_config(&[
            ("ONE_LOGIN_ISSUER", &issuer),
            ("ONE_LOGIN_CLIENT_ID", CLIENT_ID),
            ("ONE_LOGIN_IDENTITY_ISSUER", &standin.identity_issuer()),
            ("ONE_LOGIN_DID_URL", &standin.did_url()),
            ("STAFF_OIDC_ISSUER", &standin.issuer()),
            ("STAFF_OIDC_CLIENT_ID", STAFF_CLIENT_ID),
            ("STAFF_OIDC_CLIENT_SECRET", STAFF_CLIENT_SECRET),
            ("STAFF_OIDC_TENANT_ID", onelogin_standin::STANDIN_TENANT_ID),
        ]);
        let state = state_with(store, config, &dir.path().join("site"));
        let router = server::http::app(state.clone());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            router,
            state,
            standin,
            cookies: HashMap::new(),
            client_addr: None,
            http,
            _dir: dir,
        }
    }

    /// Our service on `backend`, with the synthetic records the stand-in's personas are drawn from; `None` when
    /// that backend is PostgreSQL and no test server is configured.
    pub async fn seeded(backend: server::db::Backend) -> Option<Self> {
        let (store, dir) = match backend {
            server::db::Backend::Sqlite => sqlite_store().await,
            server::db::Backend::Postgres => {
                (postgres_store().await?.0, tempfile::tempdir().unwrap())
            }
        };
        server::seed::seed_store(&store, 0, onelogin_standin::SCANNED_RECORDS, 1)
            .await
            .unwrap();
        let standin = onelogin_standin::spawn(standin_config(|_| {})).await;
        Some(Self::against_store(standin, None, store, dir))
    }

    /// Swaps our service for a new instance over the same database, as after a restart or on another server.
    pub fn new_instance(&mut self) {
        self.router = server::http::app(self.state.clone());
    }

    /// The `Cookie` header our browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// GETs `path_and_query` from our service with our cookies, keeping any it sets.
    pub async fn get(&mut self, path_and_query: &str) -> TestResponse {
        // Browsers ask for HTML; a page's server-side redirect is a real 302 only then.
        let req = Request::get(path_and_query)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// GETs `path` with our cookies and returns the status and headers without reading the body: for a stream that
    /// never ends, such as the live dashboard's events.
    pub async fn get_head(&mut self, path: &str) -> (u16, axum::http::HeaderMap) {
        let req = Request::get(path)
            .header(header::ACCEPT, "text/event-stream")
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        (res.status().as_u16(), res.headers().clone())
    }

    /// POSTs a form as the browser would, with the CSRF token from our cookie.
    /// A request as the hydrated page's server function calls make it (not a browser navigation).
    pub async fn fetch(&mut self, path_and_query: &str) -> TestResponse {
        let req = Request::get(path_and_query)
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self
            .cookies
            .get("tid_csrf")
            .cloned()
            .expect("a page was fetched first");
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        let req = post_form(path, &self.cookie_header(), &fields);
        self.send(req).await
    }

    /// POSTs a multipart form (a file upload) as the browser would; `fields` must include `csrf_token`.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &[u8])>,
    ) -> TestResponse {
        let (content_type, body) = crate::journey::multipart(fields, file);
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, body.len())
            .header(header::COOKIE, self.cookie_header())
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    async fn send(&mut self, mut req: Request<Body>) -> TestResponse {
        // Where the request comes from, as the server's listener would say.
        if let Some(addr) = self.client_addr {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(addr));
        }
        let res = read(self.router.clone().oneshot(req).await.unwrap()).await;
        for set in res.set_cookies() {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.into(), value.into());
                }
            }
        }
        res
    }

    /// Follows a redirect to One Login (real HTTP) and returns where the stand-in sends the browser back to.
    pub async fn at_one_login(&self, url: &str) -> String {
        let res = self.http.get(url).send().await.expect("stand-in reachable");
        assert_eq!(res.status(), 302, "stand-in redirects back");
        res.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_string()
    }

    /// Starts a round trip at `path` (`/sign-in` or `/auth/identity`) with `next` queued at One Login, and
    /// returns our callback's response.
    pub async fn round_trip(&mut self, path: &str, next: NextLogin) -> TestResponse {
        self.standin.set_next_login(next);
        let start = self.get(path).await;
        assert_eq!(start.status, 303, "{path} redirects to One Login");
        let back = self.at_one_login(start.header("location")).await;
        let callback = back
            .strip_prefix(BASE)
            .expect("back to our registered redirect URI")
            .to_string();
        self.get(&callback).await
    }

    /// Signs in as `persona` (authentication only) and returns the callback's response.
    /// Signs in to the support console as `email` (a stand-in staff persona's, or anyone's).
    pub async fn staff_sign_in(&mut self, email: &str) -> TestResponse {
        self.standin.set_next_staff_login(email);
        self.staff_sign_in_queued().await
    }

    /// Signs in to the support console as `member`, exactly as given (its ids, tenant and email verification).
    pub async fn staff_sign_in_as(
        &mut self,
        member: onelogin_standin::StaffMember,
    ) -> TestResponse {
        self.standin.set_next_staff_member(member);
        self.staff_sign_in_queued().await
    }

    /// The staff sign-in round trip for whoever is queued at the stand-in.
    async fn staff_sign_in_queued(&mut self) -> TestResponse {
        let start = self.get("/support/sign-in").await;
        assert_eq!(
            start.status, 303,
            "/support/sign-in redirects to the provider"
        );
        let back = self.at_one_login(start.header("location")).await;
        let callback = back
            .strip_prefix(BASE)
            .expect("back to our registered redirect URI")
            .to_string();
        self.get(&callback).await
    }

    pub async fn sign_in(&mut self, persona: &str) -> TestResponse {
        self.round_trip("/sign-in", NextLogin::new(persona, Outcome::Authenticated))
            .await
    }

    /// Signs in, then proves identity with `misbehave`, returning the identity callback's response.
    pub async fn verify(
        &mut self,
        persona: &str,
        outcome: Outcome,
        misbehave: Vec<Misbehaviour>,
    ) -> TestResponse {
        let signed_in = self.sign_in(persona).await;
        assert_eq!(signed_in.header("location"), "/auth/identity");
        self.round_trip(
            "/auth/identity",
            NextLogin::new(persona, outcome).misbehaving(misbehave),
        )
        .await
    }

    pub async fn signed_in_user(&mut self) -> Option<app::ssr::SignedInUser> {
        let token = self.cookies.get("tid_session")?.clone();
        let key = server::http::session::session_key(&token);
        let json = self
            .state
            .store
            .load_session(&key, chrono::Utc::now())
            .await
            .unwrap()?;
        serde_json::from_str::<app::ssr::SessionData>(&json)
            .unwrap()
            .user
    }
}

/// The stand-in as our tests register us with it, changed by `change`.
pub fn standin_config(change: impl FnOnce(&mut StandinConfig)) -> StandinConfig {
    let mut config = StandinConfig {
        client_id: CLIENT_ID.into(),
        redirect_uris: vec![format!("{BASE}/auth/callback")],
        post_logout_redirect_uris: vec![format!("{BASE}/signed-out")],
        client_public_key_pem: RP_PUBLIC_KEY.into(),
        backchannel_logout_uri: None,
        seed: 1,
        staff: Some(StaffClient {
            client_id: STAFF_CLIENT_ID.into(),
            client_secret: STAFF_CLIENT_SECRET.into(),
            redirect_uris: vec![format!("{BASE}/support/auth/callback")],
        }),
    };
    change(&mut config);
    config
}

fn query(url: &str) -> HashMap<String, String> {
    let parsed = url::Url::parse(url).expect("absolute URL");
    parsed.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn rules_4_to_10_and_16_the_sign_in_request() {
    let mut rp = Rp::new().await;
    let first = rp.get("/sign-in").await;
    assert_eq!(first.status, 303);
    let url = first.header("location").to_string();
    assert!(
        url.starts_with(&format!("{}authorize?", rp.standin.issuer())),
        "{url}"
    );
    let q = query(&url);
    assert_eq!(q["response_type"], "code", "rule 4");
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    assert!(
        scopes.contains(&"openid") && scopes.contains(&"email"),
        "rule 5: {scopes:?}"
    );
    assert!(
        scopes.iter().all(|s| ["openid", "email"].contains(s)),
        "rule 5: only registered scopes"
    );
    assert_eq!(q["client_id"], CLIENT_ID, "rule 6");
    assert_eq!(q["redirect_uri"], format!("{BASE}/auth/callback"), "rule 7");
    assert_eq!(q["vtr"], r#"["Cl.Cm"]"#, "rule 10");
    assert!(
        !q.contains_key("claims"),
        "rule 12: claims only with identity"
    );
    assert_eq!(q["code_challenge_method"], "S256", "rule 16");
    assert!(!q.contains_key("prompt"), "rule 14");
    for key in ["state", "nonce"] {
        assert!(
            q[key].len() >= 32
                && q[key]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "rules 8, 9"
        );
    }
    assert!(url.len() < 4096, "rule 8: the WAF limit");
    let second = rp.get("/sign-in").await;
    let q2 = query(second.header("location"));
    assert_ne!(q2["state"], q["state"], "rule 8: unique per request");
    assert_ne!(q2["nonce"], q["nonce"], "rule 9: unique per request");
}

#[tokio::test]
async fn rules_10_11_12_identity_is_a_second_round_trip_with_the_claims_request() {
    let mut rp = Rp::new().await;
    assert_eq!(
        rp.get("/auth/identity").await.header("location"),
        "/sign-in",
        "rule 11: sign in first"
    );
    let signed_in = rp.sign_in("exact-match").await;
    assert_eq!(signed_in.header("location"), "/auth/identity");
    let identity = rp.get("/auth/identity").await;
    let q = query(identity.header("location"));
    assert_eq!(q["vtr"], r#"["Cl.Cm.P2"]"#, "rule 10");
    let claims: serde_json::Value = serde_json::from_str(&q["claims"]).unwrap();
    let requested: Vec<&String> = claims["userinfo"].as_object().unwrap().keys().collect();
    assert_eq!(
        requested,
        [
            "https://vocab.account.gov.uk/v1/coreIdentityJWT",
            "https://vocab.account.gov.uk/v1/returnCode"
        ],
        "rule 12: only the claims we need"
    );
}

#[tokio::test]
async fn rules_11_and_46_sign_in_then_prove_identity_stores_names_and_dates_of_birth_only() {
    let mut rp = Rp::new().await;
    let persona = rp.standin.persona("exact-match").unwrap();
    let signed_in = rp.sign_in("exact-match").await;
    let session_after_sign_in = rp.cookies["tid_session"].clone();
    assert_eq!(signed_in.header("location"), "/auth/identity");
    let verified = rp
        .round_trip(
            "/auth/identity",
            NextLogin::new("exact-match", Outcome::IdentityVerified),
        )
        .await;
    assert_eq!(verified.header("location"), "/continue");
    assert_ne!(
        rp.cookies["tid_session"], session_after_sign_in,
        "new session id when privilege changes"
    );

    let user = rp.signed_in_user().await.expect("signed in");
    assert_eq!(user.one_login_subject(), Some(persona.sub.as_str()));
    let app::ssr::IdentityStatus::Verified(identity) = &user.identity else {
        panic!("verified: {:?}", user.identity)
    };
    assert_eq!(
        identity.current_name().unwrap().family_name,
        persona.last_name
    );
    assert_eq!(identity.dates_of_birth[0], persona.date_of_birth);

    let stored = rp
        .state
        .store
        .user_by_id(user.user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.verified_identity(), Some(identity));
    let account = rp.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(
        account.body.contains(&persona.last_name),
        "the account shows the verified name"
    );
    assert!(
        account.body.contains("Sign out"),
        "the One Login header is shown once signed in"
    );
    assert!(account.body.contains("rebranded-one-login-header"));
}

#[tokio::test]
async fn rule_35_our_own_user_id_is_the_key_and_email_is_updated() {
    let mut rp = Rp::new().await;
    rp.sign_in("trn-only").await;
    let first = rp.signed_in_user().await.unwrap();
    rp.cookies.clear();
    rp.sign_in("trn-only").await;
    let again = rp.signed_in_user().await.unwrap();
    assert_eq!(
        first.user_id, again.user_id,
        "the same One Login maps to the same user"
    );
    assert_ne!(
        Some(first.user_id.to_string().as_str()),
        first.one_login_subject()
    );
    rp.cookies.clear();
    rp.sign_in("nino-only").await;
    assert_ne!(rp.signed_in_user().await.unwrap().user_id, first.user_id);
}

#[tokio::test]
async fn a_returning_verified_person_is_not_asked_to_prove_their_identity_again() {
    let mut rp = Rp::new().await;
    rp.verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    rp.cookies.clear();
    let again = rp.sign_in("exact-match").await;
    assert_eq!(
        again.header("location"),
        "/continue",
        "no second identity check"
    );
}

#[tokio::test]
async fn rule_18_a_callback_with_another_state_or_none_is_refused() {
    let mut rp = Rp::new().await;
    rp.standin
        .set_next_login(NextLogin::new("exact-match", Outcome::Authenticated));
    let start = rp.get("/sign-in").await;
    let back = rp.at_one_login(start.header("location")).await;
    let tampered = back.replace("state=", "state=x").replace(BASE, "");
    let res = rp.get(&tampered).await;
    assert_eq!(res.header("location"), "/sign-in/problem/expired");
    assert!(rp.signed_in_user().await.is_none());
    // The real callback no longer works either: the sign-in in progress was used up.
    let res = rp.get(back.strip_prefix(BASE).unwrap()).await;
    assert_eq!(res.header("location"), "/sign-in/problem/expired");
    assert!(rp.signed_in_user().await.is_none());
    // A callback with no sign-in in progress at all.
    let mut stranger = Rp::new().await;
    assert_eq!(
        stranger
            .get("/auth/callback?code=abc&state=def")
            .await
            .header("location"),
        "/sign-in/problem/expired"
    );
    assert_eq!(
        stranger.get("/auth/callback").await.header("location"),
        "/sign-in/problem/expired"
    );
}

#[tokio::test]
async fn rule_19_each_error_from_one_login_has_its_page() {
    let cases = [
        (Outcome::AccessDenied, "/sign-in/problem/cancelled"),
        (
            Outcome::TemporarilyUnavailable,
            "/sign-in/problem/unavailable",
        ),
        (Outcome::LoginRequired, "/sign-in/problem/signed-out"),
        (Outcome::ClientDeactivated, "/sign-in/problem/deactivated"),
    ];
    for (outcome, page) in cases {
        let mut rp = Rp::new().await;
        let res = rp
            .round_trip("/sign-in", NextLogin::new("exact-match", outcome))
            .await;
        assert_eq!(res.header("location"), page, "{outcome:?}");
        assert!(
            rp.signed_in_user().await.is_none(),
            "{outcome:?}: no session"
        );
        let shown = rp.get(page).await;
        assert_eq!(shown.status, 200);
        assert!(shown.body.contains("govuk-heading-l"));
    }
}

#[tokio::test]
async fn rule_49_login_required_ends_our_session() {
    let mut rp = Rp::new().await;
    rp.verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    assert!(rp.signed_in_user().await.is_some());
    // Signed in here; One Login now says the person is not signed in there.
    rp.standin
        .set_next_login(NextLogin::new("exact-match", Outcome::LoginRequired));
    let start = rp.get("/auth/identity").await;
    let back = rp.at_one_login(start.header("location")).await;
    let res = rp.get(back.strip_prefix(BASE).unwrap()).await;
    assert_eq!(res.header("location"), "/sign-in/problem/signed-out");
    assert!(rp.signed_in_user().await.is_none());
    assert_eq!(rp.get("/account").await.header("location"), "/sign-in");
}

#[tokio::test]
async fn rule_20_a_code_is_exchanged_once() {
    let mut rp = Rp::new().await;
    rp.standin
        .set_next_login(NextLogin::new("exact-match", Outcome::Authenticated));
    let start = rp.get("/sign-in").await;
    let back = rp.at_one_login(start.header("location")).await;
    assert_eq!(
        rp.get(back.strip_prefix(BASE).unwrap())
            .await
            .header("location"),
        "/auth/identity"
    );
    // Replay the code with a fresh, valid state in a new browser: One Login refuses the second exchange.
    let code = query(&back)["code"].clone();
    let mut replay = Rp::against(rp.standin, None).await;
    let start = replay.get("/sign-in").await;
    let state = query(start.header("location"))["state"].clone();
    let res = replay
        .get(&format!("/auth/callback?code={code}&state={state}"))
        .await;
    assert_eq!(res.header("location"), "/sign-in/problem/failed");
    assert!(replay.signed_in_user().await.is_none());
}

/// Each fault One Login can send in the ID token, token endpoint or userinfo, and the rule that refuses it.
#[tokio::test]
async fn rules_21_to_34_every_id_token_and_userinfo_fault_is_refused() {
    let cases = [
        (Misbehaviour::BadSignature, 24),
        (Misbehaviour::UnknownKid, 24),
        (Misbehaviour::AlgNone, 25),
        (Misbehaviour::WrongIss, 26),
        (Misbehaviour::WrongAud, 27),
        (Misbehaviour::Expired, 28),
        (Misbehaviour::NotYetValid, 29),
        (Misbehaviour::WrongNonce, 30),
        (Misbehaviour::LowerVot, 31),
        (Misbehaviour::UserinfoSubMismatch, 34),
        (Misbehaviour::TokenServerError, 21),
    ];
    for (fault, rule) in cases {
        let mut rp = Rp::new().await;
        let (_guard, rules) = record_rules();
        let res = rp
            .round_trip(
                "/sign-in",
                NextLogin::new("exact-match", Outcome::Authenticated).misbehaving([fault]),
            )
            .await;
        assert_eq!(
            res.header("location"),
            "/sign-in/problem/failed",
            "rule {rule} {fault:?}"
        );
        assert!(
            rp.signed_in_user().await.is_none(),
            "rule {rule} {fault:?}: no session"
        );
        let logged = rules.lock().unwrap().clone();
        assert!(
            logged.contains(&rule),
            "{fault:?} must be refused by rule {rule}, logged {logged:?}"
        );
    }
}

#[tokio::test]
async fn rule_51_rotated_keys_are_fetched_once_and_accepted() {
    let mut rp = Rp::new().await;
    // Prime the cache with the current keys.
    rp.sign_in("exact-match").await;
    rp.cookies.clear();
    let res = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("nino-only", Outcome::Authenticated)
                .misbehaving([Misbehaviour::RotateKeys]),
        )
        .await;
    assert_eq!(
        res.header("location"),
        "/auth/identity",
        "a token signed with the new key is accepted"
    );
}

#[tokio::test]
async fn rules_36_and_47_no_credential_means_not_verified() {
    let mut rp = Rp::new().await;
    let res = rp
        .verify("cannot-verify", Outcome::IdentityNotVerified, vec![])
        .await;
    assert_eq!(res.header("location"), "/identity-not-verified");
    let user = rp.signed_in_user().await.expect("still signed in");
    assert_eq!(user.identity, app::ssr::IdentityStatus::NotVerified);
    assert!(rp
        .state
        .store
        .user_by_id(user.user_id)
        .await
        .unwrap()
        .unwrap()
        .verification
        .is_none());
    let page = rp.get("/identity-not-verified").await;
    assert!(page.body.contains("We could not verify your identity"));
    assert!(page.body.contains(r#"href="/auth/identity""#), "try again");
}

#[tokio::test]
async fn rules_37_to_45_every_core_identity_fault_is_refused() {
    let cases = [
        (Misbehaviour::CoreIdentityAlgHs256, 37),
        (Misbehaviour::CoreIdentityUnknownKid, 40),
        (Misbehaviour::CoreIdentityBadSignature, 41),
        (Misbehaviour::CoreIdentityWrongIss, 42),
        (Misbehaviour::CoreIdentityWrongAud, 43),
        (Misbehaviour::CoreIdentityWrongSub, 44),
        (Misbehaviour::CoreIdentityExpired, 45),
        (Misbehaviour::CoreIdentityVotP1, 45),
    ];
    for (fault, rule) in cases {
        let mut rp = Rp::new().await;
        let (_guard, rules) = record_rules();
        let res = rp
            .verify("exact-match", Outcome::IdentityVerified, vec![fault])
            .await;
        assert_eq!(
            res.header("location"),
            "/sign-in/problem/failed",
            "{rule} {fault:?}"
        );
        let user = rp
            .signed_in_user()
            .await
            .expect("the sign-in itself stands");
        assert_eq!(
            user.identity,
            app::ssr::IdentityStatus::NotChecked,
            "{rule} {fault:?}: not verified"
        );
        assert!(rp
            .state
            .store
            .user_by_id(user.user_id)
            .await
            .unwrap()
            .unwrap()
            .verification
            .is_none());
        let logged = rules.lock().unwrap().clone();
        assert!(
            logged.contains(&rule),
            "{fault:?} must be refused by rule {rule}, logged {logged:?}"
        );
    }
}

#[tokio::test]
async fn rule_48_sign_out_ends_our_session_then_one_logins() {
    let mut rp = Rp::new().await;
    rp.verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    let id_token = rp
        .signed_in_user()
        .await
        .unwrap()
        .one_login_id_token()
        .unwrap()
        .to_string();
    // A GET without `Sec-Fetch-Site: same-origin` asks first; the "Sign out?" page's button posts.
    assert_eq!(
        rp.get("/sign-out").await.header("location"),
        "/sign-out/confirm"
    );
    let out = rp.post("/sign-out", &[]).await;
    let url = out.header("location").to_string();
    assert!(
        url.starts_with(&format!("{}logout?", rp.standin.issuer())),
        "{url}"
    );
    let q = query(&url);
    assert_eq!(q["id_token_hint"], id_token);
    assert_eq!(q["post_logout_redirect_uri"], format!("{BASE}/signed-out"));
    let state = q["state"].clone();
    assert!(state.len() >= 32);
    assert!(
        rp.signed_in_user().await.is_none(),
        "our session ended before leaving"
    );
    let back = rp.at_one_login(&url).await;
    assert_eq!(back, format!("{BASE}/signed-out?state={state}"));
    let landing = rp.get(back.strip_prefix(BASE).unwrap()).await;
    assert_eq!(landing.header("location"), "/signed-out/done");
    let page = rp.get("/signed-out/done").await;
    assert!(page.body.contains("You have signed out"));
    assert!(
        !page.body.contains("rebranded-one-login-header"),
        "the signed-out header"
    );
    assert_eq!(rp.get("/account").await.header("location"), "/sign-in");
}

#[tokio::test]
async fn rule_50_back_channel_logout_ends_every_session_of_that_person_once() {
    let mut first = Rp::new().await;
    first
        .verify("exact-match", Outcome::IdentityVerified, vec![])
        .await;
    let sub = first
        .signed_in_user()
        .await
        .unwrap()
        .one_login_subject()
        .unwrap()
        .to_string();
    let token = first.standin.logout_token(&sub);
    let post = |token: String| {
        Request::post("/auth/backchannel-logout")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("logout_token={token}")))
            .unwrap()
    };
    // A tampered token is refused and ends nothing.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let res = read(first.router.clone().oneshot(post(tampered)).await.unwrap()).await;
    assert_eq!(res.status, 400);
    assert!(first.signed_in_user().await.is_some());
    // A logout token for someone else ends nothing of ours.
    let other = first
        .standin
        .logout_token("urn:fdc:gov.uk:2022:someone-else");
    assert_eq!(
        read(first.router.clone().oneshot(post(other)).await.unwrap())
            .await
            .status,
        200
    );
    assert!(first.signed_in_user().await.is_some());

    let res = read(
        first
            .router
            .clone()
            .oneshot(post(token.clone()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(
        first.signed_in_user().await.is_none(),
        "the session is gone"
    );
    assert_eq!(first.get("/account").await.header("location"), "/sign-in");
    let replay = read(first.router.clone().oneshot(post(token)).await.unwrap()).await;
    assert_eq!(
        replay.status, 400,
        "the same jti is refused within 3 minutes"
    );
}

#[tokio::test]
async fn one_login_being_down_gives_a_problem_page_not_a_500_or_a_hang() {
    let standin = onelogin_standin::spawn(StandinConfig {
        client_id: CLIENT_ID.into(),
        redirect_uris: vec![format!("{BASE}/auth/callback")],
        post_logout_redirect_uris: vec![],
        client_public_key_pem: RP_PUBLIC_KEY.into(),
        backchannel_logout_uri: None,
        seed: 1,
        staff: None,
    })
    .await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let mut rp = Rp::against(standin, Some(dead)).await;
    let started = std::time::Instant::now();
    let res = rp.get("/sign-in").await;
    assert_eq!(res.header("location"), "/sign-in/problem/unavailable");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let page = rp.get("/sign-in/problem/unavailable").await;
    assert!(page
        .body
        .contains("Sorry, there is a problem with the service"));
    assert!(page.body.contains("Try again later."));
}

#[tokio::test]
async fn a_slow_token_endpoint_times_out_with_a_problem_page() {
    let mut rp = Rp::new().await;
    let started = std::time::Instant::now();
    let res = rp
        .round_trip(
            "/sign-in",
            NextLogin::new("exact-match", Outcome::Authenticated)
                .misbehaving([Misbehaviour::SlowToken]),
        )
        .await;
    assert_eq!(res.header("location"), "/sign-in/problem/unavailable");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(14),
        "our timeout, not the stand-in's delay"
    );
    assert!(rp.signed_in_user().await.is_none());
}

/// Rule 23: a capture server answers discovery with an error after recording the User-Agent it was sent.
#[tokio::test]
async fn rule_23_every_call_to_one_login_sends_a_user_agent() {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = seen.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let recorder = recorder.clone();
        async move {
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            recorder.lock().unwrap().push(ua);
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let standin = onelogin_standin::spawn(StandinConfig {
        client_id: CLIENT_ID.into(),
        redirect_uris: vec![],
        post_logout_redirect_uris: vec![],
        client_public_key_pem: RP_PUBLIC_KEY.into(),
        backchannel_logout_uri: None,
        seed: 1,
        staff: None,
    })
    .await;
    let mut rp = Rp::against(standin, Some(issuer)).await;
    assert_eq!(
        rp.get("/sign-in").await.header("location"),
        "/sign-in/problem/unavailable"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|ua| ua.starts_with("teacher-id/") && ua.contains("localhost")),
        "{seen:?}"
    );
}

#[tokio::test]
async fn rules_1_and_2_our_public_key_is_published_as_a_jwks() {
    let mut rp = Rp::new().await;
    let res = rp.get("/.well-known/jwks.json").await;
    assert_eq!(res.status, 200);
    let jwks: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert!(jwks["keys"][0].get("d").is_none());
}
