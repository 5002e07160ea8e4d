/* test_email_args.c - the Email/get (and Email/parse) arguments: properties
 * with header:* forms checked against their fields, bodyProperties, the
 * fetch*BodyValues switches and maxBodyValueBytes; every bad value is
 * invalidArguments naming the argument. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "jmap_mime.h"

struct args_case {
    const char *args;
    const char *bad_argument;   /* NULL: valid */
};

static const struct args_case cases[] = {
    { "{}", NULL },
    { "{\"properties\": null, \"bodyProperties\": null, \"maxBodyValueBytes\": null}", NULL },
    { "{\"properties\": [\"subject\", \"header:List-Post:asURLs\", \"header:X-A:asDate:all\","
      " \"headers\", \"bodyStructure\"]}", NULL },
    { "{\"properties\": [\"header:From:asDate\"]}", "properties" },
    { "{\"properties\": [\"header:Subject:asAddresses\"]}", "properties" },
    { "{\"properties\": [\"header:X:asNothing\"]}", "properties" },
    { "{\"properties\": [\"Subject\"]}", "properties" },
    { "{\"properties\": [\"partId\"]}", "properties" },
    { "{\"properties\": \"subject\"}", "properties" },
    { "{\"properties\": [1]}", "properties" },
    { "{\"bodyProperties\": [\"partId\", \"header:Content-Type:asRaw\", \"subParts\", \"headers\"]}",
      NULL },
    { "{\"bodyProperties\": [\"textBody\"]}", "bodyProperties" },
    { "{\"bodyProperties\": [\"header:From:asDate\"]}", "bodyProperties" },
    { "{\"bodyProperties\": {}}", "bodyProperties" },
    { "{\"fetchTextBodyValues\": true, \"fetchHTMLBodyValues\": false, \"fetchAllBodyValues\": true}",
      NULL },
    { "{\"fetchTextBodyValues\": 1}", "fetchTextBodyValues" },
    { "{\"fetchHTMLBodyValues\": \"yes\"}", "fetchHTMLBodyValues" },
    { "{\"fetchAllBodyValues\": []}", "fetchAllBodyValues" },
    { "{\"maxBodyValueBytes\": 0}", NULL },
    { "{\"maxBodyValueBytes\": 9007199254740991}", NULL },
    { "{\"maxBodyValueBytes\": -1}", "maxBodyValueBytes" },
    { "{\"maxBodyValueBytes\": 9007199254740992}", "maxBodyValueBytes" },
    { "{\"maxBodyValueBytes\": 1.5}", "maxBodyValueBytes" },
};

static const char *const defaults[] = { "id", "subject", NULL };

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *args = json_loads(cases[i].args, 0, NULL);
        struct jmap_email_body_opts opts = { 0 };
        json_t *props = NULL;
        assert_non_null(args);
        json_t *err = jmap_email_properties_arg(args, defaults, &props);
        if (err == NULL)
            err = jmap_email_body_args(args, &opts);
        if (cases[i].bad_argument == NULL) {
            if (err != NULL)
                fail_msg("%s: unexpected error %s", cases[i].args,
                         json_string_value(json_object_get(err, "description")));
            assert_non_null(props);
        } else {
            if (err == NULL)
                fail_msg("%s: accepted", cases[i].args);
            assert_string_equal(json_string_value(json_object_get(err, "type")),
                                "invalidArguments");
            assert_string_equal(
                json_string_value(json_array_get(json_object_get(err, "arguments"), 0)),
                cases[i].bad_argument);
        }
        json_decref(err);
        json_decref(props);
        json_decref(args);
    }
}

static void test_values(void **state)
{
    json_t *args = json_loads("{\"properties\": [\"subject\"], \"bodyProperties\": [\"type\"],"
                              " \"fetchHTMLBodyValues\": true, \"maxBodyValueBytes\": 100}",
                              0, NULL);
    struct jmap_email_body_opts opts = { 0 };
    json_t *props = NULL;
    (void)state;
    assert_null(jmap_email_properties_arg(args, defaults, &props));
    /* "id" is always returned */
    assert_int_equal(json_array_size(props), 2);
    assert_string_equal(json_string_value(json_array_get(props, 0)), "id");
    assert_string_equal(json_string_value(json_array_get(props, 1)), "subject");
    assert_null(jmap_email_body_args(args, &opts));
    assert_ptr_equal(opts.body_properties, json_object_get(args, "bodyProperties"));
    assert_false(opts.fetch_text_values);
    assert_true(opts.fetch_html_values);
    assert_false(opts.fetch_all_values);
    assert_int_equal(opts.max_body_value_bytes, 100);
    json_decref(props);
    json_decref(args);

    args = json_object();
    assert_null(jmap_email_properties_arg(args, defaults, &props));
    assert_int_equal(json_array_size(props), 2);
    assert_null(jmap_email_body_args(args, &opts));
    assert_null(opts.body_properties);
    json_decref(props);
    json_decref(args);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
