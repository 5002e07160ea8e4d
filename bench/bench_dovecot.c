/* bench_dovecot.c - holds the benchmark's private Dovecot up for one run.
 *
 * Usage: bench_dovecot BASE_DIR PORT_FILE MAX_SECONDS
 * Starts Dovecot through the product's launcher (tls off, no demo mail,
 * the benchmark users), writes its IMAP port to PORT_FILE, then waits for
 * SIGTERM/SIGINT and stops it. MAX_SECONDS bounds the wait so a runner
 * that dies cannot leave the server behind for ever.
 */
#include "demo_dovecot.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* bench/bench holds the corpus once, bench5/bench5 five times. The runner
 * and the loader use the same names. */
static const struct demo_user bench_users[] = {
    {"bench", "bench", "bench@jmap-gateway.test"},
    {"bench5", "bench5", "bench5@jmap-gateway.test"},
};

static int write_port(const char *path, uint16_t port)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_dovecot: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fprintf(f, "%u\n", (unsigned)port) > 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s BASE_DIR PORT_FILE MAX_SECONDS\n", argv[0]);
        return 2;
    }
    long max_s = strtol(argv[3], NULL, 10);
    if (max_s <= 0 || max_s > 86400) {
        fprintf(stderr, "bench_dovecot: MAX_SECONDS out of range\n");
        return 2;
    }
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    /* Blocked before the launcher forks, so only sigtimedwait sees them. */
    if (sigprocmask(SIG_BLOCK, &signals, NULL) != 0)
        return 1;

    struct demo_dovecot_options opts = {
        .base_dir = argv[1],
        .users = bench_users,
        .user_count = sizeof(bench_users) / sizeof(bench_users[0]),
        .tls = false,
        .seed_demo_mail = false,
    };
    struct demo_dovecot *d = NULL;
    struct gw_error err = {0};
    int rc = 1;
    if (demo_dovecot_start(&opts, &d, &err) != 0) {
        fprintf(stderr, "bench_dovecot: %s\n", err.msg);
        goto out;
    }
    if (write_port(argv[2], demo_dovecot_imap_port(d)) != 0)
        goto out;
    struct timespec limit = { .tv_sec = max_s, .tv_nsec = 0 };
    for (;;) {
        int sig = sigtimedwait(&signals, NULL, &limit);
        if (sig >= 0 || errno != EINTR)
            break;
    }
    rc = 0;
out:
    demo_dovecot_free(&d);
    return rc;
}
