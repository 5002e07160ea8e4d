/* imap_list.c - backend_list_mailboxes() for IMAP: one LIST with RETURN
 * (SUBSCRIBED SPECIAL-USE STATUS) on servers with LIST-EXTENDED +
 * LIST-STATUS (RFC 5258, 5819, 6154), else LIST, LSUB and one STATUS per
 * selectable mailbox. */
#include "imap_read.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct list_ctx {
    struct backend_mailbox_list *l;     /* the result being built */
    size_t cap;
};

static const struct {
    const char *attr;
    unsigned flag;
    enum backend_special_use use;
} attrs[] = {
    { "\\Noselect", BACKEND_MBOX_NOSELECT, BACKEND_USE_NONE },
    { "\\NonExistent", BACKEND_MBOX_NONEXISTENT | BACKEND_MBOX_NOSELECT, BACKEND_USE_NONE },
    { "\\HasChildren", BACKEND_MBOX_HASCHILDREN, BACKEND_USE_NONE },
    { "\\HasNoChildren", BACKEND_MBOX_HASNOCHILDREN, BACKEND_USE_NONE },
    { "\\Subscribed", BACKEND_MBOX_SUBSCRIBED, BACKEND_USE_NONE },
    { "\\Noinferiors", BACKEND_MBOX_NOINFERIORS | BACKEND_MBOX_HASNOCHILDREN, BACKEND_USE_NONE },
    { "\\Drafts", 0, BACKEND_USE_DRAFTS },
    { "\\Sent", 0, BACKEND_USE_SENT },
    { "\\Trash", 0, BACKEND_USE_TRASH },
    { "\\Junk", 0, BACKEND_USE_JUNK },
    { "\\Archive", 0, BACKEND_USE_ARCHIVE },
    { "\\All", 0, BACKEND_USE_ALL },
    { "\\Flagged", 0, BACKEND_USE_FLAGGED },
};

static struct backend_mailbox *find_mailbox(struct list_ctx *lc, const struct imap_value *name)
{
    /* STATUS follows its LIST line, so the last entry is the usual hit. */
    for (size_t i = lc->l->n; i-- > 0;) {
        if (strlen(lc->l->items[i].name_raw) == name->len &&
            memcmp(lc->l->items[i].name_raw, name->s, name->len) == 0)
            return &lc->l->items[i];
    }
    return NULL;
}

static bool is_name(const struct imap_value *v)
{
    return (v->type == IMAP_V_ATOM || v->type == IMAP_V_STRING) && v->len != 0 &&
           memchr(v->s, '\0', v->len) == NULL;
}

/* "LIST (attrs) delim name [extended data]" */
static int on_list(struct list_ctx *lc, const struct imap_untagged *u, struct gw_error *err)
{
    if (u->n < 4)
        return gw_error_set(err, GW_ERR_PROTOCOL, "LIST: malformed response");
    const struct imap_value *a = &u->v[1], *delim = &u->v[2], *name = &u->v[3];
    if (a->type != IMAP_V_LIST || !is_name(name) ||
        (delim->type != IMAP_V_NIL && (delim->type != IMAP_V_STRING || delim->len != 1)))
        return gw_error_set(err, GW_ERR_PROTOCOL, "LIST: malformed response");
    if (find_mailbox(lc, name) != NULL)
        return 0;
    if (lc->l->n == lc->cap) {
        size_t cap = lc->cap != 0 ? lc->cap * 2 : 16;
        struct backend_mailbox *ni = realloc(lc->l->items, cap * sizeof(*ni));
        if (ni == NULL)
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        lc->l->items = ni;
        lc->cap = cap;
    }
    struct backend_mailbox *m = &lc->l->items[lc->l->n];
    *m = (struct backend_mailbox){ .delimiter = delim->type == IMAP_V_NIL ? 0 : delim->s[0] };
    m->name_raw = imap_value_strdup(name);
    m->name_utf8 = m->name_raw != NULL ? imap_mutf7_decode(name->s, name->len) : NULL;
    if (m->name_raw != NULL && m->name_utf8 == NULL)
        m->name_utf8 = strdup(m->name_raw);     /* not mUTF-7: keep what was sent */
    if (m->name_utf8 == NULL) {
        free(m->name_raw);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    lc->l->n++;
    for (size_t i = 0; i < a->n; i++) {
        if (a->items[i].type != IMAP_V_ATOM)
            return gw_error_set(err, GW_ERR_PROTOCOL, "LIST: malformed attribute");
        for (size_t k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++) {
            if (strcasecmp(a->items[i].s, attrs[k].attr) == 0) {
                m->flags |= attrs[k].flag;
                if (attrs[k].use != BACKEND_USE_NONE)
                    m->special_use = attrs[k].use;
            }
        }
    }
    if (strcasecmp(m->name_raw, "INBOX") == 0)
        m->special_use = BACKEND_USE_INBOX;
    return 0;
}

/* "STATUS name (MESSAGES n UNSEEN n ...)" */
static int on_status(struct list_ctx *lc, const struct imap_untagged *u, struct gw_error *err)
{
    if (u->n < 3 || !is_name(&u->v[1]) || u->v[2].type != IMAP_V_LIST || u->v[2].n % 2 != 0)
        return gw_error_set(err, GW_ERR_PROTOCOL, "STATUS: malformed response");
    struct backend_mailbox *m = find_mailbox(lc, &u->v[1]);
    if (m == NULL)
        return 0;   /* not listed: nothing to attach it to */
    const struct imap_value *kv = u->v[2].items;
    struct backend_mailbox_status *st = &m->status;
    for (size_t i = 0; i < u->v[2].n; i += 2) {
        if (imap_value_is(&kv[i], "MAILBOXID")) {
            free(m->mailboxid);
            if (imap_objectid(&kv[i + 1], &m->mailboxid) < 0)
                return gw_error_set(err, GW_ERR_PROTOCOL, "STATUS: malformed MAILBOXID");
            continue;
        }
        static const char *const known[] = { "MESSAGES", "UNSEEN", "UIDVALIDITY", "UIDNEXT",
                                             "HIGHESTMODSEQ" };
        bool ours = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]) && !ours; k++)
            ours = imap_value_is(&kv[i], known[k]);
        if (!ours)
            continue;   /* e.g. SIZE: not asked for here */
        uint64_t v;
        if (!imap_value_u64(&kv[i + 1], &v))
            return gw_error_set(err, GW_ERR_PROTOCOL, "STATUS: malformed value");
        if (imap_value_is(&kv[i], "HIGHESTMODSEQ")) {
            st->highestmodseq = v;
            continue;
        }
        if (v > UINT32_MAX)
            return gw_error_set(err, GW_ERR_PROTOCOL, "STATUS: value out of range");
        if (imap_value_is(&kv[i], "MESSAGES"))
            st->messages = (uint32_t)v;
        else if (imap_value_is(&kv[i], "UNSEEN"))
            st->unseen = (uint32_t)v;
        else if (imap_value_is(&kv[i], "UIDVALIDITY"))
            st->uidvalidity = (uint32_t)v;
        else if (imap_value_is(&kv[i], "UIDNEXT"))
            st->uidnext = (uint32_t)v;
    }
    st->valid = true;
    return 0;
}

/* "LSUB (attrs) delim name": only marks listed mailboxes subscribed. */
static int on_lsub(struct list_ctx *lc, const struct imap_untagged *u, struct gw_error *err)
{
    if (u->n < 4 || !is_name(&u->v[3]))
        return gw_error_set(err, GW_ERR_PROTOCOL, "LSUB: malformed response");
    struct backend_mailbox *m = find_mailbox(lc, &u->v[3]);
    if (m != NULL)
        m->flags |= BACKEND_MBOX_SUBSCRIBED;
    return 0;
}

static int on_untagged(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct list_ctx *lc = ctx;
    if (imap_value_is(&u->v[0], "LIST"))
        return on_list(lc, u, err);
    if (imap_value_is(&u->v[0], "STATUS"))
        return on_status(lc, u, err);
    if (imap_value_is(&u->v[0], "LSUB"))
        return on_lsub(lc, u, err);
    return 0;
}

/* MAILBOXID (RFC 8474) rides along so a renamed mailbox is known by the
 * server's own id. */
static void add_status_items(struct imap_cmd *c, bool condstore, bool objectid)
{
    imap_cmd_add(c, "(MESSAGES UNSEEN UIDVALIDITY UIDNEXT");
    if (objectid)
        imap_cmd_add(c, " MAILBOXID");
    imap_cmd_add(c, condstore ? " HIGHESTMODSEQ)" : ")");
}

/* Plain IMAP4rev1: LIST, LSUB, then STATUS per selectable mailbox. */
static int list_fallback(struct imap_backend *ib, struct list_ctx *lc, bool condstore,
                         bool objectid, struct gw_error *err)
{
    struct imap_cmd c;
    int r = 0;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "LIST \"\" \"*\"");
    r = imap_wire_run(ib, &c, "LIST", 0, on_untagged, lc, err);
    imap_cmd_free(&c);
    if (r < 0)
        return -1;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "LSUB \"\" \"*\"");
    r = imap_wire_run(ib, &c, "LSUB", 0, on_untagged, lc, err);
    imap_cmd_free(&c);
    for (size_t i = 0; i < lc->l->n && r == 0; i++) {
        if (lc->l->items[i].flags & BACKEND_MBOX_NOSELECT)
            continue;
        imap_cmd_init(&c, ib);
        imap_cmd_add(&c, "STATUS ");
        imap_cmd_add_mailbox(&c, lc->l->items[i].name_raw);
        imap_cmd_add(&c, " ");
        add_status_items(&c, condstore, objectid);
        r = imap_wire_run(ib, &c, "STATUS", 0, on_untagged, lc, err);
        imap_cmd_free(&c);
    }
    return r;
}

/* STATUS of the selected mailbox is this session's view of it (RFC 3501
 * §6.3.10: it SHOULD NOT be asked; Dovecot answers without changes other
 * sessions made), so the counts would hide new mail and expunges: close
 * it first. CLOSE after EXAMINE expunges nothing; after SELECT only
 * UNSELECT is safe, and without it an EXAMINE of the same mailbox turns
 * the selection read-only first. */
static int unselect(struct imap_backend *ib, struct mail_backend *b, struct gw_error *err)
{
    if (!ib->selected_ok)
        return 0;
    ib->selected_ok = false;
    if (backend_has_capability(b, "UNSELECT"))
        return imap_wire_simple(ib, "UNSELECT", err);
    if (!ib->selected_ro) {
        struct imap_cmd c;
        imap_cmd_init(&c, ib);
        imap_cmd_add(&c, "EXAMINE ");
        imap_cmd_add_mailbox(&c, ib->selected);
        int r = imap_wire_run(ib, &c, "EXAMINE", 0, NULL, NULL, err);
        imap_cmd_free(&c);
        if (r < 0)
            return -1;
    }
    return imap_wire_simple(ib, "CLOSE", err);
}

int imap_list_mailboxes(struct mail_backend *b, struct backend_mailbox_list **out,
                        struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct list_ctx lc = { 0 };
    bool condstore = backend_has_capability(b, "CONDSTORE");
    bool objectid = backend_has_capability(b, "OBJECTID");
    int r;

    *out = NULL;
    if (unselect(ib, b, err) < 0)
        return -1;

    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    lc.l = *out;

    if (backend_has_capability(b, "LIST-EXTENDED") && backend_has_capability(b, "LIST-STATUS")) {
        struct imap_cmd c;
        imap_cmd_init(&c, ib);
        imap_cmd_add(&c, "LIST \"\" \"*\" RETURN (SUBSCRIBED CHILDREN ");
        if (backend_has_capability(b, "SPECIAL-USE"))
            imap_cmd_add(&c, "SPECIAL-USE ");
        imap_cmd_add(&c, "STATUS ");
        add_status_items(&c, condstore, objectid);
        imap_cmd_add(&c, ")");
        r = imap_wire_run(ib, &c, "LIST", 0, on_untagged, &lc, err);
        imap_cmd_free(&c);
    } else {
        r = list_fallback(ib, &lc, condstore, objectid, err);
    }
    if (r < 0) {
        backend_mailbox_list_free(out);
        return -1;
    }
    return 0;
}
