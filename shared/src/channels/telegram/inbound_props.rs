//! Properties of the update parser over generated input: parsing and normalizing never
//! panic, whatever the body, and what a real update means does not depend on how its
//! JSON is laid out or on fields Switchboard does not read.

use super::*;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

/// Every fixture, the malformed and wrongly shaped ones included.
const FIXTURES: [&str; 26] = [
    include_str!("fixtures/album_1.json"),
    include_str!("fixtures/album_2.json"),
    include_str!("fixtures/audio.json"),
    include_str!("fixtures/rating_button.json"),
    include_str!("fixtures/blocked.json"),
    include_str!("fixtures/channel_post.json"),
    include_str!("fixtures/contact_other.json"),
    include_str!("fixtures/contact_own.json"),
    include_str!("fixtures/document.json"),
    include_str!("fixtures/edited.json"),
    include_str!("fixtures/group.json"),
    include_str!("fixtures/location.json"),
    include_str!("fixtures/malformed.json"),
    include_str!("fixtures/missing_from.json"),
    include_str!("fixtures/photo.json"),
    include_str!("fixtures/poll.json"),
    include_str!("fixtures/reply.json"),
    include_str!("fixtures/start.json"),
    include_str!("fixtures/sticker.json"),
    include_str!("fixtures/text_persian.json"),
    include_str!("fixtures/unblocked.json"),
    include_str!("fixtures/unknown_kind.json"),
    include_str!("fixtures/video.json"),
    include_str!("fixtures/video_note.json"),
    include_str!("fixtures/voice.json"),
    include_str!("fixtures/wrong_shape.json"),
];

/// Field names the parser reads, so generated objects reach its fields and not only
/// its "unknown field" path.
const KNOWN_KEYS: &[&str] = &[
    "update_id",
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "my_chat_member",
    "callback_query",
    "data",
    "message_id",
    "from",
    "chat",
    "id",
    "type",
    "date",
    "edit_date",
    "text",
    "caption",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "video_note",
    "sticker",
    "location",
    "contact",
    "reply_to_message",
    "media_group_id",
    "is_bot",
    "first_name",
    "last_name",
    "username",
    "phone_number",
    "user_id",
    "file_id",
    "file_name",
    "mime_type",
    "file_size",
    "width",
    "height",
    "emoji",
    "latitude",
    "longitude",
    "new_chat_member",
    "status",
];

/// Strings with a meaning somewhere in the parser.
const KNOWN_STRINGS: &[&str] = &[
    "private",
    "group",
    "supergroup",
    "channel",
    "kicked",
    "member",
    "left",
    "/start",
    "/start@acme_bot ref",
    "",
    " ",
    "9007199254740993",
    "-1001234567890",
    "+989123456789",
    "0912 345 6789",
    "😀",
    "\u{0}",
];

fn settings(groups_enabled: bool) -> InboundSettings {
    InboundSettings {
        default_region: DefaultRegion::parse("IR").unwrap(),
        groups_enabled,
        welcome_text: Some("welcome".into()),
    }
}

/// What the webhook does with a body: parse, then normalize.
fn run(body: &[u8], groups_enabled: bool) -> Option<Normalized> {
    parse_update(body)
        .ok()
        .map(|update| normalize(&update, &settings(groups_enabled)))
        .map(|normalized| match normalized {
            // A button press carries no time of its own: it is taken when it arrives.
            Normalized::News(news) => match *news {
                crate::model::Inbound::SurveyAnswer(reply) => Normalized::News(Box::new(
                    crate::model::Inbound::SurveyAnswer(crate::model::SurveyReply {
                        received_at: chrono::DateTime::UNIX_EPOCH,
                        ..reply
                    }),
                )),
                other => Normalized::News(Box::new(other)),
            },
            other => other,
        })
}

/// The fixtures that are real updates, as JSON values.
fn valid() -> Vec<Value> {
    FIXTURES
        .iter()
        .filter(|f| parse_update(f.as_bytes()).is_ok())
        .map(|f| serde_json::from_str(f).unwrap())
        .collect()
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KNOWN_KEYS).prop_map(str::to_owned),
        "[a-z_]{1,12}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            Just(-1),
            Just(1_735_732_800)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(KNOWN_STRINGS).prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Every node of `value`, as JSON pointers, the root first.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (k, v) in members {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn objects(value: &Value) -> Vec<String> {
    let mut all = Vec::new();
    pointers(value, String::new(), &mut all);
    all.retain(|p| value.pointer(p).is_some_and(Value::is_object));
    all
}

/// One change to a real update.
#[derive(Clone, Debug)]
enum Mutation {
    /// A node becomes any other value.
    Replace(Index, Value),
    /// A member of an object goes.
    Remove(Index, Index),
    /// An object gains (or changes) a member.
    Insert(Index, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), json()).prop_map(|(at, v)| Mutation::Replace(at, v)),
        (any::<Index>(), any::<Index>()).prop_map(|(at, k)| Mutation::Remove(at, k)),
        (any::<Index>(), key(), json()).prop_map(|(at, k, v)| Mutation::Insert(at, k, v)),
    ]
}

/// The object `at` picks among all of `value`'s objects.
fn object<'v>(value: &'v mut Value, at: &Index) -> Option<&'v mut serde_json::Map<String, Value>> {
    let objects = objects(value);
    if objects.is_empty() {
        return None;
    }
    let pointer = &objects[at.index(objects.len())];
    value.pointer_mut(pointer).and_then(Value::as_object_mut)
}

fn apply(value: &mut Value, mutation: &Mutation) {
    match mutation {
        Mutation::Replace(at, new) => {
            let mut all = Vec::new();
            pointers(value, String::new(), &mut all);
            if let Some(node) = value.pointer_mut(&all[at.index(all.len())]) {
                *node = new.clone();
            }
        }
        Mutation::Remove(at, which) => {
            if let Some(members) = object(value, at)
                && let Some(k) = members
                    .keys()
                    .nth(which.index(members.len().max(1)))
                    .cloned()
            {
                members.remove(&k);
            }
        }
        Mutation::Insert(at, k, new) => {
            if let Some(members) = object(value, at) {
                members.insert(k.clone(), new.clone());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_byte_string_makes_the_parser_panic(body in prop::collection::vec(any::<u8>(), 0..400), groups in any::<bool>()) {
        run(&body, groups);
    }

    #[test]
    fn no_json_value_makes_the_parser_panic(value in json(), groups in any::<bool>()) {
        run(value.to_string().as_bytes(), groups);
        // The same value as the body of each update kind, where the parser looks hardest.
        for kind in ["message", "edited_message", "my_chat_member", "callback_query"] {
            let update = serde_json::json!({ "update_id": 1, kind: value.clone() });
            run(update.to_string().as_bytes(), groups);
        }
    }

    #[test]
    fn no_mutation_of_a_real_update_makes_the_parser_panic(
        fixture in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
        groups in any::<bool>(),
    ) {
        let fixtures = valid();
        let mut value = fixtures[fixture.index(fixtures.len())].clone();
        for m in &mutations {
            apply(&mut value, m);
        }
        run(value.to_string().as_bytes(), groups);
    }

    #[test]
    fn no_cut_or_changed_byte_makes_the_parser_panic(
        fixture in any::<Index>(),
        cut in any::<Index>(),
        flips in prop::collection::vec((any::<Index>(), any::<u8>()), 0..4),
    ) {
        let mut body = FIXTURES[fixture.index(FIXTURES.len())].as_bytes().to_vec();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        body.truncate(cut.index(body.len() + 1));
        run(&body, true);
    }

    #[test]
    fn a_real_update_means_the_same_whatever_its_layout_and_unknown_fields(
        fixture in any::<Index>(),
        extra in prop::collection::vec((any::<Index>(), "x_[a-z]{1,8}", json()), 0..4),
        pretty in any::<bool>(),
        groups in any::<bool>(),
    ) {
        let fixtures = valid();
        let original = &fixtures[fixture.index(fixtures.len())];
        let expected = run(original.to_string().as_bytes(), groups);
        prop_assert!(expected.is_some());
        let mut changed = original.clone();
        for (at, k, v) in extra {
            apply(&mut changed, &Mutation::Insert(at, k, v));
        }
        let body = if pretty {
            serde_json::to_vec_pretty(&changed).unwrap()
        } else {
            serde_json::to_vec(&changed).unwrap()
        };
        prop_assert_eq!(run(&body, groups), expected.clone());
        // And the same body twice gives the same answer.
        prop_assert_eq!(run(&body, groups), expected);
    }
}

#[test]
fn the_properties_run_on_real_updates() {
    assert!(valid().len() >= 20, "{} fixtures parse", valid().len());
}
