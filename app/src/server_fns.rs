//! Server functions: thin wrappers that read the request context, call the domain and map errors.

pub mod console;
pub mod load_account;
pub mod load_account_merge;
pub mod load_account_page;
pub mod load_account_record;
pub mod load_account_sign_in;
pub mod load_feedback_form;
pub mod load_identity_support;
pub mod load_journey;
pub mod load_sign_out;
pub mod services;
