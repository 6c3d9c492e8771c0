//! The command line explains itself.

use std::process::Command;

fn help(args: &[&str]) -> String {
    let output = Command::new(e2e::binary())
        .args(args)
        .output()
        .expect("the switchboard binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`switchboard {}` exited {}\nstdout:\n{stdout}\nstderr:\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.to_lowercase().contains("usage"),
        "`switchboard {}` should print usage, printed:\n{stdout}",
        args.join(" ")
    );
    stdout
}

#[test]
fn switchboard_help_prints_usage_and_names_the_commands() {
    let text = help(&["--help"]);
    assert!(text.contains("serve"), "{text}");
    assert!(text.contains("agent"), "{text}");
}

#[test]
fn serve_help_prints_usage_and_its_options() {
    let text = help(&["serve", "--help"]);
    assert!(text.contains("--db"), "{text}");
    assert!(text.contains("--listen"), "{text}");
}

#[test]
fn agent_create_help_prints_usage_and_its_options() {
    let text = help(&["agent", "create", "--help"]);
    for option in ["--db", "--name", "--email", "--role"] {
        assert!(text.contains(option), "{option} missing from:\n{text}");
    }
}

#[test]
fn agent_create_refuses_an_unknown_role() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let output = Command::new(e2e::binary())
        .args(["agent", "create", "--db"])
        .arg(dir.path().join("switchboard.db"))
        .args([
            "--name",
            "Eve",
            "--email",
            "eve@example.com",
            "--role",
            "owner",
        ])
        .output()
        .expect("the switchboard binary runs");
    assert!(!output.status.success(), "role `owner` should be refused");
}

#[test]
fn agent_create_refuses_a_malformed_phone_extension_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("switchboard.db");
    let create = |extension: &str| {
        Command::new(e2e::binary())
            .args(["agent", "create", "--db"])
            .arg(&db)
            .args(["--create", "--name", "Bo", "--email", "bo@example.com"])
            .args(["--phone-extension", extension])
            .output()
            .expect("the switchboard binary runs")
    };
    let refused = create("20 1");
    assert!(!refused.status.success(), "a space is no extension");
    assert!(!db.exists(), "not even the file was made");
    // Nothing was created: the same email is free for the good one.
    let created = create("201");
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&created.stderr)
    );
}

fn switchboard(args: &[&str], db: &std::path::Path) -> std::process::Output {
    Command::new(e2e::binary())
        .args(args)
        .arg("--db")
        .arg(db)
        .output()
        .expect("the switchboard binary runs")
}

#[test]
fn agent_commands_refuse_a_database_that_does_not_exist_unless_told_to_create_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("elsewhere.db");
    let ada = [
        "agent",
        "create",
        "--name",
        "Ada",
        "--email",
        "ada@example.com",
    ];
    let refused = switchboard(&ada, &db);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("does not exist") && stderr.contains("--create"),
        "the error says what to do: {stderr}"
    );
    assert!(refused.stdout.is_empty(), "no key is printed");
    assert!(!db.exists(), "no empty database was made");
    let listed = switchboard(&["agent", "list"], &db);
    assert!(!listed.status.success());
    assert!(!db.exists());

    let mut create = ada.to_vec();
    create.push("--create");
    let created = switchboard(&create, &db);
    assert!(created.status.success(), "{created:?}");
    let bo = [
        "agent",
        "create",
        "--name",
        "Bo",
        "--email",
        "bo@example.com",
        "--role",
        "admin",
    ];
    assert!(
        switchboard(&bo, &db).status.success(),
        "the file exists now"
    );

    let listed = switchboard(&["agent", "list"], &db);
    assert!(listed.status.success(), "{listed:?}");
    let rows = String::from_utf8_lossy(&listed.stdout).into_owned();
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.len() == 5 && r[0].starts_with("ag_") && r[4] == "available"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[1] == "agent" && r[2] == "ada@example.com" && r[3] == "Ada")
    );
    assert!(
        rows.iter()
            .any(|r| r[1] == "admin" && r[2] == "bo@example.com" && r[3] == "Bo")
    );
}

#[test]
fn serve_names_the_channels_that_are_on_and_writes_no_colour_codes_into_a_pipe() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut child = Command::new(e2e::binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("switchboard.db"))
        .env(
            "SWITCHBOARD_EMAIL_WEBHOOK_SECRET",
            "relay-secret-0123456789",
        )
        .env("SWITCHBOARD_LOG", "info")
        .env_remove("SWITCHBOARD_LOG_FORMAT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the switchboard binary runs");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = Vec::new();
    let serving = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) if line.contains("switchboard serving") => break line,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no start-up line ({e}); stderr so far: {seen:?}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        serving.contains("channels=web, email (no replies: SMTP not set)"),
        "{serving}"
    );
    seen.push(serving);
    assert!(
        seen.iter().all(|line| !line.contains('\u{1b}')),
        "no colour codes off a terminal: {seen:?}"
    );
}

/// `serve` with `args` and `env` on a fresh database: its exit code (none: it started and
/// printed its address, and was stopped) and its stderr.
fn serve_with(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut command = Command::new(e2e::binary());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("switchboard.db"))
        .args(args)
        .env_remove("SWITCHBOARD_PAGE_LANGUAGE")
        .env_remove("SWITCHBOARD_REOPEN_WINDOW_HOURS")
        .env_remove("SWITCHBOARD_PUBLIC_URL");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the switchboard binary runs");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("piped stdout");
    // The first line, or nothing when it exits first.
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("stdout reads");
    let started = first.starts_with("listening on ");
    if started {
        let _ = child.kill();
    }
    let status = child.wait().expect("it stops");
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut stderr);
    ((!started).then(|| status.code()).flatten(), stderr)
}

#[test]
fn serve_refuses_a_setting_given_wrong_and_names_it_whether_flag_or_variable() {
    let (code, stderr) = serve_with(&[], &[("SWITCHBOARD_PAGE_LANGUAGE", "klingon")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("SWITCHBOARD_PAGE_LANGUAGE"), "{stderr}");

    let (code, stderr) = serve_with(&["--reopen-window-hours", "soon"], &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("SWITCHBOARD_REOPEN_WINDOW_HOURS"),
        "{stderr}"
    );

    // The flag comes before the variable: a wrong flag over a good variable is refused,
    // a good flag over a wrong variable starts.
    let (code, stderr) = serve_with(
        &["--public-url", "not a url"],
        &[("SWITCHBOARD_PUBLIC_URL", "https://help.example.com")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("SWITCHBOARD_PUBLIC_URL"), "{stderr}");
    let (code, stderr) = serve_with(
        &["--public-url", "https://help.example.com"],
        &[("SWITCHBOARD_PUBLIC_URL", "not a url")],
    );
    assert_eq!(code, None, "{stderr}");
}

/// A server killed when the test ends, whatever way it ends: one left running would
/// hold a core for the rest of the run.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_log_reader_that_quits_does_not_stop_the_server() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut server = Stopped(
        Command::new(e2e::binary())
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("switchboard.db"))
            .env("SWITCHBOARD_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the switchboard binary runs"),
    );
    let child = &mut server.0;
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut first)
        .expect("stdout reads");
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no address: {first:?}"))
        .to_owned();
    // Whoever read the logs goes away (`serve 2>&1 | head`): the next log line has
    // nowhere to go.
    drop(child.stderr.take());
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("a client");
    for n in 0..10 {
        let email = format!("pipe{n}@example.com");
        let answer = http
            .post(format!("{base}/webhooks/webform"))
            .header("accept", "application/json")
            .form(&[("email", email.as_str()), ("message", "Still there?")])
            .send()
            .await
            .unwrap_or_else(|e| panic!("submission {n} got no answer: {e}"));
        assert_eq!(answer.status(), 202, "submission {n}");
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("a status") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "it did not stop on SIGTERM"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
