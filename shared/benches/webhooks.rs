//! What a webhook spends before it queues a call: checking the provider's signature and
//! normalizing the payload, on real-shaped payloads. `cargo bench -p shared --bench webhooks`.

use criterion::{Criterion, criterion_group, criterion_main};
use shared::channels::pbx;
use shared::channels::twilio::{self, Params};
use shared::model::DefaultRegion;
use std::hint::black_box;

const SMS: &[u8] = include_bytes!("../src/channels/twilio/fixtures/sms.form");
const TOKEN: &str = "12345678901234567890123456789012";
const URL: &str = "https://support.example.com/webhooks/twilio/sms";

fn twilio_sms(c: &mut Criterion) {
    let params = Params::parse(SMS).expect("the fixture parses");
    let signature = twilio::signature::sign(TOKEN, URL, params.pairs());
    c.bench_function("twilio_sms_parse_form", |b| {
        b.iter(|| Params::parse(black_box(SMS)))
    });
    c.bench_function("twilio_sms_verify_signature", |b| {
        b.iter(|| {
            assert!(twilio::signature::verify_form(
                TOKEN,
                black_box(URL),
                params.pairs(),
                black_box(&signature)
            ))
        })
    });
    c.bench_function("twilio_sms_verify_forged_signature", |b| {
        b.iter(|| {
            assert!(!twilio::signature::verify_form(
                TOKEN,
                black_box(URL),
                params.pairs(),
                black_box("AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            ))
        })
    });
    c.bench_function("twilio_sms_normalize", |b| {
        b.iter(|| twilio::normalize_sms(black_box(&params), DefaultRegion::default()))
    });
}

fn pbx_hook(c: &mut Criterion) {
    let body = br#"{"event":"hangup","callId":"c-1700000000-42","from":"+98 912 345 6789","to":"+982112345678","direction":"in","cause":"normalClearing","answeringNumber":"201","user":["Sara"]}"#;
    let signature = pbx::signature::sign("pbx-shared-secret", 1_700_000_000, body);
    c.bench_function("pbx_verify_signature", |b| {
        b.iter(|| {
            pbx::signature::verify(
                "pbx-shared-secret",
                Some("1700000000"),
                Some(black_box(&signature)),
                black_box(body),
                1_700_000_010,
                300,
            )
        })
    });
}

criterion_group!(benches, twilio_sms, pbx_hook);
criterion_main!(benches);
