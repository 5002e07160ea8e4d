/* harness_set.h - what the write-path integration tests share
 * (test_mailbox_set.c, test_email_set.c): /set calls, the exact
 * /changes after a write, and the plain IMAP view that confirms it. */
#ifndef HARNESS_SET_H
#define HARNESS_SET_H

#include "harness.h"

enum { HS_MAILBOX, HS_EMAIL, HS_THREAD, HS_TYPES };

/* The current state of each type (from X/get with no ids). */
struct hs_states {
    char s[HS_TYPES][64];
};

void hs_states_read(const struct harness_mail_env *env, struct hs_states *st);

/* Exactly these ids (NULL-terminated lists; NULL: none) changed in type
 * since st, and the state moved iff something did; st takes the new state. */
void hs_expect_changes(const struct harness_mail_env *env, struct hs_states *st, int type,
                       const char *const *created, const char *const *updated,
                       const char *const *destroyed);

/* The SetError type of id in the map `which` ("notCreated" ...) of a /set
 * response, or NULL (borrowed from res). */
const char *hs_set_error(json_t *res, const char *which, const char *id);

/* Runs an IMAP command on c (must answer OK) and says whether its answer
 * contains needle. */
bool hs_imap_says(struct harness_imap *c, const char *cmd, const char *needle);

/* Whether `verb "" "*"` (verb LIST or LSUB) names mailbox exactly
 * (quoted or not). */
bool hs_imap_lists(struct harness_imap *c, const char *verb, const char *mailbox);

/* The uids (ascending, at most max) of UID SEARCH ALL in mailbox. */
size_t hs_imap_uids(struct harness_imap *c, const char *mailbox, uint32_t *out, size_t max);

/* ---- A gateway straight on a test Dovecot (tests/unit/dovecot_test.h:
 * plain IMAP on loopback, user test / secret), for tests that change the
 * Dovecot configuration or sit between the two. */

/* Dovecot configuration adding the acl plugin (vfile ACLs, SETACL). */
extern const char hs_acl_conf[];

struct hs_direct {
    struct harness_gateway *gw;
    char *account;
};

/* Starts a gateway on 127.0.0.1:imap_port without TLS and reads test's
 * account id. 0, or -1 (stop it anyway). */
int hs_direct_start(struct hs_direct *x, uint16_t imap_port);
/* Stops the gateway (its exit status is the result) and frees x. */
int hs_direct_stop(struct hs_direct *x);

/* method({"accountId": x's, <args_fmt members>}) as test: the response's
 * arguments (new reference), failing the test on any other answer. */
json_t *hs_direct_call(const struct hs_direct *x, const char *method, const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The one id a query answers (filter: a JSON object text) into out. */
void hs_direct_query_one(const struct hs_direct *x, const char *method, const char *filter,
                         char out[64]);

/* The Email with this Message-ID, INBOX and the mailbox named `other`:
 * their ids into the three 64-byte buffers. */
void hs_direct_ids(const struct hs_direct *x, const char *message_id, const char *other,
                   char email[64], char inbox[64], char other_id[64]);

/* The truth after a write that may have half failed: the message is in at
 * least one of the n mailboxes (names[i], JMAP ids[i]) over plain IMAP,
 * and the Email (same id) has exactly those of them in its mailboxIds. */
void hs_direct_expect_where(const struct hs_direct *x, struct harness_imap *c, const char *email,
                            const char *const *names, const char *const *ids, size_t n);

#endif
