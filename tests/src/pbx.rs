//! PBX / CTI hook calls as a PBX makes them: a JSON (or form) event, signed.

use crate::App;
use reqwest::Response;
use serde_json::Value;
use shared::channels::pbx::signature;

pub const PBX_SECRET: &str = "e2e-pbx-shared-secret-0123456789";

/// The environment that turns the PBX hook on.
pub fn pbx_env() -> Vec<(&'static str, String)> {
    vec![("SWITCHBOARD_PBX_SECRET", PBX_SECRET.to_string())]
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl App {
    /// Posts `body` as `content_type`, sent at `timestamp` and signed with `secret`.
    pub async fn post_pbx_signed(
        &self,
        content_type: &str,
        body: Vec<u8>,
        timestamp: i64,
        secret: &str,
    ) -> Response {
        self.http
            .post(self.url("/webhooks/pbx"))
            .header("content-type", content_type)
            .header(signature::TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                signature::SIGNATURE_HEADER,
                signature::sign(secret, timestamp, &body),
            )
            .body(body)
            .send()
            .await
            .expect("the app answers")
    }

    /// Posts a JSON event sent `ago` seconds before the test's PBX clock (when the app
    /// started), and asserts a 200.
    pub async fn pbx_event(&self, event: &Value, ago: i64) {
        let response = self
            .post_pbx_signed(
                "application/json",
                event.to_string().into_bytes(),
                self.pbx_clock - ago,
                PBX_SECRET,
            )
            .await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(
            status.as_u16(),
            200,
            "the PBX hook answered {status}: {text}"
        );
    }
}
