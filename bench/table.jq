# bench/table.jq: the Markdown table of a bench/run results JSON (jq -r).

def n: if . == null then "–" else tostring end;
def x($r): if $r == null then "" else " (\($r)×)" end;
def plus($a): if $a == null then "" elif $a >= 0 then ", +\($a)" else ", \($a)" end;
def vlabel: {
	"direct": "direct (client → mock)",
	"immortal": "immortal via nginx",
	"immortal_nolog": "immortal via nginx, LOG_LEVEL=false",
	"immortal_unix": "immortal via nginx over a unix socket",
	"lighttpd": "immortal via lighttpd",
	"apache": "immortal via Apache mod_proxy_fcgi",
	"proxy_pass": "nginx proxy_pass",
	"refused": "1st endpoint refuses connections (cooldown off)",
	"refused_cd": "1st endpoint refuses connections (default cooldown)",
	"s500": "1st endpoint answers 500, retries 0 (cooldown off)",
	"s500r1": "1st endpoint answers 500, retries 1 = default (cooldown off)",
	"direct500": "direct: the mock answering 500 (one upstream round trip)"}[.] // .;
def order: {"direct": 0, "immortal": 1, "immortal_nolog": 2, "immortal_unix": 2.5, "lighttpd": 3, "apache": 4, "proxy_pass": 5,
	"direct500": 6, "refused": 7, "refused_cd": 8, "s500": 9, "s500r1": 10}[.] // 19;
def cell($t; $f): $t.values[$f] as $v | $t.met[$f] as $m
	| if $v == null then "–" else "\($v) \($t.unit) \(if $m then "met" else "**not met**" end)" end;

.meta as $m
| "# immortal benchmark (\($m.mode))",
  "",
  (if ($m.note // "") != "" then "**\($m.note)**\n" else empty end),
  "\($m.date), commit \($m.commit)\(if $m.source_changes_uncommitted then " + uncommitted changes in fcgi/ common/" else "" end); \($m.machine.cpus) CPUs, Linux \($m.machine.kernel), nginx \($m.versions.nginx), lighttpd \($m.versions.lighttpd // "–"), Apache \($m.versions.apache // "–"), libcurl \($m.versions.libcurl); load average at start \($m.machine.loadavg_start), at end \($m.machine.loadavg_end).",
  (if $m.mode == "soak" then "Only the sustained fault-injection run (\($m.settings.sustained_seconds) s), through nginx; RSS and threads sampled every \($m.settings.sustained_sample_seconds) s; a share \($m.settings.sustained_abandon_share) of the streams' clients leave mid-stream. Everything (clients, nginx with 1 worker, immortal, the mock) shares the same \($m.machine.cpus) CPUs." else
  "Variants interleaved, medians over rounds shown (differences: median of the per-round differences): 1 connection \($m.settings.wrk_seconds_1conn) s × \($m.settings.rounds_1conn) rounds, 16 and 64 connections \($m.settings.wrk_seconds) s × \($m.settings.rounds), stream runs \($m.settings.stream_rounds) round(s), sustained \($m.settings.sustained_seconds) s. Everything (clients, nginx with 1 worker, immortal, the mock) shares the same \($m.machine.cpus) CPUs." end),
  "",
  "## Targets",
  "",
  "Each goal (issue 12, and the failover and fault-injection ones), per front server in front of the same immortal; – = not measured in this run.",
  "",
  "| target | goal | nginx | lighttpd | Apache |",
  "|---|---|---|---|---|",
  (.targets[] | . as $t | "| \(.target) | \(.goal) \(.unit) | \(cell($t; "nginx")) | \(cell($t; "lighttpd")) | \(cell($t; "apache")) |"),
  "",
  (if (.nonstream | length) == 0 then empty else
  "## 1. Non-streamed small completions, healthy first endpoint",
  "",
  "CPU µs/req: CPU time of each process during the run ÷ requests; `front` is the row's front server (nginx, lighttpd or Apache), `sum` immortal + front.",
  "",
  "| path | conns | req/s (× direct) | p50 ms (× direct, + added) | p99 ms (× direct, + added) | CPU µs/req immortal + front = sum / mock | mock cores | machine busy | non-2xx / socket errors |",
  "|---|---|---|---|---|---|---|---|---|",
  (.nonstream | map(select(.scenario == "s1")) | sort_by([.conns, (.variant | order)])[]
   | "| \(.variant | vlabel) | \(.conns) | \(.rps | n)\(x(.vs_direct.rps)) | \(.p50_ms | n)\(x(.vs_direct.p50))\(if .variant != "direct" then plus(.vs_direct.added_p50_ms) else "" end) | \(.p99_ms | n)\(x(.vs_direct.p99))\(if .variant != "direct" then plus(.vs_direct.added_p99_ms) else "" end) | \(.cpu_us_per_req.immortal | n) + \(.cpu_us_per_req.front | n) = \(.cpu_us_per_req.together | n) / \(.cpu_us_per_req.mock | n) | \(.mock_cores | n) | \(.machine_busy_pct | n)% | \(.non_2xx | n) / \(.socket_errors | n) |"),
  "",
  (.nonstream | map(select(.scenario == "s1" and .pct_of_proxy_pass != null))[]
   | "\(.variant | vlabel) at \(.conns) connections: \(.x_proxy_pass)× nginx proxy_pass throughput."),
  "",
  "## 2. Failover: first endpoint failing, second healthy",
  "",
  "Cooldown off (`\"cooldown\": {\"base\": 0, \"max\": 0}`) so that every request pays the failover; at 16 and 64 connections the half-open trial still lets only one request at a time try the failing endpoint (the others skip it). With the default cooldown the dead endpoint is skipped after its first failure.",
  "",
  "`tries of the 1st` = attempts immortal made on the failing endpoint per request (from its metrics; 1 = every request failed over once; retries count).",
  "",
  "| case | conns | req/s (× direct) | p50 ms (× direct) | p99 ms (× direct) | failover cost p50 / p99 ms (vs healthy immortal) | tries of the 1st | non-2xx |",
  "|---|---|---|---|---|---|---|---|",
  (.nonstream | map(select(.scenario == "s2")) | sort_by([.conns, (.variant | order)])[]
   | "| \(.variant | vlabel) | \(.conns) | \(.rps | n)\(x(.vs_direct.rps)) | \(.p50_ms | n)\(x(.vs_direct.p50)) | \(.p99_ms | n)\(x(.vs_direct.p99)) | \(if .failover_cost_ms then "\(.failover_cost_ms.p50 | n) / \(.failover_cost_ms.p99 | n)" else "–" end)\(if .failover_cost_ms.p50_over_one_round_trip != null then " (over one 500 round trip: \(.failover_cost_ms.p50_over_one_round_trip) / \(.failover_cost_ms.p99_over_one_round_trip))" else "" end) | \(.failing_attempts_per_req | n) | \(.non_2xx | n) |"),
  "",
  "## 3. Concurrent streams (\(.streams | map(.streams) | unique | map(tostring) | join(", ")); 20 chunks 100 ms apart)",
  "",
  "Peak open: streams open at once at the client (headers received, not finished); in immortal: its peak threads minus those before the run (≈ requests in flight). RSS per stream: (peak RSS − RSS before) ÷ streams in flight in immortal at the peak.",
  "",
  "| streams | path | complete and correct | peak open (in immortal) | TTFB p50 ms (× direct, + added) | TTFB p99 ms (× direct, + added) | connect p99 ms | duration p50 s | immortal peak RSS | RSS per stream | CPU s per 1,000 streams immortal / front | mock cores | machine busy |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  (.streams | sort_by([.streams, (.variant | order)])[]
   | "| \(.streams) | \(.variant | vlabel) | \(.correct)/\(.started)\(if .failed > 0 then " (**\(.failed) failed**)" else "" end) | \(.peak_open | n)\(if .in_flight_peak then " (\(.in_flight_peak))" else "" end) | \(.ttfb_p50_ms | n)\(x(.vs_direct.ttfb_p50))\(if .variant != "direct" then plus(.vs_direct.added_ttfb_p50_ms) else "" end) | \(.ttfb_p99_ms | n)\(x(.vs_direct.ttfb_p99))\(if .variant != "direct" then plus(.vs_direct.added_ttfb_p99_ms) else "" end) | \(.connect_p99_ms | n) | \(.total_p50_s | n) | \(if .rss_peak_kib then "\(.rss_peak_kib / 1024 * 10 | round / 10) MiB" else "–" end) | \(if .rss_per_stream_kib then "\(.rss_per_stream_kib) KiB" else "–" end) | \(.cpu_s_per_1000 // "–") / \(.front_cpu_s_per_1000 // "–") | \(.mock_cores | n) | \(.machine_busy_pct | n)% |"),
  "",
  (.streams[] | select(.failed > 0 or ((.immortal_errors // []) | length) > 0 or ((.nginx_errors // []) | length) > 0)
   | "- \(.variant) \(.streams) streams: failures \(.failures | tostring)\(if (.failure_examples | length) > 0 then ", e.g. `\(.failure_examples[0])`" else "" end)\(if ((.immortal_errors // []) | length) > 0 then "; immortal log: `\(.immortal_errors | join("`, `"))`" else "" end)\(if ((.nginx_errors // []) | length) > 0 then "; nginx: `\(.nginx_errors | join("`, `"))`" else "" end)"),
  ""
  end),
  (.sustained | if . == null then "## 4. Sustained run: did not run" else
   "## 4. Sustained load with fault injection (\(.seconds) s)",
   "",
   "Groups rotate: every other request names a group whose first endpoint fails (500, 503 with a retry, 429, connection refused, hang with a 0.5 s timeout, HTML garbage, a stream cut before content, an SSE error event; the soak adds 401, an OpenRouter-style error in a 200, and a 502 for the first 300 requests that then recovers), then a healthy one. Every request has a healthy endpoint, so every one must succeed; a stream whose client leaves mid-stream on purpose counts as abandoned.",
   "",
   "| what | value |",
   "|---|---|",
   "| wrk, non-streamed | \(.wrk.requests | n) requests, \(.wrk.rps | n) req/s, p50 \(.wrk.p50_ms | n) ms, p99 \(.wrk.p99_ms | n) ms; \(.wrk.bad | n) wrong answers, \(.wrk.socket_errors | n) socket errors |",
   "| stream_client | \(.stream_client.requests | n) requests (\(.stream_client.streams | n) streamed, \(.stream_client.nonstreams | n) not), \(.stream_client.failed | n) failed, \(.stream_client.abandoned // 0 | n) abandoned mid-stream by the client; TTFB p50 \(.stream_client.ttfb_p50_ms | n) ms, p99 \(.stream_client.ttfb_p99_ms | n) ms |",
   "| failed client requests | **\(.failed_client_requests)** |",
   "| upstream attempts (immortal metrics) | \(.attempts.all), of which failed \(.attempts.failed) (\(.attempts.failed_pct | n)%) |",
   "| immortal RSS first sample / first warm (\(.rss_first_warm_at_s | n) s) / end / max | \(.rss_first_kib | n) / \(.rss_first_warm_kib | n) / \(.rss_end_kib | n) / \(.rss_max_kib | n) KiB (growth from warm to end \(.rss_growth_kib | n) KiB, \(.rss_growth_pct | n)%) |",
   "| immortal RSS samples, MiB (every \(.rss_samples | if length > 1 then (.[1].t_ms - .[0].t_ms) / 1000 | round else "–" end) s) | \(.rss_samples | map(select(.rss_kib != null) | .rss_kib / 1024 * 10 | round / 10 | tostring) | join(" ")) |",
   "| immortal threads (max) | \(.threads_max | n) |",
   "| immortal CPU | \(.immortal_cpu_s | n) s; machine busy \(.machine_busy_pct | n)% |",
   (if .wrk.first_bad != null and .wrk.first_bad != "" then "| first wrong answer (wrk) | `\(.wrk.first_bad)` |" else empty end),
   (if (.stream_client.examples | length) > 0 then "| failures (stream_client) | `\(.stream_client.examples | join("`, `"))` |" else empty end),
   (if (.nginx_errors | length) > 0 then "| nginx errors | `\(.nginx_errors | join("`, `"))` |" else empty end)
   end),
  ""
