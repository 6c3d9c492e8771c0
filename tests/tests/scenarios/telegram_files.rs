//! An agent attaches files to a reply: they are stored, listed on the message,
//! downloadable, and uploaded to Telegram as photos or documents.

use e2e::{
    ADMIN, App, DEADLINE, FakeTelegram, eventually, new_user_id, problem_of, status_and_json,
    text_update,
};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

/// A PNG as a camera would start one, and a little PDF.
fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend((0..4000_u32).map(|i| (i * 7 % 251) as u8));
    bytes
}

fn pdf() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    bytes.extend((0..9000_u32).map(|i| (i * 13 % 256) as u8));
    bytes
}

fn file(name: &str, content_type: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes)
        .file_name(name.to_string())
        .mime_str(content_type)
        .expect("a valid content type")
}

async fn post_form(app: &App, key: &str, conversation: &str, form: Form) -> reqwest::Response {
    app.request(
        key,
        Method::POST,
        &format!("/v1/conversations/{conversation}/replies"),
    )
    .multipart(form)
    .send()
    .await
    .expect("the API answers")
}

async fn telegram_conversation(app: &App, key: &str, user_id: i64) -> String {
    app.deliver(&text_update(1, user_id, 101, "please send the invoice"))
        .await;
    eventually("the update routed", DEADLINE, async || {
        Some(
            app.all_conversations(key).await.first()?["id"]
                .as_str()?
                .to_string(),
        )
    })
    .await
}

async fn settled(app: &App, key: &str, conversation: &str, id: &Value) -> Value {
    eventually("the reply settled", DEADLINE, async || {
        app.messages(key, conversation).await.into_iter().find(|m| {
            m["id"] == *id && !matches!(m["delivery_status"].as_str(), Some("queued" | "sending"))
        })
    })
    .await
}

#[tokio::test]
async fn a_reply_with_a_png_and_a_pdf_goes_out_as_a_photo_and_a_document_with_the_exact_bytes() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let conversation = telegram_conversation(&app, &key, user_id).await;

    let form = Form::new()
        .text("text", "Here is your <invoice>")
        .part("file", file("receipt.png", "image/png", png()))
        .part("file", file("invoice-1403.pdf", "application/pdf", pdf()));
    let (status, queued, raw) =
        status_and_json(post_form(&app, &key, &conversation, form).await).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    let attachments = queued["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 2, "{raw}");
    assert_eq!(attachments[0]["filename"], "receipt.png");
    assert_eq!(attachments[0]["content_type"], "image/png");
    assert_eq!(attachments[0]["size"].as_u64(), Some(png().len() as u64));
    assert_eq!(attachments[1]["filename"], "invoice-1403.pdf");
    assert_eq!(attachments[1]["content_type"], "application/pdf");

    let sent = settled(&app, &key, &conversation, &queued["id"]).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    let photos = fake.calls("sendPhoto");
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].body["chat_id"].as_i64(), Some(user_id));
    assert_eq!(
        photos[0].body["caption"], "Here is your &lt;invoice&gt;",
        "the text fits as the first file's caption"
    );
    assert_eq!(photos[0].body["parse_mode"], "HTML");
    assert_eq!(photos[0].files.len(), 1);
    assert_eq!(photos[0].files[0].field, "photo");
    assert_eq!(photos[0].files[0].file_name.as_deref(), Some("receipt.png"));
    assert_eq!(photos[0].files[0].bytes, png(), "the exact bytes");
    let documents = fake.calls("sendDocument");
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].body["chat_id"].as_i64(), Some(user_id));
    assert!(
        documents[0].body.get("caption").is_none(),
        "{}",
        documents[0].body
    );
    assert_eq!(documents[0].files[0].field, "document");
    assert_eq!(
        documents[0].files[0].file_name.as_deref(),
        Some("invoice-1403.pdf")
    );
    assert_eq!(documents[0].files[0].bytes, pdf(), "the exact bytes");
    assert!(photos[0].at <= documents[0].at, "in the order attached");
    assert!(fake.calls("sendMessage").is_empty(), "no separate text");

    // The timeline lists them on the outbound message, and each downloads.
    let listed = &sent["attachments"];
    assert_eq!(listed[0]["filename"], "receipt.png", "{sent}");
    assert_eq!(listed[1]["filename"], "invoice-1403.pdf", "{sent}");
    let id = sent["id"].as_str().expect("an id");
    for (index, (bytes, content_type)) in [(png(), "image/png"), (pdf(), "application/pdf")]
        .into_iter()
        .enumerate()
    {
        let response = app
            .get(&key, &format!("/v1/messages/{id}/attachments/{index}"))
            .await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().ok(),
            Some(content_type)
        );
        assert_eq!(response.bytes().await.expect("a body").to_vec(), bytes);
    }
}

#[tokio::test]
async fn a_text_too_long_for_a_caption_goes_first_and_the_file_follows() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let user_id = new_user_id();
    let conversation = telegram_conversation(&app, &key, user_id).await;
    let text = "جزئیات سفارش شما: ".repeat(80);
    let form = Form::new()
        .text("text", text.clone())
        .part("file", file("scan.jpg", "image/jpeg", png()));
    let (status, queued, raw) =
        status_and_json(post_form(&app, &key, &conversation, form).await).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    let sent = settled(&app, &key, &conversation, &queued["id"]).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    let texts = fake.calls("sendMessage");
    let photos = fake.calls("sendPhoto");
    assert_eq!((texts.len(), photos.len()), (1, 1));
    assert_eq!(texts[0].body["text"], text.as_str());
    assert!(
        photos[0].body.get("caption").is_none(),
        "{}",
        photos[0].body
    );
    assert_eq!(photos[0].body["chat_id"].as_i64(), Some(user_id));
    assert!(texts[0].at <= photos[0].at, "the text first");
}

#[tokio::test]
async fn files_too_large_together_are_refused_with_413_and_nothing_is_stored() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let conversation = telegram_conversation(&app, &key, new_user_id()).await;
    // The test server keeps its blobs beside its database.
    let stored = app.db_path().with_file_name("blobs").join("replies");

    let form = Form::new()
        .text("text", "two big files")
        .part(
            "file",
            file("a.bin", "application/octet-stream", vec![1; 12 << 20]),
        )
        .part(
            "file",
            file("b.bin", "application/octet-stream", vec![2; 9 << 20]),
        );
    let response = post_form(&app, &key, &conversation, form).await;
    assert_eq!(response.status().as_u16(), 413);
    let (_, problem) = problem_of(response).await.expect("a problem document");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("20 MB"),
        "{problem}"
    );
    assert!(!stored.exists(), "no file was stored");
    assert_eq!(app.messages(&key, &conversation).await.len(), 1, "no reply");

    // Just under the limit is fine, and lands where the refused one would have.
    let form = Form::new().part("file", file("c.bin", "application/zip", vec![3; 19 << 20]));
    let (status, queued, raw) =
        status_and_json(post_form(&app, &key, &conversation, form).await).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    assert_eq!(queued["text"], "", "files need no text");
    assert!(stored.exists());
    let sent = settled(&app, &key, &conversation, &queued["id"]).await;
    assert_eq!(sent["delivery_status"], "sent", "{sent}");
    assert_eq!(fake.calls("sendDocument")[0].files[0].bytes.len(), 19 << 20);
}

#[tokio::test]
async fn a_form_reply_is_checked_like_a_json_one() {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[]).await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let conversation = telegram_conversation(&app, &key, new_user_id()).await;
    let cases = [
        (Form::new().text("text", "  "), "empty"),
        (
            Form::new()
                .text("text", "hi")
                .part("file", file("e.txt", "text/plain", Vec::new())),
            "empty",
        ),
        (
            Form::new().text("text", "hi").text("channel", "email"),
            "not configured",
        ),
        (
            Form::new().text("text", "hi").text("colour", "red"),
            "unknown form field",
        ),
    ];
    for (form, expected) in cases {
        let response = post_form(&app, &key, &conversation, form).await;
        assert_eq!(response.status().as_u16(), 422);
        let (_, problem) = problem_of(response).await.expect("a problem document");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(expected), "{detail}");
    }
    assert_eq!(app.messages(&key, &conversation).await.len(), 1, "no reply");
}

#[tokio::test]
async fn the_customer_page_lists_the_files_of_a_reply() {
    let app = App::spawn().await;
    let key = app.create_agent("Ada", "ada@support.example", ADMIN);
    let page = app
        .submit(&[
            ("email", "sara@example.com"),
            ("name", "Sara"),
            ("message", "where is my invoice?"),
        ])
        .await;
    let conversation = eventually("the form routed", DEADLINE, async || {
        Some(
            app.all_conversations(&key).await.first()?["id"]
                .as_str()?
                .to_string(),
        )
    })
    .await;
    let form = Form::new()
        .text("text", "attached")
        .part("file", file("invoice-1403.pdf", "application/pdf", pdf()));
    let (status, queued, raw) =
        status_and_json(post_form(&app, &key, &conversation, form).await).await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    assert_eq!(queued["channel"], "web");
    let html = eventually("the page shows the reply", DEADLINE, async || {
        let html = app.http.get(&page).send().await.ok()?.text().await.ok()?;
        html.contains("attached").then_some(html)
    })
    .await;
    assert!(html.contains("invoice-1403.pdf"), "{html}");
}
