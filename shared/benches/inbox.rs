//! Figures for the embedded backend: how fast the router stores messages, and how fast
//! the conversation list and a timeline answer with 100,000 conversations and 1,000,000
//! messages. Measures; asserts nothing.
//!
//!     cargo bench -p shared --bench inbox
//!
//! The large store is seeded once (a few minutes) under `target/bench-data/` and reused
//! by later runs; delete that folder (or set `BENCH_RESEED=1`) to seed it again.
//! `BENCH_DATA_DIR` puts the files elsewhere; `BENCH_QUEUE_MESSAGES` sizes the deep
//! queue-path run (default 50,000) and `BENCH_QUEUE_SECONDS` caps its drain (default 60).
//! Criterion's usual arguments filter the measured functions
//! (`cargo bench -p shared --bench inbox -- list`); the seeding, queue-path and
//! percentile figures are printed before them.

use chrono::Utc;
use criterion::Criterion;
use futures::StreamExt;
use shared::embedded::Embedded;
use shared::model::{
    Agent, AgentId, Availability, Channel, Conversation, ConversationId, ConversationStatus,
    EmailAddress, Event, EventKind, Identity, InboundMessage, PresentedIdentity, Priority, Role,
    SourceId,
};
use shared::ports::{
    AgentStore, AssigneeFilter, ConversationFilter, ConversationStore, Enqueue, PageRequest, Queue,
    QueueName, RouteOutcome, RoutingStore, StatusFilter,
};
use shared::services::route::RoutePolicy;
use shared::services::router::InboundRouter;
use shared::services::worker::Handled;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// Bump when the seeded data changes shape, so stale files are rebuilt.
const SEED_VERSION: u32 = 1;
const LARGE_CUSTOMERS: usize = 100_000;
const SMALL_CUSTOMERS: usize = 1_000;
const MESSAGES_PER_CUSTOMER: usize = 10;
/// Operations in flight at once while seeding: enough to fill the writer's batches.
const IN_FLIGHT: usize = 2048;
const AGENTS: usize = 5;
/// The cap of the capped agents in the assignment run.
const CAP: u32 = 50;
const PAGE: u32 = 25;
const DEEP_PAGES: usize = 1000;
const LATENCY_CALLS: usize = 10_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("create the bench data folder");
    println!("bench data: {}", dir.display());

    // `BENCH_ONLY=rules`, `languages`, `sla` or `reports`: that section alone, on fresh
    // files.
    match std::env::var("BENCH_ONLY").as_deref() {
        Ok("rules") => return rt.block_on(router_with_rules(&dir)),
        Ok("languages") => return rt.block_on(router_with_languages(&dir)),
        Ok("sla") => return rt.block_on(sla_sweep(&dir)),
        Ok("reports") => {
            rt.block_on(router_with_reports(&dir));
            return rt.block_on(report_summary(&dir));
        }
        _ => {}
    }

    let large = rt.block_on(prepared_store(&dir, "large", LARGE_CUSTOMERS));
    let small = rt.block_on(prepared_store(&dir, "small", SMALL_CUSTOMERS));

    rt.block_on(queue_path(&dir));
    rt.block_on(router_with_rules(&dir));
    rt.block_on(router_with_languages(&dir));
    rt.block_on(sla_sweep(&dir));
    rt.block_on(router_with_reports(&dir));
    rt.block_on(report_summary(&dir));
    rt.block_on(router_with_agents(&dir));

    let cases = rt.block_on(ListCases::find(&large));
    let small_cases = rt.block_on(ListCases::find(&small));

    println!(
        "\n== latency over {LATENCY_CALLS} sequential calls (one page of {PAGE}; µs); load average {}",
        load_average()
    );
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8}",
        "call", "p50", "p90", "p99", "max"
    );
    let report = |name: &str, store: &Embedded, call: &Call| {
        let stats = latencies(&rt, store, call, LATENCY_CALLS);
        println!(
            "{name:<44} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
            stats.p50, stats.p90, stats.p99, stats.max
        );
    };
    report(
        "list open, first page (100k store)",
        &large.store,
        &cases.first,
    );
    report(
        "list open, first page (1k store)",
        &small.store,
        &small_cases.first,
    );
    report(
        "list open, page 1001 (100k store)",
        &large.store,
        &cases.deep,
    );
    report(
        "list open+unassigned (100k store)",
        &large.store,
        &cases.unassigned,
    );
    report("list open+urgent (100k store)", &large.store, &cases.urgent);
    report(
        "list open+urgent (1k store)",
        &small.store,
        &small_cases.urgent,
    );
    report("list open+agent (100k store)", &large.store, &cases.agent);
    report(
        "list open+urgent, page 41 (100k store)",
        &large.store,
        &cases.urgent_deep,
    );
    report(
        "timeline, first 50 (100k store)",
        &large.store,
        &cases.timeline,
    );

    let mut criterion = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    {
        let mut group = criterion.benchmark_group("list");
        let mut bench = |name: &str, store: &Embedded, call: &Call| {
            group.bench_function(name, |b| b.iter(|| rt.block_on(call.run(store))));
        };
        bench("open_first_page_100k", &large.store, &cases.first);
        bench("open_first_page_1k", &small.store, &small_cases.first);
        bench("open_page_1001_100k", &large.store, &cases.deep);
        bench("open_unassigned_100k", &large.store, &cases.unassigned);
        bench("open_urgent_100k", &large.store, &cases.urgent);
        bench("open_urgent_1k", &small.store, &small_cases.urgent);
        bench("open_agent_100k", &large.store, &cases.agent);
        group.finish();
    }
    criterion.bench_function("timeline_first_50_100k", |b| {
        b.iter(|| rt.block_on(cases.timeline.run(&large.store)))
    });
    criterion.final_summary();
}

fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BENCH_DATA_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench-data")
}

/// Removes a store: its file, the queue file beside it, and their WAL and shared memory.
fn remove_db(path: &Path) {
    for file in [path.to_owned(), shared::embedded::queue_path(path)] {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(name));
        }
    }
}

/// CPU time used so far by every thread named `sqlite-writer` (the stores' single
/// writers), from /proc; zero where /proc is not available. Routing is bound by that one
/// thread, so its CPU per message is the figure that other load on the machine distorts
/// least.
fn writer_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut ticks = 0u64;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() != "sqlite-writer" {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
        ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
    }
    // Linux reports these in USER_HZ, 100 per second everywhere it matters.
    Duration::from_millis(ticks * 10)
}

/// The machine's load average, to judge how much other work shared the cores.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Writer CPU per message, and the rate it allows with a core to itself.
fn per_message(cpu: Duration, messages: usize) -> String {
    let micros = cpu.as_secs_f64() * 1e6 / messages.max(1) as f64;
    format!(
        "writer CPU {micros:.0} µs per message (≈ {:.0} messages/s with an idle core)",
        1e6 / micros.max(f64::MIN_POSITIVE)
    )
}

/// A seeded store, and the agents its conversations are assigned to.
struct Seeded {
    store: Embedded,
    agents: Vec<AgentId>,
}

/// Opens the store `name`, seeding it first when it is missing or stale.
async fn prepared_store(dir: &Path, name: &str, customers: usize) -> Seeded {
    let path = dir.join(format!("{name}.db"));
    let marker = dir.join(format!("{name}.seeded"));
    let expected = format!(
        "version={SEED_VERSION} customers={customers} messages_per_customer={MESSAGES_PER_CUSTOMER}"
    );
    let reseed = std::env::var_os("BENCH_RESEED").is_some();
    let fresh = std::fs::read_to_string(&marker)
        .ok()
        .filter(|text| !reseed && text.lines().next() == Some(expected.as_str()));
    if let Some(text) = fresh {
        println!("\n== {name} store: reusing {}", path.display());
        for line in text.lines().skip(1) {
            println!("   (when seeded) {line}");
        }
        let store = Embedded::open(&path).expect("open the seeded store");
        let agents = store
            .list_agents(&PageRequest::first(100))
            .await
            .expect("list agents")
            .items
            .into_iter()
            .map(|a| a.id)
            .collect();
        return Seeded { store, agents };
    }
    let _ = std::fs::remove_file(&marker);
    remove_db(&path);
    println!(
        "\n== {name} store: seeding {customers} customers × {MESSAGES_PER_CUSTOMER} messages into {}",
        path.display()
    );
    let store = Embedded::open(&path).expect("create the store");
    let (conversations, route_line) = seed_routes(&store, name, customers).await;
    let (agents, shape_line) = shape(&store, &conversations).await;
    println!("   {shape_line}");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.join(format!("{name}.db-wal")))
            .map(|m| m.len())
            .unwrap_or(0);
    let size_line = format!("file size {:.0} MiB", size as f64 / (1024.0 * 1024.0));
    println!("   {size_line}");
    std::fs::write(
        &marker,
        format!("{expected}\n{route_line}\n{shape_line}\n{size_line}\n"),
    )
    .expect("write the seed marker");
    Seeded { store, agents }
}

fn email(customer: usize, run: &str) -> PresentedIdentity {
    let address = EmailAddress::parse(&format!("customer-{customer}@{run}.example.com"))
        .expect("a valid bench address");
    PresentedIdentity::claimed(Identity::email(&address))
}

const WORDS: [&str; 16] = [
    "order", "refund", "delivery", "invoice", "password", "login", "broken", "missing", "upgrade",
    "cancel", "shipping", "discount", "warranty", "account", "payment", "late",
];

/// One customer's `n`th email (its sender reported, not proven), unique by `run`.
fn inbound(run: &str, customer: usize, n: usize) -> InboundMessage {
    let word = |k: usize| WORDS[(customer.wrapping_mul(31) + n * 7 + k) % WORDS.len()];
    InboundMessage {
        sender_name: Some(format!("Customer {customer}")),
        identities: vec![email(customer, run)],
        text: format!(
            "Hello, this is message {n} about my {} (ticket {customer}). The {} is still {} and I would like help with the {}. Thanks!",
            word(0),
            word(1),
            word(2),
            word(3)
        ),
        context: vec![("page".into(), "https://shop.example.com/contact".into())],
        ..InboundMessage::new(
            SourceId::new("bench", &format!("{run}-{customer}-{n}")),
            Channel::Email,
            Utc::now(),
        )
    }
}

/// Routes `customers × MESSAGES_PER_CUSTOMER` messages (customer by customer within each
/// round, so each customer's messages are stored in order); returns the conversations.
async fn seed_routes(
    store: &Embedded,
    run: &str,
    customers: usize,
) -> (Vec<ConversationId>, String) {
    let total = customers * MESSAGES_PER_CUSTOMER;
    let policy = RoutePolicy::default();
    let started = Instant::now();
    let cpu_before = writer_cpu();
    let mut lap = Instant::now();
    let mut done = 0usize;
    let mut conversations = Vec::with_capacity(customers);
    let messages = (0..MESSAGES_PER_CUSTOMER)
        .flat_map(|n| (0..customers).map(move |c| (c, n)))
        .map(|(c, n)| {
            let message = inbound(run, c, n);
            let policy = &policy;
            async move { store.route(&message, policy).await }
        });
    let mut routed = futures::stream::iter(messages).buffer_unordered(IN_FLIGHT);
    let report_every = (total / 10).max(1);
    while let Some(outcome) = routed.next().await {
        match outcome.expect("route a seed message") {
            RouteOutcome::Stored {
                conversation_id,
                new_conversation: true,
                ..
            } => conversations.push(conversation_id),
            RouteOutcome::Stored { .. } => {}
            RouteOutcome::Duplicate { .. } | RouteOutcome::Erased => {
                panic!("a seed message was a duplicate")
            }
        }
        done += 1;
        if done.is_multiple_of(report_every) {
            println!(
                "   routed {done:>8}/{total}: {:>7.0} messages/s over the last {report_every}",
                report_every as f64 / lap.elapsed().as_secs_f64()
            );
            lap = Instant::now();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let line = format!(
        "router (RoutingStore::route, {IN_FLIGHT} in flight): {total} messages into {} conversations in {elapsed:.1} s = {:.0} messages/s; {}; load average {}",
        conversations.len(),
        total as f64 / elapsed,
        per_message(writer_cpu() - cpu_before, total),
        load_average()
    );
    println!("   {line}");
    assert_eq!(
        conversations.len(),
        customers,
        "one conversation per customer"
    );
    (conversations, line)
}

/// A cheap deterministic spread of `i` over 0..100.
fn percent(i: usize, salt: u64) -> u64 {
    let mut x = (i as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) % 100
}

/// Makes the inbox look worked on: five agents; 30 % of conversations resolved, 40 %
/// assigned, priorities 2 % urgent, 10 % high, 5 % low, the rest normal.
/// Five available agents; the first `capped` of them take at most `CAP` open conversations.
async fn create_agents(store: &Embedded, capped: usize) -> Vec<AgentId> {
    let mut agents = Vec::with_capacity(AGENTS);
    for i in 0..AGENTS {
        let agent = Agent {
            id: AgentId::new(),
            name: format!("Agent {i}"),
            email: EmailAddress::parse(&format!("agent-{i}@support.example.com"))
                .expect("a valid agent address"),
            role: Role::Agent,
            availability: Availability::Available,
            max_open_conversations: (i < capped).then_some(CAP),
            team_ids: vec![],
            phone_extension: None,
            skills: vec![],
            languages: vec![],
            last_seen_at: None,
            idle_away: false,
            created_at: Utc::now(),
        };
        store
            .create_agent(&agent, &format!("bench-key-hash-{i}-{}", agent.id))
            .await
            .expect("create an agent");
        agents.push(agent.id);
    }
    agents
}

async fn shape(store: &Embedded, conversations: &[ConversationId]) -> (Vec<AgentId>, String) {
    let started = Instant::now();
    let now = Utc::now();
    let agents = create_agents(store, 0).await;
    let agents_ref = &agents;
    let changes = conversations.iter().enumerate().map(|(i, &id)| async move {
        let c = store
            .conversation(id)
            .await
            .expect("read a conversation")
            .expect("the conversation exists");
        let mut next: Conversation = c.clone();
        let mut events = Vec::new();
        if percent(i, 1) < 40 {
            let agent = agents_ref[i % agents_ref.len()];
            next.assignee_id = Some(agent);
            let kind = EventKind::Assigned {
                from: None,
                to: Some(agent),
            };
            events.push(Event::new(id, kind, None, now));
        }
        let priority = match percent(i, 2) {
            0..2 => Priority::Urgent,
            2..12 => Priority::High,
            12..17 => Priority::Low,
            _ => Priority::Normal,
        };
        if priority != next.priority {
            let kind = EventKind::PriorityChanged {
                from: next.priority,
                to: priority,
            };
            events.push(Event::new(id, kind, next.assignee_id, now));
            next.priority = priority;
        }
        if percent(i, 3) < 30 {
            let kind = EventKind::StatusChanged {
                from: next.status,
                to: ConversationStatus::Resolved,
            };
            events.push(Event::new(id, kind, next.assignee_id, now));
            next.status = ConversationStatus::Resolved;
            next.resolved_at = Some(now);
        }
        if events.is_empty() {
            return;
        }
        store
            .save_conversation(&next, c.version, &events)
            .await
            .expect("save a shaped conversation");
    });
    futures::stream::iter(changes)
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    let line = format!(
        "shaped {} conversations (resolve/assign/prioritise) in {:.1} s",
        conversations.len(),
        started.elapsed().as_secs_f64()
    );
    (agents, line)
}

/// Puts `messages` on the inbound queue the way `Ingest::submit` does: one message per
/// `Queue::send`, many in flight. Returns the seconds it took.
async fn enqueue(store: &Embedded, messages: impl Iterator<Item = InboundMessage>) -> f64 {
    let started = Instant::now();
    let sends = messages.map(|message| async move {
        let item = Enqueue {
            body: serde_json::to_vec(&message).expect("serialize an inbound message"),
            group: message.ordering_key(),
            dedup: message.source_id.as_str().to_owned(),
        };
        store
            .send(QueueName::Inbound, vec![item])
            .await
            .expect("enqueue");
    });
    futures::stream::iter(sends)
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    started.elapsed().as_secs_f64()
}

#[derive(Default)]
struct Drained {
    stored: usize,
    batches: usize,
    retried: usize,
    seconds: f64,
    receive: Duration,
    route: Duration,
    ack: Duration,
    /// CPU of both writers (store and queue file) while draining.
    writer_cpu: Duration,
}

impl Drained {
    fn add(&mut self, other: &Drained) {
        self.stored += other.stored;
        self.batches += other.batches;
        self.retried += other.retried;
        self.seconds += other.seconds;
        self.receive += other.receive;
        self.route += other.route;
        self.ack += other.ack;
        self.writer_cpu += other.writer_cpu;
    }

    fn rate(&self) -> f64 {
        self.stored as f64 / self.seconds
    }

    fn print(&self, what: &str) {
        let per_batch = |d: Duration| d.as_secs_f64() * 1000.0 / self.batches.max(1) as f64;
        println!(
            "   {what}: {} stored in {:.1} s = {:.0} messages/s ({} retried)",
            self.stored,
            self.seconds,
            self.rate(),
            self.retried
        );
        println!(
            "     per batch of 256: receive {:.1} ms, route {:.1} ms, ack {:.1} ms ({} batches); without the ack time: {:.0} messages/s",
            per_batch(self.receive),
            per_batch(self.route),
            per_batch(self.ack),
            self.batches,
            self.stored as f64 / (self.receive + self.route).as_secs_f64()
        );
        println!(
            "     {} (both writers); load average {}",
            per_message(self.writer_cpu, self.stored),
            load_average()
        );
    }
}

/// Drains the inbound queue like the router worker (`Worker::poll_once` with
/// `InboundRouter::handle`: receive 256, route them concurrently, ack the batch), timing each
/// step, until it is empty or `budget` has passed. `depth` is what the queue held.
async fn drain(store: &Arc<Embedded>, depth: usize, budget: Duration, verbose: bool) -> Drained {
    let router = InboundRouter {
        teams: store.clone(),
        routing: store.clone(),
        messages: store.clone(),
        conversations: store.clone(),
        agents: store.clone(),
        queue: store.clone(),
        blobs: Arc::new(shared::embedded::BlobFolder::new(
            std::env::temp_dir().join("switchboard-bench-blobs"),
        )),
        fetchers: Arc::default(),
        policy: RoutePolicy::default(),
        rules: store.clone(),
        calendars: store.clone(),
        rule_cache: Default::default(),
        reply_tokens: None,
        notices: store.clone(),
        messenger: None,
        canned: store.clone(),
        contacts: store.clone(),
        surveys: shared::services::surveys::Surveys {
            store: store.clone(),
            conversations: store.clone(),
            key: shared::services::surveys::SurveyKey::new(store.clone()),
        },
        buttons: None,
        language: "en".into(),
        answer_first: None,
    };
    let mut out = Drained::default();
    let started = Instant::now();
    let cpu_before = writer_cpu();
    let mut lap = (Instant::now(), 0usize, Duration::ZERO);
    while started.elapsed() < budget {
        let t = Instant::now();
        let deliveries = store
            .receive(QueueName::Inbound, 256, Duration::from_secs(60))
            .await
            .expect("receive");
        out.receive += t.elapsed();
        if deliveries.is_empty() {
            break;
        }
        out.batches += 1;
        let t = Instant::now();
        let outcomes = futures::future::join_all(deliveries.into_iter().map(|d| {
            let receipt = d.receipt.clone();
            let router = &router;
            async move { (receipt, router.handle(d).await) }
        }))
        .await;
        out.route += t.elapsed();
        let mut done = Vec::with_capacity(outcomes.len());
        for (receipt, outcome) in outcomes {
            match outcome {
                Handled::Done => done.push(receipt),
                Handled::Retry { reason, .. } => {
                    out.retried += 1;
                    eprintln!("   retry: {reason}");
                }
            }
        }
        out.stored += done.len();
        let t = Instant::now();
        store.ack(QueueName::Inbound, &done).await.expect("ack");
        out.ack += t.elapsed();
        if verbose && (out.batches.is_multiple_of(10) || out.batches == 1) {
            let (at, stored, ack) = lap;
            let batches = if out.batches == 1 { 1 } else { 10 };
            println!(
                "     queue depth {:>6}: {:>6.0} messages/s, ack {:>6.1} ms per batch",
                depth - stored,
                (out.stored - stored) as f64 / at.elapsed().as_secs_f64(),
                (out.ack - ack).as_secs_f64() * 1000.0 / batches as f64
            );
            lap = (Instant::now(), out.stored, out.ack);
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.writer_cpu = writer_cpu() - cpu_before;
    out
}

/// The whole router path on a fresh file: enqueue like `Ingest::submit`, then drain like
/// the router worker. First with a shallow queue (1,024 at a time, as when the router
/// keeps up), then with `BENCH_QUEUE_MESSAGES` (50,000) waiting at once, for at most
/// `BENCH_QUEUE_SECONDS` (60).
async fn queue_path(dir: &Path) {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let total = env("BENCH_QUEUE_MESSAGES", 50_000);
    let budget = Duration::from_secs(env("BENCH_QUEUE_SECONDS", 60) as u64);
    let path = dir.join(format!("queue-{}.db", std::process::id()));
    remove_db(&path);
    let store = Arc::new(Embedded::open(&path).expect("create the queue store"));
    let run = format!("q{}", std::process::id());

    println!("\n== queue path on a fresh file, shallow: 10 × (enqueue 1,024, drain)");
    let mut shallow = Drained::default();
    let mut enqueue_s = 0.0;
    for round in 0..10 {
        let messages = (0..1024).map(|i| inbound(&run, 1_000_000 + round * 1024 + i, 0));
        enqueue_s += enqueue(&store, messages).await;
        shallow.add(&drain(&store, 1024, Duration::MAX, false).await);
    }
    println!(
        "   enqueue (Queue::send, 1 message per call): {:.0} messages/s",
        10_240.0 / enqueue_s
    );
    shallow.print("router, queue depth ≤ 1,024");

    let customers = (total / 5).max(1);
    println!(
        "\n== queue path, deep: {total} messages from {customers} customers enqueued, then drained (budget {} s)",
        budget.as_secs()
    );
    let seconds = enqueue(&store, (0..total).map(|i| inbound(&run, i % customers, i))).await;
    println!(
        "   enqueue (Queue::send, 1 message per call, {IN_FLIGHT} in flight): {:.0} messages/s",
        total as f64 / seconds
    );
    let deep = drain(&store, total, budget, true).await;
    deep.print(&format!("router, queue depth {total} at the start"));
    if deep.stored < total {
        println!(
            "   stopped after the {} s budget with {} of {total} still queued",
            budget.as_secs(),
            total - deep.stored
        );
    }
    drop(store);
    remove_db(&path);
}

/// The router path with 0, 20 and 200 routing rules, each on a fresh file: what rules
/// cost a message. Every rule looks for five words in the text on two channels; one in
/// ten of the messages holds a word of the first rule, which sets a priority and a tag.
async fn router_with_rules(dir: &Path) {
    use shared::model::{Action, Channel, Condition, Priority, Rule, RuleId, Trigger};
    use shared::ports::RuleStore;
    println!("\n== router with routing rules: 10 × (enqueue 1,024, drain) on a fresh file each");
    for count in [0usize, 20, 200] {
        let path = dir.join(format!("rules-{count}-{}.db", std::process::id()));
        remove_db(&path);
        let store = Arc::new(Embedded::open(&path).expect("create the rules store"));
        for n in 0..count {
            let words = (0..5).map(|w| format!("word{n}x{w}")).collect();
            let rule = Rule {
                id: RuleId::new(),
                name: format!("rule {n}"),
                enabled: true,
                position: n as i32,
                trigger: Trigger::MessageReceived,
                conditions: vec![
                    Condition::Channel {
                        any_of: vec![Channel::Web, Channel::Telegram],
                    },
                    Condition::TextContains { any_of: words },
                ],
                actions: vec![
                    Action::SetPriority {
                        priority: Priority::High,
                    },
                    Action::AddTags {
                        tags: vec![format!("rule-{n}")],
                    },
                ],
                stop_processing: false,
                idle_minutes: None,
            };
            store.save_rule(&rule).await.expect("save a rule");
        }
        let run = format!("r{count}-{}", std::process::id());
        let mut drained = Drained::default();
        for round in 0..10 {
            let messages = (0..1024).map(|i| {
                let mut m = inbound(&run, round * 1024 + i, 0);
                if i % 10 == 0 {
                    m.text.push_str(" word0x3");
                }
                m
            });
            enqueue(&store, messages).await;
            drained.add(&drain(&store, 1024, Duration::MAX, false).await);
        }
        drained.print(&format!("router, {count} rules"));
        drop(store);
        remove_db(&path);
    }
}

/// The router path assigning every message (each from a new customer) among five agents
/// who list no languages, then among five who do (two speak Persian and English, three
/// English), each on a fresh file: what telling the customer's language apart costs.
/// Half the messages are Persian.
async fn router_with_languages(dir: &Path) {
    println!("\n== router assigning by language: 10 × (enqueue 1,024, drain) on a fresh file each");
    for speak in [false, true] {
        let label = if speak { "languages" } else { "no-languages" };
        let path = dir.join(format!("{label}-{}.db", std::process::id()));
        remove_db(&path);
        let store = Arc::new(Embedded::open(&path).expect("create the languages store"));
        for i in 0..AGENTS {
            let languages: Vec<String> = match (speak, i < 2) {
                (false, _) => vec![],
                (true, true) => vec!["fa".into(), "en".into()],
                (true, false) => vec!["en".into()],
            };
            let agent = Agent {
                id: AgentId::new(),
                name: format!("Agent {i}"),
                email: EmailAddress::parse(&format!("lang-{i}@support.example.com"))
                    .expect("a valid agent address"),
                role: Role::Agent,
                availability: Availability::Available,
                max_open_conversations: None,
                team_ids: vec![],
                phone_extension: None,
                skills: vec![],
                languages,
                last_seen_at: None,
                idle_away: false,
                created_at: Utc::now(),
            };
            store
                .create_agent(&agent, &format!("lang-key-{i}-{}", agent.id))
                .await
                .expect("create an agent");
        }
        let run = format!("{label}-{}", std::process::id());
        let mut drained = Drained::default();
        for round in 0..10 {
            let messages = (0..1024).map(|i| {
                let mut m = inbound(&run, round * 1024 + i, 0);
                if i % 2 == 0 {
                    m.text = format!("سلام، سفارش شماره {i} من هنوز نرسیده و درگاه پرداخت خطا داد");
                }
                m
            });
            enqueue(&store, messages).await;
            drained.add(&drain(&store, 1024, Duration::MAX, false).await);
        }
        drained.print(&format!("router, agents with {label}"));
        drop(store);
        remove_db(&path);
    }
}

/// The SLA sweep on a fresh file holding the clocks of 100,000 open conversations, 1,000
/// of them past their first response: how long finding the breached takes through the
/// wake index, and the first page of the list in due order.
async fn sla_sweep(dir: &Path) {
    use shared::model::{
        ConversationId, ConversationSla, Priority, PriorityTargets, SlaFact, SlaPolicy,
        SlaPolicyId, TargetSeconds,
    };
    use shared::ports::SlaStore;
    const OPEN: usize = 100_000;
    const BREACHED: usize = 1_000;
    println!(
        "\n== SLA sweep: {OPEN} open conversations measured, {BREACHED} past their first response"
    );
    let path = dir.join(format!("sla-{}.db", std::process::id()));
    remove_db(&path);
    let store = Arc::new(Embedded::open(&path).expect("create the sla store"));
    let policy = SlaPolicy {
        id: SlaPolicyId::new(),
        name: "bench".into(),
        calendar_id: None,
        teams: vec![],
        channels: vec![],
        targets: PriorityTargets {
            normal: TargetSeconds {
                first_response_secs: Some(3600),
                next_response_secs: Some(3600),
                resolution_secs: Some(86_400),
            },
            ..PriorityTargets::default()
        },
    };
    let now = chrono::Utc::now();
    let started = Instant::now();
    let saves = (0..OPEN).map(|i| {
        let store = store.clone();
        let policy = policy.clone();
        async move {
            let mut sla =
                ConversationSla::new(ConversationId::new(), &policy, None, Priority::Normal);
            // The breached wrote two hours ago; the rest within the last 50 minutes.
            let minutes = if i < BREACHED { 120 } else { (i % 50) as i64 };
            sla.apply(SlaFact::CustomerMessage(
                now - chrono::Duration::minutes(minutes),
            ));
            store
                .save_conversation_sla(&sla)
                .await
                .expect("save clocks");
        }
    });
    futures::stream::iter(saves)
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    println!(
        "   {OPEN} clocks saved in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut timings = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let mut found = 0;
        loop {
            let batch = store
                .slas_to_wake(now, 100)
                .await
                .expect("read the wake index");
            found += batch.len();
            if batch.len() < 100 || found >= BREACHED {
                break;
            }
        }
        timings.push(t.elapsed());
        assert_eq!(found, BREACHED);
    }
    timings.sort();
    println!(
        "   finding the {BREACHED} breached (10 index reads of 100): median {:.2} ms, max {:.2} ms",
        timings[timings.len() / 2].as_secs_f64() * 1000.0,
        timings[timings.len() - 1].as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let page = store
        .slas_by_due(None, 25)
        .await
        .expect("read the due index");
    println!(
        "   first 25 in due order: {:.2} ms ({} read)",
        t.elapsed().as_secs_f64() * 1000.0,
        page.len()
    );
    drop(store);
    remove_db(&path);
}

/// The router path with the report keeper off, then on (following the log as the local
/// server runs it), each on a fresh file: what counting costs the router, and how long
/// the keeper takes to count what the router stored.
async fn router_with_reports(dir: &Path) {
    use shared::ports::EventFeed;
    use shared::services::reports::ReportKeeper;
    use shared::services::subscriber::FeedConsumer;
    println!("\n== router with the report keeper off and on: 10 × (enqueue 1,024, drain)");
    for on in [false, true] {
        let path = dir.join(format!("reports-{on}-{}.db", std::process::id()));
        remove_db(&path);
        let store = Arc::new(Embedded::open(&path).expect("create the store"));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let keeper = on.then(|| {
            tokio::spawn(
                FeedConsumer {
                    feed: store.clone(),
                    subscriber: Arc::new(ReportKeeper {
                        conversations: store.clone(),
                        reports: store.clone(),
                        slas: store.clone(),
                    }),
                }
                .run(stopped),
            )
        });
        // The keeper's first read marks where it starts: from here on.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let run = format!("k{on}-{}", std::process::id());
        let mut drained = Drained::default();
        for round in 0..10 {
            let messages = (0..1024).map(|i| inbound(&run, round * 1024 + i, 0));
            enqueue(&store, messages).await;
            drained.add(&drain(&store, 1024, Duration::MAX, false).await);
        }
        drained.print(&format!(
            "router, reports {}",
            if on { "on" } else { "off" }
        ));
        if let Some(keeper) = keeper {
            let t = Instant::now();
            let latest = store.latest_cursor().await.expect("the log's end");
            while store
                .consumer_position("reports")
                .await
                .expect("the keeper's place")
                .is_none_or(|at| at.parse::<i64>().ok() < latest.parse::<i64>().ok())
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            println!(
                "   the keeper caught up {:.2} s after the router finished",
                t.elapsed().as_secs_f64()
            );
            let _ = stop.send(true);
            let _ = keeper.await;
        }
        drop(store);
        remove_db(&path);
    }
}

/// The report summary over 30 days of 100,000 conversations and 1,000,000 messages: the
/// counters the keeper would keep (each conversation's occurrences through the model,
/// its counters recorded at once), then the summary read as the API reads it.
async fn report_summary(dir: &Path) {
    use shared::model::{BUCKET_SECS, Dimension, Occurrence, ReportTrack, Snapshot};
    use shared::ports::ReportStore;
    use shared::services::reports::{Reports, Span};
    const CONVERSATIONS: usize = 100_000;
    const EXCHANGES: usize = 5;
    const DAYS: i64 = 30;
    println!(
        "\n== report summary: {CONVERSATIONS} conversations, {} messages over {DAYS} days",
        CONVERSATIONS * EXCHANGES * 2
    );
    let path = dir.join(format!("reports-{}.db", std::process::id()));
    remove_db(&path);
    let store = Arc::new(Embedded::open(&path).expect("create the reports store"));
    let agents: Vec<AgentId> = (0..AGENTS).map(|_| AgentId::new()).collect();
    let channels = [
        Channel::Web,
        Channel::Email,
        Channel::Telegram,
        Channel::Sms,
        Channel::Voice,
    ];
    let end = chrono::Utc::now().date_naive();
    let start = (end - chrono::Days::new(DAYS as u64 - 1))
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let step = DAYS * 86_400 / CONVERSATIONS as i64;
    let started = Instant::now();
    let records = (0..CONVERSATIONS).map(|i| {
        let store = store.clone();
        let agent = agents[i % AGENTS];
        let snapshot = Snapshot {
            channel: channels[i % channels.len()],
            team_id: None,
            assignee_id: Some(agent),
            priority: Priority::Normal,
            tags: vec![format!("topic-{}", i % 20)],
        };
        async move {
            let dims = snapshot.dimensions(None);
            let mut track = ReportTrack::new(ConversationId::new());
            let mut at = start + chrono::Duration::seconds(i as i64 * step);
            let mut occurrences = vec![Occurrence::Created(at)];
            for n in 0..EXCHANGES {
                occurrences.push(Occurrence::CustomerMessage(at));
                at += chrono::Duration::seconds(30 + (percent(i * 7 + n, 3) * 36) as i64);
                occurrences.push(Occurrence::AgentReply(at, agent));
                at += chrono::Duration::seconds(60);
            }
            occurrences.push(Occurrence::Resolved(at));
            let counts: Vec<_> = occurrences
                .into_iter()
                .flat_map(|o| track.apply(o, None, &dims))
                .flat_map(|fact| fact.counts(&dims))
                .collect();
            // What the keeper records change by change, recorded at once.
            for chunk in counts.chunks(90) {
                track = store.record(&track, chunk).await.expect("record counters");
            }
        }
    });
    futures::stream::iter(records)
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<()>>()
        .await;
    println!(
        "   counters of {CONVERSATIONS} conversations recorded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let reports = Reports {
        store: store.clone(),
    };
    let span = Span::new(
        end - chrono::Days::new(DAYS as u64 - 1),
        end,
        chrono_tz::Tz::UTC,
    )
    .expect("a span");
    for (name, dimension) in [
        ("everyone", Dimension::all()),
        ("one agent", Dimension::agent(agents[0])),
    ] {
        let mut timings = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            let (now, _) = reports
                .summary(&dimension, &span, false)
                .await
                .expect("a summary");
            black_box(now);
            timings.push(t.elapsed());
        }
        timings.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "   summary of 30 days (with the 30 before), {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            ms(timings[timings.len() / 2]),
            ms(timings[timings.len() * 99 / 100]),
            ms(timings[timings.len() - 1])
        );
    }
    // On DynamoDB the same summary reads one item per UTC day and metric counted for its
    // whole days, and one per half hour and metric at its ends.
    let (from, until) = span.buckets();
    let tallies = reports
        .tally(&Dimension::all(), from, until)
        .await
        .expect("tallies");
    let bins: usize = tallies.values().map(|t| t.bins.len()).sum();
    println!(
        "   everyone's 30 days (UTC, whole days): {} day counters × {} metrics counted = {} items a period; \
         {bins} histogram bins in all; {} half hours",
        (until - from) / shared::model::DAY_SECS,
        tallies.len(),
        (until - from) / shared::model::DAY_SECS * tallies.len() as i64,
        (until - from) / BUCKET_SECS
    );
    drop(store);
    remove_db(&path);
}

/// Routing new customers on a fresh file with five available agents, so every new
/// conversation is assigned: shows what assignment costs as assigned conversations pile up.
async fn router_with_agents(dir: &Path) {
    let chunks = 4;
    let per_chunk = 5_000;
    let path = dir.join(format!("agents-{}.db", std::process::id()));
    remove_db(&path);
    let store = Embedded::open(&path).expect("create the agents store");
    create_agents(&store, 2).await;
    println!(
        "\n== router with {AGENTS} available agents, 2 of them capped at {CAP} open conversations\n   (every message a new customer, so every one is assigned)"
    );
    let policy = RoutePolicy::default();
    let run = format!("a{}", std::process::id());
    for chunk in 0..chunks {
        let started = Instant::now();
        let cpu_before = writer_cpu();
        let routes = (chunk * per_chunk..(chunk + 1) * per_chunk).map(|c| {
            let message = inbound(&run, c, 0);
            let (store, policy) = (&store, &policy);
            async move { store.route(&message, policy).await.expect("route") }
        });
        futures::stream::iter(routes)
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        println!(
            "   conversations {:>6}..{:>6}: {:>6.0} messages/s, {}",
            chunk * per_chunk,
            (chunk + 1) * per_chunk,
            per_chunk as f64 / started.elapsed().as_secs_f64(),
            per_message(writer_cpu() - cpu_before, per_chunk)
        );
    }
    drop(store);
    remove_db(&path);
}

/// One read the benchmarks repeat.
enum Call {
    List(ConversationFilter, PageRequest),
    Timeline(ConversationId, PageRequest),
}

impl Call {
    async fn run(&self, store: &Embedded) -> usize {
        match self {
            Call::List(filter, page) => {
                let page = store
                    .list_conversations(filter, page)
                    .await
                    .expect("list conversations");
                black_box(page).items.len()
            }
            Call::Timeline(id, page) => {
                let page = store.timeline(*id, page).await.expect("timeline");
                black_box(page).items.len()
            }
        }
    }
}

struct ListCases {
    first: Call,
    deep: Call,
    unassigned: Call,
    urgent: Call,
    urgent_deep: Call,
    agent: Call,
    timeline: Call,
}

fn open_filter() -> ConversationFilter {
    ConversationFilter {
        status: StatusFilter::Only(ConversationStatus::Open),
        ..ConversationFilter::default()
    }
}

/// Follows `pages` pages of `filter` and returns the cursor after them (none if the list
/// ran out first).
async fn cursor_after(store: &Embedded, filter: &ConversationFilter, pages: usize) -> PageRequest {
    let mut request = PageRequest::first(PAGE);
    for _ in 0..pages {
        let page = store
            .list_conversations(filter, &request)
            .await
            .expect("list conversations");
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    request
}

impl ListCases {
    async fn find(seeded: &Seeded) -> Self {
        let store = &seeded.store;
        let open = open_filter();
        let urgent = ConversationFilter {
            priority: Some(Priority::Urgent),
            ..open_filter()
        };
        let deep = cursor_after(store, &open, DEEP_PAGES).await;
        let urgent_deep = cursor_after(store, &urgent, 40).await;
        let first = store
            .list_conversations(&open, &PageRequest::first(1))
            .await
            .expect("list conversations");
        let conversation = first.items.first().expect("an open conversation").id;
        let agent = seeded.agents.first().copied().expect("a seeded agent");
        Self {
            first: Call::List(open.clone(), PageRequest::first(PAGE)),
            deep: Call::List(open.clone(), deep),
            unassigned: Call::List(
                ConversationFilter {
                    assignee: AssigneeFilter::Unassigned,
                    ..open_filter()
                },
                PageRequest::first(PAGE),
            ),
            urgent: Call::List(urgent.clone(), PageRequest::first(PAGE)),
            urgent_deep: Call::List(urgent, urgent_deep),
            agent: Call::List(
                ConversationFilter {
                    assignee: AssigneeFilter::Agent(agent),
                    ..open_filter()
                },
                PageRequest::first(PAGE),
            ),
            timeline: Call::Timeline(conversation, PageRequest::first(50)),
        }
    }
}

struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn latencies(rt: &Runtime, store: &Embedded, call: &Call, calls: usize) -> Latency {
    for _ in 0..calls / 20 {
        rt.block_on(call.run(store));
    }
    let mut micros: Vec<f64> = (0..calls)
        .map(|_| {
            let t = Instant::now();
            rt.block_on(call.run(store));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
    Latency {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: micros[micros.len() - 1],
    }
}
