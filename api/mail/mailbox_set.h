/* mailbox_set.h - api/mail-internal: what mailbox_set.c shares with its
 * helpers in mailbox_set_tree.c. */
#ifndef API_MAIL_MAILBOX_SET_H
#define API_MAIL_MAILBOX_SET_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "jmap_mail.h"

/* The state of one Mailbox/set call. */
struct mailbox_set_ctx {
    struct jmap_mail *m;
    struct mail_store_mailbox_list *list;  /* the cache, reloaded after each write */
    bool remove_emails;                     /* onDestroyRemoveEmails */
    bool delim_known;
    char delim;                             /* the server's hierarchy separator, 0: flat */
};

/* The cached mailbox with this id (borrowed from l), or NULL. */
const struct mail_store_mailbox *mailbox_set_find(const struct mail_store_mailbox_list *l,
                                                  const char *id);

/* The server's hierarchy delimiter: from a cached parent/child pair when
 * there is one, else from a LIST on b. 0 or -1 with err. */
int mailbox_set_delimiter(struct mailbox_set_ctx *c, struct mail_backend *b, char *out,
                          struct gw_error *err);

/* How many messages the server holds in name_raw now (one LIST-STATUS
 * round trip; the cache may be behind another client's delivery). 0, or
 * -1 with err (GW_ERR_NOTFOUND when the mailbox is gone). */
int mailbox_set_count(struct mailbox_set_ctx *c, struct mail_backend *b, const char *name_raw,
                      uint32_t *out, struct gw_error *err);

/* The destroy list (borrowed, may be NULL) reordered so that children come
 * before their parents (deepest first, else as given), so destroying a
 * mailbox with its whole subtree in one call succeeds. New reference (an
 * empty array for NULL); NULL only when memory ran out (err set). */
json_t *mailbox_set_destroy_order(struct mailbox_set_ctx *c, struct jmap_invocation *inv,
                                  json_t *destroy, struct gw_error *err);

#endif
