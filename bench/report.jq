# bench/report.jq: turns bench/run's raw runs (jq -s over raw.jsonl, with
# --argjson meta) into the results JSON: medians over rounds, ratios to the
# direct baseline, and the project's targets with met / not met.

def med: map(select(. != null)) | sort |
	if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r3: if . == null then null else (. * 1000 | round) / 1000 end;
def r1: if . == null then null else (. * 10 | round) / 10 end;
def ratio($a; $b): if $a == null or $b == null or $b == 0 then null else ($a / $b | r3) end;
def minus($a; $b): if $a == null or $b == null then null else ($a - $b | r3) end;
# Whose CPU a run's variant is: the immortal process and the front server.
def imm_key: if . == "immortal_nolog" or . == "immortal_unix" then . elif . == "direct" or . == "direct500" or . == "proxy_pass" then null else "immortal" end;
def front_key: if . == "lighttpd" or . == "apache" then . elif . == "direct" or . == "direct500" then null else "nginx" end;
def per_req($k): if $k != null and .wrk.requests > 0 then .cpu_ms[$k] * 1000 / .wrk.requests else null end;
# The front servers and the variant name of their rows.
def fronts: [{name: "nginx", variant: "immortal"}, {name: "lighttpd", variant: "lighttpd"}, {name: "apache", variant: "apache"}];

. as $runs
| [$runs[] | select(.kind == "wrk" and (.wrk.failed_to_run | not))] as $wruns
# Differences are paired: each run minus the same round's baseline run (the
# variants of a round run back to back), then the median over rounds.
| def rawrun($s; $v; $c; $r):
	first($wruns[] | select(.scenario == $s and .variant == $v and .conns == $c and .round == $r)) // null;
  def paired($s; $v; $c; $bs; $bv; $f):
	[$wruns[] | select(.scenario == $s and .variant == $v and .conns == $c) | . as $x
	 | rawrun($bs; $bv; $c; $x.round) as $b
	 | if $b then ($x.wrk.lat_us[$f] - $b.wrk.lat_us[$f]) / 1000 else null end] | med | r3;
  def cost500($f):
	[$wruns[] | select(.scenario == "s2" and .variant == "s500" and .conns == 1) | . as $x
	 | rawrun("s1"; "immortal"; 1; $x.round) as $i | rawrun("s2"; "direct500"; 1; $x.round) as $d
	 | if $i and $d then ($x.wrk.lat_us[$f] - $i.wrk.lat_us[$f] - $d.wrk.lat_us[$f]) / 1000 else null end] | med | r3;
  ($wruns
   | group_by([.scenario, .variant, .conns])
   | map({scenario: .[0].scenario, variant: .[0].variant, conns: .[0].conns, rounds: length,
	  requests: (map(.wrk.requests) | add),
	  rps: (map(.wrk.rps) | med | r1),
	  p50_ms: (map(.wrk.lat_us.p50 / 1000) | med | r3),
	  p90_ms: (map(.wrk.lat_us.p90 / 1000) | med | r3),
	  p99_ms: (map(.wrk.lat_us.p99 / 1000) | med | r3),
	  non_2xx: (map(.wrk.errors.status) | add),
	  socket_errors: (map(.wrk.errors | .connect + .read + .write + .timeout) | add),
	  front: (.[0].variant | front_key),
	  cpu_us_per_req: {
	    immortal: (map(per_req(.variant | imm_key)) | med | r1),
	    front: (map(per_req(.variant | front_key)) | med | r1),
	    together: (map(. as $x | ($x.variant | imm_key) as $i | ($x.variant | front_key) as $f
			   | if $i != null and $f != null then ($x | per_req($i)) + ($x | per_req($f)) else null end) | med | r1),
	    mock: (map(per_req("mock")) | med | r1)},
	  failing_attempts_per_req: (map(if .failing_attempts != null and .wrk.requests > 0 then .failing_attempts / .wrk.requests else null end) | med | r3),
	  mock_cores: (map(if .wrk.duration_us > 0 then .cpu_ms.mock * 1000 / .wrk.duration_us else null end) | med | r3),
	  machine_busy_pct: (map(.cpu_ms.machine_busy_pct) | med)})) as $w
| def wrow($s; $v; $c): first($w[] | select(.scenario == $s and .variant == $v and .conns == $c)) // null;
  ($w | map(. as $r
	| wrow("s1"; "direct"; $r.conns) as $d
	| wrow("s1"; "immortal"; $r.conns) as $i
	| wrow("s1"; "proxy_pass"; $r.conns) as $p
	| $r + {vs_direct: {rps: ratio($r.rps; $d.rps), p50: ratio($r.p50_ms; $d.p50_ms),
			    p99: ratio($r.p99_ms; $d.p99_ms),
			    added_p50_ms: paired($r.scenario; $r.variant; $r.conns; "s1"; "direct"; "p50"),
			    added_p99_ms: paired($r.scenario; $r.variant; $r.conns; "s1"; "direct"; "p99")}}
	| if $r.scenario == "s1" and ($r.variant | imm_key) != null then
		. + {pct_of_proxy_pass: (if $p.rps then (100 * $r.rps / $p.rps | r1) else null end),
		     x_proxy_pass: ratio($r.rps; $p.rps)}
	  else . end
	| if $r.scenario == "s2" and $r.variant != "direct500" then
		. + {failover_cost_ms: {p50: paired("s2"; $r.variant; $r.conns; "s1"; "immortal"; "p50"),
					p99: paired("s2"; $r.variant; $r.conns; "s1"; "immortal"; "p99")}}
		| if $r.variant == "s500" and $r.conns == 1 then
			.failover_cost_ms += {p50_over_one_round_trip: cost500("p50"), p99_over_one_round_trip: cost500("p99")}
		  else . end
	  else . end)) as $wr
| ([$runs[] | select(.kind == "stream")]
   | group_by([.variant, .streams])
   | map({variant: .[0].variant, streams: .[0].streams, rounds: length,
	  started: (map(.client.requests // 0) | add), correct: (map(.client.ok // 0) | add),
	  failed: (map(.client.failed // 0) | add),
	  failures: (map(.client.failures // {} | to_entries) | add // [] | group_by(.key)
		     | map({key: .[0].key, value: (map(.value) | add)}) | from_entries),
	  failure_examples: (map(.client.examples // []) | add // [] | unique | .[:5]),
	  peak_open: (map(.client.peak_open) | min),
	  ttfb_p50_ms: (map(.client.ttfb_ms.p50) | med | r3),
	  ttfb_p99_ms: (map(.client.ttfb_ms.p99) | med | r3),
	  ttfb_max_ms: (map(.client.ttfb_ms.max) | max | r3),
	  connect_p99_ms: (map(.client.connect_ms.p99) | med | r3),
	  total_p50_s: (map(.client.total_ms.p50 / 1000) | med | r3),
	  total_p99_s: (map(.client.total_ms.p99 / 1000) | med | r3),
	  mock_cores: (map(if (.client.elapsed_s // 0) > 0 then .cpu_ms.mock / 1000 / .client.elapsed_s else null end) | med | r3),
	  machine_busy_pct: (map(.cpu_ms.machine_busy_pct) | med)}
	 + (if .[0].variant != "direct" then
	    {rss_before_kib: (map(.rss_before_kib) | med), rss_peak_kib: (map(.rss_peak_kib) | max),
	     rss_per_started_stream_kib: (map((.rss_peak_kib - .rss_before_kib) / .streams) | med | r1),
	     in_flight_peak: (map(.threads_peak - .threads_before) | min),
	     rss_per_stream_kib: (map((.rss_peak_kib - .rss_before_kib) / ([1, .threads_peak - .threads_before] | max)) | med | r1),
	     threads_peak: (map(.threads_peak) | max),
	     cpu_s_per_1000: (map(.cpu_ms.immortal / .streams) | med | r3),
	     front_cpu_s_per_1000: (map(.cpu_ms[.variant | front_key] / .streams) | med | r3),
	     immortal_errors: (map(.immortal_errors) | add | unique), nginx_errors: (map(.nginx_errors) | add | unique)}
	   else {mock_cpu_s_per_1000: (map(.cpu_ms.mock / .streams) | med | r3),
		 nginx_errors: (map(.nginx_errors) | add | unique)} end))) as $st
| ($st | map(. as $r
	| (first($st[] | select(.variant == "direct" and .streams == $r.streams)) // null) as $d
	| $r + {vs_direct: {ttfb_p50: ratio($r.ttfb_p50_ms; $d.ttfb_p50_ms), ttfb_p99: ratio($r.ttfb_p99_ms; $d.ttfb_p99_ms),
			    added_ttfb_p50_ms: minus($r.ttfb_p50_ms; $d.ttfb_p50_ms),
			    added_ttfb_p99_ms: minus($r.ttfb_p99_ms; $d.ttfb_p99_ms)}})) as $str
| (first($runs[] | select(.kind == "sustained")) // null) as $su
| (if $su == null then null else
	($su.seconds * 1000) as $endms
	| ($su.rss | map(select(.rss_kib != null))) as $rss
	| (first($rss[] | select(.t_ms >= ([3000, $endms / 4] | max)))) as $warm
	| (last($rss[] | select(.t_ms <= $endms + 500)) // last($rss[])) as $last
	| {seconds: $su.seconds,
	   wrk: {requests: $su.wrk.requests, good: $su.wrk.good, bad: $su.wrk.bad, first_bad: $su.wrk.first_bad,
		 rps: ($su.wrk.rps | r1), socket_errors: ($su.wrk.errors | if . then .connect + .read + .write + .timeout else null end),
		 p50_ms: ($su.wrk.lat_us.p50 / 1000 | r3), p99_ms: ($su.wrk.lat_us.p99 / 1000 | r3)},
	   stream_client: {requests: $su.client.requests, ok: $su.client.ok, failed: $su.client.failed,
			   abandoned: ($su.client.abandoned // 0),
			   streams: $su.client.streams, nonstreams: $su.client.nonstreams,
			   failures: $su.client.failures, examples: $su.client.examples,
			   ttfb_p50_ms: ($su.client.ttfb_ms.p50 | r3), ttfb_p99_ms: ($su.client.ttfb_ms.p99 | r3)},
	   failed_client_requests: (($su.wrk.bad // 0) + ($su.wrk.errors | if . then .connect + .read + .write + .timeout else 0 end) + ($su.client.failed // 0)),
	   attempts: ($su.attempts + {failed_pct: (if $su.attempts.all > 0 then 100 * $su.attempts.failed / $su.attempts.all | r1 else null end)}),
	   immortal_cpu_s: ($su.cpu_ms.immortal / 1000 | r3), machine_busy_pct: $su.cpu_ms.machine_busy_pct,
	   rss_first_kib: ($rss[0].rss_kib // null),
	   rss_first_warm_kib: $warm.rss_kib, rss_first_warm_at_s: ($warm.t_ms / 1000 | r1),
	   rss_end_kib: $last.rss_kib, rss_max_kib: ($rss | map(.rss_kib) | max),
	   rss_growth_kib: (if $warm and $last then $last.rss_kib - $warm.rss_kib else null end),
	   rss_growth_pct: (if $warm and $last and $warm.rss_kib > 0 then 100 * ($last.rss_kib - $warm.rss_kib) / $warm.rss_kib | r1 else null end),
	   threads_max: ($rss | map(.threads) | max),
	   rss_samples: $su.rss,
	   immortal_errors: $su.immortal_errors, nginx_errors: $su.nginx_errors}
  end) as $sus
| def wr($s; $v; $c): first($wr[] | select(.scenario == $s and .variant == $v and .conns == $c)) // null;
  def sr($v; $n): first($str[] | select(.variant == $v and .streams == $n)) // null;
  def met($v; $op; $goal): if $v == null then null elif $op == "<=" then $v <= $goal else $v >= $goal end;
  # target NAME UNIT OP GOAL F: F computes the value from a front's variant
  # name (.), for each front server; only nginx's when the others have none.
  def target($name; $unit; $op; $goal; f):
	{target: $name, unit: $unit, goal: "\($op) \($goal)",
	 values: (reduce fronts[] as $fr ({}; .[$fr.name] = ($fr.variant | f))),
	 met: (reduce fronts[] as $fr ({}; .[$fr.name] = met($fr.variant | f; $op; $goal)))};
  def target1($name; $value; $unit; $op; $goal):
	{target: $name, unit: $unit, goal: "\($op) \($goal)", values: {nginx: $value}, met: {nginx: met($value; $op; $goal)}};
  def s3pct($v): sr($v; 3000) as $s | if $s and $s.started > 0 then (100 * $s.correct / $s.started | r3) else null end;
  (wr("s1"; "immortal"; 64)) as $on | (wr("s1"; "immortal_nolog"; 64)) as $off
| {meta: $meta,
   targets: ([
	target("CPU per non-streamed request at 64 connections, immortal + front server (shares in section 1)"; "µs"; "<="; 50;
	       wr("s1"; .; 64).cpu_us_per_req.together),
	target("throughput at 64 connections, × nginx proxy_pass"; "×"; ">="; 0.35; wr("s1"; .; 64).x_proxy_pass),
	target("added latency p50, 1 connection (front server included, vs direct)"; "ms"; "<="; 0.1;
	       wr("s1"; .; 1).vs_direct.added_p50_ms),
	target("added latency p99, 1 connection"; "ms"; "<="; 0.5; wr("s1"; .; 1).vs_direct.added_p99_ms),
	target("3,000 concurrent streams: share complete and correct"; "%"; ">="; 100; s3pct(.)),
	target("3,000 streams: RSS per open stream"; "KiB"; "<="; 32; sr(.; 3000).rss_per_stream_kib),
	target("3,000 streams: added TTFB p99 (vs direct in the same run)"; "ms"; "<="; 50;
	       sr(.; 3000).vs_direct.added_ttfb_p99_ms),
	target1("logging on costs, % of throughput at 64 connections (vs LOG_LEVEL=false)";
		(if $on.rps and $off.rps then (100 * (1 - $on.rps / $off.rps) | r1) else null end); "%"; "<="; 10),
	target1("connect-refused failover cost, p50 (1 connection)"; wr("s2"; "refused"; 1).failover_cost_ms.p50; "ms"; "<="; 2),
	target1("500 failover cost over one upstream round trip, p50 (retries 0)";
	        wr("s2"; "s500"; 1).failover_cost_ms.p50_over_one_round_trip; "ms"; "<="; 2),
	target1("sustained with faults: failed client requests (abandoned ones aside)"; $sus.failed_client_requests; ""; "<="; 0),
	target1("sustained with faults: RSS growth, first warm sample to the end"; $sus.rss_growth_pct; "%"; "<="; 10)]
	| map(select([.values[]] | any(. != null)))),
   nonstream: $wr, streams: $str, sustained: $sus, runs: $runs}
