//! The requests the product signs itself (S3 objects, the SSM secret) against a server
//! that checks signatures: a moto of this test's own with IAM authentication on, which
//! recomputes every request's Signature Version 4 with botocore, the reference signer.
//! (The shared emulator accepts any signature, so it cannot tell a wrong one.)

use crate::backends::signed_requests_at;
use shared::aws::S3Blobs;
use shared::ports::{Blob, BlobStore, PortError};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server that authenticates every request after the first `free_actions`.
struct CheckingEmulator {
    child: Child,
    endpoint: String,
}

impl Drop for CheckingEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> PathBuf {
    repository().join(".venv/bin/python")
}

async fn checking_emulator(free_actions: u32) -> CheckingEmulator {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python())
        .arg(repository().join("scripts/moto-server.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", free_actions.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("moto does not start (run scripts/install-tools): {e}"));
    let emulator = CheckingEmulator {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    let http = reqwest::Client::new();
    while http
        .get(format!("{}/moto-api/", emulator.endpoint))
        .send()
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto did not answer"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    emulator
}

/// With boto3: a user allowed everything and its access key (the three unauthenticated
/// actions), then, signed with that key, a bucket and a SecureString parameter.
const SETUP: &str = r#"
import json, sys, boto3
endpoint, bucket, parameter, secret = sys.argv[1:5]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
iam.create_user(UserName="switchboard")
iam.put_user_policy(UserName="switchboard", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="switchboard")["AccessKey"]
session = boto3.Session(aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")
session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
session.client("ssm", endpoint_url=endpoint).put_parameter(
    Name=parameter, Value=secret, Type="SecureString")
print(json.dumps([key["AccessKeyId"], key["SecretAccessKey"]]))
"#;

#[tokio::test]
async fn objects_and_the_secret_pass_a_server_that_checks_signatures_and_a_wrong_key_does_not() {
    let emulator = checking_emulator(3).await;
    let (bucket, parameter) = ("signed-blobs", "/switchboard/customer-link-secret");
    let output = Command::new(python())
        .args([
            "-c",
            SETUP,
            &emulator.endpoint,
            bucket,
            parameter,
            "s3cr3t value",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "setting up the user: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let [key_id, secret]: [String; 2] = serde_json::from_slice(&output.stdout).unwrap();

    let aws = signed_requests_at(&emulator.endpoint, &key_id, &secret);
    let blobs = S3Blobs::new(aws.clone(), bucket);
    // A key with folders and a body with every byte value, as attachments have.
    let key = "attachments/cv_01J0000000000000000000000/m_1/report.final-v2.pdf";
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    blobs
        .put(
            key,
            Blob {
                content_type: "application/pdf".into(),
                bytes: bytes.clone(),
            },
        )
        .await
        .unwrap();
    let read = blobs.get(key).await.unwrap().expect("the object is there");
    assert_eq!(read.bytes, bytes);
    assert_eq!(read.content_type, "application/pdf");
    assert!(blobs.get("attachments/none.txt").await.unwrap().is_none());
    blobs.delete(key).await.unwrap();
    assert!(blobs.get(key).await.unwrap().is_none(), "deleted");
    assert_eq!(
        aws.secret_parameter(parameter).await.unwrap(),
        "s3cr3t value"
    );

    // The same requests signed with a wrong secret are refused: the server does check.
    let forged = signed_requests_at(&emulator.endpoint, &key_id, "not-the-secret");
    let refused = S3Blobs::new(forged.clone(), bucket)
        .get(key)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, PortError::Internal(text) if text.contains("SignatureDoesNotMatch")),
        "{refused:?}"
    );
    let refused = forged.secret_parameter(parameter).await.unwrap_err();
    assert!(
        matches!(&refused, PortError::Internal(text) if text.contains("403")),
        "{refused:?}"
    );
}
