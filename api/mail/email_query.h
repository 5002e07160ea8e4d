/* email_query.h - api/mail internal: the Email/query engine shared by
 * Email/query, Email/queryChanges and SearchSnippet/get. */
#ifndef API_MAIL_EMAIL_QUERY_H
#define API_MAIL_EMAIL_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "email_query_cache.h"
#include "jmap_collation.h"
#include "jmap_mail.h"

#define EMAIL_QUERY_MAX_KEYS 8
#define EMAIL_QUERY_MAX_SEARCHES 16

enum email_sort_type {
    EMAIL_SORT_RECEIVED, EMAIL_SORT_SENT, EMAIL_SORT_SIZE, EMAIL_SORT_FROM, EMAIL_SORT_TO,
    EMAIL_SORT_SUBJECT, EMAIL_SORT_HAS_KEYWORD, EMAIL_SORT_ALL_IN_THREAD,
    EMAIL_SORT_SOME_IN_THREAD,
};

struct email_query_key {
    enum email_sort_type type;
    bool ascending;
    const char *keyword;        /* borrowed from the request */
    enum jmap_collation collation; /* of the string sorts */
};

/* The Email ids IMAP SEARCH found for one text condition, sorted. */
struct email_query_hits {
    json_t *condition;          /* borrowed: the condition's value */
    char (*ids)[MAIL_STORE_ID_MAX];
    size_t n;
};

struct email_query {
    struct jmap_mail *m;                    /* borrowed */
    const char *scope;                      /* inMailbox the filter is limited to, or NULL */
    struct mail_store_mailbox_list *mailboxes;
    struct mail_store_email_list *scoped;   /* the Emails in scope */
    struct mail_store_email_list *all;      /* the account, when thread conditions need it */
    const struct mail_store_email **by_thread;  /* sorted by thread id */
    size_t n_by_thread;
    struct email_query_key keys[EMAIL_QUERY_MAX_KEYS];
    size_t n_keys;
    struct email_query_hits hits[EMAIL_QUERY_MAX_SEARCHES];
    size_t n_hits;
    struct mail_backend *backend;
    const struct mail_store_email **result; /* the answer, in order */
    size_t n_result;
};

/* Checks filter and sort, reads the cache, runs the text conditions on
 * IMAP and fills q->result. q must be zeroed with q->m set; clear it with
 * email_query_clear() whatever this returns. NULL or a method error. */
json_t *email_query_run(struct email_query *q, json_t *filter, json_t *sort, bool collapse);
void email_query_clear(struct email_query *q);

/* The C half of email_query_run, without store or server: with q->keys
 * parsed, q->scoped the candidates and q->hits the text conditions'
 * answers, filters, sorts (ties by id) and collapses into q->result.
 * threads_from (borrowed) holds every Email of the candidates' threads,
 * for the thread-keyword conditions and sorts. NULL or a method error. */
json_t *email_query_evaluate(struct email_query *q, json_t *filter, bool collapse,
                             const struct mail_store_email_list *threads_from);

/* Email/queryChanges between two complete results (email_query_diff.c):
 * *removed (Id[]) and *added (AddedItem[] by index), new references, such
 * that replaying them on old gives now. More than max_changes (0: no
 * limit) changes is tooManyChanges. NULL or a method error. */
json_t *email_query_diff(const char (*old)[MAIL_STORE_ID_MAX], size_t n_old,
                         const char (*now)[MAIL_STORE_ID_MAX], size_t n_now,
                         uint64_t max_changes, json_t **removed, json_t **added);

/* The IMAP side (email_query_search.c). Whether condition key needs the
 * server (the subject is answered from the cache); whether any condition
 * of filter f does. */
bool email_query_needs_search(const char *key);
bool email_query_tree_needs_search(json_t *f, int depth);

/* Runs every text condition of filter on the server over the mailboxes in
 * scope (q->mailboxes read, q->scope set), filling q->hits, on a
 * connection taken from the account's pool for the call. NULL or a method
 * error. */
json_t *email_query_search(struct email_query *q, json_t *filter);
/* The same on the connection q->backend the caller holds (and releases). */
json_t *email_query_search_on(struct email_query *q, json_t *filter);

/* Whether the Email email_id matched the text condition (its value,
 * borrowed from the filter) in q->hits. */
bool email_query_hit(const struct email_query *q, json_t *condition, const char *email_id);

/* The jmap_filter_check_fn of Email FilterConditions (§4.4.1). */
json_t *email_query_check_condition(void *ctx, json_t *condition);

/* Pure helpers, exposed for unit tests (the subject ones in
 * email_query_subject.c). */
bool email_query_parse_utc_date(const char *s, int64_t *out);
/* The RFC 5256 §2.1 base subject of s (a slice of it: *len bytes from the
 * pointer returned) that the subject sort compares. */
const char *email_query_base_subject(const char *s, size_t *len);
json_t *email_query_parse_sort(json_t *sort, struct email_query *q);
bool email_query_thread_keyword(const struct email_query *q, const struct mail_store_email *e,
                                const char *keyword, bool all);

/* SearchSnippet/get (search_snippet.c): the terms to highlight from the
 * text, subject and body conditions of a checked filter (borrowed), not
 * under NOT, split into tokens and quoted phrases as §4.4.1 reads them.
 * Appends new strings (free() each) to terms[n..SEARCH_SNIPPET_MAX_TERMS)
 * and returns the new count; depth is 0 for the top. */
#define SEARCH_SNIPPET_MAX_TERMS 32
size_t search_snippet_terms(json_t *filter, char **terms, size_t n, int depth);

#endif
