#!/usr/bin/env python3
"""bench/report.py - turn one run's JSON lines into latest.md and latest.png.

Usage: bench/report.py RUN.jsonl OUT_DIR
Latency scenarios (median_ms/p95_ms without "connections") become the left
chart: bars = median, error bars up to p95, one colour per account, log
scale. Throughput lines ("connections") become the right chart: requests/s
per connection count. RSS lines ("rss_kb") only go to the table.
"""
import json
import os
import subprocess
import sys

# Scenarios every run must have; missing ones are named in the report.
EXPECTED = ["gw_inbox_page_cold", "gw_inbox_page_warm", "gw_open_message_warm",
            "gw_search_text_warm", "gw_changes_noop_warm", "gw_inbox_page_throughput"]

# Gateway scenario -> the IMAP floor of the same view in the same run.
FLOORS = {"gw_inbox_page_warm": "imap_floor_inbox_open",
          "gw_inbox_page_backfilling": "imap_floor_inbox_open",
          "gw_inbox_page_cold": "imap_floor_inbox_cold",
          "gw_inbox_page_cold_starts": "imap_floor_inbox_cold_paired",
          "gw_open_message_warm": "imap_floor_open_message",
          "gw_search_text_warm": "imap_floor_search_text"}


def targets(rows):
    """(target, account, measured, limit, pass) for the issue's targets."""
    by = {(r["scenario"], r.get("account", "")): r for r in rows}
    out = []
    for acct in ("6k", "30k"):
        floor_open = by.get(("imap_floor_inbox_open", acct))
        floor_cold = by.get(("imap_floor_inbox_cold", acct))
        warm = by.get(("gw_inbox_page_warm", acct))
        # The median over the cold starts when measured, against the floor
        # samples paired with them; else the one sample against the floor.
        cold = by.get(("gw_inbox_page_cold_starts", acct))
        if cold and by.get(("imap_floor_inbox_cold_paired", acct)):
            floor_cold = by[("imap_floor_inbox_cold_paired", acct)]
        else:
            cold = by.get(("gw_inbox_page_cold", acct))
        if floor_open and warm and "median_ms" in warm:
            ratio = warm["median_ms"] / floor_open["median_ms"]
            out.append(("warm inbox_page <= 0.3x open floor", acct, "%.2fx" % ratio, "0.3x",
                        ratio <= 0.3))
        if floor_cold and cold and "median_ms" in cold:
            ratio = cold["median_ms"] / floor_cold["median_ms"]
            paired = floor_cold["scenario"] == "imap_floor_inbox_cold_paired"
            out.append(("cold inbox_page <= 1.5x cold floor (median of %d%s)" % (
                cold["runs"], ", floor paired" if paired else ""), acct,
                        "%.2fx" % ratio, "1.5x", ratio <= 1.5))
        noop = by.get(("gw_changes_noop_warm", acct))
        if noop and "median_ms" in noop:
            out.append(("changes_noop <= 1 ms", acct, "%.3f ms" % noop["median_ms"], "1 ms",
                        noop["median_ms"] <= 1.0))
        om = by.get(("gw_open_message_warm", acct))
        if om and "median_ms" in om:
            out.append(("open_message warm <= 3 ms", acct, "%.3f ms" % om["median_ms"], "3 ms",
                        om["median_ms"] <= 3.0))
    t16 = [r for r in rows if r["scenario"] == "gw_inbox_page_throughput_c16"]
    if t16:
        rps = t16[0]["requests_per_s"]
        ok = rps >= 2000 and t16[0]["errors"] + t16[0]["non_2xx"] == 0
        out.append(("inbox_page 16 clients >= 2000 req/s", t16[0]["account"], "%.0f/s" % rps,
                    "2000/s", ok))
    cached = [r for r in rows if r["scenario"] == "gw_rss_accounts"]
    if cached:
        mib = cached[0]["rss_kb"] / 1024.0
        out.append(("RSS with the 30k account cached <= 64 MiB", "", "%.1f MiB" % mib, "64 MiB",
                    mib <= 64))
    return out


def per_message(rows):
    """The memory each cached message costs: RSS with both accounts cached
    less RSS idle, over the Emails cached."""
    by = {r["scenario"]: r for r in rows}
    idle, cached = by.get("gw_rss_idle"), by.get("gw_rss_accounts")
    n = by.get("gw_cached_messages", {}).get("messages")
    if not (idle and cached and n):
        return []
    per = (cached["rss_kb"] - idle["rss_kb"]) * 1024.0 / n
    return ["", "Per cached message: (%.1f - %.1f) MiB / %d Emails = %.0f bytes." % (
        cached["rss_kb"] / 1024.0, idle["rss_kb"] / 1024.0, n, per)]


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    lat = [r for r in rows if "median_ms" in r and "connections" not in r]
    thr = [r for r in rows if "connections" in r]
    rss = [r for r in rows if "rss_kb" in r]
    md = ["# Benchmark results", "", "Run: `%s`" % os.path.basename(src), "",
          "## Latency (ms)", "", "| scenario | account | median | p95 | runs |",
          "|---|---|---:|---:|---:|"]
    md[-2:] = ["| scenario | account | median | p95 | runs | x floor |",
               "|---|---|---:|---:|---:|---:|"]
    floors = {(r["scenario"], r["account"]): r["median_ms"] for r in lat}
    for r in lat:
        f = floors.get((FLOORS.get(r["scenario"], ""), r["account"]))
        md.append("| %s | %s | %.3f | %.3f | %s | %s |" % (
            r["scenario"], r["account"], r["median_ms"], r["p95_ms"], r.get("runs", ""),
            "%.2fx" % (r["median_ms"] / f) if f else ""))
    errors = [r for r in rows if "error" in r]
    if errors:
        md += ["", "Failed scenarios (not timed):", ""]
        md += ["- %s (%s): %s" % (r["scenario"], r["account"], r["error"]) for r in errors]
    backfills = [r for r in rows if "seconds_after_cold" in r]
    if backfills:
        md += [""] + ["- Backfill of %s done %.1f s after its cold page; its warm runs start"
                      " then." % (r["account"], r["seconds_after_cold"]) for r in backfills]
    md += ["", "## Targets", "", "| target | account | measured | limit | result |",
           "|---|---|---:|---:|---|"]
    md += ["| %s | %s | %s | %s | %s |" % (t, a, m, l, "pass" if ok else "FAIL")
           for t, a, m, l, ok in targets(rows)]
    md += ["", "## Throughput", "",
           "| scenario | account | connections | seconds | requests/s | median ms | p95 ms | errors |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    md += ["| %s | %s | %d | %.1f | %.0f | %.3f | %.3f | %d |" % (
        r["scenario"], r["account"], r["connections"], r["duration_s"], r["requests_per_s"],
        r["median_ms"], r["p95_ms"], r["errors"] + r["non_2xx"]) for r in thr]
    md += ["", "## Gateway memory", "", "| scenario | when | RSS MiB |", "|---|---|---:|"]
    md += ["| %s | %s | %.1f |" % (r["scenario"], r.get("when", ""), r["rss_kb"] / 1024.0)
           for r in rss]
    md += per_message(rows)
    seen = {r["scenario"] for r in rows if "error" not in r}
    missing = [p for p in EXPECTED if not any(s.startswith(p) for s in seen)]
    if missing:
        md += ["", "Not measured in this run: " + ", ".join(missing) + "."]
    md += ["", "![chart](latest.png)", ""]
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write("\n".join(md))

    # gnuplot data: one row per scenario, median/p95 per account.
    accounts = sorted({r["account"] for r in lat}, key=lambda a: (len(a), a))
    names = []
    for r in lat:
        if r["scenario"] not in names:
            names.append(r["scenario"])
    by = {(r["scenario"], r["account"]): r for r in lat}
    lat_dat = os.path.join(out, "latest-latency.dat")
    with open(lat_dat, "w") as f:
        for n in names:
            cols = []
            for a in accounts:
                r = by.get((n, a))
                cols += ["%.4f %.4f" % (r["median_ms"], r["p95_ms"]) if r else "NaN NaN"]
            f.write('"%s" %s\n' % (n, " ".join(cols)))
    thr_dat = os.path.join(out, "latest-throughput.dat")
    with open(thr_dat, "w") as f:
        for r in thr:
            f.write('"%s" %.1f\n' % (r["scenario"], r["requests_per_s"]))
    plots = ", ".join("'%s' using %d:%d:%d%s title '%s'" % (
        lat_dat if i == 0 else "", 2 + 2 * i, 2 + 2 * i, 3 + 2 * i,
        ":xtic(1)" if i == 0 else "", a) for i, a in enumerate(accounts))
    script = """
set terminal pngcairo size 1400,650 font 'sans,10'
set output '%s'
set multiplot layout 1,2
set title 'Latency per scenario: bar = median, error bar up to p95 (ms, log scale)'
set style data histogram
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set logscale y
set yrange [0.01:*]
set grid ytics
set ylabel 'ms'
set xtics rotate by 30 right noenhanced
set bmargin 7
set key top left
plot %s
unset logscale y
set yrange [0:*]
set title 'Throughput (requests/s, 5 s per point)'
set ylabel 'requests/s'
set style histogram clustered
plot '%s' using 2:xtic(1) title 'req/s'
unset multiplot
""" % (os.path.join(out, "latest.png"), plots, thr_dat)
    if not thr:
        script = script.replace("plot '%s' using 2:xtic(1) title 'req/s'" % thr_dat, "")
    subprocess.run(["gnuplot"], input=script.encode(), check=True, timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
