//! HTTP helpers: the web form as a customer posts it, and the agent API with a key.

use crate::App;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub const ADMIN: &str = "admin";
pub const AGENT: &str = "agent";

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The status and body of a response, the body parsed as JSON (or `Value::Null`, with the
/// raw text kept for the failure message).
pub async fn status_and_json(response: Response) -> (StatusCode, Value, String) {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, json, text)
}

/// Why a response is not an RFC 9457 problem document for its status, if it is not.
pub async fn problem_of(response: Response) -> Result<(StatusCode, Value), String> {
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (_, body, text) = status_and_json(response).await;
    if !content_type.starts_with("application/problem+json") {
        return Err(format!(
            "{status}: Content-Type is {content_type:?}, not application/problem+json; body {text:?}"
        ));
    }
    for field in ["type", "title", "detail"] {
        if !body[field].is_string() {
            return Err(format!("{status}: problem has no string `{field}`: {text}"));
        }
    }
    if body["status"].as_u64() != Some(u64::from(status.as_u16())) {
        return Err(format!(
            "{status}: problem `status` does not match the HTTP status: {text}"
        ));
    }
    Ok((status, body))
}

fn encode(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).expect("form fields encode")
}

impl App {
    /// Posts the web form urlencoded, asking for JSON back (as a script would).
    pub async fn post_webform(&self, fields: &[(&str, &str)]) -> Response {
        self.post_raw("/webhooks/webform", FORM, encode(fields).into_bytes())
            .await
    }

    /// Posts the web form urlencoded, asking for JSON back, through a proxy whose
    /// `X-Forwarded-For` reads `forwarded_for` (what the client wrote, then what each
    /// proxy appended).
    pub async fn post_webform_forwarded(
        &self,
        forwarded_for: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        self.http
            .post(self.url("/webhooks/webform"))
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, JSON)
            .header("x-forwarded-for", forwarded_for)
            .body(encode(fields))
            .send()
            .await
            .expect("the web form answers")
    }

    /// Answers `text` on a customer page (`url`, the web form's `conversation_url`) as a
    /// script would, asking for JSON back; through a proxy whose `X-Forwarded-For` reads
    /// `forwarded_for`, if given.
    pub async fn answer_on_page(
        &self,
        url: &str,
        text: &str,
        forwarded_for: Option<&str>,
    ) -> Response {
        let mut request = self
            .http
            .post(url)
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, JSON)
            .body(encode(&[("message", text)]));
        if let Some(forwarded_for) = forwarded_for {
            request = request.header("x-forwarded-for", forwarded_for);
        }
        request.send().await.expect("the page answers")
    }

    /// Posts the web form urlencoded as a browser does (expects a 303 to the page).
    pub async fn post_webform_as_browser(&self, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/webhooks/webform"))
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, BROWSER_ACCEPT)
            .body(encode(fields))
            .send()
            .await
            .expect("the web form answers")
    }

    /// Posts the web form as JSON.
    pub async fn post_webform_json(&self, body: &Value) -> Response {
        self.post_raw("/webhooks/webform", JSON, body.to_string().into_bytes())
            .await
    }

    /// Posts any bytes with any content type, asking for JSON back.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> Response {
        self.http
            .post(self.url(path))
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, JSON)
            .body(body)
            .send()
            .await
            .expect("the server answers")
    }

    /// Relays a plain-text email from `from` to `/webhooks/email` with the relay's
    /// `secret`, and asserts it was taken (202).
    pub async fn relay_email(&self, secret: &str, from: &str, subject: &str, body: &str) {
        let raw = format!(
            "From: {from}\r\nTo: support@switchboard.test\r\nSubject: {subject}\r\n\
             Message-ID: <{}@mail.example>\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            crate::unique("m")
        );
        let response = self
            .http
            .post(self.url("/webhooks/email"))
            .header(CONTENT_TYPE, "message/rfc822")
            .header("x-switchboard-email-secret", secret)
            .body(raw.into_bytes())
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 202, "the relayed email");
    }

    /// Posts a urlencoded form to any URL of this server, as a browser would.
    pub async fn post_form_to(&self, url: &str, fields: &[(&str, &str)]) -> Response {
        self.http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("the form encodes"))
            .send()
            .await
            .expect("the server answers")
    }

    /// Posts a Telegram update to the webhook, with the secret token header if given.
    pub async fn post_telegram(&self, secret: Option<&str>, body: Vec<u8>) -> Response {
        let mut request = self
            .http
            .post(self.url("/webhooks/telegram"))
            .header(CONTENT_TYPE, JSON)
            .body(body);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().await.expect("the webhook answers")
    }

    /// Submits the urlencoded web form and returns the `conversation_url` of its 202.
    pub async fn submit(&self, fields: &[(&str, &str)]) -> String {
        accepted(self.post_webform(fields).await).await
    }

    /// Submits the web form as JSON and returns the `conversation_url` of its 202.
    pub async fn submit_json(&self, body: &Value) -> String {
        accepted(self.post_webform_json(body).await).await
    }

    /// An agent API request with `Authorization: Bearer <key>`.
    pub fn request(&self, key: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .header(ACCEPT, JSON)
    }

    pub async fn get(&self, key: &str, path: &str) -> Response {
        self.request(key, Method::GET, path)
            .send()
            .await
            .expect("the API answers")
    }

    pub async fn post_json(&self, key: &str, path: &str, body: &Value) -> Response {
        self.request(key, Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("the API answers")
    }

    pub async fn delete(&self, key: &str, path: &str) -> Response {
        self.request(key, Method::DELETE, path)
            .send()
            .await
            .expect("the API answers")
    }

    pub async fn put_json(&self, key: &str, path: &str, body: &Value) -> Response {
        self.request(key, Method::PUT, path)
            .json(body)
            .send()
            .await
            .expect("the API answers")
    }

    pub async fn patch_json(&self, key: &str, path: &str, body: &Value) -> Response {
        self.request(key, Method::PATCH, path)
            .json(body)
            .send()
            .await
            .expect("the API answers")
    }

    /// GETs a JSON document, asserting 200.
    pub async fn get_ok(&self, key: &str, path: &str) -> Value {
        let (status, body, text) = status_and_json(self.get(key, path).await).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        body
    }

    /// Every item of a cursor-paginated list, following `next_cursor` to the end.
    pub async fn list_all(&self, key: &str, path: &str) -> Vec<Value> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut request =
                self.request(key, Method::GET, &format!("{path}{separator}limit=100"));
            if let Some(cursor) = &cursor {
                request = request.query(&[("cursor", cursor)]);
            }
            let response = request.send().await.expect("the API answers");
            let (status, page, text) = status_and_json(response).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "GET {path} (cursor {cursor:?}): {text}"
            );
            let page_items = page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("GET {path}: no `items` array in {text}"));
            items.extend(page_items.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) if Some(next) != cursor.as_deref() => cursor = Some(next.to_string()),
                Some(next) => panic!("GET {path}: next_cursor {next:?} repeats"),
                None => return items,
            }
        }
        panic!("GET {path}: more than 10000 pages");
    }

    /// Every conversation, whatever its status.
    pub async fn all_conversations(&self, key: &str) -> Vec<Value> {
        self.list_all(key, "/v1/conversations?status=all").await
    }

    /// The whole timeline of a conversation, oldest first.
    pub async fn timeline(&self, key: &str, conversation_id: &str) -> Vec<Value> {
        self.list_all(
            key,
            &format!("/v1/conversations/{conversation_id}/timeline"),
        )
        .await
    }

    /// The message items of a conversation's timeline.
    pub async fn messages(&self, key: &str, conversation_id: &str) -> Vec<Value> {
        self.timeline(key, conversation_id)
            .await
            .into_iter()
            .filter(|item| item["item"] == "message")
            .collect()
    }

    /// The text of every inbound message in every conversation.
    pub async fn all_inbound_texts(&self, key: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for conversation in self.all_conversations(key).await {
            let id = conversation["id"]
                .as_str()
                .expect("a conversation has an id");
            for message in self.messages(key, id).await {
                if message["direction"] == "inbound" {
                    texts.push(message["text"].as_str().unwrap_or_default().to_string());
                }
            }
        }
        texts
    }
}

async fn accepted(response: Response) -> String {
    let (status, body, text) = status_and_json(response).await;
    assert_eq!(status, StatusCode::ACCEPTED, "web form submission: {text}");
    assert_eq!(body["status"], "received", "web form submission: {text}");
    body["conversation_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation_url in {text}"))
        .to_string()
}
