"""The customer pages in headless Chromium, at a desktop and a phone width.

    python tests/browser/pages.py BASE_URL LANGUAGE SCREENSHOT_DIR

For the server at BASE_URL (its pages in LANGUAGE): the contact form, the form shown
again with an error, and a customer's conversation page after a submission. Each must
fit its window (no horizontal scrolling), show its form (and the conversation), and is
kept as a screenshot. Exits non-zero, saying what failed.
"""

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

import chromium

WIDTHS = (1200, 390)
failures = []
# Persian pages: the Solar Hijri date and the time, in Persian digits (this is year 14xx);
# English ones: the date, the time and the zone.
PERSIAN_TIME = re.compile(r"۱۴[۰-۹]{2}/[۰-۹]{2}/[۰-۹]{2} [۰-۹]{2}:[۰-۹]{2}")
ENGLISH_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")


def check(page, name, shots, width):
    """The page fits its window and is kept as a screenshot."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    if scroll > inner:
        failures.append(f"{name} at {width} px: {scroll} px wide, wider than its window")
    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)


def visible(page, selector, what):
    if not page.locator(selector).first.is_visible():
        failures.append(f"{page.url}: {what} is not visible")


# The message form's button (the search step above it has its own).
SEND = "form[action='/webhooks/webform'] button[type=submit]"


def main():
    base, language, shots = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    shots.mkdir(parents=True, exist_ok=True)
    text = "درگاه پرداخت کار نمی‌کند" if language == "fa" else "The payment page fails"
    with sync_playwright() as p:
        browser = chromium.launch(p)
        conversation_url = None
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{base}/contact")
            if page.locator("html").get_attribute("dir") != ("rtl" if language == "fa" else "ltr"):
                failures.append(f"/contact: the page's direction is not that of {language}")
            visible(page, "textarea#message", "the message box")
            visible(page, SEND, "the send button")
            check(page, f"contact-{language}", shots, width)

            # Neither an email nor a phone: the form comes back with the error.
            page.fill("textarea#message", text)
            page.click(SEND)
            page.wait_for_load_state()
            visible(page, "textarea#message", "the message box, shown again")
            alert = page.locator("[role=alert]").first
            said = alert.inner_text() if alert.count() else ""
            wanted = "ایمیل یا شماره تلفن" if language == "fa" else "email address or a phone number"
            if wanted not in said or "`" in said:
                failures.append(f"the form's error at {width} px is not in {language}: {said!r}")
            check(page, f"contact-error-{language}", shots, width)

            if conversation_url is None:
                page.goto(f"{base}/contact")
                page.fill("input[name=name]", "سارا" if language == "fa" else "Sara")
                page.fill("input[name=email]", "sara@example.com")
                page.fill("textarea#message", text)
                page.click(SEND)
                page.wait_for_url("**/c/*")
                conversation_url = page.url
            # The router stores the message a moment after the form took it.
            for _ in range(40):
                page.goto(conversation_url)
                if page.get_by_text(text).count() > 0:
                    break
                page.wait_for_timeout(250)
            if not page.get_by_text(text).first.is_visible():
                failures.append(f"the customer page at {width} px does not show the message")
            visible(page, "textarea#message", "the answer box")
            stamp = page.locator("time").first.inner_text()
            told = PERSIAN_TIME if language == "fa" else ENGLISH_TIME
            if not told.fullmatch(stamp):
                failures.append(f"the customer page tells the time as {stamp!r}")
            check(page, f"customer-{language}", shots, width)
            page.close()
        browser.close()
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)
    print(f"ok: {len(WIDTHS) * 3} pages in {language}, screenshots in {shots}")


main()
