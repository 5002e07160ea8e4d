/* test_email_set_errors.c - what Email/set tells the client after a copy
 * or move that failed, for each outcome backend_move() can report
 * (test_imap_write_fail.c produces those outcomes from a scripted server). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../../api/mail/email_set.h"
#include "backend_mail_write.h"

static void test_copy_failure_table(void **state)
{
    static const struct {
        enum backend_copy_outcome outcome;
        enum gw_error_code code;
        bool move;
        const char *type;
        const char *says;       /* in the description */
    } cases[] = {
        { BACKEND_COPY_NONE, GW_ERR_OVERQUOTA, true, "overQuota", "quota exceeded" },
        { BACKEND_COPY_NONE, GW_ERR_NOTFOUND, true, "notFound", "quota exceeded" },
        { BACKEND_COPY_NOT_REMOVED, GW_ERR_FORBIDDEN, true, "forbidden", "now in both" },
        { BACKEND_COPY_NOT_REMOVED, GW_ERR_UNAVAILABLE, true, "serverFail", "now in both" },
        { BACKEND_COPY_UNKNOWN, GW_ERR_UNAVAILABLE, true, "serverFail",
          "in the old or the new mailbox" },
        { BACKEND_COPY_UNKNOWN, GW_ERR_UNAVAILABLE, false, "serverFail", "during the copy" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct backend_copy_result r = { .outcome = cases[i].outcome };
        struct gw_error err = { 0 };
        gw_error_set(&err, cases[i].code, "quota exceeded");
        json_t *e = email_set_copy_failure(&r, &err, cases[i].move);
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *d = json_string_value(json_object_get(e, "description"));
        if (type == NULL || strcmp(type, cases[i].type) != 0 || d == NULL ||
            strstr(d, cases[i].says) == NULL)
            fail_msg("case %zu: %s / %s", i, type ? type : "-", d ? d : "-");
        json_decref(e);
    }
    struct gw_error err = { 0 };
    gw_error_set(&err, GW_ERR_TOO_LARGE, "too big");
    json_t *e = email_set_copy_failure(NULL, &err, true);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "tooLarge");
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_copy_failure_table) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
