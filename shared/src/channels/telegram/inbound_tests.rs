use super::*;

const SARA: i64 = 9_007_199_254_740_993;

fn settings() -> InboundSettings {
    InboundSettings {
        default_region: DefaultRegion::parse("IR").unwrap(),
        groups_enabled: false,
        welcome_text: Some("سلام! چطور می‌توانیم کمک کنیم؟".into()),
    }
}

fn normalized(fixture: &str) -> Normalized {
    normalize(&parse_update(fixture.as_bytes()).unwrap(), &settings())
}

fn message(fixture: &str) -> InboundMessage {
    match normalized(fixture) {
        Normalized::Message(m) => *m,
        other => panic!("not a message: {other:?}"),
    }
}

fn signal(fixture: &str) -> ChannelSignal {
    match normalized(fixture) {
        Normalized::News(news) => match *news {
            Inbound::Signal(signal) => signal,
            other => panic!("not a signal: {other:?}"),
        },
        other => panic!("not news: {other:?}"),
    }
}

fn ignored(fixture: &str) -> &'static str {
    match normalized(fixture) {
        Normalized::Ignored(why) => why,
        other => panic!("expected it ignored, got {other:?}"),
    }
}

#[test]
fn persian_text_with_emoji_is_kept_exactly_and_the_sender_is_proven() {
    let m = message(include_str!("fixtures/text_persian.json"));
    assert_eq!(m.text, "سلام، درگاه پرداخت کار نمی‌کند 😟 لطفاً کمک کنید");
    assert_eq!(m.channel, Channel::Telegram);
    assert_eq!(m.source_id.as_str(), format!("telegram:{SARA}:101"));
    assert_eq!(
        m.identities,
        vec![PresentedIdentity::proven(Identity::telegram(SARA))]
    );
    assert_eq!(m.sender_name.as_deref(), Some("سارا احمدی"));
    assert_eq!(m.received_at.timestamp(), 1_735_732_800);
    assert_eq!(m.ordering_key(), format!("telegram:{SARA}"));
    assert!(m.auto_reply.is_none() && m.attachments.is_empty());
}

#[test]
fn start_asks_for_the_welcome_text_and_only_when_one_is_configured() {
    let m = message(include_str!("fixtures/start.json"));
    assert_eq!(m.auto_reply, settings().welcome_text);
    let update = parse_update(include_str!("fixtures/start.json").as_bytes()).unwrap();
    let quiet = InboundSettings {
        welcome_text: None,
        ..settings()
    };
    let Normalized::Message(m) = normalize(&update, &quiet) else {
        panic!("stored")
    };
    assert_eq!(m.auto_reply, None);
    assert!(is_start(Some("/start@acme_bot")) && is_start(Some("/start ref-42")));
    assert!(!is_start(Some("/started")) && !is_start(Some("hi /start")));
}

#[test]
fn an_agents_link_code_is_news_for_the_router_and_never_a_customer_message() {
    let raw = include_str!("fixtures/start_link.json");
    let update = parse_update(raw.as_bytes()).unwrap();
    let Normalized::News(news) = normalize(&update, &settings()) else {
        panic!("a link code was taken for a message")
    };
    let Inbound::AgentLink(link) = *news else {
        panic!("not a link: {news:?}")
    };
    assert_eq!(link.chat_id, 5_550_001);
    assert_eq!(
        link.link_code,
        "ag_01jd8x3m6k9q0w5e2r7t4y1v3h-abcdefghijklmnopqrstuvwx"
    );
    assert_eq!(link.received_at.timestamp(), 1_735_732_900);
    // Only from a private chat (elsewhere it is dropped, never stored), and only a code
    // that reads as one.
    let in_group = raw.replace("\"type\": \"private\"", "\"type\": \"group\"");
    let grouped = InboundSettings {
        groups_enabled: true,
        ..settings()
    };
    assert!(matches!(
        normalize(&parse_update(in_group.as_bytes()).unwrap(), &grouped),
        Normalized::Ignored(_)
    ));
    let not_a_code = raw.replace("-abcdefghijklmnopqrstuvwx", "-ref42");
    assert!(matches!(
        normalize(&parse_update(not_a_code.as_bytes()).unwrap(), &settings()),
        Normalized::Message(_)
    ));
    assert_eq!(start_payload(Some("/start@acme_bot  x1 ")), Some("x1"));
    assert_eq!(start_payload(Some("/start")), None);
    assert_eq!(start_payload(Some("/startx y")), None);
}

#[test]
fn a_photo_keeps_its_largest_size_and_its_caption() {
    let m = message(include_str!("fixtures/photo.json"));
    assert_eq!(m.text, "رسید پرداخت 🧾");
    assert_eq!(m.attachments.len(), 1);
    let a = &m.attachments[0];
    assert_eq!(a.provider_ref.as_deref(), Some("AgACAgQAAxkBAAIBlarge"));
    assert_eq!(a.content_type, "image/jpeg");
    assert_eq!(a.size, 98_200);
    assert!(!a.is_stored());
}

#[test]
fn documents_voice_audio_video_and_video_notes_become_attachments() {
    let cases = [
        (
            include_str!("fixtures/document.json"),
            "BQACAgQAAxkBAAIBdoc",
            "فاکتور-۱۴۰۳.pdf",
            "application/pdf",
        ),
        (
            include_str!("fixtures/voice.json"),
            "AwACAgQAAxkBAAIBvoice",
            "voice.ogg",
            "audio/ogg",
        ),
        (
            include_str!("fixtures/audio.json"),
            "CQACAgQAAxkBAAIBaudio",
            "recording.mp3",
            "audio/mpeg",
        ),
        (
            include_str!("fixtures/video.json"),
            "BAACAgQAAxkBAAIBvideo",
            "video.mp4",
            "video/mp4",
        ),
        (
            include_str!("fixtures/video_note.json"),
            "DQACAgQAAxkBAAIBnote",
            "video_note.mp4",
            "video/mp4",
        ),
    ];
    for (fixture, file_id, name, content_type) in cases {
        let m = message(fixture);
        assert_eq!(m.attachments.len(), 1, "{file_id}");
        let a = &m.attachments[0];
        assert_eq!(a.provider_ref.as_deref(), Some(file_id));
        assert_eq!(a.filename.as_deref(), Some(name));
        assert_eq!(a.content_type, content_type);
    }
    assert_eq!(
        message(include_str!("fixtures/video.json")).text,
        "the app crashes here"
    );
}

#[test]
fn a_sticker_is_its_emoji_and_a_location_its_coordinates() {
    let sticker = message(include_str!("fixtures/sticker.json"));
    assert_eq!(sticker.text, "👍");
    assert!(sticker.attachments.is_empty());
    let location = message(include_str!("fixtures/location.json"));
    assert_eq!(location.text, "Location: 35.689198, 51.388973");
}

#[test]
fn a_contact_shared_of_oneself_is_a_proven_linking_phone() {
    let m = message(include_str!("fixtures/contact_own.json"));
    assert_eq!(m.identities.len(), 2);
    let phone = &m.identities[1];
    assert_eq!(
        phone.identity,
        Identity::phone(&PhoneNumber::from_e164("+989123456789").unwrap())
    );
    assert!(phone.proven && phone.links);
    assert_eq!(m.text, "Contact: سارا احمدی, +989123456789");
}

#[test]
fn a_contact_card_of_someone_else_is_just_a_message() {
    let m = message(include_str!("fixtures/contact_other.json"));
    assert_eq!(m.identities.len(), 1, "only the sender");
    assert_eq!(m.text, "Contact: Reza, +98 935 111 2233");
}

#[test]
fn a_reply_refers_to_the_message_it_answers() {
    let m = message(include_str!("fixtures/reply.json"));
    assert_eq!(m.text, "هنوز درست نشده");
    assert_eq!(
        m.reply_to.as_ref().map(SourceId::as_str),
        Some(format!("telegram:{SARA}:101").as_str())
    );
}

#[test]
fn an_albums_photos_share_their_media_group() {
    let first = message(include_str!("fixtures/album_1.json"));
    let second = message(include_str!("fixtures/album_2.json"));
    assert_eq!(first.media_group.as_deref(), Some("13912345678901234"));
    assert_eq!(first.media_group, second.media_group);
    assert_ne!(first.source_id, second.source_id);
    assert_eq!(
        second.attachments[0].provider_ref.as_deref(),
        Some("album-2-large")
    );
    assert_eq!(second.text, "", "a photo without a caption has no text");
}

#[test]
fn an_edit_is_a_new_message_that_names_the_original() {
    let original = message(include_str!("fixtures/text_persian.json"));
    let edit = message(include_str!("fixtures/edited.json"));
    assert_eq!(edit.edit_of.as_ref(), Some(&original.source_id));
    assert_ne!(edit.source_id, original.source_id);
    assert_eq!(edit.text, "سلام، درگاه پرداخت از صبح کار نمی‌کند 😟");
    assert_eq!(edit.received_at.timestamp(), 1_735_733_100);
    assert_eq!(edit.auto_reply, None);
}

#[test]
fn blocking_and_unblocking_the_bot_are_signals_about_the_sender() {
    let blocked = signal(include_str!("fixtures/blocked.json"));
    assert_eq!(blocked.signal, Reachability::Blocked);
    assert_eq!(blocked.identities[0].identity, Identity::telegram(SARA));
    assert_eq!(blocked.source_id.as_str(), "telegram:update:873000017");
    let unblocked = signal(include_str!("fixtures/unblocked.json"));
    assert_eq!(unblocked.signal, Reachability::Unblocked);
}

#[test]
fn groups_are_ignored_unless_enabled_and_channel_posts_always() {
    ignored(include_str!("fixtures/group.json"));
    ignored(include_str!("fixtures/channel_post.json"));
    let update = parse_update(include_str!("fixtures/group.json").as_bytes()).unwrap();
    let groups = InboundSettings {
        groups_enabled: true,
        ..settings()
    };
    let Normalized::Message(m) = normalize(&update, &groups) else {
        panic!("a group message is taken when groups are enabled")
    };
    assert_eq!(m.source_id.as_str(), "telegram:-1001234567890:5001");
    assert_eq!(m.identities[0].identity, Identity::telegram(SARA));
}

#[test]
fn a_private_message_without_from_belongs_to_the_chat() {
    let m = message(include_str!("fixtures/missing_from.json"));
    assert_eq!(m.identities[0].identity, Identity::telegram(SARA));
    assert_eq!(m.sender_name, None);
}

#[test]
fn unknown_update_kinds_are_ignored_and_unknown_message_kinds_kept_visible() {
    ignored(include_str!("fixtures/unknown_kind.json"));
    let poll = message(include_str!("fixtures/poll.json"));
    assert!(poll.text.contains("does not show"));
}

#[test]
fn malformed_and_wrongly_shaped_bodies_are_errors_not_panics() {
    assert!(parse_update(include_bytes!("fixtures/malformed.json")).is_err());
    assert!(parse_update(include_bytes!("fixtures/wrong_shape.json")).is_err());
    assert!(parse_update(b"").is_err());
    assert!(parse_update(b"[]").is_err());
}

#[test]
fn a_rating_button_press_is_news_for_the_router_and_other_buttons_are_ignored() {
    let raw = include_str!("fixtures/rating_button.json");
    let Normalized::News(news) = normalized(raw) else {
        panic!("a rating is news")
    };
    let Inbound::SurveyAnswer(reply) = *news else {
        panic!("not a survey answer: {news:?}")
    };
    assert_eq!(reply.rating, 4);
    assert_eq!(
        reply.survey_token,
        "01jd8x3m6k9q0w5e2r7t4y1v3h-1.0123456789abcdef"
    );
    assert_eq!(
        reply.callback_query_id.as_deref(),
        Some("3871233914571880103")
    );
    assert_eq!(
        reply.source_id.as_str(),
        "telegram:callback:3871233914571880103"
    );
    for data in [
        "csat:01jd8x3m6k9q0w5e2r7t4y1v3h-1.0123456789abcdef:9",
        "csat:01jd8x3m6k9q0w5e2r7t4y1v3h-1.0123456789abcdef",
        "menu:4",
        "",
    ] {
        let other = raw.replace(
            "\"data\": \"csat:01jd8x3m6k9q0w5e2r7t4y1v3h-1.0123456789abcdef:4\"",
            &format!("\"data\": \"{data}\""),
        );
        assert_ne!(other, raw);
        ignored(&other);
    }
}
