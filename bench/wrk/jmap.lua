-- bench/wrk/jmap.lua - wrk script for the gateway scenarios.
--
-- Environment (set by bench/run):
--   BENCH_AUTH       value of the Authorization header ("Basic ...")
--   BENCH_BODY_FILE  optional: POST this file's bytes as application/json
--                    (e.g. the inbox_page request); without it, GET the path
--   BENCH_SCENARIO, BENCH_ACCOUNT, BENCH_CONNECTIONS  labels for the output
-- At the end it writes one JSON line (the runner's jsonl format) to stdout.

wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

-- No response() hook: it would slow every request; non-2xx answers come
-- from wrk's own summary (errors.status).
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format(
    '{"scenario":"%s","account":"%s","connections":%s,"duration_s":%.1f,' ..
    '"requests":%d,"requests_per_s":%.1f,"median_ms":%.3f,"p95_ms":%.3f,' ..
    '"errors":%d,"non_2xx":%d}\n',
    os.getenv("BENCH_SCENARIO") or "gw_throughput", os.getenv("BENCH_ACCOUNT") or "",
    os.getenv("BENCH_CONNECTIONS") or "0", secs, summary.requests, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
