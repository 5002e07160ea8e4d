/* email_query.c - Email/query and Email/queryChanges (RFC 8621 §4.4,
 * §4.5). Conditions the cache can answer (mailboxes, dates, sizes,
 * keywords, attachments, subject) are evaluated in C over the cached
 * Emails; the text conditions that need the message (text, body, from, to,
 * cc, bcc, header) are pushed down to IMAP SEARCH (email_query_search.c)
 * and their answers joined in by Email id. */
#define _GNU_SOURCE 1 /* qsort_r, strcasestr, timegm */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "email_query.h"
#include "jmap_mail.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"
#include "jmap_text.h"

/* ---- Checking the filter ------------------------------------------- */

/* "2026-11-23T10:00:00Z" (fractions and offsets allowed) -> UTC seconds. */
bool email_query_parse_utc_date(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    int off_h = 0, off_m = 0;
    const char *end = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (end == NULL)
        return false;
    if (*end == '.')
        for (end++; *end >= '0' && *end <= '9'; end++)
            ;
    int sign = 0;
    if (*end == 'Z' || *end == 'z') {
        end++;
    } else if ((*end == '+' || *end == '-') && end[1] && end[2] && end[3] == ':') {
        sign = *end == '+' ? 1 : -1;
        off_h = (end[1] - '0') * 10 + (end[2] - '0');
        off_m = (end[4] - '0') * 10 + (end[5] - '0');
        end += 6;
    } else {
        return false;
    }
    if (*end != '\0')
        return false;
    *out = (int64_t)timegm(&tm) - sign * (off_h * 3600 + off_m * 60);
    return true;
}

static const char *const text_conditions[] = {
    "text", "from", "to", "cc", "bcc", "subject", "body", NULL,
};

static bool is_one_of(const char *key, const char *const *set)
{
    for (size_t i = 0; set[i] != NULL; i++)
        if (strcmp(key, set[i]) == 0)
            return true;
    return false;
}

json_t *email_query_check_condition(void *ctx, json_t *cond)
{
    (void)ctx;
    static const char *const keyword_conditions[] = {
        "allInThreadHaveKeyword", "someInThreadHaveKeyword", "noneInThreadHaveKeyword",
        "hasKeyword", "notKeyword", NULL,
    };
    const char *key;
    json_t *v;
    json_object_foreach(cond, key, v) {
        bool ok;
        int64_t t;
        if (strcmp(key, "inMailbox") == 0) {
            ok = json_is_string(v) && jmap_id_is_valid(json_string_value(v));
        } else if (strcmp(key, "inMailboxOtherThan") == 0) {
            ok = json_is_array(v);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
                ok = ok && json_is_string(x) && jmap_id_is_valid(json_string_value(x));
        } else if (strcmp(key, "before") == 0 || strcmp(key, "after") == 0) {
            ok = email_query_parse_utc_date(json_string_value(v), &t);
        } else if (strcmp(key, "minSize") == 0 || strcmp(key, "maxSize") == 0) {
            ok = json_is_integer(v) && json_integer_value(v) >= 0;
        } else if (is_one_of(key, keyword_conditions)) {
            ok = json_is_string(v) && jmap_keyword_is_valid(json_string_value(v));
        } else if (strcmp(key, "hasAttachment") == 0) {
            ok = json_is_boolean(v);
        } else if (is_one_of(key, text_conditions)) {
            ok = json_is_string(v);
        } else if (strcmp(key, "header") == 0) {
            ok = json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= 2 &&
                 json_is_string(json_array_get(v, 0)) &&
                 (json_array_size(v) == 1 || json_is_string(json_array_get(v, 1)));
        } else {
            return jmap_error_new("unsupportedFilter", key);
        }
        if (!ok)
            return jmap_error_invalid_arguments("filter", key);
    }
    return NULL;
}

/* ---- Evaluating ------------------------------------------------------ */

static bool has_keyword(const struct mail_store_email *e, const char *k)
{
    for (size_t i = 0; i < e->n_keywords; i++)
        if (strcasecmp(e->keywords[i], k) == 0)
            return true;
    return false;
}

static bool in_mailbox(const struct mail_store_email *e, const char *id)
{
    for (size_t i = 0; i < e->n_mailbox_ids; i++)
        if (strcmp(e->mailbox_ids[i], id) == 0)
            return true;
    return false;
}

bool email_query_thread_keyword(const struct email_query *q, const struct mail_store_email *e,
                                const char *k, bool all)
{
    /* The thread's Emails are adjacent in by_thread (sorted by thread id). */
    size_t lo = 0, hi = q->n_by_thread;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(q->by_thread[mid]->thread_id, e->thread_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool any = false, every = true;
    for (size_t i = lo; i < q->n_by_thread && strcmp(q->by_thread[i]->thread_id, e->thread_id) == 0;
         i++) {
        bool has = has_keyword(q->by_thread[i], k);
        any |= has;
        every &= has;
    }
    return all ? every : any;
}

static bool match_condition(void *ctx, json_t *cond, const void *item)
{
    const struct email_query *q = ctx;
    const struct mail_store_email *e = item;
    const char *key;
    json_t *v;
    json_object_foreach(cond, key, v) {
        const char *s = json_string_value(v);
        int64_t t = 0;
        bool ok = true;
        if (strcmp(key, "inMailbox") == 0) {
            ok = in_mailbox(e, s);
        } else if (strcmp(key, "inMailboxOtherThan") == 0) {
            ok = false;
            for (size_t i = 0; i < e->n_mailbox_ids && !ok; i++) {
                bool listed = false;
                size_t k;
                json_t *x;
                json_array_foreach(v, k, x)
                    listed |= strcmp(json_string_value(x), e->mailbox_ids[i]) == 0;
                ok = !listed;
            }
        } else if (strcmp(key, "before") == 0) {
            email_query_parse_utc_date(s, &t);
            ok = e->received_at < t;
        } else if (strcmp(key, "after") == 0) {
            email_query_parse_utc_date(s, &t);
            ok = e->received_at >= t;
        } else if (strcmp(key, "minSize") == 0) {
            ok = e->size >= (uint64_t)json_integer_value(v);
        } else if (strcmp(key, "maxSize") == 0) {
            ok = e->size < (uint64_t)json_integer_value(v);
        } else if (strcmp(key, "hasKeyword") == 0) {
            ok = has_keyword(e, s);
        } else if (strcmp(key, "notKeyword") == 0) {
            ok = !has_keyword(e, s);
        } else if (strcmp(key, "allInThreadHaveKeyword") == 0) {
            ok = email_query_thread_keyword(q, e, s, true);
        } else if (strcmp(key, "someInThreadHaveKeyword") == 0) {
            ok = email_query_thread_keyword(q, e, s, false);
        } else if (strcmp(key, "noneInThreadHaveKeyword") == 0) {
            ok = !email_query_thread_keyword(q, e, s, false);
        } else if (strcmp(key, "hasAttachment") == 0) {
            ok = e->has_attachment == json_is_true(v);
        } else if (strcmp(key, "subject") == 0) {
            ok = strcasestr(e->subject, s) != NULL;
        } else if (email_query_needs_search(key)) {
            ok = email_query_hit(q, v, e->id);
        }
        if (!ok)
            return false;
    }
    return true;
}

/* ---- Sorting --------------------------------------------------------- */

static int cmp_num(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int compare(const void *x, const void *y, void *ctx)
{
    const struct email_query *q = ctx;
    const struct mail_store_email *a = *(const struct mail_store_email *const *)x;
    const struct mail_store_email *b = *(const struct mail_store_email *const *)y;
    for (size_t i = 0; i < q->n_keys; i++) {
        const struct email_query_key *k = &q->keys[i];
        int c = 0;
        switch (k->type) {
        case EMAIL_SORT_RECEIVED: c = cmp_num(a->received_at, b->received_at); break;
        case EMAIL_SORT_SENT: c = cmp_num(a->sent_at, b->sent_at); break;
        case EMAIL_SORT_SIZE: c = cmp_num((int64_t)a->size, (int64_t)b->size); break;
        case EMAIL_SORT_FROM:
            c = jmap_collation_compare(k->collation, a->from_sort, b->from_sort);
            break;
        case EMAIL_SORT_TO:
            c = jmap_collation_compare(k->collation, a->to_sort, b->to_sort);
            break;
        case EMAIL_SORT_SUBJECT: {
            size_t la, lb;
            const char *sa = email_query_base_subject(a->subject, &la);
            const char *sb = email_query_base_subject(b->subject, &lb);
            c = jmap_collation_compare_n(k->collation, sa, la, sb, lb);
            break;
        }
        case EMAIL_SORT_HAS_KEYWORD:
            c = (int)has_keyword(a, k->keyword) - (int)has_keyword(b, k->keyword);
            break;
        case EMAIL_SORT_ALL_IN_THREAD:
        case EMAIL_SORT_SOME_IN_THREAD: {
            bool all = k->type == EMAIL_SORT_ALL_IN_THREAD;
            c = (int)email_query_thread_keyword(q, a, k->keyword, all) -
                (int)email_query_thread_keyword(q, b, k->keyword, all);
            break;
        }
        }
        if (c != 0)
            return k->ascending ? c : -c;
    }
    return strcmp(a->id, b->id);
}

json_t *email_query_parse_sort(json_t *sort, struct email_query *q)
{
    static const struct { const char *name; enum email_sort_type type; bool keyword; } props[] = {
        { "receivedAt", EMAIL_SORT_RECEIVED, false }, { "sentAt", EMAIL_SORT_SENT, false },
        { "size", EMAIL_SORT_SIZE, false }, { "from", EMAIL_SORT_FROM, false },
        { "to", EMAIL_SORT_TO, false }, { "subject", EMAIL_SORT_SUBJECT, false },
        { "hasKeyword", EMAIL_SORT_HAS_KEYWORD, true },
        { "allInThreadHaveKeyword", EMAIL_SORT_ALL_IN_THREAD, true },
        { "someInThreadHaveKeyword", EMAIL_SORT_SOME_IN_THREAD, true },
    };
    q->n_keys = 0;
    if (sort == NULL || json_array_size(sort) == 0) {
        /* No order asked: newest first, as mail apps show a mailbox. */
        q->keys[0] = (struct email_query_key){ .type = EMAIL_SORT_RECEIVED, .ascending = false };
        q->n_keys = 1;
        return NULL;
    }
    size_t i;
    json_t *c;
    json_array_foreach(sort, i, c) {
        const char *p = json_string_value(json_object_get(c, "property"));
        const char *collation = json_string_value(json_object_get(c, "collation"));
        size_t k = 0;
        while (k < sizeof(props) / sizeof(props[0]) && strcmp(props[k].name, p) != 0)
            k++;
        if (k == sizeof(props) / sizeof(props[0]))
            return jmap_error_new("unsupportedSort", p);
        enum jmap_collation collation_id;
        json_t *err = jmap_collation_parse(collation, &collation_id);
        if (err != NULL)
            return err;
        if (q->n_keys == EMAIL_QUERY_MAX_KEYS)
            return jmap_error_invalid_arguments("sort", "too many comparators");
        struct email_query_key *key = &q->keys[q->n_keys++];
        key->type = props[k].type;
        key->ascending = !json_is_false(json_object_get(c, "isAscending"));
        key->keyword = NULL;
        key->collation = collation_id;
        if (props[k].keyword) {
            key->keyword = json_string_value(json_object_get(c, "keyword"));
            if (key->keyword == NULL || !jmap_keyword_is_valid(key->keyword))
                return jmap_error_invalid_arguments("sort", "a keyword comparator needs keyword");
        }
    }
    return NULL;
}

static bool needs_threads(const struct email_query *q, json_t *filter)
{
    for (size_t i = 0; i < q->n_keys; i++)
        if (q->keys[i].type == EMAIL_SORT_ALL_IN_THREAD ||
            q->keys[i].type == EMAIL_SORT_SOME_IN_THREAD)
            return true;
    char *text = filter != NULL ? json_dumps(filter, JSON_COMPACT) : NULL;
    bool yes = text != NULL && strstr(text, "InThreadHaveKeyword\"") != NULL;
    free(text);
    return yes;
}

static int cmp_thread(const void *x, const void *y)
{
    const struct mail_store_email *a = *(const struct mail_store_email *const *)x;
    const struct mail_store_email *b = *(const struct mail_store_email *const *)y;
    return strcmp(a->thread_id, b->thread_id);
}

/* The single inMailbox the whole filter is limited to, or NULL. */
static const char *filter_scope(json_t *f)
{
    if (f == NULL)
        return NULL;
    const char *op = json_string_value(json_object_get(f, "operator"));
    if (op == NULL)
        return json_string_value(json_object_get(f, "inMailbox"));
    if (strcmp(op, "AND") != 0)
        return NULL;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(f, "conditions"), i, c) {
        const char *s = filter_scope(c);
        if (s != NULL)
            return s;
    }
    return NULL;
}

struct thread_pos {
    const char *thread_id;
    size_t pos;
};

static int cmp_thread_pos(const void *x, const void *y)
{
    const struct thread_pos *a = x, *b = y;
    int c = strcmp(a->thread_id, b->thread_id);
    return c != 0 ? c : a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* collapseThreads: only the first Email of each thread, in result order;
 * O(n log n), so a 30,000-message mailbox stays fast. */
static int collapse_threads(struct email_query *q)
{
    struct thread_pos *tp = calloc(q->n_result + 1, sizeof(*tp));
    bool *keep = calloc(q->n_result + 1, sizeof(*keep));
    if (tp == NULL || keep == NULL) {
        free(tp);
        free(keep);
        return -1;
    }
    for (size_t i = 0; i < q->n_result; i++)
        tp[i] = (struct thread_pos){ q->result[i]->thread_id, i };
    qsort(tp, q->n_result, sizeof(*tp), cmp_thread_pos);
    for (size_t i = 0; i < q->n_result; i++)
        if (i == 0 || strcmp(tp[i].thread_id, tp[i - 1].thread_id) != 0)
            keep[tp[i].pos] = true;
    size_t kept = 0;
    for (size_t i = 0; i < q->n_result; i++)
        if (keep[i])
            q->result[kept++] = q->result[i];
    q->n_result = kept;
    free(tp);
    free(keep);
    return 0;
}

void email_query_clear(struct email_query *q)
{
    for (size_t i = 0; i < q->n_hits; i++)
        free(q->hits[i].ids);
    free(q->by_thread);
    free(q->result);
    mail_store_email_list_free(&q->all);
    mail_store_email_list_free(&q->scoped);
    mail_store_mailbox_list_free(&q->mailboxes);
    if (q->backend != NULL)
        jmap_mail_backend_release(q->m, &q->backend);
}

json_t *email_query_evaluate(struct email_query *q, json_t *filter, bool collapse,
                             const struct mail_store_email_list *threads_from)
{
    if (needs_threads(q, filter) || collapse) {
        q->by_thread = calloc(threads_from->n + 1, sizeof(*q->by_thread));
        if (q->by_thread == NULL)
            return jmap_error_new("serverFail", "out of memory");
        for (size_t i = 0; i < threads_from->n; i++)
            q->by_thread[i] = &threads_from->v[i];
        q->n_by_thread = threads_from->n;
        qsort(q->by_thread, q->n_by_thread, sizeof(*q->by_thread), cmp_thread);
    }
    q->result = calloc(q->scoped->n + 1, sizeof(*q->result));
    if (q->result == NULL)
        return jmap_error_new("serverFail", "out of memory");
    for (size_t i = 0; i < q->scoped->n; i++)
        if (jmap_filter_matches(filter, match_condition, q, &q->scoped->v[i]))
            q->result[q->n_result++] = &q->scoped->v[i];
    qsort_r(q->result, q->n_result, sizeof(*q->result), compare, q);
    if (collapse && collapse_threads(q) < 0)
        return jmap_error_new("serverFail", "out of memory");
    return NULL;
}

json_t *email_query_run(struct email_query *q, json_t *filter, json_t *sort, bool collapse)
{
    struct gw_error err = { 0 };
    json_t *error = jmap_filter_check(filter, email_query_check_condition, NULL);
    if (error == NULL)
        error = email_query_parse_sort(sort, q);
    if (error != NULL)
        return error;
    q->scope = filter_scope(filter);
    if (mail_store_list_mailboxes(q->m->ms, q->m->account_id, &q->mailboxes, &err) < 0 ||
        mail_store_list_emails(q->m->ms, q->m->account_id, q->scope, 0, &q->scoped, &err) < 0)
        return jmap_error_from_gw(&err);
    const struct mail_store_email_list *threads_from = q->scoped;
    if (needs_threads(q, filter) && q->scope != NULL) {
        if (mail_store_list_emails(q->m->ms, q->m->account_id, NULL, 0, &q->all, &err) < 0)
            return jmap_error_from_gw(&err);
        threads_from = q->all;
    }
    if (email_query_tree_needs_search(filter, 0) &&
        (error = email_query_search(q, filter)) != NULL)
        return error;
    return email_query_evaluate(q, filter, collapse, threads_from);
}
