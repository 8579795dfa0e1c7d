-- bench/post.lua: wrk script for the non-streamed scenarios of bench/run.
-- POSTs a small chat completion for model $BENCH_MODEL (default "ok") to the
-- URL given to wrk, and prints one JSON line of results at the end
-- (latencies in microseconds; status_errors counts answers other than 2xx/3xx).
local model = os.getenv("BENCH_MODEL") or "ok"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"hi"}]}'

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'{"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.1f,' ..
		'"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
		'"lat_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
		summary.requests, summary.duration, summary.bytes,
		summary.requests / (summary.duration / 1e6),
		e.connect, e.read, e.write, e.status, e.timeout,
		latency.mean, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max))
end
