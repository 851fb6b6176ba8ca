//! One module per page or family of pages.

pub mod account;
pub mod account_merge;
pub mod account_record;
pub mod account_sign_in;
pub mod connect;
pub mod feedback;
pub mod identity_support;
pub mod info;
pub mod problem;
pub mod sign_in;
pub mod start;
pub mod support;

// Links to routes the server handles outside the Leptos router (sign-in, sign-out, One Login round trips) carry
// `rel="external"`, so the client-side router lets the browser load them instead of rendering "Page not found".
