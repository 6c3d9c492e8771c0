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
            .args(["--name", "Bo", "--email", "bo@example.com"])
            .args(["--phone-extension", extension])
            .output()
            .expect("the switchboard binary runs")
    };
    let refused = create("20 1");
    assert!(!refused.status.success(), "a space is no extension");
    // Nothing was created: the same email is free for the good one.
    let created = create("201");
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&created.stderr)
    );
}
