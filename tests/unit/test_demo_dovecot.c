/* test_demo_dovecot.c - the private demo Dovecot: start on free ports,
 * speak raw IMAP to it, pause/resume, and leave no process behind.
 */
#define _GNU_SOURCE /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "demo_dovecot.h"

struct imap {
    int fd;
    char buf[16384];
    size_t len;
};

static int connect_port(uint16_t port)
{
    struct sockaddr_in sa;
    struct timeval tv = {10, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the buffer holds a line starting with `until` (or any line
 * when until is NULL); the whole response stays in im->buf. */
static void imap_read(struct imap *im, const char *until)
{
    im->len = 0;
    im->buf[0] = '\0';
    for (;;) {
        assert_true(im->len < sizeof(im->buf) - 1);
        ssize_t n = recv(im->fd, im->buf + im->len, sizeof(im->buf) - 1 - im->len, 0);
        assert_true(n > 0);
        im->len += (size_t)n;
        im->buf[im->len] = '\0';
        if (until == NULL && strstr(im->buf, "\r\n") != NULL)
            return;
        if (until == NULL)
            continue;
        if (strncmp(im->buf, until, strlen(until)) == 0 && strstr(im->buf, "\r\n") != NULL)
            return;
        char needle[64];
        snprintf(needle, sizeof(needle), "\r\n%s", until);
        char *hit = strstr(im->buf, needle);
        if (hit != NULL && strstr(hit + 2, "\r\n") != NULL)
            return;
    }
}

static void imap_open(struct imap *im, uint16_t port)
{
    im->fd = connect_port(port);
    assert_true(im->fd >= 0);
    imap_read(im, NULL);
    assert_memory_equal(im->buf, "* OK", 4);
}

/* Sends "<tag> <cmd>" and returns the buffer holding the full response. */
static const char *imap_cmd(struct imap *im, const char *tag, const char *cmd)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "%s %s\r\n", tag, cmd);

    assert_true(n > 0 && (size_t)n < sizeof(line));
    assert_int_equal(send(im->fd, line, (size_t)n, MSG_NOSIGNAL), n);
    snprintf(line, sizeof(line), "%s ", tag);
    imap_read(im, line);
    return im->buf;
}

static bool tagged_ok(const char *resp, const char *tag)
{
    char needle[64];

    snprintf(needle, sizeof(needle), "%s OK", tag);
    return strstr(resp, needle) != NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/jmapgw-demo-XXXXXX";
    char *dir = mkdtemp(tmpl);

    assert_non_null(dir);
    return strdup(dir);
}

static void remove_tmpdir(char **dir)
{
    assert_int_equal(nftw(*dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(*dir);
    *dir = NULL;
}

static pid_t master_pid(const char *base)
{
    char path[512];
    long pid = 0;

    snprintf(path, sizeof(path), "%s/run/master.pid", base);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

/* Gone: no such process, or a zombie no one has reaped yet. */
static bool pid_gone(pid_t pid)
{
    char path[64], stat[256];

    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    bool zombie = fgets(stat, sizeof(stat), f) != NULL && strstr(stat, ") Z ") != NULL;
    fclose(f);
    return zombie;
}

static void login_and_count(uint16_t port)
{
    struct imap im;
    const char *r;

    imap_open(&im, port);
    r = imap_cmd(&im, "a1", "LOGIN demo demo");
    assert_true(tagged_ok(r, "a1"));
    r = imap_cmd(&im, "a2", "SELECT INBOX");
    assert_true(tagged_ok(r, "a2"));
    assert_non_null(strstr(r, "* 7 EXISTS"));
    r = imap_cmd(&im, "a3", "STATUS Sent (MESSAGES)");
    assert_true(tagged_ok(r, "a3"));
    assert_non_null(strstr(r, "(MESSAGES 1)"));
    r = imap_cmd(&im, "a4", "UID SEARCH FLAGGED");
    assert_non_null(strstr(r, "* SEARCH 4\r\n"));
    r = imap_cmd(&im, "a5", "LIST \"\" \"*\" RETURN (SPECIAL-USE)");
    assert_non_null(strstr(r, "\\Drafts"));
    assert_non_null(strstr(r, "\\Archive"));
    imap_cmd(&im, "a6", "LOGOUT");
    close(im.fd);
}

/* Per test: a temporary base directory and the server, torn down even
 * when an assertion fails half-way so no Dovecot outlives the test. */
struct fixture {
    char *dir;
    struct demo_dovecot *d;
};

static int fixture_setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    assert_non_null(fx);
    fx->dir = make_tmpdir();
    *state = fx;
    return 0;
}

static int fixture_teardown(void **state)
{
    struct fixture *fx = *state;

    demo_dovecot_free(&fx->d);
    remove_tmpdir(&fx->dir);
    free(fx);
    return 0;
}

static void start_server(struct fixture *fx, bool tls)
{
    struct demo_dovecot_options opts = {.base_dir = fx->dir, .tls = tls, .seed_demo_mail = true};
    struct gw_error err = {0};

    if (demo_dovecot_start(&opts, &fx->d, &err) != 0)
        fail_msg("start: %s", err.msg);
    assert_non_null(fx->d);
}

static void test_tls_on_pause_resume(void **state)
{
    struct fixture *fx = *state;
    const char *dir = fx->dir;
    struct demo_dovecot *d;
    struct gw_error err = {0};
    struct imap im;
    pid_t pid;
    uint16_t port;

    start_server(fx, true);
    d = fx->d;
    port = demo_dovecot_imap_port(d);
    assert_true(port != 0);
    assert_true(demo_dovecot_imaps_port(d) != 0);
    assert_true(demo_dovecot_pop3_port(d) != 0);
    assert_true(demo_dovecot_lmtp_port(d) != 0);
    assert_non_null(demo_dovecot_ca_file(d));
    assert_int_equal(access(demo_dovecot_ca_file(d), R_OK), 0);

    imap_open(&im, port);
    assert_non_null(strstr(imap_cmd(&im, "c1", "CAPABILITY"), "STARTTLS"));
    close(im.fd);
    login_and_count(port);

    pid = master_pid(dir);
    assert_true(pid > 0);
    assert_false(pid_gone(pid));
    assert_int_equal(demo_dovecot_pause(d, &err), 0);
    assert_true(pid_gone(pid));
    assert_int_equal(connect_port(port), -1);

    if (demo_dovecot_resume(d, &err) != 0)
        fail_msg("resume: %s", err.msg);
    assert_int_equal(demo_dovecot_imap_port(d), port);
    /* The maildir survives and is not seeded twice. */
    login_and_count(port);

    pid = master_pid(dir);
    assert_true(pid > 0);
    demo_dovecot_free(&fx->d);
    assert_null(fx->d);
    assert_true(pid_gone(pid));
    assert_int_equal(connect_port(port), -1);
}

static void test_tls_off_and_hashed_passwords(void **state)
{
    struct fixture *fx = *state;
    struct demo_dovecot *d;
    struct imap im;
    char path[512], users[2048];

    start_server(fx, false);
    d = fx->d;
    assert_null(demo_dovecot_ca_file(d));
    imap_open(&im, demo_dovecot_imap_port(d));
    const char *r = imap_cmd(&im, "c1", "CAPABILITY");
    assert_true(tagged_ok(r, "c1"));
    assert_null(strstr(r, "STARTTLS"));
    assert_false(tagged_ok(imap_cmd(&im, "c2", "LOGIN alice wrong"), "c2"));
    assert_true(tagged_ok(imap_cmd(&im, "c3", "LOGIN alice alice"), "c3"));
    close(im.fd);

    /* The passwd-file carries hashes, never the passwords. */
    snprintf(path, sizeof(path), "%s/users", fx->dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(users, 1, sizeof(users) - 1, f);
    fclose(f);
    users[n] = '\0';
    assert_non_null(strstr(users, "alice:{SSHA512}"));
    assert_null(strstr(users, ":alice:"));
    assert_null(strstr(users, ":demo:"));
}

/* Without seeding the mailbox starts empty and Dovecot can still create the
 * maildir (as root, mail/ belongs to root, not to the mail user). */
static void test_no_seed_empty_inbox(void **state)
{
    struct fixture *fx = *state;
    struct demo_dovecot_options opts = {.base_dir = fx->dir, .tls = false};
    struct gw_error err = {0};
    struct imap im;

    if (demo_dovecot_start(&opts, &fx->d, &err) != 0)
        fail_msg("start: %s", err.msg);
    imap_open(&im, demo_dovecot_imap_port(fx->d));
    assert_true(tagged_ok(imap_cmd(&im, "n1", "LOGIN demo demo"), "n1"));
    const char *r = imap_cmd(&im, "n2", "SELECT INBOX");
    assert_true(tagged_ok(r, "n2"));
    assert_non_null(strstr(r, "* 0 EXISTS"));
    /* The mail user can write its maildir. */
    assert_true(tagged_ok(imap_cmd(&im, "n3", "CREATE Projects"), "n3"));
    assert_non_null(strstr(imap_cmd(&im, "n4", "STATUS Projects (MESSAGES)"), "(MESSAGES 0)"));
    close(im.fd);
}

/* A taken port makes start fail with the reason from Dovecot's log. */
static void test_port_in_use(void **state)
{
    struct fixture *fx = *state;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct gw_error err = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);

    struct demo_dovecot_options opts = {.base_dir = fx->dir, .imap_port = ntohs(sa.sin_port)};
    int rc = demo_dovecot_start(&opts, &fx->d, &err);
    close(fd);
    assert_int_equal(rc, -1);
    assert_null(fx->d);
    assert_int_equal(err.code, GW_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "in use"));
    assert_int_equal(master_pid(fx->dir), 0);
}

/* A pid file naming someone else is ignored (we are that someone: a wrong
 * kill ends this test); one naming our own earlier master is stopped. */
static void test_stale_pid_file(void **state)
{
    struct fixture *fx = *state;
    struct demo_dovecot_options opts = {.base_dir = fx->dir, .tls = false};
    struct demo_dovecot *second = NULL;
    struct gw_error err = {0};
    char path[512];
    pid_t first;

    snprintf(path, sizeof(path), "%s/run", fx->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/run/master.pid", fx->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);

    if (demo_dovecot_start(&opts, &fx->d, &err) != 0)
        fail_msg("start: %s", err.msg);
    first = master_pid(fx->dir);
    assert_true(first > 0 && first != getpid());

    /* As if the gateway had died without stopping its Dovecot. */
    if (demo_dovecot_start(&opts, &second, &err) != 0)
        fail_msg("second start: %s", err.msg);
    assert_true(pid_gone(first));
    assert_true(master_pid(fx->dir) > 0 && master_pid(fx->dir) != first);
    struct imap im;
    imap_open(&im, demo_dovecot_imap_port(second));
    close(im.fd);
    demo_dovecot_free(&second);
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *cert;

    assert_non_null(f);
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(cert);
    return cert;
}

/* Checks the server certificate names and that the private CA signed it. */
static void check_server_cert(const char *base, const char *ca_file, bool default_names)
{
    char path[512];
    X509 *ca = read_cert(ca_file);
    X509 *cert;
    EVP_PKEY *ca_key = X509_get0_pubkey(ca);

    snprintf(path, sizeof(path), "%s/tls/server.pem", base);
    cert = read_cert(path);
    assert_int_equal(X509_verify(cert, ca_key), 1);
    assert_int_equal(X509_check_host(cert, "localhost", 0, 0, NULL) == 1, default_names);
    assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0) == 1, default_names);
    assert_int_equal(X509_check_host(cert, "other.invalid", 0, 0, NULL) == 1, !default_names);
    X509_free(cert);
    X509_free(ca);
}

/* cert_names reissues the server certificate (same CA) for other names. */
static void test_cert_names(void **state)
{
    struct fixture *fx = *state;
    const char *const names[] = {"other.invalid", NULL};
    struct demo_dovecot_options opts = {.base_dir = fx->dir, .tls = true};
    struct gw_error err = {0};
    struct imap im;

    if (demo_dovecot_start(&opts, &fx->d, &err) != 0)
        fail_msg("start: %s", err.msg);
    check_server_cert(fx->dir, demo_dovecot_ca_file(fx->d), true);
    demo_dovecot_free(&fx->d);

    opts.cert_names = names;
    if (demo_dovecot_start(&opts, &fx->d, &err) != 0)
        fail_msg("restart: %s", err.msg);
    check_server_cert(fx->dir, demo_dovecot_ca_file(fx->d), false);
    imap_open(&im, demo_dovecot_imap_port(fx->d));
    close(im.fd);
}

/* The ports of one configuration are picked one after the other, before
 * anything listens on them: a port handed out twice made Dovecot refuse
 * its configuration ("duplicate listener"). 256 picks from the ~16,000
 * ports below the ephemeral range would repeat one 86% of the time. */
static void test_free_ports_differ(void **state)
{
    (void)state;
    enum { PICKS = 256 };
    uint16_t got[PICKS];
    for (int i = 0; i < PICKS; i++) {
        got[i] = demo_free_port();
        assert_true(got[i] != 0);
        for (int j = 0; j < i; j++)
            assert_true(got[j] != got[i]);
    }
}

static void test_bad_options(void **state)
{
    struct demo_dovecot_options opts = {.base_dir = NULL};
    const struct demo_user bad[] = {{"../evil", "x", "x@y"}};
    struct demo_dovecot *d = NULL;
    struct gw_error err = {0};
    (void)state;

    assert_int_equal(demo_dovecot_start(&opts, &d, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_null(d);
    opts.base_dir = "/tmp/jmapgw-demo-unused";
    opts.users = bad;
    opts.user_count = 1;
    assert_int_equal(demo_dovecot_start(&opts, &d, &err), -1);
    assert_int_equal(err.code, GW_ERR_INVALID);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_free_ports_differ),
        cmocka_unit_test_setup_teardown(test_tls_on_pause_resume, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_tls_off_and_hashed_passwords, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_no_seed_empty_inbox, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stale_pid_file, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cert_names, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
