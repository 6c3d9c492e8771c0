//! Passwords and browser sessions, on SQLite and on DynamoDB: a password reads back as
//! set, with the time sessions start to count from; tries are counted and lock at the
//! limit, starting the count again; a session reads back until it expires or ends, is
//! listed newest first, and an agent's sessions end together.

use chrono::{Duration, Utc};
use shared::backend::Store;
use shared::model::AgentId;
use shared::ports::{Credentials, Session};

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        a_password_reads_back_and_tries_lock_at_the_limit,
        sessions_read_back_until_they_expire_or_end,
    ]
);

async fn a_password_reads_back_and_tries_lock_at_the_limit(store: &dyn Store) {
    let agent = AgentId::new();
    assert_eq!(
        store.credentials(agent).await.unwrap(),
        Credentials::default()
    );
    let set_at = Utc::now();
    store
        .set_password(agent, Some("$argon2id$v=19$stand-in"), set_at)
        .await
        .unwrap();
    let read = store.credentials(agent).await.unwrap();
    assert_eq!(
        read.password_hash.as_deref(),
        Some("$argon2id$v=19$stand-in")
    );
    assert_eq!(read.failures, 0);
    assert_eq!(
        read.sessions_valid_after.map(|t| t.timestamp_millis()),
        Some(set_at.timestamp_millis())
    );

    let until = Utc::now() + Duration::minutes(15);
    for expected in 1..3 {
        let counted = store.count_failure(agent, 3, until).await.unwrap();
        assert_eq!(counted.failures, expected);
        assert_eq!(counted.locked_until, None);
    }
    let locked = store.count_failure(agent, 3, until).await.unwrap();
    assert_eq!(locked.failures, 0, "the count starts again at the lock");
    assert_eq!(
        locked.locked_until.map(|t| t.timestamp_millis()),
        Some(until.timestamp_millis())
    );
    assert_eq!(
        locked.password_hash.as_deref(),
        Some("$argon2id$v=19$stand-in")
    );
    store.count_failure(agent, 3, until).await.unwrap();
    store.clear_failures(agent).await.unwrap();
    assert_eq!(store.credentials(agent).await.unwrap().failures, 0);

    // A new password (or none) clears the lock and moves the time sessions count from.
    let removed_at = Utc::now() + Duration::seconds(1);
    store.set_password(agent, None, removed_at).await.unwrap();
    let read = store.credentials(agent).await.unwrap();
    assert_eq!(read.password_hash, None);
    assert_eq!(read.locked_until, None);
    assert_eq!(
        read.sessions_valid_after.map(|t| t.timestamp_millis()),
        Some(removed_at.timestamp_millis())
    );
    // Tries at an agent with no credentials yet are counted all the same.
    let other = AgentId::new();
    assert_eq!(
        store.count_failure(other, 3, until).await.unwrap().failures,
        1
    );
}

fn session(id: &str, agent: AgentId, created_secs_ago: i64, lasts_secs: i64) -> Session {
    let created = Utc::now() - Duration::seconds(created_secs_ago);
    Session {
        id: id.to_owned(),
        agent_id: agent,
        secret_hash: format!("hash-of-{id}"),
        csrf_token: format!("csrf-of-{id}"),
        created_at: created,
        expires_at: created + Duration::seconds(lasts_secs),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64)".to_owned()),
    }
}

fn same(a: &Session, b: &Session) -> bool {
    a.id == b.id
        && a.agent_id == b.agent_id
        && a.secret_hash == b.secret_hash
        && a.csrf_token == b.csrf_token
        && a.created_at.timestamp_millis() == b.created_at.timestamp_millis()
        && a.expires_at.timestamp_millis() == b.expires_at.timestamp_millis()
        && a.user_agent == b.user_agent
}

async fn sessions_read_back_until_they_expire_or_end(store: &dyn Store) {
    let ada = AgentId::new();
    let bo = AgentId::new();
    let older = session("s-older", ada, 60, 3600);
    let newer = session("s-newer", ada, 10, 3600);
    let bos = session("s-bo", bo, 30, 3600);
    let expired = session("s-expired", bo, 7200, 3600);
    for s in [&older, &newer, &bos, &expired] {
        store.create_session(s).await.unwrap();
    }
    let read = store
        .session("s-newer")
        .await
        .unwrap()
        .expect("the session");
    assert!(same(&read, &newer), "{read:?}");
    assert!(store.session("s-expired").await.unwrap().is_none());
    assert!(store.session("s-unknown").await.unwrap().is_none());

    let listed: Vec<String> = store
        .sessions()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        listed,
        ["s-newer", "s-bo", "s-older"],
        "newest first, live only"
    );

    assert!(store.end_session("s-bo").await.unwrap());
    assert!(!store.end_session("s-bo").await.unwrap(), "ended once");
    assert!(store.session("s-bo").await.unwrap().is_none());

    assert_eq!(store.end_sessions_of(ada).await.unwrap(), 2);
    assert!(store.session("s-older").await.unwrap().is_none());
    assert!(store.sessions().await.unwrap().is_empty());
}
