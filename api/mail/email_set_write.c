/* email_set_write.c - the IMAP side of Email/set update and destroy
 * (api/mail/email_set.h): keywords stored on every copy of a message,
 * mailboxIds changes as MOVE/COPY then UID EXPUNGE of exact uids, and
 * the whole truth when a move stops half way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_mail_write.h"
#include "email_set.h"
#include "gw_log.h"
#include "jmap_set.h"
#include "jmap_text.h"

/* The copies of one Email in one mailbox. */
struct group {
    const char *mailbox_id, *name_raw;  /* borrowed from the location list */
    uint32_t uidvalidity;
    uint32_t *uids;
    size_t n;
    bool used;                          /* a move already took it */
};

struct groups {
    struct mail_store_location_list *locs;
    struct group *v;
    size_t n;
};

static void groups_free(struct groups *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].uids);
    free(g->v);
    mail_store_location_list_free(&g->locs);
    memset(g, 0, sizeof(*g));
}

/* The Email's locations grouped by mailbox (the list is ordered by
 * mailbox). notFound when it has none. */
static int groups_load(struct email_set_ctx *c, const char *email_id, struct groups *g,
                       json_t **set_error)
{
    struct gw_error err = { 0 };
    memset(g, 0, sizeof(*g));
    if (mail_store_email_locations(c->m->ms, c->m->account_id, email_id, &g->locs, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return -1;
    }
    if (g->locs->n == 0) {
        groups_free(g);
        *set_error = jmap_set_error_new("notFound", NULL);
        return -1;
    }
    g->v = calloc(g->locs->n, sizeof(*g->v));
    if (g->v == NULL)
        goto nomem;
    for (size_t i = 0; i < g->locs->n; i++) {
        const struct mail_store_location *l = &g->locs->v[i];
        struct group *cur = g->n != 0 ? &g->v[g->n - 1] : NULL;
        if (cur == NULL || strcmp(cur->mailbox_id, l->mailbox_id) != 0) {
            cur = &g->v[g->n++];
            cur->mailbox_id = l->mailbox_id;
            cur->name_raw = l->name_raw;
            cur->uidvalidity = l->uidvalidity;
            cur->uids = calloc(g->locs->n, sizeof(*cur->uids));
            if (cur->uids == NULL)
                goto nomem;
        }
        cur->uids[cur->n++] = l->uid;
    }
    return 0;
nomem:
    groups_free(g);
    *set_error = jmap_set_error_new("serverFail", NULL);
    return -1;
}

static struct backend_msgset msgset_of(const struct group *g)
{
    struct backend_msgset s = { .mailbox_raw = g->name_raw, .uidvalidity = g->uidvalidity,
                                .uids = g->uids, .n_uids = g->n };
    return s;
}

/* The IMAP flags of JMAP keywords (new strings in *out, n of them). */
static int imap_flags(const struct email_set_names *k, char ***out)
{
    *out = calloc(k->n + 1, sizeof(**out));
    if (*out == NULL)
        return -1;
    for (size_t i = 0; i < k->n; i++) {
        if (((*out)[i] = jmap_keyword_to_imap(k->v[i])) == NULL)
            return -1;
    }
    return 0;
}

static void flags_free(char ***f, size_t n)
{
    for (size_t i = 0; *f != NULL && i < n; i++)
        free((*f)[i]);
    free(*f);
    *f = NULL;
}

/* SetError for a write that failed after others succeeded: the client
 * must know the change is half done. */
static json_t *partial_error(const struct gw_error *err, const char *what)
{
    json_t *e = jmap_set_error_from_gw(err);
    char desc[GW_ERROR_MSG_MAX + 200];
    const char *d = json_string_value(json_object_get(e, "description"));
    snprintf(desc, sizeof(desc), "%s %s", d != NULL ? d : "", what);
    json_object_set_new(e, "description", json_string(desc));
    return e;
}

int email_set_store_keywords(struct email_set_ctx *c, const char *email_id,
                             const struct email_set_names *add,
                             const struct email_set_names *remove, json_t **set_error)
{
    struct groups g;
    char **add_f = NULL, **rm_f = NULL;
    struct gw_error err = { 0 };
    int rc = -1;
    bool stored_any = false;
    if (add->n == 0 && remove->n == 0)
        return 0;
    if (groups_load(c, email_id, &g, set_error) != 0)
        return -1;
    if (imap_flags(add, &add_f) != 0 || imap_flags(remove, &rm_f) != 0) {
        *set_error = jmap_set_error_invalid_property("keywords", "invalid keyword.");
        goto out;
    }
    for (size_t i = 0; i < g.n; i++) {
        struct backend_store_req req = { .set = msgset_of(&g.v[i]) };
        int wrc = 0;
        if (add->n != 0) {
            req.op = BACKEND_STORE_ADD;
            req.flags = (const char *const *)add_f;
            req.n_flags = add->n;
            wrc = backend_store_flags(c->b, &req, NULL, &err);
            stored_any = stored_any || wrc == 0;
        }
        if (wrc == 0 && remove->n != 0) {
            req.op = BACKEND_STORE_REMOVE;
            req.flags = (const char *const *)rm_f;
            req.n_flags = remove->n;
            wrc = backend_store_flags(c->b, &req, NULL, &err);
            stored_any = stored_any || wrc == 0;
        }
        if (wrc != 0) {
            gw_log_info("account %s: Email/set keywords of %s: %s", c->m->account_id, email_id,
                        err.msg);
            *set_error = !stored_any
                             ? jmap_set_error_from_gw(&err)
                             : partial_error(&err, "Some copies of the message may have been "
                                                   "changed; read the Email again.");
            if (!stored_any && err.code == GW_ERR_FORBIDDEN)
                json_object_set_new(*set_error, "properties", json_pack("[s]", "keywords"));
            goto out;
        }
    }
    rc = 0;
out:
    flags_free(&add_f, add->n);
    flags_free(&rm_f, remove->n);
    groups_free(&g);
    return rc;
}

static bool names_has(const struct email_set_names *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], x) == 0)
            return true;
    }
    return false;
}

static const char *mailbox_raw(struct email_set_ctx *c, const char *id)
{
    for (size_t i = 0; i < c->mailboxes->n; i++) {
        if (strcmp(c->mailboxes->v[i].id, id) == 0)
            return c->mailboxes->v[i].name_raw;
    }
    return NULL;
}

json_t *email_set_copy_failure(const struct backend_copy_result *r, const struct gw_error *err,
                               bool move)
{
    if (r == NULL || r->outcome == BACKEND_COPY_NONE)
        return jmap_set_error_from_gw(err);
    if (r->outcome == BACKEND_COPY_NOT_REMOVED)
        return partial_error(err, "The message was copied to the new mailbox but could not be "
                                  "removed from the old one: it is now in both, nothing is lost.");
    return partial_error(err, move ? "The connection was lost during the move: the message is "
                                     "in the old or the new mailbox; read the Email again."
                                   : "The connection was lost during the copy; read the Email "
                                     "again.");
}

/* A move that left the originals flagged \Deleted: take the flag off so
 * the copy the client was told about stays visible to every client. */
static void undelete(struct email_set_ctx *c, const struct group *from,
                     const struct backend_copy_result *r)
{
    struct gw_error err = { 0 };
    static const char *const deleted[] = { "\\Deleted" };
    if (r->outcome != BACKEND_COPY_NOT_REMOVED || !r->source_deleted_flag || backend_is_broken(c->b))
        return;
    struct backend_store_req req = { .set = msgset_of(from), .op = BACKEND_STORE_REMOVE,
                                     .flags = deleted, .n_flags = 1 };
    if (backend_store_flags(c->b, &req, NULL, &err) != 0)
        gw_log_warn("account %s: could not clear \\Deleted after a partial move: %s",
                    c->m->account_id, err.msg);
}

/* Tells the cache where the copies now are (COPYUID), so the sync keeps
 * the Email's id even where the server has no identity for messages. */
static void expect_copies(struct email_set_ctx *c, const char *email_id, const char *dest_id,
                          const struct backend_copy_result *r)
{
    struct gw_error err = { 0 };
    for (size_t i = 0; r != NULL && i < r->n; i++) {
        if (mail_store_expect_location(c->m->ms, c->m->account_id, email_id, dest_id,
                                       r->dest_uidvalidity, r->dest_uids[i], &err) != 0)
            gw_log_warn("account %s: new location of %s not recorded: %s", c->m->account_id,
                        email_id, err.msg);
    }
}

static int copy_into(struct email_set_ctx *c, const char *email_id, struct groups *g,
                     const char *dest_id, const struct email_set_names *want, bool may_move,
                     json_t **set_error)
{
    struct gw_error err = { 0 };
    struct backend_copy_result *r = NULL;
    const char *dest = mailbox_raw(c, dest_id);
    struct group *from = NULL;
    if (dest == NULL) {
        *set_error = jmap_set_error_invalid_property("mailboxIds", "no such mailbox.");
        return -1;
    }
    /* A mailbox being left gives its copy by MOVE; else copy from one
     * that stays. */
    for (size_t i = 0; may_move && i < g->n && from == NULL; i++) {
        if (!g->v[i].used && !names_has(want, g->v[i].mailbox_id))
            from = &g->v[i];
    }
    bool move = from != NULL;
    if (from == NULL)
        from = &g->v[0];
    struct backend_msgset set = msgset_of(from);
    int rc = move ? backend_move(c->b, &set, dest, &r, &err)
                  : backend_copy(c->b, &set, dest, &r, &err);
    if (move && r != NULL && r->outcome != BACKEND_COPY_NONE)
        from->used = true;  /* never expunged a second time below */
    expect_copies(c, email_id, dest_id, r);
    if (rc != 0) {
        gw_log_info("account %s: Email/set %s: %s", c->m->account_id, move ? "move" : "copy",
                    err.msg);
        *set_error = email_set_copy_failure(r, &err, move);
        if (r != NULL)
            undelete(c, from, r);
    }
    backend_copy_result_free(&r);
    return rc;
}

static bool located_in(const struct groups *g, const char *mailbox_id)
{
    for (size_t j = 0; j < g->n; j++) {
        if (strcmp(g->v[j].mailbox_id, mailbox_id) == 0)
            return true;
    }
    return false;
}

int email_set_move(struct email_set_ctx *c, const char *email_id,
                   const struct email_set_names *want, json_t **set_error)
{
    struct groups g;
    struct gw_error err = { 0 };
    int rc = -1;
    if (groups_load(c, email_id, &g, set_error) != 0)
        return -1;
    /* Copies first while every original is still in place; the last new
     * mailbox may then take one by MOVE. */
    size_t last_new = want->n;
    for (size_t i = 0; i < want->n; i++) {
        if (!located_in(&g, want->v[i]))
            last_new = i;
    }
    for (size_t i = 0; i < want->n; i++) {
        if (!located_in(&g, want->v[i]) &&
            copy_into(c, email_id, &g, want->v[i], want, i == last_new, set_error) != 0)
            goto out;
    }
    for (size_t i = 0; i < g.n; i++) {
        if (g.v[i].used || names_has(want, g.v[i].mailbox_id))
            continue;
        struct backend_msgset set = msgset_of(&g.v[i]);
        if (backend_expunge_uids(c->b, &set, &err) != 0) {
            *set_error = partial_error(&err, "The message is in its new mailboxes but still in "
                                             "an old one too; nothing is lost.");
            goto out;
        }
    }
    rc = 0;
out:
    groups_free(&g);
    return rc;
}

int email_set_expunge_all(struct email_set_ctx *c, const char *email_id, json_t **set_error)
{
    struct groups g;
    struct gw_error err = { 0 };
    int rc = 0;
    if (groups_load(c, email_id, &g, set_error) != 0)
        return -1;
    for (size_t i = 0; i < g.n && rc == 0; i++) {
        struct backend_msgset set = msgset_of(&g.v[i]);
        if ((rc = backend_expunge_uids(c->b, &set, &err)) != 0)
            *set_error = i == 0 ? jmap_set_error_from_gw(&err)
                                : partial_error(&err, "Some copies were removed, others not.");
    }
    groups_free(&g);
    return rc;
}
