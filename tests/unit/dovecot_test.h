/* dovecot_test.h - private Dovecot instances for unit tests (header-only,
 * like fake_imap.h: every tests/unit/test_*.c is its own program).
 *
 * dovecot_start() writes a config under <root>/<name> (127.0.0.1 only,
 * passwd-file with test / secret, maildir homes), starts `dovecot -F` and
 * waits until it listens; extra_conf is appended to the config (namespaces,
 * plugins). make_pki() makes a test CA and two leaf certificates with the
 * openssl CLI. Nothing here touches the system's Dovecot config.
 * Include after <cmocka.h>: failures are cmocka assertions.
 */
#ifndef TESTS_DOVECOT_TEST_H
#define TESTS_DOVECOT_TEST_H

#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_imap.h"

struct dovecot {
    char dir[192];
    pid_t pid;
    uint16_t imap_port;
    uint16_t imaps_port;
};


static inline void write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

/* Runs argv (no shell) with output discarded; returns the exit status. */
static inline int run(char *const argv[])
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

static inline uint16_t free_port(void)
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

static inline char *path_in(const char *dir, const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    assert_true(snprintf(p, 256, "%s/%s", dir, name) < 256);
    return p;
}

/* CA, then a leaf for san signed by it, as <name>.pem / <name>.key. */
static inline void make_cert(const char *dir, const char *name, const char *san)
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

static inline void make_pki(const char *dir)
{
    char *ca[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path_in(dir, "ca.key"),
                   "-out", path_in(dir, "ca.pem"), "-days", "2", "-subj", "/CN=jmapgw test CA",
                   NULL };
    assert_int_equal(run(ca), 0);
    make_cert(dir, "server", "DNS:localhost,IP:127.0.0.1");
    make_cert(dir, "other", "DNS:other.test");
}

static inline void wait_listening(uint16_t port)
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
static inline void dovecot_start(struct dovecot *d, const char *root, const char *name, const char *cert,
                                 const char *extra_conf)
{
    char conf[8192], ssl[512], listeners[256];
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
                     "service stats {\n  unix_listener stats-writer {\n    mode = 0666\n  }\n}\n%s",
                     d->dir, d->dir, d->dir, name, (int)getpid(), ssl, internal,
                     geteuid() == 0 ? internal : "", login, d->dir, (unsigned)uid, (unsigned)gid,
                     d->dir, d->imap_port, listeners, extra_conf != NULL ? extra_conf : "");
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

static inline void dovecot_stop(struct dovecot *d)
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

static inline int dovecot_rm_entry(const char *path, const struct stat *st, int flag,
                                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes root and everything under it, unless JMAPGW_KEEP_TMP is set. */
static inline void dovecot_remove_tree(const char *root)
{
    if (getenv("JMAPGW_KEEP_TMP") == NULL)
        nftw(root, dovecot_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
