/* email_set.c - Email/set (RFC 8621 §4.6): create through
 * email_create_one() (api/mail/email_create.h), update of keywords and
 * mailboxIds (whole or patched), destroy from every mailbox. The IMAP
 * side is in email_set_write.c.
 *
 * Email ids survive a move: with Dovecot the message keeps its X-GUID
 * through MOVE and COPY, and the cache keys Emails by it, so the sync after
 * the write finds the same Email in its new mailbox. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "email_create.h"
#include "email_set.h"
#include "gw_log.h"
#include "jmap_methods_all.h"
#include "jmap_set.h"
#include "jmap_text.h"

/* Every other Email property is immutable once the message exists. */
static const struct jmap_set_prop email_update_props[] = {
    { "id", JMAP_PROP_SERVER_SET | JMAP_PROP_IMMUTABLE },
    { "keywords", 0 },
    { "mailboxIds", 0 },
    { NULL, 0 },
};

void email_set_names_clear(struct email_set_names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_add(struct email_set_names *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], x) == 0)
            return 0;
    }
    char **nv = realloc(s->v, (s->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -1;
    s->v = nv;
    if ((s->v[s->n] = strdup(x)) == NULL)
        return -1;
    s->n++;
    return 0;
}

static bool mailbox_exists(const struct email_set_ctx *c, const char *id)
{
    for (size_t i = 0; id != NULL && i < c->mailboxes->n; i++) {
        if (strcmp(c->mailboxes->v[i].id, id) == 0)
            return true;
    }
    return false;
}

/* The keys of a keywords or mailboxIds object (values must be true):
 * keywords validated and lower-cased, mailbox ids resolved ("#cid") and
 * checked to exist. 0, or -1 with invalidProperties naming the property. */
static int names_of(struct email_set_ctx *c, json_t *obj, const char *property,
                    struct email_set_names *out, json_t **set_error)
{
    bool keywords = strcmp(property, "keywords") == 0;
    const char *key;
    json_t *v;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj)) {
        *set_error = jmap_set_error_invalid_property(property, "must be an object.");
        return -1;
    }
    json_object_foreach(obj, key, v) {
        char lower[256];
        const char *name = key;
        if (!json_is_true(v)) {
            *set_error = jmap_set_error_invalid_property(property, "every value must be true.");
            goto fail;
        }
        if (keywords) {
            size_t len = strlen(key);
            if (!jmap_keyword_is_valid(key) || len >= sizeof(lower)) {
                *set_error = jmap_set_error_invalid_property(property, "not a valid keyword.");
                goto fail;
            }
            for (size_t i = 0; i <= len; i++)
                lower[i] = (char)tolower((unsigned char)key[i]);
            name = lower;
        } else {
            name = jmap_set_resolve_id(c->m->inv, key);
            if (!mailbox_exists(c, name)) {
                *set_error = jmap_set_error_invalid_property(property, "no such mailbox.");
                goto fail;
            }
        }
        if (names_add(out, name) != 0) {
            *set_error = jmap_set_error_new("serverFail", NULL);
            goto fail;
        }
    }
    if (!keywords && out->n == 0) {
        *set_error = jmap_set_error_invalid_property(property,
                                                     "an Email must be in at least one mailbox.");
        goto fail;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_str);
    return 0;
fail:
    email_set_names_clear(out);
    return -1;
}

/* a minus b into out (both sorted). */
static int names_minus(const struct email_set_names *a, const struct email_set_names *b,
                       struct email_set_names *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < a->n; i++) {
        bool in_b = b->n != 0 && bsearch(&a->v[i], b->v, b->n, sizeof(*b->v), cmp_str) != NULL;
        if (!in_b && names_add(out, a->v[i]) != 0)
            return -1;
    }
    return 0;
}

int email_set_backend(struct email_set_ctx *c, json_t **set_error)
{
    if (c->b != NULL)
        return 0;
    json_t *error = jmap_mail_backend_acquire(c->m, &c->b);
    if (error == NULL)
        return 0;
    json_object_set_new(error, "type", json_string("serverFail"));
    *set_error = error;
    return -1;
}

static json_t *set_of(char **v, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++)
        json_object_set_new(o, v[i], json_true());
    return o;
}

/* Keyword paths compare case-insensitively: "keywords/$Seen" is $seen. */
static json_t *normalized_patch(json_t *patch)
{
    json_t *out = json_object();
    const char *path;
    json_t *v;
    json_object_foreach(patch, path, v) {
        char *p = strdup(path);
        if (p == NULL || out == NULL) {
            free(p);
            json_decref(out);
            return NULL;
        }
        if (strncmp(p, "keywords/", 9) == 0) {
            for (char *q = p + 9; *q != '\0'; q++)
                *q = (char)tolower((unsigned char)*q);
        }
        json_object_set(out, p, v);
        free(p);
    }
    return out;
}

static int email_update(void *ctx, const char *id, json_t *patch, json_t **result,
                        json_t **set_error)
{
    struct email_set_ctx *c = ctx;
    struct gw_error err = { 0 };
    struct mail_store_email_list *l = NULL;
    struct email_set_names old_kw = { 0 }, new_kw = { 0 }, mboxes = { 0 }, add = { 0 },
                           rm = { 0 };
    json_t *cur = NULL, *next = NULL, *npatch = NULL;
    int rc = -1;
    (void)result;
    if (mail_store_get_emails(c->m->ms, c->m->account_id, &id, 1, 0, &l, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return -1;
    }
    if (l->n == 0) {
        *set_error = jmap_set_error_new("notFound", NULL);
        goto out;
    }
    const struct mail_store_email *e = &l->v[0];
    cur = json_pack("{s:s, s:o, s:o}", "id", e->id, "keywords", set_of(e->keywords, e->n_keywords),
                    "mailboxIds", set_of(e->mailbox_ids, e->n_mailbox_ids));
    if (cur == NULL || (npatch = normalized_patch(patch)) == NULL) {
        *set_error = jmap_set_error_new("serverFail", NULL);
        goto out;
    }
    if ((next = jmap_set_patch_apply(cur, npatch, set_error)) == NULL ||
        (*set_error = jmap_set_check_properties(email_update_props, next, cur)) != NULL ||
        names_of(c, json_object_get(next, "keywords"), "keywords", &new_kw, set_error) != 0 ||
        names_of(c, json_object_get(next, "mailboxIds"), "mailboxIds", &mboxes, set_error) != 0)
        goto out;
    if (names_of(c, json_object_get(cur, "keywords"), "keywords", &old_kw, set_error) != 0 ||
        names_minus(&new_kw, &old_kw, &add) != 0 || names_minus(&old_kw, &new_kw, &rm) != 0) {
        if (*set_error == NULL)
            *set_error = jmap_set_error_new("serverFail", NULL);
        goto out;
    }
    bool move = !json_equal(json_object_get(next, "mailboxIds"),
                            json_object_get(cur, "mailboxIds"));
    if ((add.n != 0 || rm.n != 0 || move) && email_set_backend(c, set_error) != 0)
        goto out;
    /* Keywords first: the copies a move makes then carry them. */
    if (email_set_store_keywords(c, id, &add, &rm, set_error) != 0)
        goto out;
    if (move && email_set_move(c, id, &mboxes, set_error) != 0)
        goto out;
    rc = 0;
out:
    email_set_names_clear(&old_kw);
    email_set_names_clear(&new_kw);
    email_set_names_clear(&mboxes);
    email_set_names_clear(&add);
    email_set_names_clear(&rm);
    json_decref(cur);
    json_decref(next);
    json_decref(npatch);
    mail_store_email_list_free(&l);
    return rc;
}

static int email_destroy(void *ctx, const char *id, json_t **set_error)
{
    struct email_set_ctx *c = ctx;
    if (email_set_backend(c, set_error) != 0)
        return -1;
    return email_set_expunge_all(c, id, set_error);
}

static int email_create(void *ctx, const char *cid, json_t *obj, json_t **result,
                        json_t **set_error)
{
    struct email_set_ctx *c = ctx;
    (void)cid;
    *result = email_create_one(c->m, obj, set_error);
    if (*result == NULL)
        return -1;
    if (!json_is_string(json_object_get(*result, "id"))) {
        json_decref(*result);
        *result = NULL;
        *set_error = jmap_set_error_new("serverFail", "The Email was stored without an id.");
        return -1;
    }
    return 0;
}

static json_t *email_set(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_mail m;
    struct jmap_set_args a;
    struct email_set_ctx c = { .m = &m };
    struct jmap_set_response r = { 0 };
    struct gw_error err = { 0 };
    char old_state[MAIL_STORE_STATE_MAX], new_state[MAIL_STORE_STATE_MAX];
    json_t *out = NULL;

    if ((*error = jmap_set_args_parse(inv, args, NULL, &a)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, old_state)) != NULL ||
        (*error = jmap_set_check_if_in_state(&a, old_state)) != NULL)
        return NULL;
    if (mail_store_list_mailboxes(m.ms, m.account_id, &c.mailboxes, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        return NULL;
    }
    const struct jmap_set_ops ops = { &c, email_create, email_update, email_destroy };
    jmap_set_response_init(&r);
    int rc = jmap_set_run(inv, &a, &ops, &r);
    jmap_mail_backend_release(&m, &c.b);
    /* The cache must now say what the server holds. If it cannot, the
     * client is still told what was written; newState stays the cache's
     * and the next request's sync catches up. */
    if (jmap_mail_sync_now(&m, &err) != 0)
        gw_log_warn("account %s: sync after Email/set: %s", m.account_id, err.msg);
    if (rc != 0) {
        *error = jmap_error_new("serverFail", NULL);
        goto out;
    }
    if ((*error = jmap_mail_state(&m, MAIL_STORE_EMAIL, new_state)) != NULL)
        goto out;
    out = jmap_set_response_finish(&r, m.account_id, old_state, new_state);
out:
    jmap_set_response_clear(&r);
    mail_store_mailbox_list_free(&c.mailboxes);
    return out;
}

const struct jmap_method jmap_email_set_methods[] = {
    { "Email/set", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, email_set },
};
const size_t jmap_email_set_method_count =
    sizeof(jmap_email_set_methods) / sizeof(jmap_email_set_methods[0]);
