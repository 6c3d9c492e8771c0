//! Nothing acknowledged is lost, and nothing is stored twice, across kills and restarts.

use e2e::{ADMIN, App, DEADLINE, eventually, unique};
use reqwest::header::ACCEPT;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const UNLIMITED: (&str, &str) = ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0");
/// How long the backlog may take to be routed after a restart. Messages the router had
/// taken when it was killed must be handed out again at start, not after their
/// visibility timeout (60 s for inbound).
const AFTER_CRASH: Duration = Duration::from_secs(30);

/// How many times each marker text is stored, over every conversation.
async fn stored_counts(app: &App, key: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for text in app.all_inbound_texts(key).await {
        *counts.entry(text).or_insert(0) += 1;
    }
    counts
}

#[derive(Default)]
struct Outcomes {
    /// Answered 2xx before the kill: must be stored exactly once.
    acknowledged: Vec<String>,
    /// No answer (connection cut) or an error status: stored at most once.
    unknown: Vec<String>,
    error_statuses: Vec<u16>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_submission_survives_a_kill_9_exactly_once() {
    const TASKS: usize = 8;
    const TOTAL: usize = 2000;
    const KILL_AFTER: usize = 300;
    let mut app = App::spawn_with(&[UNLIMITED]).await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let run = unique("durable");
    let url = app.url("/webhooks/webform");
    let next = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let started = Instant::now();

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (http, url, next, outcomes, run) = (
            app.http.clone(),
            url.clone(),
            next.clone(),
            outcomes.clone(),
            run.clone(),
        );
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= TOTAL || started.elapsed() > Duration::from_secs(60) {
                    return;
                }
                let marker = format!("{run}-{n:05}");
                let body = json!({
                    "name": format!("Load {task}"),
                    "email": format!("load{task}-{run}@example.com"),
                    "message": marker,
                    "idempotency_key": marker,
                });
                let sent = http
                    .post(&url)
                    .header(ACCEPT, "application/json")
                    .json(&body)
                    .send()
                    .await;
                let mut outcomes = outcomes.lock().expect("outcomes lock");
                match sent {
                    Ok(response) if response.status().is_success() => {
                        outcomes.acknowledged.push(marker)
                    }
                    Ok(response) => {
                        outcomes.error_statuses.push(response.status().as_u16());
                        outcomes.unknown.push(marker);
                    }
                    Err(_) => {
                        // The server is gone: stop this task, as a client would.
                        outcomes.unknown.push(marker);
                        return;
                    }
                }
            }
        });
    }

    eventually(
        "enough acknowledged submissions",
        DEADLINE * 4,
        async || {
            let acknowledged = outcomes.lock().expect("outcomes lock").acknowledged.len();
            (acknowledged >= KILL_AFTER).then_some(())
        },
    )
    .await;
    app.kill9();
    eprintln!("{:?}: killed -9", started.elapsed());
    let posted_at_kill = next.load(Ordering::SeqCst);
    while let Some(joined) = tasks.join_next().await {
        joined.expect("a load task");
    }
    eprintln!("{:?}: load stopped", started.elapsed());
    let outcomes = std::mem::take(&mut *outcomes.lock().expect("outcomes lock"));
    assert!(
        posted_at_kill < TOTAL,
        "the kill should land mid-load ({posted_at_kill} of {TOTAL} started)"
    );
    assert!(
        outcomes.error_statuses.is_empty(),
        "before the kill every submission should be accepted, got statuses {:?}",
        outcomes.error_statuses
    );

    app.restart().await;
    eprintln!("{:?}: restarted", started.elapsed());
    eventually(
        "every acknowledged submission routed after restart",
        AFTER_CRASH,
        async || {
            let counts = stored_counts(&app, &key).await;
            outcomes
                .acknowledged
                .iter()
                .all(|marker| counts.contains_key(marker))
                .then_some(())
        },
    )
    .await;
    eprintln!(
        "{:?}: all acknowledged submissions routed",
        started.elapsed()
    );
    // Let any redelivered duplicate land before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let counts = stored_counts(&app, &key).await;
    let lost: Vec<_> = outcomes
        .acknowledged
        .iter()
        .filter(|m| !counts.contains_key(*m))
        .collect();
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let strangers: Vec<_> = counts
        .keys()
        .filter(|m| !outcomes.acknowledged.contains(m) && !outcomes.unknown.contains(m))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert!(
        strangers.is_empty(),
        "stored but never posted: {strangers:?}"
    );
    eprintln!(
        "{} acknowledged, {} unknown ({} of those stored)",
        outcomes.acknowledged.len(),
        outcomes.unknown.len(),
        outcomes
            .unknown
            .iter()
            .filter(|m| counts.contains_key(*m))
            .count()
    );
}

#[tokio::test]
async fn sigterm_exits_zero_promptly_and_keeps_a_submission_acknowledged_just_before() {
    let mut app = App::spawn().await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let message = unique("just-before-sigterm");
    app.submit(&[
        ("name", "Tess Term"),
        ("email", &format!("{}@example.com", unique("tess"))),
        ("message", &message),
    ])
    .await;

    let started = Instant::now();
    let status = app.terminate_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status after SIGTERM: {status}");
    eprintln!("exited {:?} after SIGTERM", started.elapsed());

    app.restart().await;
    eventually(
        "the acknowledged submission after restart",
        DEADLINE,
        async || {
            let texts = app.all_inbound_texts(&key).await;
            texts.contains(&message).then_some(())
        },
    )
    .await;
    let texts = app.all_inbound_texts(&key).await;
    assert_eq!(texts.iter().filter(|t| **t == message).count(), 1);
}

#[tokio::test]
async fn data_survives_a_clean_restart() {
    let mut app = App::spawn().await;
    let key = app.create_agent("Root", "root@support.example", ADMIN);
    let message = unique("before-restart");
    app.submit(&[
        ("email", &format!("{}@example.com", unique("rhea"))),
        ("message", &message),
    ])
    .await;
    eventually("the submission routed", DEADLINE, async || {
        app.all_inbound_texts(&key)
            .await
            .contains(&message)
            .then_some(())
    })
    .await;
    let status = app.terminate().await;
    assert!(status.success(), "{status}");
    app.restart().await;
    assert_eq!(app.all_inbound_texts(&key).await, [message]);
    // The API key made before the restart still works.
    app.get_ok(&key, "/v1/me").await;
}
