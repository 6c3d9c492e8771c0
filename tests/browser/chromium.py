"""Debian's Chromium, headless, as every browser test starts it.

No background networking, updates or sync: the machine's network is closed, and a
refused connection at every start is noise in the test's output.
"""

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    """A headless Chromium from /usr/bin/chromium (scripts/install-tools installs it)."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
