//! The knowledge search at 10,000 articles: building the index, the kept index's size,
//! reading it back (what a Lambda function does on its first search), and one customer
//! question's search, with its p50/p99 over the 120 fixture questions printed first.
//! `cargo bench -p shared --bench knowledge`.
//!
//! The 10,000 articles are the 40 fixture articles, each written 250 times over with its
//! sentences in another order and some words of its own (a product name, an order
//! number), so the index holds a realistic spread of words.

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use shared::model::knowledge::{IndexedArticle, KnowledgeIndex};
use shared::model::{Article, ArticleId, ArticleStatus};
use shared::services::knowledge::{decode_index, encode_index};
use std::hint::black_box;
use std::time::Instant;

#[derive(serde::Deserialize)]
struct Written {
    slug: String,
    language: String,
    category: Option<String>,
    tags: Vec<String>,
    title: String,
    body: String,
}

#[derive(serde::Deserialize)]
struct Question {
    q: String,
}

const COPIES: usize = 250;
const PRODUCTS: [&str; 10] = [
    "گوشی",
    "هدفون",
    "لپ‌تاپ",
    "ساعت",
    "کیف",
    "laptop",
    "headphones",
    "charger",
    "camera",
    "tablet",
];

fn articles() -> Vec<IndexedArticle> {
    let written: Vec<Written> = serde_json::from_str(include_str!(
        "../tests/conformance/fixtures/knowledge/articles.json"
    ))
    .expect("the fixture articles");
    let now = Utc::now();
    let mut all = Vec::with_capacity(written.len() * COPIES);
    for copy in 0..COPIES {
        for (n, w) in written.iter().enumerate() {
            let mut sentences: Vec<&str> = w.body.split_inclusive(['.', '\n']).collect();
            let turn = copy % sentences.len().max(1);
            sentences.rotate_left(turn);
            let product = PRODUCTS[(copy + n) % PRODUCTS.len()];
            let body = format!(
                "{} {product} {} ORD-{copy}{n:02}",
                sentences.concat(),
                1000 + copy * 7 + n
            );
            all.push(IndexedArticle::of(&Article {
                id: ArticleId::new(),
                slug: format!("{}-{copy}", w.slug),
                language: w.language.clone(),
                category: w.category.clone(),
                tags: w.tags.clone(),
                title: format!("{} ({product})", w.title),
                body,
                status: ArticleStatus::Published,
                revision: 1,
                created_at: now,
                updated_at: now,
                updated_by: None,
            }));
        }
    }
    all
}

fn questions() -> Vec<String> {
    let questions: Vec<Question> = serde_json::from_str(include_str!(
        "../tests/conformance/fixtures/knowledge/questions.json"
    ))
    .expect("the fixture questions");
    questions.into_iter().map(|q| q.q).collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn search_10k(c: &mut Criterion) {
    let articles = articles();
    let started = Instant::now();
    let index = KnowledgeIndex::new(articles.clone());
    let built = started.elapsed();
    let kept = encode_index(&articles).expect("the kept index");
    let started = Instant::now();
    let read_back = KnowledgeIndex::new(decode_index(&kept).expect("it reads back"));
    let read = started.elapsed();
    assert_eq!(read_back.len(), index.len());
    let questions = questions();
    let mut times = Vec::new();
    for _ in 0..5 {
        for q in &questions {
            let started = Instant::now();
            black_box(index.search(q, None, 3));
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "knowledge index: {} articles, built in {:.0} ms; kept index {:.1} MiB gzipped, read back and built in {:.0} ms",
        index.len(),
        built.as_secs_f64() * 1000.0,
        kept.len() as f64 / 1024.0 / 1024.0,
        read.as_secs_f64() * 1000.0
    );
    println!(
        "search over {} articles, {} searches: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        index.len(),
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default()
    );

    let mut group = c.benchmark_group("knowledge_10k");
    group.sample_size(20);
    group.bench_function("search_120_questions", |b| {
        b.iter(|| {
            for q in &questions {
                black_box(index.search(black_box(q), None, 3));
            }
        })
    });
    group.bench_function("read_kept_index", |b| {
        b.iter(|| KnowledgeIndex::new(decode_index(black_box(&kept)).expect("reads")))
    });
    group.finish();
}

criterion_group!(benches, search_10k);
criterion_main!(benches);
