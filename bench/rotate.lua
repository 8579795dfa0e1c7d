-- bench/rotate.lua: wrk script for the sustained fault-injection run of
-- bench/run. Each request names the next group of $BENCH_GROUPS (comma-
-- separated), non-streamed; every answer is checked (HTTP 200 and the mock's
-- text "w1 w2 w3 w4 w5") and the counts are printed as one JSON line.
local groups = {}
for g in string.gmatch(os.getenv("BENCH_GROUPS") or "ok", "[^,]+") do
	groups[#groups + 1] = g
end
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	threads[#threads + 1] = thread
end

function init(args)
	good, bad, first_bad = 0, 0, ""
	i = tid  -- threads start at different groups
	headers = { ["Content-Type"] = "application/json" }
end

function request()
	i = i % #groups + 1
	return wrk.format("POST", nil, headers,
		'{"model":"' .. groups[i] .. '","messages":[{"role":"user","content":"hi"}]}')
end

function response(status, hdrs, body)
	if status == 200 and string.find(body, '"content":"w1 w2 w3 w4 w5"', 1, true) then
		good = good + 1
	else
		bad = bad + 1
		if first_bad == "" then
			first_bad = status .. " " .. string.sub(body or "", 1, 200)
		end
	end
end

local function jstr(s)
	return '"' .. string.gsub(s, '[%c"\\]', function(c)
		return string.format("\\u%04x", string.byte(c))
	end) .. '"'
end

function done(summary, latency, requests)
	local g, b, fb = 0, 0, ""
	for _, t in ipairs(threads) do
		g = g + t:get("good")
		b = b + t:get("bad")
		if fb == "" then fb = t:get("first_bad") end
	end
	local e = summary.errors
	io.write(string.format(
		'{"requests":%d,"good":%d,"bad":%d,"first_bad":%s,"rps":%.1f,' ..
		'"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
		'"lat_us":{"p50":%d,"p99":%d,"max":%d}}\n',
		summary.requests, g, b, jstr(fb), summary.requests / (summary.duration / 1e6),
		e.connect, e.read, e.write, e.status, e.timeout,
		latency:percentile(50), latency:percentile(99), latency.max))
end
