//! Finding the record for a DfE Identity account, end to end (DESIGN §7.3, issue 13 §3): what the account pages
//! call after the record questions, and again at each sign-in. The rules are `app::domain::account_record`'s; the
//! storage is `db::account_records`' and the connect journey's.
//!
//! 1. Already connected → its TRN; support said "no TRN" → not looked up again.
//! 2. Otherwise the account's evidence (typed name and date of birth, proven email, answers) goes through the same
//!    candidate search and §5 policy as One Login's, without a connection on name, date of birth and email alone.
//!    A typed TRN that found nothing gets a second look without it (a second search and decision, exactly as for
//!    "I don't have a TRN"; `app::domain::account_record::second_look`).
//! 3. Found → connected now (the person is told if the TRN they typed was another); held by another person → TRN
//!    in use, with where that person's passcode goes; not found → an account-record-matching support task (one
//!    open task per person: asking again gives the same task).

use crate::db::account_records::{AccountLookup, TrnHolder};
use crate::db::connect::{ConnectResult, NewSupportTask};
use crate::db::{DynStore, StoreResult};
use app::domain::account::Account;
use app::domain::account_record::{
    account_evidence, after_second_look, find_account_record, second_look, typed_trn_differs,
    AccountAnswers, AccountFacts, AccountMatch,
};
use app::domain::task_details::{AccountRecordMatchingDetails, TaskDetails};
use chrono::{DateTime, Utc};

/// What looking up an account's record came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccountRecord {
    /// Connected now: show which record; `typed_trn_differs` says to tell them the TRN they typed is not it.
    Found {
        trn: String,
        typed_trn_differs: bool,
    },
    /// Connected before (by this route or by support).
    AlreadyFound { trn: String },
    /// Support said there is no record for them: nothing is looked up.
    NoTrn,
    /// Another person holds the record: a passcode to `holder.email`, then merge (or support).
    TrnInUse { trn: String, holder: TrnHolder },
    /// Not found: the support task (raised now, or the one already open).
    SupportTask { reference: String },
}

/// Looks up (or looks up again) the record of `account` with its `answers`; `client_id` is the service the
/// person came from, kept on a task as every task keeps it.
pub async fn look_up_account_record(
    store: &DynStore,
    account: &Account,
    answers: &AccountAnswers,
    client_id: Option<String>,
    now: DateTime<Utc>,
) -> StoreResult<AccountRecord> {
    let user_id = account.user_id;
    match store.account_lookup(user_id).await? {
        AccountLookup::Found { trn } => return Ok(AccountRecord::AlreadyFound { trn }),
        AccountLookup::NoTrn => return Ok(AccountRecord::NoTrn),
        AccountLookup::LookUp => {}
    }
    let evidence = account_evidence(&AccountFacts::of(account), answers);
    let candidates = store.find_candidates(&evidence, user_id).await?;
    let mut found = find_account_record(&evidence, &candidates);
    if let Some(without_trn) = second_look(&evidence, &found) {
        // Searched again: the candidates are the ones "I don't have a TRN" would have found.
        let candidates = store.find_candidates(&without_trn, user_id).await?;
        found = after_second_look(found, find_account_record(&without_trn, &candidates));
    }
    let (trn_in_use, flag) = match found {
        AccountMatch::Found { trn, via } => {
            match store.connect_account(user_id, &trn, via, now).await? {
                ConnectResult::Connected => {
                    return Ok(AccountRecord::Found {
                        typed_trn_differs: typed_trn_differs(answers.trn(), &trn),
                        trn,
                    })
                }
                // Someone took it between the search and the connection: as TRN in use.
                ConnectResult::RecordTaken => (Some(trn), None),
                ConnectResult::UnknownRecord => (None, None),
            }
        }
        AccountMatch::TrnInUse { trn } => (Some(trn), None),
        AccountMatch::NotFound { flag } => (None, flag),
    };
    if let Some(trn) = trn_in_use {
        if let Some(holder) = store.trn_holder(&trn, user_id).await? {
            return Ok(AccountRecord::TrnInUse { trn, holder });
        }
    }
    let task = NewSupportTask {
        user_id,
        details: TaskDetails::AccountRecordMatching(AccountRecordMatchingDetails::of(
            account,
            answers.clone(),
            flag.into_iter().collect(),
        )),
        client_id,
    };
    let raised = store.raise_support_task(&task, now).await?;
    Ok(AccountRecord::SupportTask {
        reference: raised.reference,
    })
}
