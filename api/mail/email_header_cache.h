/* email_header_cache.h - api/mail internal: header properties of Emails
 * (email_header_cache.c) as Email/get built them from the cached header
 * block, so a list view shown again parses no header.
 *
 * An Email's id names one immutable message (RFC 8621 §4.1.1: its
 * content never changes), so a value is valid for as long as the id
 * exists; the key is account, id and property name (its form included).
 * Bounded: a fixed table where a newer entry replaces an older one that
 * hashes to the same slot. Thread-safe.
 */
#ifndef API_MAIL_EMAIL_HEADER_CACHE_H
#define API_MAIL_EMAIL_HEADER_CACHE_H

#include <jansson.h>

/* The cached value (new reference; shared, never to be modified) or NULL. */
json_t *email_header_cache_get(const char *account_id, const char *email_id, const char *prop);

/* Remembers value (borrowed; a reference is taken) for the key. Keys too
 * long for a slot are not cached. */
void email_header_cache_put(const char *account_id, const char *email_id, const char *prop,
                            json_t *value);

/* Drops every entry (tests, process exit). */
void email_header_cache_clear(void);

#endif
