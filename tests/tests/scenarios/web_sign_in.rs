//! People sign in to the web inbox with a password: a session cookie (HttpOnly, Secure,
//! SameSite=Strict) and a CSRF token on every change; sign-out, lockout, sessions ended
//! by admins, by a new password and by disabling. What someone holding an old cookie, a
//! guessed password or another site's form gets: nothing.

use e2e::{ADMIN, AGENT, App, problem_of, status_and_json};
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// What a browser holds after signing in.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &App, email: &str, password: &str) -> reqwest::Response {
    app.http
        .post(app.url("/v1/session"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("the server answers")
}

async fn signed_in(app: &App, email: &str) -> Browser {
    let response = sign_in(app, email, PASSWORD).await;
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .expect("a sign-in sets a cookie")
        .to_str()
        .expect("the cookie is text")
        .to_owned();
    let (status, body, text) = status_and_json(response).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("a cookie before its attributes")
        .to_owned();
    assert!(cookie.starts_with("__Host-sb_session="), "{cookie}");
    Browser {
        cookie,
        csrf: body["csrf_token"]
            .as_str()
            .expect("a CSRF token")
            .to_owned(),
    }
}

impl Browser {
    fn request(&self, app: &App, method: Method, path: &str) -> reqwest::RequestBuilder {
        app.http
            .request(method, app.url(path))
            .header(COOKIE, &self.cookie)
    }

    /// A change, with the CSRF token.
    fn change(&self, app: &App, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.request(app, method, path)
            .header("X-CSRF-Token", &self.csrf)
    }
}

async fn status_of(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("the server answers");
    let (status, body, _) = status_and_json(response).await;
    (status, body)
}

#[tokio::test]
async fn a_browser_session_reads_and_changes_only_with_its_csrf_token_and_ends_at_sign_out() {
    let app = App::spawn().await;
    app.create_agent("Root", "root@support.example", ADMIN);
    app.set_password("root@support.example", PASSWORD);
    let browser = signed_in(&app, "root@support.example").await;

    let (status, me) = status_of(browser.request(&app, Method::GET, "/v1/session")).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["agent"]["email"], "root@support.example");
    assert_eq!(me["csrf_token"], browser.csrf.as_str());
    let (status, list) = status_of(browser.request(&app, Method::GET, "/v1/conversations")).await;
    assert_eq!(status, StatusCode::OK, "the cookie reads the inbox: {list}");

    // A change another site could make the browser send carries the cookie, never the
    // token.
    let away = json!({"availability": "away"});
    let without = browser.request(&app, Method::PATCH, "/v1/me").json(&away);
    let (status, problem) = status_of(without).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let wrong = browser
        .request(&app, Method::PATCH, "/v1/me")
        .header("X-CSRF-Token", "not-the-token")
        .json(&away);
    assert_eq!(status_of(wrong).await.0, StatusCode::FORBIDDEN);
    let (_, me) = status_of(browser.request(&app, Method::GET, "/v1/me")).await;
    assert_eq!(me["availability"], "available", "nothing changed: {me}");
    let with = browser.change(&app, Method::PATCH, "/v1/me").json(&away);
    let (status, me) = status_of(with).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["availability"], "away");

    // An admin sees the session, never its secret or token.
    let (status, sessions) = status_of(browser.request(&app, Method::GET, "/v1/sessions")).await;
    assert_eq!(status, StatusCode::OK, "{sessions}");
    let listed = sessions["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{sessions}");
    let text = sessions.to_string();
    let secret = browser.cookie.split_once('.').unwrap().1;
    assert!(
        !text.contains(secret) && !text.contains(&browser.csrf),
        "{text}"
    );

    // A second session cookie beside it (one a sibling site planted) opens nothing.
    let planted = app
        .http
        .get(app.url("/v1/me"))
        .header(COOKIE, format!("{}; {}", browser.cookie, browser.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status(), StatusCode::UNAUTHORIZED);

    // A tampered cookie opens nothing.
    let tampered = Browser {
        cookie: format!("{}x", browser.cookie),
        csrf: browser.csrf.clone(),
    };
    let (status, _) = status_of(tampered.request(&app, Method::GET, "/v1/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Signing out needs the token too, and then the cookie is worth nothing.
    let (status, _) = status_of(browser.request(&app, Method::DELETE, "/v1/session")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let out = browser
        .change(&app, Method::DELETE, "/v1/session")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    for path in ["/v1/me", "/v1/session", "/v1/conversations"] {
        let response = browser
            .request(&app, Method::GET, path)
            .send()
            .await
            .unwrap();
        let (status, problem) = problem_of(response).await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {problem}");
    }
}

#[tokio::test]
async fn wrong_passwords_say_nothing_of_who_exists_and_ten_lock_the_email_out() {
    let app = App::spawn().await;
    let admin_key = app.create_agent("Root", "root@support.example", ADMIN);
    app.create_agent("Ada", "ada@support.example", AGENT);
    app.set_password("ada@support.example", PASSWORD);

    let (status, unknown) = problem_of(sign_in(&app, "nobody@support.example", PASSWORD).await)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, wrong) =
        problem_of(sign_in(&app, "ada@support.example", "not her password").await)
            .await
            .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown["detail"], wrong["detail"], "one answer for both");
    // An agent without a password (Root) cannot be signed in as with any password.
    let (status, _) = problem_of(sign_in(&app, "root@support.example", "").await)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Ten tries at an email nobody has end as ten at an agent's do: the refusal tells
    // nobody who has an account either.
    let mut statuses = Vec::new();
    for attempt in 2..=10 {
        statuses.push(
            sign_in(&app, "nobody@support.example", &format!("guess {attempt}"))
                .await
                .status(),
        );
    }
    assert_eq!(statuses.pop(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );

    // Nine more wrong: the tenth in a row locks her out, the right password included.
    let mut last = StatusCode::OK;
    for attempt in 2..=10 {
        let response = sign_in(&app, "ada@support.example", &format!("guess {attempt}")).await;
        last = response.status();
        if attempt < 10 {
            assert_eq!(last, StatusCode::UNAUTHORIZED, "attempt {attempt}");
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "the tenth locks");
    let response = sign_in(&app, "ada@support.example", PASSWORD).await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&retry_after), "{retry_after}");
    let (status, problem) = problem_of(response).await.unwrap();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("locked"),
        "{problem}"
    );

    // An admin setting a new password lets her in again.
    let ada = app.get_ok(&admin_key, "/v1/agents").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "ada@support.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let short = app
        .put_json(
            &admin_key,
            &format!("/v1/agents/{ada}/password"),
            &json!({"password": "short"}),
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = app
        .put_json(
            &admin_key,
            &format!("/v1/agents/{ada}/password"),
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    signed_in(&app, "ada@support.example").await;
}

#[tokio::test]
async fn sessions_end_when_an_admin_ends_them_the_password_changes_or_the_agent_is_disabled() {
    let app = App::spawn().await;
    let admin_key = app.create_agent("Root", "root@support.example", ADMIN);
    app.create_agent("Ada", "ada@support.example", AGENT);
    app.set_password("ada@support.example", PASSWORD);
    let phone = signed_in(&app, "ada@support.example").await;
    let laptop = signed_in(&app, "ada@support.example").await;

    // An agent's own session is not an admin's: she cannot list or end sessions.
    let (status, _) = status_of(laptop.request(&app, Method::GET, "/v1/sessions")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let sessions = app.get_ok(&admin_key, "/v1/sessions").await;
    let listed = sessions["sessions"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{sessions}");
    let phone_id = phone.cookie["__Host-sb_session=".len()..]
        .split('.')
        .next()
        .unwrap();
    let ended = app
        .delete(&admin_key, &format!("/v1/sessions/{phone_id}"))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let again = app
        .delete(&admin_key, &format!("/v1/sessions/{phone_id}"))
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        status_of(phone.request(&app, Method::GET, "/v1/me"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(laptop.request(&app, Method::GET, "/v1/me"))
            .await
            .0,
        StatusCode::OK,
        "only the phone's session ended"
    );

    // She changes her password: her sessions end, and the new one signs her in.
    let new_password = "a brand new passphrase";
    let wrong = laptop
        .change(&app, Method::PUT, "/v1/me/password")
        .json(&json!({"current_password": "not it", "new_password": new_password}));
    assert_eq!(status_of(wrong).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let change = laptop
        .change(&app, Method::PUT, "/v1/me/password")
        .json(&json!({"current_password": PASSWORD, "new_password": new_password}));
    assert_eq!(status_of(change).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        status_of(laptop.request(&app, Method::GET, "/v1/me"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&app, "ada@support.example", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let response = sign_in(&app, "ada@support.example", new_password).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    let tablet = Browser {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        csrf: String::new(),
    };

    // Disabled: the session ends and the password no longer signs in.
    let disabled = app
        .command()
        .args(["agent", "disable", "--db"])
        .arg(app.db_path())
        .arg("ada@support.example")
        .output()
        .unwrap();
    assert!(disabled.status.success());
    assert_eq!(
        status_of(tablet.request(&app, Method::GET, "/v1/me"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in(&app, "ada@support.example", new_password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_inbox_page_runs_only_its_own_script() {
    let app = App::spawn().await;
    let response = app.http.get(app.url("/app")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = response.text().await.unwrap();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "{html}");
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        assert!(
            tag.contains("src=\"/app/app.js?v="),
            "an inline script: {tag}"
        );
    }
    let root = app.http.get(app.url("/")).send().await.unwrap();
    assert!(root.status().is_redirection(), "{}", root.status());
    assert_eq!(
        root.headers()["location"],
        "/app",
        "the root leads to the inbox"
    );
}

#[tokio::test]
async fn guesses_sent_at_once_are_each_counted_before_the_password_is_checked() {
    let app = App::spawn().await;
    app.create_agent("Ada", "ada@support.example", AGENT);
    app.set_password("ada@support.example", PASSWORD);
    let guesses = (0..25).map(|i| {
        let app = &app;
        async move {
            sign_in(app, "ada@support.example", &format!("guess {i}"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 25, "{statuses:?}");
    assert!(
        checked <= 9,
        "only nine guesses are ever checked: {statuses:?}"
    );
    assert_eq!(
        sign_in(&app, "ada@support.example", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked, the right password included"
    );
}

/// Tries are counted per email and client network: whoever guesses at an agent's
/// password from one network locks only that network out, and the agent signs in from
/// hers; her sign-in there forgets what her own network tried before.
#[tokio::test]
async fn guesses_from_one_network_lock_out_no_other() {
    let app = App::spawn().await;
    app.create_agent("Ada", "ada@support.example", AGENT);
    app.set_password("ada@support.example", PASSWORD);
    // Every spelling of her email counts as one.
    let mut last = StatusCode::OK;
    for attempt in 1..=10 {
        let spelling = ["ada@support.example", "ADA@Support.Example"][attempt % 2];
        last = sign_in(&app, spelling, &format!("guess {attempt}"))
            .await
            .status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        sign_in(&app, "ada@support.example", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS,
        "this network is locked out, the right password included"
    );

    // Ada, on another address (127.0.0.2 on the loopback): wrong tries, then her own.
    for _ in 0..8 {
        assert_eq!(
            ada_signs_in_from(&app, 2, "not it at all").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(ada_signs_in_from(&app, 2, PASSWORD).await, StatusCode::OK);
    // Her sign-in forgot her network's eight wrong tries: nine more are each checked.
    for _ in 0..9 {
        assert_eq!(
            ada_signs_in_from(&app, 2, "not it at all").await,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// A sign-in as Ada from 127.0.0.`last_byte` (another client network on the loopback).
async fn ada_signs_in_from(app: &App, last_byte: u8, password: &str) -> StatusCode {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, last_byte]))
        .build()
        .expect("a client on the loopback")
        .post(app.url("/v1/session"))
        .json(&json!({"email": "ada@support.example", "password": password}))
        .send()
        .await
        .expect("the server answers")
        .status()
}

/// Guesses spread over many networks (each stopping short of its own ten) still lock
/// the account itself at a hundred wrong passwords, for every network.
#[tokio::test]
async fn guesses_spread_over_many_networks_lock_the_account_at_a_hundred() {
    let app = App::spawn().await;
    app.create_agent("Ada", "ada@support.example", AGENT);
    app.set_password("ada@support.example", PASSWORD);
    let mut statuses = Vec::new();
    for network in 10..22 {
        for _ in 0..9 {
            statuses.push(ada_signs_in_from(&app, network, "a wrong guess here").await);
        }
    }
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(wrong, 99, "the hundredth locks: {statuses:?}");
    assert!(
        statuses[99..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(
        ada_signs_in_from(&app, 40, PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "locked for a network that never tried"
    );
}

/// `switchboard agent sign-in-link`: the link alone on the last line.
fn sign_in_link(app: &App, agent: &str) -> String {
    let output = app
        .command()
        .args(["agent", "sign-in-link", "--db"])
        .arg(app.db_path())
        .args(["--url", &app.url("")])
        .arg(agent)
        .output()
        .expect("`switchboard agent sign-in-link` runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .expect("a link")
        .to_owned()
}

/// An agent holding a link to their own account cannot have a page of theirs sign a
/// colleague's browser in with it (login CSRF: the colleague would then work as them).
#[tokio::test]
async fn a_sign_in_link_posted_by_a_page_of_another_site_signs_nobody_in() {
    let app = App::spawn().await;
    app.create_agent("Mallory", "mallory@support.example", AGENT);
    let link = sign_in_link(&app, "mallory@support.example");
    for (name, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
        ("origin", "null"),
    ] {
        let click = app
            .http
            .post(&link)
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(click.status(), StatusCode::FORBIDDEN, "{name}: {value}");
        assert!(click.headers().get(SET_COOKIE).is_none(), "{name}: {value}");
        let html = click.text().await.unwrap();
        assert!(html.contains("another site"), "{html}");
    }
    // The link is as it was: its own page's button still signs in, once.
    assert_eq!(
        app.http.get(&link).send().await.unwrap().status(),
        StatusCode::OK
    );
    let own_page = app
        .http
        .post(&link)
        .header("sec-fetch-site", "same-origin")
        .header("origin", app.url("").trim_end_matches('/'))
        .send()
        .await
        .unwrap();
    assert!(own_page.status().is_redirection(), "{}", own_page.status());
    assert!(own_page.headers().get(SET_COOKIE).is_some());
}

#[tokio::test]
async fn a_sign_in_link_opens_one_session_once_and_the_agent_then_sets_a_password() {
    let app = App::spawn().await;
    app.create_agent("Ada", "ada@support.example", AGENT);
    let link = sign_in_link(&app, "ada@support.example");
    assert!(link.starts_with(&app.url("/app/link/")), "{link}");

    // Following the link (as a mail scanner would) uses nothing up: it asks for a click.
    for _ in 0..2 {
        let page = app.http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let policy = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        let html = page.text().await.unwrap();
        assert!(
            html.contains("ada@support.example") && html.contains("<form method=\"post\""),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }
    let click = app.http.post(&link).send().await.unwrap();
    assert!(click.status().is_redirection(), "{}", click.status());
    assert_eq!(click.headers()["location"], "/app");
    let cookie = click.headers()[SET_COOKIE].to_str().unwrap();
    let browser = Browser {
        cookie: cookie.split(';').next().unwrap().to_owned(),
        csrf: String::new(),
    };
    let (status, session) = status_of(browser.request(&app, Method::GET, "/v1/session")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["agent"]["email"], "ada@support.example");
    let browser = Browser {
        csrf: session["csrf_token"].as_str().unwrap().to_owned(),
        ..browser
    };

    // Used up: neither the page nor the click opens anything again, and the link itself
    // is no session cookie.
    assert_eq!(
        app.http.get(&link).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.http.post(&link).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let token = link.rsplit('/').next().unwrap();
    let as_cookie = Browser {
        cookie: format!("__Host-sb_session={token}"),
        csrf: String::new(),
    };
    let fresh = sign_in_link(&app, "ada@support.example");
    let fresh_token = fresh.rsplit('/').next().unwrap();
    let unused_as_cookie = Browser {
        cookie: format!("__Host-sb_session={fresh_token}"),
        csrf: String::new(),
    };
    assert_eq!(
        status_of(as_cookie.request(&app, Method::GET, "/v1/me"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(unused_as_cookie.request(&app, Method::GET, "/v1/me"))
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "an unused link is no session"
    );

    // She has no password yet: her session sets one, and it signs her in.
    let set = browser
        .change(&app, Method::PUT, "/v1/me/password")
        .json(&json!({"current_password": "", "new_password": PASSWORD}));
    assert_eq!(status_of(set).await.0, StatusCode::NO_CONTENT);
    signed_in(&app, "ada@support.example").await;
    // A link made before the password changed is void.
    assert_eq!(
        app.http.get(&fresh).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
