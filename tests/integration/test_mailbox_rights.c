/* test_mailbox_rights.c - Mailbox/get myRights (RFC 8621 §2) from IMAP
 * MYRIGHTS (RFC 4314) through the whole gateway, against a private Dovecot
 * with the acl plugin: a mailbox whose owner ACL another client cut down
 * to "lrsa" shows exactly mayReadItems and maySetSeen; INBOX, untouched,
 * shows every right. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/dovecot_test.h"

static const char acl_conf[] =
    "namespace inbox {\n  inbox = yes\n  separator = /\n}\n"
    "mail_plugins = $mail_plugins acl\n"
    "protocol imap {\n  mail_plugins = $mail_plugins imap_acl\n}\n"
    "plugin {\n  acl = vfile\n}\n";

static json_t *mailbox_named(json_t *list, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
        if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
            return m;
    return NULL;
}

static void expect_rights(json_t *mailbox, const char *const *granted)
{
    static const char *const all[] = { "mayReadItems", "mayAddItems", "mayRemoveItems",
                                       "maySetSeen", "maySetKeywords", "mayCreateChild",
                                       "mayRename", "mayDelete", "maySubmit" };
    json_t *r = json_object_get(mailbox, "myRights");
    H_ASSERT(json_is_object(r));
    H_ASSERT(json_object_size(r) == sizeof(all) / sizeof(all[0]));
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        bool want = granted == NULL;
        for (size_t k = 0; granted != NULL && granted[k] != NULL; k++)
            want |= strcmp(granted[k], all[i]) == 0;
        json_t *v = json_object_get(r, all[i]);
        H_ASSERT_MSG(json_is_boolean(v) && json_boolean_value(v) == want, "%s: expected %s",
                     all[i], want ? "true" : "false");
    }
}

/* Outside the test so the teardown stops Dovecot even after a failure. */
static char *root;
static struct dovecot d;

static int setup(void **state)
{
    (void)state;
    root = harness_mkdtemp("rights");
    if (root == NULL || chmod(root, 0755) != 0)     /* the mail user reaches its home */
        return -1;
    dovecot_start(&d, root, "acl", NULL, acl_conf);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dovecot_stop(&d);
    if (root != NULL)
        harness_rmtree(root);
    free(root);
    root = NULL;
    return 0;
}

static void test_rights(void **state)
{
    (void)state;

    struct harness_imap *other = harness_imap_login(d.imap_port, "test", "secret");
    H_ASSERT(other != NULL);
    H_ASSERT(harness_imap_cmd(other, "CREATE Shared") == 0);
    H_ASSERT(harness_imap_cmd(other, "SETACL Shared owner lrsa") == 0);
    H_ASSERT(harness_imap_cmd(other, "MYRIGHTS Shared") == 0);
    H_ASSERT(strstr(harness_imap_last(other), "MYRIGHTS Shared lrsa") != NULL);
    harness_imap_logout(&other);

    char port[16];
    snprintf(port, sizeof(port), "%u", d.imap_port);
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", port, "--imap-tls", "none",
                           NULL };
    struct harness_gateway_opts opts = { .args = args };
    struct harness_gateway *gw = harness_gateway_start(&opts);
    H_ASSERT(gw != NULL);
    json_t *session = harness_session_ok(gw->port, "test", "secret");
    const char *account = harness_session_account_id(session);
    H_ASSERT(account != NULL);
    char body[256];
    H_ASSERT(snprintf(body, sizeof(body), "{\"accountId\": \"%s\"}", account) <
             (int)sizeof(body));
    json_t *got = harness_jmap_ok(gw->port, "test", "secret", "Mailbox/get", body);
    json_t *list = json_object_get(got, "list");
    json_t *shared = mailbox_named(list, "Shared"), *inbox = mailbox_named(list, "INBOX");
    H_ASSERT(shared != NULL && inbox != NULL);
    expect_rights(shared, (const char *const[]){ "mayReadItems", "maySetSeen", NULL });
    expect_rights(inbox, NULL);

    json_decref(got);
    json_decref(session);
    H_ASSERT(harness_gateway_stop(gw) == 0);
    harness_gateway_free(&gw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
