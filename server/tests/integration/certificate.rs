//! The QTS certificate (DESIGN §7.2, last line) over HTTP: a connected teacher with QTS downloads a PDF that,
//! read back with a PDF parser, names them, their TRN and the day QTS was awarded, whatever letters their name
//! has; a teacher without QTS, or not connected, gets "Page not found", and someone not signed in is sent to sign in.

use crate::onelogin::Rp;
use crate::support::TestResponse;
use crate::util::{assert_redirect, record, verified_as_the_person_of, TestApp};
use app::domain::records::{Qualification, QualificationKind, RecordStatus, TeachingRecord};
use axum::body::Body;
use axum::http::{header, Request};
use chrono::NaiveDate;
use http_body_util::BodyExt;
use server::db::Backend;
use tower::ServiceExt;

on_both_backends!(
    a_teacher_with_qts_downloads_a_certificate_naming_them_their_trn_and_the_day_it_was_awarded,
    a_teacher_without_qts_or_without_a_record_gets_page_not_found_and_no_link,
    someone_not_signed_in_is_sent_to_sign_in_for_the_certificate,
);

const CERTIFICATE: &str = app::routes::RECORD_QTS_CERTIFICATE;

/// A record of `first_name last_name`, with QTS awarded on 1 September 2020 when `qts`, and the email the
/// teacher signs in to One Login with, so the journey connects them at once.
fn teacher(trn: &str, (first_name, last_name): (&str, &str), qts: bool) -> TeachingRecord {
    let mut record = record(
        trn,
        (first_name, last_name),
        NaiveDate::from_ymd_opt(1988, 4, 12).unwrap(),
        None,
        RecordStatus::Active,
    );
    record.email = Some(format!("{trn}@example.com"));
    if qts {
        record.qualifications.push(Qualification {
            kind: QualificationKind::Qts,
            name: "Qualified teacher status".into(),
            status: "Awarded".into(),
            awarded_on: NaiveDate::from_ymd_opt(2020, 9, 1),
            provider: None,
        });
    }
    record
}

/// The service with `records` added, and a browser signed in and connected as the teacher of the first.
async fn connected_as(backend: Backend, records: &[TeachingRecord]) -> Option<Rp> {
    let mut rp = TestApp::new(backend, "QTS certificate").build().await?;
    rp.state
        .store
        .insert_records(records, chrono::Utc::now())
        .await
        .unwrap();
    let email = records[0].email.clone().unwrap();
    assert_redirect(
        &verified_as_the_person_of(&mut rp, &records[0], &email).await,
        "/connected",
    );
    Some(rp)
}

/// GETs `path` as the browser would and keeps the body as bytes: a PDF is not text.
async fn download(rp: &Rp, path: &str) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::get(path)
        .header(header::ACCEPT, "text/html,application/pdf,*/*")
        .header(header::COOKIE, rp.cookie_header())
        .body(Body::empty())
        .unwrap();
    let res = rp.router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

/// The text of the PDF's one page, as a PDF reader extracts it.
fn pdf_text(pdf: &[u8]) -> String {
    let document = lopdf::Document::load_mem(pdf).expect("a PDF a parser can read");
    assert_eq!(document.get_pages().len(), 1, "one page");
    document.extract_text(&[1]).expect("its text")
}

fn offers_the_certificate(page: &TestResponse) -> bool {
    page.body.contains(&format!("href=\"{CERTIFICATE}\""))
}

async fn a_teacher_with_qts_downloads_a_certificate_naming_them_their_trn_and_the_day_it_was_awarded(
    backend: Backend,
) {
    // A Welsh name with a letter outside the PDF font's encoding (ŵ), and one with a typographic apostrophe.
    let cases = [
        (("Gwenllïan", "Llŵyd"), "9400001", "Gwenllïan Llwyd"),
        (("Siobhán", "O’Connor"), "9400002", "Siobhán O’Connor"),
    ];
    for ((first, last), trn, shown) in cases {
        let Some(mut rp) = connected_as(backend, &[teacher(trn, (first, last), true)]).await else {
            return;
        };
        let page = rp.get(app::routes::RECORD).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Download your QTS certificate (PDF)"));
        assert!(offers_the_certificate(&page));

        let (status, headers, pdf) = download(&rp, CERTIFICATE).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
        assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            format!("attachment; filename=\"qts-certificate-{trn}.pdf\"").as_str()
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdf_text(&pdf);
        for expected in [
            "Qualified teacher status",
            shown,
            trn,
            "1 September 2020",
            "Teaching Regulation Agency",
        ] {
            assert!(text.contains(expected), "{expected:?} not in {text:?}");
        }
    }
}

async fn a_teacher_without_qts_or_without_a_record_gets_page_not_found_and_no_link(
    backend: Backend,
) {
    let Some(mut rp) = connected_as(backend, &[teacher("9400003", ("Aled", "Rhys"), false)]).await
    else {
        return;
    };
    let page = rp.get(app::routes::RECORD).await;
    assert_eq!(page.status, 200);
    assert!(!offers_the_certificate(&page));
    let (status, headers, body) = download(&rp, CERTIFICATE).await;
    assert_eq!(status, 404);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(String::from_utf8_lossy(&body).contains("Page not found"));

    // Signed in and verified, but not connected to any record: the same.
    let Some(mut rp) = TestApp::new(backend, "QTS certificate").build().await else {
        return;
    };
    let stranger = teacher("9400004", ("Nobody", "Known"), true);
    assert_redirect(
        &verified_as_the_person_of(&mut rp, &stranger, "nobody@example.com").await,
        "/connect",
    );
    let (status, _, body) = download(&rp, CERTIFICATE).await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("Page not found"));
}

async fn someone_not_signed_in_is_sent_to_sign_in_for_the_certificate(backend: Backend) {
    let Some(mut rp) = TestApp::new(backend, "QTS certificate").build().await else {
        return;
    };
    assert_redirect(&rp.get(CERTIFICATE).await, app::routes::SIGN_IN);
}
