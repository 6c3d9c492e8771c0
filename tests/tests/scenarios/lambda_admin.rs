//! The first admin on a stack: nobody holds a key after a deploy, and the agent API needs
//! an admin's key to make one, so the operator invokes the admin function (it has no URL;
//! only those allowed to invoke it in the account reach it). The real binary on the AWS
//! emulator, with the keys it hands out tried through the real `inbox-api` function.

use e2e::function::Function;
use e2e::stack::Stack;
use serde_json::{Value, json};

async fn command(admin: &mut Function, payload: Value) -> Value {
    admin.invoke_ok(payload).await
}

async fn refused(admin: &mut Function, payload: Value) -> String {
    match admin.invoke(payload.clone()).await {
        Ok(answer) => panic!("{payload} was carried out: {answer}"),
        Err((_, body)) => body["errorMessage"].as_str().unwrap_or_default().to_owned(),
    }
}

fn key_of(answer: &Value) -> String {
    let key = answer["api_key"].as_str().expect("an api_key");
    assert!(key.starts_with("sb_"), "{answer}");
    key.to_owned()
}

#[tokio::test]
async fn the_first_admin_comes_from_the_admin_function_and_a_lost_key_is_replaced_there() {
    let mut stack = Stack::start().await;
    let mut admin = Function::start("admin", &stack.cloud.function_env()).await;

    let created = command(
        &mut admin,
        json!({"command": "create", "name": "Ada", "email": "ada@support.example", "role": "admin"}),
    )
    .await;
    assert_eq!(created["agent"]["role"], "admin", "{created}");
    let first_key = key_of(&created);
    let me = stack.get_ok(&first_key, "/v1/me").await;
    assert_eq!(me["email"], "ada@support.example");

    // With it, the admin makes the team's agents through the API as usual.
    let response = stack
        .api(
            "POST",
            "/v1/agents",
            &first_key,
            Some(&json!({"name": "Bo", "email": "bo@support.example", "role": "agent"})),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text());
    let bo_key = key_of(&response.json());

    let listed = command(&mut admin, json!({"command": "list"})).await;
    let agents = listed["agents"].as_array().expect("agents");
    let mut emails: Vec<_> = agents.iter().map(|a| a["email"].clone()).collect();
    emails.sort_by_key(|e| e.to_string());
    assert_eq!(emails, ["ada@support.example", "bo@support.example"]);
    assert!(
        !listed.to_string().contains("sb_") && !listed.to_string().contains("key_hash"),
        "a listing shows no keys: {listed}"
    );

    // A lost key: a new one by email (any case); the old one stops working at once.
    let reset = command(
        &mut admin,
        json!({"command": "reset-key", "agent": "ADA@support.example"}),
    )
    .await;
    let second_key = key_of(&reset);
    assert_ne!(second_key, first_key);
    assert_eq!(
        stack.api("GET", "/v1/me", &first_key, None).await.status,
        401
    );
    stack.get_ok(&second_key, "/v1/me").await;

    // Locking an agent out, by id.
    let bo_id = agents
        .iter()
        .find(|a| a["email"] == "bo@support.example")
        .and_then(|a| a["id"].as_str())
        .expect("Bo's id")
        .to_owned();
    let disabled = command(&mut admin, json!({"command": "disable", "agent": bo_id})).await;
    assert_eq!(disabled["agent"]["availability"], "away", "{disabled}");
    assert!(disabled.get("api_key").is_none(), "{disabled}");
    assert_eq!(stack.api("GET", "/v1/me", &bo_key, None).await.status, 401);

    // Refusals say why and change nothing.
    let taken = refused(
        &mut admin,
        json!({"command": "create", "name": "Ada 2", "email": "ada@support.example", "role": "admin"}),
    )
    .await;
    assert_eq!(taken, "an agent with email ada@support.example exists");
    let unknown = refused(
        &mut admin,
        json!({"command": "reset-key", "agent": "nobody@support.example"}),
    )
    .await;
    assert_eq!(unknown, "agent not found");
    let nonsense = refused(&mut admin, json!({"command": "grant-everything"})).await;
    assert!(nonsense.contains("not a command"), "{nonsense}");
    let bad_email = refused(
        &mut admin,
        json!({"command": "create", "name": "Cy", "email": "not an address", "role": "admin"}),
    )
    .await;
    assert!(!bad_email.is_empty());
    let listed = command(&mut admin, json!({"command": "list"})).await;
    assert_eq!(
        listed["agents"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );

    for line in admin.logs() {
        for key in [&first_key, &second_key] {
            assert!(!line.contains(key.as_str()), "a key in the logs: {line}");
        }
    }
}
