//! The local server's listener, guarded against clients that hold connections open:
//!
//! - a deadline for each request's headers (hyper's `header_read_timeout`): a client that
//!   never finishes them (slowloris), or an idle keep-alive connection, is closed;
//! - a deadline for each whole request, body and handler included (tower-http's
//!   `TimeoutLayer`): a client that trickles its body is answered 408;
//! - a cap on open connections: beyond it, new connections wait in the listen backlog
//!   until one closes (a semaphore slot is taken before each accept);
//! - a cap on one client address's open connections: beyond it, its new ones are closed
//!   at once, so one client cannot take every place (not behind a trusted proxy, whose
//!   address every connection would share).
//!
//! `axum::serve` offers none of these (it builds its hyper connections without a timer),
//! so the accept loop is hyper-util's, as in its graceful-server example.

use crate::http::client_ip::client_key;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
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
    /// Most connections one client address may hold open at once; `None` behind a
    /// trusted proxy.
    pub max_per_client: Option<usize>,
}

impl ServerLimits {
    /// `behind_proxy`: every connection comes from a proxy of the installation's, so no
    /// cap per client address applies.
    pub fn new(
        header_timeout_secs: u64,
        request_timeout_secs: u64,
        max_connections: usize,
        max_per_client: usize,
        behind_proxy: bool,
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
        if max_per_client == 0 {
            return Err("the connection cap per client must be at least 1".into());
        }
        Ok(Self {
            header_timeout: Duration::from_secs(header_timeout_secs),
            request_timeout: Duration::from_secs(request_timeout_secs),
            max_connections,
            max_per_client: (!behind_proxy).then_some(max_per_client),
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
    let clients = ClientCounts::default();
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
        let Some(held) = limits.max_per_client.map_or(Some(None), |cap| {
            clients.take(client_key(peer.ip()), cap).map(Some)
        }) else {
            tracing::debug!(%peer, "a client at its connection cap; its new connection closed");
            drop(stream);
            continue;
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
            drop(held);
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// How many connections each client address holds open.
#[derive(Clone, Default)]
struct ClientCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One of a client's connections; the count goes down when it is dropped.
struct ClientConnection {
    counts: ClientCounts,
    ip: IpAddr,
}

impl ClientCounts {
    /// A place for one more connection of `ip`, if it holds fewer than `cap`.
    fn take(&self, ip: IpAddr, cap: usize) -> Option<ClientConnection> {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = counts.entry(ip).or_default();
        if *held >= cap {
            return None;
        }
        *held += 1;
        Some(ClientConnection {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientConnection {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(held) = counts.get_mut(&self.ip) {
            *held -= 1;
            if *held == 0 {
                counts.remove(&self.ip);
            }
        }
    }
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
        assert!(ServerLimits::new(10, 60, 512, 64, false).is_ok());
        assert!(ServerLimits::new(0, 60, 512, 64, false).is_err());
        assert!(ServerLimits::new(10, 0, 512, 64, false).is_err());
        assert!(ServerLimits::new(10, 60, 0, 64, false).is_err());
        assert!(ServerLimits::new(10, 60, 512, 0, false).is_err());
    }

    #[test]
    fn behind_a_proxy_no_client_cap_applies() {
        let limits = ServerLimits::new(10, 60, 512, 64, true).unwrap();
        assert_eq!(limits.max_per_client, None);
    }

    #[test]
    fn a_client_holds_at_most_its_cap_and_a_closed_connection_frees_a_place() {
        let counts = ClientCounts::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = counts.take(a, 2).unwrap();
        let _second = counts.take(a, 2).unwrap();
        assert!(counts.take(a, 2).is_none());
        assert!(
            counts.take(b, 2).is_some(),
            "another client is not held back"
        );
        drop(first);
        assert!(counts.take(a, 2).is_some());
    }
}
