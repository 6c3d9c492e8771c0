//! The report store's contract, on SQLite and on DynamoDB: a conversation's track saves
//! only on the version read, with its counters added in the same write or not at all,
//! and a dimension's counters add up per metric over a range of half hours, or are read
//! half hour by half hour; the tags counted are known.

use shared::backend::Store;
use shared::model::{
    BUCKET_SECS, ConversationId, Count, DAY_SECS, Dimension, Grain, Metric, ReportTrack, bin_of,
};
use shared::ports::PortError;

on_both_backends!(
    embedded: crate::backends::embedded_store,
    aws: crate::backends::dynamo_store,
    tests: [counters_add_up_with_the_track_saved_on_its_version]
);

fn count(dimension: &Dimension, bucket: i64, metric: Metric, secs: Option<i64>, n: i64) -> Count {
    Count {
        dimension: dimension.clone(),
        grain: Grain::HalfHour,
        bucket,
        metric,
        bin: secs.map_or(0, |s| bin_of(s as u64)),
        count: n,
        sum: secs.unwrap_or(0) * n,
    }
}

async fn counters_add_up_with_the_track_saved_on_its_version(store: &dyn Store) {
    // A dimension of its own: the table is shared with the other cases.
    let mine = Dimension::tag(&format!("t{}", ConversationId::new()).to_lowercase());
    let other = Dimension::tag(&format!("u{}", ConversationId::new()).to_lowercase());
    let base = 1_795_000_000 / BUCKET_SECS * BUCKET_SECS;
    let day = base / DAY_SECS * DAY_SECS;
    let id = ConversationId::new();
    assert_eq!(store.report_track(id).await.unwrap(), None);

    let mut track = ReportTrack::new(id);
    assert!(track.take_change("change-1"));
    let saved = store
        .record(
            &track,
            &[
                count(&mine, base, Metric::FirstResponse, Some(30), 1),
                count(&mine, base, Metric::FirstResponse, Some(600), 1),
                count(
                    &mine,
                    base + BUCKET_SECS,
                    Metric::FirstResponse,
                    Some(90),
                    1,
                ),
                count(&mine, base, Metric::Conversations, None, 1),
                count(&mine, base - BUCKET_SECS, Metric::Conversations, None, 1),
                count(&other, base, Metric::Conversations, None, 1),
                // The same kept per day, apart.
                Count {
                    grain: Grain::Day,
                    bucket: day,
                    ..count(&mine, day, Metric::Conversations, None, 4)
                },
            ],
        )
        .await
        .unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(store.report_track(id).await.unwrap(), Some(saved.clone()));

    // Saved again on the version first read: refused, and nothing is added.
    let stale = store
        .record(
            &track,
            &[count(&mine, base, Metric::Conversations, None, 5)],
        )
        .await;
    assert!(matches!(stale, Err(PortError::Conflict(_))), "{stale:?}");

    // On the version read: added, a negative count taking one back.
    let again = store
        .record(
            &saved,
            &[
                count(&mine, base, Metric::Reopened, None, 1),
                count(&mine, base, Metric::FirstResponse, Some(30), -1),
            ],
        )
        .await
        .unwrap();
    assert_eq!(again.version, 2);

    let tallies = store
        .tallies(&mine, Grain::HalfHour, base, base + 2 * BUCKET_SECS)
        .await
        .unwrap();
    let first = &tallies[&Metric::FirstResponse];
    assert_eq!((first.count, first.sum), (2, 690));
    assert_eq!(first.bins.get(&bin_of(30)).copied().unwrap_or(0), 0);
    assert_eq!(first.bins[&bin_of(600)], 1);
    assert_eq!(first.bins[&bin_of(90)], 1);
    assert_eq!(
        tallies[&Metric::Conversations].count,
        1,
        "the half hour before is out"
    );
    assert_eq!(tallies[&Metric::Reopened].count, 1);
    assert_eq!(tallies.len(), 3, "{tallies:?}");

    // The second half hour alone.
    let later = store
        .tallies(
            &mine,
            Grain::HalfHour,
            base + BUCKET_SECS,
            base + 2 * BUCKET_SECS,
        )
        .await
        .unwrap();
    assert_eq!(later[&Metric::FirstResponse].count, 1);
    assert!(!later.contains_key(&Metric::Conversations));
    // Another dimension's counters are its own.
    let theirs = store
        .tallies(
            &other,
            Grain::HalfHour,
            base - BUCKET_SECS,
            base + 2 * BUCKET_SECS,
        )
        .await
        .unwrap();
    assert_eq!(theirs[&Metric::Conversations].count, 1);
    assert_eq!(theirs.len(), 1);

    // Days are counters of their own.
    let days = store
        .tallies(&mine, Grain::Day, day, day + DAY_SECS)
        .await
        .unwrap();
    assert_eq!(days[&Metric::Conversations].count, 4);
    assert_eq!(days.len(), 1, "{days:?}");

    // Half hour by half hour, the ones with none left out.
    let per = store
        .per_half_hour(
            &mine,
            Metric::FirstResponse,
            base - BUCKET_SECS,
            base + 3 * BUCKET_SECS,
        )
        .await
        .unwrap();
    assert_eq!(per, vec![(base, 1), (base + BUCKET_SECS, 1)]);
    // Both tags are known to the reports.
    let tags = store.counted_tags().await.unwrap();
    for dimension in [&mine, &other] {
        let name = dimension.tag_name().unwrap().to_owned();
        assert!(tags.contains(&name), "{name} in {tags:?}");
    }
}
