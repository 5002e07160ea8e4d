/* mailbox_set_tree.c - the hierarchy facts Mailbox/set needs beyond the
 * cache: the server's delimiter, a live message count, and the order in
 * which a subtree can be destroyed (api/mail/mailbox_set.h). */
#include <stdlib.h>
#include <string.h>

#include "jmap_set.h"
#include "mailbox_set.h"

int mailbox_set_delimiter(struct mailbox_set_ctx *c, struct mail_backend *b, char *out,
                          struct gw_error *err)
{
    if (c->delim_known) {
        *out = c->delim;
        return 0;
    }
    /* A child's wire name is its parent's, the delimiter, then its leaf. */
    for (size_t i = 0; i < c->list->n; i++) {
        const struct mail_store_mailbox *x = &c->list->v[i];
        const struct mail_store_mailbox *p = mailbox_set_find(c->list, x->parent_id);
        size_t len = p != NULL ? strlen(p->name_raw) : 0;
        if (p != NULL && strncmp(x->name_raw, p->name_raw, len) == 0 && x->name_raw[len] != '\0') {
            c->delim = x->name_raw[len];
            c->delim_known = true;
            *out = c->delim;
            return 0;
        }
    }
    struct backend_mailbox_list *l = NULL;
    if (backend_list_mailboxes(b, &l, err) != 0)
        return -1;
    c->delim = 0;
    for (size_t i = 0; i < l->n && c->delim == 0; i++)
        c->delim = l->items[i].delimiter;
    backend_mailbox_list_free(&l);
    c->delim_known = true;
    *out = c->delim;
    return 0;
}

int mailbox_set_count(struct mailbox_set_ctx *c, struct mail_backend *b, const char *name_raw,
                      uint32_t *out, struct gw_error *err)
{
    struct backend_mailbox_list *l = NULL;
    int rc = gw_error_set(err, GW_ERR_NOTFOUND, "mailbox no longer exists");
    if (backend_list_mailboxes(b, &l, err) != 0)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        const struct backend_mailbox *x = &l->items[i];
        if (!c->delim_known && x->delimiter != 0) {
            c->delim = x->delimiter;
            c->delim_known = true;
        }
        if (strcmp(x->name_raw, name_raw) == 0) {
            *out = x->status.valid ? x->status.messages : 0;
            gw_error_clear(err);
            rc = 0;
        }
    }
    backend_mailbox_list_free(&l);
    return rc;
}

static size_t depth_of(const struct mail_store_mailbox_list *l, const char *id)
{
    size_t depth = 0;
    const struct mail_store_mailbox *x = mailbox_set_find(l, id);
    while (x != NULL && x->parent_id != NULL && depth <= l->n) {
        depth++;
        x = mailbox_set_find(l, x->parent_id);
    }
    return depth;
}

json_t *mailbox_set_destroy_order(struct mailbox_set_ctx *c, struct jmap_invocation *inv,
                                  json_t *destroy, struct gw_error *err)
{
    size_t n = json_array_size(destroy);
    json_t *out = json_array();
    size_t *depth = calloc(n + 1, sizeof(*depth));
    if (out == NULL || depth == NULL)
        goto nomem;
    size_t max = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = jmap_set_resolve_id(inv, json_string_value(json_array_get(destroy, i)));
        depth[i] = id != NULL ? depth_of(c->list, id) : 0;
        if (depth[i] > max)
            max = depth[i];
    }
    /* Stable: equal depths keep the client's order. */
    for (size_t d = max + 1; d-- > 0;) {
        for (size_t i = 0; i < n; i++) {
            if (depth[i] == d && json_array_append(out, json_array_get(destroy, i)) != 0)
                goto nomem;
        }
    }
    free(depth);
    return out;
nomem:
    free(depth);
    json_decref(out);
    gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    return NULL;
}
