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

#endif
