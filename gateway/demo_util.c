/* demo_util.c - files, child processes, ports and password hashing for the
 * private demo servers (see demo_internal.h).
 */
#include "demo_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

int demo_path(char *buf, size_t size, struct gw_error *err, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return gw_error_set(err, GW_ERR_INVALID, "demo: path too long");
    return 0;
}

int demo_mkdirs(const char *path, mode_t mode, struct gw_error *err)
{
    char buf[DEMO_PATH_MAX];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf))
        return gw_error_set(err, GW_ERR_INVALID, "demo: bad directory path");
    memcpy(buf, path, len + 1);
    /* Walk the separators; each prefix is created if missing. */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: mkdir %s: %s", buf,
                                strerror(errno));
        buf[i] = saved;
    }
    return 0;
}

int demo_write_file(const char *path, const void *data, size_t len, mode_t mode,
                    struct gw_error *err)
{
    char tmp[DEMO_PATH_MAX];
    const char *p = data;
    int fd = -1;
    int ret = -1;

    if (demo_path(tmp, sizeof(tmp), err, "%s.tmp", path) != 0)
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: create %s: %s", tmp, strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: write %s: %s", tmp, strerror(errno));
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    /* open() applies the umask; the key files must end up exactly as asked. */
    if (fchmod(fd, mode) != 0 || close(fd) != 0) {
        fd = -1;
        gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: finish %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: rename %s: %s", path, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (ret != 0)
        unlink(tmp);
    return ret;
}

/* Where argv[0] is: PATH may lack the sbin directories for ordinary users. */
static void find_program(const char *name, char *path, size_t size)
{
    static const char *const dirs[] = {"/usr/sbin", "/usr/bin", "/sbin", "/bin"};

    for (size_t i = 0; strchr(name, '/') == NULL && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        int n = snprintf(path, size, "%s/%s", dirs[i], name);
        if (n > 0 && (size_t)n < size && access(path, X_OK) == 0)
            return;
    }
    if (snprintf(path, size, "%s", name) >= (int)size)
        path[0] = '\0';
}

/* Runs in the forked child of a possibly threaded process: only
 * async-signal-safe calls between fork and exec. */
static void run_child(const char *path, const char *const argv[], int null_fd, int log_fd,
                      int max_fd)
{
    sigset_t none;

    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
        _exit(126);
    /* Leave the child nothing of ours but the three standard streams. */
    for (int fd = 3; fd < max_fd; fd++)
        close(fd);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (path[0] == '/')
        execv(path, (char *const *)argv);
    else
        execvp(path, (char *const *)argv);
    _exit(127);
}

int demo_run(const char *const argv[], const char *log_path, struct gw_error *err)
{
    char path[DEMO_PATH_MAX];
    long open_max = sysconf(_SC_OPEN_MAX);
    int max_fd = open_max > 0 && open_max < 65536 ? (int)open_max : 65536;
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int status = 0;
    pid_t pid = -1;

    if (log_fd < 0 || null_fd < 0) {
        gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: open %s: %s", log_path, strerror(errno));
        goto out;
    }
    find_program(argv[0], path, sizeof(path));
    pid = fork();
    if (pid == 0)
        run_child(path, argv, null_fd, log_fd, max_fd);
    if (pid < 0)
        gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: fork: %s", strerror(errno));
out:
    if (log_fd >= 0)
        close(log_fd);
    if (null_fd >= 0)
        close(null_fd);
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: waitpid: %s", strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: %s not found (is it installed?)",
                            argv[0]);
    char tail[160];
    demo_log_tail(log_path, tail, sizeof(tail));
    return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: %s failed (%s %d): %s", argv[0],
                        WIFEXITED(status) ? "exit" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), tail);
}

void demo_log_tail(const char *log_path, char *buf, size_t size)
{
    int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    ssize_t n = -1;

    buf[0] = '\0';
    if (size < 2 || fd < 0)
        goto out;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)(size - 1) ? end - (off_t)(size - 1) : 0;
    n = pread(fd, buf, size - 1, start);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    /* One line for an error message: strip the trailing newline, join the rest. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || buf[i] == '\r')
            buf[i] = '|';
    }
out:
    if (fd >= 0)
        close(fd);
}

static void loopback_addr(struct sockaddr_in *sa, uint16_t port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Whether 127.0.0.1:port can be bound now (port 0: any); *got is the port. */
static bool bind_loopback(uint16_t port, uint16_t *got)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    bool ok = false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return false;
    loopback_addr(&sa, port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        *got = ntohs(sa.sin_port);
        ok = true;
    }
    close(fd);
    return ok;
}

/* The lowest port the kernel hands out as an ephemeral one. */
static unsigned ephemeral_low(void)
{
    unsigned low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%u", &low) != 1 || low < 2048 || low > 65535)
            low = 32768;
        fclose(f);
    }
    return low;
}

/* The ports this process handed out last: nothing listens on them yet
 * (the configuration naming them is still being written), so bind()
 * cannot tell they are taken. */
#define RECENT_PORTS 256
static struct {
    pthread_mutex_t lock;
    uint16_t port[RECENT_PORTS];
    unsigned next;
} recent = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Lock held. */
static bool handed_out(uint16_t port)
{
    for (unsigned i = 0; i < RECENT_PORTS; i++)
        if (recent.port[i] == port)
            return true;
    return false;
}

uint16_t demo_free_port(void)
{
    unsigned low = ephemeral_low();
    unsigned first = low / 2 > 1024 ? low / 2 : 1024;
    uint16_t port = 0;
    bool found = false;

    pthread_mutex_lock(&recent.lock);
    for (int i = 0; i < 32 && !found; i++) {
        uint32_t r;
        if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
            break;
        found = bind_loopback((uint16_t)(first + r % (low - first)), &port) &&
                !handed_out(port);
    }
    if (!found)
        found = bind_loopback(0, &port) && !handed_out(port);
    if (found)
        recent.port[recent.next++ % RECENT_PORTS] = port;
    pthread_mutex_unlock(&recent.lock);
    return found ? port : 0;
}

bool demo_port_open(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool open_ = false;

    if (fd < 0)
        return false;
    loopback_addr(&sa, port);
    open_ = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return open_;
}

bool demo_pid_alive(pid_t pid)
{
    char path[64];
    char stat[256];
    FILE *f;
    bool zombie = false;

    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return false;
    /* A dead master we are not the parent of may linger as a zombie when
     * nothing reaps orphans (a container without init): that is gone too. */
    if (snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid) >= (int)sizeof(path))
        return true;
    f = fopen(path, "re");
    if (f == NULL)
        return errno != ENOENT;
    if (fgets(stat, sizeof(stat), f) != NULL) {
        const char *paren = strrchr(stat, ')');
        zombie = paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
    }
    fclose(f);
    return !zombie;
}

/* First word of /proc/<pid>/cmdline starts with prefix. */
static bool cmdline_has_prefix(const char *pid, const char *prefix)
{
    char path[64], arg[128];
    size_t len = strlen(prefix);
    size_t n;
    FILE *f;

    if (len >= sizeof(arg) ||
        snprintf(path, sizeof(path), "/proc/%s/cmdline", pid) >= (int)sizeof(path))
        return false;
    f = fopen(path, "re");
    if (f == NULL)
        return false;
    n = fread(arg, 1, len, f);
    fclose(f);
    return n == len && memcmp(arg, prefix, len) == 0;
}

unsigned demo_kill_instance(const char *instance_name, int sig)
{
    char prefix[96];
    unsigned killed = 0;
    struct dirent *de;
    DIR *proc;

    /* Dovecot titles every process "dovecot-<instance_name>/<service>". */
    if (snprintf(prefix, sizeof(prefix), "dovecot-%s/", instance_name) >= (int)sizeof(prefix))
        return 0;
    proc = opendir("/proc");
    if (proc == NULL)
        return 0;
    while ((de = readdir(proc)) != NULL) {
        char *end = NULL;
        long pid = strtol(de->d_name, &end, 10);
        if (pid <= 1 || end == NULL || *end != '\0' || !cmdline_has_prefix(de->d_name, prefix))
            continue;
        if (kill((pid_t)pid, sig) == 0)
            killed++;
    }
    closedir(proc);
    return killed;
}

int demo_password_hash(const char *password, char *out, size_t size, struct gw_error *err)
{
    unsigned char buf[EVP_MAX_MD_SIZE + 16];
    unsigned char *salt = NULL;
    unsigned int md_len = 0;
    unsigned char b64[((sizeof(buf) + 2) / 3) * 4 + 1];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ret = -1;

    if (ctx == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "demo: out of memory");
        goto out;
    }
    /* Dovecot's SSHA512: sha512(password || salt) followed by the salt. */
    salt = buf + 64;
    if (RAND_bytes(salt, 16) != 1 || EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
        EVP_DigestUpdate(ctx, salt, 16) != 1 || EVP_DigestFinal_ex(ctx, buf, &md_len) != 1 ||
        md_len != 64) {
        gw_error_set(err, GW_ERR_INTERNAL, "demo: password hashing failed");
        goto out;
    }
    EVP_EncodeBlock(b64, buf, 64 + 16);
    if (demo_path(out, size, err, "{SSHA512}%s", (const char *)b64) != 0)
        goto out;
    ret = 0;
out:
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ret;
}


void demo_conf_add(struct demo_conf_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (int attempt = 0; attempt < 2; attempt++) {
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *p = realloc(b->data, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    b->failed = true;
}

int demo_conf_finish(struct demo_conf_buf *b, const char *path, mode_t mode, struct gw_error *err)
{
    int ret;

    if (b->failed)
        ret = gw_error_set(err, GW_ERR_NOMEM, "demo: out of memory writing %s", path);
    else
        ret = demo_write_file(path, b->data, b->len, mode, err);
    free(b->data);
    b->data = NULL;
    return ret;
}

int demo_conf_init(struct demo_conf_buf *b, struct gw_error *err)
{
    b->len = 0;
    b->cap = 4096;
    b->failed = false;
    b->data = malloc(b->cap);
    if (b->data == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "demo: out of memory");
    b->data[0] = '\0';
    return 0;
}

