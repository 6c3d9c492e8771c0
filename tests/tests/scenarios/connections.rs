//! The local server's connections: a client that holds one open without finishing its
//! request is cut off, and no client can hold more than the cap.

use e2e::{App, DEADLINE};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEALTH_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// How a connection ended, and what the server sent before it did.
#[derive(Debug)]
struct Ended {
    received: String,
}

/// Writes `start`, then one more header byte every 200 ms (as slowloris does), until the
/// server closes the connection (end of file, a reset, or a refused write); panics if it
/// is still open after `DEADLINE`.
async fn trickle_until_closed(socket: &mut TcpStream, start: &[u8]) -> Ended {
    socket.write_all(start).await.expect("the request starts");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        tokio::select! {
            read = socket.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                if socket.write_all(b"a").await.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                panic!("the server kept the connection open for {DEADLINE:?}");
            }
        }
    }
    Ended {
        received: String::from_utf8_lossy(&received).into_owned(),
    }
}

/// Reads until the server closes the connection, or panics after `DEADLINE`.
async fn read_until_closed(socket: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 1024];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {DEADLINE:?}"
    );
    String::from_utf8_lossy(&received).into_owned()
}

/// Sends `GET /healthz` on `socket` and reads its answer (the connection stays open).
async fn health_on(socket: &mut TcpStream) -> String {
    socket.write_all(HEALTH_REQUEST).await.expect("a request");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let answered = tokio::time::timeout(DEADLINE, async {
        // "ok" is the whole body: the answer is complete once it has arrived.
        while !received.ends_with(b"ok") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(answered.is_ok(), "no answer within {DEADLINE:?}");
    String::from_utf8_lossy(&received).into_owned()
}

async fn assert_alive(app: &App) {
    let health = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("the server still answers");
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected_by_the_header_timeout() {
    let app = App::spawn_with(&[("SWITCHBOARD_HEADER_TIMEOUT_SECS", "1")]).await;

    // Slowloris: a request line and headers that never end, one byte at a time.
    let mut slow = TcpStream::connect(app.addr()).await.expect("connects");
    let ended = trickle_until_closed(
        &mut slow,
        b"POST /webhooks/webform HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
    )
    .await;
    assert!(
        !ended.received.contains(" 200 ") && !ended.received.contains(" 202 "),
        "the unfinished request was answered: {ended:?}"
    );

    // A connection that sends nothing at all is closed too.
    let mut silent = TcpStream::connect(app.addr()).await.expect("connects");
    let received = read_until_closed(&mut silent).await;
    assert!(!received.contains(" 200 "), "{received:?}");

    // A partial request line alone, never finished.
    let mut partial = TcpStream::connect(app.addr()).await.expect("connects");
    partial.write_all(b"GET /heal").await.expect("writes");
    read_until_closed(&mut partial).await;

    assert_alive(&app).await;
}

#[tokio::test]
async fn a_client_that_trickles_its_body_is_answered_408_after_the_request_timeout() {
    let app = App::spawn_with(&[("SWITCHBOARD_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut slow = TcpStream::connect(app.addr()).await.expect("connects");
    slow.write_all(
        b"POST /webhooks/webform HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n\
          email=slow%40example.com&message=",
    )
    .await
    .expect("writes");
    let received = read_until_closed(&mut slow).await;
    assert!(
        received.starts_with("HTTP/1.1 408"),
        "the trickled body was not cut off with 408: {received:?}"
    );
    assert_alive(&app).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_MAX_CONNECTIONS", "2"),
        // Idle connections stay open for the whole test.
        ("SWITCHBOARD_HEADER_TIMEOUT_SECS", "120"),
    ])
    .await;
    // Two clients hold the two places: each is answered, then keeps its connection.
    let mut first = TcpStream::connect(app.addr()).await.expect("connects");
    let mut second = TcpStream::connect(app.addr()).await.expect("connects");
    for socket in [&mut first, &mut second] {
        let answer = health_on(socket).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    }

    // A third connects (the system's listen queue takes it) but is not served.
    let mut third = TcpStream::connect(app.addr()).await.expect("connects");
    third.write_all(HEALTH_REQUEST).await.expect("writes");
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a third connection was served while two held the cap: {early:?}"
    );

    // Once one of the first two leaves, the third is served.
    drop(first);
    let mut received = Vec::new();
    let answered = tokio::time::timeout(DEADLINE, async {
        while !received.ends_with(b"ok") {
            match third.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let received = String::from_utf8_lossy(&received);
    assert!(
        answered.is_ok() && received.starts_with("HTTP/1.1 200"),
        "the waiting connection was not served: {received:?}"
    );
    // The second still holds its place and is served on it.
    let again = health_on(&mut second).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again:?}");
}

#[tokio::test]
async fn one_client_holds_at_most_its_share_of_connections_and_others_are_still_served() {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_MAX_CONNECTIONS", "8"),
        ("SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT", "3"),
        // Idle connections stay open for the whole test.
        ("SWITCHBOARD_HEADER_TIMEOUT_SECS", "120"),
    ])
    .await;
    // One client (127.0.0.1) opens its three and holds them, served and idle.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut socket = TcpStream::connect(app.addr()).await.expect("connects");
        let answer = health_on(&mut socket).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        held.push(socket);
    }
    // Its fourth is closed at once, unanswered.
    let mut fourth = TcpStream::connect(app.addr()).await.expect("connects");
    let _ = fourth.write_all(HEALTH_REQUEST).await;
    let received = read_until_closed(&mut fourth).await;
    assert!(received.is_empty(), "the fourth was served: {received:?}");

    // Another client address (127.0.0.2 on the loopback) is served meanwhile.
    let other = tokio::net::TcpSocket::new_v4().expect("a socket");
    other
        .bind("127.0.0.2:0".parse().expect("an address"))
        .expect("binds to 127.0.0.2");
    let mut other = other.connect(app.addr()).await.expect("connects");
    let answer = health_on(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");

    // Once the first client closes one, it may open another.
    held.pop();
    let again = eventually_served(&app).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again:?}");
}

/// A new connection from 127.0.0.1 served, once the server has seen an old one close.
async fn eventually_served(app: &App) -> String {
    e2e::eventually("a place free again", DEADLINE, async || {
        let mut socket = TcpStream::connect(app.addr()).await.ok()?;
        socket.write_all(HEALTH_REQUEST).await.ok()?;
        let mut received = Vec::new();
        let mut buf = [0u8; 1024];
        while !received.ends_with(b"ok") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
        let received = String::from_utf8_lossy(&received).into_owned();
        (!received.is_empty()).then_some(received)
    })
    .await
}
