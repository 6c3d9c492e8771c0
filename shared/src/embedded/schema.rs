//! Versioned migrations, tracked in `PRAGMA user_version`. Append; never edit one that
//! has shipped.

use rusqlite::Connection;

/// The inbox: contacts, conversations, messages, agents.
pub const STORE: &[&str] = &[
    // 1: the inbox
    "CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        name TEXT,
        merge_suggestions TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX contacts_by_created ON contacts(created_at DESC, id DESC);

    CREATE TABLE contact_identities (
        identity_key TEXT NOT NULL,
        contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
        proven INTEGER NOT NULL,
        added_at INTEGER NOT NULL,
        PRIMARY KEY (identity_key, contact_id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX identities_one_proven_owner ON contact_identities(identity_key) WHERE proven = 1;
    CREATE INDEX identities_by_contact ON contact_identities(contact_id);

    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL REFERENCES contacts(id),
        status TEXT NOT NULL,
        snoozed_until INTEGER,
        priority TEXT NOT NULL,
        tags TEXT NOT NULL,
        team_id TEXT,
        assignee_id TEXT,
        subject TEXT,
        channel TEXT NOT NULL,
        channels TEXT NOT NULL,
        message_count INTEGER NOT NULL,
        preview TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_inbound_at INTEGER,
        resolved_at INTEGER,
        version INTEGER NOT NULL
    );
    CREATE INDEX conversations_by_updated ON conversations(updated_at DESC, id DESC);
    CREATE INDEX conversations_by_status ON conversations(status, updated_at DESC, id DESC);
    CREATE INDEX conversations_by_assignee ON conversations(assignee_id, status, updated_at DESC, id DESC);
    CREATE INDEX conversations_by_team ON conversations(team_id, status, updated_at DESC, id DESC);
    CREATE INDEX conversations_by_contact ON conversations(contact_id, created_at DESC);
    CREATE INDEX conversations_by_priority ON conversations(status, priority, updated_at DESC, id DESC);
    CREATE INDEX conversations_snoozed ON conversations(snoozed_until) WHERE status = 'snoozed';

    CREATE TABLE conversation_tags (
        tag TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        PRIMARY KEY (tag, conversation_id)
    ) WITHOUT ROWID;

    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        seq TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        contact_id TEXT NOT NULL,
        direction TEXT NOT NULL,
        channel TEXT NOT NULL,
        author TEXT NOT NULL,
        text TEXT NOT NULL,
        attachments TEXT NOT NULL,
        source_id TEXT UNIQUE,
        delivery_status TEXT NOT NULL,
        delivery_error TEXT,
        provider_id TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, seq);
    CREATE INDEX messages_by_provider_id ON messages(provider_id) WHERE provider_id IS NOT NULL;

    CREATE TABLE notes (
        id TEXT PRIMARY KEY,
        seq TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        author_id TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX notes_by_conversation ON notes(conversation_id, seq);

    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        seq TEXT NOT NULL,
        conversation_id TEXT NOT NULL REFERENCES conversations(id),
        kind TEXT NOT NULL,
        actor_id TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX events_by_conversation ON events(conversation_id, seq);

    CREATE VIRTUAL TABLE conversation_search USING fts5(conversation_id UNINDEXED, body, tokenize = 'unicode61');

    CREATE TABLE customer_links (
        link_hash TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id)
    ) WITHOUT ROWID;

    CREATE TABLE teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );

    CREATE TABLE agents (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        availability TEXT NOT NULL,
        max_open INTEGER,
        team_ids TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );

    CREATE TABLE assignment_cursors (
        team_key TEXT PRIMARY KEY,
        last_agent_id TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 2: references between messages, albums, and channels a contact blocked us on
    "ALTER TABLE messages ADD COLUMN reply_to TEXT;
    ALTER TABLE messages ADD COLUMN edit_of TEXT;
    ALTER TABLE messages ADD COLUMN media_group TEXT;
    ALTER TABLE contacts ADD COLUMN blocked_channels TEXT NOT NULL DEFAULT '[]';",
    // 3: the customer's own id of a message (an email's Message-ID), answered by replies
    "ALTER TABLE messages ADD COLUMN external_id TEXT;",
    // 4: the PBX extension an agent answers calls on
    "ALTER TABLE agents ADD COLUMN phone_extension TEXT;",
    // 5: what the channel said beside a message's text, and where its original is kept
    "ALTER TABLE messages ADD COLUMN context TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE messages ADD COLUMN original TEXT;",
    // 6: how an identity came to a contact, and where a customer's message came from
    "ALTER TABLE contact_identities ADD COLUMN typed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN sent_from TEXT NOT NULL DEFAULT '[]';",
    // 7: erasure: the tombstones erasures leave, the digests of erased messages' source
    // ids (so a redelivery stores nothing again), and the search index rebuilt once:
    // each message keeps the rowid of its row there, so the row can go with it, and a
    // row deleted leaves no trace of its words in the index (FTS5 `secure-delete`)
    "CREATE TABLE erasures (
        id TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        erased_at INTEGER NOT NULL,
        actor_id TEXT,
        contact_id TEXT,
        conversations INTEGER NOT NULL,
        messages INTEGER NOT NULL,
        notes INTEGER NOT NULL,
        events INTEGER NOT NULL,
        files INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE erased_sources (
        digest TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX erased_sources_by_expiry ON erased_sources(expires_at);
    DROP TABLE conversation_search;
    CREATE VIRTUAL TABLE conversation_search USING fts5(conversation_id UNINDEXED, body, tokenize = 'unicode61');
    INSERT INTO conversation_search (conversation_search, rank) VALUES ('secure-delete', 1);
    ALTER TABLE messages ADD COLUMN search_rowid INTEGER;
    INSERT INTO conversation_search (rowid, conversation_id, body)
        SELECT rowid, conversation_id, text FROM messages;
    UPDATE messages SET search_rowid = rowid;",
    // 8: since when the customer has waited for an answer; for the conversations open
    // before, since their last message when no reply came after it
    "ALTER TABLE conversations ADD COLUMN waiting_since INTEGER;
    UPDATE conversations SET waiting_since = last_inbound_at
        WHERE status != 'resolved' AND last_inbound_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id
            AND m.direction = 'outbound' AND m.created_at >= conversations.last_inbound_at);
    CREATE INDEX conversations_waiting ON conversations(waiting_since) WHERE waiting_since IS NOT NULL;",
    // 9: the event log. Triggers write an entry in the transaction of each change, so no
    // writer can forget one; `seq` is the order (one writer commits at a time, so a
    // reader never sees an entry before one with a lower `seq`). It is the rowid: the
    // next is one past the highest, and forgetting old entries always keeps the newest,
    // so a number is never given twice. An entry holds ids only: `event_tag` is a
    // timeline event's `type`, which names the change.
    "CREATE TABLE change_log (
        seq INTEGER PRIMARY KEY,
        type TEXT,
        event_tag TEXT,
        at INTEGER NOT NULL,
        conversation_id TEXT,
        contact_id TEXT,
        message_id TEXT,
        note_id TEXT,
        event_id TEXT,
        actor_id TEXT,
        logged_at INTEGER NOT NULL DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER))
    );
    CREATE TABLE feed_consumers (
        name TEXT PRIMARY KEY,
        position INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER log_message_stored AFTER INSERT ON messages BEGIN
        INSERT INTO change_log (type, at, conversation_id, contact_id, message_id, actor_id)
        VALUES (CASE NEW.direction WHEN 'inbound' THEN 'message.received' ELSE 'reply.queued' END,
            NEW.created_at, NEW.conversation_id, NEW.contact_id, NEW.id,
            json_extract(NEW.author, '$.agent_id'));
    END;
    CREATE TRIGGER log_reply_status AFTER UPDATE OF delivery_status ON messages
    WHEN NEW.direction = 'outbound' AND NEW.delivery_status IS NOT OLD.delivery_status
        AND NEW.delivery_status IN ('sent', 'delivered', 'failed') BEGIN
        INSERT INTO change_log (type, at, conversation_id, contact_id, message_id)
        VALUES ('reply.' || NEW.delivery_status, CAST(unixepoch('subsec') * 1000 AS INTEGER),
            NEW.conversation_id, NEW.contact_id, NEW.id);
    END;
    CREATE TRIGGER log_note_added AFTER INSERT ON notes BEGIN
        INSERT INTO change_log (type, at, conversation_id, note_id, actor_id)
        VALUES ('note.added', NEW.created_at, NEW.conversation_id, NEW.id, NEW.author_id);
    END;
    CREATE TRIGGER log_timeline_event AFTER INSERT ON events BEGIN
        INSERT INTO change_log (event_tag, at, conversation_id, event_id, actor_id)
        VALUES (json_extract(NEW.kind, '$.type'), NEW.created_at, NEW.conversation_id,
            NEW.id, NEW.actor_id);
    END;
    CREATE TRIGGER log_contact_created AFTER INSERT ON contacts BEGIN
        INSERT INTO change_log (type, at, contact_id) VALUES ('contact.created', NEW.created_at, NEW.id);
    END;
    CREATE TRIGGER log_contact_erased AFTER INSERT ON erasures WHEN NEW.contact_id IS NOT NULL BEGIN
        INSERT INTO change_log (type, at, contact_id)
        VALUES ('contact.erased', NEW.erased_at, NEW.contact_id);
    END;",
    // 10: outbound webhook subscriptions and their delivery log. A delivery holds the log
    // entry it carries (ids only) and what the endpoint last answered.
    "CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        description TEXT,
        types TEXT NOT NULL,
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_expires_at INTEGER,
        enabled INTEGER NOT NULL,
        disabled_reason TEXT,
        failures_in_a_row INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook_id TEXT NOT NULL,
        change TEXT NOT NULL,
        conversation_id TEXT,
        contact_id TEXT,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_attempt TEXT,
        next_attempt_at INTEGER,
        created_at INTEGER NOT NULL,
        replays INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, created_at, id);
    CREATE INDEX webhook_deliveries_by_age ON webhook_deliveries(created_at);
    CREATE INDEX webhook_deliveries_by_conversation ON webhook_deliveries(conversation_id);
    CREATE INDEX webhook_deliveries_by_contact ON webhook_deliveries(contact_id);",
    // 11: service levels: calendars and policies as JSON, and each conversation's clocks,
    // indexed by when a target falls due and by when the sweeper must next look.
    "CREATE TABLE calendars (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE sla_policies (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE conversation_sla (
        conversation_id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        due_at INTEGER,
        wake_at INTEGER,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX conversation_sla_by_due ON conversation_sla(due_at, conversation_id)
        WHERE due_at IS NOT NULL;
    CREATE INDEX conversation_sla_by_wake ON conversation_sla(wake_at, conversation_id)
        WHERE wake_at IS NOT NULL;",
    // 12: routing rules, as JSON.
    "CREATE TABLE rules (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;",
    // 13: canned replies and macros, as JSON.
    "CREATE TABLE canned_replies (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE macros (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;",
    // 14: each agent's notification settings and linked chat, as JSON.
    "CREATE TABLE agent_notifications (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;",
    // 15: what each agent handles and the languages they answer in.
    "ALTER TABLE agents ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE agents ADD COLUMN languages TEXT NOT NULL DEFAULT '[]';",
    // 16: when each agent last used the API, and whether they were set away for idling.
    "ALTER TABLE agents ADD COLUMN last_seen_at INTEGER;
    ALTER TABLE agents ADD COLUMN idle_away INTEGER NOT NULL DEFAULT 0;",
    // 17: how each team hands out its conversations.
    "ALTER TABLE teams ADD COLUMN assignment TEXT NOT NULL DEFAULT 'round_robin';",
    // 18: where each idle rule's timer stopped reading, as JSON.
    "CREATE TABLE rule_timers (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;",
    // 19: the agents' labels for each contact, and whether they are a VIP.
    "ALTER TABLE contacts ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE contacts ADD COLUMN vip INTEGER NOT NULL DEFAULT 0;",
    // 20: reporting: each conversation's track as JSON, the counters per dimension, half
    // hour (and per UTC day), metric and histogram bin, and every tag counted.
    "CREATE TABLE report_tracks (
        conversation_id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE report_counts (
        dimension TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        metric TEXT NOT NULL,
        bin INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sum INTEGER NOT NULL,
        PRIMARY KEY (dimension, bucket, metric, bin)
    ) WITHOUT ROWID;
    CREATE TABLE report_days (
        dimension TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        metric TEXT NOT NULL,
        bin INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sum INTEGER NOT NULL,
        PRIMARY KEY (dimension, bucket, metric, bin)
    ) WITHOUT ROWID;
    CREATE TABLE report_tags (tag TEXT PRIMARY KEY) WITHOUT ROWID;",
    // 21: satisfaction surveys: the settings, each conversation's latest survey as JSON,
    // when each contact was last asked, and the numbers whose bare rating answers one.
    "CREATE TABLE survey_settings (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
    CREATE TABLE surveys (
        conversation_id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE survey_marks (
        contact_id TEXT PRIMARY KEY,
        surveyed_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE survey_waits (
        identity_key TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX survey_waits_by_conversation ON survey_waits(conversation_id);",
    // 22: incidents as JSON, the conversations linked to each (and the incident on the
    // conversation), the updates posted to each, and the reply each update wrote into
    // each conversation with its outcome. A conversation that goes (erased, folded)
    // leaves its incident. The burst watch as JSON; a proposed incident is in the log.
    "ALTER TABLE conversations ADD COLUMN incident_id TEXT;
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        body TEXT NOT NULL,
        version INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX incidents_by_state ON incidents(state, id);
    CREATE TABLE incident_links (
        incident_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        linked_at INTEGER NOT NULL,
        linked_by TEXT,
        acknowledged INTEGER NOT NULL,
        PRIMARY KEY (incident_id, conversation_id)
    ) WITHOUT ROWID;
    CREATE INDEX incident_links_by_conversation ON incident_links(conversation_id);
    CREATE TABLE incident_updates (
        id TEXT PRIMARY KEY,
        incident_id TEXT NOT NULL,
        body TEXT NOT NULL,
        fanned_out INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX incident_updates_by_incident ON incident_updates(incident_id, id);
    CREATE TABLE incident_replies (
        update_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (update_id, conversation_id)
    ) WITHOUT ROWID;
    CREATE INDEX incident_replies_by_conversation ON incident_replies(conversation_id);
    CREATE TRIGGER conversation_leaves_incident AFTER DELETE ON conversations BEGIN
        DELETE FROM incident_links WHERE conversation_id = old.id;
        DELETE FROM incident_replies WHERE conversation_id = old.id;
    END;
    CREATE TABLE incident_watch (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
    ALTER TABLE change_log ADD COLUMN incident_id TEXT;
    CREATE TRIGGER log_incident_proposed AFTER INSERT ON incidents WHEN NEW.state = 'proposed' BEGIN
        INSERT INTO change_log (type, at, incident_id)
        VALUES ('incident.proposed', CAST(unixepoch('subsec') * 1000 AS INTEGER), NEW.id);
    END;",
    // 23: routing under a flood. The holders of an identity in the order routing reads
    // them, so it reads a few however many contacts typed the same address. The search
    // index filled from `search_pending` once per write transaction (see
    // `SEARCH_FLUSH`): an FTS5 table written inside a savepoint flushes its pending
    // terms at every later savepoint, one per write. A message keeps its row's key in
    // `search_rowid` as before (a rowid of `messages` may change in a VACUUM); keys are
    // given by `search_pending`, never twice, from past the index's last. Triggers keep
    // both in step with `messages`.
    "CREATE INDEX identities_by_rank ON contact_identities(identity_key, proven DESC, typed, added_at DESC);
    CREATE TABLE search_pending (
        rowid INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    INSERT INTO sqlite_sequence (name, seq)
        VALUES ('search_pending', COALESCE((SELECT rowid FROM conversation_search ORDER BY rowid DESC LIMIT 1), 0));
    CREATE TRIGGER message_unsearchable AFTER DELETE ON messages BEGIN
        DELETE FROM search_pending WHERE rowid = OLD.search_rowid;
        DELETE FROM conversation_search WHERE rowid = OLD.search_rowid;
    END;
    CREATE TRIGGER message_moves_in_search AFTER UPDATE OF conversation_id ON messages BEGIN
        UPDATE search_pending SET conversation_id = NEW.conversation_id WHERE rowid = OLD.search_rowid;
        UPDATE conversation_search SET conversation_id = NEW.conversation_id WHERE rowid = OLD.search_rowid;
    END;",
    // 24: agents signing in from a browser: each agent's password hash and wrong tries,
    // and the sessions they hold (a cookie's secret is kept only as its hash).
    "CREATE TABLE agent_credentials (
        agent_id TEXT PRIMARY KEY,
        password_hash TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        sessions_valid_after INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        agent_id TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        user_agent TEXT
    ) WITHOUT ROWID;
    CREATE INDEX sessions_by_agent ON sessions(agent_id);
    CREATE INDEX sessions_by_expiry ON sessions(expires_at);",
    // 25: the knowledge base: each article as JSON with its revision, every revision kept
    // (the audit of edits), and the day's counters (searches, answers)
    "CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        body TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE article_revisions (
        article_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (article_id, revision)
    ) WITHOUT ROWID;
    CREATE TABLE knowledge_counts (
        day TEXT NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (day, key)
    ) WITHOUT ROWID;",
    // 26: whether the bot answers first for a team's conversations
    "ALTER TABLE teams ADD COLUMN bot_answers_first INTEGER NOT NULL DEFAULT 1;",
];

/// Moves the messages stored in a write transaction into the search index, once, just
/// before it commits (see migration 23).
pub const SEARCH_FLUSH: &str = "INSERT INTO conversation_search (rowid, conversation_id, body)
        SELECT rowid, conversation_id, body FROM search_pending;
    DELETE FROM search_pending;";

/// The durable queue, in a file of its own so that enqueuing never waits behind the
/// router's writes.
pub const QUEUE: &[&str] = &[
    // 1: the queues
    "CREATE TABLE queue_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        grp TEXT NOT NULL,
        dedup TEXT NOT NULL,
        body BLOB NOT NULL,
        enqueued_at INTEGER NOT NULL,
        visible_at INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        receipt TEXT,
        dead INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        UNIQUE (queue, dedup)
    );
    CREATE INDEX queue_ready ON queue_messages(queue, dead, visible_at, id);",
    // 2: what an idempotency key was first used for, beside the queue its submission
    // goes on: the webhook writes both through one writer; and the pending proofs the
    // customer pages ask for
    "CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys(expires_at);
    CREATE TABLE pending_proofs (
        key TEXT PRIMARY KEY,
        proof TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX pending_proofs_by_expiry ON pending_proofs(expires_at);",
    // 3: an idempotency key is held by the queue row its submission went on: `dedup` is
    // `idempotency:<digest>`, `held` what the key holds until `held_until`. Once handled,
    // the row is kept without its body as "done" (`dead = 2`) until the key expires, like
    // a FIFO queue's de-duplication window: one row and one index entry per submission.
    "ALTER TABLE queue_messages ADD COLUMN held TEXT;
    ALTER TABLE queue_messages ADD COLUMN held_until INTEGER;
    CREATE INDEX queue_done_by_expiry ON queue_messages(held_until) WHERE dead = 2;
    INSERT OR IGNORE INTO queue_messages
        (queue, grp, dedup, body, enqueued_at, visible_at, dead, held, held_until)
        SELECT 'inbound', '', 'idempotency:' || key, x'', 0, 0, 2, value, expires_at
        FROM idempotency_keys;
    DROP TABLE idempotency_keys;",
    // 4: an ordered queue (webhooks) looks for an earlier waiting message of a group
    "CREATE INDEX queue_groups ON queue_messages(queue, grp, id) WHERE dead = 0;",
    // 5: tries at the customer pages' codes, and codes sent to a number, counted per
    // window (the key names the window)
    "CREATE TABLE proof_tries (
        key TEXT PRIMARY KEY,
        tries INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX proof_tries_by_expiry ON proof_tries(expires_at);",
];

pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in migrations
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "database migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_changes_nothing() {
        for migrations in [STORE, QUEUE] {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate(&mut conn, migrations).unwrap();
            migrate(&mut conn, migrations).unwrap();
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(version as usize, migrations.len());
        }
    }

    #[test]
    fn a_version_1_inbox_gains_the_new_columns_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &STORE[..1]).unwrap();
        conn.execute(
            "INSERT INTO contacts (id, name, created_at, updated_at) VALUES ('ct_1', 'Sara', 0, 0)",
            [],
        )
        .unwrap();
        migrate(&mut conn, STORE).unwrap();
        let (name, blocked): (String, String) = conn
            .query_row("SELECT name, blocked_channels FROM contacts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((name.as_str(), blocked.as_str()), ("Sara", "[]"));
    }
}
