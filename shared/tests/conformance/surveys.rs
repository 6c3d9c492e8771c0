//! The survey store's contract, on SQLite and on DynamoDB: settings read back as saved;
//! a survey opens once per conversation and number, never to a contact asked since the
//! quiet time, with its event on the timeline; a number's bare rating finds the survey
//! sent to it; an answer saves only on the version read, with its event.

use crate::store::{email, inbound, now, phone, route};
use chrono::Duration;
use shared::backend::Store;
use shared::model::{
    Channel, Event, EventKind, Survey, SurveyAnswer, SurveySettings, TeamId, TimelineItem,
};
use shared::ports::{PageRequest, PortError};

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        settings_read_back_as_saved,
        a_survey_opens_once_and_not_to_a_contact_asked_lately,
        an_answer_saves_on_the_version_read_with_its_event,
    ]
);

async fn settings_read_back_as_saved(store: &dyn Store) {
    let settings = SurveySettings {
        enabled: true,
        quiet_days: 14,
        nps: true,
        teams_off: vec![TeamId::new()],
    };
    store.save_survey_settings(&settings).await.unwrap();
    assert_eq!(store.survey_settings().await.unwrap(), settings);
    let off = SurveySettings {
        enabled: false,
        ..SurveySettings::default()
    };
    store.save_survey_settings(&off).await.unwrap();
    assert_eq!(store.survey_settings().await.unwrap(), off);
    store
        .save_survey_settings(&SurveySettings::default())
        .await
        .unwrap();
}

fn survey(
    conversation: shared::model::ConversationId,
    contact: shared::model::ContactId,
    number: u32,
) -> Survey {
    Survey {
        conversation_id: conversation,
        contact_id: contact,
        number,
        channel: Channel::Sms,
        resolved_at: now(),
        sent_at: now(),
        team_id: None,
        agent_id: None,
        to: None,
        waits_on: None,
        answer: None,
        version: 0,
    }
}

fn sent(s: &Survey) -> Event {
    Event::new(
        s.conversation_id,
        EventKind::SurveySent {
            number: s.number,
            channel: s.channel,
        },
        None,
        s.sent_at,
    )
}

async fn has_event(store: &dyn Store, event: &Event) -> bool {
    let timeline = store
        .timeline(event.conversation_id, &PageRequest::first(50))
        .await
        .unwrap();
    timeline
        .items
        .iter()
        .any(|i| matches!(i, TimelineItem::Event(e) if e == event))
}

async fn a_survey_opens_once_and_not_to_a_contact_asked_lately(store: &dyn Store) {
    let unique = shared::model::ConversationId::new().to_string();
    let number = format!(
        "+1415555{}",
        &unique[unique.len() - 4..]
            .bytes()
            .map(|b| char::from(b'0' + b % 10))
            .collect::<String>()
    );
    let first = route(
        store,
        &inbound(
            &format!("{unique}-1"),
            vec![(phone(&number), true)],
            "first",
        ),
    )
    .await;
    assert_eq!(store.survey(first.conversation).await.unwrap(), None);

    let key = phone(&number).key();
    let asked = Survey {
        waits_on: Some(key.clone()),
        ..survey(first.conversation, first.contact, 1)
    };
    let event = sent(&asked);
    let quiet_since = now() - Duration::days(30);
    assert!(
        store
            .open_survey(&asked, None, quiet_since, &event)
            .await
            .unwrap()
    );
    let stored = store.survey(first.conversation).await.unwrap().unwrap();
    assert_eq!(
        stored,
        Survey {
            version: 1,
            ..asked.clone()
        }
    );
    assert!(has_event(store, &event).await);
    assert_eq!(
        store.survey_waiting(&key).await.unwrap(),
        Some(first.conversation)
    );
    assert_eq!(
        store
            .survey_waiting(&email("nobody@example.com").key())
            .await
            .unwrap(),
        None
    );

    // The same survey again (a batch handed over twice): not opened, no second event.
    let twice = sent(&asked);
    assert!(
        !store
            .open_survey(&asked, None, quiet_since, &twice)
            .await
            .unwrap()
    );
    assert!(!has_event(store, &twice).await);

    // The contact's other conversation, while the quiet time holds: not asked.
    let second = route(
        store,
        &inbound(
            &format!("{unique}-2"),
            vec![
                (email(&format!("{unique}@example.com")), true),
                (phone(&number), true),
            ],
            "second",
        ),
    )
    .await;
    assert_eq!(second.contact, first.contact);
    let other = if second.conversation == first.conversation {
        // Joined the same open conversation: its next survey is number 2.
        Survey {
            number: 2,
            ..survey(first.conversation, first.contact, 2)
        }
    } else {
        survey(second.conversation, first.contact, 1)
    };
    let previous = (other.conversation_id == first.conversation).then_some(1);
    let refused = sent(&other);
    assert!(
        !store
            .open_survey(&other, previous, quiet_since, &refused)
            .await
            .unwrap()
    );
    assert!(!has_event(store, &refused).await);
    // Once the quiet time is over, it is.
    let later = Survey {
        sent_at: now() + Duration::seconds(5),
        ..other.clone()
    };
    let opened = sent(&later);
    assert!(
        store
            .open_survey(&later, previous, now() + Duration::seconds(1), &opened)
            .await
            .unwrap()
    );
    assert!(has_event(store, &opened).await);
}

async fn an_answer_saves_on_the_version_read_with_its_event(store: &dyn Store) {
    let unique = shared::model::ConversationId::new().to_string();
    let r = route(
        store,
        &inbound(
            &unique,
            vec![(email(&format!("{unique}@example.com")), true)],
            "help",
        ),
    )
    .await;
    let asked = Survey {
        channel: Channel::Email,
        ..survey(r.conversation, r.contact, 1)
    };
    assert!(
        store
            .open_survey(&asked, None, now() - Duration::days(30), &sent(&asked))
            .await
            .unwrap()
    );
    let stored = store.survey(r.conversation).await.unwrap().unwrap();
    let answer = SurveyAnswer::new(5, Some(9), Some("Thanks!"), now()).unwrap();
    let answered = Survey {
        answer: Some(answer.clone()),
        ..stored.clone()
    };
    let event = Event::new(
        r.conversation,
        EventKind::CsatRated {
            number: 1,
            rating: 5,
            nps: Some(9),
            comment: Some("Thanks!".into()),
        },
        None,
        now(),
    );
    let saved = store.answer_survey(&answered, &event).await.unwrap();
    assert_eq!(saved.version, stored.version + 1);
    assert_eq!(
        store.survey(r.conversation).await.unwrap(),
        Some(saved.clone())
    );
    assert!(has_event(store, &event).await);
    assert_eq!(
        store.event(r.conversation, event.id).await.unwrap(),
        Some(event)
    );

    // Answered again on the version first read: refused, and no event is written.
    let stale_event = Event::new(
        r.conversation,
        EventKind::CsatRated {
            number: 1,
            rating: 1,
            nps: None,
            comment: None,
        },
        None,
        now(),
    );
    let stale = store.answer_survey(&answered, &stale_event).await;
    assert!(matches!(stale, Err(PortError::Conflict(_))), "{stale:?}");
    assert!(!has_event(store, &stale_event).await);
    assert_eq!(
        store.survey(r.conversation).await.unwrap().unwrap().answer,
        Some(answer)
    );
}
