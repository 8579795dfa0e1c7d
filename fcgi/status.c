/* status.c: GET .../status, the host's state as one HTML page.
 *
 * For a person with a browser: every group and endpoint with its health,
 * cooldown, last failure, attempts and first-token times, and the requests
 * in flight on the host. The page is self-contained (inline style, no
 * external asset), reads fine without JavaScript, and a small inline script
 * reloads it every few seconds. Every name from the config is HTML-escaped. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "handlers.h"
#include "health.h"
#include "metrics.h"
#include "quantile.h"

#define STATUS_PAGE_MAX (16u << 20)
#define STATUS_REFRESH_S 5

static const char status_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>immortal status</title>\n<style>\n"
	"body{font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:0;padding:1.5em 2em;"
	"color:#1d2430;background:#f5f6f8}\n"
	"h1{font-size:1.4em;margin:0 0 .2em}\n"
	"p.meta{margin:0 0 1.2em;color:#5b6472}\n"
	".tiles{display:flex;gap:1em;margin-bottom:1.2em;flex-wrap:wrap}\n"
	".tile{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:.6em 1em;min-width:9em}\n"
	".tile b{display:block;font-size:1.6em}\n"
	"table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}\n"
	"th,td{padding:.45em .7em;text-align:left;border-bottom:1px solid #eceff3;white-space:nowrap}\n"
	"thead th{background:#eef1f5;font-weight:600;color:#3a4350}\n"
	"tr.group th{background:#fafbfc;font-size:1.05em;padding-top:.8em}\n"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	".state{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:600;font-size:.9em}\n"
	".healthy{background:#dff3e4;color:#17642d}.cooling{background:#fde2e1;color:#9b1c1c}\n"
	".half_open{background:#fff1c9;color:#7a5300}.trial{background:#dde9fd;color:#1e4b99}\n"
	".ok{color:#17642d}.degraded{color:#9b1c1c}.muted{color:#8a929e}\n"
	"footer{margin-top:1em;color:#8a929e;font-size:.9em}\n"
	"</style></head><body>\n";

/* Appends `s` HTML-escaped (fit for text and quoted attribute values). */
static void status_text(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': buf_append_str(out, "&amp;"); break;
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		case '\'': buf_append_str(out, "&#39;"); break;
		default: (void)buf_append(out, s, 1); break;
		}
	}
}

static void status_seconds(struct buf *out, double s)
{
	if (isnan(s))
		buf_append_str(out, "<span class=\"muted\">&ndash;</span>");
	else if (s < 1)
		(void)buf_printf(out, "%.0f ms", s * 1000);
	else
		(void)buf_printf(out, "%.2f s", s);
}

/* The time of day of `unix_ms`; with how long ago when now_ms > 0. */
static void status_clock(struct buf *out, int64_t unix_ms, int64_t now_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%H:%M:%S UTC", &tm);
	buf_append_str(out, when);
	if (now_ms > 0)
		(void)buf_printf(out, " <span class=\"muted\">(%lld s ago)</span>",
			      (long long)((now_ms - unix_ms) / 1000));
}

static int64_t status_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void status_last_failure(struct buf *out, const struct hoststate_counters *slot,
				int64_t wall)
{
	if (slot->last_failure_ms == 0) {
		buf_append_str(out, "<td class=\"muted\">none</td>");
		return;
	}
	buf_append_str(out, "<td class=\"lasterr\"><b>");
	status_text(out, errkind_name((enum errkind)slot->last_kind));
	buf_append_str(out, "</b> at ");
	status_clock(out, slot->last_failure_ms, wall);
	buf_append_str(out, "</td>");
}

static void status_endpoint(struct buf *out, struct request *req, const struct group *g,
			    const struct endpoint *ep, int64_t now, int64_t wall)
{
	struct health_info h;
	struct hoststate_counters slot;
	uint64_t attempts = 0, failed = 0;

	health_inspect(req->site->hs, ep, now, &h);
	metrics_endpoint(req->site->hs, g->name, ep, &slot);
	for (int k = 0; k < ERRKIND_COUNT; k++) {
		attempts += slot.attempts[k];
		failed += k != ERRKIND_NONE ? slot.attempts[k] : 0;
	}
	const char *state = health_state_name(h.state);
	buf_append_str(out, "<tr class=\"endpoint\" data-group=\"");
	status_text(out, g->name);
	buf_append_str(out, "\" data-endpoint=\"");
	status_text(out, ep->name);
	(void)buf_printf(out, "\" data-state=\"%s\"><td></td><td class=\"name\">", state);
	status_text(out, ep->name);
	(void)buf_printf(out, "</td><td>%s</td><td><span class=\"state %s\">%s</span></td>",
		      endpoint_type_name(ep->type), state, state);
	if (h.state == HEALTH_COOLING)
		(void)buf_printf(out, "<td class=\"num cooldown\">%.1f s</td>", h.cooldown_left_s);
	else
		buf_append_str(out, "<td class=\"num cooldown muted\">&ndash;</td>");
	(void)buf_printf(out, "<td class=\"num\">%u</td>", h.failures);
	status_last_failure(out, &slot, wall);
	(void)buf_printf(out, "<td class=\"num attempts\">%llu</td><td class=\"num failed\">%llu</td>",
		      (unsigned long long)attempts, (unsigned long long)failed);
	for (int i = 0; i < 2; i++) {
		buf_append_str(out, "<td class=\"num\">");
		status_seconds(out, quantile_histogram(slot.ttft.buckets, hoststate_bounds,
							HOSTSTATE_BUCKETS, i == 0 ? 0.5 : 0.95));
		buf_append_str(out, "</td>");
	}
	buf_append_str(out, "</tr>\n");
}

static void status_group(struct buf *out, struct request *req, const struct group *g,
			 int64_t now, int64_t wall)
{
	bool any_healthy = false;

	for (size_t i = 0; i < g->n_endpoints; i++) {
		struct health_info h;
		health_inspect(req->site->hs, &g->endpoints[i], now, &h);
		any_healthy |= h.state == HEALTH_HEALTHY;
	}
	buf_append_str(out, "<tr class=\"group\"><th colspan=\"11\">");
	status_text(out, g->name);
	(void)buf_printf(out, " <span class=\"%s\">%s</span></th></tr>\n",
		      any_healthy ? "ok" : "degraded", any_healthy ? "ok" : "degraded");
	for (size_t i = 0; i < g->n_endpoints; i++)
		status_endpoint(out, req, g, &g->endpoints[i], now, wall);
}

static void status_tiles(struct buf *out, struct request *req, int64_t wall)
{
	int64_t requests, streams;
	size_t n_eps = 0;

	for (size_t i = 0; i < req->catalog->n_groups; i++)
		n_eps += req->catalog->groups[i]->n_endpoints;
	metrics_in_flight(req->site->hs, &requests, &streams);
	buf_append_str(out, "<h1>immortal</h1>\n<p class=\"meta\">version " PACKAGE_VERSION
			    " &middot; page made at ");
	status_clock(out, wall, 0);
	buf_append_str(out, " &middot; host-wide figures</p>\n<div class=\"tiles\">");
	(void)buf_printf(out, "<div class=\"tile\" id=\"requests\"><b>%lld</b>requests in flight</div>",
		      (long long)requests);
	(void)buf_printf(out, "<div class=\"tile\" id=\"streams\"><b>%lld</b>streams in flight</div>",
		      (long long)streams);
	(void)buf_printf(out, "<div class=\"tile\"><b>%zu</b>groups</div><div class=\"tile\"><b>%zu</b>endpoints</div>",
		      req->catalog->n_groups, n_eps);
	buf_append_str(out, "</div>\n");
}

void handle_status(struct request *req)
{
	struct buf out;
	int64_t now = clock_ms(), wall = status_wall_ms();
	const struct sink_header headers[] = {
		{ "Cache-Control", "no-store" },
		/* nothing but the page's own style and script may run */
		{ "Content-Security-Policy",
		  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'" },
	};

	buf_init(&out, STATUS_PAGE_MAX);
	buf_append_str(&out, status_head);
	status_tiles(&out, req, wall);
	buf_append_str(&out, "<table><thead><tr><th>Group</th><th>Endpoint</th><th>Type</th>"
			     "<th>State</th><th>Cooldown left</th><th>Failures in a row</th>"
			     "<th>Last failure</th><th>Attempts</th><th>Failed</th>"
			     "<th>p50 first token</th><th>p95 first token</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < req->catalog->n_groups; i++)
		status_group(&out, req, req->catalog->groups[i], now, wall);
	if (req->catalog->n_groups == 0)
		buf_append_str(&out, "<tr><td colspan=\"11\" class=\"muted\">no group is loaded</td></tr>\n");
	(void)buf_printf(&out, "</tbody></table>\n<footer>Attempts and times count since the state file "
			    "was created; a group's endpoints are tried top to bottom. "
			    "<label><input type=\"checkbox\" id=\"auto\" checked> reload every %d s</label>"
			    "</footer>\n<script>\n"
			    "setInterval(function () {\n"
			    "  if (document.getElementById('auto').checked) location.reload();\n"
			    "}, %d);\n</script>\n</body></html>\n", STATUS_REFRESH_S, STATUS_REFRESH_S * 1000);
	if (req->conn->sink.begin(req->conn, 200, "text/html; charset=utf-8", headers,
				  sizeof headers / sizeof headers[0]) == IM_OK)
		(void)req->conn->sink.write(req->conn, buf_str(&out), out.len);
	buf_free(&out);
}
