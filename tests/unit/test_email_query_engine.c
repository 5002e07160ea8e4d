/* test_email_query_engine.c - the Email/query engine without store or server:
 * every FilterCondition of RFC 8621 §4.4.1 (text conditions answered by a
 * given IMAP hit list), AND/OR/NOT nesting, every sort of §4.4.2 with
 * isAscending and ties by id, collapseThreads, argument errors, windows
 * over the result, and the Email/queryChanges diff replayed on the old
 * result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/mail/email_query.h"
#include "jmap_query.h"

/* The fixture: four threads, three mailboxes. */
struct fixture_email {
    const char *id, *thread, *mailboxes, *keywords;
    uint64_t size;
    int64_t received, sent;
    const char *subject, *from, *to;
    bool attachment;
};

static const struct fixture_email fixture[] = {
    { "e1", "t1", "mA", "$seen", 100, 1000, 900, "Hello", "alice", "bob", false },
    { "e2", "t1", "mB", "", 200, 2000, 800, "Re: Hello", "bob", "alice", true },
    { "e3", "t2", "mA", "$flagged $seen", 300, 3000, 700, "Budget", "carol", "dave", false },
    { "e4", "t2", "mA mB", "$flagged", 150, 4000, 600, "re: budget", "dave", "carol", true },
    { "e5", "t3", "mC", "$seen", 500, 5000, 500, "Zebra", "", "", false },
    { "e6", "t4", "mA", "", 50, 1000, 1000, "apple", "alice", "zed", false },
};
#define N_FIXTURE (sizeof(fixture) / sizeof(fixture[0]))

/* "a b c" -> a NULL-free array of n strdup'ed words. */
static char **split(const char *s, size_t *n)
{
    char **v = calloc(8, sizeof(*v));
    char buf[128];
    assert_non_null(v);
    assert_true(strlen(s) < sizeof(buf));
    strcpy(buf, s);
    *n = 0;
    for (char *save = NULL, *w = strtok_r(buf, " ", &save); w != NULL;
         w = strtok_r(NULL, " ", &save)) {
        assert_true(*n < 8);
        v[(*n)++] = strdup(w);
    }
    return v;
}

static void free_words(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static struct mail_store_email_list *make_list(void)
{
    struct mail_store_email_list *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    l->v = calloc(N_FIXTURE, sizeof(*l->v));
    assert_non_null(l->v);
    l->n = N_FIXTURE;
    for (size_t i = 0; i < N_FIXTURE; i++) {
        const struct fixture_email *f = &fixture[i];
        struct mail_store_email *e = &l->v[i];
        snprintf(e->id, sizeof(e->id), "%s", f->id);
        snprintf(e->thread_id, sizeof(e->thread_id), "%s", f->thread);
        e->mailbox_ids = split(f->mailboxes, &e->n_mailbox_ids);
        e->keywords = split(f->keywords, &e->n_keywords);
        e->size = f->size;
        e->received_at = f->received;
        e->sent_at = f->sent;
        e->subject = strdup(f->subject);
        e->from_sort = strdup(f->from);
        e->to_sort = strdup(f->to);
        e->cc_sort = strdup("");
        e->has_attachment = f->attachment;
    }
    return l;
}

static void free_list(struct mail_store_email_list **l)
{
    for (size_t i = 0; i < (*l)->n; i++) {
        struct mail_store_email *e = &(*l)->v[i];
        free_words(e->mailbox_ids, e->n_mailbox_ids);
        free_words(e->keywords, e->n_keywords);
        free(e->subject);
        free(e->from_sort);
        free(e->to_sort);
        free(e->cc_sort);
    }
    free((*l)->v);
    free(*l);
    *l = NULL;
}

/* The value of the first text condition (a key IMAP answers) in f. */
static json_t *first_text_condition(json_t *f)
{
    static const char *const keys[] = { "text", "from", "to", "cc", "bcc", "body", "header" };
    json_t *conditions = json_object_get(f, "conditions");
    if (conditions != NULL) {
        size_t i;
        json_t *c, *found;
        json_array_foreach(conditions, i, c)
            if ((found = first_text_condition(c)) != NULL)
                return found;
        return NULL;
    }
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
        if (json_object_get(f, keys[k]) != NULL)
            return json_object_get(f, keys[k]);
    return NULL;
}

struct query_case {
    const char *filter, *sort;
    bool collapse;
    const char *hits;       /* Email ids IMAP "found" for the text condition */
    const char *expect;     /* ids in order, or the error type */
};

/* Runs one case; returns the ids joined by spaces or the error type. */
static void run_case(const struct query_case *c, char *out, size_t out_len)
{
    struct mail_store_email_list *list = make_list();
    struct email_query q = { 0 };
    json_error_t jerr;
    json_t *filter = c->filter != NULL ? json_loads(c->filter, 0, &jerr) : NULL;
    json_t *sort = c->sort != NULL ? json_loads(c->sort, 0, &jerr) : NULL;
    assert_true(c->filter == NULL || filter != NULL);
    assert_true(c->sort == NULL || sort != NULL);
    q.scoped = list;
    json_t *error = jmap_filter_check(filter, email_query_check_condition, NULL);
    if (error == NULL)
        error = email_query_parse_sort(sort, &q);
    json_t *text = filter != NULL ? first_text_condition(filter) : NULL;
    size_t n_hits = 0;
    char **hits = split(c->hits != NULL ? c->hits : "", &n_hits);
    if (error == NULL && text != NULL) {
        struct email_query_hits *h = &q.hits[q.n_hits++];
        h->condition = text;
        h->ids = calloc(n_hits + 1, sizeof(*h->ids));
        assert_non_null(h->ids);
        for (size_t i = 0; i < n_hits; i++)
            snprintf(h->ids[h->n++], MAIL_STORE_ID_MAX, "%s", hits[i]);  /* sorted in the table */
    }
    if (error == NULL)
        error = email_query_evaluate(&q, filter, c->collapse, list);
    out[0] = '\0';
    if (error != NULL) {
        snprintf(out, out_len, "%s", json_string_value(json_object_get(error, "type")));
    } else {
        for (size_t i = 0; i < q.n_result; i++) {
            size_t used = strlen(out);
            int w = snprintf(out + used, out_len - used, "%s%s", i > 0 ? " " : "",
                             q.result[i]->id);
            assert_true(w > 0 && (size_t)w < out_len - used);
        }
    }
    json_decref(error);
    free_words(hits, n_hits);
    q.scoped = NULL;    /* ours, not the store's */
    email_query_clear(&q);
    free_list(&list);
    json_decref(filter);
    json_decref(sort);
}

#define BY_SIZE "[{\"property\": \"size\"}]"

static const struct query_case filter_cases[] = {
    { NULL, BY_SIZE, false, NULL, "e6 e1 e4 e2 e3 e5" },
    { "{}", BY_SIZE, false, NULL, "e6 e1 e4 e2 e3 e5" },
    { "{\"inMailbox\": \"mA\"}", BY_SIZE, false, NULL, "e6 e1 e4 e3" },
    { "{\"inMailboxOtherThan\": [\"mA\"]}", BY_SIZE, false, NULL, "e4 e2 e5" },
    { "{\"inMailboxOtherThan\": [\"mA\", \"mB\"]}", BY_SIZE, false, NULL, "e5" },
    { "{\"inMailboxOtherThan\": []}", BY_SIZE, false, NULL, "e6 e1 e4 e2 e3 e5" },
    { "{\"before\": \"1970-01-01T00:33:20Z\"}", BY_SIZE, false, NULL, "e6 e1" },
    { "{\"after\": \"1970-01-01T00:33:20Z\"}", BY_SIZE, false, NULL, "e4 e2 e3 e5" },
    { "{\"after\": \"1970-01-01T01:33:20+01:00\"}", BY_SIZE, false, NULL, "e4 e2 e3 e5" },
    { "{\"after\": \"1970-01-01T00:33:19.5Z\"}", BY_SIZE, false, NULL, "e4 e2 e3 e5" },
    { "{\"minSize\": 150}", BY_SIZE, false, NULL, "e4 e2 e3 e5" },
    { "{\"maxSize\": 150}", BY_SIZE, false, NULL, "e6 e1" },
    { "{\"minSize\": 100, \"maxSize\": 300}", BY_SIZE, false, NULL, "e1 e4 e2" },
    { "{\"hasKeyword\": \"$flagged\"}", BY_SIZE, false, NULL, "e4 e3" },
    { "{\"hasKeyword\": \"$FLAGGED\"}", BY_SIZE, false, NULL, "e4 e3" },
    { "{\"notKeyword\": \"$seen\"}", BY_SIZE, false, NULL, "e6 e4 e2" },
    { "{\"allInThreadHaveKeyword\": \"$flagged\"}", BY_SIZE, false, NULL, "e4 e3" },
    { "{\"allInThreadHaveKeyword\": \"$seen\"}", BY_SIZE, false, NULL, "e5" },
    { "{\"someInThreadHaveKeyword\": \"$seen\"}", BY_SIZE, false, NULL, "e1 e4 e2 e3 e5" },
    { "{\"noneInThreadHaveKeyword\": \"$seen\"}", BY_SIZE, false, NULL, "e6" },
    { "{\"hasAttachment\": true}", BY_SIZE, false, NULL, "e4 e2" },
    { "{\"hasAttachment\": false}", BY_SIZE, false, NULL, "e6 e1 e3 e5" },
    { "{\"subject\": \"BUDGET\"}", BY_SIZE, false, NULL, "e4 e3" },
    { "{\"subject\": \"nothing like it\"}", BY_SIZE, false, NULL, "" },
    { "{\"from\": \"alice\"}", BY_SIZE, false, "e1 e6", "e6 e1" },
    { "{\"to\": \"bob\"}", BY_SIZE, false, "e1", "e1" },
    { "{\"cc\": \"x\"}", BY_SIZE, false, "", "" },
    { "{\"bcc\": \"x\"}", BY_SIZE, false, "e2 e3", "e2 e3" },
    { "{\"body\": \"x\"}", BY_SIZE, false, "e5", "e5" },
    { "{\"text\": \"x\"}", BY_SIZE, false, "e1 e2 e3", "e1 e2 e3" },
    { "{\"header\": [\"X-Spam\"]}", BY_SIZE, false, "e5", "e5" },
    { "{\"header\": [\"X-Spam\", \"yes\"]}", BY_SIZE, false, "e4 e5", "e4 e5" },
    /* Several conditions in one object all hold. */
    { "{\"inMailbox\": \"mA\", \"hasKeyword\": \"$seen\"}", BY_SIZE, false, NULL, "e1 e3" },
    { "{\"inMailbox\": \"mA\", \"from\": \"alice\"}", BY_SIZE, false, "e1 e2", "e1" },
    /* Operators and nesting. */
    { "{\"operator\": \"AND\", \"conditions\": []}", BY_SIZE, false, NULL, "e6 e1 e4 e2 e3 e5" },
    { "{\"operator\": \"OR\", \"conditions\": []}", BY_SIZE, false, NULL, "" },
    { "{\"operator\": \"OR\", \"conditions\": [{\"hasKeyword\": \"$flagged\"},"
      " {\"maxSize\": 100}]}", BY_SIZE, false, NULL, "e6 e4 e3" },
    { "{\"operator\": \"AND\", \"conditions\": [{\"hasKeyword\": \"$flagged\"},"
      " {\"maxSize\": 200}]}", BY_SIZE, false, NULL, "e4" },
    { "{\"operator\": \"NOT\", \"conditions\": [{\"inMailbox\": \"mA\"}]}", BY_SIZE, false, NULL,
      "e2 e5" },
    { "{\"operator\": \"NOT\", \"conditions\": [{\"inMailbox\": \"mA\"},"
      " {\"hasKeyword\": \"$seen\"}]}", BY_SIZE, false, NULL, "e2" },
    { "{\"operator\": \"AND\", \"conditions\": [{\"operator\": \"OR\", \"conditions\":"
      " [{\"subject\": \"hello\"}, {\"subject\": \"zebra\"}]}, {\"operator\": \"NOT\","
      " \"conditions\": [{\"hasKeyword\": \"$seen\"}]}]}", BY_SIZE, false, NULL, "e2" },
    { "{\"operator\": \"AND\", \"conditions\": [{\"operator\": \"NOT\", \"conditions\":"
      " [{\"from\": \"alice\"}]}, {\"inMailbox\": \"mA\"}]}", BY_SIZE, false, "e1 e6", "e4 e3" },
    { "{\"operator\": \"OR\", \"conditions\": [{\"operator\": \"AND\", \"conditions\":"
      " [{\"text\": \"x\"}, {\"minSize\": 300}]}, {\"subject\": \"apple\"}]}", BY_SIZE, false,
      "e1 e3 e5", "e6 e3 e5" },
};

static const struct query_case sort_cases[] = {
    { NULL, NULL, false, NULL, "e5 e4 e3 e2 e1 e6" },
    { NULL, "[]", false, NULL, "e5 e4 e3 e2 e1 e6" },
    { NULL, "[{\"property\": \"receivedAt\"}]", false, NULL, "e1 e6 e2 e3 e4 e5" },
    { NULL, "[{\"property\": \"receivedAt\", \"isAscending\": true}]", false, NULL,
      "e1 e6 e2 e3 e4 e5" },
    { NULL, "[{\"property\": \"receivedAt\", \"isAscending\": false}]", false, NULL,
      "e5 e4 e3 e2 e1 e6" },
    { NULL, "[{\"property\": \"sentAt\"}]", false, NULL, "e5 e4 e3 e2 e1 e6" },
    { NULL, "[{\"property\": \"sentAt\", \"isAscending\": false}]", false, NULL,
      "e6 e1 e2 e3 e4 e5" },
    { NULL, "[{\"property\": \"size\", \"isAscending\": false}]", false, NULL,
      "e5 e3 e2 e4 e1 e6" },
    { NULL, "[{\"property\": \"from\"}]", false, NULL, "e5 e1 e6 e2 e3 e4" },
    { NULL, "[{\"property\": \"to\"}]", false, NULL, "e5 e2 e1 e4 e3 e6" },
    { NULL, "[{\"property\": \"to\", \"isAscending\": false}]", false, NULL,
      "e6 e3 e4 e1 e2 e5" },
    { NULL, "[{\"property\": \"subject\"}]", false, NULL, "e6 e3 e4 e1 e2 e5" },
    { NULL, "[{\"property\": \"subject\", \"collation\": \"i;ascii-casemap\"}]", false, NULL,
      "e6 e3 e4 e1 e2 e5" },
    { NULL, "[{\"property\": \"subject\", \"collation\": \"i;unicode-casemap\"}]", false, NULL,
      "e6 e3 e4 e1 e2 e5" },
    { NULL, "[{\"property\": \"hasKeyword\", \"keyword\": \"$seen\", \"isAscending\": false}]",
      false, NULL, "e1 e3 e5 e2 e4 e6" },
    { NULL, "[{\"property\": \"hasKeyword\", \"keyword\": \"$seen\"}]", false, NULL,
      "e2 e4 e6 e1 e3 e5" },
    { NULL, "[{\"property\": \"allInThreadHaveKeyword\", \"keyword\": \"$flagged\","
      " \"isAscending\": false}]", false, NULL, "e3 e4 e1 e2 e5 e6" },
    { NULL, "[{\"property\": \"someInThreadHaveKeyword\", \"keyword\": \"$seen\"}]", false, NULL,
      "e6 e1 e2 e3 e4 e5" },
    { NULL, "[{\"property\": \"hasKeyword\", \"keyword\": \"$seen\", \"isAscending\": false},"
      " {\"property\": \"size\"}]", false, NULL, "e1 e3 e5 e6 e4 e2" },
    /* collapseThreads keeps the first Email of each thread in result order. */
    { NULL, "[{\"property\": \"receivedAt\"}]", true, NULL, "e1 e6 e3 e5" },
    { NULL, BY_SIZE, true, NULL, "e6 e1 e4 e5" },
    { NULL, "[{\"property\": \"receivedAt\", \"isAscending\": false}]", true, NULL,
      "e5 e4 e2 e6" },
    { "{\"inMailbox\": \"mA\"}", "[{\"property\": \"receivedAt\"}]", true, NULL, "e1 e6 e3" },
};

static const struct query_case error_cases[] = {
    { "{\"foo\": 1}", NULL, false, NULL, "unsupportedFilter" },
    { "{\"operator\": \"AND\", \"conditions\": [{\"inThread\": \"t1\"}]}", NULL, false, NULL,
      "unsupportedFilter" },
    { "{\"inMailbox\": 3}", NULL, false, NULL, "invalidArguments" },
    { "{\"inMailbox\": \"a b\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"inMailboxOtherThan\": \"mA\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"inMailboxOtherThan\": [1]}", NULL, false, NULL, "invalidArguments" },
    { "{\"before\": \"yesterday\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"after\": \"2026-11-23T10:00:00\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"after\": 5}", NULL, false, NULL, "invalidArguments" },
    { "{\"minSize\": -1}", NULL, false, NULL, "invalidArguments" },
    { "{\"maxSize\": \"10\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"hasKeyword\": \"a b\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"notKeyword\": 1}", NULL, false, NULL, "invalidArguments" },
    { "{\"allInThreadHaveKeyword\": \"(\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"hasAttachment\": \"yes\"}", NULL, false, NULL, "invalidArguments" },
    { "{\"text\": 1}", NULL, false, NULL, "invalidArguments" },
    { "{\"subject\": null}", NULL, false, NULL, "invalidArguments" },
    { "{\"header\": []}", NULL, false, NULL, "invalidArguments" },
    { "{\"header\": [\"a\", \"b\", \"c\"]}", NULL, false, NULL, "invalidArguments" },
    { "{\"header\": [\"a\", 1]}", NULL, false, NULL, "invalidArguments" },
    { "{\"operator\": \"XOR\", \"conditions\": []}", NULL, false, NULL, "invalidArguments" },
    { "{\"operator\": \"AND\"}", NULL, false, NULL, "invalidArguments" },
    { NULL, "[{\"property\": \"id\"}]", false, NULL, "unsupportedSort" },
    { NULL, "[{\"property\": \"subject\", \"collation\": \"i;klingon\"}]", false, NULL,
      "unsupportedSort" },
    { NULL, "[{\"property\": \"hasKeyword\"}]", false, NULL, "invalidArguments" },
    { NULL, "[{\"property\": \"someInThreadHaveKeyword\", \"keyword\": \"a b\"}]", false, NULL,
      "invalidArguments" },
};

static void run_table(const struct query_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char got[256];
        run_case(&cases[i], got, sizeof(got));
        if (strcmp(got, cases[i].expect) != 0)
            fail_msg("case %zu filter %s sort %s collapse %d: got \"%s\", want \"%s\"", i,
                     cases[i].filter ? cases[i].filter : "null",
                     cases[i].sort ? cases[i].sort : "null", cases[i].collapse, got,
                     cases[i].expect);
    }
}

static void test_filters(void **state)
{
    (void)state;
    run_table(filter_cases, sizeof(filter_cases) / sizeof(filter_cases[0]));
}

static void test_sorts(void **state)
{
    (void)state;
    run_table(sort_cases, sizeof(sort_cases) / sizeof(sort_cases[0]));
}

static void test_errors(void **state)
{
    (void)state;
    run_table(error_cases, sizeof(error_cases) / sizeof(error_cases[0]));
}

static void test_dates(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_true(email_query_parse_utc_date("2026-11-23T10:00:00Z", &t));
    assert_int_equal(t, 1795428000);
    assert_true(email_query_parse_utc_date("2026-11-23T12:30:00+02:30", &t));
    assert_int_equal(t, 1795428000);
    assert_true(email_query_parse_utc_date("2026-11-23T07:00:00-03:00", &t));
    assert_int_equal(t, 1795428000);
    assert_false(email_query_parse_utc_date("2026-11-23", &t));
    assert_false(email_query_parse_utc_date("2026-11-23T10:00:00Zjunk", &t));
    assert_false(email_query_parse_utc_date(NULL, &t));
}

static void test_base_subject(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "Hello", "Hello" },
        { "Re: Hello", "Hello" },
        { "RE: re: Fwd:  Hello  ", "Hello" },
        { "Re[2]: Hello", "Hello" },
        { "Fw: [list] Re: Hello (fwd)", "Hello" },
        { "[list] Hello", "Hello" },
        { "[list]", "[list]" },
        { "[Fwd: Re: Hello]", "Hello" },
        { "Reply: Hello", "Reply: Hello" },
        { "Re Hello", "Re Hello" },
        { "Re: [unclosed", "[unclosed" },
        { "", "" },
        { "  (fwd)", "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = 0;
        const char *b = email_query_base_subject(cases[i][0], &len);
        if (len != strlen(cases[i][1]) || strncmp(b, cases[i][1], len) != 0)
            fail_msg("base subject of \"%s\": \"%.*s\", want \"%s\"", cases[i][0], (int)len, b,
                     cases[i][1]);
    }
}

/* i;ascii-numeric (advertised in collationAlgorithms) and the casemap. */
static void test_collate(void **state)
{
    (void)state;
    enum { NUM = JMAP_COLLATION_ASCII_NUMERIC, CASE = JMAP_COLLATION_ASCII_CASEMAP };
    static const struct { const char *a, *b; int collation; int want; } cases[] = {
        { "10 apples", "9 pears", NUM, 1 },
        { "9", "10", NUM, -1 },
        { "007", "7 days", NUM, 0 },
        { "0", "00", NUM, 0 },
        { "123456789012345678901234567890", "99", NUM, 1 },
        { "42", "answer", NUM, -1 },
        { "answer", "question", NUM, 0 },
        { "", "1", NUM, 1 },
        { "10 apples", "9 pears", CASE, -1 },
        { "Apple", "apple", CASE, 0 },
        { "apple", "applesauce", CASE, -1 },
        { "Zebra", "apple", CASE, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum jmap_collation coll = (enum jmap_collation)cases[i].collation;
        /* The length-bounded form must not read past the given lengths. */
        int c = jmap_collation_compare_n(coll, cases[i].a, strlen(cases[i].a), cases[i].b,
                                         strlen(cases[i].b));
        int r = jmap_collation_compare(coll, cases[i].b, cases[i].a);
        c = (c > 0) - (c < 0);
        r = (r > 0) - (r < 0);
        if (c != cases[i].want || r != -cases[i].want)
            fail_msg("collate(\"%s\", \"%s\", %d) = %d/%d, want %d", cases[i].a,
                     cases[i].b, cases[i].collation, c, r, cases[i].want);
    }
    /* A base subject is a slice of its header: only la bytes count. */
    assert_int_equal(jmap_collation_compare_n(JMAP_COLLATION_UNICODE_CASEMAP, "ÄbcX", 4,
                                              "äbcY", 4), 0);
    /* The sort accepts exactly the advertised collations. */
    static const struct { const char *sort; const char *error; int collation; } sorts[] = {
        { "[{\"property\": \"subject\", \"collation\": \"i;ascii-numeric\"}]", NULL, NUM },
        { "[{\"property\": \"from\", \"collation\": \"i;ascii-casemap\"}]", NULL, CASE },
        { "[{\"property\": \"from\"}]", NULL, JMAP_COLLATION_UNICODE_CASEMAP },
        { "[{\"property\": \"to\", \"collation\": \"i;octet\"}]", "unsupportedSort", 0 },
    };
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        struct email_query q;
        memset(&q, 0, sizeof(q));
        json_t *sort = json_loads(sorts[i].sort, 0, NULL);
        assert_non_null(sort);
        json_t *err = email_query_parse_sort(sort, &q);
        if (sorts[i].error == NULL) {
            assert_null(err);
            assert_int_equal(q.n_keys, 1);
            assert_int_equal(q.keys[0].collation, sorts[i].collation);
        } else {
            assert_non_null(err);
            assert_string_equal(json_string_value(json_object_get(err, "type")), sorts[i].error);
            json_decref(err);
        }
        json_decref(sort);
    }
}

struct window_case {
    int64_t position;
    const char *anchor;
    int64_t anchor_offset;
    int64_t limit;          /* < 0: none */
    const char *expect;     /* the window, or the error type */
};

static const struct window_case window_cases[] = {
    { 0, NULL, 0, -1, "e6 e1 e4 e2 e3 e5" },
    { 2, NULL, 0, 2, "e4 e2" },
    { -2, NULL, 0, -1, "e3 e5" },
    { -10, NULL, 0, 1, "e6" },
    { 10, NULL, 0, -1, "" },
    { 0, "e2", 0, 2, "e2 e3" },
    { 0, "e2", -1, 2, "e4 e2" },
    { 5, "e1", -5, 1, "e6" },
    { 0, "e5", 3, -1, "" },
    { 0, "zz", 0, -1, "anchorNotFound" },
};

static void test_windows(void **state)
{
    (void)state;
    static const char *const ids[] = { "e6", "e1", "e4", "e2", "e3", "e5" };
    for (size_t i = 0; i < sizeof(window_cases) / sizeof(window_cases[0]); i++) {
        const struct window_case *c = &window_cases[i];
        struct jmap_query_args qa = {
            .position = c->position, .anchor = c->anchor, .anchor_offset = c->anchor_offset,
            .has_limit = c->limit >= 0, .limit = c->limit >= 0 ? (uint64_t)c->limit : 0,
        };
        size_t start = 0, count = 0;
        char got[128] = "";
        json_t *error = jmap_query_window(&qa, ids, 6, &start, &count);
        if (error != NULL)
            snprintf(got, sizeof(got), "%s", json_string_value(json_object_get(error, "type")));
        for (size_t k = 0; error == NULL && k < count; k++) {
            assert_true(start + k < 6);
            size_t used = strlen(got);
            snprintf(got + used, sizeof(got) - used, "%s%s", k > 0 ? " " : "", ids[start + k]);
        }
        json_decref(error);
        if (strcmp(got, c->expect) != 0)
            fail_msg("window case %zu: got \"%s\", want \"%s\"", i, got, c->expect);
    }
}

/* ---- Email/queryChanges diff --------------------------------------- */

static size_t to_ids(const char *s, char (*ids)[MAIL_STORE_ID_MAX], size_t max)
{
    size_t n = 0;
    char **w = split(s, &n);
    assert_true(n <= max);
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i], MAIL_STORE_ID_MAX, "%s", w[i]);
    free_words(w, n);
    return n;
}

/* Applies removed then added to old (as a client does) and checks that
 * the outcome is now; returns the number of changes. */
static size_t replay(char (*old)[MAIL_STORE_ID_MAX], size_t n_old,
                     char (*now)[MAIL_STORE_ID_MAX], size_t n_now)
{
    json_t *removed = NULL, *added = NULL;
    json_t *error = email_query_diff((const char (*)[MAIL_STORE_ID_MAX])old, n_old,
                                     (const char (*)[MAIL_STORE_ID_MAX])now, n_now, 0, &removed,
                                     &added);
    assert_null(error);
    char (*work)[MAIL_STORE_ID_MAX] = calloc(n_old + n_now + 1, sizeof(*work));
    assert_non_null(work);
    size_t n = 0;
    for (size_t i = 0; i < n_old; i++) {
        bool gone = false;
        size_t k;
        json_t *r;
        json_array_foreach(removed, k, r)
            gone |= strcmp(json_string_value(r), old[i]) == 0;
        if (!gone)
            memcpy(work[n++], old[i], MAIL_STORE_ID_MAX);
    }
    size_t k;
    json_t *a;
    json_int_t last = -1;
    json_array_foreach(added, k, a) {
        json_int_t at = json_integer_value(json_object_get(a, "index"));
        assert_true(at > last && (size_t)at <= n);
        last = at;
        memmove(work[at + 1], work[at], (n - (size_t)at) * sizeof(*work));
        snprintf(work[at], MAIL_STORE_ID_MAX, "%s", json_string_value(json_object_get(a, "id")));
        n++;
    }
    assert_int_equal(n, n_now);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(work[i], now[i]);
    size_t changes = json_array_size(removed) + json_array_size(added);
    free(work);
    json_decref(removed);
    json_decref(added);
    return changes;
}

struct diff_case {
    const char *old, *now;
    size_t changes;         /* the fewest */
};

static const struct diff_case diff_cases[] = {
    { "", "", 0 },
    { "a b c", "a b c", 0 },
    { "a b c d", "a c d", 1 },
    { "a c d", "a b c d", 1 },
    { "a b c", "c a b", 2 },
    { "a b c d e", "a d b c e", 2 },
    { "a b c", "d e f", 6 },
    { "a b c", "", 3 },
    { "", "x y", 2 },
    { "a b c d", "d c b a", 6 },
};

static void test_diff(void **state)
{
    (void)state;
    char old[64][MAIL_STORE_ID_MAX], now[64][MAIL_STORE_ID_MAX];
    for (size_t i = 0; i < sizeof(diff_cases) / sizeof(diff_cases[0]); i++) {
        size_t n_old = to_ids(diff_cases[i].old, old, 64);
        size_t n_now = to_ids(diff_cases[i].now, now, 64);
        size_t changes = replay(old, n_old, now, n_now);
        if (changes != diff_cases[i].changes)
            fail_msg("diff case %zu: %zu changes, want %zu", i, changes, diff_cases[i].changes);
    }
    /* Random subsets and reorderings of 40 ids (fixed seed). */
    unsigned seed = 1234;
    for (int round = 0; round < 200; round++) {
        size_t n_old = 0, n_now = 0;
        for (int i = 0; i < 40; i++) {
            if (rand_r(&seed) % 3 != 0)
                snprintf(old[n_old++], MAIL_STORE_ID_MAX, "m%d", i);
            if (rand_r(&seed) % 3 != 0)
                snprintf(now[n_now++], MAIL_STORE_ID_MAX, "m%d", i);
        }
        for (int swaps = rand_r(&seed) % 4; swaps > 0 && n_now > 1; swaps--) {
            size_t x = (size_t)rand_r(&seed) % n_now, y = (size_t)rand_r(&seed) % n_now;
            char tmp[MAIL_STORE_ID_MAX];
            memcpy(tmp, now[x], sizeof(tmp));
            memcpy(now[x], now[y], sizeof(tmp));
            memcpy(now[y], tmp, sizeof(tmp));
        }
        replay(old, n_old, now, n_now);
    }
    /* maxChanges. */
    size_t n_old = to_ids("a b", old, 64), n_now = to_ids("c d", now, 64);
    json_t *removed = NULL, *added = NULL;
    json_t *error = email_query_diff((const char (*)[MAIL_STORE_ID_MAX])old, n_old,
                                     (const char (*)[MAIL_STORE_ID_MAX])now, n_now, 3, &removed,
                                     &added);
    assert_non_null(error);
    assert_string_equal(json_string_value(json_object_get(error, "type")), "tooManyChanges");
    assert_null(removed);
    assert_null(added);
    json_decref(error);
    error = email_query_diff((const char (*)[MAIL_STORE_ID_MAX])old, n_old,
                             (const char (*)[MAIL_STORE_ID_MAX])now, n_now, 4, &removed, &added);
    assert_null(error);
    assert_int_equal(json_array_size(removed) + json_array_size(added), 4);
    json_decref(removed);
    json_decref(added);
}

/* A query without limit over 30,000 Emails: one pass, one sort. */
static void test_large(void **state)
{
    (void)state;
    enum { N = 30000 };
    struct mail_store_email_list list = { calloc(N, sizeof(struct mail_store_email)), N };
    assert_non_null(list.v);
    char *empty = (char *)"";
    for (size_t i = 0; i < N; i++) {
        struct mail_store_email *e = &list.v[i];
        snprintf(e->id, sizeof(e->id), "M%06zu", i);
        snprintf(e->thread_id, sizeof(e->thread_id), "T%05zu", i / 3);
        e->received_at = (int64_t)((i * 7919) % N);
        e->size = i;
        e->subject = e->from_sort = e->to_sort = e->cc_sort = empty;
    }
    struct email_query q = { .scoped = &list };
    json_t *sort = json_loads("[{\"property\": \"receivedAt\", \"isAscending\": false}]", 0, NULL);
    assert_null(email_query_parse_sort(sort, &q));
    assert_null(email_query_evaluate(&q, NULL, true, &list));
    assert_int_equal(q.n_result, N / 3);
    for (size_t i = 1; i < q.n_result; i++)
        assert_true(q.result[i - 1]->received_at >= q.result[i]->received_at);
    q.scoped = NULL;
    email_query_clear(&q);
    json_decref(sort);
    free(list.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters), cmocka_unit_test(test_sorts),
        cmocka_unit_test(test_errors),  cmocka_unit_test(test_dates),
        cmocka_unit_test(test_windows), cmocka_unit_test(test_diff),
        cmocka_unit_test(test_large),   cmocka_unit_test(test_base_subject),
        cmocka_unit_test(test_collate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
