/* test_imap_backend.c - IMAP connections against private Dovecot instances
 * (plaintext, STARTTLS, implicit TLS, certificate and host name checks) and
 * against the scripted fake server for what Dovecot will not do on demand
 * (silence, hangs, drops, NO [UNAVAILABLE], STARTTLS injection).
 *
 * The Dovecot helper is deliberately small and local: three instances under
 * one mkdtemp() dir, 127.0.0.1 only, a test CA made with the openssl CLI.
 *   main:  ssl = yes, cert for DNS:localhost + IP:127.0.0.1
 *   nossl: ssl = no (no STARTTLS)
 *   other: ssl = yes, cert for DNS:other.test only
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pwd.h>
#include <sys/stat.h>

#include "../../backends/imap/imap_internal.h"
#include "backend.h"
#include "fake_imap.h"

struct dovecot {
    char dir[192];
    pid_t pid;
    uint16_t imap_port;
    uint16_t imaps_port;
};

struct world {
    char root[64];
    char ca_file[128];
    struct dovecot main, nossl, other;
};

static struct world *W;

static void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Runs argv (no shell) with output discarded; returns the exit status. */
static int run(char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint16_t free_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd);
    return ntohs(sin.sin_port);
}

static char *path_in(const char *dir, const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    assert_true(snprintf(p, 256, "%s/%s", dir, name) < 256);
    return p;
}

/* CA, then a leaf for san signed by it, as <name>.pem / <name>.key. */
static void make_cert(const char *dir, const char *name, const char *san)
{
    char key[256], csr[256], pem[256], ext[256], subj[128], extline[160];
    snprintf(key, sizeof(key), "%s/%s.key", dir, name);
    snprintf(csr, sizeof(csr), "%s/%s.csr", dir, name);
    snprintf(pem, sizeof(pem), "%s/%s.pem", dir, name);
    snprintf(ext, sizeof(ext), "%s/%s.ext", dir, name);
    snprintf(subj, sizeof(subj), "/CN=%s", name);
    snprintf(extline, sizeof(extline), "subjectAltName=%s\nbasicConstraints=CA:FALSE\n", san);
    write_text(ext, extline, 0644);
    char *req[] = { "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", subj, NULL };
    assert_int_equal(run(req), 0);
    char *sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA", path_in(dir, "ca.pem"),
                     "-CAkey", path_in(dir, "ca.key"), "-CAcreateserial", "-out", pem, "-days",
                     "2", "-extfile", ext, NULL };
    assert_int_equal(run(sign), 0);
    assert_int_equal(chmod(key, 0644), 0);
}

static void make_pki(const char *dir)
{
    char *ca[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path_in(dir, "ca.key"),
                   "-out", path_in(dir, "ca.pem"), "-days", "2", "-subj", "/CN=jmapgw test CA",
                   NULL };
    assert_int_equal(run(ca), 0);
    make_cert(dir, "server", "DNS:localhost,IP:127.0.0.1");
    make_cert(dir, "other", "DNS:other.test");
}

static void wait_listening(uint16_t port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
        close(fd);
        if (r == 0)
            return;
        usleep(25000);
    }
    fail_msg("dovecot did not listen on port %u", port);
}

/* cert: "server" / "other", or NULL for ssl = no. */
static void dovecot_start(struct dovecot *d, const char *root, const char *name, const char *cert)
{
    char conf[4096], ssl[512], listeners[256];
    struct passwd *mail_user = getpwnam("nobody");
    const char *internal = "dovecot", *login = "dovenull";
    uid_t uid = mail_user != NULL ? mail_user->pw_uid : 65534;
    gid_t gid = mail_user != NULL ? mail_user->pw_gid : 65534;

    if (geteuid() != 0) {
        struct passwd *me = getpwuid(geteuid());
        assert_non_null(me);
        internal = login = me->pw_name;
        uid = me->pw_uid;
        gid = me->pw_gid;
    }
    snprintf(d->dir, sizeof(d->dir), "%s/%s", root, name);
    assert_int_equal(mkdir(d->dir, 0755), 0);
    assert_int_equal(mkdir(path_in(d->dir, "home"), 0755), 0);
    if (geteuid() == 0)
        assert_int_equal(chown(path_in(d->dir, "home"), uid, gid), 0);
    write_text(path_in(d->dir, "passwd"), "test:{PLAIN}secret\n", 0644);

    d->imap_port = free_port();
    d->imaps_port = cert != NULL ? free_port() : 0;
    if (cert != NULL) {
        snprintf(ssl, sizeof(ssl),
                 "ssl = required\nssl_cert = <%s/%s.pem\nssl_key = <%s/%s.key\n"
                 "ssl_min_protocol = TLSv1.2\n",
                 root, cert, root, cert);
        snprintf(listeners, sizeof(listeners),
                 "  inet_listener imaps {\n    address = 127.0.0.1\n    port = %u\n"
                 "    ssl = yes\n  }\n",
                 d->imaps_port);
    } else {
        snprintf(ssl, sizeof(ssl), "ssl = no\n");
        listeners[0] = '\0';
    }
    int n = snprintf(conf, sizeof(conf),
                     "base_dir = %s/run\nstate_dir = %s/state\nlog_path = %s/dovecot.log\n"
                     "instance_name = jmapgw-test-%s-%d\nprotocols = imap\nlisten = 127.0.0.1\n"
                     "%sdisable_plaintext_auth = no\nauth_mechanisms = plain login\n"
                     "auth_failure_delay = 0\n"
                     "default_internal_user = %s\ndefault_internal_group = %s\n"
                     "default_login_user = %s\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"
                     "mail_location = maildir:~/Maildir\n"
                     "passdb {\n  driver = passwd-file\n  args = %s/passwd\n}\n"
                     "userdb {\n  driver = static\n  args = uid=%u gid=%u home=%s/home/%%u\n}\n"
                     "service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n"
                     "    port = %u\n  }\n%s}\n"
                     "service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}\n",
                     d->dir, d->dir, d->dir, name, (int)getpid(), ssl, internal,
                     geteuid() == 0 ? internal : "", login, d->dir, (unsigned)uid, (unsigned)gid,
                     d->dir, d->imap_port, listeners);
    assert_true(n > 0 && n < (int)sizeof(conf));
    if (geteuid() != 0) {
        /* default_internal_group must name a group; drop the empty line. */
        char *g = strstr(conf, "default_internal_group = \n");
        assert_non_null(g);
        memmove(g, g + strlen("default_internal_group = \n"),
                strlen(g + strlen("default_internal_group = \n")) + 1);
    }
    write_text(path_in(d->dir, "dovecot.conf"), conf, 0644);

    fflush(NULL);
    d->pid = fork();
    assert_true(d->pid >= 0);
    if (d->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execlp("dovecot", "dovecot", "-F", "-c", path_in(d->dir, "dovecot.conf"), (char *)NULL);
        _exit(127);
    }
    wait_listening(d->imap_port);
    if (d->imaps_port != 0)
        wait_listening(d->imaps_port);
}

static void dovecot_stop(struct dovecot *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            d->pid = 0;
            return;
        }
        usleep(50000);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int world_setup(void **state)
{
    (void)state;
    W = calloc(1, sizeof(*W));
    assert_non_null(W);
    snprintf(W->root, sizeof(W->root), "/tmp/jmapgw-imap-XXXXXX");
    assert_non_null(mkdtemp(W->root));
    /* Dovecot's unprivileged processes must traverse to their files. */
    assert_int_equal(chmod(W->root, 0755), 0);
    make_pki(W->root);
    snprintf(W->ca_file, sizeof(W->ca_file), "%s/ca.pem", W->root);
    dovecot_start(&W->main, W->root, "main", "server");
    dovecot_start(&W->nossl, W->root, "nossl", NULL);
    dovecot_start(&W->other, W->root, "other", "other");
    return 0;
}

static int world_teardown(void **state)
{
    (void)state;
    if (W == NULL)
        return 0;
    dovecot_stop(&W->main);
    dovecot_stop(&W->nossl);
    dovecot_stop(&W->other);
    if (getenv("JMAPGW_KEEP_TMP") == NULL)
        nftw(W->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(W);
    W = NULL;
    return 0;
}

static const struct backend_credentials good = { "test", "secret" };
static const struct backend_credentials bad = { "test", "wrong-pass-XYZ" };

static struct backend_endpoint endpoint(const char *host, uint16_t port, enum gw_tls_mode tls,
                                        const char *ca_file)
{
    struct backend_endpoint ep = {
        .host = host, .port = port, .tls = tls, .ca_file = ca_file,
        .connect_timeout_ms = 3000, .command_timeout_ms = 3000,
    };
    return ep;
}

/* Opens, expects success, checks the session works, closes. */
static void expect_open_ok(const struct backend_endpoint *ep)
{
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    int r = backend_imap_open(ep, &good, &b, &err);
    if (r != 0)
        fail_msg("open failed: %s: %s", gw_error_code_name(err.code), err.msg);
    assert_non_null(b);
    assert_false(backend_is_broken(b));
    assert_true(backend_has_capability(b, "imap4rev1"));
    assert_true(backend_has_capability(b, "IDLE"));
    assert_false(backend_has_capability(b, "NO-SUCH-CAPABILITY"));
    assert_int_equal(backend_noop(b, &err), 0);
    backend_close(&b);
    assert_null(b);
}

static void expect_open_fails(const struct backend_endpoint *ep, const struct backend_credentials *c,
                              enum gw_error_code code, const char *msg_part)
{
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(backend_imap_open(ep, c, &b, &err), -1);
    assert_null(b);
    if (err.code != code)
        fail_msg("expected %s, got %s: %s", gw_error_code_name(code), gw_error_code_name(err.code),
                 err.msg);
    if (msg_part != NULL && strstr(err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
    assert_null(strstr(err.msg, "secret"));
    assert_null(strstr(err.msg, "wrong-pass-XYZ"));
}

static void test_plaintext_loopback_ok(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("127.0.0.1", W->main.imap_port, GW_TLS_NONE, NULL);
    expect_open_ok(&ep);
}

static void test_wrong_password(void **state)
{
    (void)state;
    /* Not on "main": Dovecot delays every later login from an IP that failed
     * one (auth penalty, per instance), which would slow the other cases. */
    struct backend_endpoint ep = endpoint("127.0.0.1", W->nossl.imap_port, GW_TLS_NONE, NULL);
    expect_open_fails(&ep, &bad, GW_ERR_AUTH, "authentication failed");
}

static void test_starttls_with_ca(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("localhost", W->main.imap_port, GW_TLS_STARTTLS,
                                          W->ca_file);
    expect_open_ok(&ep);
}

static void test_starttls_untrusted_ca(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("localhost", W->main.imap_port, GW_TLS_STARTTLS, NULL);
    expect_open_fails(&ep, &good, GW_ERR_TLS, "certificate");
}

static void test_implicit_tls_ip(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("127.0.0.1", W->main.imaps_port, GW_TLS_IMPLICIT,
                                          W->ca_file);
    expect_open_ok(&ep);
}

static void test_implicit_tls_to_plaintext_port(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("127.0.0.1", W->main.imap_port, GW_TLS_IMPLICIT,
                                          W->ca_file);
    expect_open_fails(&ep, &good, GW_ERR_TLS, NULL);
}

static void test_host_name_mismatch(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("localhost", W->other.imap_port, GW_TLS_STARTTLS,
                                          W->ca_file);
    expect_open_fails(&ep, &good, GW_ERR_TLS, "certificate");
    ep = endpoint("127.0.0.1", W->other.imaps_port, GW_TLS_IMPLICIT, W->ca_file);
    expect_open_fails(&ep, &good, GW_ERR_TLS, "certificate");
    /* tls_insecure skips exactly these checks. */
    ep.tls_insecure = true;
    expect_open_ok(&ep);
}

static void test_starttls_not_offered(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("localhost", W->nossl.imap_port, GW_TLS_STARTTLS,
                                          W->ca_file);
    expect_open_fails(&ep, &good, GW_ERR_TLS, "does not offer STARTTLS");
}

static void test_plaintext_non_loopback_refused(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("192.0.2.1", 143, GW_TLS_NONE, NULL);
    uint64_t t0 = net_now_ms();
    expect_open_fails(&ep, &good, GW_ERR_TLS, "plaintext");
    assert_true(net_now_ms() - t0 < 500);
}

static void test_connection_refused(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint("127.0.0.1", free_port(), GW_TLS_NONE, NULL);
    uint64_t t0 = net_now_ms();
    expect_open_fails(&ep, &good, GW_ERR_UNAVAILABLE, NULL);
    assert_true(net_now_ms() - t0 < 1000);
}

/* The fake server cases: each must fail within the short timeouts. */
static void fake_case(enum fake_imap_script script, enum gw_error_code code, const char *msg_part)
{
    struct fake_imap f;
    assert_int_equal(fake_imap_start(&f, script), 0);
    struct backend_endpoint ep = endpoint("127.0.0.1", f.port, GW_TLS_NONE, NULL);
    ep.connect_timeout_ms = 300;
    ep.command_timeout_ms = 300;
    if (script == FAKE_IMAP_STARTTLS_INJECT)
        ep.tls = GW_TLS_STARTTLS;
    uint64_t t0 = net_now_ms();
    expect_open_fails(&ep, &good, code, msg_part);
    uint64_t took = net_now_ms() - t0;
    fake_imap_stop(&f);
    if (took > 1500)
        fail_msg("took %llu ms", (unsigned long long)took);
}

static void test_fake_silent(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_SILENT, GW_ERR_UNAVAILABLE, "timed out");
}

static void test_fake_hang_on_login(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_HANG_ON_LOGIN, GW_ERR_UNAVAILABLE, "timed out");
}

static void test_fake_drop_mid_command(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_DROP_MID_COMMAND, GW_ERR_UNAVAILABLE, "closed");
}

static void test_fake_login_unavailable(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_LOGIN_UNAVAILABLE, GW_ERR_UNAVAILABLE, "try again later");
}

static void test_fake_auth_unavailable(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_AUTH_UNAVAILABLE, GW_ERR_UNAVAILABLE, "try again later");
}

static void test_fake_bye_greeting(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_BYE_GREETING, GW_ERR_UNAVAILABLE, NULL);
}

static void test_fake_starttls_injection(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_STARTTLS_INJECT, GW_ERR_TLS, "after STARTTLS");
}

static void test_fake_auth_plain_continuation_and_login(void **state)
{
    (void)state;
    static const enum fake_imap_script scripts[] = { FAKE_IMAP_GOOD, FAKE_IMAP_GOOD_LOGIN };
    for (size_t i = 0; i < 2; i++) {
        struct fake_imap f;
        struct mail_backend *b = NULL;
        struct gw_error err = { 0 };
        assert_int_equal(fake_imap_start(&f, scripts[i]), 0);
        struct backend_endpoint ep = endpoint("localhost", f.port, GW_TLS_NONE, NULL);
        assert_int_equal(backend_imap_open(&ep, &good, &b, &err), 0);
        /* Capabilities come from the login reply's [CAPABILITY] code. */
        assert_true(backend_has_capability(b, "IDLE"));
        assert_false(backend_has_capability(b, "AUTH=PLAIN"));
        assert_int_equal(backend_noop(b, &err), 0);
        backend_close(&b);
        expect_open_fails(&ep, &bad, GW_ERR_AUTH, "authentication failed");
        fake_imap_stop(&f);
    }
}

static void test_fake_preauth(void **state)
{
    (void)state;
    struct fake_imap f;
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_PREAUTH), 0);
    struct backend_endpoint ep = endpoint("127.0.0.1", f.port, GW_TLS_NONE, NULL);
    assert_int_equal(backend_imap_open(&ep, &good, &b, &err), 0);
    assert_true(backend_has_capability(b, "IDLE"));
    backend_close(&b);
    /* Before STARTTLS it would leave the session in plaintext. */
    ep.tls = GW_TLS_STARTTLS;
    expect_open_fails(&ep, &good, GW_ERR_TLS, "pre-authenticated");
    fake_imap_stop(&f);
}

static void test_fake_logindisabled(void **state)
{
    (void)state;
    fake_case(FAKE_IMAP_LOGINDISABLED, GW_ERR_TLS, "without TLS");
}

static void test_noop_failure_marks_broken(void **state)
{
    (void)state;
    struct fake_imap f;
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    assert_int_equal(fake_imap_start(&f, FAKE_IMAP_DROP_ON_NOOP), 0);
    struct backend_endpoint ep = endpoint("127.0.0.1", f.port, GW_TLS_NONE, NULL);
    assert_int_equal(backend_imap_open(&ep, &good, &b, &err), 0);
    assert_int_equal(backend_noop(b, &err), -1);
    assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
    assert_true(backend_is_broken(b));
    assert_int_equal(backend_noop(b, &err), -1);
    backend_close(&b);
    fake_imap_stop(&f);
}

static void test_resp_code_table(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        enum gw_error_code want;
    } cases[] = {
        { "UNAVAILABLE", GW_ERR_UNAVAILABLE }, { "authenticationfailed", GW_ERR_AUTH },
        { "AUTHORIZATIONFAILED", GW_ERR_AUTH }, { "EXPIRED", GW_ERR_AUTH },
        { "PRIVACYREQUIRED", GW_ERR_TLS },     { "NOPERM", GW_ERR_FORBIDDEN },
        { "OVERQUOTA", GW_ERR_OVERQUOTA },     { "ALREADYEXISTS", GW_ERR_EXISTS },
        { "NONEXISTENT", GW_ERR_NOTFOUND },    { "TRYCREATE", GW_ERR_NOTFOUND },
        { "TOOBIG", GW_ERR_TOO_LARGE },        { "LIMIT", GW_ERR_LIMIT },
        { "CLIENTBUG", GW_ERR_PROTOCOL },      { "INUSE", GW_ERR_UNAVAILABLE },
        { "SOMETHINGELSE", GW_OK },            { NULL, GW_OK },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(imap_resp_code_error(cases[i].code), cases[i].want);
}

/* libetpan 1.9.4 leaks the parsed greeting when it is a BYE (parse_greeting
 * returns before freeing it): a library bug this file provokes on purpose in
 * test_fake_bye_greeting, not one of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:mailimap_greeting_new\n";
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp_code_table),
        cmocka_unit_test(test_plaintext_loopback_ok),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_starttls_with_ca),
        cmocka_unit_test(test_starttls_untrusted_ca),
        cmocka_unit_test(test_implicit_tls_ip),
        cmocka_unit_test(test_implicit_tls_to_plaintext_port),
        cmocka_unit_test(test_host_name_mismatch),
        cmocka_unit_test(test_starttls_not_offered),
        cmocka_unit_test(test_plaintext_non_loopback_refused),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_fake_silent),
        cmocka_unit_test(test_fake_hang_on_login),
        cmocka_unit_test(test_fake_drop_mid_command),
        cmocka_unit_test(test_fake_login_unavailable),
        cmocka_unit_test(test_fake_auth_unavailable),
        cmocka_unit_test(test_fake_bye_greeting),
        cmocka_unit_test(test_fake_starttls_injection),
        cmocka_unit_test(test_fake_auth_plain_continuation_and_login),
        cmocka_unit_test(test_fake_preauth),
        cmocka_unit_test(test_fake_logindisabled),
        cmocka_unit_test(test_noop_failure_marks_broken),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
