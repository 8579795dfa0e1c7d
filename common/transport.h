/* transport.h: one HTTP POST to an upstream, over libcurl.
 *
 * Each worker thread owns one transport: an easy handle inside its own multi
 * handle, whose connection cache keeps upstream connections alive across
 * requests. DNS and TLS sessions are shared between all transports. The
 * transfer is driven by an explicit loop so the caller's timers (first token,
 * silence, keep-alive) and the client's socket are watched alongside it. */
#ifndef IMMORTAL_TRANSPORT_H
#define IMMORTAL_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "result.h"

struct transport;

struct transport_request {
	const char *url;
	const struct curl_slist *headers;
	const char *body;
	size_t body_len;
	long connect_timeout_ms;
	bool stream;         /* the answer is an event stream: read in small pieces */
};

struct transport_hooks {
	void *ctx;
	/* Response bytes, after the headers; anything but IM_OK aborts. */
	enum im_rc (*on_body)(void *ctx, long status, const char *data, size_t len);
	/* Called whenever the loop wakes. `fd_ready` says the watched descriptor
	 * is readable; the hook may set *watch_fd to -1 to stop watching it.
	 * Returns how many ms it may sleep at most, or -1 to abort. */
	long (*on_tick)(void *ctx, bool fd_ready, int *watch_fd);
	/* Once the request is sent whole and the answer has begun: libcurl
	 * reads the request's body no more, the caller may free it (a stream
	 * need not hold it for as long as it lasts). May be NULL. */
	void (*on_sent)(void *ctx);
	int watch_fd;        /* the client's socket, or -1 */
};

struct transport_result {
	CURLcode code;       /* CURLE_OK when the transfer completed */
	long status;         /* HTTP status, 0 when none arrived */
	long retry_after_s;  /* Retry-After or retry-after-ms in seconds (see
				retryafter.h), -1 when absent or invalid */
	bool aborted;        /* a hook stopped the transfer */
	bool got_response;   /* a status line arrived */
	char error[CURL_ERROR_SIZE];
};

/* Once per process, before any thread starts. */
enum im_rc transport_global_init(void);
void transport_global_cleanup(void);

struct transport *transport_new(void);
void transport_free(struct transport *t);

/* Performs the POST; returns IM_OK when a result is in *res (which may still
 * describe a failure), IM_EIO when libcurl could not even start. */
enum im_rc transport_post(struct transport *t, const struct transport_request *req,
			  struct transport_hooks *hooks, struct transport_result *res);

#endif
