//! The proof-of-identity support request's pages: what was typed (or last failed), the file kept, and the answers
//! to check. Only for someone signed in whom One Login could not verify, with no request open.

use crate::domain::FieldError;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySupportView {
    pub csrf_token: String,
    pub values: BTreeMap<String, String>,
    pub errors: Vec<FieldError>,
    /// How many previous-name boxes to show (at least one).
    pub previous_name_boxes: usize,
    /// The file already uploaded, by the name it had.
    pub proof_name: Option<String>,
    /// For check answers: the valid answers, once every field is valid and a file is kept.
    pub answers: Option<Answers>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub name: String,
    pub previous_names: Vec<String>,
    pub date_of_birth: String,
    pub nino: Option<String>,
    pub trn: Option<String>,
}

/// `None`, with a redirect, for anyone who should be elsewhere.
#[server(input = GetUrl)]
pub async fn load_identity_support() -> Result<Option<IdentitySupportView>, ServerFnError> {
    use crate::domain::journey::Position;
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    let data = use_context::<std::sync::Arc<dyn crate::ssr::TeacherData>>()
        .ok_or_else(|| ServerFnError::new("no teacher data"))?;
    let (position, _, _) = crate::ssr::position(&ctx.session, data.as_ref())
        .await
        .map_err(crate::ssr::DataUnavailable::server_fn_error)?;
    if position != Position::IdentityNotVerified {
        leptos_axum::redirect(position.home().unwrap_or("/continue"));
        return Ok(None);
    }
    let draft = ctx
        .session
        .lock()
        .data
        .identity_support
        .clone()
        .unwrap_or_default();
    let (values, errors) = match ctx
        .session
        .take_flash(&crate::forms::FormId::IdentitySupport)
    {
        Some(flash) => (flash.values, flash.errors),
        None => (
            draft
                .details
                .as_ref()
                .map(|d| crate::domain::identity_support::IdentitySupportInput::from(d).values())
                .unwrap_or_default(),
            Vec::new(),
        ),
    };
    let previous_name_boxes = values
        .keys()
        .filter(|k| k.starts_with("previous-name-"))
        .count()
        .max(1);
    let answers = match (&draft.details, &draft.proof) {
        (Some(d), Some(_)) => Some(Answers {
            name: d.name.clone(),
            previous_names: d.previous_names.clone(),
            date_of_birth: crate::domain::uk_time::long_date(d.date_of_birth),
            nino: d.nino.clone(),
            trn: d.trn.clone(),
        }),
        _ => None,
    };
    Ok(Some(IdentitySupportView {
        csrf_token: ctx.csrf_token,
        values,
        errors,
        previous_name_boxes,
        proof_name: draft.proof.map(|p| p.file_name),
        answers,
    }))
}
