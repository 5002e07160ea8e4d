/* email_submission_set.c - EmailSubmission/set (RFC 8621 §7.5): create
 * sends (or queues) a message, update only cancels a pending one, destroy
 * forgets the record; then onSuccessUpdateEmail / onSuccessDestroyEmail
 * run once, through Email/set's own implementation, whose response follows
 * this one as the RFC's implicit Email/set call. */
#define _GNU_SOURCE 1 /* timegm */
#include "email_submission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "gw_log.h"
#include "identity_store.h"
#include "jmap_set.h"
#include "jmap_submission.h"
#include "submission_store.h"

static const struct jmap_set_prop create_props[] = {
    {"id", JMAP_PROP_SERVER_SET},
    {"identityId", JMAP_PROP_IMMUTABLE},
    {"emailId", JMAP_PROP_IMMUTABLE},
    {"threadId", JMAP_PROP_SERVER_SET},
    {"envelope", JMAP_PROP_IMMUTABLE},
    {"sendAt", JMAP_PROP_IMMUTABLE},
    {"undoStatus", 0},
    {"deliveryStatus", JMAP_PROP_SERVER_SET},
    {"dsnBlobIds", JMAP_PROP_SERVER_SET},
    {"mdnBlobIds", JMAP_PROP_SERVER_SET},
    {NULL, 0},
};

struct sub_set {
    struct jmap_invocation *inv;
    struct jmap_mail *m;
    json_t *identities;         /* live Identity objects */
    json_t *before;             /* live submissions at the start */
    json_t *email_of;           /* creation id or id -> emailId of this call's successes */
};

static void format_utc(int64_t t, char out[21])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    if (strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
}

static int parse_utc(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = s != NULL ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;

    if (end == NULL || (strcmp(end, "Z") != 0 && strcmp(end, "z") != 0))
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* When to send (unix seconds): sendAt, or the FUTURERELEASE parameters
 * HOLDFOR / HOLDUNTIL (RFC 4865) of mailFrom, which the gateway honours
 * itself; now when none. NULL or a SetError. */
static json_t *send_time(json_t *obj, int64_t now, int64_t *at)
{
    json_t *p = json_object_get(json_object_get(json_object_get(obj, "envelope"), "mailFrom"),
                                "parameters");
    json_t *hold_for = json_object_get(p, "HOLDFOR");
    const char *hold_until = json_string_value(json_object_get(p, "HOLDUNTIL"));
    json_t *send_at = json_object_get(obj, "sendAt");

    *at = now;
    if (hold_for != NULL) {
        const char *s = json_string_value(hold_for);
        char *end = NULL;
        long long v = s != NULL ? strtoll(s, &end, 10) : -1;
        if (s == NULL || *end != '\0' || v < 0)
            return jmap_set_error_invalid_property("envelope", "HOLDFOR is not a number.");
        *at = now + v;
    } else if (hold_until != NULL) {
        if (parse_utc(hold_until, at) < 0)
            return jmap_set_error_invalid_property("envelope", "HOLDUNTIL is not a UTCDate.");
    } else if (send_at != NULL && !json_is_null(send_at)) {
        if (parse_utc(json_string_value(send_at), at) < 0)
            return jmap_set_error_invalid_property("sendAt", "Not a UTCDate.");
    }
    if (*at < now)
        *at = now;
    if (*at - now > (int64_t)jmap_submission_max_delayed_send())
        return jmap_set_error_invalid_property("sendAt", "Later than maxDelayedSend allows.");
    return NULL;
}

static bool address_ok(json_t *a)
{
    json_t *p = json_object_get(a, "parameters");
    return json_is_object(a) && json_is_string(json_object_get(a, "email")) &&
           (p == NULL || json_is_null(p) || json_is_object(p));
}

static json_t *check_create(struct sub_set *c, json_t *obj, const char **identity_email)
{
    json_t *e = jmap_set_check_properties(create_props, obj, NULL);
    json_t *env = json_object_get(obj, "envelope");
    json_t *undo = json_object_get(obj, "undoStatus");
    size_t i;
    json_t *x;

    if (e != NULL)
        return e;
    if (!json_is_string(json_object_get(obj, "emailId")))
        return jmap_set_error_invalid_property("emailId", "Required.");
    if (undo != NULL && !(json_is_string(undo) && strcmp(json_string_value(undo), "pending") == 0))
        return jmap_set_error_invalid_property("undoStatus", "Only pending may be asked.");
    if (env != NULL && !json_is_null(env)) {
        bool ok = json_is_object(env) && address_ok(json_object_get(env, "mailFrom")) &&
                  json_is_array(json_object_get(env, "rcptTo"));
        json_array_foreach(json_object_get(env, "rcptTo"), i, x)
            ok = ok && address_ok(x);
        if (!ok)
            return jmap_set_error_invalid_property("envelope", "Not an Envelope.");
    }
    const char *iid = json_string_value(json_object_get(obj, "identityId"));
    json_array_foreach(c->identities, i, x)
        if (iid != NULL && strcmp(json_string_value(json_object_get(x, "id")), iid) == 0)
            *identity_email = json_string_value(json_object_get(x, "email"));
    if (*identity_email == NULL)
        return jmap_set_error_invalid_property("identityId", "No such Identity.");
    return NULL;
}

/* The stored object for a create (new reference). */
static json_t *new_object(json_t *obj, const char *email_id, int64_t at)
{
    char when[21];
    json_t *env = json_object_get(obj, "envelope");

    format_utc(at, when);
    json_t *o = json_pack("{s:O, s:s, s:s, s:s, s:n, s:[], s:[]}", "identityId",
                          json_object_get(obj, "identityId"), "emailId", email_id, "sendAt", when,
                          "undoStatus", "pending", "deliveryStatus", "dsnBlobIds", "mdnBlobIds");
    if (o != NULL && env != NULL && !json_is_null(env))
        json_object_set(o, "envelope", env);
    return o;
}

/* Stores obj and sends it now, or queues it. 0 or -1 with *set_error. */
static int store_and_send(struct sub_set *c, json_t *o, const char *msg, size_t len, bool now,
                          char id[SUBMISSION_ID_MAX], json_t **set_error)
{
    struct jmap_mail *m = c->m;
    struct gw_error err = {0};
    int64_t when = (int64_t)time(NULL);
    const char *send_at = json_string_value(json_object_get(o, "sendAt"));

    if (!now && send_at != NULL)
        parse_utc(send_at, &when);
    /* A send now is claimed ("sending") before the first byte goes out. */
    if (submission_store_create(m->ms, m->account_id, o, now ? "sending" : "queued", when, msg,
                                len, id, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return -1;
    }
    if (!now) {
        email_submission_sender_watch(m->account);
        return 0;
    }
    json_t *failure = NULL;
    int rc = email_submission_send(m, id, o, msg, len, &failure);
    int64_t retry_at = rc == 1 ? email_submission_retry_at(0) : 0;
    if (rc < 0 || (rc == 1 && retry_at == 0)) {
        submission_store_destroy(m->ms, m->account_id, id, &err);
        *set_error = failure;
        return -1;
    }
    /* Deferred (server down, 4xx): created, pending, retried from the queue. */
    json_decref(failure);
    if (submission_store_finish(m->ms, m->account_id, id, o, retry_at, &err) != 0)
        gw_log_warn("account %s: submission %s: %s", m->account_id, id, err.msg);
    if (retry_at > 0)
        email_submission_sender_watch(m->account);
    return 0;
}

static int sub_create(void *ctx, const char *cid, json_t *obj, json_t **result, json_t **set_error)
{
    struct sub_set *c = ctx;
    const char *identity_email = NULL;
    int64_t now = (int64_t)time(NULL), at;
    char id[SUBMISSION_ID_MAX], *msg = NULL;
    size_t len = 0;
    json_t *o = NULL;
    int ret = -1;

    if ((*set_error = check_create(c, obj, &identity_email)) != NULL ||
        (*set_error = send_time(obj, now, &at)) != NULL)
        return -1;
    const char *email_id = jmap_set_resolve_id(c->inv, json_string_value(json_object_get(obj, "emailId")));
    if (email_id == NULL) {
        *set_error = jmap_set_error_invalid_property("emailId", "Unknown creation id.");
        return -1;
    }
    o = new_object(obj, email_id, at);
    if (o == NULL) {
        *set_error = jmap_set_error_new("serverFail", "out of memory");
        return -1;
    }
    if (email_submission_prepare(c->m, o, identity_email, set_error) != 0 ||
        email_submission_fetch(c->m, email_id, &msg, &len, set_error) != 0 ||
        store_and_send(c, o, msg, len, at <= now, id, set_error) != 0)
        goto out;
    *result = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "id", id, "threadId",
                        json_object_get(o, "threadId"), "sendAt", json_object_get(o, "sendAt"),
                        "undoStatus", json_object_get(o, "undoStatus"), "deliveryStatus",
                        json_object_get(o, "deliveryStatus"), "envelope",
                        json_object_get(o, "envelope"));
    json_object_set_new(c->email_of, cid, json_string(email_id));
    ret = 0;
out:
    free(msg);
    json_decref(o);
    return ret;
}

/* emailId of a submission that existed at the start, or NULL. */
static const char *email_of_existing(struct sub_set *c, const char *id)
{
    size_t i;
    json_t *o;

    json_array_foreach(c->before, i, o)
        if (strcmp(json_string_value(json_object_get(o, "id")), id) == 0)
            return json_string_value(json_object_get(o, "emailId"));
    return NULL;
}

static int sub_update(void *ctx, const char *id, json_t *patch, json_t **result,
                      json_t **set_error)
{
    struct sub_set *c = ctx;
    struct gw_error err = {0};
    const char *key;
    json_t *v;

    *result = NULL;
    json_object_foreach(patch, key, v) {
        if (strcmp(key, "undoStatus") != 0 || !json_is_string(v) ||
            strcmp(json_string_value(v), "canceled") != 0) {
            *set_error = jmap_set_error_invalid_property(
                key, "Only undoStatus may change, and only to canceled.");
            return -1;
        }
    }
    if (json_object_size(patch) == 0)
        return 0;
    if (submission_store_cancel(c->m->ms, c->m->account_id, id, &err) != 0) {
        *set_error = err.code == GW_ERR_FORBIDDEN
                         ? jmap_set_error_new("cannotUnsend", "The message was already sent.")
                         : jmap_set_error_from_gw(&err);
        return -1;
    }
    const char *email_id = email_of_existing(c, id);
    if (email_id != NULL)
        json_object_set_new(c->email_of, id, json_string(email_id));
    return 0;
}

static int sub_destroy(void *ctx, const char *id, json_t **set_error)
{
    struct sub_set *c = ctx;
    struct gw_error err = {0};

    if (submission_store_destroy(c->m->ms, c->m->account_id, id, &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        return -1;
    }
    const char *email_id = email_of_existing(c, id);
    if (email_id != NULL)
        json_object_set_new(c->email_of, id, json_string(email_id));
    return 0;
}

/* The Email id of an onSuccess key ("#cid" or an id) that succeeded in
 * this call, or NULL. */
static const char *success_email(struct sub_set *c, const char *key)
{
    return json_string_value(json_object_get(c->email_of, key[0] == '#' ? key + 1 : key));
}

/* Email/set arguments for the onSuccess* arguments (new reference), or
 * NULL when there is nothing to do. */
static json_t *on_success_args(struct sub_set *c, json_t *update, json_t *destroy)
{
    json_t *u = json_object(), *d = json_array(), *out = NULL;
    const char *key;
    json_t *v;
    size_t i;

    json_object_foreach(update, key, v) {
        const char *e = success_email(c, key);
        if (e != NULL)
            json_object_set(u, e, v);
    }
    json_array_foreach(destroy, i, v) {
        const char *e = json_is_string(v) ? success_email(c, json_string_value(v)) : NULL;
        if (e != NULL)
            json_array_append_new(d, json_string(e));
    }
    if (json_object_size(u) > 0 || json_array_size(d) > 0)
        out = json_pack("{s:s, s:O, s:O}", "accountId", c->m->account_id, "update", u,
                        "destroy", d);
    json_decref(u);
    json_decref(d);
    return out;
}

/* Runs Email/set once for the successes and queues its response to
 * follow ours. */
static void apply_on_success(struct sub_set *c, json_t *update, json_t *destroy)
{
    json_t *args = on_success_args(c, update, destroy), *error = NULL;
    const struct jmap_method *email_set = jmap_method_find("Email/set");

    if (args == NULL || email_set == NULL) {
        json_decref(args);
        return;
    }
    struct jmap_invocation inv = *c->inv;
    inv.name = email_set->name;
    json_t *res = email_set->handler(&inv, args, &error);
    json_decref(args);
    if (c->inv->run->implicit == NULL)
        c->inv->run->implicit = json_array();
    json_array_append_new(c->inv->run->implicit,
                          res != NULL ? json_pack("[s,o]", "Email/set", res)
                                      : json_pack("[s,o]", "error", error));
}

static bool on_success_ok(json_t *update, json_t *destroy)
{
    const char *key;
    json_t *v;
    size_t i;

    if ((update != NULL && !json_is_object(update) && !json_is_null(update)) ||
        (destroy != NULL && !json_is_array(destroy) && !json_is_null(destroy)))
        return false;
    json_object_foreach(update, key, v)
        if (!json_is_object(v))
            return false;
    json_array_foreach(destroy, i, v)
        if (!json_is_string(v))
            return false;
    return true;
}

json_t *email_submission_set(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    static const char *const extra[] = {"onSuccessUpdateEmail", "onSuccessDestroyEmail", NULL};
    struct jmap_mail m;
    struct jmap_set_args a;
    struct jmap_set_response r;
    struct gw_error err = {0};
    struct sub_set c = {.inv = inv, .m = &m};
    char old_state[SUBMISSION_STATE_MAX], new_state[SUBMISSION_STATE_MAX], email[320];
    json_t *out = NULL;
    json_t *on_update = json_object_get(args, "onSuccessUpdateEmail");
    json_t *on_destroy = json_object_get(args, "onSuccessDestroyEmail");

    jmap_set_response_init(&r);
    if ((*error = jmap_set_args_parse(inv, args, extra, &a)) != NULL)
        goto out;
    if (!on_success_ok(on_update, on_destroy)) {
        *error = jmap_error_invalid_arguments("onSuccessUpdateEmail", NULL);
        goto out;
    }
    if ((*error = email_submission_begin(inv, &m)) != NULL)
        goto out;
    if (jmap_submission_default_email(account_username(m.account), email, sizeof(email)) < 0 ||
        identity_store_ensure_default(m.ms, m.account_id, email, "", &err) != 0 ||
        identity_store_list(m.ms, m.account_id, &c.identities, new_state, &err) != 0 ||
        submission_store_list(m.ms, m.account_id, &c.before, old_state, &err) != 0 ||
        (c.email_of = json_object()) == NULL) {
        *error = jmap_error_from_gw(&err);
        goto out;
    }
    if ((*error = jmap_set_check_if_in_state(&a, old_state)) != NULL)
        goto out;
    const struct jmap_set_ops ops = {&c, sub_create, sub_update, sub_destroy};
    if (jmap_set_run(inv, &a, &ops, &r) != 0 ||
        submission_store_state(m.ms, m.account_id, new_state, &err) != 0) {
        *error = jmap_error_new("serverFail", NULL);
        goto out;
    }
    out = jmap_set_response_finish(&r, m.account_id, old_state, new_state);
    if (out != NULL)
        apply_on_success(&c, on_update, on_destroy);
out:
    jmap_set_response_clear(&r);
    json_decref(c.identities);
    json_decref(c.before);
    json_decref(c.email_of);
    return out;
}
