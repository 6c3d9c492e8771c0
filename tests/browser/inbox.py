"""The web inbox as an agent uses it, in headless Chromium.

    python tests/browser/inbox.py BASE_URL SCREENSHOT_DIR

Reads SB_EMAIL, SB_PASSWORD (an admin's), SB_AGENT_NAME (another agent to assign to) and
SB_TELEGRAM_SECRET (the Telegram webhook's secret) from the environment. Signs in; a web
form and a Telegram message (from a customer whose name and words carry script) appear
in the open inbox without a reload; the agent merges the two contacts, replies by keyboard
alone, writes a note, assigns and resolves; axe-core finds no serious fault in English or
Persian; the Persian inbox is right to left; at 390 px nothing scrolls sideways; signing
out ends the session. Screenshots are kept. Prints `RESULT <json>` for the caller to check
what reached the customer, and exits non-zero saying what failed.
"""

import json
import os
import re
import sys
import time
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

import chromium

# What a customer may write to us: each must show as text and never run.
NAME_ATTACK = '<img src=x onerror="window.__owned=1">Sara'
TEXT_ATTACK = "<script>window.__owned=2</script> web-marker my card payment failed"
TELEGRAM_TEXT = "tg-marker the bank gateway says error 51"
failures = []


def fail(what):
    failures.append(what)
    print("FAILED:", what, file=sys.stderr)


def fits(page, name, shots):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    if scroll > inner:
        fail(f"{name}: {scroll} px wide in a {inner} px window")
    page.screenshot(path=str(shots / f"inbox-{name}.png"), full_page=False)


def accessible(page, name):
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    if serious:
        fail(f"{name}: axe-core finds {serious}")


def telegram_update(update_id, user_id, text):
    sender = {"id": user_id, "is_bot": False, "first_name": NAME_ATTACK, "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": sender,
            "chat": {"id": user_id, "first_name": NAME_ATTACK, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def arrives(page, marker, posted_at):
    """Waits for the conversation showing `marker` in the list; returns the wait in ms."""
    page.locator("li.conversation", has_text=marker).first.wait_for(timeout=10_000)
    return (time.monotonic() - posted_at) * 1000


def main():
    base, shots = sys.argv[1], Path(sys.argv[2])
    shots.mkdir(parents=True, exist_ok=True)
    email, password = os.environ["SB_EMAIL"], os.environ["SB_PASSWORD"]
    other_agent = os.environ["SB_AGENT_NAME"]
    secret = os.environ["SB_TELEGRAM_SECRET"]
    result = {}
    with sync_playwright() as p:
        browser = chromium.launch(p)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )

        # Sign in.
        started = time.monotonic()
        page.goto(f"{base}/app")
        page.fill("#signin-email", email)
        page.fill("#signin-password", "not the password")
        page.click("#signin-submit")
        expect(page.locator("[role=alert]").first).to_contain_text("wrong", timeout=5_000)
        page.fill("#signin-password", password)
        page.click("#signin-submit")
        page.locator("#signout").wait_for(state="visible", timeout=10_000)
        page.click("#sidenav a[data-view=all]")
        page.locator("#sidenav a[data-view=all][aria-current=page]").wait_for(timeout=10_000)
        result["signed_in_ms"] = round((time.monotonic() - started) * 1000)
        page.screenshot(path=str(shots / "inbox-empty.png"))

        # A web-form message and a Telegram message arrive while the inbox is open.
        posted = time.monotonic()
        form = page.request.post(
            f"{base}/webhooks/webform",
            form={"name": NAME_ATTACK, "email": "sara@example.com", "message": TEXT_ATTACK},
            max_redirects=0,
        )
        if form.status != 303:
            fail(f"the web form answered {form.status}")
        result["customer_page"] = form.headers.get("location")
        result["web_ms"] = round(arrives(page, "web-marker", posted))
        user_id = 5_100_000_000 + int(time.time()) % 1_000_000
        posted = time.monotonic()
        hook = page.request.post(
            f"{base}/webhooks/telegram",
            data=json.dumps(telegram_update(int(time.time()) % 100_000, user_id, TELEGRAM_TEXT)),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
        )
        if hook.status != 200:
            fail(f"the Telegram webhook answered {hook.status}")
        result["telegram_ms"] = round(arrives(page, "tg-marker", posted))

        # What the customer wrote is text, never markup.
        listed = page.locator("li.conversation", has_text="web-marker").first.inner_text()
        if "<img src=x" not in listed and "<script>" not in listed:
            fail(f"the customer's words are not shown as written: {listed!r}")
        if page.evaluate("window.__owned") is not None:
            fail("the customer's script ran")

        # Open the Telegram conversation and merge the web-form contact into it.
        page.locator("li.conversation", has_text="tg-marker").first.click()
        expect(page.locator("#timeline")).to_contain_text("tg-marker", timeout=10_000)
        page.fill("#merge-input", "sara@example.com")
        page.locator("#merge-results button[data-merge]").first.click(timeout=10_000)
        page.locator("#merge-dialog").wait_for(state="visible", timeout=5_000)
        page.check("#merge-keep-this")
        page.click("#merge-confirm")
        expect(page.locator("#contact-pane")).to_contain_text("sara@example.com", timeout=10_000)
        expect(page.locator("#contact-pane")).to_contain_text("web-marker", timeout=10_000)
        page.screenshot(path=str(shots / "inbox-merged.png"))

        # Reply by keyboard alone: r, the words, Ctrl+Enter.
        reply = f"Thanks, we are on it ({int(time.time())})"
        page.locator("body").press("Escape")
        page.keyboard.press("r")
        if page.evaluate("document.activeElement.id") != "reply-body":
            fail("r does not put the cursor in the reply box")
        page.keyboard.type(reply)
        page.keyboard.press("Control+Enter")
        sent = page.locator("article.item[data-kind=message]", has_text=reply)
        expect(sent.locator(".delivery-status")).to_have_text(
            re.compile("sent|delivered"), timeout=15_000
        )
        result["reply"] = reply

        # A note, by keyboard too.
        note = f"Private: customer is on the gateway list ({int(time.time())})"
        page.locator("#reply-body").press("Escape")
        page.keyboard.press("n")
        page.keyboard.type(note)
        page.keyboard.press("Control+Enter")
        expect(page.locator("article.item[data-kind=note]", has_text=note)).to_be_visible(
            timeout=10_000
        )
        result["note"] = note

        # A reply with a file.
        page.locator("#reply-body").press("Escape")
        page.keyboard.press("r")
        page.keyboard.type("The refund form, filled in for you")
        page.set_input_files(
            "#reply-files",
            files=[{"name": "refund-form.txt", "mimeType": "text/plain", "buffer": b"Refund: 1,250,000 IRR"}],
        )
        page.keyboard.press("Control+Enter")
        with_file = page.locator("article.item[data-kind=message]", has_text="The refund form")
        expect(with_file.locator(".attachments")).to_contain_text("refund-form.txt", timeout=15_000)
        expect(with_file.locator(".delivery-status")).to_have_text(
            re.compile("sent|delivered"), timeout=15_000
        )

        # Assign to the other agent, then resolve with e.
        options = page.locator("#assign-select option").all_inner_texts()
        label = next((o for o in options if other_agent in o), None)
        if label is None:
            fail(f"{other_agent} is not among {options}")
        else:
            page.select_option("#assign-select", label=label)
            expect(page.locator("#timeline")).to_contain_text(other_agent, timeout=10_000)
        page.locator("#reply-body").press("Escape")
        page.keyboard.press("e")
        expect(page.locator("#status-reopen")).to_be_enabled(timeout=10_000)
        result["conversation_id"] = page.locator("li.conversation[aria-current=true]").get_attribute(
            "data-id"
        )
        accessible(page, "English inbox")
        fits(page, "conversation-1280", shots)

        # Crisis mode: an incident declared and closed from its screen.
        page.click("#sidenav a[data-view=incidents]")
        page.fill("#incident-new-title", "Bank gateway down")
        page.fill("#incident-text-en", "The bank gateway is down; payments resume shortly.")
        page.fill("#incident-text-fa", "درگاه بانک از کار افتاده است؛ پرداخت‌ها به‌زودی برقرار می‌شوند.")
        page.fill("#incident-terms", "gateway")
        page.click("#incident-declare")
        panel = page.locator("#incident-panel")
        expect(panel).to_contain_text("Bank gateway down", timeout=10_000)
        result["incident_id"] = panel.get_attribute("data-id")
        accessible(page, "Incident")
        fits(page, "incident-1280", shots)
        page.fill("#incident-update-text", "Payments work again. Thank you for your patience.")
        page.check("#incident-resolve")
        page.click("#incident-post-update")
        expect(page.locator("#incident-updates li").first).to_contain_text(
            "Payments work again", timeout=10_000
        )

        # The team's numbers: both conversations counted today.
        page.click("#sidenav a[data-view=reports]")
        count = page.locator("#report-figures li.figure[data-figure=conversations] .value")
        expect(count).to_have_text(re.compile(r"^[1-9]"), timeout=10_000)
        accessible(page, "Reports")
        fits(page, "reports-1280", shots)

        # The knowledge base: an article written and published from its screen, then
        # suggested beside the conversation it answers.
        page.click("#sidenav a[data-view=knowledge]")
        page.locator("#kb-figures").wait_for(state="visible", timeout=10_000)
        page.click("#kb-new")
        page.fill("#kb-title", "Bank gateway error 51")
        page.fill("#kb-slug", "gateway-error-51")
        page.fill("#kb-body", "Error **51** means the bank gateway refused the card: the money is not taken.")
        page.select_option("#kb-status", "published")
        page.click("#kb-save")
        expect(page.locator("#kb-list")).to_contain_text("Bank gateway error 51", timeout=10_000)
        expect(page.locator("#kb-revisions")).to_be_visible(timeout=10_000)
        accessible(page, "Knowledge")
        fits(page, "knowledge-1280", shots)
        # A fresh load: the panel asks again (an open page asks at most every 30 s).
        page.goto(f"{base}/app#/all/{result['conversation_id']}")
        page.reload()
        suggestion = page.locator("#suggestions .use-article")
        expect(suggestion.first).to_be_visible(timeout=15_000)
        suggestion.first.click()
        expect(page.locator("#reply-body")).to_have_value(re.compile("Bank gateway error 51"), timeout=10_000)
        accessible(page, "Suggested answers")
        fits(page, "suggestions-1280", shots)
        page.locator("#reply-body").fill("")
        # A draft by the language model (a local stand-in), from that article: into the
        # box as text, never sent.
        page.click("#suggestions .ai-draft")
        expect(page.locator("#reply-body")).to_have_value(
            re.compile("^Drafted from .Bank gateway error 51.: <script>alert"), timeout=10_000
        )
        page.screenshot(path=str(shots / "ai-draft-1280.png"))
        page.locator("#reply-body").fill("")

        # Teams: the bot's switch, saved as soon as it is unticked.
        page.goto(f"{base}/app#/admin/teams")
        switch = page.locator("#admin-pane .team-bot").first
        expect(switch).to_be_checked(timeout=10_000)
        with page.expect_response(lambda r: "/v1/teams/" in r.url and r.request.method == "PATCH") as patched:
            switch.uncheck()
        assert patched.value.ok, patched.value.status
        expect(switch).not_to_be_checked()
        accessible(page, "Teams")
        fits(page, "teams-1280", shots)

        # What the help lists, on ?.
        page.locator("body").press("Escape")
        page.keyboard.press("?")
        page.locator("#help-dialog").wait_for(state="visible", timeout=5_000)
        page.screenshot(path=str(shots / "inbox-shortcuts.png"))
        page.keyboard.press("Escape")

        # A phone's width: the list, then a conversation, and nothing scrolls sideways.
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{base}/app#/all")
        phone.locator("li.conversation").first.wait_for(timeout=10_000)
        fits(phone, "list-390", shots)
        # The resolved conversation is out of the open list: its link still opens it.
        phone.goto(f"{base}/app#/all/{result['conversation_id']}")
        expect(phone.locator("#timeline")).to_contain_text(reply, timeout=10_000)
        fits(phone, "conversation-390", shots)
        accessible(phone, "English inbox at 390 px")
        phone.close()

        # The Persian inbox: right to left, its own words, and as accessible.
        context.add_cookies([{"name": "sb_lang", "value": "fa", "url": base}])
        persian = context.new_page()
        persian.goto(f"{base}/app#/all/{result['conversation_id']}")
        expect(persian.locator("#timeline")).to_contain_text(reply, timeout=10_000)
        direction = persian.evaluate("getComputedStyle(document.body).direction")
        if direction != "rtl":
            fail(f"the Persian inbox runs {direction}")
        if persian.locator("#signout").inner_text().strip() != "خروج":
            fail("the Persian inbox does not speak Persian")
        fits(persian, "conversation-fa-1280", shots)
        accessible(persian, "Persian inbox")
        persian.close()

        # The password dialog: a new one too short is refused in the dialog itself.
        page.click("#password-open")
        page.locator("#password-dialog").wait_for(state="visible", timeout=5_000)
        page.fill("#password-current", password)
        page.fill("#password-new", "short")
        page.click("#password-save")
        expect(page.locator("#password-error")).to_contain_text("12", timeout=5_000)
        accessible(page, "Password dialog")
        page.click("#password-cancel")

        # Sign out: the cookie the browser held opens nothing any more.
        cookie = next(c for c in context.cookies() if c["name"] == "__Host-sb_session")
        page.click("#signout")
        page.locator("#signin-email").wait_for(timeout=10_000)
        again = p.request.new_context(extra_http_headers={"Cookie": f"__Host-sb_session={cookie['value']}"})
        if again.get(f"{base}/v1/me").status != 401:
            fail("a signed-out session still opens the API")
        if errors:
            fail(f"the page reported {errors}")
        browser.close()
    print("RESULT " + json.dumps(result))
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
