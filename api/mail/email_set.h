/* email_set.h - api/mail-internal: what email_set.c (the method, update
 * validation, destroy) shares with email_set_write.c (the IMAP side of an
 * update: flags and mailbox moves on every copy of the message). */
#ifndef API_MAIL_EMAIL_SET_H
#define API_MAIL_EMAIL_SET_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "jmap_mail.h"

/* The state of one Email/set call. */
struct email_set_ctx {
    struct jmap_mail *m;
    struct mail_backend *b;                     /* taken at the first update/destroy */
    struct mail_store_mailbox_list *mailboxes;  /* the cache's, at the start */
};

/* A sorted, duplicate-free list of strings (keywords or mailbox ids). */
struct email_set_names {
    char **v;
    size_t n;
};

void email_set_names_clear(struct email_set_names *s);

/* The connection for this call (taken once). 0, or -1 with *set_error. */
int email_set_backend(struct email_set_ctx *c, json_t **set_error);

/* Adds the keywords in add and removes those in remove (JMAP keywords,
 * lower case) on every location of email_id, with UID STORE. Nothing is
 * stored anywhere when the first location refuses a flag (PERMANENTFLAGS:
 * forbidden naming it). 0, or -1 with *set_error. */
int email_set_store_keywords(struct email_set_ctx *c, const char *email_id,
                             const struct email_set_names *add,
                             const struct email_set_names *remove, json_t **set_error);

/* Makes the Email's mailboxes exactly `want` (mailbox ids, existing):
 * every added mailbox gets the message by MOVE from a mailbox being left
 * (or COPY when none is), then the remaining mailboxes being left lose it
 * by UID EXPUNGE of its uid only. The message is never without a mailbox:
 * removals come last, and a move that stops half way leaves it in both
 * mailboxes and says so in *set_error. 0, or -1 with *set_error. */
int email_set_move(struct email_set_ctx *c, const char *email_id,
                   const struct email_set_names *want, json_t **set_error);

struct backend_copy_result;

/* The SetError telling the truth about a copy or move that failed (r may
 * be NULL): the gateway error's own when nothing happened, else a
 * description of where the message now is (both mailboxes after a half
 * move, unknown after a lost connection). New reference. */
json_t *email_set_copy_failure(const struct backend_copy_result *r, const struct gw_error *err,
                               bool move);

/* Expunges the Email from every mailbox it is in. 0, or -1 with
 * *set_error (notFound when it has no location). */
int email_set_expunge_all(struct email_set_ctx *c, const char *email_id, json_t **set_error);

#endif
