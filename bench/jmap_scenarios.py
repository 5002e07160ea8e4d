#!/usr/bin/env python3
"""bench/jmap_scenarios.py - the gateway's JMAP scenarios for bench/run.

Usage: jmap_scenarios.py URL USER PASS LABEL RUNS BODY_DIR

For one account: the first inbox_page after the gateway started (cold,
which includes the first sync of the account), then inbox_page,
open_message, search_text and changes_noop warm (RUNS each on one
keep-alive connection), one JSON line per scenario on stdout with median
and p95 in ms. Every answer is checked once per scenario for method
errors; a failed check becomes an "error" line, never a timing. Writes
the inbox_page request to BODY_DIR/inbox_page.json for wrk.
"""
import base64
import http.client
import json
import sys
import time
import urllib.parse

URL, USER, PASS, LABEL, RUNS, BODY_DIR = sys.argv[1:7]
RUNS = int(RUNS)
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
    first = answer["methodResponses"][1][1]["ids"][0]
    _, state_answer = post([["Email/get", {"accountId": account, "ids": []}, "s"]])
    state = check(state_answer)["methodResponses"][0][1]["state"]
    scenarios["open_message"] = [
        ["Email/get", {"accountId": account, "ids": [first],
                       "properties": ["id", "subject", "from", "to", "receivedAt", "bodyValues",
                                      "textBody", "htmlBody", "attachments"],
                       "fetchTextBodyValues": True, "fetchHTMLBodyValues": True}, "o"]]
    scenarios["search_text"] = [
        ["Email/query", {"accountId": account, "filter": {"text": "money"}, "limit": 50}, "t"]]
    scenarios["changes_noop"] = [
        ["Email/changes", {"accountId": account, "sinceState": state}, "c"]]
    for name in ("inbox_page", "open_message", "search_text", "changes_noop"):
        try:
            check(post(scenarios[name])[1])
            times = [post(scenarios[name])[0] for _ in range(RUNS)]
            emit(f"gw_{name}_warm", times)
        except Exception as e:  # noqa: BLE001
            emit(f"gw_{name}_warm", error=e)


main()
