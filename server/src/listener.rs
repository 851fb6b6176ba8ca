//! The HTTP listener: HTTP/1.1 on each accepted TCP connection, with two guards `axum::serve` does not give.
//!
//! - **A header-read timeout** (`HEADER_READ_TIMEOUT_SECONDS`): a connection that has not sent a whole request
//!   head in that time, whether it sent half a request or nothing at all, or that sits idle between requests, is
//!   closed. Without it, a client that opens connections and sends a byte now and then holds them for ever.
//! - **A cap on connections served at once** (`MAX_CONNECTIONS`): past it we stop accepting, so further clients
//!   wait in the kernel's listen queue instead of using up the process's open files (which made even `/health`
//!   fail with "Too many open files"). A slot frees when a connection closes.
//!
//! These bound the harm one client can do; they do not make slow clients cheap. In production a buffering
//! reverse proxy or load balancer belongs in front (see docs/operations.md), which holds slow uploads and idle
//! clients itself and sends us whole requests.
//!
//! - **A lingering close**: when we answer before reading the whole request (a 413 for a 30 MB upload, a redirect
//!   for someone who may not upload), the client is still sending. Closing the socket then makes the kernel reset
//!   the connection, and the browser shows "connection reset" instead of our page. So a connection closed while
//!   the client is still sending is read and discarded (never stored) for a while first, as nginx's
//!   `lingering_close` does, keeping its slot until then.
//!
//! Connections get `TCP_NODELAY` (without it small responses wait ~40 ms for delayed ACKs), and the peer address
//! as `ConnectInfo`, from which [`crate::http::client_addr`] works out the client's address.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// The guards' settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

impl ConnectionLimits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            max_connections: config.max_connections,
            header_read_timeout: config.header_read_timeout,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for the requests in
/// flight to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Dropping `stop_tx` tells every connection to finish its request and close; each holds a `done_rx` clone
    // until it has, so `done_tx.closed()` waits for all of them.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: at the cap, new connections queue in the kernel.
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or similar: wait rather than spin, as axum::serve does.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let app = app.clone();
        let mut stop_rx = stop_rx.clone();
        let done_rx = done_rx.clone();
        tokio::spawn(async move {
            let service =
                app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.map(axum::body::Body::new)
                });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(true);
            let io = LingeringClose {
                tcp: Some(tcp),
                permit: Some(permit),
            };
            let connection = builder
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_connection_end(result, peer),
                _ = stop_rx.changed() => {
                    connection.as_mut().graceful_shutdown();
                    log_connection_end(connection.await, peer);
                }
            }
            drop(done_rx);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
}

fn log_connection_end(result: Result<(), hyper::Error>, _peer: SocketAddr) {
    if let Err(e) = result {
        // Timeouts and clients going away are routine; the address is personal data, so it is not logged.
        tracing::debug!(error = %e, "connection ended");
    }
}

/// How long and how much a lingering close reads: as nginx's `lingering_time` and `lingering_timeout`, with a cap on
/// bytes so a client cannot keep us reading for ever.
const LINGER_FOR: Duration = Duration::from_secs(30);
const LINGER_QUIET: Duration = Duration::from_secs(5);
const LINGER_MAX_BYTES: usize = 64 * 1024 * 1024;

/// A connection's socket and its slot. When hyper drops it, a client still sending gets a lingering close (see
/// the module notes); the slot is given back once the socket is really closed.
struct LingeringClose {
    tcp: Option<tokio::net::TcpStream>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl LingeringClose {
    fn tcp(&mut self) -> &mut tokio::net::TcpStream {
        self.tcp.as_mut().expect("the socket is taken only on drop")
    }
}

impl tokio::io::AsyncRead for LingeringClose {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(self.tcp()).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for LingeringClose {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(self.tcp()).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(self.tcp()).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(self.tcp()).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(self.tcp()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.as_ref().is_some_and(|t| t.is_write_vectored())
    }
}

impl Drop for LingeringClose {
    fn drop(&mut self) {
        let (Some(tcp), permit) = (self.tcp.take(), self.permit.take()) else {
            return;
        };
        // Only a client with bytes waiting is still sending; anyone else is closed at once.
        let mut probe = [0u8; 1];
        let still_sending = matches!(tcp.try_read(&mut probe), Ok(n) if n > 0);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if still_sending {
            runtime.spawn(async move {
                linger(tcp).await;
                drop(permit);
            });
        }
    }
}

/// Reads and discards what the client still sends (our response has gone, and hyper has shut our side down),
/// until it stops, goes quiet, or has sent too much or for too long.
async fn linger(mut tcp: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.shutdown().await;
    let deadline = tokio::time::Instant::now() + LINGER_FOR;
    let mut buf = vec![0u8; 64 * 1024];
    let mut discarded = 0;
    while discarded < LINGER_MAX_BYTES {
        let quiet = (tokio::time::Instant::now() + LINGER_QUIET).min(deadline);
        match tokio::time::timeout_at(quiet, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => discarded += n,
            _ => break,
        }
    }
}
