/* email_object_cache.h - api/mail internal: whole Email objects as
 * Email/get built them from the mail cache (email_object_cache.c), so a
 * list view shown again builds no Email and its reply copies each Email's
 * ready text (gw_json_freeze).
 *
 * An Email's id names one immutable message (RFC 8621 §4.1.1), so of the
 * list properties only keywords, mailboxIds and the preview (NULL until
 * the server's is known) should change for an id. The entry's version is
 * every value the Email's mail cache row gives (those, and size,
 * receivedAt, hasAttachment, threadId, in case a location's change moves
 * them): an entry of another version is a miss (and is replaced by the
 * next put). Only the header properties rest on immutability alone, as in
 * the header cache. The key is account, Email id and the property names
 * asked for, in order. Bounded: a fixed two-way set-associative table
 * where a newer entry replaces the older of its set.
 *
 * Cached objects are shared between replies and frozen: nobody may modify
 * them (Email/get puts them in its list as they are; result references
 * copy the containers they take, api/result_ref.c).
 */
#ifndef API_MAIL_EMAIL_OBJECT_CACHE_H
#define API_MAIL_EMAIL_OBJECT_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "mail_store.h"

/* The part of the key one Email/get shares for all its Emails, and a
 * buffer for the versions of its Emails. */
struct email_object_key {
    const char *account_id;             /* borrowed */
    char *props;                        /* the names, each NUL-terminated */
    size_t props_len;
    uint64_t hash;                      /* of account_id and props */
    char *version;
    size_t version_len, version_cap;
};

/* Fills k for account_id (borrowed for k's lifetime) and props (an array
 * of property names). -1 when out of memory or a name holds a NUL (two
 * lists could then make one key): nothing is cached for that call. */
int email_object_key_init(struct email_object_key *k, const char *account_id, json_t *props);

/* Frees what k holds; k may then be initialised again. */
void email_object_key_clear(struct email_object_key *k);

/* The cached Email (new reference; shared, never to be modified) for e's
 * id and version under k, or NULL. */
json_t *email_object_cache_get(struct email_object_key *k, const struct mail_store_email *e);

/* Remembers obj (borrowed; a reference is taken and obj is frozen: from
 * here on nobody may modify it) as e's under k, at e's version. */
void email_object_cache_put(struct email_object_key *k, const struct mail_store_email *e,
                            json_t *obj);

/* Drops every entry (tests, process exit). */
void email_object_cache_clear(void);

#endif
