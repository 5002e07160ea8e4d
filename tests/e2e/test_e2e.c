/* test_e2e.c - a real JMAP client against the real gateway: starts the
 * harness's private Dovecot, its private Postfix (root only) and the
 * gateway, installs the npm client jmap-jam from the committed lockfile
 * into a private directory of the build tree, and runs one node:test file
 * of tests/e2e (argv[1], e.g. "mail_app") with the session URL, the two
 * users and Dovecot's LMTP port in the environment. The node file asserts
 * the content; this program fails when node fails, when the gateway dies,
 * or when it does not stop cleanly (the sanitizer build's leak check).
 *
 * Skipped (exit 77, ctest's SKIP_RETURN_CODE), with the reason on
 * stderr, only when node or npm is missing (scripts/deps.sh installs
 * both). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define NPM_TIMEOUT_MS (300 * 1000)
#define NODE_TIMEOUT_MS (240 * 1000)
#define MAX_FILE (1024 * 1024)
#define EXIT_SKIPPED 77

static struct {
    const char *flow;           /* the node file's stem, from argv[1] */
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_smtp *smtp;
    struct harness_gateway *gw;
} fx;

/* path's whole content (malloc'd, NUL-terminated) or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f != NULL ? malloc(MAX_FILE + 1) : NULL;
    size_t n = 0;

    if (buf != NULL) {
        n = fread(buf, 1, MAX_FILE, f);
        if (ferror(f) || !feof(f)) {
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    if (f != NULL)
        fclose(f);
    *len = n;
    return buf;
}

/* Copies src to dst unless dst already holds the same bytes; 1 copied,
 * 0 already equal, -1 on error. */
static int sync_file(const char *src, const char *dst)
{
    size_t slen, dlen;
    char *s = slurp(src, &slen), *d = slurp(dst, &dlen);
    int rc = -1;

    if (s == NULL)
        goto out;
    if (d != NULL && slen == dlen && memcmp(s, d, slen) == 0) {
        rc = 0;
        goto out;
    }
    rc = harness_write_file(dst, s, slen) == 0 ? 1 : -1;
out:
    free(s);
    free(d);
    return rc;
}

static int path_join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* Runs a program found on PATH with its output shown on stderr; true when
 * it exited 0 within timeout_ms. */
static bool run_shown(const char *what, const char *const *args, const char *const *env,
                      int timeout_ms)
{
    int status = 0;
    char *out = NULL;
    int rc = harness_run_command("/usr/bin/env", args, env, timeout_ms, &status, &out);
    bool ok = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;

    fprintf(stderr, "---- %s (%s) ----\n%s---- end of %s ----\n", what,
            rc != 0 ? "timed out" : ok ? "ok" : "failed", out != NULL ? out : "", what);
    free(out);
    return ok;
}

/* jmap-jam from tests/e2e/package-lock.json into $JMAPGW_E2E_DIR (each
 * build tree's own copy): npm ci only when the lockfile changed or nothing
 * is there, so reruns need no network. */
static bool install_client(const char *src_dir, const char *dir)
{
    const char *names[] = {"package.json", "package-lock.json"};
    char src[1024], dst[1024], probe[1024];
    bool changed = false;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return false;
    for (size_t i = 0; i < 2; i++) {
        if (path_join(src, sizeof(src), src_dir, names[i]) != 0 ||
            path_join(dst, sizeof(dst), dir, names[i]) != 0)
            return false;
        int rc = sync_file(src, dst);
        if (rc < 0)
            return false;
        changed = changed || rc == 1;
    }
    if (path_join(probe, sizeof(probe), dir, "node_modules/jmap-jam/package.json") != 0)
        return false;
    if (!changed && access(probe, R_OK) == 0)
        return true;
    const char *args[] = {"npm", "ci", "--no-audit", "--no-fund", "--prefix", dir, NULL};
    if (run_shown("npm ci", args, NULL, NPM_TIMEOUT_MS) && access(probe, R_OK) == 0)
        return true;
    /* dst is the lockfile (the last name): without it the next run
     * installs again. */
    unlink(dst);
    return false;
}

static int group_setup(void **state)
{
    char port[16];
    (void)state;
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    if (geteuid() == 0) {
        fx.smtp = harness_smtp_start(fx.dovecot, fx.dovecot_dir, 0);
        if (fx.smtp == NULL)
            return -1;
    }
    /* Without root there is no Postfix: a closed port, and the sending
     * flow knows (JMAPGW_E2E_SMTP=0) that it cannot run. The change
     * watcher is on, as deployed (the harness turns it off by default):
     * mail delivered behind the gateway's back shows up a moment later,
     * and the flows poll for it as an app would. */
    int n = snprintf(port, sizeof(port), "%u",
                     fx.smtp != NULL ? harness_smtp_submission_port(fx.smtp)
                                     : harness_free_port());
    if (n < 0 || (size_t)n >= sizeof(port))
        return -1;
    const char *extra[] = {"--smtp-host", "localhost", "--smtp-port", port, "--smtp-tls",
                           "starttls", "--mail-domain", "jmap-gateway.test", "--imap-watch", NULL};
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, extra);
    return fx.gw != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;
    (void)state;
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_smtp_free(&fx.smtp);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    return rc;
}

static void test_client_flow(void **state)
{
    (void)state;
    const char *source = getenv("JMAPGW_SOURCE_DIR");
    const char *dir = getenv("JMAPGW_E2E_DIR");
    char src_dir[1024], script[1024], modules[1024];
    H_ASSERT_MSG(source != NULL && dir != NULL, "JMAPGW_SOURCE_DIR and JMAPGW_E2E_DIR must be set");
    H_ASSERT(path_join(src_dir, sizeof(src_dir), source, "tests/e2e") == 0);
    H_ASSERT(snprintf(script, sizeof(script), "%s/%s.test.mjs", src_dir, fx.flow) <
             (int)sizeof(script));
    H_ASSERT(path_join(modules, sizeof(modules), dir, "node_modules") == 0);
    H_ASSERT_MSG(access(script, R_OK) == 0, "no such flow: %s", script);
    H_ASSERT_MSG(install_client(src_dir, dir), "installing jmap-jam into %s failed", dir);

    char *env[6] = {NULL};
    H_ASSERT(asprintf(&env[0], "JMAPGW_E2E_SESSION_URL=http://127.0.0.1:%u/.well-known/jmap",
                      fx.gw->port) > 0);
    H_ASSERT(asprintf(&env[1], "JMAPGW_E2E_MODULES=%s", modules) > 0);
    H_ASSERT(asprintf(&env[2], "JMAPGW_E2E_LMTP_PORT=%u", demo_dovecot_lmtp_port(fx.dovecot)) >
             0);
    H_ASSERT(asprintf(&env[3], "JMAPGW_E2E_SMTP=%d", fx.smtp != NULL) > 0);
    H_ASSERT(asprintf(&env[4], "JMAPGW_E2E_DOMAIN=jmap-gateway.test") > 0);
    const char *args[] = {"node", "--test", "--test-reporter=spec", script, NULL};
    bool ok = run_shown("node --test", args, (const char *const *)env, NODE_TIMEOUT_MS);
    for (size_t i = 0; env[i] != NULL; i++)
        free(env[i]);
    if (!ok && fx.smtp != NULL)
        harness_smtp_print_log(fx.smtp);
    H_ASSERT_MSG(ok, "the %s flow failed (node's report above)", fx.flow);
    H_ASSERT_MSG(harness_gateway_alive(fx.gw), "the gateway died during the flow");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FLOW (a tests/e2e/FLOW.test.mjs)\n", argv[0]);
        return 2;
    }
    fx.flow = argv[1];
    if (system("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_e2e: SKIPPED: node or npm is missing (scripts/deps.sh installs"
                        " nodejs and npm); the jmap-jam flow \"%s\" did not run\n", fx.flow);
        return EXIT_SKIPPED;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_flow),
    };
    return cmocka_run_group_tests_name(fx.flow, tests, group_setup, group_teardown);
}
