/* harness_set.c - shared helpers of the write-path integration tests
 * (harness_set.h). */
#define _GNU_SOURCE 1
#include "harness_set.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[HS_TYPES] = { "Mailbox", "Email", "Thread" };

void hs_states_read(const struct harness_mail_env *env, struct hs_states *st)
{
    for (int t = 0; t < HS_TYPES; t++) {
        char method[32];
        snprintf(method, sizeof(method), "%s/get", type_names[t]);
        json_t *r = harness_mail_call(env, method, "\"ids\": []");
        const char *s = json_string_value(json_object_get(r, "state"));
        H_ASSERT(s != NULL && strlen(s) < sizeof(st->s[t]));
        strcpy(st->s[t], s);
        json_decref(r);
    }
}

static size_t count(const char *const *ids)
{
    size_t n = 0;
    while (ids != NULL && ids[n] != NULL)
        n++;
    return n;
}

static bool same_ids(json_t *array, const char *const *want)
{
    size_t n = count(want);
    if (json_array_size(array) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = strcmp(json_string_value(json_array_get(array, j)), want[i]) == 0;
        if (!found)
            return false;
    }
    return true;
}

void hs_expect_changes(const struct harness_mail_env *env, struct hs_states *st, int type,
                       const char *const *created, const char *const *updated,
                       const char *const *destroyed)
{
    char method[32];
    snprintf(method, sizeof(method), "%s/changes", type_names[type]);
    json_t *r = harness_mail_call(env, method, "\"sinceState\": \"%s\"", st->s[type]);
    char *dump = json_dumps(r, JSON_COMPACT);
    H_ASSERT_MSG(json_is_false(json_object_get(r, "hasMoreChanges")), "%s", dump);
    H_ASSERT_MSG(same_ids(json_object_get(r, "created"), created), "%s created: %s", method, dump);
    H_ASSERT_MSG(same_ids(json_object_get(r, "updated"), updated), "%s updated: %s", method, dump);
    H_ASSERT_MSG(same_ids(json_object_get(r, "destroyed"), destroyed), "%s destroyed: %s", method,
                 dump);
    const char *ns = json_string_value(json_object_get(r, "newState"));
    H_ASSERT(ns != NULL && strlen(ns) < sizeof(st->s[type]));
    bool changed = count(created) + count(updated) + count(destroyed) != 0;
    H_ASSERT_MSG((strcmp(ns, st->s[type]) != 0) == changed, "%s: state %s after %s: %s", method,
                 ns, st->s[type], dump);
    strcpy(st->s[type], ns);
    free(dump);
    json_decref(r);
}

const char *hs_set_error(json_t *res, const char *which, const char *id)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(res, which), id),
                                             "type"));
}

bool hs_imap_says(struct harness_imap *c, const char *cmd, const char *needle)
{
    H_ASSERT_MSG(harness_imap_cmd(c, "%s", cmd) == 0, "IMAP %s: %s", cmd, harness_imap_last(c));
    return strstr(harness_imap_last(c), needle) != NULL;
}

size_t hs_imap_uids(struct harness_imap *c, const char *mailbox, uint32_t *out, size_t max)
{
    H_ASSERT_MSG(harness_imap_cmd(c, "SELECT \"%s\"", mailbox) == 0, "SELECT %s: %s", mailbox,
                 harness_imap_last(c));
    H_ASSERT(harness_imap_cmd(c, "UID SEARCH ALL") == 0);
    const char *p = strstr(harness_imap_last(c), "* SEARCH");
    H_ASSERT(p != NULL);
    p += strlen("* SEARCH");
    size_t n = 0;
    while (*p == ' ' && n < max) {
        char *end;
        unsigned long v = strtoul(p + 1, &end, 10);
        if (end == p + 1)
            break;
        out[n++] = (uint32_t)v;
        p = end;
    }
    H_ASSERT(harness_imap_cmd(c, "UNSELECT") == 0);
    return n;
}

bool hs_imap_lists(struct harness_imap *c, const char *verb, const char *mailbox)
{
    char plain[300], quoted[300];
    H_ASSERT(snprintf(plain, sizeof(plain), " %s\r\n", mailbox) < (int)sizeof(plain));
    H_ASSERT(snprintf(quoted, sizeof(quoted), " \"%s\"\r\n", mailbox) < (int)sizeof(quoted));
    H_ASSERT_MSG(harness_imap_cmd(c, "%s \"\" \"*\"", verb) == 0, "IMAP %s: %s", verb,
                 harness_imap_last(c));
    const char *a = harness_imap_last(c);
    return strstr(a, plain) != NULL || strstr(a, quoted) != NULL;
}

const char hs_acl_conf[] =
    "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
    "mail_plugins = $mail_plugins acl\n"
    "protocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\n"
    "plugin {\n  acl = vfile\n}\n";

int hs_direct_start(struct hs_direct *x, uint16_t imap_port)
{
    char port[16];
    memset(x, 0, sizeof(*x));
    snprintf(port, sizeof(port), "%u", imap_port);
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", port, "--imap-tls", "none",
                           NULL };
    struct harness_gateway_opts opts = { .args = args };
    x->gw = harness_gateway_start(&opts);
    if (x->gw == NULL)
        return -1;
    json_t *session = harness_session_ok(x->gw->port, "test", "secret");
    const char *account = harness_session_account_id(session);
    x->account = account != NULL ? strdup(account) : NULL;
    json_decref(session);
    return x->account != NULL ? 0 : -1;
}

int hs_direct_stop(struct hs_direct *x)
{
    int rc = x->gw != NULL ? harness_gateway_stop(x->gw) : 0;
    harness_gateway_free(&x->gw);
    free(x->account);
    x->account = NULL;
    return rc;
}

json_t *hs_direct_call(const struct hs_direct *x, const char *method, const char *args_fmt, ...)
{
    char inner[2048], body[2300];
    va_list ap;
    va_start(ap, args_fmt);
    int n = vsnprintf(inner, sizeof(inner), args_fmt, ap);
    va_end(ap);
    H_ASSERT(n >= 0 && n < (int)sizeof(inner));
    n = snprintf(body, sizeof(body), "{\"accountId\": \"%s\", %s}", x->account, inner);
    H_ASSERT(n >= 0 && n < (int)sizeof(body));
    return harness_jmap_ok(x->gw->port, "test", "secret", method, body);
}

void hs_direct_query_one(const struct hs_direct *x, const char *method, const char *filter,
                         char out[64])
{
    json_t *r = hs_direct_call(x, method, "\"filter\": %s", filter);
    json_t *ids = json_object_get(r, "ids");
    H_ASSERT_MSG(json_array_size(ids) == 1, "%s %s: %zu found", method, filter,
                 json_array_size(ids));
    snprintf(out, 64, "%s", json_string_value(json_array_get(ids, 0)));
    json_decref(r);
}

void hs_direct_ids(const struct hs_direct *x, const char *message_id, const char *other,
                   char email[64], char inbox[64], char other_id[64])
{
    char filter[300];
    H_ASSERT(snprintf(filter, sizeof(filter), "{\"header\": [\"Message-ID\", \"%s\"]}",
                      message_id) < (int)sizeof(filter));
    hs_direct_query_one(x, "Email/query", filter, email);
    hs_direct_query_one(x, "Mailbox/query", "{\"role\": \"inbox\"}", inbox);
    H_ASSERT(snprintf(filter, sizeof(filter), "{\"name\": \"%s\"}", other) <
             (int)sizeof(filter));
    hs_direct_query_one(x, "Mailbox/query", filter, other_id);
}

void hs_direct_expect_where(const struct hs_direct *x, struct harness_imap *c, const char *email,
                            const char *const *names, const char *const *ids, size_t n)
{
    uint32_t uids[8];
    size_t found = 0;
    json_t *r = hs_direct_call(x, "Email/get",
                               "\"ids\": [\"%s\"], \"properties\": [\"mailboxIds\"]", email);
    json_t *m = json_object_get(json_array_get(json_object_get(r, "list"), 0), "mailboxIds");
    H_ASSERT_MSG(m != NULL, "the Email %s is gone", email);
    for (size_t i = 0; i < n; i++) {
        bool there = hs_imap_uids(c, names[i], uids, 8) > 0;
        found += there;
        H_ASSERT_MSG((json_object_get(m, ids[i]) != NULL) == there,
                     "%s: IMAP says %s, mailboxIds says %s", names[i], there ? "in" : "out",
                     json_object_get(m, ids[i]) != NULL ? "in" : "out");
    }
    H_ASSERT_MSG(found >= 1, "the message is lost");
    H_ASSERT_INT_EQ((long long)json_object_size(m), (long long)found);
    json_decref(r);
}
