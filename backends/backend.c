/* backend.c - the public wrappers of backend.h: generic checks here,
 * protocol work behind b->v (include/backend-private.h). */
#include "backend-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_log.h"

void backend_endpoint_fill_defaults(struct backend_endpoint *ep)
{
    if (ep->connect_timeout_ms == 0)
        ep->connect_timeout_ms = BACKEND_DEFAULT_TIMEOUT_MS;
    if (ep->command_timeout_ms == 0)
        ep->command_timeout_ms = BACKEND_DEFAULT_TIMEOUT_MS;
}

void backend_caps_clear(struct mail_backend *b)
{
    for (size_t i = 0; i < b->n_caps; i++)
        free(b->caps[i]);
    free(b->caps);
    b->caps = NULL;
    b->n_caps = 0;
}

void backend_caps_replace(struct mail_backend *b, char **caps, size_t n)
{
    backend_caps_clear(b);
    b->caps = caps;
    b->n_caps = n;
}

void backend_close(struct mail_backend **b)
{
    if (b == NULL || *b == NULL)
        return;
    (*b)->v->destroy(*b);
    *b = NULL;
}

int backend_noop(struct mail_backend *b, struct gw_error *err)
{
    if (b->broken)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "connection is no longer usable");
    if (b->v->noop(b, err) < 0) {
        b->broken = true;
        return -1;
    }
    return 0;
}

bool backend_peer_spoke(struct mail_backend *b)
{
    if (b->broken)
        return true;
    return b->v->peer_spoke != NULL && b->v->peer_spoke(b);
}

bool backend_is_broken(const struct mail_backend *b)
{
    return b->broken;
}

bool backend_has_capability(const struct mail_backend *b, const char *capability)
{
    for (size_t i = 0; i < b->n_caps; i++) {
        if (strcasecmp(b->caps[i], capability) == 0)
            return true;
    }
    return false;
}

/* ---- Read primitives (backend_mail.h) ---------------------------------- */

/* The checks every read wrapper makes before dispatching. */
static int read_ready(struct mail_backend *b, bool implemented, const char *what,
                      struct gw_error *err)
{
    if (b == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "%s: no connection", what);
    if (b->broken)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "connection is no longer usable");
    if (!implemented)
        return gw_error_set(err, GW_ERR_INVALID, "%s: not supported by the %s backend", what,
                            b->v->name);
    return 0;
}

int backend_list_mailboxes(struct mail_backend *b, struct backend_mailbox_list **out,
                           struct gw_error *err)
{
    *out = NULL;
    if (read_ready(b, b != NULL && b->v->list_mailboxes != NULL, "list", err) < 0)
        return -1;
    return b->v->list_mailboxes(b, out, err);
}

int backend_select(struct mail_backend *b, const struct backend_select_req *req,
                   struct backend_selected **out, struct gw_error *err)
{
    *out = NULL;
    if (read_ready(b, b != NULL && b->v->select != NULL, "select", err) < 0)
        return -1;
    if (req == NULL || req->name_raw == NULL || req->name_raw[0] == '\0' ||
        (req->n_known_uids != 0 && req->known_uids == NULL))
        return gw_error_set(err, GW_ERR_INVALID, "select: no mailbox name");
    return b->v->select(b, req, out, err);
}

int backend_fetch_summaries(struct mail_backend *b, const struct backend_fetch_req *req,
                            backend_summary_fn fn, void *ctx, struct gw_error *err)
{
    if (read_ready(b, b != NULL && b->v->fetch_summaries != NULL, "fetch", err) < 0)
        return -1;
    if (req == NULL || fn == NULL || req->items == 0 || (req->n_uids != 0 && req->uids == NULL) ||
        (req->n_header_fields != 0 && req->header_fields == NULL))
        return gw_error_set(err, GW_ERR_INVALID, "fetch: bad request");
    return b->v->fetch_summaries(b, req, fn, ctx, err);
}

int backend_uid_search(struct mail_backend *b, const struct backend_search *criteria,
                       uint32_t **uids, size_t *n, struct gw_error *err)
{
    *uids = NULL;
    *n = 0;
    if (read_ready(b, b != NULL && b->v->uid_search != NULL, "search", err) < 0)
        return -1;
    if (criteria == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "search: no criteria");
    return b->v->uid_search(b, criteria, uids, n, err);
}

int backend_multi_search(struct mail_backend *b, const char *const *names_raw, size_t n_names,
                         const struct backend_search *criteria, backend_multi_search_fn fn,
                         void *ctx, struct gw_error *err)
{
    if (read_ready(b, b != NULL && b->v->multi_search != NULL, "multisearch", err) < 0)
        return -1;
    if (criteria == NULL || fn == NULL || (n_names != 0 && names_raw == NULL))
        return gw_error_set(err, GW_ERR_INVALID, "multisearch: bad request");
    if (!backend_has_capability(b, "MULTISEARCH"))
        return gw_error_set(err, GW_ERR_INVALID, "multisearch: server has no MULTISEARCH");
    return b->v->multi_search(b, names_raw, n_names, criteria, fn, ctx, err);
}

int backend_uid_sort(struct mail_backend *b, const struct backend_sort_key *keys, size_t n_keys,
                     const struct backend_search *criteria, uint32_t **uids, size_t *n,
                     struct gw_error *err)
{
    *uids = NULL;
    *n = 0;
    if (read_ready(b, b != NULL && b->v->uid_sort != NULL, "sort", err) < 0)
        return -1;
    if (keys == NULL || n_keys == 0)
        return gw_error_set(err, GW_ERR_INVALID, "sort: no sort keys");
    return b->v->uid_sort(b, keys, n_keys, criteria, uids, n, err);
}

int backend_fetch_part(struct mail_backend *b, uint32_t uid, const char *part, uint64_t offset,
                       size_t max_len, bool decode, struct backend_part_data **out,
                       struct gw_error *err)
{
    *out = NULL;
    if (read_ready(b, b != NULL && b->v->fetch_part != NULL, "fetch part", err) < 0)
        return -1;
    if (uid == 0 || max_len == 0 || max_len >= SIZE_MAX / 2)
        return gw_error_set(err, GW_ERR_INVALID, "fetch part: bad uid or size limit");
    for (const char *p = part; p != NULL && *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || *p == '.'))
            return gw_error_set(err, GW_ERR_INVALID, "fetch part: bad part id");
    }
    return b->v->fetch_part(b, uid, part, offset, max_len, decode, out, err);
}

/* ---- Destructors of the neutral types ------------------------------------ */

void backend_mailbox_list_free(struct backend_mailbox_list **l)
{
    if (l == NULL || *l == NULL)
        return;
    for (size_t i = 0; i < (*l)->n; i++) {
        free((*l)->items[i].name_raw);
        free((*l)->items[i].name_utf8);
        free((*l)->items[i].mailboxid);
    }
    free((*l)->items);
    free(*l);
    *l = NULL;
}

static bool dup_or_null(const char *s, char **out)
{
    *out = s != NULL ? strdup(s) : NULL;
    return s == NULL || *out != NULL;
}

struct backend_mailbox_list *backend_mailbox_list_dup(const struct backend_mailbox_list *l)
{
    struct backend_mailbox_list *d = calloc(1, sizeof(*d));
    if (d == NULL || (d->items = calloc(l->n ? l->n : 1, sizeof(*d->items))) == NULL) {
        free(d);
        return NULL;
    }
    for (; d->n < l->n; d->n++) {
        const struct backend_mailbox *m = &l->items[d->n];
        struct backend_mailbox *c = &d->items[d->n];
        *c = *m;
        bool ok = dup_or_null(m->name_raw, &c->name_raw);
        ok = dup_or_null(m->name_utf8, &c->name_utf8) && ok;
        ok = dup_or_null(m->mailboxid, &c->mailboxid) && ok;
        if (!ok) {
            d->n++;     /* freed with the others */
            backend_mailbox_list_free(&d);
            return NULL;
        }
    }
    return d;
}

void backend_flags_clear(struct backend_flags *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i]);
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

void backend_selected_free(struct backend_selected **s)
{
    if (s == NULL || *s == NULL)
        return;
    backend_flags_clear(&(*s)->permanent_flags);
    for (size_t i = 0; i < (*s)->n_changed; i++)
        backend_flags_clear(&(*s)->changed[i].flags);
    free((*s)->changed);
    free((*s)->vanished);
    free(*s);
    *s = NULL;
}

static void addresses_clear(struct backend_address_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].mailbox);
        free(l->v[i].host);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void envelope_free(struct backend_envelope *e)
{
    if (e == NULL)
        return;
    free(e->date);
    free(e->subject);
    addresses_clear(&e->from);
    addresses_clear(&e->sender);
    addresses_clear(&e->reply_to);
    addresses_clear(&e->to);
    addresses_clear(&e->cc);
    addresses_clear(&e->bcc);
    free(e->in_reply_to);
    free(e->message_id);
    free(e);
}

static void params_free(struct backend_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

/* Frees what part holds, not part itself (children live in arrays). The
 * depth is bounded by the parser's nesting limit. */
static void mime_part_clear(struct backend_mime_part *part)
{
    free(part->part_id);
    free(part->type);
    free(part->subtype);
    params_free(part->params, part->n_params);
    free(part->id);
    free(part->description);
    free(part->encoding);
    free(part->md5);
    free(part->location);
    free(part->disposition);
    params_free(part->disposition_params, part->n_disposition_params);
    for (size_t i = 0; i < part->n_language; i++)
        free(part->language[i]);
    free(part->language);
    envelope_free(part->envelope);
    for (size_t i = 0; i < part->n_children; i++)
        mime_part_clear(&part->children[i]);
    free(part->children);
}

void backend_message_summary_free(struct backend_message_summary **m)
{
    if (m == NULL || *m == NULL)
        return;
    backend_flags_clear(&(*m)->flags);
    free((*m)->guid);
    free((*m)->emailid);
    free((*m)->threadid);
    free((*m)->preview);
    envelope_free((*m)->envelope);
    free((*m)->headers);
    if ((*m)->body != NULL) {
        mime_part_clear((*m)->body);
        free((*m)->body);
    }
    free(*m);
    *m = NULL;
}

void backend_part_data_free(struct backend_part_data **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->data);
    free(*p);
    *p = NULL;
}
