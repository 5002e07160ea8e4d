/* http_server.h - the HTTP front: libmicrohttpd on its own epoll thread,
 * blocking work on a worker pool (design.md "Request flow"). */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include "gw_error.h"
#include "worker_pool.h"

struct http_gateway;
struct http_server;

/* Starts listening on gw->cfg's listen address. gw and workers are
 * borrowed and must outlive the server. Errors: GW_ERR_INVALID (bad listen
 * address), GW_ERR_UNAVAILABLE (cannot bind). */
int http_server_start(struct http_gateway *gw, struct worker_pool *workers,
                      struct http_server **out, struct gw_error *err);

/* Graceful stop: stops accepting, answers new requests on open connections
 * with 503, waits for requests on workers to finish (they are bounded by the
 * backend timeouts; a warning is logged after drain_ms) and briefly for
 * their replies to go out, then closes everything and frees; sets *s NULL.
 * The worker pool may be freed after this returns. */
void http_server_stop(struct http_server **s, unsigned drain_ms);

#endif
