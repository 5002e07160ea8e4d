/* email_create.h - one new Email on the backend: the part of Email/set
 * create (RFC 8621 §4.6) and Email/import (§4.8) that builds or takes the
 * message bytes and APPENDs them. Email/set (the /set framework) calls it
 * once per create entry and reports what it returns.
 */
#ifndef EMAIL_CREATE_H
#define EMAIL_CREATE_H

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

#endif
