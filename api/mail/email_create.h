/* email_create.h - one new Email on the backend: the part of Email/set
 * create (RFC 8621 §4.6) and Email/import (§4.8) that builds or takes the
 * message bytes and APPENDs them. Email/set (the /set framework) calls it
 * once per create entry and reports what it returns.
 */
#ifndef EMAIL_CREATE_H
#define EMAIL_CREATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "jmap_mail.h"

/* Creates the Email described by obj (borrowed; the create value of
 * Email/set, creation ids such as "#c1" in mailboxIds keys or blobIds
 * already resolved by the caller is NOT assumed: resolve them through
 * m->inv->created_ids). The message is built (Message-ID and Date
 * generated when absent), APPENDed with its keywords to one of its
 * mailboxes and copied to the others, and the cache is brought up to date.
 *
 * Returns the created-object properties to report (at least id, blobId,
 * threadId, size; new reference), or NULL with *set_error set to a
 * SetError object (new reference: invalidProperties with "properties",
 * blobNotFound with "notFound", overQuota, tooLarge, forbidden ...). */
json_t *email_create_one(struct jmap_mail *m, json_t *obj, json_t **set_error);

/* The metadata every way of adding an Email takes (Email/set create,
 * Email/import, Email/copy): mailboxIds, keywords, receivedAt of obj
 * (borrowed), checked and resolved. */
struct email_meta {
    char **mailboxes_raw;       /* IMAP names, new (email_meta_clear) */
    char **mailbox_ids;         /* resolved ids, same order */
    size_t n_mailboxes;
    char **flags;               /* IMAP flags of the keywords, new */
    size_t n_flags;
    time_t received_at;         /* 0: the server's time of arrival */
};

/* Fills *meta from obj. NULL on success, else a SetError (new reference):
 * invalidProperties naming mailboxIds / keywords / receivedAt, or NULL
 * with *fail set to a method-level error when the cache cannot be read. */
json_t *email_meta_parse(struct jmap_mail *m, json_t *obj, struct email_meta *meta,
                         json_t **fail);
void email_meta_clear(struct email_meta *meta);

/* APPENDs data[0..len) with meta, copies it to the other mailboxes, syncs
 * the cache and returns {id, blobId, threadId, size} (new reference), or
 * NULL with *set_error (new reference; overQuota, tooLarge, forbidden ...
 * through the one gateway-error table). */
json_t *email_append_message(struct jmap_mail *m, const struct email_meta *meta,
                             const char *data, size_t len, json_t **set_error);

/* The bytes of a blob of the account: an upload (include/upload_store.h)
 * or a blob of a stored Email (include/jmap_download.h); "#cid" names the
 * message of an Email created (or imported) earlier in the request.
 * *data new (free()).
 * GW_ERR_NOTFOUND when there is no such blob. */
int email_blob_fetch(struct jmap_mail *m, const char *blob_id, char **data, size_t *len,
                     struct gw_error *err);

/* A SetError {type, description} of a gateway error (new reference). */
json_t *email_set_error_from_gw(const struct gw_error *err);

/* Method helpers shared by email_import.c and email_parse.c. */
/* invalidArguments for an argument not in allowed (NULL-terminated;
 * accountId is always allowed), else NULL. */
json_t *email_args_known(json_t *args, const char *const *allowed);
/* The Email/parse handler (email_parse.c), listed in email_import.c's
 * method table. */
json_t *email_parse_method(struct jmap_invocation *inv, json_t *args, json_t **error);

#endif
