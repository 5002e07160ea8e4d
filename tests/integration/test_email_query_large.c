/* test_email_query_large.c - Email/query without a limit on a large
 * mailbox (issue: "a query with no limit on a 30,000-message mailbox
 * returns every id, quickly"): n_msgs messages MULTIAPPENDed to a private
 * Dovecot with distinct arrival times in an order unlike the uid order;
 * the query returns every id exactly once, in receivedAt order both ways,
 * with total; a body search pushed to IMAP SEARCH finds exactly its share.
 *
 * n_msgs keeps the test to seconds under ASan on a loaded machine; the
 * 30,000 case is argued from instruction counts (see the closing report
 * of the search branch): the query path is O(n log n). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo_dovecot.h"

/* JMAPGW_LARGE_MESSAGES overrides the size (for profiling runs). */
#define DEFAULT_MSGS 6000
#define APPEND_BATCH 500
#define STEP 7919u          /* prime, coprime to n_msgs: a permutation */
#define ASCENDING "\"sort\": [{\"property\": \"receivedAt\", \"isAscending\": true}]"
#define TAGGED_EVERY 7      /* message i carries the body word "needle7" when i % 7 == 0 */

static struct harness_mail_env fx;
static char *big_id;
static size_t n_msgs = DEFAULT_MSGS;

/* Message i arrived (i * STEP) % n_msgs minutes after 2021-01-01. */
static size_t minute_of(size_t i)
{
    return (i * STEP) % n_msgs;
}

static char *message(size_t i, void *ctx, const char **flags, time_t *date)
{
    (void)ctx;
    char *m = NULL;
    H_ASSERT(asprintf(&m,
                      "From: Bulk <bulk@example.com>\r\nTo: demo@example.com\r\n"
                      "Subject: Big %zu\r\nMessage-ID: <big%zu@example.com>\r\n"
                      "Date: Fri, 1 Jan 2021 00:00:00 +0000\r\n\r\nBody %zu%s.\r\n",
                      i, i, i, i % TAGGED_EVERY == 0 ? " needle7" : "") > 0);
    *flags = i % 2 == 0 ? "\\Seen" : "";
    *date = (time_t)1609459200 + (time_t)minute_of(i) * 60;
    return m;
}

static int group_setup(void **state)
{
    (void)state;
    const char *size = getenv("JMAPGW_LARGE_MESSAGES");
    if (size != NULL && strtoul(size, NULL, 10) > 0)
        n_msgs = strtoul(size, NULL, 10);
    H_ASSERT(n_msgs % STEP != 0);     /* STEP is prime: coprime unless a multiple */
    harness_http_set_timeout(120);
    if (harness_mail_env_start(&fx) != 0)
        return -1;
    struct harness_imap *c = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), "demo", "demo");
    H_ASSERT(c != NULL);
    H_ASSERT(harness_imap_cmd(c, "CREATE Big") == 0);
    harness_imap_fill(c, "Big", n_msgs, APPEND_BATCH, message, NULL);
    harness_imap_logout(&c);

    json_t *r = harness_mail_call(&fx, "Mailbox/query", "\"filter\": {\"name\": \"Big\"}");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(r, "ids")), 1);
    big_id = strdup(json_string_value(json_array_get(json_object_get(r, "ids"), 0)));
    json_decref(r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(big_id);
    return harness_mail_env_stop(&fx);
}

/* The message number of every id (Email/get of subjects, chunked under
 * maxObjectsInGet), in the order of ids. */
static size_t *numbers_of(json_t *ids)
{
    size_t n = json_array_size(ids);
    size_t *out = calloc(n + 1, sizeof(*out));
    H_ASSERT(out != NULL);
    for (size_t at = 0; at < n; at += 400) {
        json_t *chunk = json_array();
        for (size_t i = at; i < at + 400 && i < n; i++)
            json_array_append(chunk, json_array_get(ids, i));
        char *list = json_dumps(chunk, JSON_COMPACT);
        json_t *g = harness_mail_call(&fx, "Email/get",
                                      "\"ids\": %s, \"properties\": [\"subject\"]", list);
        json_t *got = json_object_get(g, "list");
        H_ASSERT_INT_EQ((long long)json_array_size(got), (long long)json_array_size(chunk));
        for (size_t i = 0; i < json_array_size(got); i++) {
            json_t *e = json_array_get(got, i);
            /* Email/get answers in the order of ids asked. */
            H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "id")),
                            json_string_value(json_array_get(chunk, i)));
            unsigned long k = 0;
            H_ASSERT(sscanf(json_string_value(json_object_get(e, "subject")), "Big %lu", &k) == 1);
            out[at + i] = k;
        }
        json_decref(g);
        free(list);
        json_decref(chunk);
    }
    return out;
}

static void test_every_id_in_order(void **state)
{
    (void)state;
    int64_t t0 = harness_now_ms();
    json_t *up = harness_mail_call(&fx, "Email/query",
                                   "\"filter\": {\"inMailbox\": \"%s\"},"
                                   " " ASCENDING ","
                                   " \"calculateTotal\": true",
                                   big_id);
    fprintf(stderr, "first Email/query of %zu messages (cold cache): %lld ms\n", n_msgs,
            (long long)(harness_now_ms() - t0));
    json_t *ids = json_object_get(up, "ids");
    H_ASSERT_INT_EQ((long long)json_integer_value(json_object_get(up, "total")),
                    (long long)n_msgs);
    H_ASSERT_INT_EQ((long long)json_array_size(ids), (long long)n_msgs);
    H_ASSERT_INT_EQ((long long)json_integer_value(json_object_get(up, "position")), 0);

    /* Position p holds the message that arrived at minute p: every message
     * exactly once (minute_of is a permutation), in receivedAt order. */
    size_t *num = numbers_of(ids);
    for (size_t p = 0; p < n_msgs; p++)
        H_ASSERT_MSG(num[p] < n_msgs && minute_of(num[p]) == p,
                     "position %zu holds message %zu (minute %zu)", p, num[p],
                     minute_of(num[p]));
    free(num);

    /* The default order (newest first) is the exact reverse; warm now. */
    t0 = harness_now_ms();
    json_t *down = harness_mail_call(&fx, "Email/query",
                                     "\"filter\": {\"inMailbox\": \"%s\"},"
                                     " \"calculateTotal\": true",
                                     big_id);
    fprintf(stderr, "warm Email/query of %zu messages: %lld ms\n", n_msgs,
            (long long)(harness_now_ms() - t0));
    json_t *rev = json_object_get(down, "ids");
    H_ASSERT_INT_EQ((long long)json_array_size(rev), (long long)n_msgs);
    for (size_t p = 0; p < n_msgs; p++)
        H_ASSERT_STR_EQ(json_string_value(json_array_get(rev, p)),
                        json_string_value(json_array_get(ids, n_msgs - 1 - p)));
    json_decref(down);
    json_decref(up);
}

/* A body condition goes to IMAP SEARCH: exactly every seventh message. */
static void test_body_search_share(void **state)
{
    (void)state;
    json_t *r = harness_mail_call(&fx, "Email/query",
                                  "\"filter\": {\"inMailbox\": \"%s\", \"body\": \"needle7\"},"
                                  " " ASCENDING ","
                                  " \"calculateTotal\": true",
                                  big_id);
    size_t want = (n_msgs + TAGGED_EVERY - 1) / TAGGED_EVERY;
    json_t *ids = json_object_get(r, "ids");
    H_ASSERT_INT_EQ((long long)json_integer_value(json_object_get(r, "total")), (long long)want);
    H_ASSERT_INT_EQ((long long)json_array_size(ids), (long long)want);
    size_t *num = numbers_of(ids);
    for (size_t p = 0; p < want; p++) {
        H_ASSERT_MSG(num[p] % TAGGED_EVERY == 0, "message %zu has no needle", num[p]);
        if (p > 0)
            H_ASSERT(minute_of(num[p - 1]) < minute_of(num[p]));
    }
    free(num);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_id_in_order),
        cmocka_unit_test(test_body_search_share),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
