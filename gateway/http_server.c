/* http_server.c - libmicrohttpd glue: one epoll event loop thread accepts
 * and parses; anything that may touch a backend is handed to the worker
 * pool while the connection is suspended, so a slow IMAP server never
 * stalls other clients (design.md "Request flow"). */
#include "http_server.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gw_log.h"
#include "http_gateway.h"
#include "upload_store.h"

#define BODY_INITIAL_CAPACITY 4096
#define HTTP_CONNECTION_TIMEOUT_S 120
#define HTTP_CONNECTION_LIMIT 1024

enum exchange_phase {
    PHASE_HEADERS,      /* first call: headers in, nothing decided */
    PHASE_BODY,         /* reading the body */
    PHASE_WORKING,      /* suspended; a worker owns the exchange */
    PHASE_REPLY,        /* resumed, or answered without a worker */
};

/* One request/response exchange on a connection. */
struct exchange {
    struct http_server *server;
    struct MHD_Connection *connection;
    const struct http_route *route;
    enum exchange_phase phase;
    bool body_too_large;
    bool spool_failed;          /* the upload store refused a write */
    bool too_many_uploads;      /* past maxConcurrentUpload for these credentials */
    size_t body_cap;
    uint64_t body_seen;         /* bytes of body received, kept or not */
    struct http_request req;
    struct http_reply reply;
};

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_gateway *gw;
    struct worker_pool *workers;
    atomic_bool stopping;
    atomic_uint active_work;    /* exchanges handed to workers, not yet resumed */
};

static char *copy_header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v != NULL ? strdup(v) : NULL;
}

static void exchange_free(struct exchange *ex)
{
    http_request_clear(&ex->req);
    http_reply_clear(&ex->reply);
    free(ex);
}

static enum MHD_Result queue_reply(struct exchange *ex)
{
    struct http_reply *reply = &ex->reply;
    if (ex->req.method != HTTP_OPTIONS)   /* a preflight carries its own CORS headers */
        cors_apply(ex->server->gw->cfg, &ex->req, reply);
    if (reply->status == 0)
        http_reply_problem(reply, 500, "about:blank", "Internal server error.", NULL);

    /* MHD takes the body buffer and frees it with free(). */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        reply->body_len, reply->body != NULL ? reply->body : (void *)"",
        reply->body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    reply->body = NULL;
    if (reply->content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
    for (unsigned i = 0; i < reply->header_count; i++)
        MHD_add_response_header(resp, reply->headers[i].name, reply->headers[i].value);
    enum MHD_Result ret = MHD_queue_response(ex->connection, (unsigned)reply->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void run_on_worker(void *arg)
{
    struct exchange *ex = arg;
    http_route_run(ex->server->gw, ex->route, &ex->req, &ex->reply);
    struct http_server *server = ex->server;
    ex->phase = PHASE_REPLY;
    /* After this call MHD may run the access handler on its own thread;
     * touch nothing of ex from here on. */
    MHD_resume_connection(ex->connection);
    atomic_fetch_sub(&server->active_work, 1);
}

static enum MHD_Result start_work(struct exchange *ex)
{
    struct http_server *server = ex->server;
    /* Count first, then check: http_server_stop() sets stopping and then
     * waits for the count, so no job can slip in after it stopped waiting. */
    atomic_fetch_add(&server->active_work, 1);
    if (atomic_load(&server->stopping)) {
        atomic_fetch_sub(&server->active_work, 1);
        http_reply_problem(&ex->reply, 503, "about:blank", "The server is shutting down.", NULL);
        ex->phase = PHASE_REPLY;
        return queue_reply(ex);
    }
    ex->phase = PHASE_WORKING;
    /* Suspend before handing over, so the worker's resume never races a
     * connection that is not yet suspended. */
    MHD_suspend_connection(ex->connection);
    if (!worker_pool_submit(server->workers, run_on_worker, ex)) {
        http_reply_problem(&ex->reply, 503, "about:blank", "The server is out of resources.",
                           NULL);
        ex->phase = PHASE_REPLY;
        MHD_resume_connection(ex->connection);
        atomic_fetch_sub(&server->active_work, 1);
    }
    return MHD_YES;
}

/* How much of an oversized body is read and thrown away so the client can
 * still get its 413; past this the connection is simply closed. */
static uint64_t discard_bound(uint64_t max)
{
    uint64_t twice = 2 * max;
    uint64_t slack = max + 256 * 1024;
    return twice > slack ? twice : slack;
}

/* Keeps body bytes up to max; past it stops keeping them (the buffer is
 * freed) and only counts. Returns -1 when memory runs out or the discarded
 * part passes discard_bound(). */
static int append_body(struct exchange *ex, const char *data, size_t size, uint64_t max)
{
    ex->body_seen += size;
    if (ex->body_too_large)
        return ex->body_seen > discard_bound(max) ? -1 : 0;
    if (ex->req.body_len + size > max) {
        ex->body_too_large = true;
        free(ex->req.body);
        ex->req.body = NULL;
        ex->req.body_len = 0;
        ex->body_cap = 0;
        return 0;
    }
    if (ex->req.body_len + size + 1 > ex->body_cap) {
        size_t cap = ex->body_cap ? ex->body_cap : BODY_INITIAL_CAPACITY;
        while (cap < ex->req.body_len + size + 1)
            cap *= 2;
        char *grown = realloc(ex->req.body, cap);
        if (grown == NULL)
            return -1;
        ex->req.body = grown;
        ex->body_cap = cap;
    }
    memcpy(ex->req.body + ex->req.body_len, data, size);
    ex->req.body_len += size;
    ex->req.body[ex->req.body_len] = '\0';
    return 0;
}

/* The upload route's body goes to a spool file as it arrives; past
 * maxSizeUpload the spool is dropped and the rest only counted, as in
 * append_body(). Returns -1 to close the connection. */
static int spool_body(struct exchange *ex, const char *data, size_t size)
{
    struct http_gateway *gw = ex->server->gw;
    uint64_t max = gw->limits.max_size_upload;
    struct gw_error err = { 0 };
    ex->body_seen += size;
    if (ex->body_too_large || ex->spool_failed)
        return ex->body_seen > discard_bound(max) ? -1 : 0;
    /* Counted per credentials as sent: uploads of one user cannot be
     * blocked by someone who does not know the password. */
    const char *owner = ex->req.headers.authorization != NULL ? ex->req.headers.authorization : "";
    if (ex->req.upload == NULL &&
        upload_spool_begin_for(gw->uploads, owner, gw->limits.max_concurrent_upload,
                               &ex->req.upload, &err) != 0) {
        if (err.code == GW_ERR_LIMIT)
            ex->too_many_uploads = true;
        else
            gw_log_error("upload: %s", err.msg);
        ex->spool_failed = true;
        return 0;
    }
    if (size > 0 && upload_spool_write(ex->req.upload, data, size, &err) != 0) {
        if (err.code == GW_ERR_TOO_LARGE) {
            ex->body_too_large = true;
        } else {
            gw_log_error("upload: %s", err.msg);
            ex->spool_failed = true;
        }
        upload_spool_abort(&ex->req.upload);
    }
    return 0;
}

static struct exchange *exchange_new(struct http_server *server, struct MHD_Connection *c,
                                     const char *url, const char *method)
{
    struct exchange *ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        return NULL;
    ex->server = server;
    ex->connection = c;
    ex->req.method = http_method_parse(method);
    ex->req.method_name = strdup(method);
    ex->req.path = strdup(url);
    ex->req.headers.authorization = copy_header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    ex->req.headers.content_type = copy_header(c, MHD_HTTP_HEADER_CONTENT_TYPE);
    ex->req.headers.content_length = copy_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    ex->req.headers.origin = copy_header(c, "Origin");
    ex->req.headers.acr_method = copy_header(c, "Access-Control-Request-Method");
    ex->req.headers.acr_headers = copy_header(c, "Access-Control-Request-Headers");
    ex->req.headers.range = copy_header(c, MHD_HTTP_HEADER_RANGE);
    const char *type = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "type");
    ex->req.query_type = type != NULL ? strdup(type) : NULL;
    if (ex->req.method_name == NULL || ex->req.path == NULL) {
        exchange_free(ex);
        return NULL;
    }
    char *query = strchr(ex->req.path, '?');
    if (query != NULL)
        *query = '\0';
    return ex;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_server *server = cls;
    struct exchange *ex = *con_cls;

    if (ex == NULL) {
        ex = exchange_new(server, connection, url, method);
        if (ex == NULL)
            return MHD_NO;
        *con_cls = ex;
        ex->route = http_route_match(ex->req.path);
        if (ex->route == NULL) {
            http_reply_not_found(&ex->reply, ex->req.path);
            ex->phase = PHASE_REPLY;
        } else if (http_route_precheck(server->gw, ex->route, &ex->req, &ex->reply)) {
            /* Answered before the body is read: an oversized body is
             * refused from its Content-Length, never buffered. */
            ex->phase = PHASE_REPLY;
        } else {
            ex->phase = PHASE_BODY;
        }
        if (ex->phase == PHASE_REPLY)
            return queue_reply(ex);
        return MHD_YES;
    }

    switch (ex->phase) {
    case PHASE_BODY:
        if (*upload_data_size != 0) {
            if (!http_route_wants_body(ex->route)) {
                *upload_data_size = 0;   /* bodies of GET etc. are ignored */
                return MHD_YES;
            }
            int rc = http_route_spools_body(ex->route)
                         ? spool_body(ex, upload_data, *upload_data_size)
                         : append_body(ex, upload_data, *upload_data_size,
                                       server->gw->limits.max_size_request);
            if (rc != 0)
                return MHD_NO;
            *upload_data_size = 0;
            return MHD_YES;
        }
        bool spools = http_route_spools_body(ex->route);
        if (spools && !ex->body_too_large && ex->req.upload == NULL)
            spool_body(ex, "", 0);      /* an empty upload is a blob too */
        if (ex->body_too_large) {
            /* libmicrohttpd cannot queue a reply while a body is still
             * arriving, so a chunked body over the limit is answered here,
             * at its end, having been discarded rather than buffered. */
            if (spools)
                http_reply_problem(&ex->reply, 413, "urn:ietf:params:jmap:error:limit",
                                   "The upload is larger than maxSizeUpload.", "maxSizeUpload");
            else
                http_reply_problem(&ex->reply, 413, "urn:ietf:params:jmap:error:limit",
                                   "The request is larger than maxSizeRequest.", "maxSizeRequest");
            ex->phase = PHASE_REPLY;
            return queue_reply(ex);
        }
        if (ex->too_many_uploads) {
            http_reply_problem(&ex->reply, 429, "urn:ietf:params:jmap:error:limit",
                               "More concurrent uploads than maxConcurrentUpload.",
                               "maxConcurrentUpload");
            ex->phase = PHASE_REPLY;
            return queue_reply(ex);
        }
        if (ex->spool_failed) {
            http_reply_problem(&ex->reply, 503, "about:blank",
                               "The upload could not be stored; try again later.", NULL);
            ex->phase = PHASE_REPLY;
            return queue_reply(ex);
        }
        return start_work(ex);
    case PHASE_REPLY:
        *upload_data_size = 0;
        return queue_reply(ex);
    case PHASE_HEADERS:
    case PHASE_WORKING:
        break;
    }
    /* Called while a worker owns the exchange: MHD broke its contract. */
    gw_log_error("HTTP exchange in unexpected phase %d", (int)ex->phase);
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct exchange *ex = *con_cls;
    if (ex == NULL)
        return;
    /* A suspended exchange belongs to its worker until resumed; MHD only
     * completes it after resume, so freeing here is safe. */
    exchange_free(ex);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
        return;
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\n')
        line[len - 1] = '\0';
    gw_log_debug("http: %s", line);
}

int http_server_start(struct http_gateway *gw, struct worker_pool *workers,
                      struct http_server **out, struct gw_error *err)
{
    struct http_server *server = calloc(1, sizeof(*server));
    if (server == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    server->gw = gw;
    server->workers = workers;

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", gw->cfg->listen_port);
    if (getaddrinfo(gw->cfg->listen_host, port, &hints, &ai) != 0 || ai == NULL) {
        free(server);
        return gw_error_set(err, GW_ERR_INVALID, "listen address %s is not a numeric IP address",
                            gw->cfg->listen_host);
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    server->daemon = MHD_start_daemon(
        flags, gw->cfg->listen_port, NULL, NULL, on_request, server,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, server,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (server->daemon == NULL) {
        free(server);
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "cannot listen on %s:%u",
                            gw->cfg->listen_host, gw->cfg->listen_port);
    }
    *out = server;
    return 0;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

void http_server_stop(struct http_server **sp, unsigned drain_ms)
{
    struct http_server *server = *sp;
    if (server == NULL)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(server->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    atomic_store(&server->stopping, true);

    /* Let workers finish, then give the event loop a moment to send the
     * replies they produced before connections are closed. */
    /* Every backend call is bounded by its timeouts, so this ends; a worker
     * must be able to resume its connection, so the daemon cannot go first. */
    unsigned waited = 0;
    while (atomic_load(&server->active_work) != 0) {
        if (waited == drain_ms)
            gw_log_warn("stopping: %u requests still waiting on backends",
                        atomic_load(&server->active_work));
        sleep_ms(10);
        waited += 10;
    }
    for (unsigned flush = 0; flush < 50; flush++) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info == NULL || info->num_connections == 0)
            break;
        sleep_ms(10);
    }
    MHD_stop_daemon(server->daemon);
    free(server);
    *sp = NULL;
}
