//! What taking in one email costs before it is queued: MIME parsing (charsets, encoded
//! words, attachments, quote split, HTML sanitizing) and normalizing, over the fixture
//! corpus. `cargo bench -p shared --bench email` reports messages/s and MB/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shared::channels::email::{
    InboundSettings, ParseSettings, normalize, parse_email, raw_key, source_id,
};
use std::hint::black_box;

macro_rules! corpus {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../src/channels/email/fixtures/", $name, ".eml")).as_slice())),*]
    };
}

const CORPUS: &[(&str, &[u8])] = corpus!(
    "alternative",
    "arabic_iso8859_6_qp",
    "attachments",
    "auto_reply",
    "broken_headers",
    "dsn_bounce",
    "gmail_reply",
    "html_only",
    "mailing_list",
    "outlook_reply",
    "own_domain",
    "persian_utf8_base64",
    "persian_windows1256",
    "plain",
);

fn settings() -> ParseSettings {
    ParseSettings {
        own_domains: vec!["switchboard.test".into()],
        max_attachment_bytes: 25 * 1024 * 1024,
    }
}

/// Parse and normalize one email, as the webhook does before queuing it.
fn take_in(raw: &[u8], settings: &ParseSettings) -> usize {
    let Ok(parsed) = parse_email(raw, settings) else {
        return 0;
    };
    let source = source_id(&parsed, raw);
    let normalized = normalize(&parsed, source, &raw_key(raw), &InboundSettings::default());
    usize::from(normalized.is_ok())
}

fn corpus(c: &mut Criterion) {
    let settings = settings();
    let bytes: usize = CORPUS.iter().map(|(_, raw)| raw.len()).sum();
    let mut group = c.benchmark_group("email_corpus");
    group.throughput(Throughput::Elements(CORPUS.len() as u64));
    group.bench_function("parse_normalize_messages", |b| {
        b.iter(|| {
            CORPUS
                .iter()
                .map(|(_, raw)| take_in(black_box(raw), &settings))
                .sum::<usize>()
        })
    });
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse_normalize_bytes", |b| {
        b.iter(|| {
            CORPUS
                .iter()
                .map(|(_, raw)| take_in(black_box(raw), &settings))
                .sum::<usize>()
        })
    });
    group.finish();
    let mut each = c.benchmark_group("email_fixture");
    for (name, raw) in CORPUS {
        each.throughput(Throughput::Bytes(raw.len() as u64));
        each.bench_function(*name, |b| b.iter(|| take_in(black_box(raw), &settings)));
    }
    each.finish();
}

criterion_group!(benches, corpus);
criterion_main!(benches);
