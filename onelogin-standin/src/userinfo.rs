//! `GET /userinfo`: the signed-in person's claims for a Bearer access token, and for identity sign-ins the core
//! identity JWT (signed with the DID key) and return codes, with the sign-in's misbehaviours applied.

use crate::control::Misbehaviour;
use crate::jose;
use crate::state::{
    now, Grant, Identity, Provider, ACCESS_TOKEN_TTL_SECS, ADDRESS_CLAIM, CORE_IDENTITY_CLAIM,
    CORE_IDENTITY_TTL_SECS, RETURN_CODE_CLAIM,
};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// A made-up UK mobile number in Ofcom's drama range, in E.164 as the real service sends it.
const PHONE_NUMBER: &str = "+447700900123";

fn unauthorised(challenge: &'static str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
    )
        .into_response()
}

pub async fn userinfo(State(p): State<Arc<Provider>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return unauthorised("Bearer");
    };
    let grant = p
        .store()
        .access_tokens
        .get(token)
        .filter(|g| now() - g.issued_at < ACCESS_TOKEN_TTL_SECS)
        .cloned();
    match grant {
        Some(grant) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(Value::Object(claims(&p, &grant))),
        )
            .into_response(),
        None => match crate::staff::userinfo(&p, token) {
            Some(body) => ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response(),
            None => unauthorised(
                r#"Bearer error="invalid_token", error_description="Invalid access token""#,
            ),
        },
    }
}

/// The userinfo body for a sign-in.
pub fn claims(p: &Provider, grant: &Grant) -> Map<String, Value> {
    let person = &grant.person;
    let scopes = &grant.request.scopes;
    let mut out = Map::new();
    let sub = if grant.has(Misbehaviour::UserinfoSubMismatch) {
        crate::personas::sub_for("someone-else")
    } else {
        person.sub.clone()
    };
    out.insert("sub".into(), json!(sub));
    if scopes.contains("email") {
        out.insert("email".into(), json!(person.email));
        out.insert("email_verified".into(), json!(person.email_verified));
    }
    if scopes.contains("phone") {
        out.insert("phone_number".into(), json!(PHONE_NUMBER));
        out.insert("phone_number_verified".into(), json!(true));
    }
    let request = &grant.request;
    match grant.identity {
        Identity::NotRequested => {}
        Identity::Verified => {
            if request.wants(CORE_IDENTITY_CLAIM) {
                out.insert(
                    CORE_IDENTITY_CLAIM.into(),
                    json!(core_identity_jwt(p, grant)),
                );
            }
            if request.wants(ADDRESS_CLAIM) {
                out.insert(ADDRESS_CLAIM.into(), address());
            }
            if request.wants(RETURN_CODE_CLAIM) {
                out.insert(RETURN_CODE_CLAIM.into(), json!([]));
            }
        }
        Identity::NotVerified => {
            out.insert(RETURN_CODE_CLAIM.into(), json!([{ "code": "C" }]));
        }
    }
    out
}

/// The `credentialSubject.name` list: the current name without `validUntil` (from the end of the previous name,
/// if any), then previous names with it.
fn names(grant: &Grant) -> Value {
    // `NameDatesNotPlain`: date-times where plain dates belong, and the previous names first, where a relying party
    // that drops an unreadable `validUntil` would take one for the current name.
    let odd = grant.has(Misbehaviour::NameDatesNotPlain);
    let date = |d: chrono::NaiveDate| {
        if odd {
            format!("{d}T00:00:00Z")
        } else {
            d.to_string()
        }
    };
    let person = &grant.person;
    let parts = |given: Vec<&str>, family: &str| -> Vec<Value> {
        given
            .into_iter()
            .map(|g| json!({ "value": g, "type": "GivenName" }))
            .chain(std::iter::once(
                json!({ "value": family, "type": "FamilyName" }),
            ))
            .collect()
    };
    let mut current = json!({ "nameParts": parts(person.given_names(), &person.last_name) });
    if let Some(latest) = person.previous_names.iter().map(|n| n.valid_until).max() {
        if let Some(from) = latest.succ_opt() {
            current["validFrom"] = json!(date(from));
        }
    }
    let mut list = vec![current];
    for previous in &person.previous_names {
        list.push(json!({
            "nameParts": parts(previous.first_name.split_whitespace().collect(), &previous.last_name),
            "validUntil": date(previous.valid_until),
        }));
    }
    if odd {
        list.rotate_left(1);
    }
    Value::Array(list)
}

/// The core identity JWT, shaped as §(c) with the real service's 30-minute life.
pub fn core_identity_jwt(p: &Provider, grant: &Grant) -> String {
    let has = |m| grant.has(m);
    let mut iat = now();
    if has(Misbehaviour::CoreIdentityExpired) {
        iat -= CORE_IDENTITY_TTL_SECS + 600;
    }
    let claims = json!({
        "vot": if has(Misbehaviour::CoreIdentityVotP1) { "P1" } else { "P2" },
        "vc": {
            "type": ["VerifiableCredential", "IdentityCheckCredential"],
            "credentialSubject": {
                "name": names(grant),
                "birthDate": [{ "value": grant.person.date_of_birth.to_string() }],
            }
        },
        "vtm": p.url("trustmark"),
        "iss": if has(Misbehaviour::CoreIdentityWrongIss) { p.identity_url("not-the-identity-issuer/") } else { p.identity_issuer.clone() },
        "sub": if has(Misbehaviour::CoreIdentityWrongSub) { crate::personas::sub_for("someone-else") } else { grant.person.sub.clone() },
        "nbf": iat,
        "exp": iat + CORE_IDENTITY_TTL_SECS,
        "aud": if has(Misbehaviour::CoreIdentityWrongAud) { "another-client".to_string() } else { grant.request.client_id.clone() },
        "iat": iat,
    });
    let mut keys = p.identity_keys();
    if has(Misbehaviour::RotateIdentityKey) {
        keys.rotate(&p.did);
    }
    let key = &keys.current;
    if has(Misbehaviour::CoreIdentityAlgHs256) {
        let header = json!({ "kid": key.kid, "alg": "HS256" });
        return jose::sign_hs256(&header, &claims, p.client_id.as_bytes());
    }
    if has(Misbehaviour::CoreIdentityUnknownKid) {
        let header = json!({ "kid": format!("{}#{}", p.did, p.rogue_key.kid), "alg": "ES256" });
        return p.rogue_key.sign(&header, &claims);
    }
    let header = json!({ "kid": key.kid, "alg": "ES256" });
    let jwt = key.sign(&header, &claims);
    if has(Misbehaviour::CoreIdentityBadSignature) {
        jose::corrupt_signature(&jwt)
    } else {
        jwt
    }
}

/// A fixed address, in the shape of the simulator's default.
fn address() -> Value {
    json!([{
        "addressCountry": "GB", "buildingName": "", "streetName": "FRAMPTON ROAD", "postalCode": "GL1 5QB",
        "buildingNumber": "26", "addressLocality": "GLOUCESTER", "validFrom": "2000-01-01",
        "uprn": 100120472196u64, "subBuildingName": ""
    }])
}
