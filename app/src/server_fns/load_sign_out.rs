//! The "Sign out?" page's state: the CSRF token its button sends.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

#[server(input = GetUrl)]
pub async fn load_sign_out() -> Result<String, ServerFnError> {
    let ctx =
        crate::ssr::request_context().ok_or_else(|| ServerFnError::new("no request context"))?;
    Ok(ctx.csrf_token)
}
