//! The baseline the functions' cold starts are compared with: the smallest
//! `lambda_runtime` function, which answers each event with its payload.
//! `scripts/measure-lambdas` builds it with the functions' release profile.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(event.payload)
    }))
    .await
}
