//! What each page of finding a DfE Identity account holder's record shows (DESIGN §7.3, issue 13 §3), after
//! checking the person may be on that page: the questions and check answers are for an account holder with no
//! record and no support task open; the "found" page for one just connected. Anyone else goes where they belong.

use crate::domain::account_record_journey::{RecordFound, RecordStep};
use crate::server_fns::load_journey::JourneyView;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecordView {
    /// The questions' values and errors, the answers as check answers words them, the third question's
    /// suggestions, when a rate-limited person may try again and the service they may go back to: the connect
    /// journey's view, as the pages are its pages.
    pub view: JourneyView,
    /// The record just found, on the "found" page.
    pub found: Option<RecordFound>,
}

/// The page for `step`, or `None` with a redirect to where the person should be.
#[server(input = GetUrl)]
pub async fn load_account_record(
    step: RecordStep,
) -> Result<Option<AccountRecordView>, ServerFnError> {
    use crate::domain::account_record_journey::LookedUp;
    use crate::domain::journey::{Position, Step};
    use crate::routes;
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let data = use_context::<std::sync::Arc<dyn crate::ssr::TeacherData>>()
        .ok_or_else(|| ServerFnError::new("no teacher data"))?;
    let (position, user, _) = crate::ssr::position(&ctx.session, data.as_ref())
        .await
        .map_err(crate::ssr::DataUnavailable::server_fn_error)?;
    let journey = ctx
        .session
        .lock()
        .data
        .account_record
        .clone()
        .unwrap_or_default();
    let redirect = match (step, &position) {
        // Connected by the look-up: the found page once, else their record.
        (RecordStep::Found, Position::Connected) => {
            journey.redirect_for(step).map(|_| routes::RECORD)
        }
        (RecordStep::Found, _) => Some(position.home().unwrap_or(routes::CONTINUE)),
        (_, Position::AccountNotConnected) => journey.redirect_for(step),
        (_, other) => Some(other.home().unwrap_or(routes::CONTINUE)),
    };
    if let Some(to) = redirect {
        leptos_axum::redirect(to);
        return Ok(None);
    }
    let shown_as = match step {
        RecordStep::Nino => Step::Nino,
        RecordStep::Trn => Step::Trn,
        RecordStep::Qts => Step::Itt,
        _ => Step::CheckAnswers,
    };
    let answers = &journey.answers;
    let shown = super::load_journey::answers_view(
        &ctx,
        data.as_ref(),
        shown_as,
        answers.nino.as_ref(),
        answers.trn.as_ref(),
        answers.itt.as_ref(),
    )
    .await?;
    let (continue_to, waiting_service) =
        super::load_journey::client_return(&ctx.session, &position, user.as_ref());
    let found = match journey.looked_up {
        Some(LookedUp::Found(found)) => Some(found),
        _ => None,
    };
    Ok(Some(AccountRecordView {
        view: JourneyView {
            try_again: journey.try_again.clone(),
            continue_to,
            waiting_service,
            ..shown
        },
        found,
    }))
}
