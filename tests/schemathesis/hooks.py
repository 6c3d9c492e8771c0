"""Hooks for the OpenAPI conformance run (tests/tests/scenarios/api_conformance.rs).

A page cursor is opaque: only a cursor this server issued means anything, and any other
string is answered 422, as the document says. Generated strings would only ever test that
refusal, and would count as "valid data refused", so generated requests leave the cursor
out; the end-to-end tests page with real cursors. The changes feed's `after` is such a
cursor, and its `wait` is left out so that no case waits for news.

A webhook subscription's URL is where Switchboard will send: every generated one is
replaced by the run's local receiver (`SWITCHBOARD_WEBHOOK_URL`), so that no case makes
Switchboard reach beyond this machine.
"""

import os

import schemathesis


@schemathesis.hook
def map_query(context, query):
    if query:
        query.pop("cursor", None)
        query.pop("after", None)
        # The changes feed would wait up to `wait` seconds for news on each case.
        query.pop("wait", None)
    return query


@schemathesis.hook
def before_call(context, case, **kwargs):
    # Every phase (boundary values too) asks the changes feed for no wait.
    if case.query and "wait" in case.query:
        case.query["wait"] = 0
    if (
        case.path.startswith("/v1/webhooks")
        and isinstance(case.body, dict)
        and isinstance(case.body.get("url"), str)
    ):
        case.body["url"] = os.environ["SWITCHBOARD_WEBHOOK_URL"]
