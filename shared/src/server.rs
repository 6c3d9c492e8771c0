//! The local server's listener, guarded against clients that hold connections open:
//!
//! - a deadline for each request's headers (hyper's `header_read_timeout`): a client that
//!   never finishes them (slowloris), or an idle keep-alive connection, is closed;
//! - a deadline for each whole request, body and handler included (tower-http's
//!   `TimeoutLayer`): a client that trickles its body is answered 408;
//! - a cap on open connections: beyond it, new connections wait in the listen backlog
//!   until one closes (a semaphore slot is taken before each accept).
//!
//! `axum::serve` offers none of these (it builds its hyper connections without a timer),
//! so the accept loop is hyper-util's, as in its graceful-server example.

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutLayer;

/// How the local server guards its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest a client may take to send a request's headers; also how long an idle
    /// keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Longest one request may take, from its headers to the handler's answer.
    pub request_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl ServerLimits {
    pub fn new(
        header_timeout_secs: u64,
        request_timeout_secs: u64,
        max_connections: usize,
    ) -> Result<Self, String> {
        if header_timeout_secs == 0 {
            return Err("the header timeout must be at least 1 second".into());
        }
        if request_timeout_secs == 0 {
            return Err("the request timeout must be at least 1 second".into());
        }
        if max_connections == 0 {
            return Err("the connection cap must be at least 1".into());
        }
        Ok(Self {
            header_timeout: Duration::from_secs(header_timeout_secs),
            request_timeout: Duration::from_secs(request_timeout_secs),
            max_connections,
        })
    }
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets
/// the requests in flight finish, and returns. Handlers see the peer as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let app = app.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A header timeout, a reset, a malformed request: the client's doing.
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// An accept that failed: a connection gone before it was taken is nothing; anything
/// else (out of file descriptors) waits a moment rather than spin.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_must_be_above_zero() {
        assert!(ServerLimits::new(10, 60, 512).is_ok());
        assert!(ServerLimits::new(0, 60, 512).is_err());
        assert!(ServerLimits::new(10, 0, 512).is_err());
        assert!(ServerLimits::new(10, 60, 0).is_err());
    }
}
