/* test_email_object_cache.c - the whole-Email cache of Email/get
 * (api/mail/email_object_cache.c): a hit only for the same account, Email,
 * property list and version (keywords, mailboxIds, preview and the row's
 * other values), a new version replacing the old, cached objects frozen
 * (dumped from their text), property names with a NUL refused, clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api/mail/email_object_cache.h"
#include "gw_json.h"

static json_t *props_of(const char *text)
{
    json_t *p = json_loads(text, 0, NULL);
    assert_non_null(p);
    return p;
}

static void email_init(struct mail_store_email *e, const char *id, char **keywords, size_t n_kw,
                       char **mailboxes, size_t n_mb, char *preview)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->keywords = keywords;
    e->n_keywords = n_kw;
    e->mailbox_ids = mailboxes;
    e->n_mailbox_ids = n_mb;
    e->preview = preview;
}

static void test_versions(void **state)
{
    (void)state;
    email_object_cache_clear();
    char *seen[] = { "$seen" }, *seen_flagged[] = { "$flagged", "$seen" };
    char *inbox[] = { "Minbox" }, *two[] = { "Minbox", "Mother" };
    char preview[] = "Hello", other_preview[] = "Hello!";
    json_t *props = props_of("[\"id\", \"keywords\", \"subject\"]");
    struct email_object_key k;
    assert_int_equal(email_object_key_init(&k, "Aacc", props), 0);

    struct mail_store_email e;
    email_init(&e, "Eone", seen, 1, inbox, 1, preview);
    assert_null(email_object_cache_get(&k, &e));
    json_t *obj = json_pack("{s:s, s:{s:b}, s:s}", "id", "Eone", "keywords", "$seen", 1,
                            "subject", "Hi");
    email_object_cache_put(&k, &e, obj);
    json_t *got = email_object_cache_get(&k, &e);
    assert_ptr_equal(got, obj);                 /* shared, not copied */
    json_decref(got);

    /* Each part of the version counts. */
    struct mail_store_email changed;
    email_init(&changed, "Eone", seen_flagged, 2, inbox, 1, preview);
    assert_null(email_object_cache_get(&k, &changed));
    email_init(&changed, "Eone", seen, 1, two, 2, preview);
    assert_null(email_object_cache_get(&k, &changed));
    email_init(&changed, "Eone", seen, 1, inbox, 1, other_preview);
    assert_null(email_object_cache_get(&k, &changed));
    email_init(&changed, "Eone", seen, 1, inbox, 1, NULL);
    assert_null(email_object_cache_get(&k, &changed));
    /* And so does every other value of the row. */
    email_init(&changed, "Eone", seen, 1, inbox, 1, preview);
    got = email_object_cache_get(&k, &changed);
    assert_ptr_equal(got, obj);                 /* the same as e again */
    json_decref(got);
    changed.size = 1;
    assert_null(email_object_cache_get(&k, &changed));
    changed.size = 0;
    changed.received_at = 1;
    assert_null(email_object_cache_get(&k, &changed));
    changed.received_at = 0;
    changed.has_attachment = true;
    assert_null(email_object_cache_get(&k, &changed));
    changed.has_attachment = false;
    snprintf(changed.thread_id, sizeof(changed.thread_id), "Tother");
    assert_null(email_object_cache_get(&k, &changed));
    /* A keyword list and a mailbox list do not run into each other. */
    char *kw_then_mb[] = { "$seen", "Minbox" };
    email_init(&changed, "Eone", kw_then_mb, 2, NULL, 0, preview);
    assert_null(email_object_cache_get(&k, &changed));

    /* A new version replaces the old one. */
    email_init(&changed, "Eone", seen_flagged, 2, inbox, 1, preview);
    json_t *obj2 = json_pack("{s:s, s:{s:b, s:b}, s:s}", "id", "Eone", "keywords", "$flagged", 1,
                             "$seen", 1, "subject", "Hi");
    email_object_cache_put(&k, &changed, obj2);
    got = email_object_cache_get(&k, &changed);
    assert_ptr_equal(got, obj2);
    json_decref(got);
    assert_null(email_object_cache_get(&k, &e));

    /* Another account, Email or property list misses. */
    struct email_object_key other;
    json_t *subset = props_of("[\"id\", \"keywords\"]");
    assert_int_equal(email_object_key_init(&other, "Aacc", subset), 0);
    assert_null(email_object_cache_get(&other, &changed));
    email_object_key_clear(&other);
    assert_int_equal(email_object_key_init(&other, "Aother", props), 0);
    assert_null(email_object_cache_get(&other, &changed));
    email_object_key_clear(&other);
    /* "header:Subject:asText" is another property than "subject". */
    json_t *header_form = props_of("[\"id\", \"keywords\", \"header:Subject:asText\"]");
    assert_int_equal(email_object_key_init(&other, "Aacc", header_form), 0);
    assert_null(email_object_cache_get(&other, &changed));
    email_object_key_clear(&other);
    struct mail_store_email two_id;
    email_init(&two_id, "Etwo", seen_flagged, 2, inbox, 1, preview);
    assert_null(email_object_cache_get(&k, &two_id));

    email_object_cache_clear();
    assert_null(email_object_cache_get(&k, &changed));
    email_object_key_clear(&k);
    json_decref(obj);
    json_decref(obj2);
    json_decref(props);
    json_decref(subset);
    json_decref(header_form);
}

/* Cached objects are dumped from the text frozen when they were put. */
static void test_frozen(void **state)
{
    (void)state;
    email_object_cache_clear();
    json_t *props = props_of("[\"id\"]");
    struct email_object_key k;
    assert_int_equal(email_object_key_init(&k, "Aacc", props), 0);
    struct mail_store_email e;
    email_init(&e, "Eone", NULL, 0, NULL, 0, NULL);
    json_t *obj = json_pack("{s:s}", "id", "Eone");
    email_object_cache_put(&k, &e, obj);
    /* Changing a cached object breaks the contract; here it shows that
     * the reply is written from the frozen text. */
    json_object_set_new(obj, "late", json_true());
    json_t *reply = json_pack("{s:[O]}", "list", obj);
    char *text = gw_json_dump_compact(reply, NULL);
    assert_string_equal(text, "{\"list\":[{\"id\":\"Eone\"}]}");
    free(text);
    /* Cleared: unfrozen, written as it is. */
    email_object_cache_clear();
    text = gw_json_dump_compact(reply, NULL);
    assert_string_equal(text, "{\"list\":[{\"id\":\"Eone\",\"late\":true}]}");
    free(text);
    json_decref(reply);
    json_decref(obj);
    email_object_key_clear(&k);
    json_decref(props);
}

static void test_nul_in_name(void **state)
{
    (void)state;
    json_t *props = json_array();
    json_array_append_new(props, json_stringn("id\0keywords", 11));
    struct email_object_key k;
    assert_int_equal(email_object_key_init(&k, "Aacc", props), -1);
    struct mail_store_email e;
    email_init(&e, "Eone", NULL, 0, NULL, 0, NULL);
    assert_null(email_object_cache_get(&k, &e));
    email_object_key_clear(&k);
    json_decref(props);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_frozen),
        cmocka_unit_test(test_nul_in_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
