"""The web inbox's figures, in headless Chromium over loopback (scripts/inbox-figures).

    python tests/browser/inbox_figures.py BASE_URL EMAIL PASSWORD [MESSAGES]

1. A cold load: a browser with an empty cache but signed in opens /app; the bytes that
   crossed the wire (every response, compressed as sent) and the time from navigation to
   the first page of the list shown.
2. Live: MESSAGES (default 100) web-form messages, one at a time, each timed from the
   form's answer (the message acknowledged) to its conversation shown in the open inbox.
Prints one JSON line.
"""

import json
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

import chromium



def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def cold_load(browser, base, email, password):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    signed = context.request.post(f"{base}/v1/session", data={"email": email, "password": password})
    assert signed.status == 200, signed.text()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    wire = {"bytes": 0, "requests": 0}

    def finished(event):
        wire["bytes"] += int(event.get("encodedDataLength", 0))
        wire["requests"] += 1

    cdp.on("Network.loadingFinished", finished)
    started = time.monotonic()
    page.goto(f"{base}/app#/all")
    page.locator("li.conversation").first.wait_for(timeout=30_000)
    shown_ms = (time.monotonic() - started) * 1000
    rows = page.locator("li.conversation").count()
    # The long poll of the changes feed stays open: it is not part of the load.
    context.close()
    return {
        "list_shown_ms": round(shown_ms),
        "rows_shown": rows,
        "transferred_bytes": wire["bytes"],
        "responses": wire["requests"],
    }


def live(browser, base, email, password, count):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.goto(f"{base}/app")
    page.fill("#signin-email", email)
    page.fill("#signin-password", password)
    page.click("#signin-submit")
    page.locator("#signout").wait_for(state="visible", timeout=10_000)
    page.click("#sidenav a[data-view=all]")
    page.locator("li.conversation").first.wait_for(timeout=30_000)
    waits = []
    for i in range(count):
        marker = f"live-{i}-{time.time_ns()}"
        response = page.request.post(
            f"{base}/webhooks/webform",
            form={"name": f"Live {i}", "email": f"live-{i}@example.com", "message": marker},
            max_redirects=0,
        )
        acknowledged = time.monotonic()
        assert response.status == 303, response.status
        # Checked at every frame: a locator's wait polls at growing intervals.
        page.wait_for_function(
            "m => [...document.querySelectorAll('li.conversation')]"
            ".some(li => li.textContent.includes(m))",
            arg=marker,
            polling="raf",
            timeout=15_000,
        )
        waits.append((time.monotonic() - acknowledged) * 1000)
    context.close()
    return {
        "messages": len(waits),
        "median_ms": round(statistics.median(waits)),
        "p99_ms": round(percentile(waits, 0.99)),
        "max_ms": round(max(waits)),
    }


def main():
    base, email, password = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    with sync_playwright() as p:
        browser = chromium.launch(p)
        figures = {"cold_load": cold_load(browser, base, email, password)}
        figures["live"] = live(browser, base, email, password, count)
        browser.close()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
