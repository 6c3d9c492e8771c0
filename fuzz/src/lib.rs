//! What the email fuzz target checks. Any bytes go the way a real email goes: the
//! webhook (one raw email) or `switchboard email import` (an mbox, split first), then
//! parse, the bounce and auto-reply checks, normalize, and the router reading every
//! attachment back out of the raw email. Nothing may panic, and what comes out keeps
//! the promises the rest of Switchboard relies on.
#![forbid(unsafe_code)]

use async_trait::async_trait;
use shared::channels::email::mbox::split_messages;
use shared::channels::email::{
    Automated, EmailFiles, MAX_ATTACHMENTS, NormalizeError, Normalized, ParsedEmail, bounce_report,
    normalize, parse_email, raw_key, source_id,
};
use shared::config::EmailWebhook;
use shared::model::InboundMessage;
use shared::ports::{
    Blob, BlobStore, BlobVersion, FetchError, FetchedFile, FileFetcher, PortResult,
};
use shared::services::router::MAX_ATTACHMENT_BYTES;
use std::future::Future;
use std::sync::{Arc, Once, OnceLock};
use std::task::{Context, Poll, Waker};

/// `switchboard serve`'s default size limit for one email.
const WEBHOOK_MAX_BYTES: usize = 25 * 1024 * 1024;

/// Decoding (base64, quoted-printable) only shrinks bytes; a charset turned into UTF-8
/// at most triples them (one byte → a three-byte character, or U+FFFD for a bad byte).
const MAX_GROWTH: usize = 3;

/// The webhook's settings as production builds them: our own domain, the default limit.
fn webhook() -> &'static EmailWebhook {
    static WEBHOOK: OnceLock<EmailWebhook> = OnceLock::new();
    WEBHOOK.get_or_init(|| {
        EmailWebhook::new(
            "fuzz-webhook-secret".into(),
            WEBHOOK_MAX_BYTES,
            vec!["Switchboard.test".into()],
            false,
        )
        .unwrap_or_else(|e| panic!("the webhook settings are valid: {e}"))
    })
}

/// A file given to the email path: taken as one email (the webhook), and, when it is an
/// mbox, also split into its messages as the import command does.
pub fn check_email_file(file: &[u8]) {
    report_panics_without_aborting();
    check_email(file);
    if file.starts_with(b"From ") {
        let messages = split_messages(file);
        let total: usize = messages.iter().map(Vec::len).sum();
        assert!(total <= file.len(), "the messages are larger than the mbox");
        for raw in &messages {
            assert!(!raw.iter().all(u8::is_ascii_whitespace), "a blank message");
            check_email(raw);
        }
    } else {
        assert_eq!(split_messages(file), [file], "not an mbox: one message");
    }
}

/// libfuzzer-sys's panic hook aborts on every panic, even one the code under test catches
/// (`parse_email` catches the MIME parser's). This hook only prints: a panic that escapes
/// the target still fails the run, as libfuzzer-sys aborts when one reaches it.
fn report_panics_without_aborting() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|info| eprintln!("{info}"))));
}

/// One raw email through the path the webhook and the router take.
pub fn check_email(raw: &[u8]) {
    let webhook = webhook();
    let Ok(parsed) = parse_email(raw, &webhook.parse) else {
        return;
    };
    check_parsed(&parsed, raw, webhook.parse.max_attachment_bytes);
    let key = raw_key(raw);
    match normalize(&parsed, source_id(&parsed, raw), &key, &webhook.inbound) {
        Err(NormalizeError::NoSender) => {
            assert!(parsed.from.is_none() && parsed.automated.is_none());
        }
        Ok(Normalized::Ignored(_)) => assert!(parsed.automated.is_some()),
        Ok(Normalized::Bounce(bounce)) => {
            assert_eq!(parsed.automated, Some(Automated::Bounce));
            assert!(bounce.failed && bounce.original_message_id.is_some());
            let report = bounce_report(&bounce, raw).and_then(|m| m.delivery_report().cloned());
            let error = report.and_then(|r| r.error).unwrap_or_default();
            assert!(!error.is_empty() && error.chars().count() <= 1000);
        }
        Ok(Normalized::Message(message)) => {
            assert!(parsed.automated.is_none() && parsed.from.is_some());
            check_message(&parsed, &message, &key);
            read_back(&parsed, &message, raw, &key);
        }
    }
}

fn check_parsed(parsed: &ParsedEmail, raw: &[u8], max_bytes: u64) {
    let bound = raw.len() * MAX_GROWTH;
    assert!(parsed.attachments.len() <= MAX_ATTACHMENTS);
    if parsed.attachments_dropped > 0 {
        assert_eq!(parsed.attachments.len(), MAX_ATTACHMENTS);
    }
    let total: u64 = parsed.attachments.iter().map(|a| a.size).sum();
    assert!(total <= bound as u64, "attachments of {total} bytes");
    for a in &parsed.attachments {
        assert_eq!(a.too_large, a.size > max_bytes);
        let kept = if a.too_large { 0 } else { a.size };
        assert_eq!(a.bytes.len() as u64, kept);
        assert!(a.sha256.len() == 64 && a.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a.content_type, a.content_type.to_ascii_lowercase());
        assert!(a.filename.as_ref().is_none_or(|f| !f.is_empty()));
        assert!(a.content_id.as_ref().is_none_or(|c| !c.is_empty()));
        assert!(a.content_id.is_none() || a.inline);
    }
    assert!(
        parsed.text.len() <= bound,
        "text of {} bytes",
        parsed.text.len()
    );
    assert!(parsed.new_text.len() <= parsed.text.len());
    let quoted = parsed.quoted.as_ref().map_or(0, String::len);
    assert!(quoted <= parsed.text.len());
    assert!(parsed.recipients.iter().all(|r| !r.is_empty()));
    assert!(parsed.message_id.as_ref().is_none_or(|id| !id.is_empty()));
    assert!(parsed.in_reply_to.iter().all(|id| !id.is_empty()));
    assert!(parsed.references.iter().all(|id| !id.is_empty()));
    assert_eq!(
        parsed.bounce.is_some(),
        parsed.automated == Some(Automated::Bounce)
    );
}

fn check_message(parsed: &ParsedEmail, message: &InboundMessage, key: &str) {
    assert_eq!(message.attachments.len(), parsed.attachments.len());
    assert!(!message.text.is_empty() || !message.attachments.is_empty());
    for (index, (listed, file)) in message
        .attachments
        .iter()
        .zip(&parsed.attachments)
        .enumerate()
    {
        assert_eq!(listed.size, file.size);
        let expected = (!file.too_large).then(|| format!("{key}#{index}"));
        assert_eq!(listed.provider_ref, expected);
        assert_eq!(listed.fetch_error.is_some(), file.too_large);
    }
}

/// Every attachment the message lists, fetched as the router fetches it: the same file.
fn read_back(parsed: &ParsedEmail, message: &InboundMessage, raw: &[u8], key: &str) {
    let files = EmailFiles::new(Arc::new(OneBlob {
        key: key.to_owned(),
        raw: raw.to_vec(),
    }));
    let mut fetched = 0;
    for (listed, file) in message.attachments.iter().zip(&parsed.attachments) {
        let Some(reference) = &listed.provider_ref else {
            continue;
        };
        let got = match now(files.fetch(reference, MAX_ATTACHMENT_BYTES)) {
            Ok(got) => got,
            Err(e) => panic!("attachment `{reference}` could not be read back: {e:?}"),
        };
        assert!(got.bytes == file.bytes, "attachment `{reference}` changed");
        assert_eq!(
            got.content_type.as_deref(),
            Some(file.content_type.as_str())
        );
        fetched += 1;
    }
    if fetched > 0 {
        let past_the_end = format!("{key}#{}", parsed.attachments.len());
        let missing: Result<FetchedFile, FetchError> =
            now(files.fetch(&past_the_end, MAX_ATTACHMENT_BYTES));
        assert!(matches!(missing, Err(FetchError::Permanent(_))));
    }
}

/// The blob store holding the one raw email.
struct OneBlob {
    key: String,
    raw: Vec<u8>,
}

#[async_trait]
impl BlobStore for OneBlob {
    async fn put(&self, _: &str, _: Blob) -> PortResult<()> {
        Ok(())
    }

    async fn get(&self, key: &str) -> PortResult<Option<Blob>> {
        Ok((key == self.key).then(|| Blob {
            content_type: "message/rfc822".into(),
            bytes: self.raw.clone(),
        }))
    }

    async fn get_versioned(&self, key: &str) -> PortResult<Option<(Blob, BlobVersion)>> {
        Ok(self
            .get(key)
            .await?
            .map(|blob| (blob, BlobVersion("the only version".into()))))
    }

    async fn put_if(&self, _: &str, _: Blob, _: Option<&BlobVersion>) -> PortResult<()> {
        Ok(())
    }

    async fn delete(&self, _: &str) -> PortResult<()> {
        Ok(())
    }
}

/// Runs a future that never waits (everything here is in memory) to its end.
fn now<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("an in-memory fetch waited"),
    }
}
