//! The blob port's contract, on the blob folder and on S3.

use shared::ports::{Blob, BlobStore, PortError};

on_both_backends!(
    embedded: crate::backends::blob_folder,
    aws: crate::backends::s3_blobs,
    tests: [
        a_blob_round_trips_with_its_content_type,
        a_missing_blob_is_none,
        a_second_put_replaces_the_blob,
        a_deleted_blob_is_gone_and_deleting_it_again_is_fine,
        keys_that_could_escape_a_folder_are_refused,
        a_conditional_write_fails_once_another_write_came_between,
        a_conditional_create_fails_when_the_key_holds_a_blob,
    ]
);

fn blob(content_type: &str, bytes: &[u8]) -> Blob {
    Blob {
        content_type: content_type.into(),
        bytes: bytes.to_vec(),
    }
}

async fn a_blob_round_trips_with_its_content_type(b: &dyn BlobStore) {
    let png = blob("image/png", &[137, 80, 78, 71, 0, 255]);
    b.put("attachments/cv_1/photo.png", png.clone())
        .await
        .unwrap();
    let raw = blob("message/rfc822", b"From: a@example.com\r\n\r\nhi");
    b.put("raw/ses-0001", raw.clone()).await.unwrap();
    assert_eq!(
        b.get("attachments/cv_1/photo.png").await.unwrap(),
        Some(png)
    );
    assert_eq!(b.get("raw/ses-0001").await.unwrap(), Some(raw));
}

async fn a_missing_blob_is_none(b: &dyn BlobStore) {
    assert_eq!(b.get("attachments/none.png").await.unwrap(), None);
}

async fn a_second_put_replaces_the_blob(b: &dyn BlobStore) {
    b.put("k", blob("text/plain", b"one")).await.unwrap();
    b.put("k", blob("application/json", b"{}")).await.unwrap();
    assert_eq!(
        b.get("k").await.unwrap(),
        Some(blob("application/json", b"{}"))
    );
}

async fn a_deleted_blob_is_gone_and_deleting_it_again_is_fine(b: &dyn BlobStore) {
    b.put("attachments/telegram_1_2/0", blob("image/png", b"a"))
        .await
        .unwrap();
    b.put("attachments/telegram_1_2/1", blob("image/png", b"b"))
        .await
        .unwrap();
    b.delete("attachments/telegram_1_2/0").await.unwrap();
    assert_eq!(b.get("attachments/telegram_1_2/0").await.unwrap(), None);
    b.delete("attachments/telegram_1_2/0").await.unwrap();
    b.delete("attachments/never/0").await.unwrap();
    assert_eq!(
        b.get("attachments/telegram_1_2/1").await.unwrap(),
        Some(blob("image/png", b"b")),
        "its neighbour stays"
    );
}

async fn keys_that_could_escape_a_folder_are_refused(b: &dyn BlobStore) {
    for bad in ["../x", "/etc/passwd", "a//b", "a/../b", ""] {
        assert!(b.get(bad).await.is_err(), "get {bad:?}");
        assert!(
            b.put(bad, blob("text/plain", b"x")).await.is_err(),
            "put {bad:?}"
        );
        assert!(b.delete(bad).await.is_err(), "delete {bad:?}");
    }
}

async fn a_conditional_write_fails_once_another_write_came_between(b: &dyn BlobStore) {
    let key = "calls/pbx/c1.json";
    b.put_if(key, blob("application/json", b"{\"n\":1}"), None)
        .await
        .unwrap();
    // Two handlers read the same version of the record...
    let (first_read, v1) = b.get_versioned(key).await.unwrap().unwrap();
    let (_, v1_again) = b.get_versioned(key).await.unwrap().unwrap();
    assert_eq!(first_read, blob("application/json", b"{\"n\":1}"));
    assert_eq!(v1, v1_again);
    // ...the first writes...
    b.put_if(key, blob("application/json", b"{\"n\":2}"), Some(&v1))
        .await
        .unwrap();
    // ...and the second, whose read is now stale, is told to read again.
    let lost = b
        .put_if(key, blob("application/json", b"{\"n\":3}"), Some(&v1_again))
        .await;
    assert!(matches!(lost, Err(PortError::Conflict(_))), "{lost:?}");
    let (now, v2) = b.get_versioned(key).await.unwrap().unwrap();
    assert_eq!(now, blob("application/json", b"{\"n\":2}"));
    assert_ne!(v2, v1);
    b.put_if(key, blob("application/json", b"{\"n\":3}"), Some(&v2))
        .await
        .unwrap();
    assert_eq!(
        b.get(key).await.unwrap(),
        Some(blob("application/json", b"{\"n\":3}"))
    );
}

async fn a_conditional_create_fails_when_the_key_holds_a_blob(b: &dyn BlobStore) {
    let key = "calls/pbx/c2.json";
    b.put(key, blob("application/json", b"{}")).await.unwrap();
    let lost = b.put_if(key, blob("application/json", b"[]"), None).await;
    assert!(matches!(lost, Err(PortError::Conflict(_))), "{lost:?}");
    b.delete(key).await.unwrap();
    let stale = shared::ports::BlobVersion("\"0\"".into());
    let gone = b
        .put_if(key, blob("application/json", b"[]"), Some(&stale))
        .await;
    assert!(matches!(gone, Err(PortError::Conflict(_))), "{gone:?}");
    assert_eq!(b.get(key).await.unwrap(), None);
}
