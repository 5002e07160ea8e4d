/* test_tls.c - TLS to the IMAP backend: STARTTLS and implicit TLS succeed
 * only when the certificate chains to a trusted CA and names the host;
 * every failed check is a 502/503 problem, never a success. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_dovecot.h"

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
} fx;

static const char *const timeouts[] = { "--connect-timeout", "2s", "--command-timeout", "2s",
                                        NULL };

static int group_setup(void **state)
{
    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    return fx.dovecot != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    return 0;
}

static void stop_gateway(struct harness_gateway **gw)
{
    H_ASSERT_MSG(harness_gateway_alive(*gw), "gateway died");
    H_ASSERT_MSG(harness_gateway_stop(*gw) == 0, "gateway did not exit 0 on SIGTERM");
    harness_gateway_free(gw);
}

static void expect_session_ok(struct demo_dovecot *d, const char *mode)
{
    struct harness_gateway *gw = harness_gateway_for_dovecot(d, mode, true, timeouts);
    json_t *s;

    H_ASSERT(gw != NULL);
    s = harness_session_ok(gw->port, "demo", "demo");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(s, "username")), "demo");
    json_decref(s);
    stop_gateway(&gw);
}

/* The session must fail as a gateway/backend problem (502 or 503) within
 * the timeouts, never succeed and never blame the client's password. */
static void expect_tls_refused(struct harness_gateway *gw)
{
    struct harness_response r;
    json_t *p;

    H_ASSERT(gw != NULL);
    H_ASSERT(harness_get_session(gw->port, "demo", "demo", &r) == 0);
    H_ASSERT_MSG(r.status == 502 || r.status == 503,
                 "TLS check failure gave HTTP %d, expected 502 or 503: %s", r.status, r.body);
    H_ASSERT_MSG(r.elapsed_ms < 2000 + 2000 + 2000, "took %lld ms", (long long)r.elapsed_ms);
    p = H_ASSERT_PROBLEM(&r, r.status, NULL);
    json_decref(p);
    harness_response_free(&r);
    stop_gateway(&gw);
}

static void test_starttls_with_ca(void **state)
{
    (void)state;
    expect_session_ok(fx.dovecot, "starttls");
}

static void test_implicit_tls_with_ca(void **state)
{
    (void)state;
    expect_session_ok(fx.dovecot, "tls");
}

static void test_starttls_untrusted(void **state)
{
    (void)state;
    /* No --tls-ca-file: the system store does not know our private CA. */
    expect_tls_refused(harness_gateway_for_dovecot(fx.dovecot, "starttls", false, timeouts));
}

static void test_implicit_tls_untrusted(void **state)
{
    (void)state;
    expect_tls_refused(harness_gateway_for_dovecot(fx.dovecot, "tls", false, timeouts));
}

static void test_implicit_tls_on_plaintext_port(void **state)
{
    struct harness_gateway_opts opts = { 0 };
    char port[16];
    const char *args[] = { "--imap-host", "127.0.0.1", "--imap-port", port, "--imap-tls", "tls",
                           "--tls-ca-file", demo_dovecot_ca_file(fx.dovecot),
                           "--connect-timeout", "2s", "--command-timeout", "2s", NULL };

    (void)state;
    snprintf(port, sizeof(port), "%u", demo_dovecot_imap_port(fx.dovecot));
    opts.args = args;
    expect_tls_refused(harness_gateway_start(&opts));
}

static void test_host_name_mismatch(void **state)
{
    static const char *const names[] = { "wrong.example", NULL };
    char *dir = NULL;
    struct demo_dovecot *other = harness_dovecot_start(names, &dir);

    (void)state;
    H_ASSERT_MSG(other != NULL, "second Dovecot did not start");
    /* Trusted CA, but the certificate names another host. */
    expect_tls_refused(harness_gateway_for_dovecot(other, "starttls", true, timeouts));
    expect_tls_refused(harness_gateway_for_dovecot(other, "tls", true, timeouts));
    harness_dovecot_free(&other, &dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starttls_with_ca),
        cmocka_unit_test(test_implicit_tls_with_ca),
        cmocka_unit_test(test_starttls_untrusted),
        cmocka_unit_test(test_implicit_tls_untrusted),
        cmocka_unit_test(test_implicit_tls_on_plaintext_port),
        cmocka_unit_test(test_host_name_mismatch),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("tls", tests, group_setup, group_teardown);
}
