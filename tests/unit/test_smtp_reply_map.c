/* test_smtp_reply_map.c - the one table from SMTP replies to neutral
 * submission errors (backends/smtp/smtp_errors.c): enhanced codes decide,
 * basic codes are the fallback, the stage tells a sender refusal from a
 * recipient one, and the names are RFC 8621's SetError types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "../../backends/smtp/smtp_internal.h"

static enum submit_error map(enum smtp_stage stage, int code, const char *enhanced)
{
    struct submit_reply r = {.code = code};
    strncpy(r.enhanced, enhanced, sizeof(r.enhanced) - 1);
    return smtp_map_reply(stage, &r);
}

static void test_table(void **state)
{
    (void)state;
    assert_int_equal(map(SMTP_STAGE_RCPT, 250, "2.1.5"), SUBMIT_OK);
    assert_int_equal(map(SMTP_STAGE_AUTH, 535, "5.7.8"), SUBMIT_ERR_FORBIDDEN_TO_SEND);
    assert_int_equal(map(SMTP_STAGE_AUTH, 454, "4.7.0"), SUBMIT_ERR_FORBIDDEN_TO_SEND);
    assert_int_equal(map(SMTP_STAGE_MAIL, 552, "5.3.4"), SUBMIT_ERR_TOO_LARGE);
    assert_int_equal(map(SMTP_STAGE_DATA, 552, ""), SUBMIT_ERR_TOO_LARGE);
    assert_int_equal(map(SMTP_STAGE_RCPT, 452, "4.5.3"), SUBMIT_ERR_TOO_MANY_RECIPIENTS);
    assert_int_equal(map(SMTP_STAGE_RCPT, 452, ""), SUBMIT_ERR_TOO_MANY_RECIPIENTS);
    /* A basic code only counts without an enhanced one: mailbox full. */
    assert_int_equal(map(SMTP_STAGE_RCPT, 452, "4.2.2"), SUBMIT_ERR_INVALID_RECIPIENTS);
    assert_int_equal(map(SMTP_STAGE_DATA, 552, "5.7.1"), SUBMIT_ERR_FORBIDDEN_FROM);
    assert_int_equal(map(SMTP_STAGE_MAIL, 553, "5.7.1"), SUBMIT_ERR_FORBIDDEN_MAIL_FROM);
    assert_int_equal(map(SMTP_STAGE_MAIL, 553, "5.1.8"), SUBMIT_ERR_FORBIDDEN_MAIL_FROM);
    assert_int_equal(map(SMTP_STAGE_MAIL, 530, "5.7.0"), SUBMIT_ERR_FORBIDDEN_TO_SEND);
    assert_int_equal(map(SMTP_STAGE_RCPT, 530, ""), SUBMIT_ERR_FORBIDDEN_TO_SEND);
    assert_int_equal(map(SMTP_STAGE_RCPT, 550, "5.1.1"), SUBMIT_ERR_INVALID_RECIPIENTS);
    assert_int_equal(map(SMTP_STAGE_RCPT, 554, "5.7.1"), SUBMIT_ERR_INVALID_RECIPIENTS);
    assert_int_equal(map(SMTP_STAGE_DATA, 554, "5.6.0"), SUBMIT_ERR_INVALID_EMAIL);
    assert_int_equal(map(SMTP_STAGE_DATA, 550, "5.7.1"), SUBMIT_ERR_FORBIDDEN_FROM);
    assert_int_equal(map(SMTP_STAGE_DATA, 451, "4.3.0"), SUBMIT_ERR_SERVER);
    assert_int_equal(map(SMTP_STAGE_DATA, 0, ""), SUBMIT_ERR_UNAVAILABLE);
}

static void test_names(void **state)
{
    (void)state;
    assert_null(submit_error_name(SUBMIT_OK));
    assert_string_equal(submit_error_name(SUBMIT_ERR_INVALID_EMAIL), "invalidEmail");
    assert_string_equal(submit_error_name(SUBMIT_ERR_TOO_MANY_RECIPIENTS), "tooManyRecipients");
    assert_string_equal(submit_error_name(SUBMIT_ERR_NO_RECIPIENTS), "noRecipients");
    assert_string_equal(submit_error_name(SUBMIT_ERR_INVALID_RECIPIENTS), "invalidRecipients");
    assert_string_equal(submit_error_name(SUBMIT_ERR_FORBIDDEN_MAIL_FROM), "forbiddenMailFrom");
    assert_string_equal(submit_error_name(SUBMIT_ERR_FORBIDDEN_FROM), "forbiddenFrom");
    assert_string_equal(submit_error_name(SUBMIT_ERR_FORBIDDEN_TO_SEND), "forbiddenToSend");
    assert_string_equal(submit_error_name(SUBMIT_ERR_TOO_LARGE), "tooLarge");
    assert_string_equal(submit_error_name(SUBMIT_ERR_SERVER), "serverFail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("smtp_reply_map", tests, NULL, NULL);
}
