//! A loopback relay in front of the AWS emulator that notes, for every request a
//! function makes, when the request reached it and when its answer had been passed back.
//! The cold-start figures use it to tell a function's own time from the time it spent
//! waiting for the emulator (a Python server, several milliseconds a call), which on AWS
//! would be DynamoDB's or SQS's time instead.
//!
//! HTTP/1.1 clients do not pipeline: on one connection, bytes from the function after an
//! answer began start the next request. That is all the relay needs to know of HTTP.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request and its answer, as the relay saw them.
#[derive(Clone, Copy, Debug)]
struct Exchange {
    /// The request's first bytes reached the relay.
    sent: Instant,
    /// The answer's last bytes seen so far were written back to the function.
    answered: Instant,
}

/// The relay; it stops when dropped.
pub struct EmulatorTap {
    addr: SocketAddr,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
    accepting: JoinHandle<()>,
}

impl EmulatorTap {
    /// Starts relaying a free loopback port to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> EmulatorTap {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("the emulator endpoint {upstream} is not host:port: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the relay");
        let addr = listener.local_addr().expect("the relay's address");
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let log = exchanges.clone();
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, log.clone()));
            }
        });
        EmulatorTap {
            addr,
            exchanges,
            accepting,
        }
    }

    /// The endpoint to give a function instead of the emulator's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests went through so far.
    pub fn requests(&self) -> usize {
        crate::lock(&self.exchanges).len()
    }

    /// How long, between `from` and `to`, at least one request was waiting for its
    /// answer (overlapping requests count once).
    pub fn waiting_between(&self, from: Instant, to: Instant) -> Duration {
        let mut spans: Vec<(Instant, Instant)> = crate::lock(&self.exchanges)
            .iter()
            .map(|e| (e.sent.max(from), e.answered.min(to)))
            .filter(|(start, end)| start < end)
            .collect();
        spans.sort();
        let mut total = Duration::ZERO;
        let mut current: Option<(Instant, Instant)> = None;
        for (start, end) in spans {
            current = match current {
                Some((s, e)) if start <= e => Some((s, e.max(end))),
                Some((s, e)) => {
                    total += e - s;
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
        total + current.map(|(s, e)| e - s).unwrap_or_default()
    }
}

impl Drop for EmulatorTap {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, log: Arc<Mutex<Vec<Exchange>>>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut from_client, mut to_client) = client.split();
    let (mut from_server, mut to_server) = server.split();
    let mut request = vec![0u8; 64 * 1024];
    let mut answer = vec![0u8; 64 * 1024];
    // The exchange this connection is in, and whether its answer has begun.
    let mut current: Option<usize> = None;
    let mut answering = false;
    loop {
        tokio::select! {
            read = from_client.read(&mut request) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if current.is_none() || answering {
                    let now = Instant::now();
                    let mut log = crate::lock(&log);
                    log.push(Exchange { sent: now, answered: now });
                    current = Some(log.len() - 1);
                    answering = false;
                }
                if to_server.write_all(&request[..n]).await.is_err() {
                    break;
                }
            }
            read = from_server.read(&mut answer) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if to_client.write_all(&answer[..n]).await.is_err() {
                    break;
                }
                if let Some(i) = current {
                    crate::lock(&log)[i].answered = Instant::now();
                }
                answering = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap_with(spans: &[(u64, u64)]) -> (EmulatorTap, Instant) {
        let origin = Instant::now();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        let exchanges = spans
            .iter()
            .map(|&(s, e)| Exchange {
                sent: at(s),
                answered: at(e),
            })
            .collect();
        let tap = EmulatorTap {
            addr: "127.0.0.1:9".parse().unwrap(),
            exchanges: Arc::new(Mutex::new(exchanges)),
            accepting: tokio::spawn(async {}),
        };
        (tap, origin)
    }

    #[tokio::test]
    async fn overlapping_requests_count_once_and_the_window_clips() {
        let (tap, origin) = tap_with(&[(10, 20), (15, 30), (40, 45), (90, 120)]);
        let ms = |n| origin + Duration::from_millis(n);
        assert_eq!(
            tap.waiting_between(ms(0), ms(100)),
            Duration::from_millis(35)
        );
        assert_eq!(
            tap.waiting_between(ms(18), ms(42)),
            Duration::from_millis(14)
        );
        assert_eq!(tap.waiting_between(ms(50), ms(80)), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_relayed_exchange_is_timed_from_request_to_answer() {
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = upstream.accept().await.unwrap();
            let mut buf = [0u8; 5];
            for _ in 0..2 {
                socket.read_exact(&mut buf).await.unwrap();
                tokio::time::sleep(Duration::from_millis(30)).await;
                socket.write_all(b"pong!").await.unwrap();
            }
        });
        let tap = EmulatorTap::start(&format!("http://{upstream_addr}")).await;
        let started = Instant::now();
        let mut client = TcpStream::connect(tap.url().trim_start_matches("http://"))
            .await
            .unwrap();
        let mut buf = [0u8; 5];
        for _ in 0..2 {
            client.write_all(b"ping!").await.unwrap();
            client.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"pong!");
        }
        let elapsed = started.elapsed();
        assert_eq!(tap.requests(), 2);
        let waited = tap.waiting_between(started, Instant::now());
        assert!(waited >= Duration::from_millis(60), "{waited:?}");
        assert!(waited <= elapsed, "{waited:?} of {elapsed:?}");
    }
}
