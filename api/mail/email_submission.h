/* email_submission.h - api/mail-internal: what the EmailSubmission
 * modules share. email_submission.c: /get /changes /query /queryChanges
 * and the method table; email_submission_set.c: /set and the implicit
 * Email/set of onSuccess*; email_submission_send.c: the envelope and the
 * bytes (Bcc stripped); email_submission_queue.c: one SMTP attempt and
 * the account's queue; email_submission_sender.c: the background sender.
 * Not a public contract.
 *
 * Credentials: the queue lives in the store (submission_store.h) and
 * survives restarts, but the account's password only lives in memory (the
 * account's IMAP pool; never on disk or in logs). A due submission is
 * therefore sent while its account is live: by the background sender,
 * which watches accounts with queued submissions, and at every
 * EmailSubmission call of the account. After a restart a queued
 * submission waits until the user's next request brings the credentials
 * back (jmap_submission_account_seen).
 *
 * At most once: a submission is claimed ('sending') in the store before
 * its SMTP transaction and marked after it; one left 'sending' by a crash
 * is never sent again and becomes final with deliveryStatus null, even if
 * the server never got it.
 */
#ifndef API_MAIL_EMAIL_SUBMISSION_H
#define API_MAIL_EMAIL_SUBMISSION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "jmap_mail.h"

/* Temporary failures are retried this many times in all, waiting
 * EMAIL_SUBMISSION_RETRY_BASE_S << attempt seconds between tries. */
#define EMAIL_SUBMISSION_MAX_ATTEMPTS 5
#define EMAIL_SUBMISSION_RETRY_BASE_S 5

/* Opens the account's store and sends what is due in its queue. NULL, or
 * a method error (new reference). */
json_t *email_submission_begin(struct jmap_invocation *inv, struct jmap_mail *m);

/* Sends every due queued submission of the account (bounded by the queue
 * length at the start). Failures are recorded on the submissions. */
void email_submission_run_queue(struct jmap_mail *m);

/* One attempt at handing the submission id, obj (its properties; envelope
 * complete) and its bytes msg to SMTP, with the account's credentials.
 * Without an ENVID parameter the envelope id is the submission's id, so
 * delivery status notifications can be matched (email_submission_dsn.h).
 * On success fills obj's undoStatus ("final") and deliveryStatus and
 * returns 0; returns 1 with *set_error when a temporary failure may be
 * retried, -1 with *set_error (new reference) when it was refused. */
int email_submission_send(struct jmap_mail *m, const char *id, json_t *obj, const char *msg,
                          size_t msg_len, json_t **set_error);

/* When to try again after `attempts` tries (unix seconds), 0 when the
 * submission has had its tries. */
int64_t email_submission_retry_at(int attempts);

/* The Email's bytes (from IMAP) with its Bcc fields removed: *msg is
 * malloc'd. 0, or -1 with *set_error. */
int email_submission_fetch(struct jmap_mail *m, const char *email_id, char **msg,
                           size_t *msg_len, json_t **set_error);

/* The envelope derived from the Email's header fields (From/Sender ->
 * mailFrom; To, Cc, Bcc -> rcptTo, no duplicates) when obj has none; and
 * threadId. Checks the From against the identity's email (forbiddenFrom).
 * 0, or -1 with *set_error. */
int email_submission_prepare(struct jmap_mail *m, json_t *obj, const char *identity_email,
                             json_t **set_error);

/* d[0..len) without its top-level Bcc fields (every other byte kept):
 * malloc'd (NUL after *out_len bytes), or NULL when memory runs out. */
char *email_submission_strip_bcc(const char *d, size_t len, size_t *out_len);

/* The background sender watches a (a reference is taken) until its queue
 * is empty. */
struct account;
void email_submission_sender_watch(struct account *a);

/* The method tables' handlers. */
json_t *email_submission_set(struct jmap_invocation *inv, json_t *args, json_t **error);

#endif
