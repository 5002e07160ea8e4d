/* mailbox_set.c - Mailbox/set (RFC 8621 §2.5) over the IMAP write
 * primitives: CREATE [USE], RENAME (rename and move in the hierarchy),
 * DELETE, SUBSCRIBE/UNSUBSCRIBE.
 *
 * Ids survive a rename because the mail cache matches a renamed mailbox by
 * its UIDVALIDITY (include/mail_store.h). After each change the cache is
 * synced, so the next entry of the same call (a child of a mailbox just
 * created, a mailbox just renamed) sees it, and newState and
 * Mailbox/changes say exactly what happened.
 *
 * sortOrder: IMAP cannot store it and the cache derives it from the role,
 * so a value other than the one the server reports is refused with
 * invalidProperties ["sortOrder"] rather than accepted and forgotten.
 * role: given at create through CREATE-SPECIAL-USE when the server offers
 * it; changing the role of an existing mailbox is refused (IMAP has no
 * command for it without METADATA). */
#define _GNU_SOURCE 1 /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_mail_write.h"
#include "gw_log.h"
#include "jmap_mail.h"
#include "jmap_methods_all.h"
#include "jmap_set.h"
#include "mailbox_set.h"

static const struct jmap_set_prop mailbox_props[] = {
    { "id", JMAP_PROP_SERVER_SET | JMAP_PROP_IMMUTABLE },
    { "name", 0 },
    { "parentId", 0 },
    { "role", 0 },
    { "sortOrder", 0 },
    { "isSubscribed", 0 },
    { "totalEmails", JMAP_PROP_SERVER_SET },
    { "unreadEmails", JMAP_PROP_SERVER_SET },
    { "totalThreads", JMAP_PROP_SERVER_SET },
    { "unreadThreads", JMAP_PROP_SERVER_SET },
    { "myRights", JMAP_PROP_SERVER_SET },
    { NULL, 0 },
};

static const struct {
    const char *role;
    enum backend_special_use use;
} roles[] = {
    { "drafts", BACKEND_USE_DRAFTS }, { "sent", BACKEND_USE_SENT },
    { "trash", BACKEND_USE_TRASH },   { "junk", BACKEND_USE_JUNK },
    { "archive", BACKEND_USE_ARCHIVE }, { "all", BACKEND_USE_ALL },
    { "flagged", BACKEND_USE_FLAGGED },
};

/* The value the cache reports for a role (mail_store.h sort_order). */
static uint32_t default_sort_order(const char *role)
{
    static const char *const order[] = { "inbox", "drafts", "sent", "archive", "junk", "trash" };
    for (size_t i = 0; role != NULL && i < sizeof(order) / sizeof(order[0]); i++) {
        if (strcmp(role, order[i]) == 0)
            return (uint32_t)i + 1;
    }
    return 10;
}

static json_t *opt_string(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* The writable properties and counts of a cached mailbox, what a patch
 * is applied to. */
static json_t *current_json(const struct mail_store_mailbox *x)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:I, s:b, s:I, s:I, s:I, s:I}", "id", x->id, "name",
                     x->name, "parentId", opt_string(x->parent_id), "role", opt_string(x->role),
                     "sortOrder", (json_int_t)x->sort_order, "isSubscribed", x->subscribed != 0,
                     "totalEmails", (json_int_t)x->total_emails, "unreadEmails",
                     (json_int_t)x->unread_emails, "totalThreads", (json_int_t)x->total_threads,
                     "unreadThreads", (json_int_t)x->unread_threads);
}

const struct mail_store_mailbox *mailbox_set_find(const struct mail_store_mailbox_list *l,
                                                  const char *id)
{
    for (size_t i = 0; id != NULL && l != NULL && i < l->n; i++) {
        if (strcmp(l->v[i].id, id) == 0)
            return &l->v[i];
    }
    return NULL;
}

static const struct mail_store_mailbox *find_raw(const struct mail_store_mailbox_list *l,
                                                 const char *name_raw)
{
    for (size_t i = 0; l != NULL && i < l->n; i++) {
        if (strcmp(l->v[i].name_raw, name_raw) == 0)
            return &l->v[i];
    }
    return NULL;
}

/* Re-reads the cache after a change (the list is then current). */
static int reload(struct mailbox_set_ctx *c, struct gw_error *err)
{
    struct mail_store_mailbox_list *fresh = NULL;
    if (jmap_mail_sync_now(c->m, err) != 0 ||
        mail_store_list_mailboxes(c->m->ms, c->m->account_id, &fresh, err) != 0)
        return -1;   /* the old list stays: never NULL while entries run */
    mail_store_mailbox_list_free(&c->list);
    c->list = fresh;
    return 0;
}

/* The connection, taken once per entry and given back before a sync (the
 * sync takes its own from the same pool). */
static int acquire(struct mailbox_set_ctx *c, struct mail_backend **b, json_t **set_error)
{
    json_t *error = jmap_mail_backend_acquire(c->m, b);
    if (error == NULL)
        return 0;
    json_object_set_new(error, "type", json_string("serverFail"));
    *set_error = error;
    return -1;
}

/* After a backend write: sync, then report the write's own failure if any.
 * A write that happened is reported as done even when the sync fails (the
 * next request's sync catches up); only its result may then be missing. */
static int finish_write(struct mailbox_set_ctx *c, struct mail_backend **b, int rc,
                        const struct gw_error *werr, json_t **set_error)
{
    struct gw_error err = { 0 };
    jmap_mail_backend_release(c->m, b);
    if (rc != 0) {
        gw_log_info("account %s: Mailbox/set: %s", c->m->account_id, werr->msg);
        *set_error = jmap_set_error_from_gw(werr);
    }
    if (reload(c, &err) != 0)
        gw_log_warn("account %s: sync after Mailbox/set: %s", c->m->account_id, err.msg);
    return rc;
}

static bool name_taken(const struct mailbox_set_ctx *c, const char *parent_id, const char *name,
                       const char *except_id)
{
    for (size_t i = 0; i < c->list->n; i++) {
        const struct mail_store_mailbox *x = &c->list->v[i];
        bool same_parent = (parent_id == NULL && x->parent_id == NULL) ||
                           (parent_id != NULL && x->parent_id != NULL &&
                            strcmp(parent_id, x->parent_id) == 0);
        if (same_parent && (except_id == NULL || strcmp(x->id, except_id) != 0) &&
            (strcmp(x->name, name) == 0 ||
             (parent_id == NULL && strcasecmp(name, "INBOX") == 0 &&
              strcasecmp(x->name, "INBOX") == 0)))
            return true;
    }
    return false;
}

/* The wire name of name under parent_id (NULL: top level), checking the
 * JMAP rules on the way. Returns a new string or NULL with *set_error. */
static char *wire_name(struct mailbox_set_ctx *c, struct mail_backend *b, json_t *name_v,
                       const char *parent_id, const char *self_id, json_t **set_error)
{
    const char *name = json_string_value(name_v);
    struct gw_error err = { 0 };
    char *leaf = NULL, *full = NULL;
    if (name == NULL || name[0] == '\0') {
        *set_error = jmap_set_error_invalid_property("name", "name must be a non-empty string.");
        return NULL;
    }
    char delim = 0;
    if (mailbox_set_delimiter(c, b, &delim, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return NULL;
    }
    if (delim != 0 && strchr(name, delim) != NULL) {
        char desc[80];
        snprintf(desc, sizeof(desc), "name may not contain the hierarchy separator \"%c\".",
                 delim);
        *set_error = jmap_set_error_invalid_property("name", desc);
        return NULL;
    }
    if (name_taken(c, parent_id, name, self_id)) {
        *set_error = jmap_set_error_invalid_property("name", "a sibling has this name already.");
        return NULL;
    }
    if (backend_mailbox_name_encode(name, &leaf, &err) != 0) {
        *set_error = jmap_set_error_invalid_property("name", err.msg);
        return NULL;
    }
    const struct mail_store_mailbox *parent = mailbox_set_find(c->list, parent_id);
    if (parent == NULL) {
        full = leaf;
        leaf = NULL;
    } else if (delim == 0) {
        *set_error = jmap_set_error_invalid_property("parentId",
                                                     "this server has no mailbox hierarchy.");
    } else if (asprintf(&full, "%s%c%s", parent->name_raw, delim, leaf) < 0) {
        full = NULL;
        *set_error = jmap_set_error_new("serverFail", NULL);
    }
    free(leaf);
    return full;
}

/* parentId of obj: NULL for null, else the resolved id of an existing
 * mailbox. Returns 0, or -1 with *set_error. */
static int parent_of(struct mailbox_set_ctx *c, json_t *obj, const char **out, json_t **set_error)
{
    json_t *v = json_object_get(obj, "parentId");
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    const char *id = jmap_set_resolve_id(c->m->inv, json_string_value(v));
    if (!json_is_string(v) || mailbox_set_find(c->list, id) == NULL) {
        *set_error = jmap_set_error_invalid_property("parentId", "no such parent mailbox.");
        return -1;
    }
    *out = mailbox_set_find(c->list, id)->id;
    return 0;
}

static json_t *check_sort_order(json_t *obj, const char *role)
{
    json_t *v = json_object_get(obj, "sortOrder");
    if (v == NULL || (json_is_integer(v) && json_integer_value(v) == default_sort_order(role)))
        return NULL;
    return jmap_set_error_invalid_property(
        "sortOrder", "this server derives sortOrder from the role and cannot store another.");
}

static int check_bool(json_t *obj, const char *name, json_t **set_error)
{
    json_t *v = json_object_get(obj, name);
    if (v == NULL || json_is_boolean(v))
        return 0;
    *set_error = jmap_set_error_invalid_property(name, "must be true or false.");
    return -1;
}

static int create_role(struct mailbox_set_ctx *c, struct mail_backend *b, json_t *role_v,
                       enum backend_special_use *use, json_t **set_error)
{
    const char *role = json_string_value(role_v);
    *use = BACKEND_USE_NONE;
    if (role_v == NULL || json_is_null(role_v))
        return 0;
    for (size_t i = 0; role != NULL && i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(role, roles[i].role) == 0)
            *use = roles[i].use;
    }
    if (*use == BACKEND_USE_NONE) {
        *set_error = jmap_set_error_invalid_property("role", "not a role this server can set.");
        return -1;
    }
    for (size_t i = 0; i < c->list->n; i++) {
        if (c->list->v[i].role != NULL && strcmp(c->list->v[i].role, role) == 0) {
            *set_error = jmap_set_error_invalid_property("role",
                                                         "another mailbox has this role.");
            return -1;
        }
    }
    if (!backend_has_capability(b, "CREATE-SPECIAL-USE")) {
        *set_error = jmap_set_error_invalid_property(
            "role", "the mail server cannot give a new mailbox a role (no CREATE-SPECIAL-USE).");
        return -1;
    }
    return 0;
}

static int mailbox_create(void *ctx, const char *cid, json_t *obj, json_t **result,
                          json_t **set_error)
{
    struct mailbox_set_ctx *c = ctx;
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    const char *parent_id = NULL;
    enum backend_special_use use = BACKEND_USE_NONE;
    char *raw = NULL;
    int rc = -1;
    (void)cid;

    if ((*set_error = jmap_set_check_properties(mailbox_props, obj, NULL)) != NULL ||
        (*set_error = check_sort_order(obj, json_string_value(json_object_get(obj, "role")))) !=
            NULL ||
        check_bool(obj, "isSubscribed", set_error) != 0 ||
        parent_of(c, obj, &parent_id, set_error) != 0 || acquire(c, &b, set_error) != 0)
        return -1;
    if (create_role(c, b, json_object_get(obj, "role"), &use, set_error) != 0 ||
        (raw = wire_name(c, b, json_object_get(obj, "name"), parent_id, NULL, set_error)) == NULL) {
        jmap_mail_backend_release(c->m, &b);
        return -1;
    }
    rc = backend_create_mailbox(b, raw, use, &err);
    if (rc == 0 && json_is_true(json_object_get(obj, "isSubscribed")))
        rc = backend_subscribe(b, raw, true, &err);
    if (finish_write(c, &b, rc, &err, set_error) != 0)
        goto out;
    const struct mail_store_mailbox *x = find_raw(c->list, raw);
    if (x == NULL) {
        *set_error = jmap_set_error_new("serverFail", "The mailbox was created but is not listed.");
        rc = -1;
        goto out;
    }
    *result = json_pack("{s:s, s:I, s:I, s:I, s:I}", "id", x->id, "totalEmails",
                        (json_int_t)x->total_emails, "unreadEmails", (json_int_t)x->unread_emails,
                        "totalThreads", (json_int_t)x->total_threads, "unreadThreads",
                        (json_int_t)x->unread_threads);
    if (json_object_get(obj, "sortOrder") == NULL)
        json_object_set_new(*result, "sortOrder", json_integer(x->sort_order));
    if (json_object_get(obj, "isSubscribed") == NULL)
        json_object_set_new(*result, "isSubscribed", json_boolean(x->subscribed));
    if (json_object_get(obj, "role") == NULL)
        json_object_set_new(*result, "role", opt_string(x->role));
    rc = 0;
out:
    free(raw);
    return rc;
}

/* True when candidate is id or lies below it. */
static bool is_self_or_below(const struct mail_store_mailbox_list *l, const char *id,
                             const char *candidate)
{
    for (size_t depth = 0; candidate != NULL && depth <= l->n; depth++) {
        if (strcmp(candidate, id) == 0)
            return true;
        const struct mail_store_mailbox *x = mailbox_set_find(l, candidate);
        candidate = x != NULL ? x->parent_id : NULL;
    }
    return false;
}

static int mailbox_update(void *ctx, const char *id, json_t *patch, json_t **result,
                          json_t **set_error)
{
    struct mailbox_set_ctx *c = ctx;
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    json_t *cur = NULL, *next = NULL;
    char *raw = NULL;
    int rc = -1;
    const struct mail_store_mailbox *x = mailbox_set_find(c->list, id);
    (void)result;
    if (x == NULL) {
        *set_error = jmap_set_error_new("notFound", NULL);
        return -1;
    }
    char *old_raw = strdup(x->name_raw);
    bool was_subscribed = x->subscribed != 0;
    cur = current_json(x);
    if (old_raw == NULL || cur == NULL || (next = jmap_set_patch_apply(cur, patch, set_error)) == NULL)
        goto out;
    if ((*set_error = jmap_set_check_properties(mailbox_props, next, cur)) != NULL ||
        (*set_error = check_sort_order(next, x->role)) != NULL ||
        check_bool(next, "isSubscribed", set_error) != 0)
        goto out;
    if (!json_equal(json_object_get(next, "role"), json_object_get(cur, "role"))) {
        *set_error = jmap_set_error_invalid_property(
            "role", "the mail server cannot change the role of an existing mailbox.");
        goto out;
    }
    const char *parent_id = NULL;
    if (parent_of(c, next, &parent_id, set_error) != 0)
        goto out;
    if (parent_id != NULL && is_self_or_below(c->list, id, parent_id)) {
        *set_error = jmap_set_error_invalid_property("parentId",
                                                     "a mailbox cannot move below itself.");
        goto out;
    }
    if (acquire(c, &b, set_error) != 0)
        goto out;
    bool moved = !json_equal(json_object_get(next, "name"), json_object_get(cur, "name")) ||
                 !json_equal(json_object_get(next, "parentId"), json_object_get(cur, "parentId"));
    const char *target = old_raw;
    int wrc = 0;
    if (moved) {
        if (x->role != NULL && strcmp(x->role, "inbox") == 0) {
            *set_error = jmap_set_error_new("forbidden", "The inbox cannot be renamed or moved.");
            jmap_mail_backend_release(c->m, &b);
            goto out;
        }
        raw = wire_name(c, b, json_object_get(next, "name"), parent_id, id, set_error);
        if (raw == NULL) {
            jmap_mail_backend_release(c->m, &b);
            goto out;
        }
        wrc = backend_rename_mailbox(b, old_raw, raw, &err);
        target = raw;
    }
    bool subscribe = json_is_true(json_object_get(next, "isSubscribed"));
    if (wrc == 0 && (subscribe != was_subscribed || (moved && was_subscribed))) {
        /* IMAP keeps subscriptions by name: after a rename the new name
         * is subscribed and the old one dropped. */
        if (moved && was_subscribed)
            (void)backend_subscribe(b, old_raw, false, &err);
        wrc = backend_subscribe(b, target, subscribe, &err);
    }
    rc = finish_write(c, &b, wrc, &err, set_error);
out:
    free(old_raw);
    free(raw);
    json_decref(cur);
    json_decref(next);
    return rc;
}

static int mailbox_destroy(void *ctx, const char *id, json_t **set_error)
{
    struct mailbox_set_ctx *c = ctx;
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    const struct mail_store_mailbox *x = mailbox_set_find(c->list, id);
    if (x == NULL) {
        *set_error = jmap_set_error_new("notFound", NULL);
        return -1;
    }
    if (x->role != NULL && strcmp(x->role, "inbox") == 0) {
        *set_error = jmap_set_error_new("forbidden", "The inbox cannot be destroyed.");
        return -1;
    }
    for (size_t i = 0; i < c->list->n; i++) {
        if (c->list->v[i].parent_id != NULL && strcmp(c->list->v[i].parent_id, id) == 0) {
            *set_error = jmap_set_error_new("mailboxHasChild", "The mailbox has child mailboxes.");
            return -1;
        }
    }
    if (acquire(c, &b, set_error) != 0)
        return -1;
    char *raw = strdup(x->name_raw);
    int rc = raw != NULL ? 0 : gw_error_set(&err, GW_ERR_NOMEM, "out of memory");
    if (rc == 0 && !c->remove_emails) {
        /* Ask the server, not the cache: mail may have arrived since. */
        uint32_t exists = 0;
        rc = mailbox_set_count(c, b, raw, &exists, &err);
        if (rc == 0 && exists != 0) {
            jmap_mail_backend_release(c->m, &b);
            free(raw);
            *set_error = jmap_set_error_new("mailboxHasEmail", "The mailbox is not empty.");
            return -1;
        }
    }
    if (rc == 0)
        rc = backend_delete_mailbox(b, raw, &err);
    rc = finish_write(c, &b, rc, &err, set_error);
    free(raw);
    return rc;
}

static json_t *mailbox_set(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    static const char *const extra[] = { "onDestroyRemoveEmails", NULL };
    struct jmap_mail m;
    struct jmap_set_args a;
    struct mailbox_set_ctx c = { .m = &m };
    struct jmap_set_response r = { 0 };
    struct gw_error err = { 0 };
    char old_state[MAIL_STORE_STATE_MAX], new_state[MAIL_STORE_STATE_MAX];
    json_t *out = NULL, *ordered = NULL;

    if ((*error = jmap_set_args_parse(inv, args, extra, &a)) != NULL)
        return NULL;
    json_t *rm = json_object_get(args, "onDestroyRemoveEmails");
    if (rm != NULL && !json_is_boolean(rm)) {
        *error = jmap_error_invalid_arguments("onDestroyRemoveEmails", "must be true or false");
        return NULL;
    }
    c.remove_emails = json_is_true(rm);
    if ((*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_MAILBOX, old_state)) != NULL ||
        (*error = jmap_set_check_if_in_state(&a, old_state)) != NULL)
        return NULL;
    if (mail_store_list_mailboxes(m.ms, m.account_id, &c.list, &err) != 0 ||
        (ordered = mailbox_set_destroy_order(&c, inv, a.destroy, &err)) == NULL) {
        *error = jmap_error_from_gw(&err);
        goto out;
    }
    a.destroy = ordered;
    const struct jmap_set_ops ops = { &c, mailbox_create, mailbox_update, mailbox_destroy };
    jmap_set_response_init(&r);
    if (jmap_set_run(inv, &a, &ops, &r) != 0) {
        *error = jmap_error_new("serverFail", NULL);
        goto out;
    }
    if ((*error = jmap_mail_state(&m, MAIL_STORE_MAILBOX, new_state)) != NULL)
        goto out;
    out = jmap_set_response_finish(&r, m.account_id, old_state, new_state);
out:
    jmap_set_response_clear(&r);
    json_decref(ordered);
    mail_store_mailbox_list_free(&c.list);
    return out;
}

const struct jmap_method jmap_mailbox_set_methods[] = {
    { "Mailbox/set", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, mailbox_set },
};
const size_t jmap_mailbox_set_method_count =
    sizeof(jmap_mailbox_set_methods) / sizeof(jmap_mailbox_set_methods[0]);
