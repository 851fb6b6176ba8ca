//! `onelogin-standin`: runs the GOV.UK One Login stand-in, configured from `STANDIN_*` environment variables.
//! A bad value stops it with one line naming the variable, and exit status 2.

use onelogin_standin::{
    router, routers_with_identity_host, StaffClient, StandinConfig, StandinError,
};
use std::net::SocketAddr;
use std::process::ExitCode;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// Everything the binary reads from the environment.
struct Settings {
    listen: SocketAddr,
    issuer: String,
    /// A separate identity host (the DID document and the credential's `iss`), with its issuer.
    identity: Option<(SocketAddr, String)>,
    key_file: String,
    config: StandinConfig,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn url_list(name: &str, default: &str) -> Result<Vec<String>, String> {
    let raw = var(name).unwrap_or_else(|| default.to_string());
    let list: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect();
    if list.is_empty() {
        return Err(format!("{name} must list at least one URL"));
    }
    if let Some(bad) = list
        .iter()
        .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
    {
        return Err(format!(
            "{name} must be http:// or https:// URLs, not {bad:?}"
        ));
    }
    Ok(list)
}

fn settings() -> Result<Settings, String> {
    let listen: SocketAddr = var("STANDIN_LISTEN")
        .unwrap_or_else(|| "127.0.0.1:3900".into())
        .parse()
        .map_err(|_| {
            "STANDIN_LISTEN must be an address and port, like 127.0.0.1:3900".to_string()
        })?;
    let issuer = var("STANDIN_ISSUER").unwrap_or_else(|| format!("http://{listen}/"));
    let identity = match var("STANDIN_IDENTITY_LISTEN") {
        None => None,
        Some(address) => {
            let address: SocketAddr = address.parse().map_err(|_| {
                "STANDIN_IDENTITY_LISTEN must be an address and port, like 127.0.0.1:3901"
                    .to_string()
            })?;
            let issuer =
                var("STANDIN_IDENTITY_ISSUER").unwrap_or_else(|| format!("http://{address}/"));
            Some((address, issuer))
        }
    };
    let client_id = var("STANDIN_CLIENT_ID").unwrap_or_else(|| "teacher-id-dev".into());
    let redirect_uris = url_list(
        "STANDIN_REDIRECT_URIS",
        "http://localhost:3000/auth/callback,http://127.0.0.1:3000/auth/callback",
    )?;
    let post_logout_redirect_uris = url_list(
        "STANDIN_POST_LOGOUT_REDIRECT_URIS",
        "http://localhost:3000/signed-out,http://127.0.0.1:3000/signed-out",
    )?;
    let key_file = var("STANDIN_CLIENT_PUBLIC_KEY_FILE").ok_or(
        "STANDIN_CLIENT_PUBLIC_KEY_FILE must name the relying party's RSA public key (PEM)",
    )?;
    let client_public_key_pem = std::fs::read_to_string(&key_file)
        .map_err(|e| format!("STANDIN_CLIENT_PUBLIC_KEY_FILE {key_file:?} cannot be read: {e}"))?;
    let backchannel_logout_uri = match var("STANDIN_BACKCHANNEL_LOGOUT_URI") {
        None => None,
        Some(uri) if uri.starts_with("http://") || uri.starts_with("https://") => Some(uri),
        Some(_) => {
            return Err("STANDIN_BACKCHANNEL_LOGOUT_URI must be an http:// or https:// URL".into())
        }
    };
    let staff = StaffClient {
        client_id: var("STANDIN_STAFF_CLIENT_ID").unwrap_or_else(|| "teacher-id-staff-dev".into()),
        client_secret: var("STANDIN_STAFF_CLIENT_SECRET")
            .unwrap_or_else(|| "dev-staff-secret".into()),
        redirect_uris: url_list(
            "STANDIN_STAFF_REDIRECT_URIS",
            "http://localhost:3000/support/auth/callback,http://127.0.0.1:3000/support/auth/callback",
        )?,
    };
    let seed = match var("STANDIN_SEED") {
        None => 1,
        Some(s) => s
            .parse()
            .map_err(|_| "STANDIN_SEED must be a whole number".to_string())?,
    };
    Ok(Settings {
        listen,
        issuer,
        identity,
        key_file,
        config: StandinConfig {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            client_public_key_pem,
            backchannel_logout_uri,
            seed,
            staff: Some(staff),
        },
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = match settings() {
        Ok(s) => s,
        Err(message) => {
            eprintln!("configuration error: {message}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(settings.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "configuration error: STANDIN_LISTEN {} cannot be used: {e}",
                settings.listen
            );
            return ExitCode::from(2);
        }
    };
    let identity_listener = match settings.identity.as_ref() {
        None => None,
        Some((address, _)) => {
            match TcpListener::bind(address).await {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("configuration error: STANDIN_IDENTITY_LISTEN {address} cannot be used: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let built = match &settings.identity {
        None => router(settings.config, &settings.issuer).map(|app| (app, None)),
        Some((_, identity_issuer)) => {
            routers_with_identity_host(settings.config, &settings.issuer, identity_issuer)
                .map(|(app, identity)| (app, Some(identity)))
        }
    };
    let (app, identity_app) = match built {
        Ok(apps) => apps,
        Err(e) => {
            let message = match e {
                StandinError::ClientKey => format!(
                    "STANDIN_CLIENT_PUBLIC_KEY_FILE {:?} does not hold an RSA public key in PEM form",
                    settings.key_file
                ),
                StandinError::Issuer(_) => {
                    "STANDIN_ISSUER and STANDIN_IDENTITY_ISSUER must be http:// or https:// URLs with a host"
                        .into()
                }
                StandinError::ClientId => "STANDIN_CLIENT_ID must not be empty".into(),
                // Empty values fall back to the defaults, so only a clash with the teacher client gets here.
                StandinError::StaffClient(problem) => {
                    format!("STANDIN_STAFF_CLIENT_ID: the staff client {problem}")
                }
                other => other.to_string(),
            };
            eprintln!("configuration error: {message}");
            return ExitCode::from(2);
        }
    };
    let issuer = if settings.issuer.ends_with('/') {
        settings.issuer
    } else {
        format!("{}/", settings.issuer)
    };
    println!("One Login stand-in is running at {issuer}");
    if let (Some(listener), Some(identity_app)) = (identity_listener, identity_app) {
        if let Some((_, identity_issuer)) = &settings.identity {
            println!("Its identity host (DID document) is at {identity_issuer}");
        }
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, identity_app).await {
                eprintln!("the stand-in's identity host stopped: {e}");
            }
        });
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("the One Login stand-in stopped: {e}");
            ExitCode::FAILURE
        }
    }
}
