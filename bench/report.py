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

# Scenarios the gateway does not serve yet; listed so the table says so.
PENDING = ["gw_inbox_page", "gw_open_message", "gw_search_text", "gw_changes_noop",
           "gw_inbox_page_throughput", "gw_rss_30k_cached"]


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
    md += ["| %s | %s | %.3f | %.3f | %s |" % (r["scenario"], r["account"], r["median_ms"],
                                               r["p95_ms"], r.get("runs", "")) for r in lat]
    md += ["", "## Throughput", "",
           "| scenario | account | connections | seconds | requests/s | median ms | p95 ms | errors |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    md += ["| %s | %s | %d | %.1f | %.0f | %.3f | %.3f | %d |" % (
        r["scenario"], r["account"], r["connections"], r["duration_s"], r["requests_per_s"],
        r["median_ms"], r["p95_ms"], r["errors"] + r["non_2xx"]) for r in thr]
    md += ["", "## Gateway memory", "", "| scenario | when | RSS MiB |", "|---|---|---:|"]
    md += ["| %s | %s | %.1f |" % (r["scenario"], r.get("when", ""), r["rss_kb"] / 1024.0)
           for r in rss]
    seen = {r["scenario"] for r in rows}
    pending = [p for p in PENDING if not any(s.startswith(p) for s in seen)]
    if pending:
        md += ["", "Not measured yet (the gateway does not serve them): " +
               ", ".join(pending) + "."]
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
