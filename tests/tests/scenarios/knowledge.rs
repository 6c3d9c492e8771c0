//! The knowledge base on the local binary: agents draft and admins publish articles
//! through the API; the help center shows, searches and escapes them; "did this answer
//! your question?" and searches that find nothing are counted in the deflection report;
//! the Telegram bot answers a new question first, and "this solved it" resolves the
//! conversation as self-served while "talk to a person" hands it to the agents.

use e2e::{
    ADMIN, AGENT, App, DEADLINE, FakeLlm, FakeTelegram, button_update, eventually, new_user_id,
    serve_refused, status_and_json, text_update,
};
use serde_json::{Value, json};

fn article(slug: &str, language: &str, title: &str, body: &str, status: &str) -> Value {
    json!({
        "slug": slug,
        "language": language,
        "category": "payments",
        "tags": ["refund"],
        "title": title,
        "body": body,
        "status": status,
    })
}

async fn publish(app: &App, admin: &str, body: &Value) -> Value {
    let (status, created, raw) =
        status_and_json(app.post_json(admin, "/v1/articles", body).await).await;
    assert_eq!(status.as_u16(), 201, "{raw}");
    created
}

async fn page(app: &App, path: &str) -> (u16, String) {
    let response = reqwest::get(app.url(path)).await.expect("the page answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

const REFUND_FA: &str = "پول سفارش لغوشده ظرف **۳ روز کاری** به کارتی برمی‌گردد که با آن پرداخت کرده‌اید.\n\n1. از بخش سفارش‌ها وضعیت بازپرداخت را ببینید.\n2. اگر پس از ۳ روز نرسید به ما پیام دهید.";

#[tokio::test]
async fn an_agent_drafts_an_admin_publishes_and_customers_find_it_in_the_help_center() {
    let app = App::spawn().await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let agent = app.create_agent("Reza", "reza@shop.example", AGENT);

    // An agent writes a draft; customers do not see it, and the agent cannot publish it.
    let draft = article(
        "refund-to-card",
        "fa",
        "بازگشت پول به کارت",
        REFUND_FA,
        "draft",
    );
    let (status, created, raw) =
        status_and_json(app.post_json(&agent, "/v1/articles", &draft).await).await;
    assert_eq!(status.as_u16(), 201, "{raw}");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["revision"], 1);
    assert_eq!(page(&app, "/help/refund-to-card").await.0, 404);
    let mut published = draft.clone();
    published["status"] = json!("published");
    published["revision"] = json!(1);
    let (status, _, _) = status_and_json(
        app.put_json(&agent, &format!("/v1/articles/{id}"), &published)
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 403, "an agent drafts; an admin publishes");

    // The admin publishes the revision they read; an author who read an older one is
    // told, and writes nothing.
    let (status, saved, raw) = status_and_json(
        app.put_json(&admin, &format!("/v1/articles/{id}"), &published)
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    assert_eq!(saved["revision"], 2);
    let (status, problem, _) = status_and_json(
        app.put_json(&admin, &format!("/v1/articles/{id}"), &published)
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 409, "{problem}");
    let revisions = app
        .get_ok(&admin, &format!("/v1/articles/{id}/revisions"))
        .await;
    let revisions = revisions["items"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["status"], "draft");
    assert_eq!(revisions[1]["status"], "published");
    assert_ne!(revisions[0]["updated_by"], revisions[1]["updated_by"]);

    // The help center lists it, right-to-left, and finds it from a customer's words:
    // Arabic letters, Persian digits, no spaces where Persian puts a non-joiner.
    let (status, index) = page(&app, "/help").await;
    assert_eq!(status, 200);
    assert!(
        index.contains(
            r#"<li lang="fa" dir="rtl"><a href="/help/refund-to-card">بازگشت پول به کارت</a>"#
        ),
        "{index}"
    );
    let (_, found) = page(&app, "/help?q=%D9%BE%D9%88%D9%84%D9%85+%D8%A8%D9%87+%D9%83%D8%A7%D8%B1%D8%AA%D9%85+%D8%A8%D8%B1%D9%86%DA%AF%D8%B4%D8%AA%D9%87").await;
    assert!(
        found.contains(r#"href="/help/refund-to-card""#),
        "پولم به كارتم برنگشته: {found}"
    );
    let (status, shown) = page(&app, "/help/refund-to-card").await;
    assert_eq!(status, 200);
    assert!(
        shown.contains(r#"<article lang="fa" dir="rtl">"#),
        "{shown}"
    );
    assert!(shown.contains("<strong>۳ روز کاری</strong>"), "{shown}");
    assert!(shown.contains("<ol>"), "{shown}");

    // "Did this answer your question?" — yes, counted for the article.
    let response = app
        .post_form_to(
            &app.url("/help/refund-to-card/feedback"),
            &[("answered", "yes")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let (_, thanked) = page(&app, "/help/refund-to-card?feedback=yes").await;
    assert!(thanked.contains(r#"role="status""#), "{thanked}");
    let response = app
        .post_form_to(
            &app.url("/help/refund-to-card/feedback"),
            &[("answered", "maybe")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 400);

    // A search that finds nothing is kept by its words: what to write next.
    let (_, nothing) = page(&app, "/help?q=warranty+for+headphones").await;
    assert!(nothing.contains("/contact?q=warranty"), "{nothing}");
    // The contact page's live suggestions search as the visitor types: not counted, so
    // half-written words are never kept.
    let (status, live) = page(&app, "/help/search.json?q=my+order+48213+warr").await;
    assert_eq!(status, 200, "{live}");
    let report = app.get_ok(&agent, "/v1/reports/knowledge").await;
    assert_eq!(report["helpful"], 1, "{report}");
    assert_eq!(report["self_served"], 1, "{report}");
    assert_eq!(report["searches"], 2, "{report}");
    assert_eq!(report["unanswered_searches"], 1, "{report}");
    assert_eq!(
        report["unanswered"][0]["words"], "warranty headphones",
        "{report}"
    );
    assert_eq!(
        report["top_articles"][0]["article_id"],
        id.as_str(),
        "{report}"
    );
    assert_eq!(report["top_articles"][0]["deflected"], 1, "{report}");
    assert_eq!(report["deflection_rate"], 1.0, "{report}");

    // Agents search it too; deleting is an admin's, and takes it out of the help center.
    let hits = app
        .get_ok(
            &agent,
            "/v1/articles/search?q=%D8%A8%D8%A7%D8%B2%DA%AF%D8%B4%D8%AA+%D9%BE%D9%88%D9%84",
        )
        .await;
    assert_eq!(hits["items"][0]["id"], id.as_str(), "{hits}");
    assert!(
        hits["items"][0]["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/help/refund-to-card"),
        "{hits}"
    );
    assert_eq!(
        app.delete(&agent, &format!("/v1/articles/{id}"))
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        app.delete(&admin, &format!("/v1/articles/{id}"))
            .await
            .status()
            .as_u16(),
        204
    );
    assert_eq!(page(&app, "/help/refund-to-card").await.0, 404);
}

#[tokio::test]
async fn help_pages_escape_everything_and_markdown_cannot_inject_script() {
    let app = App::spawn().await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let body = "Hello <script>alert('body')</script>\n\n\
                <img src=x onerror=alert(1)>\n\n\
                [click me](javascript:alert(2)) and [ok](https://shop.example/help)";
    publish(
        &app,
        &admin,
        &article(
            "xss",
            "en",
            "<script>alert('title')</script> refund",
            body,
            "published",
        ),
    )
    .await;
    for path in [
        "/help",
        "/help/xss",
        "/help?q=%3Cscript%3Ealert(3)%3C%2Fscript%3E+refund",
        "/contact?q=%3Cscript%3Ealert(4)%3C%2Fscript%3E+refund",
    ] {
        let (status, html) = page(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("<script>alert"), "{path}: {html}");
        assert!(!html.contains("<img"), "{path}: {html}");
        assert!(!html.contains(r#"href="javascript"#), "{path}: {html}");
    }
    let (_, shown) = page(&app, "/help/xss").await;
    assert!(
        shown.contains("&lt;script&gt;alert('body')&lt;/script&gt;"),
        "{shown}"
    );
    assert!(
        shown.contains(
            r#"<a href="https://shop.example/help" rel="noopener noreferrer nofollow">ok</a>"#
        ),
        "{shown}"
    );
    // The contact page's only script is its own file.
    let (_, contact) = page(&app, "/contact?q=refund").await;
    assert!(
        contact.contains(r#"<script src="/help/contact.js" defer></script>"#),
        "{contact}"
    );
    assert!(
        contact.contains(r#"href="/help/xss""#),
        "the search step suggests: {contact}"
    );
}

/// The bot's answer as the fake Bot API got it: its text and its buttons' data.
async fn bot_answer(fake: &FakeTelegram, chat: i64) -> (String, Vec<String>) {
    let call = eventually("the bot's answer sent", DEADLINE, async || {
        fake.calls("sendMessage")
            .into_iter()
            .find(|c| c.body["chat_id"] == chat && c.body["reply_markup"].is_object())
    })
    .await;
    let buttons = call.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["callback_data"].as_str().map(str::to_owned))
        .collect();
    (
        call.body["text"].as_str().unwrap_or_default().to_owned(),
        buttons,
    )
}

async fn press_answer(fake: &FakeTelegram, press: &str) -> String {
    eventually("the press answered", DEADLINE, async || {
        fake.calls("answerCallbackQuery")
            .into_iter()
            .find(|c| c.body["callback_query_id"] == press)
            .and_then(|c| c.body["text"].as_str().map(str::to_owned))
    })
    .await
}

/// The id of [`only_conversation`].
async fn only_conversation_id(app: &App, key: &str) -> String {
    only_conversation(app, key).await["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

async fn only_conversation(app: &App, key: &str) -> Value {
    eventually("the conversation stored", DEADLINE, async || {
        app.all_conversations(key).await.into_iter().next()
    })
    .await
}

async fn conversation_when(
    app: &App,
    key: &str,
    id: &str,
    what: &str,
    test: impl Fn(&Value) -> bool,
) -> Value {
    eventually(what, DEADLINE, async || {
        let c = app.get_ok(key, &format!("/v1/conversations/{id}")).await;
        test(&c).then_some(c)
    })
    .await
}

fn tagged(c: &Value, tag: &str) -> bool {
    c["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == tag))
}

/// A server whose bot answers first on Telegram (a fake Bot API), with the Persian refund
/// article published; and an admin's key.
async fn answering_on_telegram() -> (FakeTelegram, App, String) {
    let fake = FakeTelegram::start(e2e::BOT_TOKEN).await;
    let app = App::spawn_with_telegram(&fake, &[("SWITCHBOARD_ANSWER_FIRST", "telegram")]).await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    publish(
        &app,
        &admin,
        &article(
            "refund-to-card",
            "fa",
            "بازگشت پول به کارت",
            REFUND_FA,
            "published",
        ),
    )
    .await;
    (fake, app, admin)
}

#[tokio::test]
async fn the_telegram_bot_answers_first_and_this_solved_it_resolves_the_conversation_as_self_served()
 {
    let (fake, app, admin) = answering_on_telegram().await;
    publish(
        &app,
        &admin,
        &article(
            "reset-password",
            "en",
            "Forgot your password",
            "Use the reset link on the sign-in page.",
            "published",
        ),
    )
    .await;

    let sara = new_user_id();
    app.deliver(&text_update(
        1,
        sara,
        1,
        "سلام پول سفارشم هنوز به كارتم برنگشته",
    ))
    .await;
    let (text, buttons) = bot_answer(&fake, sara).await;
    assert!(text.contains("بازگشت پول به کارت"), "{text}");
    assert!(text.contains("/help/refund-to-card"), "{text}");
    assert_eq!(buttons.len(), 2, "{buttons:?}");
    let conversation = only_conversation(&app, &admin).await;
    let id = conversation["id"].as_str().expect("an id").to_owned();
    let waiting = conversation_when(
        &app,
        &admin,
        &id,
        "the conversation waiting on the bot",
        |c| c["status"] == "pending" && tagged(c, "bot-answered"),
    )
    .await;
    assert_eq!(waiting["status"], "pending");
    // The agents see what the customer was told.
    let told = app.messages(&admin, &id).await;
    assert!(
        told.iter().any(|m| m["author"]["type"] == "system"
            && m["text"]
                .as_str()
                .unwrap_or_default()
                .contains("/help/refund-to-card")),
        "{told:?}"
    );

    // A press naming another article than the bot's answer is heard as nothing.
    let other_article = format!("{}{}", &buttons[0][..buttons[0].len() - 26], "0".repeat(26));
    app.deliver(&button_update(9, sara, "press-forged", 50, &other_article))
        .await;
    // (In the pages' language: the forged article names none.)
    assert_eq!(press_answer(&fake, "press-forged").await, "Noted already.");

    // Someone else's press on the same buttons is heard as nothing.
    let mallory = new_user_id();
    app.deliver(&button_update(2, mallory, "press-other", 50, &buttons[0]))
        .await;
    assert_eq!(press_answer(&fake, "press-other").await, "ثبت شده بود.");

    app.deliver(&button_update(3, sara, "press-solved", 50, &buttons[0]))
        .await;
    assert_eq!(
        press_answer(&fake, "press-solved").await,
        "خوشحالیم که کمک کرد!"
    );
    let solved = conversation_when(&app, &admin, &id, "resolved as self-served", |c| {
        c["status"] == "resolved" && tagged(c, "self-served")
    })
    .await;
    assert!(!tagged(&solved, "handed-over"), "{solved}");
    // A second press changes nothing.
    app.deliver(&button_update(4, sara, "press-again", 50, &buttons[1]))
        .await;
    assert_eq!(press_answer(&fake, "press-again").await, "ثبت شده بود.");
    assert_eq!(
        app.get_ok(&admin, &format!("/v1/conversations/{id}")).await["status"],
        "resolved"
    );

    let report = eventually("the bot counted", DEADLINE, async || {
        let r = app.get_ok(&admin, "/v1/reports/knowledge").await;
        (r["bot_solved"] == 1).then_some(r)
    })
    .await;
    assert_eq!(report["bot_answered"], 1, "{report}");
    assert_eq!(report["self_served"], 1, "{report}");
    assert_eq!(report["handed_over"], 0, "{report}");
}

#[tokio::test]
async fn a_question_in_persian_written_in_latin_letters_gets_the_persian_article() {
    let (fake, app, admin) = answering_on_telegram().await;
    let ali = new_user_id();
    app.deliver(&text_update(
        1,
        ali,
        1,
        "salam pool sefaresh hanooz be kart barnagashte",
    ))
    .await;
    let (text, buttons) = bot_answer(&fake, ali).await;
    assert!(text.contains("بازگشت پول به کارت"), "{text}");
    assert!(text.contains("/help/refund-to-card"), "{text}");
    assert_eq!(buttons.len(), 2, "{buttons:?}");
    let id = only_conversation_id(&app, &admin).await;
    conversation_when(&app, &admin, &id, "waiting on the bot", |c| {
        c["status"] == "pending" && tagged(c, "bot-answered")
    })
    .await;
}

#[tokio::test]
async fn talk_to_a_person_hands_over_and_a_question_the_bot_is_unsure_of_goes_straight_to_agents() {
    let (fake, app, admin) = answering_on_telegram().await;

    let omid = new_user_id();
    app.deliver(&text_update(1, omid, 1, "پولم به کارت برنگشته"))
        .await;
    let (_, buttons) = bot_answer(&fake, omid).await;
    let id = only_conversation_id(&app, &admin).await;
    conversation_when(&app, &admin, &id, "pending", |c| c["status"] == "pending").await;
    app.deliver(&button_update(2, omid, "press-person", 50, &buttons[1]))
        .await;
    assert_eq!(
        press_answer(&fake, "press-person").await,
        "به‌زودی یکی از همکاران همین‌جا پاسخ می‌دهد."
    );
    conversation_when(&app, &admin, &id, "handed over, open", |c| {
        c["status"] == "open" && tagged(c, "handed-over")
    })
    .await;

    // A question no article answers surely: no bot message, straight to the agents.
    let leila = new_user_id();
    app.deliver(&text_update(
        3,
        leila,
        1,
        "my headphones crackle on the left side",
    ))
    .await;
    let theirs = eventually("Leila's conversation", DEADLINE, async || {
        app.all_conversations(&admin)
            .await
            .into_iter()
            .find(|c| c["id"] != id.as_str())
    })
    .await;
    assert_eq!(theirs["status"], "open");
    assert!(!tagged(&theirs, "bot-answered"), "{theirs}");

    // A customer who writes again instead of pressing opens it like any message.
    let nima = new_user_id();
    app.deliver(&text_update(
        4,
        nima,
        1,
        "بازگشت پول به کارت چقدر طول میکشه",
    ))
    .await;
    bot_answer(&fake, nima).await;
    let nima_conversation = eventually("Nima's conversation pending", DEADLINE, async || {
        app.all_conversations(&admin)
            .await
            .into_iter()
            .find(|c| c["status"] == "pending")
    })
    .await;
    let nima_id = nima_conversation["id"].as_str().expect("an id").to_owned();
    app.deliver(&text_update(5, nima, 2, "جواب سوالم نبود"))
        .await;
    conversation_when(
        &app,
        &admin,
        &nima_id,
        "opened by the second message",
        |c| c["status"] == "open",
    )
    .await;
    let sent_to_nima = fake
        .calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["chat_id"] == nima)
        .count();
    assert_eq!(
        sent_to_nima, 1,
        "the bot answers a conversation's first message only"
    );
}

#[tokio::test]
async fn a_team_that_turns_the_bot_off_gets_its_customers_questions_straight() {
    let (fake, app, admin) = answering_on_telegram().await;
    let (status, team, raw) = status_and_json(
        app.post_json(&admin, "/v1/teams", &json!({"name": "VIP"}))
            .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{raw}");
    assert_eq!(team["bot_answers_first"], true, "on unless turned off");
    let team_id = team["id"].as_str().expect("a team id").to_owned();
    let (status, _, raw) = status_and_json(
        app.post_json(
            &admin,
            "/v1/rules",
            &json!({
                "name": "VIP customers",
                "trigger": "message_received",
                "conditions": [{ "if": "text_contains", "any_of": ["VIP"] }],
                "actions": [{ "do": "set_team", "team_id": team_id }],
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 201, "{raw}");
    let patch = |body: Value| {
        let app = &app;
        let admin = &admin;
        let team_id = &team_id;
        async move {
            let response = reqwest::Client::new()
                .patch(app.url(&format!("/v1/teams/{team_id}")))
                .bearer_auth(admin)
                .json(&body)
                .send()
                .await
                .expect("the API answers");
            status_and_json(response).await
        }
    };
    let (status, turned, raw) = patch(json!({"bot_answers_first": false})).await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    assert_eq!(
        (
            turned["bot_answers_first"].clone(),
            turned["assignment"].clone()
        ),
        (json!(false), json!("round_robin"))
    );
    let (status, _, raw) = patch(json!({})).await;
    assert!(status.is_client_error(), "{raw}");

    // The VIP team's customer asks what the bot would answer: it stays quiet.
    let vip = new_user_id();
    app.deliver(&text_update(1, vip, 1, "VIP: پولم به کارت برنگشته"))
        .await;
    let theirs = conversation_with_team(&app, &admin, &team_id).await;
    assert_eq!(theirs["status"], "open", "{theirs}");
    assert!(!tagged(&theirs, "bot-answered"), "{theirs}");

    // Turned on again, the bot answers the team's next new question.
    let (status, _, raw) = patch(json!({"bot_answers_first": true})).await;
    assert_eq!(status.as_u16(), 200, "{raw}");
    let other = new_user_id();
    app.deliver(&text_update(2, other, 1, "VIP: پولم به کارت برنگشته"))
        .await;
    bot_answer(&fake, other).await;
    let sent_to_vip = fake
        .calls("sendMessage")
        .into_iter()
        .filter(|c| c.body["chat_id"] == vip)
        .count();
    assert_eq!(sent_to_vip, 0, "the bot never wrote to the first customer");
    let theirs = app
        .get_ok(
            &admin,
            &format!(
                "/v1/conversations/{}",
                theirs["id"].as_str().unwrap_or_default()
            ),
        )
        .await;
    assert_eq!(theirs["status"], "open", "{theirs}");
    assert!(!tagged(&theirs, "bot-answered"), "{theirs}");
}

/// The first conversation routed to `team`.
async fn conversation_with_team(app: &App, key: &str, team: &str) -> Value {
    eventually("a conversation of the team", DEADLINE, async || {
        app.all_conversations(key)
            .await
            .into_iter()
            .find(|c| c["team_id"] == team)
    })
    .await
}

#[tokio::test]
async fn an_agent_is_shown_the_articles_and_a_similar_resolved_conversations_reply_before_typing() {
    let app = App::spawn().await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let agent = app.create_agent("Reza", "reza@shop.example", AGENT);
    publish(
        &app,
        &admin,
        &article(
            "refund-to-card",
            "en",
            "Refund to your card",
            "Money goes back to the card you paid with **within 3 working days**.\n\n- Open *Orders*\n- Press [Refund status](https://shop.example/orders)",
            "published",
        ),
    )
    .await;

    // Last week's customer: answered, tagged, resolved.
    app.submit(&[
        ("name", "Sara"),
        ("email", "sara@example.com"),
        (
            "message",
            "The bank gateway took my money but the order failed",
        ),
    ])
    .await;
    let first = only_conversation_id(&app, &agent).await;
    let answer = "Sorry! The gateway returns it within 72 hours; if not, send us the receipt.";
    let (status, _, raw) = status_and_json(
        app.post_json(
            &agent,
            &format!("/v1/conversations/{first}/replies"),
            &json!({ "text": answer }),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 202, "{raw}");
    let (status, _, raw) = status_and_json(
        app.patch_json(
            &agent,
            &format!("/v1/conversations/{first}"),
            &json!({ "status": "resolved", "tags": ["gateway"] }),
        )
        .await,
    )
    .await;
    assert!(status.is_success(), "{raw}");

    // Today's customer asks the same in other words.
    app.submit(&[
        ("name", "Omid"),
        ("email", "omid@example.com"),
        (
            "message",
            "money was taken by the gateway, order failed, refund to my card?",
        ),
    ])
    .await;
    let second = eventually("the second conversation", DEADLINE, async || {
        app.all_conversations(&agent)
            .await
            .into_iter()
            .find(|c| c["id"] != first.as_str())
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await;
    let shown = app
        .get_ok(&agent, &format!("/v1/conversations/{second}/suggestions"))
        .await;
    assert_eq!(shown["articles"][0]["slug"], "refund-to-card", "{shown}");
    assert_eq!(
        shown["similar"][0]["conversation_id"],
        first.as_str(),
        "{shown}"
    );
    assert_eq!(shown["similar"][0]["answer"], answer, "{shown}");
    assert_eq!(shown["tags"][0]["tag"], "gateway", "{shown}");

    // One call writes the article out as a reply to edit; nothing is sent.
    let article_id = shown["articles"][0]["id"].as_str().expect("an id");
    let draft = app
        .get_ok(
            &agent,
            &format!("/v1/conversations/{second}/articles/{article_id}/reply"),
        )
        .await;
    let text = draft["text"].as_str().expect("text");
    assert!(
        text.starts_with("Refund to your card\n\nMoney goes back"),
        "{text}"
    );
    assert!(
        text.contains("• Press Refund status (https://shop.example/orders)"),
        "{text}"
    );
    assert!(text.ends_with("/help/refund-to-card"), "{text}");
    assert!(!text.contains("**"), "{text}");
    let replies = app
        .messages(&agent, &second)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "outbound")
        .count();
    assert_eq!(replies, 0, "a draft is not a reply");
}

#[tokio::test]
async fn a_web_customer_is_answered_on_their_page_and_this_solved_it_resolves_the_conversation() {
    let app = App::spawn_with(&[("SWITCHBOARD_ANSWER_FIRST", "web")]).await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    publish(
        &app,
        &admin,
        &article(
            "refund-to-card",
            "en",
            "Refund to your card",
            "Money goes back to the card you paid with within 3 working days.",
            "published",
        ),
    )
    .await;
    let url = app
        .submit(&[
            ("name", "Sara"),
            ("email", "sara@example.com"),
            ("message", "when does my refund come back to my card?"),
        ])
        .await;
    let shown = eventually("the bot's answer on the page", DEADLINE, async || {
        let html = reqwest::get(&url).await.ok()?.text().await.ok()?;
        html.contains(r#"value="solved""#).then_some(html)
    })
    .await;
    assert!(shown.contains("/help/refund-to-card"), "{shown}");
    let article = shown
        .split(r#"name="article" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the article's id in the form")
        .to_owned();
    let id = only_conversation_id(&app, &admin).await;

    // A made-up link answers nothing.
    let forged = app
        .post_form_to(
            &app.url("/c/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/bot"),
            &[("outcome", "solved"), ("article", &article)],
        )
        .await;
    assert_eq!(forged.status().as_u16(), 404);

    // Buttons naming another article than the bot's answer count nothing.
    let other = format!("ar_{}", "0".repeat(26));
    let forged_article = app
        .post_form_to(
            &format!("{url}/bot"),
            &[("outcome", "solved"), ("article", &other)],
        )
        .await;
    assert_eq!(forged_article.status().as_u16(), 303);

    let taken = app
        .post_form_to(
            &format!("{url}/bot"),
            &[("outcome", "solved"), ("article", &article)],
        )
        .await;
    assert_eq!(taken.status().as_u16(), 303);
    // Back to the page itself.
    let back = taken
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("a Location")
        .to_owned();
    assert!(url.ends_with(&back), "{back} is not {url}");
    let solved = conversation_when(&app, &admin, &id, "resolved as self-served", |c| {
        c["status"] == "resolved" && tagged(c, "self-served")
    })
    .await;
    assert!(tagged(&solved, "bot-answered"), "{solved}");
    let report = app.get_ok(&admin, "/v1/reports/knowledge").await;
    assert_eq!(report["bot_solved"], 1, "{report}");
    assert_eq!(
        report["top_articles"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(
        report["top_articles"][0]["article_id"],
        article.as_str(),
        "{report}"
    );
    let after = reqwest::get(&url)
        .await
        .expect("the page")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        !after.contains(r#"value="solved""#),
        "the buttons are gone: {after}"
    );
}

/// Posts for a model's draft of the conversation `id`.
async fn ai_draft(app: &App, key: &str, id: &str) -> (u16, Value) {
    let (status, body, _) = status_and_json(
        app.post_json(key, &format!("/v1/conversations/{id}/ai-draft"), &json!({}))
            .await,
    )
    .await;
    (status.as_u16(), body)
}

#[tokio::test]
async fn a_language_model_drafts_a_reply_from_the_published_articles_only_and_nothing_is_sent() {
    let model = FakeLlm::start().await;
    let app = App::spawn_with(&[
        ("SWITCHBOARD_LLM_URL", model.url()),
        ("SWITCHBOARD_LLM_MODEL", "support-model-1"),
        ("SWITCHBOARD_LLM_API_KEY", "sk-local-test-key-0123456789"),
    ])
    .await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let agent = app.create_agent("Reza", "reza@shop.example", AGENT);
    publish(
        &app,
        &admin,
        &article(
            "refund-to-card",
            "en",
            "Refund to your card",
            "Money goes back to the card you paid with within **3 working days**.",
            "published",
        ),
    )
    .await;
    // A draft on the same question is never given to the model.
    publish(
        &app,
        &admin,
        &article(
            "refund-secret-draft",
            "en",
            "Refund to your card (unreleased policy)",
            "Refund card money back: SECRET-UNRELEASED-POLICY.",
            "draft",
        ),
    )
    .await;
    app.submit(&[
        ("name", "Sara Karimi"),
        ("email", "sara.karimi@example.com"),
        ("message", "when does my refund come back to my card?"),
    ])
    .await;
    let id = only_conversation_id(&app, &admin).await;
    let suggestions = app
        .get_ok(&agent, &format!("/v1/conversations/{id}/suggestions"))
        .await;
    assert_eq!(suggestions["drafting"], true, "{suggestions}");

    // An agent asks; the draft comes back, grounded in the published article.
    let (status, draft) = ai_draft(&app, &agent, &id).await;
    assert_eq!(status, 200, "{draft}");
    assert_eq!(
        draft["text"],
        "Drafted from \u{201c}Refund to your card\u{201d}: <script>alert(1)</script>",
        "the model's words, as text: the inbox shows them as text"
    );
    assert_eq!(draft["model"], "support-model-1");
    let slugs: Vec<&str> = draft["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter_map(|a| a["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["refund-to-card"], "{draft}");

    // What the model was sent: the key, the model, the article, the customer's words;
    // not their name or address, not the unpublished draft.
    let asked = model.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0].authorization.as_deref(),
        Some("Bearer sk-local-test-key-0123456789")
    );
    assert_eq!(asked[0].body["model"], "support-model-1");
    let messages = asked[0].messages();
    assert_eq!(messages[0].0, "system");
    assert!(
        messages[0].1.contains("only the facts in the articles")
            && messages[0].1.contains("[1] Refund to your card")
            && messages[0].1.contains("within 3 working days")
            && messages[0].1.contains("/help/refund-to-card"),
        "{}",
        messages[0].1
    );
    assert_eq!(
        messages[1..],
        [(
            "user".to_owned(),
            "when does my refund come back to my card?".to_owned()
        )]
    );
    let everything = asked[0].body.to_string();
    for private in [
        "Sara",
        "sara.karimi@example.com",
        "SECRET-UNRELEASED-POLICY",
    ] {
        assert!(
            !everything.contains(private),
            "{private} was sent: {everything}"
        );
    }
    // Nothing was sent to the customer or kept.
    let outbound = app
        .messages(&admin, &id)
        .await
        .into_iter()
        .filter(|m| m["direction"] == "outbound")
        .count();
    assert_eq!(outbound, 0, "a draft is not a reply");

    // A model that fails is the agent's clear error; nothing else changes.
    model.fail_next(503);
    let (status, problem) = ai_draft(&app, &agent, &id).await;
    assert_eq!(status, 502, "{problem}");
    assert_eq!(
        problem["detail"],
        "the language model answered 503 Service Unavailable"
    );

    // No article answers: the model is not asked at all.
    app.submit(&[
        ("name", "Omid"),
        ("email", "omid@example.com"),
        (
            "message",
            "the courier left my parcel at the neighbour's door",
        ),
    ])
    .await;
    let other = eventually("the second conversation", DEADLINE, async || {
        let list = app.get_ok(&admin, "/v1/conversations").await;
        list["items"]
            .as_array()?
            .iter()
            .find(|c| c["id"] != id.as_str())
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await;
    let (status, problem) = ai_draft(&app, &agent, &other).await;
    assert_eq!(status, 409, "{problem}");
    let (status, _) = ai_draft(&app, &agent, "cv_01JDZZZZZZZZZZZZZZZZZZZZZZ").await;
    assert_eq!(status, 404);
    assert_eq!(
        model.asked().len(),
        2,
        "asked only for the first conversation"
    );
    let (status, _, _) = status_and_json(
        app.post_json(
            "not-a-key",
            &format!("/v1/conversations/{id}/ai-draft"),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status.as_u16(), 401);
    assert_eq!(model.asked().len(), 2);

    // Each is a paid call: ten a minute per agent, then 429 with when to try again.
    let mut refused = None;
    for _ in 0..20 {
        let response = app
            .post_json(
                &agent,
                &format!("/v1/conversations/{id}/ai-draft"),
                &json!({}),
            )
            .await;
        if response.status().as_u16() == 429 {
            refused = Some(response);
            break;
        }
        assert_eq!(response.status().as_u16(), 200);
    }
    let refused = refused.expect("the agent's drafts are limited");
    assert!(refused.headers().contains_key("retry-after"));
    assert!(model.asked().len() <= 12, "{}", model.asked().len());
    let (status, _) = ai_draft(&app, &admin, &id).await;
    assert_eq!(status, 200, "another agent keeps their share");
}

#[tokio::test]
async fn without_a_language_model_drafting_is_off_and_half_a_configuration_is_refused() {
    let app = App::spawn().await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    app.submit(&[
        ("email", "sara@example.com"),
        ("message", "where is my refund?"),
    ])
    .await;
    let id = only_conversation_id(&app, &admin).await;
    let suggestions = app
        .get_ok(&admin, &format!("/v1/conversations/{id}/suggestions"))
        .await;
    assert_eq!(suggestions["drafting"], false, "{suggestions}");
    let (status, problem) = ai_draft(&app, &admin, &id).await;
    assert_eq!(status, 404, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("SWITCHBOARD_LLM_URL")),
        "{problem}"
    );

    let refused = serve_refused(&[("SWITCHBOARD_LLM_URL", "http://127.0.0.1:9/v1")]).await;
    assert!(
        refused.stderr.contains("SWITCHBOARD_LLM_MODEL"),
        "{refused:?}"
    );
    let refused = serve_refused(&[
        ("SWITCHBOARD_LLM_MODEL", "m"),
        ("SWITCHBOARD_LLM_URL", "ftp://x"),
    ])
    .await;
    assert!(
        refused.stderr.contains("SWITCHBOARD_LLM_URL"),
        "{refused:?}"
    );
}

/// The help center and the contact page's suggestions in headless Chromium
/// (tests/browser/help.py), with and without JavaScript, at a phone's and a desktop's
/// width; screenshots in target/screenshots/.
async fn help_center_in_a_browser(language: &str, article_body: Value, question: &str) {
    let app = App::spawn_with(&[
        ("SWITCHBOARD_PAGE_LANGUAGE", language),
        ("SWITCHBOARD_WEBFORM_RATE_PER_MINUTE", "0"),
    ])
    .await;
    let admin = app.create_agent("Ada", "ada@shop.example", ADMIN);
    let slug = article_body["slug"].as_str().expect("a slug").to_owned();
    publish(&app, &admin, &article_body).await;
    let root = e2e::repo_root();
    let python = root.join(".venv/bin/python");
    let mut command = std::process::Command::new(&python);
    command
        .arg(root.join("tests/browser/help.py"))
        .arg(app.url(""))
        .arg(language)
        .arg(question)
        .arg(&slug)
        .arg(root.join("target/screenshots"));
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
async fn the_help_center_and_the_contact_pages_suggestions_work_in_a_browser_with_and_without_javascript()
 {
    help_center_in_a_browser(
        "fa",
        article(
            "refund-to-card",
            "fa",
            "بازگشت پول به کارت",
            REFUND_FA,
            "published",
        ),
        "پولم هنوز به کارتم برنگشته",
    )
    .await;
    help_center_in_a_browser(
        "en",
        article(
            "refund-to-card",
            "en",
            "Refund to your card",
            "Money goes back to the card you paid with **within 3 working days**.\n\n1. Open *Orders*\n2. See the refund's status",
            "published",
        ),
        "when is my refund back on my card",
    )
    .await;
}
