/* jmap_mail.h - what the api/mail/ method modules share: the account's
 * mail cache (include/mail_store.h), synced with the backend once per API
 * request, and backend connections for what the cache does not hold
 * (message bytes, text searches).
 *
 * api/ sees the backend only through the neutral include/backend_mail.h.
 */
#ifndef JMAP_MAIL_H
#define JMAP_MAIL_H

#include <jansson.h>
#include <stdint.h>

#include "backend_mail.h"
#include "jmap_method.h"
#include "mail_store.h"

/* The mail side of one method call. All borrowed from the request. */
struct jmap_mail {
    struct jmap_invocation *inv;
    struct account *account;
    struct mail_store *ms;
    const char *account_id;
};

/* Readies the cache for a mail method: the first mail call of a request
 * syncs the account (mail_store_sync, shared with concurrent requests
 * through account_sync()) unless its change watcher vouches that nothing
 * changed since the last sync (account_sync_if_stale()); later calls of the same request see the same
 * data, so result references between them agree. Returns NULL with *out filled, or a method error (new
 * reference): serverUnavailable when the backend cannot be reached,
 * serverFail otherwise. */
json_t *jmap_mail_begin(struct jmap_invocation *inv, struct jmap_mail *out);

/* The mail side of an account outside a method call (the download
 * route): *out filled with inv NULL. Returns 0, or -1 with err when the
 * gateway has no mail store. */
int jmap_mail_open(struct account *account, struct jmap_mail *out, struct gw_error *err);

/* Syncs the cache now (shared with concurrent callers, account_sync()). */
int jmap_mail_sync_now(struct jmap_mail *m, struct gw_error *err);

/* Takes a backend connection from the account's pool (exclusive until
 * released). Returns NULL or a method error (new reference). */
json_t *jmap_mail_backend_acquire(struct jmap_mail *m, struct mail_backend **out);

/* Gives it back; sets *b NULL. */
void jmap_mail_backend_release(struct jmap_mail *m, struct mail_backend **b);

/* Opens (read-only) the mailbox holding one location of email_id on the
 * connection b, and says which uid the message has there. Errors: NULL is
 * success; a method error (new reference) otherwise. *gone is set when
 * the Email does not exist (any more): no error is returned then, and the
 * caller reports the id as notFound. */
json_t *jmap_mail_select_email(struct jmap_mail *m, struct mail_backend *b,
                               const char *email_id, uint32_t *uid, bool *gone);

/* The current state string of a type, or a method error. */
json_t *jmap_mail_state(struct jmap_mail *m, enum mail_store_type type,
                        char out[MAIL_STORE_STATE_MAX]);

#endif
