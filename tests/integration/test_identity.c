/* test_identity.c - Identity/get, /changes, /set (RFC 8621 §6) through
 * JMAP against a gateway with a private Dovecot and Postfix: the default
 * identity from the login, creating/updating/destroying identities, their
 * states and changes, the refusals (forbiddenFrom, invalidProperties,
 * forbidden default, stateMismatch, cannotCalculateChanges), persistence
 * across a restart, and the submission capability with the server's EHLO
 * extensions in the session (Postfix needs root: without it that one test
 * is skipped and the gateway points at a closed port). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_dovecot.h"
#include "jmap_method.h"

#define SIZE_LIMIT 200000

static struct demo_dovecot *dovecot;
static char *dovecot_dir;
static struct harness_smtp *smtp;
static struct harness_gateway *gw;
static char *account;
static uint16_t smtp_port;

static int group_setup(void **state)
{
    char port[16];
    (void)state;
    dovecot = harness_dovecot_start(NULL, &dovecot_dir);
    if (dovecot == NULL)
        return -1;
    if (geteuid() == 0) {
        smtp = harness_smtp_start(dovecot, dovecot_dir, SIZE_LIMIT);
        if (smtp == NULL)
            return -1;
        smtp_port = harness_smtp_submission_port(smtp);
    } else {
        smtp_port = harness_free_port();
    }
    snprintf(port, sizeof(port), "%u", smtp_port);
    const char *extra[] = {"--smtp-host", "localhost", "--smtp-port", port, "--smtp-tls",
                           "starttls", "--mail-domain", "jmap-gateway.test", NULL};
    gw = harness_gateway_for_dovecot(dovecot, "starttls", true, extra);
    if (gw == NULL)
        return -1;
    json_t *session = harness_session_ok(gw->port, "demo", "demo");
    account = strdup(harness_session_account_id(session));
    json_decref(session);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int ret = gw != NULL ? harness_gateway_stop(gw) : 0;
    harness_gateway_free(&gw);
    harness_smtp_free(&smtp);
    harness_dovecot_free(&dovecot, &dovecot_dir);
    free(account);
    return ret;
}

/* One call with the submission capability; the [name, args, id] triple. */
static json_t *call(const char *method, const char *args_fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *call(const char *method, const char *args_fmt, ...)
{
    char args[4096], body[8192];
    va_list ap;

    va_start(ap, args_fmt);
    int n = vsnprintf(args, sizeof(args), args_fmt, ap);
    va_end(ap);
    H_ASSERT(n > 0 && (size_t)n < sizeof(args));
    n = snprintf(body, sizeof(body),
                 "{\"using\": [\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\","
                 " \"urn:ietf:params:jmap:submission\"], \"methodCalls\": [[\"%s\","
                 " {\"accountId\": \"%s\"%s%s}, \"c1\"]]}",
                 method, account, args[0] ? ", " : "", args);
    H_ASSERT(n > 0 && (size_t)n < sizeof(body));
    json_t *resp = harness_api_ok(gw->port, "demo", "demo", body);
    json_t *triple = json_incref(json_array_get(json_object_get(resp, "methodResponses"), 0));
    json_decref(resp);
    return triple;
}

/* The response arguments, failing unless the method answered itself. */
static json_t *ok(json_t *triple, const char *method)
{
    H_ASSERT_MSG(json_is_array(triple) &&
                     strcmp(json_string_value(json_array_get(triple, 0)), method) == 0,
                 "%s answered %s", method, json_dumps(triple, 0));
    json_t *args = json_incref(json_array_get(triple, 1));
    json_decref(triple);
    return args;
}

static char *error_type(json_t *triple)
{
    H_ASSERT_STR_EQ(json_string_value(json_array_get(triple, 0)), "error");
    char *t = strdup(json_string_value(json_object_get(json_array_get(triple, 1), "type")));
    json_decref(triple);
    return t;
}

static char *state_now(void)
{
    json_t *r = ok(call("Identity/get", "\"ids\": []"), "Identity/get");
    char *s = strdup(json_string_value(json_object_get(r, "state")));
    json_decref(r);
    return s;
}

static json_t *default_identity(void)
{
    json_t *r = ok(call("Identity/get", "\"ids\": null"), "Identity/get");
    json_t *list = json_object_get(r, "list");
    json_t *found = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
        if (json_is_false(json_object_get(o, "mayDelete")))
            found = json_incref(o);
    json_decref(r);
    H_ASSERT(found != NULL);
    return found;
}

static void test_session_capability(void **state)
{
    (void)state;
    if (smtp == NULL)
        skip();
    json_t *s = harness_session_ok(gw->port, "demo", "demo");
    H_ASSERT(json_is_object(
        json_object_get(json_object_get(s, "capabilities"), "urn:ietf:params:jmap:submission")));
    json_t *acc = json_object_get(json_object_get(s, "accounts"), account);
    json_t *cap = json_object_get(json_object_get(acc, "accountCapabilities"),
                                  "urn:ietf:params:jmap:submission");
    /* Delayed sends wait in the gateway's queue (EmailSubmission): a day. */
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(cap, "maxDelayedSend")), 86400);
    json_t *ext = json_object_get(cap, "submissionExtensions");
    H_ASSERT(json_is_object(ext));
    json_t *size = json_object_get(ext, "SIZE");
    H_ASSERT(json_is_array(size) && json_array_size(size) == 1);
    char limit[32];
    snprintf(limit, sizeof(limit), "%d", SIZE_LIMIT);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(size, 0)), limit);
    H_ASSERT(json_is_array(json_object_get(ext, "DSN")));
    /* Connection-level extensions are the gateway's business only. */
    H_ASSERT(json_object_get(ext, "AUTH") == NULL);
    H_ASSERT(json_object_get(ext, "STARTTLS") == NULL);
    H_ASSERT(json_object_get(ext, "PIPELINING") == NULL);
    json_decref(s);
}

static void test_default_identity(void **state)
{
    (void)state;
    json_t *d = default_identity();
    H_ASSERT_STR_EQ(json_string_value(json_object_get(d, "email")), "demo@jmap-gateway.test");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(d, "name")), "");
    H_ASSERT(json_is_null(json_object_get(d, "replyTo")));
    H_ASSERT(json_is_null(json_object_get(d, "bcc")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(d, "textSignature")), "");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(d, "htmlSignature")), "");
    H_ASSERT(jmap_id_is_valid(json_string_value(json_object_get(d, "id"))));
    /* properties narrow the answer; id always comes. */
    char args[256];
    snprintf(args, sizeof(args), "\"ids\": [\"%s\", \"nope\"], \"properties\": [\"email\"]",
             json_string_value(json_object_get(d, "id")));
    json_t *r = ok(call("Identity/get", "%s", args), "Identity/get");
    json_t *o = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT_INT_EQ(json_object_size(o), 2);
    H_ASSERT(json_object_get(o, "email") != NULL && json_object_get(o, "id") != NULL);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "notFound"), 0)), "nope");
    json_decref(r);
    json_decref(d);
}

static void test_create_update_destroy(void **state)
{
    (void)state;
    char *s0 = state_now();
    json_t *r = ok(call("Identity/set",
                        "\"ifInState\": \"%s\", \"create\": {\"n1\": {\"email\":"
                        " \"demo@jmap-gateway.test\", \"name\": \"Demo Work\", \"replyTo\":"
                        " [{\"name\": \"Desk\", \"email\": \"demo@jmap-gateway.test\"}],"
                        " \"textSignature\": \"-- \\nDemo\"}}",
                        s0),
                   "Identity/set");
    json_t *created = json_object_get(json_object_get(r, "created"), "n1");
    H_ASSERT_MSG(created != NULL, "not created: %s", json_dumps(r, 0));
    char *id = strdup(json_string_value(json_object_get(created, "id")));
    H_ASSERT(json_is_true(json_object_get(created, "mayDelete")));
    /* Defaults of what we left out come back; what we sent does not. */
    H_ASSERT(json_is_null(json_object_get(created, "bcc")));
    H_ASSERT(json_object_get(created, "name") == NULL);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "oldState")), s0);
    char *s1 = strdup(json_string_value(json_object_get(r, "newState")));
    H_ASSERT(strcmp(s0, s1) != 0);
    json_decref(r);

    r = ok(call("Identity/changes", "\"sinceState\": \"%s\"", s0), "Identity/changes");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "created")), 1);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "created"), 0)), id);
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "updated")), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "newState")), s1);
    H_ASSERT(json_is_false(json_object_get(r, "hasMoreChanges")));
    json_decref(r);

    r = ok(call("Identity/set",
                "\"update\": {\"%s\": {\"name\": \"Demo Office\", \"bcc\":"
                " [{\"email\": \"alice@jmap-gateway.test\"}], \"htmlSignature\": \"<b>D</b>\"}}",
                id),
           "Identity/set");
    H_ASSERT(json_object_get(json_object_get(r, "updated"), id) != NULL);
    json_decref(r);
    char args[128];
    snprintf(args, sizeof(args), "\"ids\": [\"%s\"]", id);
    r = ok(call("Identity/get", "%s", args), "Identity/get");
    json_t *o = json_array_get(json_object_get(r, "list"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(o, "name")), "Demo Office");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(o, "htmlSignature")), "<b>D</b>");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(o, "textSignature")), "-- \nDemo");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_array_get(json_object_get(o, "bcc"), 0), "email")),
                    "alice@jmap-gateway.test");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_array_get(json_object_get(o, "replyTo"), 0), "name")),
                    "Desk");
    json_decref(r);

    r = ok(call("Identity/changes", "\"sinceState\": \"%s\"", s1), "Identity/changes");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "created")), 0);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "updated"), 0)), id);
    json_decref(r);

    r = ok(call("Identity/set", "\"destroy\": [\"%s\"]", id), "Identity/set");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)), id);
    json_decref(r);
    r = ok(call("Identity/get", "%s", args), "Identity/get");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "list")), 0);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "notFound"), 0)), id);
    json_decref(r);
    /* Created and destroyed since s0: nothing to report; since s1: destroyed. */
    r = ok(call("Identity/changes", "\"sinceState\": \"%s\"", s0), "Identity/changes");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "created")) +
                        json_array_size(json_object_get(r, "destroyed")),
                    0);
    json_decref(r);
    r = ok(call("Identity/changes", "\"sinceState\": \"%s\"", s1), "Identity/changes");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "destroyed")), 1);
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "updated")), 0);
    json_decref(r);

    /* Two creations, read one change at a time. */
    char *s2 = state_now();
    r = ok(call("Identity/set", "\"create\": {\"x\": {\"email\": \"demo@jmap-gateway.test\"},"
                                " \"y\": {\"email\": \"demo@jmap-gateway.test\"}}"),
           "Identity/set");
    H_ASSERT_INT_EQ(json_object_size(json_object_get(r, "created")), 2);
    json_decref(r);
    r = ok(call("Identity/changes", "\"sinceState\": \"%s\", \"maxChanges\": 1", s2),
           "Identity/changes");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "created")), 1);
    H_ASSERT(json_is_true(json_object_get(r, "hasMoreChanges")));
    char *s3 = strdup(json_string_value(json_object_get(r, "newState")));
    json_decref(r);
    r = ok(call("Identity/changes", "\"sinceState\": \"%s\", \"maxChanges\": 1", s3),
           "Identity/changes");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(r, "created")), 1);
    H_ASSERT(json_is_false(json_object_get(r, "hasMoreChanges")));
    json_decref(r);
    free(s2);
    free(s3);

    /* Creation ids reach update and destroy of the same request. */
    r = ok(call("Identity/set", "\"create\": {\"t\": {\"email\": \"demo@jmap-gateway.test\"}},"
                                " \"update\": {\"#t\": {\"name\": \"Temp\"}},"
                                " \"destroy\": [\"#t\", \"#unknown\"]"),
           "Identity/set");
    const char *tid = json_string_value(
        json_object_get(json_object_get(json_object_get(r, "created"), "t"), "id"));
    H_ASSERT(tid != NULL);
    /* updated and destroyed in one call: the update is willDestroy (RFC 8620 §5.3) */
    H_ASSERT(json_is_null(json_object_get(r, "updated")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_object_get(json_object_get(r, "notUpdated"), tid), "type")),
                    "willDestroy");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(r, "destroyed"), 0)), tid);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_object_get(json_object_get(r, "notDestroyed"), "#unknown"), "type")),
                    "notFound");
    json_decref(r);
    free(id);
    free(s0);
    free(s1);
}

static void test_refusals(void **state)
{
    (void)state;
    json_t *d = default_identity();
    const char *def = json_string_value(json_object_get(d, "id"));
    json_t *r = ok(call("Identity/set",
                        "\"create\": {\"a\": {\"email\": \"alice@jmap-gateway.test\"},"
                        " \"b\": {\"email\": \"demo@jmap-gateway.test\", \"mayDelete\": true},"
                        " \"c\": {\"name\": \"no email\"},"
                        " \"d\": {\"email\": \"demo@jmap-gateway.test\", \"bcc\": [{\"name\": 1}]}},"
                        " \"update\": {\"%s\": {\"email\": \"x@jmap-gateway.test\"},"
                        " \"nope2\": {\"name\": \"x\"}}, \"destroy\": [\"%s\", \"nope\"]",
                        def, def),
                   "Identity/set");
    json_t *nc = json_object_get(r, "notCreated");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nc, "a"), "type")),
                    "forbiddenFrom");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nc, "b"), "type")),
                    "invalidProperties");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(
                        json_object_get(json_object_get(nc, "b"), "properties"), 0)),
                    "mayDelete");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nc, "c"), "type")),
                    "invalidProperties");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nc, "d"), "type")),
                    "invalidProperties");
    json_t *nu = json_object_get(r, "notUpdated");
    /* also destroyed in this call (refused): the update is not attempted */
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nu, def), "type")),
                    "willDestroy");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nu, "nope2"), "type")),
                    "notFound");
    json_t *nd = json_object_get(r, "notDestroyed");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nd, def), "type")),
                    "forbidden");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(nd, "nope"), "type")),
                    "notFound");
    H_ASSERT(json_is_null(json_object_get(r, "created")));
    /* Nothing changed: the state stays. */
    H_ASSERT_STR_EQ(json_string_value(json_object_get(r, "oldState")),
                    json_string_value(json_object_get(r, "newState")));
    json_decref(r);
    /* Through the /set framework: a wrong type is named; the unchanged
     * email may be repeated; the default cannot lose its mayDelete. */
    r = ok(call("Identity/set",
                "\"update\": {\"%s\": {\"textSignature\": 5, \"name\": \"n\"}}", def),
           "Identity/set");
    json_t *e = json_object_get(json_object_get(r, "notUpdated"), def);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidProperties");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "properties"), 0)),
                    "textSignature");
    json_decref(r);
    r = ok(call("Identity/set",
                "\"update\": {\"%s\": {\"email\": \"%s\", \"mayDelete\": true}}", def,
                json_string_value(json_object_get(d, "email"))),
           "Identity/set");
    e = json_object_get(json_object_get(r, "notUpdated"), def);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "properties"), 0)),
                    "mayDelete");
    H_ASSERT_INT_EQ(json_array_size(json_object_get(e, "properties")), 1);
    json_decref(r);
    r = ok(call("Identity/set", "\"update\": {\"%s\": {\"email\": \"x@jmap-gateway.test\"}}",
                def),
           "Identity/set");
    e = json_object_get(json_object_get(r, "notUpdated"), def);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "properties"), 0)),
                    "email");
    json_decref(r);
    json_decref(d);

    char *t = error_type(call("Identity/set", "\"ifInState\": \"999999\", \"destroy\": []"));
    H_ASSERT_STR_EQ(t, "stateMismatch");
    free(t);
    t = error_type(call("Identity/changes", "\"sinceState\": \"999999\""));
    H_ASSERT_STR_EQ(t, "cannotCalculateChanges");
    free(t);
    t = error_type(call("Identity/changes", "\"sinceState\": \"abc\""));
    H_ASSERT_STR_EQ(t, "cannotCalculateChanges");
    free(t);
    t = error_type(call("Identity/set", "\"create\": []"));
    H_ASSERT_STR_EQ(t, "invalidArguments");
    free(t);
}

static void test_survives_restart(void **state)
{
    (void)state;
    json_t *r = ok(call("Identity/set",
                        "\"create\": {\"k\": {\"email\": \"demo@jmap-gateway.test\", \"name\":"
                        " \"Kept\"}}"),
                   "Identity/set");
    char *id = strdup(json_string_value(
        json_object_get(json_object_get(json_object_get(r, "created"), "k"), "id")));
    json_decref(r);
    char *before = state_now();
    char port[16];
    snprintf(port, sizeof(port), "%u", smtp_port);
    char imap_port[16];
    snprintf(imap_port, sizeof(imap_port), "%u", demo_dovecot_imap_port(dovecot));
    const char *args[] = {"--imap-host", "127.0.0.1", "--imap-port", imap_port, "--imap-tls",
                          "starttls", "--tls-ca-file", demo_dovecot_ca_file(dovecot),
                          "--smtp-host", "localhost", "--smtp-port", port, "--mail-domain",
                          "jmap-gateway.test", NULL};
    struct harness_gateway_opts opts = {.args = args};
    H_ASSERT(harness_gateway_restart(gw, &opts) == 0);
    char *after = state_now();
    H_ASSERT_STR_EQ(after, before);
    char ids[128];
    snprintf(ids, sizeof(ids), "\"ids\": [\"%s\"]", id);
    r = ok(call("Identity/get", "%s", ids), "Identity/get");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(r, "list"), 0),
                                                      "name")),
                    "Kept");
    json_decref(r);
    free(id);
    free(before);
    free(after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_session_capability, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_default_identity, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_create_update_destroy, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_refusals, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_survives_restart, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests_name("identity", tests, group_setup, group_teardown);
}
