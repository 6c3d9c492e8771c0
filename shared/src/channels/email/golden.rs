//! Every fixture beside its expected parse. `UPDATE_GOLDEN=1 cargo test -p shared
//! email::golden` rewrites the `.json` files; review the diff before committing it.

use super::{
    InboundSettings, ParseError, ParseSettings, normalize, parse_email, raw_key, source_id,
};
use proptest::prelude::*;

macro_rules! fixtures {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_bytes!(concat!("fixtures/", $name, ".eml")).as_slice())),*]
    };
}

const FIXTURES: [(&str, &[u8]); 14] = fixtures!(
    "plain",
    "alternative",
    "html_only",
    "persian_windows1256",
    "persian_utf8_base64",
    "arabic_iso8859_6_qp",
    "attachments",
    "gmail_reply",
    "outlook_reply",
    "auto_reply",
    "dsn_bounce",
    "mailing_list",
    "own_domain",
    "broken_headers",
);

fn settings() -> ParseSettings {
    ParseSettings {
        own_domains: vec!["switchboard.test".into()],
        max_attachment_bytes: 4096,
    }
}

fn golden_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/channels/email/fixtures")
        .join(format!("{name}.json"))
}

#[test]
fn every_fixture_parses_as_its_golden_file_says() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatched = Vec::new();
    for (name, raw) in FIXTURES {
        let parsed = parse_email(raw, &settings()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let actual = serde_json::to_string_pretty(&parsed).unwrap() + "\n";
        let path = golden_path(name);
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            mismatched.push(format!("{name}:\n{actual}"));
        }
    }
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}

#[test]
fn empty_and_headerless_bodies_are_not_emails() {
    assert_eq!(parse_email(b"", &settings()), Err(ParseError::Empty));
    assert_eq!(parse_email(b" \r\n ", &settings()), Err(ParseError::Empty));
    assert!(parse_email(b"\x00\x01\x02", &settings()).is_err());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parser(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_email(&raw, &settings());
    }

    #[test]
    fn mangled_fixtures_never_panic_the_parser_or_normalizer(
        which in 0..FIXTURES.len(),
        cut in 0usize..4096,
        flips in proptest::collection::vec((0usize..4096, any::<u8>()), 0..16),
    ) {
        let mut raw = FIXTURES[which].1.to_vec();
        for (at, byte) in flips {
            if !raw.is_empty() {
                let at = at % raw.len();
                raw[at] = byte;
            }
        }
        raw.truncate(cut.max(1));
        if let Ok(parsed) = parse_email(&raw, &settings()) {
            let source = source_id(&parsed, &raw);
            let _ = normalize(&parsed, source, &raw_key(&raw), &InboundSettings::default());
        }
    }
}
