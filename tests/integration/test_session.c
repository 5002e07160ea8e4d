/* test_session.c - the session resource (RFC 8620 §2) and the operator
 * interface (options on the command line, in the environment, in a file). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "demo_dovecot.h"

struct fixture {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    struct harness_gateway *old_gw;   /* stopped; its temp dir holds gw's state */
};

static struct fixture fx;

/* Options the session must reflect back. */
static const char *const gw_args[] = {
    "--max-size-request", "123456", "--max-calls-in-request", "7",
    "--max-concurrent-requests", "3", NULL,
};

static int group_setup(void **state)
{
    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, gw_args);
    return fx.gw != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;

    (void)state;
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_gateway_free(&fx.old_gw);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    return rc;
}

static void assert_template(json_t *session, const char *key, const char *const *vars)
{
    const char *url = json_string_value(json_object_get(session, key));

    H_ASSERT_MSG(url != NULL, "session %s missing", key);
    H_ASSERT_MSG(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0,
                 "%s is not an absolute URL: %s", key, url);
    for (size_t i = 0; vars[i] != NULL; i++)
        H_ASSERT_MSG(strstr(url, vars[i]) != NULL, "%s lacks %s: %s", key, vars[i], url);
}

static bool id_is_valid(const char *id)
{
    size_t len = strlen(id);

    if (len == 0 || len > 255)
        return false;
    return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == len;
}

static void test_session_shape(void **state)
{
    static const char *const limits[] = {
        "maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest", "maxConcurrentRequests",
        "maxCallsInRequest", "maxObjectsInGet", "maxObjectsInSet", NULL,
    };
    static const char *const dl_vars[] = { "{accountId}", "{blobId}", "{type}", "{name}", NULL };
    static const char *const ul_vars[] = { "{accountId}", NULL };
    static const char *const es_vars[] = { "{types}", "{closeafter}", "{ping}", NULL };
    static const char *const api_vars[] = { NULL };
    struct harness_response r;
    json_t *s, *core, *account, *acaps, *primary;
    const char *id, *cc, *ct, *api;

    (void)state;
    H_ASSERT(harness_get_session(fx.gw->port, "demo", "demo", &r) == 0);
    H_ASSERT_STATUS(&r, 200);
    ct = harness_response_header(&r, "Content-Type");
    H_ASSERT_MSG(ct != NULL && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct);
    cc = harness_response_header(&r, "Cache-Control");
    H_ASSERT_MSG(cc != NULL && strstr(cc, "no-store") != NULL, "Cache-Control %s",
                 cc != NULL ? cc : "absent");
    s = harness_response_json(&r);
    H_ASSERT_MSG(json_is_object(s), "not JSON: %s", r.body);
    harness_response_free(&r);

    core = json_object_get(json_object_get(s, "capabilities"), "urn:ietf:params:jmap:core");
    H_ASSERT_MSG(json_is_object(core), "no core capability");
    for (size_t i = 0; limits[i] != NULL; i++) {
        json_t *v = json_object_get(core, limits[i]);

        H_ASSERT_MSG(json_is_integer(v) && json_integer_value(v) > 0,
                     "core limit %s missing or not a positive integer", limits[i]);
    }
    H_ASSERT_MSG(json_is_array(json_object_get(core, "collationAlgorithms")),
                 "collationAlgorithms is not an array");
    H_ASSERT_MSG(json_object_size(core) >= 8, "core capability has %zu members",
                 json_object_size(core));
    H_ASSERT(json_is_object(json_object_get(json_object_get(s, "capabilities"),
                                            "urn:ietf:params:jmap:mail")));

    id = harness_session_account_id(s);
    H_ASSERT_MSG(id != NULL, "accounts must hold exactly one account");
    H_ASSERT_MSG(id_is_valid(id), "account id \"%s\" is not a valid JMAP Id", id);
    account = json_object_get(json_object_get(s, "accounts"), id);
    H_ASSERT(json_is_string(json_object_get(account, "name")));
    H_ASSERT(json_is_true(json_object_get(account, "isPersonal")));
    H_ASSERT(json_is_false(json_object_get(account, "isReadOnly")));
    acaps = json_object_get(account, "accountCapabilities");
    H_ASSERT(json_is_object(json_object_get(acaps, "urn:ietf:params:jmap:core")));
    H_ASSERT(json_is_object(json_object_get(acaps, "urn:ietf:params:jmap:mail")));

    primary = json_object_get(s, "primaryAccounts");
    H_ASSERT_MSG(json_is_string(json_object_get(primary, "urn:ietf:params:jmap:core")) &&
                     strcmp(json_string_value(json_object_get(primary, "urn:ietf:params:jmap:core")), id) == 0,
                 "primaryAccounts core is not the account");
    H_ASSERT_MSG(json_is_string(json_object_get(primary, "urn:ietf:params:jmap:mail")) &&
                     strcmp(json_string_value(json_object_get(primary, "urn:ietf:params:jmap:mail")), id) == 0,
                 "primaryAccounts mail is not the account");

    H_ASSERT(json_is_string(json_object_get(s, "username")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(s, "username")), "demo");
    assert_template(s, "apiUrl", api_vars);
    api = json_string_value(json_object_get(s, "apiUrl"));
    H_ASSERT_MSG(strlen(api) >= 9 && strcmp(api + strlen(api) - 9, "/jmap/api") == 0,
                 "apiUrl %s does not end in /jmap/api", api);
    assert_template(s, "downloadUrl", dl_vars);
    assert_template(s, "uploadUrl", ul_vars);
    assert_template(s, "eventSourceUrl", es_vars);
    H_ASSERT(json_is_string(json_object_get(s, "state")));
    H_ASSERT(json_string_length(json_object_get(s, "state")) > 0);
    json_decref(s);
}

static void test_session_limits_follow_options(void **state)
{
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    json_t *core = json_object_get(json_object_get(s, "capabilities"), "urn:ietf:params:jmap:core");

    (void)state;
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(core, "maxSizeRequest")), 123456);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(core, "maxCallsInRequest")), 7);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(core, "maxConcurrentRequests")), 3);
    json_decref(s);
}

static void test_session_per_user(void **state)
{
    json_t *demo = harness_session_ok(fx.gw->port, "demo", "demo");
    json_t *alice = harness_session_ok(fx.gw->port, "alice", "alice");
    json_t *again = harness_session_ok(fx.gw->port, "demo", "demo");
    const char *d = harness_session_account_id(demo);
    const char *a = harness_session_account_id(alice);

    (void)state;
    H_ASSERT(d != NULL && a != NULL);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(alice, "username")), "alice");
    H_ASSERT_MSG(strcmp(d, a) != 0, "demo and alice share account id %s", d);
    H_ASSERT_STR_EQ(harness_session_account_id(again), d);
    json_decref(demo);
    json_decref(alice);
    json_decref(again);
}

static void test_account_id_survives_restart(void **state)
{
    json_t *before = harness_session_ok(fx.gw->port, "demo", "demo");
    char *id = strdup(harness_session_account_id(before));
    struct harness_gateway *old = fx.gw;
    struct harness_gateway_opts opts = { 0 };
    const char *args[16];
    char port[16];
    json_t *after;

    (void)state;
    H_ASSERT(harness_gateway_stop(old) == 0);
    snprintf(port, sizeof(port), "%u", demo_dovecot_imap_port(fx.dovecot));
    args[0] = "--imap-host";
    args[1] = "127.0.0.1";
    args[2] = "--imap-port";
    args[3] = port;
    args[4] = "--imap-tls";
    args[5] = "starttls";
    args[6] = "--tls-ca-file";
    args[7] = demo_dovecot_ca_file(fx.dovecot);
    args[8] = NULL;
    opts.args = args;
    opts.state_dir = old->state_dir;
    fx.old_gw = old;
    fx.gw = harness_gateway_start(&opts);
    H_ASSERT(fx.gw != NULL);
    after = harness_session_ok(fx.gw->port, "demo", "demo");
    H_ASSERT_STR_EQ(harness_session_account_id(after), id);
    json_decref(before);
    json_decref(after);
    free(id);
}

static void test_api_url_and_session_state(void **state)
{
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    char *path = harness_url_path(json_string_value(json_object_get(s, "apiUrl")));
    json_t *resp;

    (void)state;
    H_ASSERT_STR_EQ(path, "/jmap/api");
    resp = harness_api_ok(fx.gw->port, "demo", "demo",
                          "{\"using\":[\"urn:ietf:params:jmap:core\"],"
                          "\"methodCalls\":[[\"Core/echo\",{\"ping\":1},\"c1\"]]}");
    H_ASSERT(json_is_string(json_object_get(resp, "sessionState")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(resp, "sessionState")),
                        json_string_value(json_object_get(s, "state")));
    json_decref(resp);
    /* Later requests (on every worker, answered from the remembered state)
     * still carry the session's state. */
    for (int i = 0; i < 12; i++) {
        resp = harness_api_ok(fx.gw->port, "demo", "demo",
                              "{\"using\":[\"urn:ietf:params:jmap:core\"],"
                              "\"methodCalls\":[[\"Core/echo\",{},\"c2\"]]}");
        H_ASSERT_STR_EQ(json_string_value(json_object_get(resp, "sessionState")),
                        json_string_value(json_object_get(s, "state")));
        json_decref(resp);
    }
    free(path);
    json_decref(s);
}

static void test_cli_help_and_unknown_option(void **state)
{
    static const char *const help[] = { "--help", NULL };
    static const char *const bad[] = { "--no-such-option", "1", NULL };
    static const char *const names[] = {
        "--listen", "--state-dir", "--imap-host", "--imap-port", "--imap-tls", "--tls-ca-file",
        "--connect-timeout", "--command-timeout", "--cors-origins", "--max-size-request",
        "--max-calls-in-request", "--max-concurrent-requests", "--log-level", "--config", NULL,
    };
    char *out = NULL;
    int status = 0;

    (void)state;
    H_ASSERT_MSG(harness_run_binary(help, NULL, 5000, &status, &out) == 0, "--help did not exit");
    H_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "--help status 0x%x", status);
    for (size_t i = 0; names[i] != NULL; i++)
        H_ASSERT_MSG(strstr(out, names[i]) != NULL, "--help does not list %s:\n%s", names[i], out);
    free(out);

    H_ASSERT_MSG(harness_run_binary(bad, NULL, 5000, &status, &out) == 0,
                 "an unknown option did not make it exit");
    H_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 2, "unknown option status 0x%x",
                 status);
    H_ASSERT_MSG(strstr(out, "no-such-option") != NULL, "message does not name the option: %s",
                 out);
    free(out);
}

/* Starts a gateway configured only through env and/or a config file
 * (plus extra CLI args) and returns maxCallsInRequest from its session. */
static json_int_t calls_limit_with(const char *const *env, const char *file_text,
                                   const char *const *cli)
{
    struct harness_gateway_opts opts = { 0 };
    struct harness_gateway *gw;
    const char *args[16];
    char path[512];
    size_t n = 0;
    json_t *s;
    json_int_t limit;
    char *dir = harness_mkdtemp("cfg");

    H_ASSERT(dir != NULL);
    if (file_text != NULL) {
        snprintf(path, sizeof(path), "%s/gateway.conf", dir);
        H_ASSERT(harness_write_file(path, file_text, strlen(file_text)) == 0);
        args[n++] = "--config";
        args[n++] = path;
    }
    for (size_t i = 0; cli != NULL && cli[i] != NULL; i++)
        args[n++] = cli[i];
    args[n] = NULL;
    opts.args = args;
    opts.env = env;
    gw = harness_gateway_start(&opts);
    H_ASSERT_MSG(gw != NULL, "gateway did not start");
    s = harness_session_ok(gw->port, "demo", "demo");
    limit = json_integer_value(json_object_get(
        json_object_get(json_object_get(s, "capabilities"), "urn:ietf:params:jmap:core"),
        "maxCallsInRequest"));
    json_decref(s);
    H_ASSERT(harness_gateway_stop(gw) == 0);
    harness_gateway_free(&gw);
    harness_set_current_gateway(fx.gw);
    harness_rmtree(dir);
    free(dir);
    return limit;
}

static void test_options_from_env_and_file(void **state)
{
    char env_port[64], env_ca[600], file[1024];
    const char *env[6], *env_calls[6];
    static const char *const cli9[] = { "--max-calls-in-request", "9", NULL };

    (void)state;
    snprintf(env_port, sizeof(env_port), "JMAPGW_IMAP_PORT=%u",
             demo_dovecot_imap_port(fx.dovecot));
    snprintf(env_ca, sizeof(env_ca), "JMAPGW_TLS_CA_FILE=%s", demo_dovecot_ca_file(fx.dovecot));
    env[0] = "JMAPGW_IMAP_HOST=127.0.0.1";
    env[1] = env_port;
    env[2] = "JMAPGW_IMAP_TLS=starttls";
    env[3] = env_ca;
    env[4] = "JMAPGW_MAX_CALLS_IN_REQUEST=3";
    env[5] = NULL;
    /* Environment alone, backend included. */
    H_ASSERT_INT_EQ(calls_limit_with(env, NULL, NULL), 3);
    /* Command line beats environment. */
    H_ASSERT_INT_EQ(calls_limit_with(env, NULL, cli9), 9);

    snprintf(file, sizeof(file),
             "# written by test_session\n"
             "imap-host = 127.0.0.1\n"
             "imap-port = %u\n"
             "\n"
             "imap-tls = starttls\n"
             "tls-ca-file = %s\n"
             "max-calls-in-request = 4\n",
             demo_dovecot_imap_port(fx.dovecot), demo_dovecot_ca_file(fx.dovecot));
    /* File alone, backend included. */
    H_ASSERT_INT_EQ(calls_limit_with(NULL, file, NULL), 4);
    /* Environment beats the file. */
    env_calls[0] = "JMAPGW_MAX_CALLS_IN_REQUEST=3";
    env_calls[1] = NULL;
    H_ASSERT_INT_EQ(calls_limit_with(env_calls, file, NULL), 3);
}

static void test_timeout_syntax(void **state)
{
    char port[16], listen[32], *dir = harness_mkdtemp("bad");
    const char *bad[] = { "--listen", listen, "--state-dir", dir, "--imap-port", port,
                          "--connect-timeout", "soon", NULL };
    char *out = NULL;
    int status = 0;
    json_t *s;

    (void)state;
    snprintf(port, sizeof(port), "%u", demo_dovecot_imap_port(fx.dovecot));
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", harness_free_port());
    /* "500ms", "3s" and bare seconds are all accepted. */
    {
        static const char *const ok1[] = { "--connect-timeout", "500ms", "--command-timeout",
                                           "3s", NULL };
        static const char *const ok2[] = { "--connect-timeout", "2", "--command-timeout",
                                           "1500ms", NULL };
        const char *const *sets[] = { ok1, ok2 };

        for (size_t i = 0; i < 2; i++) {
            struct harness_gateway *gw =
                harness_gateway_for_dovecot(fx.dovecot, "starttls", true, sets[i]);

            H_ASSERT_MSG(gw != NULL, "gateway refused timeout set %zu", i);
            s = harness_session_ok(gw->port, "demo", "demo");
            json_decref(s);
            H_ASSERT(harness_gateway_stop(gw) == 0);
            harness_gateway_free(&gw);
            harness_set_current_gateway(fx.gw);
        }
    }
    H_ASSERT_MSG(harness_run_binary(bad, NULL, 5000, &status, &out) == 0,
                 "--connect-timeout soon was accepted (gateway kept running)");
    H_ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) != 0,
                 "--connect-timeout soon: status 0x%x", status);
    free(out);
    harness_rmtree(dir);
    free(dir);
}

static void test_gateway_stops_cleanly(void **state)
{
    (void)state;
    H_ASSERT(harness_gateway_alive(fx.gw));
    H_ASSERT_MSG(harness_gateway_stop(fx.gw) == 0,
                 "gateway did not exit with status 0 within 5 s of SIGTERM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_session_shape, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_session_limits_follow_options, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_session_per_user, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_api_url_and_session_state, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_cli_help_and_unknown_option, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_options_from_env_and_file, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_timeout_syntax, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_account_id_survives_restart, harness_teardown_check_alive),
        cmocka_unit_test(test_gateway_stops_cleanly),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("session", tests, group_setup, group_teardown);
}
