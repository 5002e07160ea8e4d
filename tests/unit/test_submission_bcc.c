/* test_submission_bcc.c - the bytes EmailSubmission hands to SMTP: every
 * top-level Bcc field (folded or not, any case) removed, every other byte
 * kept, a Bcc in an attached message or the body left alone. (Postfix
 * drops Bcc itself, so the integration test cannot tell.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../api/mail/email_submission.h"

static void check(const char *in, const char *want)
{
    size_t len = 0;
    char *out = email_submission_strip_bcc(in, strlen(in), &len);
    assert_non_null(out);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(out, want, len);
    free(out);
}

static void test_strip(void **state)
{
    (void)state;
    check("From: a@x\r\nBcc: b@x\r\nTo: c@x\r\n\r\nbody\r\n", "From: a@x\r\nTo: c@x\r\n\r\nbody\r\n");
    check("BCC: b@x,\r\n d@x\r\nFrom: a@x\r\n\r\nBcc: in body\r\n",
          "From: a@x\r\n\r\nBcc: in body\r\n");
    check("From: a@x\r\nbcc:\r\nSubject: s\r\nbcc: e@x\r\n\r\n", "From: a@x\r\nSubject: s\r\n\r\n");
    check("From: a@x\r\nBcc-Like: kept\r\n\r\nx", "From: a@x\r\nBcc-Like: kept\r\n\r\nx");
    check("From: a@x\r\nTo: c@x\r\n\r\n", "From: a@x\r\nTo: c@x\r\n\r\n");
    check("", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_strip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
