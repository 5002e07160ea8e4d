/* email_object_cache.h - api/mail internal: whole Email objects as
 * Email/get built them from the mail cache (email_object_cache.c), so a
 * list view shown again builds no Email and its reply copies each Email's
 * ready text (gw_json_freeze).
 *
 * An Email's id names one immutable message (RFC 8621 §4.1.1), so of the
 * list properties only keywords, mailboxIds and the preview (NULL until
 * the server's is known) can change for an id: the caller passes them as
 * the entry's version, and an entry of another version is a miss. The key
 * is account, Email id and the property names asked for, in order.
 * Bounded: a fixed two-way set-associative table where a newer entry
 * replaces the older of its set.
 *
 * Cached objects are shared between replies and frozen: nobody may modify
 * them (Email/get puts them in its list as they are; result references
 * copy what they take, api/result_ref.c).
 */
#ifndef API_MAIL_EMAIL_OBJECT_CACHE_H
#define API_MAIL_EMAIL_OBJECT_CACHE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The part of the key one Email/get shares for all its Emails. props
 * (borrowed, kept by the caller for the key's lifetime) is the property
 * names, each followed by a NUL. */
struct email_object_key {
    const char *account_id;
    const char *props;
    size_t props_len;
    uint64_t hash;                      /* of account_id and props */
};

void email_object_key_init(struct email_object_key *k, const char *account_id,
                           const char *props, size_t props_len);

/* The cached Email (new reference; shared, never to be modified) of
 * email_id under k whose version is the same bytes, or NULL. */
json_t *email_object_cache_get(const struct email_object_key *k, const char *email_id,
                               const char *version, size_t version_len);

/* Remembers obj (borrowed; a reference is taken and obj is frozen: from
 * here on nobody may modify it) as email_id's under k at version. */
void email_object_cache_put(const struct email_object_key *k, const char *email_id,
                            const char *version, size_t version_len, json_t *obj);

/* Drops every entry (tests, process exit). */
void email_object_cache_clear(void);

#endif
