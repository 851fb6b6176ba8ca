//! What each page of the connect journey shows, after checking the person may be on that page: anyone else is
//! redirected to the step they need (deep links, stale tabs, the back button after connecting).

use crate::domain::journey::Step;
use crate::domain::FieldError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One qualification line on the record page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationView {
    pub name: String,
    pub status: String,
    pub awarded_on: Option<String>,
}

/// A summary card on the record page: a kind of qualification and what the record holds of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationCard {
    pub title: String,
    /// Shown when the record holds none of this kind.
    pub empty: String,
    pub items: Vec<QualificationView>,
}

/// The teacher's own record, as the record page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    pub name: String,
    pub date_of_birth: String,
    pub trn: String,
    pub cards: Vec<QualificationCard>,
    /// Whether the record holds QTS with its date, so the page offers the certificate.
    pub qts_certificate: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyView {
    pub csrf_token: String,
    /// What the last failed submission typed, or the answer already given.
    pub values: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
    /// The answers as check answers shows them.
    pub nino_answer: Option<String>,
    pub trn_answer: Option<String>,
    /// The third question's answers, when it was asked: "Yes" or "No", then the provider and year if yes.
    pub qts_answer: Option<String>,
    pub itt_provider_answer: Option<String>,
    pub qts_year_answer: Option<String>,
    /// The ITT providers the records name: the third question's suggestions (empty on other pages).
    pub itt_providers: Vec<String>,
    pub reference: Option<String>,
    pub requested_on: Option<String>,
    pub email: String,
    pub record: Option<RecordView>,
    /// "in 24 hours" or "in an hour": when a rate-limited person may try again.
    pub try_again: Option<String>,
    /// The service that sent the teacher here, when they may go back to it now: "Continue to <service>".
    #[serde(default)]
    pub continue_to: Option<String>,
    /// The service that sent the teacher here, when it needs their TRN and support is still looking for it.
    #[serde(default)]
    pub waiting_service: Option<String>,
}

/// The page for `step`, or `None` with a redirect to where the person should be.
#[server(input = GetUrl)]
pub async fn load_journey(step: Step) -> Result<Option<JourneyView>, ServerFnError> {
    use crate::domain::journey::{redirect_for, Position};
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let data = use_context::<std::sync::Arc<dyn crate::ssr::TeacherData>>()
        .ok_or_else(|| ServerFnError::new("no teacher data"))?;
    let (position, user, facts) = crate::ssr::position(&ctx.session, data.as_ref())
        .await
        .map_err(crate::ssr::DataUnavailable::server_fn_error)?;
    if let Some(to) = redirect_for(step, &position) {
        leptos_axum::redirect(to);
        return Ok(None);
    }
    let (continue_to, waiting_service) = client_return(&ctx.session, &position, user.as_ref());
    let answers = match &position {
        Position::Answering(answers) => answers.clone(),
        _ => Default::default(),
    };
    let shown = answers_view(
        &ctx,
        data.as_ref(),
        step,
        answers.nino.as_ref(),
        answers.trn.as_ref(),
        answers.itt.as_ref(),
    )
    .await?;
    // Where support's answer goes: One Login's verified email, or a DfE Identity account's own (read only for an
    // account holder, whose session holds no email).
    let email = match user {
        Some(u) if u.is_account() => data
            .account(u.user_id)
            .await
            .map_err(crate::ssr::DataUnavailable::server_fn_error)?
            .map(|a| a.email.address().to_string()),
        Some(u) => u.email.map(|e| e.as_str().to_string()),
        None => None,
    }
    .unwrap_or_default();
    Ok(Some(JourneyView {
        reference: facts.open_task.as_ref().map(|t| t.reference.clone()),
        requested_on: facts
            .open_task
            .as_ref()
            .map(|t| crate::domain::uk_time::long_date(t.requested_at.date_naive())),
        email,
        record: facts.record.as_ref().map(record_view),
        try_again: answers.try_again.clone(),
        continue_to,
        waiting_service,
        ..shown
    }))
}

/// What a question page (`step` is [`Step::Nino`], [`Step::Trn`] or [`Step::Itt`]) or check answers shows of the
/// answers so far: the last failed submission's values and errors, else the answer already given (so the back
/// button and change links show it), the answers as check answers words them, and the third question's
/// suggestions. Shared by the connect journey and an account holder's record questions, which ask the same
/// questions with the same forms.
#[cfg(feature = "ssr")]
pub(crate) async fn answers_view(
    ctx: &crate::ssr::RequestContext,
    data: &dyn crate::ssr::TeacherData,
    step: Step,
    nino: Option<&crate::domain::journey::Answer<crate::domain::validation::Nino>>,
    trn: Option<&crate::domain::journey::Answer<crate::domain::validation::Trn>>,
    itt: Option<&crate::domain::journey::Answer<crate::domain::matching::IttIdentifier>>,
) -> Result<JourneyView, ServerFnError> {
    use crate::domain::journey::Answer;
    let form = match step {
        Step::Nino => Some(crate::forms::FormId::ConnectNino),
        Step::Trn => Some(crate::forms::FormId::ConnectTrn),
        Step::Itt => Some(crate::forms::FormId::ConnectItt),
        _ => None,
    };
    let (mut values, errors) = match form.and_then(|form| ctx.session.take_flash(&form)) {
        Some(flash) => (flash.values, flash.errors),
        None => (BTreeMap::new(), Vec::new()),
    };
    // The answer already given, so the back button and change links show it.
    if values.is_empty() {
        let mut prefill = |field: &str, choice: &str, value: Option<&str>| {
            values.insert(field.to_string(), choice.to_string());
            if let Some(v) = value {
                values.insert(field.trim_start_matches("has_").to_string(), v.to_string());
            }
        };
        match (step, nino, trn) {
            (Step::Nino, Some(Answer::No), _) => prefill("has_nino", "no", None),
            (Step::Nino, Some(Answer::Yes(n)), _) => prefill("has_nino", "yes", Some(n.as_str())),
            (Step::Trn, _, Some(Answer::No)) => prefill("has_trn", "no", None),
            (Step::Trn, _, Some(Answer::Yes(t))) => prefill("has_trn", "yes", Some(t.as_str())),
            _ => {}
        }
        if step == Step::Itt {
            use crate::domain::journey::{ITT_PROVIDER_FIELD, QTS_CHOICE_FIELD, QTS_YEAR_FIELD};
            match itt {
                Some(Answer::No) => {
                    values.insert(QTS_CHOICE_FIELD.into(), "no".into());
                }
                Some(Answer::Yes(itt)) => {
                    values.insert(QTS_CHOICE_FIELD.into(), "yes".into());
                    values.insert(ITT_PROVIDER_FIELD.into(), itt.provider.clone());
                    values.insert(QTS_YEAR_FIELD.into(), itt.qts_year.to_string());
                }
                None => {}
            }
        }
    }
    let itt_providers = if step == Step::Itt {
        data.itt_providers()
            .await
            .map_err(crate::ssr::DataUnavailable::server_fn_error)?
            .as_ref()
            .clone()
    } else {
        Vec::new()
    };
    let answer_text = |answer: Option<Option<&str>>| {
        answer.map(|v| v.map_or_else(|| "No".to_string(), str::to_string))
    };
    Ok(JourneyView {
        csrf_token: ctx.csrf_token.clone(),
        values,
        errors,
        nino_answer: answer_text(nino.map(|a| a.value().map(|n| n.as_str()))),
        trn_answer: answer_text(trn.map(|a| a.value().map(|t| t.as_str()))),
        qts_answer: itt.map(|a| if a.value().is_some() { "Yes" } else { "No" }.to_string()),
        itt_provider_answer: itt.and_then(|a| a.value()).map(|i| i.provider.clone()),
        qts_year_answer: itt.and_then(|a| a.value()).map(|i| i.qts_year.to_string()),
        itt_providers,
        ..JourneyView::default()
    })
}

/// The name of the service that sent the teacher, as `(they may go back now, it waits for support)`.
#[cfg(feature = "ssr")]
pub(crate) fn client_return(
    session: &crate::ssr::SessionHandle,
    position: &crate::domain::journey::Position,
    user: Option<&crate::ssr::SignedInUser>,
) -> (Option<String>, Option<String>) {
    use crate::domain::provider::{may_return, MayReturn, TeacherState};
    let now = chrono::Utc::now().timestamp();
    let Some(request) = session.lock().data.live_client_request(now).cloned() else {
        return (None, None);
    };
    let verified =
        user.is_some_and(|u| matches!(u.identity, crate::ssr::IdentityStatus::Verified(_)));
    match may_return(
        request.trn,
        &request.scopes,
        &TeacherState::at(position, verified)
            .signed_in_with_account(user.is_some_and(|u| u.is_account()))
            .with_no_record_found(session.lock().data.account_has_no_record()),
    ) {
        MayReturn::Now => (Some(request.client_name), None),
        MayReturn::WaitForSupport => (None, Some(request.client_name)),
        _ => (None, None),
    }
}

#[cfg(feature = "ssr")]
fn record_view(record: &crate::domain::records::TeachingRecord) -> RecordView {
    use crate::domain::records::QualificationKind as Kind;
    let date = crate::domain::uk_time::long_date;
    let card = |kind: Kind, title: &str, empty: &str| QualificationCard {
        title: title.into(),
        empty: empty.into(),
        items: record
            .qualifications
            .iter()
            .filter(|q| q.kind == kind)
            .map(|q| QualificationView {
                name: q.name.clone(),
                status: q.status.clone(),
                awarded_on: q.awarded_on.map(date),
            })
            .collect(),
    };
    let name = record.full_name();
    RecordView {
        name,
        date_of_birth: date(record.date_of_birth),
        trn: record.trn.clone(),
        qts_certificate: crate::domain::certificate::QtsCertificate::of(record).is_some(),
        cards: vec![
            card(Kind::Qts, "Qualified teacher status (QTS)", "You do not have qualified teacher status."),
            card(Kind::Induction, "Induction", "We do not hold an induction record for you."),
            card(Kind::Itt, "Initial teacher training", "We do not hold a record of initial teacher training for you."),
            card(Kind::Eyts, "Early years teacher status (EYTS)", "You do not have early years teacher status."),
            card(Kind::Npq, "National professional qualifications (NPQs)", "You do not have any national professional qualifications."),
            card(Kind::Mandatory, "Mandatory qualifications", "You do not have any mandatory qualifications for teaching pupils with sensory impairments."),
        ],
    }
}
