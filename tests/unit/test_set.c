/* test_set.c - the generic /set framework (include/jmap_set.h): argument
 * checks, creation-id references, PatchObjects, property tables, the run
 * order and the response's nulls, and the gateway-error -> SetError table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "jmap_set.h"

static const struct jmap_core_limits limits = { .max_objects_in_set = 4 };
static const struct jmap_request_ctx rctx = { .limits = &limits, .account_id = "A1" };

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (v == NULL)
        fail_msg("bad test JSON %s: %s", text, jerr.text);
    return v;
}

static void test_args_table(void **state)
{
    static const char *const extra[] = { "onDestroyRemoveEmails", NULL };
    static const struct {
        const char *args;
        const char *error;      /* NULL: valid */
        const char *argument;
    } cases[] = {
        { "{\"accountId\":\"A1\"}", NULL, NULL },
        { "{\"ifInState\":null,\"create\":null,\"update\":null,\"destroy\":null}", NULL, NULL },
        { "{\"ifInState\":\"5\",\"create\":{\"c1\":{}},\"update\":{\"#c1\":{}},"
          "\"destroy\":[\"x\",\"#c1\"]}", NULL, NULL },
        { "{\"onDestroyRemoveEmails\":true}", NULL, NULL },
        { "{\"ifInState\":5}", "invalidArguments", "ifInState" },
        { "{\"create\":[]}", "invalidArguments", "create" },
        { "{\"create\":{\"c 1\":{}}}", "invalidArguments", "create" },
        { "{\"create\":{\"#c1\":{}}}", "invalidArguments", "create" },
        { "{\"create\":{\"c1\":1}}", "invalidArguments", "create" },
        { "{\"update\":{\"a\":[]}}", "invalidArguments", "update" },
        { "{\"update\":{\"a/b\":{}}}", "invalidArguments", "update" },
        { "{\"destroy\":\"a\"}", "invalidArguments", "destroy" },
        { "{\"destroy\":[1]}", "invalidArguments", "destroy" },
        { "{\"destroy\":[\"#\"]}", "invalidArguments", "destroy" },
        { "{\"bogus\":1}", "invalidArguments", "bogus" },
        { "{\"create\":{\"a\":{},\"b\":{}},\"update\":{\"c\":{},\"d\":{}}}", NULL, NULL },
        { "{\"create\":{\"a\":{},\"b\":{}},\"update\":{\"c\":{}},\"destroy\":[\"d\",\"e\"]}",
          "requestTooLarge", NULL },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *args = parse(cases[i].args);
        struct jmap_invocation inv = { .ctx = &rctx };
        struct jmap_set_args a;
        json_t *e = jmap_set_args_parse(&inv, args, extra, &a);
        if (cases[i].error == NULL) {
            if (e != NULL)
                fail_msg("case %zu (%s): unexpected %s", i, cases[i].args,
                         json_string_value(json_object_get(e, "type")));
        } else {
            if (e == NULL)
                fail_msg("case %zu (%s): accepted", i, cases[i].args);
            assert_string_equal(json_string_value(json_object_get(e, "type")), cases[i].error);
            if (cases[i].argument != NULL)
                assert_string_equal(json_string_value(json_array_get(
                                        json_object_get(e, "arguments"), 0)),
                                    cases[i].argument);
        }
        json_decref(e);
        json_decref(args);
    }
}

static void test_if_in_state(void **state)
{
    (void)state;
    struct jmap_set_args a = { 0 };
    assert_null(jmap_set_check_if_in_state(&a, "7"));
    a.if_in_state = "7";
    assert_null(jmap_set_check_if_in_state(&a, "7"));
    json_t *e = jmap_set_check_if_in_state(&a, "8");
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "stateMismatch");
    json_decref(e);
}

static void test_patch_table(void **state)
{
    static const struct {
        const char *current, *patch;
        const char *want;       /* NULL: invalidPatch expected */
    } cases[] = {
        { "{\"keywords\":{\"$seen\":true}}", "{\"keywords/$flagged\":true}",
          "{\"keywords\":{\"$seen\":true,\"$flagged\":true}}" },
        { "{\"keywords\":{\"$seen\":true}}", "{\"keywords/$seen\":null}", "{\"keywords\":{}}" },
        { "{\"keywords\":{\"$seen\":true}}", "{\"keywords\":{\"a\":true}}",
          "{\"keywords\":{\"a\":true}}" },
        { "{\"name\":\"x\",\"parentId\":\"P\"}", "{\"parentId\":null}",
          "{\"name\":\"x\",\"parentId\":null}" },
        { "{\"mailboxIds\":{\"M1\":true}}", "{\"mailboxIds/M2\":true,\"mailboxIds/M1\":null}",
          "{\"mailboxIds\":{\"M2\":true}}" },
        { "{\"a\":{}}", "{\"a/x~1y~0z\":1}", "{\"a\":{\"x/y~z\":1}}" },
        { "{\"a\":{}}", "{}", "{\"a\":{}}" },
        { "{\"a\":{}}", "{\"a/b~2\":1}", NULL },
        { "{\"a\":{}}", "{\"a/b~\":1}", NULL },
        { "{\"a\":{}}", "{\"\":1}", NULL },
        { "{\"a\":{}}", "{\"a//b\":1}", NULL },
        { "{\"a\":{}}", "{\"x/y\":1}", NULL },
        { "{\"a\":1}", "{\"a/y\":1}", NULL },
        { "{\"a\":{}}", "{\"a\":{},\"a/b\":true}", NULL },
        { "{\"a\":{}}", "{\"a/b/c/d/e/f/g/h/i\":true}", NULL },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *cur = parse(cases[i].current), *patch = parse(cases[i].patch);
        json_t *before = json_deep_copy(cur);
        json_t *err = NULL;
        json_t *got = jmap_set_patch_apply(cur, patch, &err);
        if (cases[i].want == NULL) {
            if (got != NULL)
                fail_msg("case %zu: %s accepted", i, cases[i].patch);
            assert_string_equal(json_string_value(json_object_get(err, "type")), "invalidPatch");
        } else {
            json_t *want = parse(cases[i].want);
            if (got == NULL || !json_equal(got, want))
                fail_msg("case %zu: %s gave %s", i, cases[i].patch,
                         got != NULL ? "a different object" : "an error");
            assert_null(err);
            json_decref(want);
        }
        assert_true(json_equal(cur, before));   /* current is never modified */
        json_decref(got);
        json_decref(err);
        json_decref(before);
        json_decref(cur);
        json_decref(patch);
    }
}

static void test_properties_table(void **state)
{
    static const struct jmap_set_prop table[] = {
        { "id", JMAP_PROP_SERVER_SET | JMAP_PROP_IMMUTABLE },
        { "name", 0 },
        { "total", JMAP_PROP_SERVER_SET },
        { "blobId", JMAP_PROP_IMMUTABLE },
        { NULL, 0 },
    };
    static const struct {
        const char *obj, *current;  /* current NULL: a create */
        const char *bad;            /* NULL: fine; else the properties named */
    } cases[] = {
        { "{\"name\":\"a\",\"blobId\":\"B\"}", NULL, NULL },
        { "{\"name\":\"a\",\"id\":\"x\"}", NULL, "[\"id\"]" },
        { "{\"name\":\"a\",\"total\":1,\"bogus\":2}", NULL, "[\"total\",\"bogus\"]" },
        { "{\"id\":\"x\",\"name\":\"b\",\"total\":3}", "{\"id\":\"x\",\"name\":\"a\",\"total\":3}",
          NULL },
        { "{\"id\":\"y\",\"name\":\"b\"}", "{\"id\":\"x\",\"name\":\"a\"}", "[\"id\"]" },
        { "{\"blobId\":\"C\"}", "{\"blobId\":\"B\"}", "[\"blobId\"]" },
        { "{\"total\":4}", "{\"total\":3}", "[\"total\"]" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *obj = parse(cases[i].obj);
        json_t *cur = cases[i].current != NULL ? parse(cases[i].current) : NULL;
        json_t *e = jmap_set_check_properties(table, obj, cur);
        if (cases[i].bad == NULL) {
            if (e != NULL)
                fail_msg("case %zu refused", i);
        } else {
            json_t *want = parse(cases[i].bad);
            assert_non_null(e);
            assert_string_equal(json_string_value(json_object_get(e, "type")),
                                "invalidProperties");
            if (!json_equal(json_object_get(e, "properties"), want))
                fail_msg("case %zu: wrong properties", i);
            json_decref(want);
        }
        json_decref(e);
        json_decref(obj);
        json_decref(cur);
    }
}

static void test_error_table(void **state)
{
    static const struct {
        enum gw_error_code code;
        const char *type;
        bool shows_message;
    } cases[] = {
        { GW_ERR_NOTFOUND, "notFound", true },
        { GW_ERR_EXISTS, "alreadyExists", true },
        { GW_ERR_FORBIDDEN, "forbidden", true },
        { GW_ERR_OVERQUOTA, "overQuota", true },
        { GW_ERR_TOO_LARGE, "tooLarge", true },
        { GW_ERR_LIMIT, "rateLimit", true },
        { GW_ERR_INVALID, "invalidProperties", true },
        { GW_ERR_BACKEND_NO, "serverFail", true },
        { GW_ERR_UNAVAILABLE, "serverFail", false },
        { GW_ERR_INTERNAL, "serverFail", false },
        { GW_ERR_PROTOCOL, "serverFail", false },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct gw_error err = { 0 };
        gw_error_set(&err, cases[i].code, "secret-detail-%zu", i);
        json_t *e = jmap_set_error_from_gw(&err);
        assert_string_equal(json_string_value(json_object_get(e, "type")), cases[i].type);
        const char *d = json_string_value(json_object_get(e, "description"));
        assert_non_null(d);
        assert_int_equal(strstr(d, "secret-detail") != NULL, cases[i].shows_message);
        json_decref(e);
    }
}

/* ---- jmap_set_run with scripted callbacks ---------------------------------- */

struct script {
    char log[512];
    int n_created;
};

static void note(struct script *s, const char *what, const char *id)
{
    size_t used = strlen(s->log);
    snprintf(s->log + used, sizeof(s->log) - used, "%s:%s ", what, id);
}

static int cb_create(void *ctx, const char *cid, json_t *obj, json_t **result, json_t **set_error)
{
    struct script *s = ctx;
    note(s, "create", cid);
    if (json_object_get(obj, "fail") != NULL) {
        *set_error = jmap_set_error_invalid_property("fail", "asked to fail");
        return -1;
    }
    char id[16];
    snprintf(id, sizeof(id), "N%d", ++s->n_created);
    *result = json_pack("{s:s}", "id", id);
    return 0;
}

static int cb_update(void *ctx, const char *id, json_t *patch, json_t **result, json_t **set_error)
{
    struct script *s = ctx;
    note(s, "update", id);
    if (strcmp(id, "gone") == 0) {
        struct gw_error err = { GW_ERR_NOTFOUND, "no such object" };
        *set_error = jmap_set_error_from_gw(&err);
        return -1;
    }
    if (json_object_get(patch, "server") != NULL)
        *result = json_pack("{s:i}", "server", 1);
    return 0;
}

static int cb_destroy(void *ctx, const char *id, json_t **set_error)
{
    struct script *s = ctx;
    note(s, "destroy", id);
    if (strcmp(id, "lost") == 0) {
        *set_error = jmap_set_error_new("notFound", NULL);
        return -1;
    }
    return 0;
}

static void test_run_and_finish(void **state)
{
    (void)state;
    json_t *created_ids = parse("{\"old\":\"O1\"}");
    struct jmap_invocation inv = { .ctx = &rctx, .created_ids = created_ids };
    json_t *args = parse("{\"create\":{\"c1\":{},\"c2\":{\"fail\":1}},"
                         "\"update\":{\"#c1\":{\"server\":1},\"#c2\":{},\"gone\":{},\"#old\":{},"
                         "\"X\":{}},"
                         "\"destroy\":[\"X\",\"lost\",\"X\",\"#nope\"]}");
    struct jmap_core_limits big = { .max_objects_in_set = 100 };
    struct jmap_request_ctx ctx2 = { .limits = &big };
    inv.ctx = &ctx2;
    struct jmap_set_args a;
    assert_null(jmap_set_args_parse(&inv, args, NULL, &a));
    struct script s = { { 0 }, 0 };
    struct jmap_set_ops ops = { &s, cb_create, cb_update, cb_destroy };
    struct jmap_set_response r;
    jmap_set_response_init(&r);
    assert_int_equal(jmap_set_run(&inv, &a, &ops, &r), 0);
    /* creates, then updates, then destroys; an update of a destroyed id
     * never reaches the callback, a repeated destroy runs once */
    assert_string_equal(s.log, "create:c1 create:c2 update:N1 update:gone update:O1 "
                               "destroy:X destroy:lost ");
    assert_string_equal(json_string_value(json_object_get(created_ids, "c1")), "N1");
    assert_null(json_object_get(created_ids, "c2"));
    json_t *out = jmap_set_response_finish(&r, "A1", "3", "4");
    json_t *want = parse(
        "{\"accountId\":\"A1\",\"oldState\":\"3\",\"newState\":\"4\","
        "\"created\":{\"c1\":{\"id\":\"N1\"}},"
        "\"updated\":{\"N1\":{\"server\":1},\"O1\":null},"
        "\"destroyed\":[\"X\"],"
        "\"notCreated\":{\"c2\":{\"type\":\"invalidProperties\",\"description\":\"asked to fail\","
        "\"properties\":[\"fail\"]}},"
        "\"notUpdated\":{\"#c2\":{\"type\":\"notFound\",\"description\":"
        "\"No object was created with this creation id.\"},"
        "\"gone\":{\"type\":\"notFound\",\"description\":\"no such object\"},"
        "\"X\":{\"type\":\"willDestroy\",\"description\":\"The object is destroyed in this call.\"}},"
        "\"notDestroyed\":{\"lost\":{\"type\":\"notFound\"},"
        "\"#nope\":{\"type\":\"notFound\",\"description\":"
        "\"No object was created with this creation id.\"}}}");
    if (!json_equal(out, want)) {
        char *d = json_dumps(out, JSON_SORT_KEYS);
        fail_msg("got %s", d);
    }
    json_decref(want);
    json_decref(out);

    /* Nothing asked: every map and list is null, never {} or []. */
    jmap_set_response_init(&r);
    out = jmap_set_response_finish(&r, "A1", NULL, "4");
    want = parse("{\"accountId\":\"A1\",\"oldState\":null,\"newState\":\"4\",\"created\":null,"
                 "\"updated\":null,\"destroyed\":null,\"notCreated\":null,\"notUpdated\":null,"
                 "\"notDestroyed\":null}");
    assert_true(json_equal(out, want));
    json_decref(want);
    json_decref(out);
    json_decref(args);
    json_decref(created_ids);
}

static void test_resolve(void **state)
{
    (void)state;
    json_t *created = parse("{\"c1\":\"M1\"}");
    struct jmap_invocation inv = { .ctx = &rctx, .created_ids = created };
    assert_string_equal(jmap_set_resolve_id(&inv, "#c1"), "M1");
    assert_string_equal(jmap_set_resolve_id(&inv, "M7"), "M7");
    assert_null(jmap_set_resolve_id(&inv, "#c2"));
    inv.created_ids = NULL;
    assert_null(jmap_set_resolve_id(&inv, "#c1"));
    json_decref(created);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_table),       cmocka_unit_test(test_if_in_state),
        cmocka_unit_test(test_patch_table),      cmocka_unit_test(test_properties_table),
        cmocka_unit_test(test_error_table),      cmocka_unit_test(test_run_and_finish),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
