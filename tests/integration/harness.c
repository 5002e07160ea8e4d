/* harness.c - temp dirs, free ports, log tails and the gateway process.
 * See harness.h for the contracts. */
#define _GNU_SOURCE 1
#include "harness.h"

#include "demo_dovecot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define LOG_TAIL_LINES 60
#define MAX_ARGS 64

static struct harness_gateway *current_gateway;

/* Gateways still running when a failed assertion skipped their teardown
 * are killed at exit, so a red test leaves no process behind. */
#define MAX_LIVE 32
static pid_t live_pids[MAX_LIVE];
static bool atexit_armed;

static void kill_live(void)
{
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live_pids[i] > 0) {
            kill(live_pids[i], SIGKILL);
            waitpid(live_pids[i], NULL, 0);
            live_pids[i] = 0;
        }
}

static void track_pid(pid_t pid, pid_t replace)
{
    if (!atexit_armed) {
        atexit(kill_live);
        atexit_armed = true;
    }
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live_pids[i] == replace) {
            live_pids[i] = pid;
            return;
        }
}

int64_t harness_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint16_t harness_free_port(void)
{
    return demo_free_port();
}

char *harness_mkdtemp(const char *tag)
{
    char tmpl[256];
    int n = snprintf(tmpl, sizeof(tmpl), "/tmp/jmapgw-%s-XXXXXX", tag);

    if (n < 0 || (size_t)n >= sizeof(tmpl) || mkdtemp(tmpl) == NULL)
        return NULL;
    return strdup(tmpl);
}

static int rmtree_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void harness_rmtree(const char *path)
{
    if (path != NULL && path[0] == '/' && strncmp(path, "/tmp/jmapgw-", 12) == 0)
        nftw(path, rmtree_cb, 32, FTW_DEPTH | FTW_PHYS);
}

int harness_write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;

    if (fd < 0)
        return -1;
    if (write(fd, data, len) == (ssize_t)len)
        rc = 0;
    close(fd);
    return rc;
}

void harness_print_file_tail(const char *title, const char *path, unsigned max_lines)
{
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    long size, start;
    char *buf = NULL;
    size_t got, pos;
    unsigned lines = 0;

    fprintf(stderr, "----- %s (%s) -----\n", title, path != NULL ? path : "none");
    if (f == NULL)
        goto out;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0)
        goto out;
    /* The tail we want fits in the last 64 KiB of any sane log. */
    start = size > 65536 ? size - 65536 : 0;
    if (fseek(f, start, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)(size - start) + 1);
    if (buf == NULL)
        goto out;
    got = fread(buf, 1, (size_t)(size - start), f);
    buf[got] = '\0';
    pos = got;
    while (pos > 0 && lines <= max_lines) {
        pos--;
        if (buf[pos] == '\n' && pos + 1 < got)
            lines++;
    }
    if (lines > max_lines)
        pos++;
    fputs(buf + pos, stderr);
out:
    fprintf(stderr, "----- end of %s -----\n", title);
    free(buf);
    if (f != NULL)
        fclose(f);
}

void harness_set_current_gateway(struct harness_gateway *gw)
{
    current_gateway = gw;
}

void harness_print_current_log(void)
{
    if (current_gateway != NULL)
        harness_print_file_tail("gateway log", current_gateway->log_path, LOG_TAIL_LINES);
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    harness_print_current_log();
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
    _fail(file, line);
    abort();   /* _fail longjmps back into cmocka */
}

/* Builds argv/env in the child and execs; never returns. */
static void exec_child(const char *log_path, char **argv, const char *const *env)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || devnull < 0)
        _exit(127);
    dup2(devnull, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    /* ctest's own variables must not look like gateway options. */
    unsetenv("JMAPGW_BINARY");
    unsetenv("JMAPGW_SOURCE_DIR");
    unsetenv("JMAPGW_KEEP_TMP");
    /* Test gateways sync on every request as before the change watcher:
     * tests that expect "no change" between two requests would otherwise
     * race with announcements of side effects of the gateway's own first
     * sync. test_watch.c turns the watcher on; with it on (by hand), a
     * quiet cache is trusted 1 s instead of 3, so an outside change is
     * seen by any request 1.2 s later, announced or not
     * (harness_notify_wait()). Options on the command line win. */
    setenv("JMAPGW_IMAP_WATCH", "off", 0);
    setenv("JMAPGW_IMAP_WATCH_MAX_AGE", "1s", 0);
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        putenv((char *)env[i]);
    setpgid(0, 0);
    execv(argv[0], argv);
    dprintf(STDERR_FILENO, "harness: execv %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static const char *gateway_binary(void)
{
    const char *bin = getenv("JMAPGW_BINARY");

    if (bin == NULL || bin[0] == '\0') {
        fprintf(stderr, "harness: JMAPGW_BINARY is not set\n");
        return NULL;
    }
    return bin;
}

static bool args_contain(const char *const *args, const char *name)
{
    for (size_t i = 0; args != NULL && args[i] != NULL; i++)
        if (strcmp(args[i], name) == 0)
            return true;
    return false;
}

static bool port_accepts(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok;

    if (fd < 0)
        return false;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return ok;
}

static void reap(struct harness_gateway *gw, int flags)
{
    int status;

    if (gw->pid <= 0)
        return;
    if (waitpid(gw->pid, &status, flags) == gw->pid) {
        track_pid(0, gw->pid);
        gw->exited = true;
        gw->wait_status = status;
        gw->pid = 0;
    }
}

bool harness_gateway_alive(struct harness_gateway *gw)
{
    if (gw == NULL)
        return false;
    reap(gw, WNOHANG);
    return !gw->exited;
}

static int gateway_spawn(struct harness_gateway *gw, const struct harness_gateway_opts *opts)
{
    const char *bin = gateway_binary();
    char listen[64];
    char *argv[MAX_ARGS];
    size_t argc = 0;
    int64_t deadline;
    int n;

    if (bin == NULL)
        return -1;
    gw->port = harness_free_port();
    n = snprintf(listen, sizeof(listen), "127.0.0.1:%u", gw->port);
    if (gw->port == 0 || n < 0 || (size_t)n >= sizeof(listen))
        return -1;
    argv[argc++] = (char *)bin;
    argv[argc++] = "--listen";
    argv[argc++] = listen;
    argv[argc++] = "--state-dir";
    argv[argc++] = gw->state_dir;
    if (!args_contain(opts != NULL ? opts->args : NULL, "--log-level")) {
        argv[argc++] = "--log-level";
        argv[argc++] = "debug";
    }
    for (size_t i = 0; opts != NULL && opts->args != NULL && opts->args[i] != NULL; i++) {
        if (argc + 1 >= MAX_ARGS)
            return -1;
        argv[argc++] = (char *)opts->args[i];
    }
    argv[argc] = NULL;

    gw->exited = false;
    gw->graceful = false;
    gw->pid = fork();
    if (gw->pid < 0)
        return -1;
    if (gw->pid == 0)
        exec_child(gw->log_path, argv, opts != NULL ? opts->env : NULL);
    track_pid(gw->pid, 0);

    deadline = harness_now_ms() + START_TIMEOUT_MS;
    while (harness_now_ms() < deadline) {
        if (!harness_gateway_alive(gw)) {
            fprintf(stderr, "harness: gateway exited during start-up (status 0x%x)\n",
                    gw->wait_status);
            return -1;
        }
        if (port_accepts(gw->port))
            return 0;
        usleep(20 * 1000);
    }
    fprintf(stderr, "harness: gateway did not accept on port %u within %d ms\n", gw->port,
            START_TIMEOUT_MS);
    return -1;
}

struct harness_gateway *harness_gateway_start(const struct harness_gateway_opts *opts)
{
    struct harness_gateway *gw = calloc(1, sizeof(*gw));
    char buf[512];
    int n;

    if (gw == NULL)
        return NULL;
    gw->dir = harness_mkdtemp("gw");
    if (gw->dir == NULL)
        goto fail;
    n = snprintf(buf, sizeof(buf), "%s/gateway.log", gw->dir);
    if (n < 0 || (size_t)n >= sizeof(buf) || (gw->log_path = strdup(buf)) == NULL)
        goto fail;
    if (opts != NULL && opts->state_dir != NULL) {
        gw->state_dir = strdup(opts->state_dir);
    } else {
        n = snprintf(buf, sizeof(buf), "%s/state", gw->dir);
        if (n < 0 || (size_t)n >= sizeof(buf))
            goto fail;
        gw->state_dir = strdup(buf);
    }
    if (gw->state_dir == NULL)
        goto fail;
    if (gateway_spawn(gw, opts) != 0)
        goto fail;
    harness_set_current_gateway(gw);
    return gw;
fail:
    if (gw->log_path != NULL)
        harness_print_file_tail("gateway log", gw->log_path, LOG_TAIL_LINES);
    harness_gateway_free(&gw);
    return NULL;
}

int harness_gateway_stop(struct harness_gateway *gw)
{
    int64_t deadline;

    if (gw == NULL)
        return -1;
    if (gw->pid > 0 && harness_gateway_alive(gw)) {
        kill(gw->pid, SIGTERM);
        deadline = harness_now_ms() + STOP_TIMEOUT_MS;
        while (gw->pid > 0 && harness_now_ms() < deadline) {
            reap(gw, WNOHANG);
            if (gw->pid > 0)
                usleep(10 * 1000);
        }
        if (gw->pid > 0) {
            fprintf(stderr, "harness: gateway did not exit within %d ms of SIGTERM\n",
                    STOP_TIMEOUT_MS);
            kill(gw->pid, SIGKILL);
            reap(gw, 0);
            gw->graceful = false;
        } else {
            gw->graceful = true;
        }
    }
    if (gw->graceful && WIFEXITED(gw->wait_status) && WEXITSTATUS(gw->wait_status) == 0)
        return 0;
    if (gw->exited) {
        if (WIFEXITED(gw->wait_status))
            fprintf(stderr, "harness: gateway exit status %d%s\n", WEXITSTATUS(gw->wait_status),
                    gw->graceful ? "" : " (not after our SIGTERM)");
        else if (WIFSIGNALED(gw->wait_status))
            fprintf(stderr, "harness: gateway killed by signal %d\n", WTERMSIG(gw->wait_status));
    }
    harness_print_file_tail("gateway log", gw->log_path, LOG_TAIL_LINES);
    return -1;
}

int harness_gateway_restart(struct harness_gateway *gw, const struct harness_gateway_opts *opts)
{
    int rc = harness_gateway_stop(gw);
    if (gateway_spawn(gw, opts) != 0) {
        harness_print_file_tail("gateway log", gw->log_path, LOG_TAIL_LINES);
        return -1;
    }
    harness_set_current_gateway(gw);
    return rc;
}

void harness_gateway_free(struct harness_gateway **gwp)
{
    struct harness_gateway *gw = gwp != NULL ? *gwp : NULL;

    if (gw == NULL)
        return;
    if (gw->pid > 0) {
        kill(gw->pid, SIGKILL);
        reap(gw, 0);
    }
    if (current_gateway == gw)
        current_gateway = NULL;
    if (getenv("JMAPGW_KEEP_TMP") == NULL)
        harness_rmtree(gw->dir);
    free(gw->dir);
    free(gw->state_dir);
    free(gw->log_path);
    free(gw);
    *gwp = NULL;
}

int harness_teardown_check_alive(void **state)
{
    (void)state;
    if (current_gateway != NULL && !harness_gateway_alive(current_gateway)) {
        fprintf(stderr, "harness: the gateway died during the test (status 0x%x)\n",
                current_gateway->wait_status);
        harness_print_current_log();
        return -1;
    }
    return 0;
}

int harness_run_binary(const char *const *args, const char *const *env, int timeout_ms,
                       int *wait_status, char **out)
{
    const char *bin = gateway_binary();

    if (out != NULL)
        *out = NULL;
    if (bin == NULL)
        return -1;
    return harness_run_command(bin, args, env, timeout_ms, wait_status, out);
}

int harness_run_command(const char *path_of_program, const char *const *args,
                        const char *const *env, int timeout_ms, int *wait_status, char **out)
{
    const char *bin = path_of_program;
    char *dir = NULL, *argv[MAX_ARGS], path[512];
    size_t argc = 0;
    int64_t deadline;
    pid_t pid;
    int rc = -1, status = 0, n;

    if (out != NULL)
        *out = NULL;
    if (bin == NULL || (dir = harness_mkdtemp("run")) == NULL)
        return -1;
    n = snprintf(path, sizeof(path), "%s/output", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        goto out;
    argv[argc++] = (char *)bin;
    for (size_t i = 0; args != NULL && args[i] != NULL && argc + 1 < MAX_ARGS; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    pid = fork();
    if (pid < 0)
        goto out;
    if (pid == 0)
        exec_child(path, argv, env);
    deadline = harness_now_ms() + timeout_ms;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (harness_now_ms() >= deadline) {
            /* the child leads its own group: take its helpers too */
            kill(-pid, SIGKILL);
            waitpid(pid, &status, 0);
            goto out;
        }
        usleep(10 * 1000);
    }
    rc = 0;
    if (wait_status != NULL)
        *wait_status = status;
out:
    if (out != NULL) {
        FILE *f = fopen(path, "r");
        size_t cap = 65536, got = 0;

        *out = calloc(1, cap + 1);
        if (f != NULL && *out != NULL)
            got = fread(*out, 1, cap, f);
        if (*out != NULL)
            (*out)[got] = '\0';
        if (f != NULL)
            fclose(f);
    }
    harness_rmtree(dir);
    free(dir);
    return rc;
}
