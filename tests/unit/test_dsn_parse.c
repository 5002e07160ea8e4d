/* RFC 3464 delivery-status parser: a table of reports, well-formed and
 * broken; broken ones must be refused without crashing (ASan watches). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../api/mail/email_submission_dsn.h"

struct dsn_case {
    const char *name;
    const char *body;
    int rc;                     /* expected return */
    const char *envid;          /* NULL: absent */
    size_t n_rcpts;
    const char *final0, *orig0, *action0, *status0;
};

static const struct dsn_case cases[] = {
    {"postfix success",
     "Reporting-MTA: dns; mx.example\r\nX-Postfix-Queue-ID: 4F1\r\n"
     "Original-Envelope-Id: Sabc123\r\nArrival-Date: Mon, 23 Nov 2026 11:00:00 +0000\r\n\r\n"
     "Final-Recipient: rfc822; bob@example.org\r\nOriginal-Recipient: rfc822;Bob@Example.org\r\n"
     "Action: delivered\r\nStatus: 2.0.0\r\nDiagnostic-Code: smtp; 250 ok\r\n\r\n",
     0, "Sabc123", 1, "bob@example.org", "Bob@Example.org", "delivered", "2.0.0"},
    {"bare LF, folded field, two recipients, comment after action",
     "Original-Envelope-Id:\n  E1\n\nFinal-Recipient: rfc822;\n a@x\nAction: FAILED (no such user)\n"
     "Status: 5.1.1\n\n\n\nFinal-Recipient: rfc822; b@x\nAction: delayed\nStatus: 4.4.1\n",
     0, "E1", 2, "a@x", NULL, "failed", "5.1.1"},
    {"no envelope id", "Reporting-MTA: dns; x\n\nFinal-Recipient: c@x\nAction: relayed\n", 0,
     NULL, 1, "c@x", NULL, "relayed", NULL},
    {"empty", "", -1, NULL, 0, NULL, NULL, NULL, NULL},
    {"only per-message group", "Original-Envelope-Id: X\r\n", -1, "X", 0, NULL, NULL, NULL,
     NULL},
    {"recipient without action", "R: x\n\nFinal-Recipient: rfc822; a@x\nStatus: 2.0.0\n", -1,
     NULL, 1, "a@x", NULL, NULL, "2.0.0"},
    {"garbage", "\x01\x02:::\n\n:\n;;;\r\r\n\n\t\n", -1, NULL, 2, NULL, NULL, NULL, NULL},
    {"no colon, no newline at end", "Final-Recipient rfc822 a@x", -1, NULL, 0, NULL, NULL, NULL,
     NULL},
    {"duplicate fields keep the first",
     "Original-Envelope-Id: A\nOriginal-Envelope-Id: B\n\nAction: delivered\nAction: failed\n"
     "Final-Recipient: ;\n",
     0, "A", 1, "", NULL, "delivered", NULL},
};

static void check_str(const char *want, const char *have, const char *what, const char *name)
{
    if (want == NULL) {
        if (have != NULL)
            fail_msg("%s: %s: expected none, got '%s'", name, what, have);
        return;
    }
    if (have == NULL || strcmp(want, have) != 0)
        fail_msg("%s: %s: expected '%s', got '%s'", name, what, want, have ? have : "(null)");
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct dsn_case *c = &cases[i];
        struct dsn_report r;
        int rc = email_submission_dsn_parse(c->body, strlen(c->body), &r);
        if (rc != c->rc)
            fail_msg("%s: rc %d, expected %d", c->name, rc, c->rc);
        check_str(c->envid, r.envelope_id, "envid", c->name);
        if (r.n_rcpts != c->n_rcpts)
            fail_msg("%s: %zu recipients, expected %zu", c->name, r.n_rcpts, c->n_rcpts);
        if (c->n_rcpts > 0) {
            check_str(c->final0, r.rcpts[0].final_recipient, "final", c->name);
            check_str(c->orig0, r.rcpts[0].original_recipient, "original", c->name);
            check_str(c->action0, r.rcpts[0].action, "action", c->name);
            check_str(c->status0, r.rcpts[0].status, "status", c->name);
        }
        email_submission_dsn_clear(&r);
        assert_null(r.rcpts);
    }
}

static void test_truncations(void **state)
{
    /* Every prefix of a good report: no crash, no read past the end. */
    const char *body = cases[0].body;
    size_t len = strlen(body);
    (void)state;
    for (size_t n = 0; n <= len; n++) {
        char *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, body, n);
        struct dsn_report r;
        (void)email_submission_dsn_parse(copy, n, &r);
        email_submission_dsn_clear(&r);
        free(copy);
    }
}

static void test_delivered(void **state)
{
    (void)state;
    assert_string_equal(email_submission_dsn_delivered("delivered"), "yes");
    assert_string_equal(email_submission_dsn_delivered("failed"), "no");
    assert_string_equal(email_submission_dsn_delivered("delayed"), "queued");
    assert_string_equal(email_submission_dsn_delivered("relayed"), "unknown");
    assert_string_equal(email_submission_dsn_delivered(NULL), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_delivered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
