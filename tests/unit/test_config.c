/* test_config.c - option parsing from defaults, file, environment, argv. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gw_config.h"

static char *no_env[] = { NULL };

static int load(struct gw_config *cfg, char **env, int argc, char **argv)
{
    struct gw_error err = { 0 };
    int rc = gw_config_load(cfg, argc, argv, env, &err);
    if (rc != 0)
        print_message("config error: %s\n", err.msg);
    return rc;
}

static void test_defaults(void **state)
{
    struct gw_config cfg;
    char *argv[] = { "jmap-gateway", NULL };
    assert_int_equal(load(&cfg, no_env, 1, argv), 0);
    assert_string_equal(cfg.listen_host, "127.0.0.1");
    assert_int_equal(cfg.listen_port, 8080);
    assert_string_equal(cfg.base_url, "http://127.0.0.1:8080");
    assert_string_equal(cfg.imap.host, "127.0.0.1");
    assert_int_equal(cfg.imap.port, 143);
    assert_int_equal(cfg.imap.tls, GW_TLS_STARTTLS);
    assert_int_equal(cfg.smtp.port, 587);
    assert_null(cfg.pop3.host);
    assert_null(cfg.tls_ca_file);
    assert_false(cfg.tls_insecure);
    assert_string_equal(cfg.state_dir, "./var");
    assert_true(cfg.workers >= 2);
    assert_int_equal(cfg.connect_timeout_ms, 10000);
    assert_int_equal(cfg.command_timeout_ms, 30000);
    assert_int_equal(cfg.limits.max_size_request, 10000000);
    assert_int_equal(cfg.limits.max_calls_in_request, 16);
    assert_string_equal(cfg.cors_origins[0], "*");
    assert_null(cfg.cors_origins[1]);
    assert_false(cfg.demo);
    gw_config_free(&cfg);
}

static void test_precedence(void **state)
{
    char path[] = "/tmp/jmapgw-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n imap-host = file.example  \nimap-port=1143\nlog-level = debug # trailing\n"
          "command-timeout = 250ms\ncors-origins = https://a.example, https://b.example\n",
          f);
    fclose(f);

    char config_arg[64];
    snprintf(config_arg, sizeof(config_arg), "--config=%s", path);
    char *env[] = { "JMAPGW_IMAP_PORT=2143", "JMAPGW_MAX_CALLS_IN_REQUEST=7", "OTHER=1", NULL };
    char *argv[] = { "jmap-gateway", config_arg, "--imap-port", "3143", "--tls-insecure",
                     "--listen", "[::1]:9000", NULL };
    struct gw_config cfg;
    assert_int_equal(load(&cfg, env, 7, argv), 0);
    assert_string_equal(cfg.imap.host, "file.example");   /* file only */
    assert_int_equal(cfg.imap.port, 3143);                 /* argv beats env beats file */
    assert_int_equal(cfg.limits.max_calls_in_request, 7);         /* env */
    assert_int_equal(cfg.log_level, GW_LOG_DEBUG);
    assert_int_equal(cfg.command_timeout_ms, 250);
    assert_true(cfg.tls_insecure);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.base_url, "http://[::1]:9000");
    assert_string_equal(cfg.cors_origins[0], "https://a.example");
    assert_string_equal(cfg.cors_origins[1], "https://b.example");
    assert_null(cfg.cors_origins[2]);
    gw_config_free(&cfg);
    unlink(path);
}

static void test_rejects_bad_input(void **state)
{
    static const char *const bad[][2] = {
        { "--imap-port", "0" },          { "--imap-port", "65536" },
        { "--imap-port", "12x" },        { "--imap-tls", "ssl" },
        { "--log-level", "loud" },       { "--command-timeout", "-1" },
        { "--command-timeout", "5h" },   { "--listen", "nohost" },
        { "--listen", ":80" },           { "--max-size-request", "0" },
        { "--tls-insecure=maybe", NULL }, { "--no-such-option", "1" },
        { "--base-url", "ftp://x" },     { "--imap-port", NULL },
        { "--workers", "-3" },           { "--cors-origins", " , " },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = { "jmap-gateway", (char *)bad[i][0], (char *)bad[i][1], NULL };
        int argc = bad[i][1] != NULL ? 3 : 2;
        struct gw_config cfg;
        struct gw_error err = { 0 };
        if (gw_config_load(&cfg, argc, argv, no_env, &err) == 0)
            fail_msg("accepted %s %s", bad[i][0], bad[i][1] ? bad[i][1] : "");
        assert_int_equal(err.code, GW_ERR_INVALID);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_plaintext_only_loopback(void **state)
{
    struct gw_config cfg;
    struct gw_error err = { 0 };
    char *remote[] = { "jmap-gateway", "--imap-host", "mail.example.com", "--imap-tls", "none",
                       NULL };
    assert_int_equal(gw_config_load(&cfg, 5, remote, no_env, &err), -1);
    assert_non_null(strstr(err.msg, "loopback"));

    char *local[] = { "jmap-gateway", "--imap-host", "127.0.0.2", "--imap-tls", "none", NULL };
    assert_int_equal(load(&cfg, no_env, 5, local), 0);
    gw_config_free(&cfg);
}

static void test_bad_config_file(void **state)
{
    char path[] = "/tmp/jmapgw-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "imap-host = x\nnonsense line\n", 28), 28);
    close(fd);
    char *argv[] = { "jmap-gateway", "--config", path, NULL };
    struct gw_config cfg;
    struct gw_error err = { 0 };
    assert_int_equal(gw_config_load(&cfg, 3, argv, no_env, &err), -1);
    assert_non_null(strstr(err.msg, ":2:"));
    unlink(path);

    char *missing[] = { "jmap-gateway", "--config", "/nonexistent/jmapgw.conf", NULL };
    assert_int_equal(gw_config_load(&cfg, 3, missing, no_env, &err), -1);
}

static void test_loopback(void **state)
{
    assert_true(gw_host_is_loopback("127.0.0.1"));
    assert_true(gw_host_is_loopback("127.9.9.9"));
    assert_true(gw_host_is_loopback("::1"));
    assert_true(gw_host_is_loopback("LOCALHOST"));
    assert_false(gw_host_is_loopback("128.0.0.1"));
    assert_false(gw_host_is_loopback("localhost.example.com"));
    assert_false(gw_host_is_loopback("::2"));
    assert_false(gw_host_is_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_rejects_bad_input),
        cmocka_unit_test(test_plaintext_only_loopback),
        cmocka_unit_test(test_bad_config_file),
        cmocka_unit_test(test_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
