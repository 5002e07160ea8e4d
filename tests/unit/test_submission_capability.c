/* test_submission_capability.c - the submission account capability and
 * its generation (api/mail/identity_session.c): what the session state
 * cache of gateway/session.c keys on instead of rebuilding the capability
 * per request. Every configuration change moves the generation, asking
 * the capability with no server configured does not, and the capability
 * answers what was configured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jmap_api.h"
#include "jmap_submission.h"

static json_int_t max_delayed_send(void)
{
    json_t *cap = jmap_submission_account_capability();
    assert_non_null(cap);
    assert_true(json_is_object(json_object_get(cap, "submissionExtensions")));
    json_int_t v = json_integer_value(json_object_get(cap, "maxDelayedSend"));
    json_decref(cap);
    return v;
}

static void test_generation_follows_configuration(void **state)
{
    (void)state;
    struct jmap_submission_config c = { .mail_domain = "example.test", .max_delayed_send = 60 };
    unsigned g0 = jmap_submission_capability_generation();
    assert_int_equal(jmap_submission_configure(&c), 0);
    unsigned g1 = jmap_submission_capability_generation();
    assert_int_not_equal(g1, g0);
    assert_int_equal(jmap_capabilities_account_generation(), g1);
    assert_int_equal(max_delayed_send(), 60);

    /* No server: nothing to probe, nothing changes. */
    assert_int_equal(max_delayed_send(), 60);
    assert_int_equal(jmap_submission_capability_generation(), g1);

    c.max_delayed_send = 3600;
    assert_int_equal(jmap_submission_configure(&c), 0);
    unsigned g2 = jmap_submission_capability_generation();
    assert_int_not_equal(g2, g1);
    assert_int_equal(max_delayed_send(), 3600);

    jmap_submission_reset();
    assert_int_not_equal(jmap_submission_capability_generation(), g2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generation_follows_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
