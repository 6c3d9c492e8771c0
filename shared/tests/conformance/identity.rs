//! Access only by proof, on both stores: what a party merely typed never joins, extends
//! or merges an existing contact, and a message keeps the addresses it came from.

use crate::store::{email, inbound, messages_in, phone, route};
use chrono::{Duration, Utc};
use shared::backend::Store;
use shared::model::{Channel, ContactId, Identity, InboundMessage, PresentedIdentity};
use shared::ports::PendingProof;

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [
        a_web_form_submission_never_lands_on_an_existing_contact_and_both_sides_see_the_suggestion,
        a_phone_shared_of_oneself_never_joins_a_contact_that_only_typed_it,
        a_reported_email_never_joins_a_contact_that_only_typed_it,
        a_message_keeps_the_addresses_it_came_from,
        an_idempotency_key_keeps_its_first_value_until_it_expires,
        a_pending_proof_is_taken_once_and_never_once_expired,
        tries_are_counted_one_by_one_even_at_once_and_apart_by_key,
        a_proof_proves_a_typed_address_or_folds_into_its_proven_holder,
        an_address_typed_again_and_again_costs_each_submission_a_bounded_amount,
    ]
);

/// A web-form submission: everything on it typed.
fn submission(source: &str, typed: Vec<Identity>, text: &str) -> InboundMessage {
    InboundMessage {
        channel: Channel::Web,
        identities: typed.into_iter().map(PresentedIdentity::typed).collect(),
        ..inbound(source, vec![], text)
    }
}

async fn suggested_to(store: &dyn Store, contact: ContactId) -> Vec<ContactId> {
    let held = store.contact(contact).await.unwrap().unwrap();
    held.merge_suggestions
        .iter()
        .map(|s| s.other_contact_id)
        .collect()
}

async fn a_web_form_submission_never_lands_on_an_existing_contact_and_both_sides_see_the_suggestion(
    store: &dyn Store,
) {
    let victim_email = email("victim@example.com");
    let victim = route(
        store,
        &inbound(
            "v1",
            vec![(victim_email.clone(), false)],
            "my card number is …",
        ),
    )
    .await;
    let first_form = route(
        store,
        &submission("f1", vec![victim_email.clone()], "from the site"),
    )
    .await;
    assert_ne!(first_form.contact, victim.contact);
    assert_ne!(first_form.conversation, victim.conversation);
    // A second submission typing the same address does not join the first either.
    let second_form = route(
        store,
        &submission(
            "f2",
            vec![victim_email.clone(), phone("+14155550100")],
            "again",
        ),
    )
    .await;
    assert_ne!(second_form.contact, first_form.contact);
    assert_ne!(second_form.conversation, first_form.conversation);
    assert_eq!(messages_in(store, victim.conversation).await.len(), 1);

    let held = store.contact(victim.contact).await.unwrap().unwrap();
    assert_eq!(
        held.identities.len(),
        1,
        "the victim gained nothing: {held:?}"
    );
    let mut victims_side = suggested_to(store, victim.contact).await;
    victims_side.sort();
    let mut expected = vec![first_form.contact, second_form.contact];
    expected.sort();
    assert_eq!(victims_side, expected, "the suggestions show on both sides");
    assert!(
        suggested_to(store, second_form.contact)
            .await
            .contains(&victim.contact)
    );
    let typed = store.contact(second_form.contact).await.unwrap().unwrap();
    assert!(
        typed.identities.iter().all(|i| i.typed && !i.proven),
        "{typed:?}"
    );
}

async fn a_phone_shared_of_oneself_never_joins_a_contact_that_only_typed_it(store: &dyn Store) {
    let number = phone("+989123456789");
    let by_form = route(
        store,
        &submission("form", vec![number.clone()], "typed someone's number"),
    )
    .await;
    let mut share = inbound(
        "tg-share",
        vec![(Identity::telegram(7), true), (number.clone(), true)],
        "Contact: +989123456789",
    );
    share.channel = Channel::Telegram;
    share.identities[1].links = true;
    let owner = route(store, &share).await;
    assert_ne!(owner.contact, by_form.contact, "no capture");
    assert_ne!(owner.conversation, by_form.conversation);
    let on_telegram = store.contact(owner.contact).await.unwrap().unwrap();
    assert!(
        on_telegram
            .identities
            .iter()
            .any(|i| i.identity == number && i.proven),
        "the number is proven on the Telegram user's own contact"
    );
    assert!(
        suggested_to(store, by_form.contact)
            .await
            .contains(&owner.contact)
    );
    // The owner's next message stays theirs.
    let mut next = inbound("tg-next", vec![(Identity::telegram(7), true)], "hello");
    next.channel = Channel::Telegram;
    let again = route(store, &next).await;
    assert_eq!(again.conversation, owner.conversation);
    assert_eq!(messages_in(store, by_form.conversation).await.len(), 1);
}

async fn a_reported_email_never_joins_a_contact_that_only_typed_it(store: &dyn Store) {
    let address = email("sara@example.com");
    let by_form = route(store, &submission("form", vec![address.clone()], "typed")).await;
    let mailed = route(
        store,
        &inbound("mail-1", vec![(address.clone(), false)], "by email"),
    )
    .await;
    assert_ne!(mailed.contact, by_form.contact);
    // Reported joins reported: the next email from the address continues its thread.
    let again = route(
        store,
        &inbound("mail-2", vec![(address, false)], "by email again"),
    )
    .await;
    assert_eq!(again.contact, mailed.contact);
    assert_eq!(again.conversation, mailed.conversation);
}

async fn a_message_keeps_the_addresses_it_came_from(store: &dyn Store) {
    let typed = vec![email("sam@example.com"), phone("+14155550123")];
    let r = route(store, &submission("form", typed.clone(), "hi")).await;
    let stored = store.message(r.message).await.unwrap().unwrap();
    assert_eq!(stored.sent_from, typed);
    let timeline = messages_in(store, r.conversation).await;
    assert_eq!(timeline[0].sent_from, typed);
}

async fn an_idempotency_key_keeps_its_first_value_until_it_expires(store: &dyn Store) {
    let later = Utc::now() + Duration::hours(1);
    let first = store
        .remember("k-digest", "first".into(), later)
        .await
        .unwrap();
    assert_eq!(first, "first");
    let second = store
        .remember("k-digest", "second".into(), later)
        .await
        .unwrap();
    assert_eq!(second, "first");
    let racing = futures_both(store, "k-race").await;
    assert_eq!(racing.0, racing.1, "racing writers read one value");

    let past = Utc::now() - Duration::seconds(1);
    store
        .remember("k-expired", "old".into(), past)
        .await
        .unwrap();
    let renewed = store
        .remember("k-expired", "new".into(), later)
        .await
        .unwrap();
    assert_eq!(renewed, "new", "an expired key is free again");
}

async fn futures_both(store: &dyn Store, key: &str) -> (String, String) {
    let later = Utc::now() + Duration::hours(1);
    let (a, b) = tokio::join!(
        store.remember(key, "a".into(), later),
        store.remember(key, "b".into(), later)
    );
    (a.unwrap(), b.unwrap())
}

async fn a_pending_proof_is_taken_once_and_never_once_expired(store: &dyn Store) {
    let r = route(store, &submission("p", vec![email("p@example.com")], "hi")).await;
    let proof = PendingProof {
        contact_id: r.contact,
        conversation_id: r.conversation,
        identity: email("p@example.com"),
    };
    let later = Utc::now() + Duration::hours(1);
    store.put_proof("good", &proof, later).await.unwrap();
    assert_eq!(store.take_proof("good").await.unwrap(), Some(proof.clone()));
    assert_eq!(store.take_proof("good").await.unwrap(), None, "once");
    assert_eq!(store.take_proof("never-kept").await.unwrap(), None);
    store
        .put_proof("stale", &proof, Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(store.take_proof("stale").await.unwrap(), None, "expired");
}

async fn tries_are_counted_one_by_one_even_at_once_and_apart_by_key(store: &dyn Store) {
    let until = Utc::now() + Duration::hours(1);
    let key = format!("tries-{}", ContactId::new());
    assert_eq!(store.count_try(&key, until).await.unwrap(), 1);
    assert_eq!(store.count_try(&key, until).await.unwrap(), 2);
    // Tries sent at once are each counted: the counts seen are all different.
    let mut seen: Vec<u32> =
        futures::future::join_all((0..8).map(|_| store.count_try(&key, until)))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    seen.sort_unstable();
    assert_eq!(seen, (3..=10).collect::<Vec<u32>>());
    // Another key counts on its own.
    let other = format!("tries-{}", ContactId::new());
    assert_eq!(store.count_try(&other, until).await.unwrap(), 1);
    // Forgotten, a key counts from one again; the other keeps its count.
    store.forget_tries(&key).await.unwrap();
    assert_eq!(store.count_try(&key, until).await.unwrap(), 1);
    assert_eq!(store.count_try(&other, until).await.unwrap(), 2);
    store.forget_tries("never-counted").await.unwrap();
}

async fn a_proof_proves_a_typed_address_or_folds_into_its_proven_holder(store: &dyn Store) {
    let address = email("owner@example.com");
    let form = route(store, &submission("f", vec![address.clone()], "typed")).await;
    let proof = PendingProof {
        contact_id: form.contact,
        conversation_id: form.conversation,
        identity: address.clone(),
    };
    let holder = store.prove_identity(&proof, Utc::now()).await.unwrap();
    assert_eq!(holder, Some(form.contact));
    let held = store.contact(form.contact).await.unwrap().unwrap();
    assert!(
        held.identities
            .iter()
            .any(|i| i.identity == address && i.proven && !i.typed),
        "{held:?}"
    );
    assert_eq!(
        store.prove_identity(&proof, Utc::now()).await.unwrap(),
        None,
        "repeating it changes nothing"
    );
    // The proven rules now hold: an authenticated email from it joins this contact.
    let mut mail = inbound("m", vec![(address.clone(), true)], "by email");
    mail.channel = Channel::Email;
    assert_eq!(route(store, &mail).await.contact, form.contact);

    // A second page that typed the same address, proving it, becomes that person.
    let second = route(store, &submission("f2", vec![address.clone()], "again")).await;
    assert_ne!(second.contact, form.contact);
    let folded = store
        .prove_identity(
            &PendingProof {
                contact_id: second.contact,
                conversation_id: second.conversation,
                identity: address,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(folded, Some(form.contact));
    assert!(store.contact(second.contact).await.unwrap().is_none());
    let moved = store
        .conversation(second.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.contact_id, form.contact);
}

async fn an_address_typed_again_and_again_costs_each_submission_a_bounded_amount(
    store: &dyn Store,
) {
    let address = email("popular@example.com");
    let customer = route(
        store,
        &inbound("pop-owner", vec![(address.clone(), false)], "hi"),
    )
    .await;
    let kept = shared::model::MAX_MERGE_SUGGESTIONS;
    let mut last = None;
    for n in 0..kept + 2 {
        last = Some(
            route(
                store,
                &submission(&format!("pop-{n}"), vec![address.clone()], "hi"),
            )
            .await,
        );
    }
    let last = last.unwrap();
    let suggestions = suggested_to(store, last.contact).await;
    assert_eq!(
        suggestions.len(),
        1 + shared::services::route::MAX_TYPED_OWNERS_READ,
        "the customer, and the newest form before: {suggestions:?}"
    );
    assert!(
        suggestions.contains(&customer.contact),
        "the customer who wrote from the address is always among those read: {suggestions:?}"
    );
    let on_customer = suggested_to(store, customer.contact).await;
    assert_eq!(
        on_customer.len(),
        kept,
        "the customer keeps only the newest suggestions, however often the address is typed"
    );
    assert!(on_customer.contains(&last.contact));
}
