/* submission_store.h - RFC 8621 §7 EmailSubmission objects of an account
 * and the queue of submissions not yet handed to SMTP, kept in the
 * gateway's store (schema step 5 -> 6). Ids are minted per account ("S" +
 * 13 base32 chars); the EmailSubmission state is the account's modseq of
 * the last submission change; rows are tombstoned so /changes can answer.
 *
 * An object crosses this header as a Jansson object with the RFC's
 * property names (identityId, emailId, threadId, envelope, sendAt,
 * undoStatus, deliveryStatus, dsnBlobIds, mdnBlobIds); "id" is the
 * store's. The queue columns (when to try next, how many attempts) are
 * the store's own and never reach the client.
 *
 * At-most-once: a queued row is claimed ("sending") in its own committed
 * transaction before the SMTP transaction starts, and marked final after
 * it. A gateway that dies between the two finds the row "sending" and
 * never sends it again (it records it as final with unknown delivery).
 */
#ifndef SUBMISSION_STORE_H
#define SUBMISSION_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"

struct mail_store;

#define SUBMISSION_STATE_MAX 24
#define SUBMISSION_ID_MAX 24

/* Stores a new submission. obj borrowed (every property but id);
 * queue_state "queued" (waits until next_try, unix seconds), "sending"
 * (the caller sends it now and calls submission_store_finish) or NULL
 * (done). msg (msg_len bytes, may be NULL) is kept until it is final.
 * The new id into id. */
int submission_store_create(struct mail_store *ms, const char *account_id, json_t *obj,
                            const char *queue_state, int64_t next_try, const char *msg,
                            size_t msg_len, char id[SUBMISSION_ID_MAX], struct gw_error *err);

/* Every live submission (new reference, array of full objects, oldest
 * first) and the current state. */
int submission_store_list(struct mail_store *ms, const char *account_id, json_t **out,
                          char state[SUBMISSION_STATE_MAX], struct gw_error *err);

int submission_store_state(struct mail_store *ms, const char *account_id,
                           char state[SUBMISSION_STATE_MAX], struct gw_error *err);

/* Cancels a queued submission: undoStatus "pending" -> "canceled", out of
 * the queue. GW_ERR_NOTFOUND when not live; GW_ERR_FORBIDDEN when it is
 * no longer pending (already being sent or sent). */
int submission_store_cancel(struct mail_store *ms, const char *account_id, const char *id,
                            struct gw_error *err);

/* Tombstones it (a pending one leaves the queue: it is never sent).
 * GW_ERR_NOTFOUND when not live. */
int submission_store_destroy(struct mail_store *ms, const char *account_id, const char *id,
                             struct gw_error *err);

/* Claims the oldest queued submission of the account due at `now`: it
 * leaves the queue ("sending") in a committed transaction, and its object
 * is returned (new reference in *obj, its id into id). Returns 1 when one
 * was claimed, 0 when none is due, -1 with err. */
struct submission_claim {
    json_t *obj;                /* new reference */
    char *msg;                  /* malloc'd message bytes (msg_len, NUL after) */
    size_t msg_len;
    char id[SUBMISSION_ID_MAX];
};
int submission_store_claim_due(struct mail_store *ms, const char *account_id, int64_t now,
                               struct submission_claim *out, struct gw_error *err);
void submission_claim_clear(struct submission_claim *c);

/* After a claimed submission's attempt: replaces undoStatus and
 * deliveryStatus with obj's (borrowed) and, with retry_at > 0, puts it
 * back in the queue for retry_at (attempts counted), else it is done and
 * its message bytes are dropped. */
int submission_store_finish(struct mail_store *ms, const char *account_id, const char *id,
                            json_t *obj, int64_t retry_at, struct gw_error *err);

/* Rows of the account left 'sending' by a gateway that died during their
 * SMTP transaction: the server may have accepted the message, so they are
 * never sent again (at most once); they become final with deliveryStatus
 * null (unknown). Call once per account per process, before its first
 * send. Returns how many, or -1 with err. */
int submission_store_recover(struct mail_store *ms, const char *account_id,
                             struct gw_error *err);

/* Whether the account has queued submissions: 1, 0, or -1 on a store error. */
int submission_store_has_queued(struct mail_store *ms, const char *account_id);

/* Attempts made so far for id (0 when unknown). */
int submission_store_attempts(struct mail_store *ms, const char *account_id, const char *id);

/* Delivery status notifications: whether the Email email_id was already
 * looked at (1, 0, or -1 on a store error). */
int submission_store_dsn_seen(struct mail_store *ms, const char *account_id,
                              const char *email_id);

/* Marks the Email email_id as looked at and, when id is not NULL, replaces
 * that submission's object with obj (borrowed; the report applied) under a
 * new EmailSubmission state, both in one transaction. GW_ERR_NOTFOUND when
 * id is not a live submission that is out of the queue. */
int submission_store_dsn_apply(struct mail_store *ms, const char *account_id,
                               const char *email_id, const char *id, json_t *obj,
                               struct gw_error *err);

/* Ids changed since state `since` (at most max_changes in all), has_more
 * and the state reached. GW_ERR_INVALID when since is not a state of this
 * account (cannotCalculateChanges). */
struct submission_changes {
    json_t *created, *updated, *destroyed;
    bool has_more;
    char new_state[SUBMISSION_STATE_MAX];
};
int submission_store_changes(struct mail_store *ms, const char *account_id, const char *since,
                             size_t max_changes, struct submission_changes *out,
                             struct gw_error *err);
void submission_changes_clear(struct submission_changes *c);

#endif
