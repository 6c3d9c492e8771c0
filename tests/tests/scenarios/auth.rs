//! Every agent route in the OpenAPI document needs a valid key; admin routes need an admin.

use e2e::{ADMIN, AGENT, App, problem_of, status_and_json, unknown_id};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// One operation of the OpenAPI document.
struct Operation {
    method: Method,
    template: String,
    path: String,
    admin: bool,
    declares_security: bool,
}

/// Public routes, each verified its own way rather than by API key.
fn is_public(path: &str) -> bool {
    path == "/v1/openapi.json"
        || path == "/healthz"
        || path == "/contact"
        || path.starts_with("/webhooks/")
        || path.starts_with("/c/")
        // Signing in is how a browser gets its session; reading and ending it are
        // tested with cookies in `web_sign_in`.
        || path == "/v1/session"
}

/// A value for a path parameter: a valid id of the right kind where the name says which.
fn path_value(previous_segment: &str, name: &str) -> String {
    let kind = match name {
        "id" => previous_segment.trim_end_matches('s'),
        other => other.trim_end_matches("_id"),
    };
    match kind {
        "conversation" => unknown_id("cv"),
        "contact" | "other_contact" => unknown_id("ct"),
        "agent" => unknown_id("ag"),
        "team" => unknown_id("tm"),
        "message" => unknown_id("msg"),
        "note" => unknown_id("nt"),
        "event" => unknown_id("ev"),
        _ if name == "queue" => "inbound".to_string(),
        _ => "x1".to_string(),
    }
}

fn concrete(template: &str) -> String {
    let mut previous = "";
    let mut segments = Vec::new();
    for segment in template.split('/') {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => segments.push(path_value(previous, name)),
            None => segments.push(segment.to_string()),
        }
        previous = segment;
    }
    segments.join("/")
}

fn operations(doc: &Value) -> Vec<Operation> {
    let global_security = doc["security"].as_array().is_some_and(|s| !s.is_empty());
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().expect("the document has `paths`") {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let tags = operation["tags"].as_array().cloned().unwrap_or_default();
            let declares_security = match operation.get("security") {
                Some(security) => security.as_array().is_some_and(|s| !s.is_empty()),
                None => global_security,
            };
            operations.push(Operation {
                method: method.to_uppercase().parse().expect("an HTTP method"),
                template: template.clone(),
                path: concrete(template),
                admin: tags.iter().any(|t| t == "admin"),
                declares_security,
            });
        }
    }
    operations
}

async fn fetch_doc(app: &App) -> Value {
    let response = app
        .http
        .get(app.url("/v1/openapi.json"))
        .send()
        .await
        .expect("the server answers");
    let (status, doc, text) = status_and_json(response).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the OpenAPI document is public: {text}"
    );
    doc
}

async fn call(app: &App, operation: &Operation, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .request(operation.method.clone(), app.url(&operation.path));
    if let Some(value) = authorization {
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    if matches!(operation.method, Method::POST | Method::PUT | Method::PATCH) {
        request = request.json(&json!({}));
    }
    request.send().await.expect("the server answers")
}

#[tokio::test]
async fn every_agent_route_refuses_a_missing_or_wrong_key_and_admin_routes_refuse_agents() {
    let app = App::spawn().await;
    let admin_key = app.create_agent("Root", "root@support.example", ADMIN);
    let agent_key = app.create_agent("Ada", "ada@support.example", AGENT);
    let mut tampered = admin_key.clone();
    let last = tampered.pop().expect("a non-empty key");
    tampered.push(if last == 'a' { 'b' } else { 'a' });

    let doc = fetch_doc(&app).await;
    let operations: Vec<_> = operations(&doc)
        .into_iter()
        .filter(|op| !is_public(&op.template))
        .collect();
    assert!(
        operations.len() >= 10,
        "the OpenAPI document should describe at least 10 agent operations, found {}",
        operations.len()
    );
    assert!(
        operations.iter().any(|op| op.admin),
        "no operation is tagged `admin`"
    );

    let mut failures = Vec::new();
    let attempts = [
        ("no Authorization", None),
        (
            "a wrong key",
            Some("Bearer sbk_this-is-not-a-key".to_string()),
        ),
        ("a tampered admin key", Some(format!("Bearer {tampered}"))),
        ("a Basic credential", Some(format!("Basic {admin_key}"))),
    ];
    for op in &operations {
        let name = format!("{} {} ({})", op.method, op.template, op.path);
        for (what, authorization) in &attempts {
            let response = call(&app, op, authorization.as_deref()).await;
            match problem_of(response).await {
                Ok((StatusCode::UNAUTHORIZED, _)) => {}
                Ok((status, body)) => failures.push(format!("{name} with {what}: {status} {body}")),
                Err(why) => failures.push(format!("{name} with {what}: {why}")),
            }
        }
        if op.admin {
            let response = call(&app, op, Some(&format!("Bearer {agent_key}"))).await;
            match problem_of(response).await {
                Ok((StatusCode::FORBIDDEN, _)) => {}
                Ok((status, body)) => failures.push(format!("{name} as an agent: {status} {body}")),
                Err(why) => failures.push(format!("{name} as an agent: {why}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} operations let the wrong caller through or answered badly:\n{}",
        failures.len(),
        operations.len(),
        failures.join("\n")
    );

    let health = app.http.get(app.url("/healthz")).send().await.expect("up");
    assert_eq!(health.status(), StatusCode::OK, "/healthz is public");
}

#[tokio::test]
async fn every_agent_route_in_the_openapi_document_declares_bearer_auth() {
    let app = App::spawn().await;
    let doc = fetch_doc(&app).await;
    let undeclared: Vec<_> = operations(&doc)
        .into_iter()
        .filter(|op| !is_public(&op.template) && !op.declares_security)
        .map(|op| format!("{} {}", op.method, op.template))
        .collect();
    assert!(
        undeclared.is_empty(),
        "agent routes without a security requirement in the document: {undeclared:?}"
    );
}

#[tokio::test]
async fn a_valid_key_reads_its_own_agent_and_an_admin_lists_agents() {
    let app = App::spawn().await;
    let admin_key = app.create_agent("Root", "root@support.example", ADMIN);
    let agent_key = app.create_agent("Ada", "ada@support.example", AGENT);
    let me = app.get_ok(&agent_key, "/v1/me").await;
    assert_eq!(me["role"], "agent", "{me}");
    let agents = app.list_all(&admin_key, "/v1/agents").await;
    assert_eq!(agents.len(), 2, "{agents:?}");
    assert!(
        agents
            .iter()
            .all(|a| a.get("api_key").is_none() && a.get("key_hash").is_none()),
        "agent listings never show keys: {agents:?}"
    );
}

#[tokio::test]
async fn the_openapi_document_passes_the_openapi_validator() {
    let app = App::spawn().await;
    let doc = fetch_doc(&app).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("JSON")).expect("written");
    let validator = e2e::repo_root().join(".venv/bin/openapi-spec-validator");
    let output = std::process::Command::new(&validator)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{} runs (scripts/install-tools): {e}", validator.display()));
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for operation in item.as_object().expect("an item").values() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "limit" {
                    // A page holds 1 to 100; a search answers its best 20 at most.
                    let most = if path == "/v1/articles/search" {
                        20
                    } else {
                        100
                    };
                    assert_eq!(parameter["schema"]["minimum"], 1, "{path}: {parameter}");
                    assert_eq!(parameter["schema"]["maximum"], most, "{path}: {parameter}");
                }
            }
        }
    }
}

/// `switchboard agent reset-key` / `disable` on the running installation's file.
fn agent_command(app: &App, args: &[&str]) -> String {
    let output = app
        .command()
        .arg("agent")
        .args(args)
        .arg("--db")
        .arg(app.db_path())
        .output()
        .expect("`switchboard agent` runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`switchboard agent {}` failed: {stdout}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn a_reset_key_replaces_the_old_one_and_a_disabled_agent_is_locked_out() {
    let app = App::spawn().await;
    let admin_key = app.create_agent("Root", "root@support.example", ADMIN);
    let old_key = app.create_agent("Ada", "ada@support.example", AGENT);
    assert_eq!(app.get(&old_key, "/v1/me").await.status(), StatusCode::OK);

    let printed = agent_command(&app, &["reset-key", "ADA@support.example"]);
    let new_key = printed
        .trim_end()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(new_key.starts_with("sb_"), "{printed}");
    assert_eq!(
        app.get(&old_key, "/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "the lost key no longer works"
    );
    let me = app.get_ok(&new_key, "/v1/me").await;
    assert_eq!(me["email"], "ada@support.example");
    let ada_id = me["id"].as_str().expect("an id").to_owned();

    let printed = agent_command(&app, &["disable", &ada_id]);
    assert!(printed.contains("disabled"), "{printed}");
    assert_eq!(
        app.get(&new_key, "/v1/me").await.status(),
        StatusCode::UNAUTHORIZED,
        "a disabled agent's key no longer works"
    );
    let agents = app.list_all(&admin_key, "/v1/agents").await;
    let ada = agents
        .iter()
        .find(|a| a["id"] == ada_id.as_str())
        .expect("Ada is listed");
    assert_eq!(
        ada["availability"], "away",
        "nothing new is assigned to them"
    );

    let refused = app
        .command()
        .args(["agent", "reset-key", "nobody@support.example", "--db"])
        .arg(app.db_path())
        .output()
        .expect("`switchboard agent` runs");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no agent"));
    assert_eq!(
        app.get(&admin_key, "/v1/me").await.status(),
        StatusCode::OK,
        "nobody else was touched"
    );
}
