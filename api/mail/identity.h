/* identity.h - shared by api/mail/identity.c (get, changes) and
 * identity_set.c (set). Not a public contract. */
#ifndef API_MAIL_IDENTITY_H
#define API_MAIL_IDENTITY_H

#include <jansson.h>
#include <stddef.h>

#include "jmap_mail.h"

/* Longest default identity address we make. */
#define IDENTITY_EMAIL_MAX 320

/* Opens the account's store (no mail sync: identities are ours) and makes
 * sure its default identity exists; its address into email. NULL, or a
 * method error (new reference). */
json_t *identity_begin(struct jmap_invocation *inv, struct jmap_mail *m,
                       char email[IDENTITY_EMAIL_MAX]);

json_t *identity_set(struct jmap_invocation *inv, json_t *args, json_t **error);

#endif
