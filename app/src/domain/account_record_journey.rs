//! Finding the record of a DfE Identity account holder (DESIGN §7.3, issue 13 §3): the pages' order, what has been
//! answered so far and what the look-up came to, kept in the server-side session while they answer. The questions
//! and their validation are the connect journey's ([`super::journey`]); the rules of the look-up are
//! [`super::account_record`]'s.
//!
//! Unlike One Login's journey, nothing is matched until every question is answered: an account's name and date of
//! birth were only typed, so there is no automatic match to try first, and the person checks their answers before
//! the one look-up.
//!
//! Pure: the server decides where the person stands, and these functions which page they may see.

use super::account_record::AccountAnswers;
use crate::routes;
use serde::{Deserialize, Serialize};

/// The pages of finding an account holder's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordStep {
    /// "We need to find your teaching record".
    Intro,
    Nino,
    Trn,
    /// "Have you been awarded QTS?" with the ITT provider and year.
    Qts,
    CheckAnswers,
    TooManyAttempts,
    /// "We found your teaching record".
    Found,
    /// Support said there is no record for them.
    NoRecord,
}

/// The record just found for them, as the "found" page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFound {
    pub trn: String,
    /// They typed a TRN that is not their record's: the page says so and shows the right one.
    pub typed_trn_differs: bool,
}

/// What the last look-up came to, for the page that shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LookedUp {
    Found(RecordFound),
    /// Support decided there is no record for them: nothing is looked up.
    NoTrn,
}

/// The account holder's answers so far, kept in the session (`SessionData::account_record`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecordJourney {
    #[serde(default)]
    pub answers: AccountAnswers,
    /// Set when a rate limit stopped the last answer: when they may try again ("in an hour").
    #[serde(default)]
    pub try_again: Option<String>,
    #[serde(default)]
    pub looked_up: Option<LookedUp>,
}

impl AccountRecordJourney {
    /// Whether support has said there is no record for them (the last look-up says so).
    pub fn no_record(&self) -> bool {
        self.looked_up == Some(LookedUp::NoTrn)
    }

    /// The first question not yet answered, or check answers: where a question answered (or changed from check
    /// answers) goes next.
    pub fn resume_at(&self) -> &'static str {
        let a = &self.answers;
        if a.nino.is_none() {
            routes::ACCOUNT_FIND_RECORD
        } else if a.trn.is_none() {
            routes::ACCOUNT_FIND_RECORD_TRN
        } else if a.itt.is_none() {
            routes::ACCOUNT_FIND_RECORD_QTS
        } else {
            routes::ACCOUNT_FIND_RECORD_CHECK
        }
    }

    /// Whether every question is answered: the look-up may run.
    pub fn answered(&self) -> bool {
        self.resume_at() == routes::ACCOUNT_FIND_RECORD_CHECK
    }

    /// Where to send someone still finding their record who asked for `step`, or `None` if they may see it. Deep
    /// links and the back button land on the first question not answered; earlier questions may always be changed.
    pub fn redirect_for(&self, step: RecordStep) -> Option<&'static str> {
        let a = &self.answers;
        let allowed = match step {
            RecordStep::Intro | RecordStep::Nino => true,
            RecordStep::Trn => a.nino.is_some(),
            RecordStep::Qts => a.nino.is_some() && a.trn.is_some(),
            RecordStep::CheckAnswers => self.answered(),
            RecordStep::TooManyAttempts => self.try_again.is_some(),
            RecordStep::Found => matches!(self.looked_up, Some(LookedUp::Found(_))),
            RecordStep::NoRecord => self.looked_up == Some(LookedUp::NoTrn),
        };
        (!allowed).then(|| self.resume_at())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::journey::Answer;

    fn answered(nino: bool, trn: bool, itt: bool) -> AccountRecordJourney {
        AccountRecordJourney {
            answers: AccountAnswers {
                nino: nino.then_some(Answer::No),
                trn: trn.then_some(Answer::No),
                itt: itt.then_some(Answer::No),
            },
            ..Default::default()
        }
    }

    #[test]
    fn the_questions_come_in_order_and_deep_links_go_to_the_first_unanswered() {
        let fresh = answered(false, false, false);
        assert_eq!(fresh.resume_at(), "/account/find-your-record");
        assert_eq!(fresh.redirect_for(RecordStep::Intro), None);
        assert_eq!(fresh.redirect_for(RecordStep::Nino), None);
        for step in [RecordStep::Trn, RecordStep::Qts, RecordStep::CheckAnswers] {
            assert_eq!(
                fresh.redirect_for(step),
                Some("/account/find-your-record"),
                "{step:?}"
            );
        }
        let nino = answered(true, false, false);
        assert_eq!(nino.redirect_for(RecordStep::Trn), None);
        assert_eq!(
            nino.redirect_for(RecordStep::CheckAnswers),
            Some("/account/find-your-record/trn")
        );
        let trn = answered(true, true, false);
        assert_eq!(trn.redirect_for(RecordStep::Qts), None);
        assert_eq!(trn.resume_at(), "/account/find-your-record/qts");
        assert!(!trn.answered());
        let all = answered(true, true, true);
        assert!(all.answered());
        assert_eq!(all.resume_at(), "/account/find-your-record/check-answers");
        // Going back to change an earlier answer is always allowed.
        for step in [
            RecordStep::Nino,
            RecordStep::Trn,
            RecordStep::Qts,
            RecordStep::CheckAnswers,
        ] {
            assert_eq!(all.redirect_for(step), None, "{step:?}");
        }
    }

    #[test]
    fn outcome_pages_are_only_for_the_outcome_they_show() {
        let mut journey = answered(true, true, true);
        for step in [
            RecordStep::Found,
            RecordStep::NoRecord,
            RecordStep::TooManyAttempts,
        ] {
            assert_eq!(
                journey.redirect_for(step),
                Some("/account/find-your-record/check-answers")
            );
        }
        journey.looked_up = Some(LookedUp::Found(RecordFound {
            trn: "1234567".into(),
            typed_trn_differs: false,
        }));
        assert_eq!(journey.redirect_for(RecordStep::Found), None);
        assert!(journey.redirect_for(RecordStep::NoRecord).is_some());
        journey.looked_up = Some(LookedUp::NoTrn);
        assert_eq!(journey.redirect_for(RecordStep::NoRecord), None);
        assert!(journey.redirect_for(RecordStep::Found).is_some());
        journey.try_again = Some("in an hour".into());
        assert_eq!(journey.redirect_for(RecordStep::TooManyAttempts), None);
    }

    #[test]
    fn a_journey_kept_in_a_session_reads_back() {
        let journey = AccountRecordJourney {
            try_again: Some("in 24 hours".into()),
            ..answered(true, false, false)
        };
        let json = serde_json::to_string(&journey).unwrap();
        let read: AccountRecordJourney = serde_json::from_str(&json).unwrap();
        assert_eq!(read, journey);
        // An empty object (a field added later) reads as a fresh journey.
        assert_eq!(
            serde_json::from_str::<AccountRecordJourney>("{}").unwrap(),
            AccountRecordJourney::default()
        );
    }
}
