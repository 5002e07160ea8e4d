/* identity_store.h - RFC 8621 §6 Identity objects of an account, kept in
 * the gateway's store (identities are the gateway's own data: no mail
 * server has them). Ids are minted per account ("I" + 13 base32 chars);
 * the Identity state is the account's modseq of the last identity change,
 * so /changes can answer from any earlier state (rows are tombstoned, not
 * deleted).
 *
 * Objects cross this header as Jansson objects with the RFC's property
 * names: name, email, replyTo, bcc (null or EmailAddress[]),
 * textSignature, htmlSignature; "id" and "mayDelete" are the store's.
 * Callers validate property values before they get here.
 */
#ifndef IDENTITY_STORE_H
#define IDENTITY_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"

struct mail_store;

#define IDENTITY_STATE_MAX 24

/* Creates the account's default identity (mayDelete false) unless it
 * already has one: email and name as given. Idempotent. */
int identity_store_ensure_default(struct mail_store *ms, const char *account_id,
                                  const char *email, const char *name, struct gw_error *err);

/* Every live identity as a full Identity object (new reference, array) and
 * the current state. */
int identity_store_list(struct mail_store *ms, const char *account_id, json_t **out,
                        char state[IDENTITY_STATE_MAX], struct gw_error *err);

/* The current state only. */
int identity_store_state(struct mail_store *ms, const char *account_id,
                         char state[IDENTITY_STATE_MAX], struct gw_error *err);

/* Creates one (props borrowed: name, email, replyTo, bcc, textSignature,
 * htmlSignature; missing ones default) and writes its new id to id. */
int identity_store_create(struct mail_store *ms, const char *account_id, json_t *props,
                          char id[24], struct gw_error *err);

/* Sets the given properties (borrowed; "email" may not be among them).
 * GW_ERR_NOTFOUND when id is not a live identity. */
int identity_store_update(struct mail_store *ms, const char *account_id, const char *id,
                          json_t *props, struct gw_error *err);

/* GW_ERR_NOTFOUND, or GW_ERR_FORBIDDEN for an identity with mayDelete false. */
int identity_store_destroy(struct mail_store *ms, const char *account_id, const char *id,
                           struct gw_error *err);

/* Ids changed since state `since` (at most max_changes in the three arrays
 * together, new references), has_more and the state reached. GW_ERR_INVALID
 * when since is not a state of this account (cannotCalculateChanges). */
struct identity_changes {
    json_t *created, *updated, *destroyed;
    bool has_more;
    char new_state[IDENTITY_STATE_MAX];
};
int identity_store_changes(struct mail_store *ms, const char *account_id, const char *since,
                           size_t max_changes, struct identity_changes *out,
                           struct gw_error *err);
void identity_changes_clear(struct identity_changes *c);

#endif
