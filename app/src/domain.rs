//! Domain rules as plain functions: no Leptos, no database, no HTTP. Everything here is shared by the server and
//! the WASM client and is tested on its own.

pub mod account;
pub mod account_merge;
pub mod account_record;
pub mod account_record_journey;
pub mod certificate;
pub mod feedback;
pub mod identity;
pub mod identity_support;
pub mod journey;
pub mod matching;
pub mod names;
pub mod provider;
pub mod records;
pub mod services;
pub mod support;
#[cfg(feature = "synthetic")]
pub mod synthetic;
pub mod task_details;
pub mod trn_tokens;
pub mod uk_time;
pub mod validation;

pub use validation::FieldError;
