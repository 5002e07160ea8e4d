#!/usr/bin/env python3
"""bench/jmap_scenarios.py - the gateway's JMAP scenarios for bench/run.

Usage: jmap_scenarios.py URL USER PASS LABEL RUNS BODY_DIR [GATEWAY_DB]

For one account: the first inbox_page after the gateway started (cold,
which includes the first sync of the account); inbox_page again RUNS
times at once, while the background backfill of the account still runs
(inbox_page_backfilling); then, once the backfill is done (read from
GATEWAY_DB, the gateway's SQLite file, when given), inbox_page,
open_message, search_text and changes_noop warm (RUNS each on one
keep-alive connection). One JSON line per scenario on stdout with median
and p95 in ms, and one (gw_backfill) with the seconds the backfill took
after the cold page. open_message opens a different message of the
page each run, as the IMAP floor does. Every answer is checked once per
scenario for method errors; a failed check becomes an "error" line,
never a timing. Writes the inbox_page request to BODY_DIR/inbox_page.json
for wrk. RUNS 0 measures the cold page only.
"""
import base64
import http.client
import json
import sqlite3
import sys
import time
import urllib.parse

URL, USER, PASS, LABEL, RUNS, BODY_DIR = sys.argv[1:7]
GATEWAY_DB = sys.argv[7] if len(sys.argv) > 7 else None
RUNS = int(RUNS)
BACKFILL_WAIT_S = 900
USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASS}".encode()).decode()
PARTS = urllib.parse.urlsplit(URL)
# The first request syncs a whole account: allow it time, still bounded.
CONN = http.client.HTTPConnection(PARTS.hostname, PARTS.port, timeout=900)


def post(calls):
    body = json.dumps({"using": USING, "methodCalls": calls}).encode()
    start = time.perf_counter()
    CONN.request("POST", "/jmap/api", body, {"Authorization": AUTH,
                                             "Content-Type": "application/json"})
    resp = CONN.getresponse()
    data = resp.read()
    elapsed = time.perf_counter() - start
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {data[:200]!r}")
    return elapsed, json.loads(data)


def check(answer):
    for name, args, _ in answer["methodResponses"]:
        if name == "error":
            raise RuntimeError(f"method error: {json.dumps(args)[:200]}")
    return answer


def emit(scenario, times=None, error=None):
    line = {"scenario": scenario, "account": LABEL}
    if error is not None:
        line["error"] = str(error)
    else:
        t = sorted(x * 1000 for x in times)
        n = len(t)
        line["median_ms"] = round(t[n // 2] if n % 2 else (t[n // 2 - 1] + t[n // 2]) / 2, 3)
        line["p95_ms"] = round(t[min(n - 1, (n * 95 + 99) // 100 - 1)], 3)
        line["runs"] = n
    print(json.dumps(line), flush=True)


def session_account():
    CONN.request("GET", "/jmap/session", headers={"Authorization": AUTH})
    resp = CONN.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"session: HTTP {resp.status}: {body[:300]!r}")
    return json.loads(body)["primaryAccounts"]["urn:ietf:params:jmap:mail"]


def backfill_left(account):
    """Mailboxes of the account the gateway's backfill still has to fetch."""
    db = sqlite3.connect(f"file:{GATEWAY_DB}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM mail_backfill WHERE account_id = ?",
                          (account,)).fetchone()[0]
    finally:
        db.close()


def wait_backfill(account):
    """Seconds until the account is wholly cached (bounded), or None."""
    if GATEWAY_DB is None:
        return None
    start = time.monotonic()
    while backfill_left(account) > 0:
        if time.monotonic() - start > BACKFILL_WAIT_S:
            raise RuntimeError(f"backfill not done after {BACKFILL_WAIT_S} s")
        time.sleep(0.1)
    return time.monotonic() - start


def timed_runs(calls_of_run):
    """Checks one untimed answer, then times RUNS requests."""
    check(post(calls_of_run(0))[1])
    return [post(calls_of_run(i + 1))[0] for i in range(RUNS)]


def main():
    try:
        account = session_account()
    except Exception as e:  # noqa: BLE001 - reported as the scenario's failure
        emit("gw_inbox_page_cold", error=e)
        return
    # The inbox's id: a filter cannot take a result reference (RFC 8620
    # §3.7 only resolves top-level arguments), so the page names it. A
    # client does the same: mailboxes first, then the page. This first
    # request fills the cache, so the cold page is the two together.
    mailbox_time, answer = post([["Mailbox/query", {"accountId": account,
                                                    "filter": {"role": "inbox"}}, "m"]])
    inbox = check(answer)["methodResponses"][0][1]["ids"][0]
    scenarios = {}
    scenarios["inbox_page"] = [
        ["Mailbox/query", {"accountId": account, "filter": {"role": "inbox"}}, "m"],
        ["Email/query", {"accountId": account, "filter": {"inMailbox": inbox},
                         "sort": [{"property": "receivedAt", "isAscending": False}],
                         "limit": 50}, "q"],
        ["Email/get", {"accountId": account,
                       "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": ["id", "threadId", "mailboxIds", "keywords", "from", "to",
                                      "subject", "receivedAt", "size", "preview",
                                      "hasAttachment"]}, "g"],
    ]
    with open(f"{BODY_DIR}/inbox_page.json", "w") as f:
        json.dump({"using": USING, "methodCalls": scenarios["inbox_page"]}, f)

    # Cold: the first two requests after the gateway started.
    try:
        elapsed, answer = post(scenarios["inbox_page"])
        check(answer)
        emit("gw_inbox_page_cold", [mailbox_time + elapsed])
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        emit("gw_inbox_page_cold", error=e)
        return
    if RUNS == 0:
        return  # the cold page only (bench/run's cold starts)
    page = answer["methodResponses"][1][1]["ids"]
    try:
        emit("gw_inbox_page_backfilling", timed_runs(lambda i: scenarios["inbox_page"]))
        waited = wait_backfill(account)
        if waited is not None:
            print(json.dumps({"scenario": "gw_backfill", "account": LABEL,
                              "seconds_after_cold": round(waited, 1)}), flush=True)
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        emit("gw_inbox_page_backfilling", error=e)
        return
    _, state_answer = post([["Email/get", {"accountId": account, "ids": []}, "s"]])
    state = check(state_answer)["methodResponses"][0][1]["state"]
    scenarios["open_message"] = lambda i: [
        ["Email/get", {"accountId": account, "ids": [page[i % len(page)]],
                       "properties": ["id", "subject", "from", "to", "receivedAt", "bodyValues",
                                      "textBody", "htmlBody", "attachments"],
                       "fetchTextBodyValues": True, "fetchHTMLBodyValues": True}, "o"]]
    scenarios["search_text"] = [
        ["Email/query", {"accountId": account, "filter": {"text": "money"}, "limit": 50}, "t"]]
    scenarios["changes_noop"] = [
        ["Email/changes", {"accountId": account, "sinceState": state}, "c"]]
    for name in ("inbox_page", "open_message", "search_text", "changes_noop"):
        calls = scenarios[name]
        try:
            emit(f"gw_{name}_warm", timed_runs(calls if callable(calls) else lambda i: calls))
        except Exception as e:  # noqa: BLE001
            emit(f"gw_{name}_warm", error=e)


main()
