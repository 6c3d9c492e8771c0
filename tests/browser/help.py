"""The help center and the contact page's suggestions in headless Chromium.

    python tests/browser/help.py BASE_URL LANGUAGE QUESTION SLUG SCREENSHOT_DIR

The server at BASE_URL has the published article SLUG, which QUESTION finds. With
JavaScript, typing QUESTION in the contact page's message box brings the article up
under the box as the visitor types; without it, the page's search step finds it in one
more click and carries the question into the message. The help center lists the article,
shows it in its own direction, and takes "did this answer your question?". Every page
fits a phone and a desktop, axe-core finds no serious fault, and each is kept as a
screenshot. Exits non-zero, saying what failed.
"""

import sys
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import sync_playwright

import chromium

WIDTHS = (1200, 390)
failures = []


def fail(message):
    failures.append(message)


def check(page, name, shots, width):
    """The page fits its window, passes axe-core, and is kept as a screenshot."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    if scroll > inner:
        fail(f"{name} at {width} px: {scroll} px wide in a {inner} px window")
    results = Axe().run(page)
    serious = [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    if serious:
        fail(f"{name} at {width} px: axe-core finds {serious}")
    page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)


def main():
    base, language, question, slug, shots = sys.argv[1:6]
    shots = Path(shots)
    shots.mkdir(parents=True, exist_ok=True)
    link = f'a[href="/help/{slug}"]'
    with sync_playwright() as p:
        browser = chromium.launch(p)
        for width in WIDTHS:
            # With JavaScript: suggestions as the visitor types; the search step hides.
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{base}/contact")
            page.locator("textarea#message").press_sequentially(question, delay=15)
            try:
                page.locator(f"#suggestions {link}").wait_for(state="visible", timeout=10_000)
            except Exception:
                fail(f"/contact at {width} px: typing the question brought no suggestion")
            if page.locator("#search-step").is_visible():
                fail(f"/contact at {width} px: the search step shows beside the live suggestions")
            check(page, f"contact-suggestions-{language}", shots, width)
            page.close()

            # Without JavaScript: the search step, then the suggestions and the question
            # carried into the message box. (A page without JavaScript cannot be measured
            # from inside: the same addresses are measured below with it.)
            context = browser.new_context(java_script_enabled=False, viewport={"width": width, "height": 900})
            bare = context.new_page()
            bare.goto(f"{base}/contact")
            if not bare.locator("#search-step").is_visible():
                fail(f"/contact without JavaScript at {width} px: no search step")
            bare.fill("#q", question)
            bare.click("#search-step button[type=submit]")
            bare.wait_for_load_state()
            if not bare.locator(f".suggested {link}").is_visible():
                fail(f"/contact?q= without JavaScript at {width} px: the article is not suggested")
            if bare.input_value("textarea#message") != question:
                fail(f"/contact?q= without JavaScript at {width} px: the question is not in the message box")
            bare.screenshot(path=str(shots / f"contact-search-step-{language}-{width}.png"), full_page=True)
            searched = bare.url

            # The help center, its article, and the answer to "did this answer it?".
            bare.goto(f"{base}/help")
            if not bare.locator(f"main {link}").is_visible():
                fail(f"/help without JavaScript at {width} px: the article is not listed")
            bare.goto(f"{base}/help/{slug}")
            direction = bare.locator("article").get_attribute("dir")
            if direction != ("rtl" if language == "fa" else "ltr"):
                fail(f"/help/{slug}: the article reads {direction}")
            bare.click("form.feedback button[value=yes]")
            bare.wait_for_load_state()
            if not bare.locator("p.notice[role=status]").is_visible():
                fail(f"/help/{slug} at {width} px: no thanks after 'yes'")
            context.close()

            page = browser.new_page(viewport={"width": width, "height": 900})
            for name, url in (
                (f"contact-searched-{language}", searched),
                (f"help-{language}", f"{base}/help"),
                (f"help-article-{language}", f"{base}/help/{slug}"),
            ):
                page.goto(url)
                check(page, name, shots, width)
            page.close()
        browser.close()
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
