/* imap_floor.c - the direct-IMAP floor of the gateway's views.
 *
 * Usage: imap_floor PORT USER PASSWORD ACCOUNT_LABEL [RUNS [SCENARIO]]
 * Runs the IMAP commands a view needs through the project's backend layer
 * (the same code the gateway uses), against 127.0.0.1:PORT without TLS,
 * and prints one JSON line per scenario:
 *   {"scenario":"imap_floor_inbox_open","account":"6k","median_ms":..,"p95_ms":..,"runs":30}
 * "open" runs on one connection that stays selected; "cold" pays connect,
 * login and select every time. Anything the gateway must do beyond this
 * is its overhead. With SCENARIO, only that one runs (bench/run pairs a
 * cold sample with each of its gateway cold starts).
 */
#include "backend.h"
#include "backend_mail.h"
#include "gw_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOOR_PAGE 50
#define FLOOR_MAX_RUNS 1000
#define FLOOR_BODY_MAX (64u * 1024 * 1024)

struct floor_ctx {
    struct backend_endpoint ep;
    struct backend_credentials cred;
    struct mail_backend *conn;      /* the open, selected connection */
    uint32_t page[FLOOR_PAGE];      /* the inbox page's uids, newest first */
    size_t n_page;
    size_t opened;                  /* open_message runs so far: each reads the
                                     * next message of the page, as a reader
                                     * going down the list would */
};

typedef int (*floor_fn)(struct floor_ctx *c, struct gw_error *err);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int count_summary(void *ctx, struct backend_message_summary **m, struct gw_error *err)
{
    size_t *n = ctx;
    (*n)++;
    return 0;
}

static int select_inbox(struct mail_backend *b, struct gw_error *err)
{
    struct backend_select_req req = { .name_raw = "INBOX", .read_only = true };
    struct backend_selected *sel = NULL;
    int rc = backend_select(b, &req, &sel, err);
    backend_selected_free(&sel);
    return rc;
}

/* The inbox view: every uid newest first, then the list properties of the
 * first page; its uids into c->page when c is not NULL. */
static int inbox_view(struct mail_backend *b, struct floor_ctx *c, struct gw_error *err)
{
    struct backend_sort_key key = { .key = BACKEND_SORT_ARRIVAL, .reverse = true };
    uint32_t *uids = NULL;
    size_t n = 0, got = 0;
    int rc = -1;
    if (backend_uid_sort(b, &key, 1, NULL, &uids, &n, err) != 0)
        goto out;
    struct backend_fetch_req req = {
        .uids = uids,
        .n_uids = n < FLOOR_PAGE ? n : FLOOR_PAGE,
        .items = BACKEND_FETCH_FLAGS | BACKEND_FETCH_INTERNALDATE | BACKEND_FETCH_SIZE |
                 BACKEND_FETCH_ENVELOPE | BACKEND_FETCH_BODYSTRUCTURE,
    };
    if (req.n_uids == 0) {
        gw_error_set(err, GW_ERR_NOTFOUND, "INBOX is empty: load the corpus first");
        goto out;
    }
    if (backend_fetch_summaries(b, &req, count_summary, &got, err) != 0)
        goto out;
    if (got != req.n_uids) {
        gw_error_set(err, GW_ERR_PROTOCOL, "fetched %zu of %zu messages", got, req.n_uids);
        goto out;
    }
    if (c != NULL) {
        c->n_page = req.n_uids;
        memcpy(c->page, uids, c->n_page * sizeof(*uids));
    }
    rc = 0;
out:
    free(uids);
    return rc;
}

static int run_inbox_open(struct floor_ctx *c, struct gw_error *err)
{
    return inbox_view(c->conn, NULL, err);
}

static int run_inbox_cold(struct floor_ctx *c, struct gw_error *err)
{
    struct mail_backend *b = NULL;
    int rc = -1;
    if (backend_imap_open(&c->ep, &c->cred, &b, err) != 0)
        goto out;
    if (select_inbox(b, err) != 0 || inbox_view(b, NULL, err) != 0)
        goto out;
    rc = 0;
out:
    backend_close(&b);
    return rc;
}

static int run_open_message(struct floor_ctx *c, struct gw_error *err)
{
    struct backend_part_data *p = NULL;
    uint32_t uid = c->page[c->opened++ % c->n_page];
    int rc = backend_fetch_part(c->conn, uid, NULL, 0, FLOOR_BODY_MAX, false, &p, err);
    /* An empty answer would make the floor meaninglessly fast. */
    if (rc == 0 && p->len == 0)
        rc = gw_error_set(err, GW_ERR_PROTOCOL, "message %u came back empty", uid);
    backend_part_data_free(&p);
    return rc;
}

static int run_search(struct floor_ctx *c, struct gw_error *err)
{
    struct backend_search crit = { .op = BACKEND_SEARCH_TEXT, .text = "money" };
    uint32_t *uids = NULL;
    size_t n = 0;
    int rc = backend_uid_search(c->conn, &crit, &uids, &n, err);
    free(uids);
    return rc;
}

/* Runs fn `runs` times after one untimed warm-up and prints its JSON line. */
static int measure(struct floor_ctx *c, const char *scenario, const char *account, floor_fn fn,
                   int runs, struct gw_error *err)
{
    double *t = calloc((size_t)runs, sizeof(*t));
    int rc = -1;
    if (t == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (fn(c, err) != 0)
        goto out;
    for (int i = 0; i < runs; i++) {
        double start = now_ms();
        if (fn(c, err) != 0)
            goto out;
        t[i] = now_ms() - start;
    }
    qsort(t, (size_t)runs, sizeof(*t), cmp_double);
    size_t p95 = ((size_t)runs * 95 + 99) / 100;
    double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
    printf("{\"scenario\":\"%s\",\"account\":\"%s\",\"median_ms\":%.3f,\"p95_ms\":%.3f,"
           "\"runs\":%d}\n", scenario, account, median, t[p95 - 1], runs);
    fflush(stdout);
    rc = 0;
out:
    free(t);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: %s PORT USER PASSWORD ACCOUNT_LABEL [RUNS [SCENARIO]]\n",
                argv[0]);
        return 2;
    }
    long port = strtol(argv[1], NULL, 10);
    long runs = argc >= 6 ? strtol(argv[5], NULL, 10) : 30;
    const char *only = argc == 7 ? argv[6] : NULL;
    if (port <= 0 || port > 65535 || runs <= 0 || runs > FLOOR_MAX_RUNS) {
        fprintf(stderr, "imap_floor: bad PORT or RUNS\n");
        return 2;
    }
    gw_log_set_level(GW_LOG_WARN);
    struct floor_ctx c = {
        .ep = { .host = "127.0.0.1", .port = (uint16_t)port, .tls = GW_TLS_NONE,
                .connect_timeout_ms = 5000, .command_timeout_ms = 30000 },
        .cred = { .username = argv[2], .password = argv[3] },
    };
    static const struct {
        const char *name;
        floor_fn fn;
    } scenarios[] = {
        {"imap_floor_inbox_open", run_inbox_open},
        {"imap_floor_inbox_cold", run_inbox_cold},
        {"imap_floor_open_message", run_open_message},
        {"imap_floor_search_text", run_search},
    };
    size_t n_scenarios = sizeof(scenarios) / sizeof(scenarios[0]), matched = 0;
    for (size_t i = 0; i < n_scenarios; i++)
        matched += only == NULL || strcmp(only, scenarios[i].name) == 0;
    if (matched == 0) {
        fprintf(stderr, "imap_floor: no scenario %s\n", only);
        return 2;
    }
    struct gw_error err = {0};
    int rc = 1;
    if (backend_imap_open(&c.ep, &c.cred, &c.conn, &err) != 0 || select_inbox(c.conn, &err) != 0)
        goto out;
    if (inbox_view(c.conn, &c, &err) != 0)
        goto out;
    for (size_t i = 0; i < n_scenarios; i++)
        if ((only == NULL || strcmp(only, scenarios[i].name) == 0) &&
            measure(&c, scenarios[i].name, argv[4], scenarios[i].fn, (int)runs, &err) != 0)
            goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "imap_floor: %s\n", err.msg);
    backend_close(&c.conn);
    return rc;
}
