//! The customer pages as a customer sees them: headless Chromium, driven by Playwright
//! (tests/browser/pages.py), at 1200 and 390 px, in English and in Persian. Screenshots
//! are kept in target/screenshots/.

use e2e::{App, repo_root};

async fn pages_fit_and_show_their_forms_in(language: &str) {
    let zone = if language == "fa" {
        "Asia/Tehran"
    } else {
        "UTC"
    };
    let app = App::spawn_with(&[
        ("SWITCHBOARD_PAGE_LANGUAGE", language),
        ("SWITCHBOARD_TIME_ZONE", zone),
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"),
    ])
    .await;
    let root = repo_root();
    let python = root.join(".venv/bin/python");
    let shots = root.join("target/screenshots");
    let mut command = std::process::Command::new(&python);
    command
        .arg(root.join("tests/browser/pages.py"))
        .arg(app.url(""))
        .arg(language)
        .arg(&shots);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the browser run ends")
        .unwrap_or_else(|e| panic!("{} runs (scripts/install-tools): {e}", python.display()));
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn english_pages_fit_a_phone_and_a_desktop_and_show_their_forms() {
    pages_fit_and_show_their_forms_in("en").await;
}

#[tokio::test]
async fn persian_pages_fit_a_phone_and_a_desktop_and_show_their_forms() {
    pages_fit_and_show_their_forms_in("fa").await;
}
