//! One SSM Parameter Store call, `GetParameter` (JSON 1.1 protocol), for the secrets a
//! function reads once at start.

use super::signed::{Service, SignedRequests};
use crate::ports::{PortError, PortResult};
use bytes::Bytes;

impl SignedRequests {
    /// A parameter's value; a SecureString comes decrypted.
    pub async fn secret_parameter(&self, name: &str) -> PortResult<String> {
        let url = match self.endpoint() {
            Some(endpoint) => format!("{endpoint}/"),
            None => format!("https://ssm.{}.amazonaws.com/", self.region()),
        };
        let body = serde_json::json!({ "Name": name, "WithDecryption": true }).to_string();
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header("x-amz-target", "AmazonSSM.GetParameter")
            .body(Bytes::from(body))
            .map_err(|e| PortError::Internal(format!("building an SSM request: {e}")))?;
        let answer = self
            .send("ssm:GetParameter", Service::Ssm, request, &[])
            .await?;
        parameter_value(&answer.body)
            .ok_or_else(|| PortError::Internal(format!("parameter {name} has no value")))
    }
}

/// `{"Parameter": {"Value": "…", …}}` → the value.
fn parameter_value(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(value.get("Parameter")?.get("Value")?.as_str()?.to_owned())
}

#[cfg(test)]
mod tests {
    use super::parameter_value;

    #[test]
    fn the_value_is_read_from_a_get_parameter_answer() {
        let answer = br#"{"Parameter":{"ARN":"arn:aws:ssm:eu-west-1:123456789012:parameter/switchboard/link-secret","DataType":"text","LastModifiedDate":1.732E9,"Name":"/switchboard/link-secret","Type":"SecureString","Value":"s3cr3t","Version":1}}"#;
        assert_eq!(parameter_value(answer).as_deref(), Some("s3cr3t"));
        assert_eq!(parameter_value(br#"{"Parameter":{}}"#), None);
        assert_eq!(parameter_value(b"not json"), None);
    }
}
