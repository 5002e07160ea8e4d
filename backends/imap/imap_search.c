/* imap_search.c - backend_uid_search(), backend_multi_search() and
 * backend_uid_sort() for IMAP: the neutral condition tree written as an
 * IMAP search program (user text always as a string or literal, never
 * spliced raw), answered by ESEARCH (RFC 4731) when offered, else by
 * SEARCH; ESEARCH IN (...) across mailboxes (RFC 7377 MULTISEARCH); UID
 * SORT (RFC 5256). */
#include "imap_read.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SEARCH_MAX_DEPTH 32
#define SEARCH_MAX_RESULTS (16u << 20)

static const char *const text_keys[] = {
    [BACKEND_SEARCH_TEXT] = "TEXT",   [BACKEND_SEARCH_BODY] = "BODY",
    [BACKEND_SEARCH_SUBJECT] = "SUBJECT", [BACKEND_SEARCH_FROM] = "FROM",
    [BACKEND_SEARCH_TO] = "TO",       [BACKEND_SEARCH_CC] = "CC",
    [BACKEND_SEARCH_BCC] = "BCC",
};

static const struct {
    const char *flag, *set, *unset;
} system_flags[] = {
    { "\\Seen", "SEEN", "UNSEEN" },         { "\\Answered", "ANSWERED", "UNANSWERED" },
    { "\\Flagged", "FLAGGED", "UNFLAGGED" }, { "\\Deleted", "DELETED", "UNDELETED" },
    { "\\Draft", "DRAFT", "UNDRAFT" },
};

static bool is_keyword_atom(const char *s)
{
    if (s == NULL || s[0] == '\0')
        return false;
    for (; *s != '\0'; s++) {
        /* atom-char minus resp-specials, and no '\' (not a system flag) */
        if (*s <= ' ' || *s > '~' || strchr("(){%*\"\\]", *s) != NULL)
            return false;
    }
    return true;
}

static bool has_8bit(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if ((unsigned char)*s >= 0x80)
            return true;
    }
    return false;
}

static bool tree_8bit(const struct backend_search *s, int depth)
{
    if (depth > SEARCH_MAX_DEPTH)
        return false;
    if (has_8bit(s->text) || has_8bit(s->header_name))
        return true;
    for (size_t i = 0; i < s->n_children; i++) {
        if (tree_8bit(&s->children[i], depth + 1))
            return true;
    }
    return false;
}

static int add_keyword(struct imap_cmd *c, const struct backend_search *s, struct gw_error *err)
{
    bool set = s->op == BACKEND_SEARCH_KEYWORD;
    for (size_t i = 0; s->text != NULL && i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
        if (strcasecmp(s->text, system_flags[i].flag) == 0) {
            imap_cmd_add(c, set ? system_flags[i].set : system_flags[i].unset);
            return 0;
        }
    }
    if (!is_keyword_atom(s->text))
        return gw_error_set(err, GW_ERR_INVALID, "search: bad keyword");
    imap_cmd_add(c, set ? "KEYWORD " : "UNKEYWORD ");
    imap_cmd_add(c, s->text);
    return 0;
}

static int add_date(struct imap_cmd *c, const struct backend_search *s)
{
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    if (gmtime_r(&s->date, &tm) == NULL)
        return -1;
    imap_cmd_addf(c, "%s %d-%s-%d", s->op == BACKEND_SEARCH_BEFORE ? "BEFORE" : "SINCE",
                  tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900);
    return 0;
}

static int add_criteria(struct imap_cmd *c, const struct backend_search *s, int depth,
                        struct gw_error *err)
{
    if (depth > SEARCH_MAX_DEPTH)
        return gw_error_set(err, GW_ERR_INVALID, "search: conditions nested too deeply");
    switch (s->op) {
    case BACKEND_SEARCH_ALL:
        imap_cmd_add(c, "ALL");
        return 0;
    case BACKEND_SEARCH_AND:
        if (s->n_children == 0) {
            imap_cmd_add(c, "ALL");
            return 0;
        }
        imap_cmd_add(c, "(");
        for (size_t i = 0; i < s->n_children; i++) {
            if (i != 0)
                imap_cmd_add(c, " ");
            if (add_criteria(c, &s->children[i], depth + 1, err) < 0)
                return -1;
        }
        imap_cmd_add(c, ")");
        return 0;
    case BACKEND_SEARCH_OR:
        if (s->n_children == 0)
            return gw_error_set(err, GW_ERR_INVALID, "search: empty OR");
        /* OR is binary and prefix: a OR (b OR c) as "OR a OR b c". */
        for (size_t i = 0; i + 1 < s->n_children; i++) {
            imap_cmd_add(c, "OR ");
            if (add_criteria(c, &s->children[i], depth + 1, err) < 0)
                return -1;
            imap_cmd_add(c, " ");
        }
        return add_criteria(c, &s->children[s->n_children - 1], depth + 1, err);
    case BACKEND_SEARCH_NOT:
        if (s->n_children != 1)
            return gw_error_set(err, GW_ERR_INVALID, "search: NOT needs one condition");
        imap_cmd_add(c, "NOT ");
        return add_criteria(c, &s->children[0], depth + 1, err);
    case BACKEND_SEARCH_TEXT: case BACKEND_SEARCH_BODY: case BACKEND_SEARCH_SUBJECT:
    case BACKEND_SEARCH_FROM: case BACKEND_SEARCH_TO: case BACKEND_SEARCH_CC:
    case BACKEND_SEARCH_BCC:
        if (s->text == NULL)
            return gw_error_set(err, GW_ERR_INVALID, "search: text missing");
        imap_cmd_add(c, text_keys[s->op]);
        imap_cmd_add(c, " ");
        imap_cmd_add_string(c, s->text, strlen(s->text));
        return 0;
    case BACKEND_SEARCH_HEADER:
        if (!is_keyword_atom(s->header_name) || strchr(s->header_name, ':') != NULL)
            return gw_error_set(err, GW_ERR_INVALID, "search: bad header name");
        imap_cmd_add(c, "HEADER ");
        imap_cmd_add(c, s->header_name);
        imap_cmd_add(c, " ");
        imap_cmd_add_string(c, s->text != NULL ? s->text : "", s->text != NULL ? strlen(s->text) : 0);
        return 0;
    case BACKEND_SEARCH_KEYWORD:
    case BACKEND_SEARCH_UNKEYWORD:
        return add_keyword(c, s, err);
    case BACKEND_SEARCH_BEFORE:
    case BACKEND_SEARCH_SINCE:
        if (add_date(c, s) < 0)
            return gw_error_set(err, GW_ERR_INVALID, "search: bad date");
        return 0;
    case BACKEND_SEARCH_LARGER:
    case BACKEND_SEARCH_SMALLER:
        if (s->number >= UINT32_MAX)
            return gw_error_set(err, GW_ERR_INVALID, "search: size out of range");
        imap_cmd_addf(c, "%s %llu", s->op == BACKEND_SEARCH_LARGER ? "LARGER" : "SMALLER",
                      (unsigned long long)s->number);
        return 0;
    case BACKEND_SEARCH_UID:
        if (s->n_uids == 0 || s->uids == NULL)
            return gw_error_set(err, GW_ERR_INVALID, "search: empty uid set");
        imap_cmd_add(c, "UID ");
        return imap_uidset_format(c, s->uids, s->n_uids) < 0
                   ? gw_error_set(err, GW_ERR_NOMEM, "out of memory") : 0;
    }
    return gw_error_set(err, GW_ERR_INVALID, "search: unknown condition");
}

struct result {
    uint32_t *v;
    size_t n, cap;
};

static int result_add(struct result *r, uint32_t uid)
{
    if (r->n == r->cap) {
        size_t cap = r->cap != 0 ? r->cap * 2 : 64;
        if (cap > SEARCH_MAX_RESULTS)
            return -1;
        uint32_t *nv = realloc(r->v, cap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        r->v = nv;
        r->cap = cap;
    }
    r->v[r->n++] = uid;
    return 0;
}

/* Adds the uids of the ALL item among v[from..n) of an ESEARCH answer. */
static int add_esearch_all(struct result *r, const struct imap_value *v, size_t from, size_t n,
                           struct gw_error *err)
{
    for (size_t i = from; i + 1 < n; i++) {
        if (!imap_value_is(&v[i], "ALL"))
            continue;
        const struct imap_value *set = &v[i + 1];
        uint32_t *uids = NULL;
        size_t n_uids = 0;
        if (set->type != IMAP_V_ATOM ||
            imap_uidset_parse(set->s, set->len, SEARCH_MAX_RESULTS, &uids, &n_uids) < 0)
            return gw_error_set(err, GW_ERR_PROTOCOL, "ESEARCH: malformed ALL");
        for (size_t k = 0; k < n_uids; k++) {
            if (result_add(r, uids[k]) < 0) {
                free(uids);
                return gw_error_set(err, GW_ERR_LIMIT, "SEARCH: too many results");
            }
        }
        free(uids);
        i++;
    }
    return 0;
}

/* "* SEARCH 1 2 3", "* SORT 3 1 2", "* ESEARCH (TAG "x") UID ALL 1:3,7" */
static int on_result(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct result *r = ctx;
    if (imap_value_is(&u->v[0], "SEARCH") || imap_value_is(&u->v[0], "SORT")) {
        for (size_t i = 1; i < u->n; i++) {
            uint32_t uid;
            if (!imap_value_u32(&u->v[i], &uid) || uid == 0)
                return gw_error_set(err, GW_ERR_PROTOCOL, "SEARCH: malformed result");
            if (result_add(r, uid) < 0)
                return gw_error_set(err, GW_ERR_LIMIT, "SEARCH: too many results");
        }
        return 0;
    }
    if (!imap_value_is(&u->v[0], "ESEARCH"))
        return 0;
    return add_esearch_all(r, u->v, 1, u->n, err);
}

/* Runs c and hands the collected uids to the caller. */
static int run_collect(struct imap_backend *ib, struct imap_cmd *c, const char *what,
                       uint32_t **uids, size_t *n, struct gw_error *err)
{
    struct result r = { 0 };
    int ret = imap_wire_run(ib, c, what, 0, on_result, &r, err);
    imap_cmd_free(c);
    if (ret < 0) {
        free(r.v);
        return -1;
    }
    *uids = r.v;
    *n = r.n;
    return 0;
}

int imap_uid_search(struct mail_backend *b, const struct backend_search *criteria,
                    uint32_t **uids, size_t *n, struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "UID SEARCH ");
    if (backend_has_capability(b, "ESEARCH"))
        imap_cmd_add(&c, "RETURN (ALL) ");
    if (tree_8bit(criteria, 0))
        imap_cmd_add(&c, "CHARSET UTF-8 ");
    if (add_criteria(&c, criteria, 0, err) < 0) {
        imap_cmd_free(&c);
        return -1;
    }
    if (run_collect(ib, &c, "SEARCH", uids, n, err) < 0)
        return -1;
    if (*n > 1)     /* SEARCH lists in any order; ESEARCH sets are sorted */
        qsort(*uids, *n, sizeof(**uids), imap_cmp_u32);
    return 0;
}

struct multi {
    const char *tag;
    backend_multi_search_fn fn;
    void *ctx;
};

/* "* ESEARCH (TAG "J4" MAILBOX "INBOX" UIDVALIDITY 7) UID ALL 1:3,7": one
 * per mailbox. An answer with another TAG (or no MAILBOX) is not ours. */
static int on_multi(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct multi *m = ctx;
    if (!imap_value_is(&u->v[0], "ESEARCH") || u->n < 2 || u->v[1].type != IMAP_V_LIST)
        return 0;
    const struct imap_value *corr = u->v[1].items;
    size_t n_corr = u->v[1].n;
    const char *tag = NULL, *mailbox = NULL;
    uint32_t uidvalidity = 0;
    for (size_t i = 0; i + 1 < n_corr; i += 2) {
        const struct imap_value *val = &corr[i + 1];
        bool text = val->type == IMAP_V_STRING || val->type == IMAP_V_ATOM;
        if (imap_value_is(&corr[i], "TAG") && text)
            tag = val->s;
        else if (imap_value_is(&corr[i], "MAILBOX") && text)
            mailbox = val->s;
        else if (imap_value_is(&corr[i], "UIDVALIDITY") && !imap_value_u32(val, &uidvalidity))
            return gw_error_set(err, GW_ERR_PROTOCOL, "ESEARCH: malformed UIDVALIDITY");
    }
    if (mailbox == NULL || (tag != NULL && strcmp(tag, m->tag) != 0))
        return 0;
    struct result r = { 0 };
    int ret = add_esearch_all(&r, u->v, 2, u->n, err);
    if (ret == 0 && r.n > 1)
        qsort(r.v, r.n, sizeof(*r.v), imap_cmp_u32);
    if (ret == 0)
        ret = m->fn(m->ctx, mailbox, uidvalidity, r.v, r.n, err);
    free(r.v);
    return ret;
}

int imap_multi_search(struct mail_backend *b, const char *const *names_raw, size_t n_names,
                      const struct backend_search *criteria, backend_multi_search_fn fn, void *ctx,
                      struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    /* Results of MULTISEARCH are always UIDs (RFC 7377 §2). */
    imap_cmd_add(&c, "ESEARCH IN (");
    if (n_names == 0) {
        imap_cmd_add(&c, "personal");
    } else {
        imap_cmd_add(&c, "mailboxes (");
        for (size_t i = 0; i < n_names; i++) {
            if (i != 0)
                imap_cmd_add(&c, " ");
            imap_cmd_add_mailbox(&c, names_raw[i]);
        }
        imap_cmd_add(&c, ")");
    }
    imap_cmd_add(&c, ") RETURN (ALL) ");
    if (tree_8bit(criteria, 0))
        imap_cmd_add(&c, "CHARSET UTF-8 ");
    int ret = add_criteria(&c, criteria, 0, err);
    if (ret == 0) {
        struct multi m = { .tag = c.tag, .fn = fn, .ctx = ctx };
        ret = imap_wire_run(ib, &c, "ESEARCH", 0, on_multi, &m, err);
    }
    imap_cmd_free(&c);
    return ret;
}

int imap_uid_sort(struct mail_backend *b, const struct backend_sort_key *keys, size_t n_keys,
                  const struct backend_search *criteria, uint32_t **uids, size_t *n,
                  struct gw_error *err)
{
    static const char *const names[] = {
        [BACKEND_SORT_ARRIVAL] = "ARRIVAL", [BACKEND_SORT_DATE] = "DATE",
        [BACKEND_SORT_SIZE] = "SIZE",       [BACKEND_SORT_SUBJECT] = "SUBJECT",
        [BACKEND_SORT_FROM] = "FROM",       [BACKEND_SORT_TO] = "TO",
        [BACKEND_SORT_CC] = "CC",
    };
    struct imap_backend *ib = imap_backend_from(b);
    struct backend_search all = { .op = BACKEND_SEARCH_ALL };
    struct imap_cmd c;

    if (!backend_has_capability(b, "SORT"))
        return gw_error_set(err, GW_ERR_INVALID, "sort: server has no SORT");
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "UID SORT (");
    for (size_t i = 0; i < n_keys; i++) {
        if ((unsigned)keys[i].key >= sizeof(names) / sizeof(names[0])) {
            imap_cmd_free(&c);
            return gw_error_set(err, GW_ERR_INVALID, "sort: unknown key");
        }
        imap_cmd_addf(&c, "%s%s%s", i != 0 ? " " : "", keys[i].reverse ? "REVERSE " : "",
                      names[keys[i].key]);
    }
    imap_cmd_add(&c, ") UTF-8 ");
    if (add_criteria(&c, criteria != NULL ? criteria : &all, 0, err) < 0) {
        imap_cmd_free(&c);
        return -1;
    }
    return run_collect(ib, &c, "SORT", uids, n, err);
}
