/* demo_dovecot.c - see include/demo_dovecot.h.
 *
 * Layout under base_dir: dovecot.conf, users (passwd-file), dovecot.log,
 * tls/ (private CA + server certificate), run/ (Dovecot's base_dir with
 * master.pid and sockets), state/, mail/<user>/ (maildir), home/<user>/.
 */
#include "demo_dovecot.h"

#include "demo_internal.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEMO_START_TIMEOUT_MS 15000
#define DEMO_STOP_TIMEOUT_MS 5000
#define DEMO_POLL_MS 50
#define DEMO_BASE_MAX 76

const struct demo_user demo_dovecot_default_users[] = {
    {"demo", "demo", "demo@jmap-gateway.test"},
    {"alice", "alice", "alice@jmap-gateway.test"},
};
const size_t demo_dovecot_default_user_count =
    sizeof(demo_dovecot_default_users) / sizeof(demo_dovecot_default_users[0]);

struct demo_dovecot {
    char base[DEMO_PATH_MAX];
    char conf_path[DEMO_PATH_MAX];
    char log_path[DEMO_PATH_MAX];
    char pid_path[DEMO_PATH_MAX];
    char ca_path[DEMO_PATH_MAX];
    char internal_user[64];
    char login_user[64];
    char internal_group[64];
    struct demo_conf conf;
    pid_t master;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Names end up in paths and in the passwd-file: keep them boring. */
static bool valid_username(const char *name)
{
    size_t len = name != NULL ? strlen(name) : 0;

    if (len == 0 || len > 64 || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return false;
    }
    return true;
}

static int copy_name(char *dst, size_t size, const char *src, struct gw_error *err)
{
    return demo_path(dst, size, err, "%s", src);
}

/* Root: Dovecot's own unprivileged users, mail owned by `mail` (or nobody).
 * Otherwise: everything runs as the current user, no privilege needed. */
static int resolve_identity(struct demo_dovecot *d, struct gw_error *err)
{
    struct demo_conf *c = &d->conf;
    struct passwd *pw;

    c->privileged = geteuid() == 0;
    if (!c->privileged) {
        pw = getpwuid(geteuid());
        if (pw == NULL)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: uid %ld has no passwd entry",
                                (long)geteuid());
        if (copy_name(d->internal_user, sizeof(d->internal_user), pw->pw_name, err) != 0 ||
            copy_name(d->login_user, sizeof(d->login_user), pw->pw_name, err) != 0)
            return -1;
        struct group *gr = getgrgid(getegid());
        if (gr == NULL)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: gid %ld has no group entry",
                                (long)getegid());
        if (copy_name(d->internal_group, sizeof(d->internal_group), gr->gr_name, err) != 0)
            return -1;
        c->internal_group = d->internal_group;
        c->internal_gid = getegid();
        c->mail_uid = geteuid();
        c->mail_gid = getegid();
        return 0;
    }
    /* getpwnam() reuses one buffer: take what we need before the next call. */
    pw = getpwnam("dovecot");
    if (pw != NULL)
        c->internal_gid = pw->pw_gid;
    if (pw == NULL || getpwnam("dovenull") == NULL)
        return gw_error_set(err, GW_ERR_UNAVAILABLE,
                            "demo: users dovecot/dovenull missing (install dovecot-core)");
    if (copy_name(d->internal_user, sizeof(d->internal_user), "dovecot", err) != 0 ||
        copy_name(d->login_user, sizeof(d->login_user), "dovenull", err) != 0)
        return -1;
    pw = getpwnam("mail");
    if (pw == NULL)
        pw = getpwnam("nobody");
    if (pw == NULL || pw->pw_uid == 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: no unprivileged mail user");
    c->mail_uid = pw->pw_uid;
    c->mail_gid = pw->pw_gid;
    return 0;
}

/* As root the mail processes run as another uid, which must be able to walk
 * down to base_dir; we do not loosen directories we do not own. */
static int check_traversable(const char *base, struct gw_error *err)
{
    char path[DEMO_PATH_MAX];
    struct stat st;

    if (demo_path(path, sizeof(path), err, "%s", base) != 0)
        return -1;
    for (char *slash = strrchr(path, '/'); slash != NULL; slash = strrchr(path, '/')) {
        *slash = '\0';
        const char *dir = path[0] != '\0' ? path : "/";
        if (stat(dir, &st) != 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: stat %s: %s", dir,
                                strerror(errno));
        if ((st.st_mode & S_IXOTH) == 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE,
                                "demo: running as root, but %s is not searchable by other users; "
                                "choose a state directory elsewhere (e.g. under /var/tmp)",
                                dir);
    }
    return 0;
}

static int pick_port(uint16_t want, uint16_t *out, struct gw_error *err)
{
    *out = want != 0 ? want : demo_free_port();
    if (*out == 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: no free port on 127.0.0.1");
    return 0;
}

static int setup_paths(struct demo_dovecot *d, const char *base_dir, struct gw_error *err)
{
    char resolved[PATH_MAX];
    uint32_t hash = 2166136261u;

    if (base_dir == NULL || base_dir[0] == '\0')
        return gw_error_set(err, GW_ERR_INVALID, "demo: base_dir is required");
    if (demo_mkdirs(base_dir, 0700, err) != 0)
        return -1;
    if (realpath(base_dir, resolved) == NULL)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: %s: %s", base_dir, strerror(errno));
    /* Dovecot's longest socket, run/token-login/imap-urlauth (29 bytes
     * after base_dir), must fit in sun_path (108 with the NUL). */
    if (strlen(resolved) > DEMO_BASE_MAX)
        return gw_error_set(err, GW_ERR_INVALID,
                            "demo: base directory path longer than %d bytes: %s", DEMO_BASE_MAX,
                            resolved);
    if (demo_path(d->base, sizeof(d->base), err, "%s", resolved) != 0 ||
        demo_path(d->conf_path, sizeof(d->conf_path), err, "%s/dovecot.conf", resolved) != 0 ||
        demo_path(d->log_path, sizeof(d->log_path), err, "%s/dovecot.log", resolved) != 0 ||
        demo_path(d->pid_path, sizeof(d->pid_path), err, "%s/run/master.pid", resolved) != 0 ||
        demo_path(d->ca_path, sizeof(d->ca_path), err, "%s/tls/ca.pem", resolved) != 0)
        return -1;
    for (const char *p = resolved; *p != '\0'; p++)
        hash = (hash ^ (unsigned char)*p) * 16777619u;
    return demo_path(d->conf.instance_name, sizeof(d->conf.instance_name), err, "jmapgw-%08x",
                     (unsigned)hash);
}

/* Homes and (first time only) maildirs, owned by the mail uid. */
static int prepare_users(struct demo_dovecot *d, const struct demo_user *users, size_t count,
                         bool seed, struct gw_error *err)
{
    const struct demo_conf *c = &d->conf;
    char path[DEMO_PATH_MAX];
    struct stat st;

    /* Searchable, not listable: the mail uid must reach its own home. */
    if (demo_path(path, sizeof(path), err, "%s/home", d->base) != 0 ||
        demo_mkdirs(path, 0711, err) != 0 || chmod(path, 0711) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s/home", d->base);
    for (size_t i = 0; i < count; i++) {
        if (demo_path(path, sizeof(path), err, "%s/home/%s", d->base, users[i].username) != 0 ||
            demo_mkdirs(path, 0700, err) != 0)
            return -1;
        if (chown(path, c->mail_uid, c->mail_gid) != 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chown %s: %s", path,
                                strerror(errno));
        if (demo_path(path, sizeof(path), err, "%s/mail/%s", d->base, users[i].username) != 0)
            return -1;
        if (stat(path, &st) == 0)
            continue;
        if (seed) {
            if (demo_mail_seed(path, c->mail_uid, c->mail_gid, err) != 0)
                return -1;
            continue;
        }
        /* mail/ is root's when we are root: Dovecot could not create this. */
        if (demo_mkdirs(path, 0700, err) != 0)
            return -1;
        if (chown(path, c->mail_uid, c->mail_gid) != 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chown %s: %s", path,
                                strerror(errno));
    }
    return 0;
}

static pid_t read_pid(const char *path)
{
    FILE *f = fopen(path, "re");
    long pid = 0;

    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 0)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

/* True when pid is a Dovecot master started with our configuration: a pid
 * file that outlived a reboot may name an unrelated process by now. */
static bool is_our_master(const struct demo_dovecot *d, pid_t pid)
{
    char path[64], cmdline[DEMO_PATH_MAX + 64];
    size_t n = 0;
    FILE *f;

    if (snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid) >= (int)sizeof(path))
        return false;
    f = fopen(path, "re");
    if (f == NULL)
        return false;
    n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
    fclose(f);
    cmdline[n] = '\0';
    /* Arguments are NUL-separated: look for our config path as one of them. */
    for (size_t i = 0; i < n; i += strlen(cmdline + i) + 1) {
        if (strcmp(cmdline + i, d->conf_path) == 0)
            return true;
    }
    return false;
}

static bool wait_gone(pid_t pid, unsigned timeout_ms)
{
    for (unsigned waited = 0; demo_pid_alive(pid); waited += DEMO_POLL_MS) {
        if (waited >= timeout_ms)
            return false;
        sleep_ms(DEMO_POLL_MS);
    }
    return true;
}

static int stop_master(struct demo_dovecot *d, pid_t pid, struct gw_error *err)
{
    if (pid > 0 && demo_pid_alive(pid)) {
        kill(pid, SIGTERM);
        if (!wait_gone(pid, DEMO_STOP_TIMEOUT_MS)) {
            kill(pid, SIGKILL);
            if (!wait_gone(pid, DEMO_STOP_TIMEOUT_MS))
                return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: dovecot pid %ld won't die",
                                    (long)pid);
        }
    }
    /* A login process caught mid-handshake may keep the inherited listener
     * open for seconds after its master died; it has nothing left to serve. */
    demo_kill_instance(d->conf.instance_name, SIGKILL);
    /* Wait until the port is free so a resume can bind it again. */
    for (unsigned waited = 0; demo_port_open(d->conf.imap_port); waited += DEMO_POLL_MS) {
        if (waited >= DEMO_STOP_TIMEOUT_MS)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: port %u still open after stop",
                                (unsigned)d->conf.imap_port);
        sleep_ms(DEMO_POLL_MS);
    }
    unlink(d->pid_path);
    d->master = 0;
    return 0;
}

static int launch(struct demo_dovecot *d, struct gw_error *err)
{
    const char *const argv[] = {"dovecot", "-c", d->conf_path, NULL};
    char tail[180];
    pid_t stale = read_pid(d->pid_path);

    /* A master left behind by a killed gateway still owns our ports. */
    if (stale > 0 && is_our_master(d, stale)) {
        if (stop_master(d, stale, err) != 0)
            return -1;
    } else if (stale > 0) {
        /* Dovecot itself would refuse to start while that pid is alive. */
        unlink(d->pid_path);
    }
    if (demo_run(argv, d->log_path, err) != 0)
        return -1;
    for (unsigned waited = 0; waited < DEMO_START_TIMEOUT_MS; waited += DEMO_POLL_MS) {
        if (d->master == 0)
            d->master = read_pid(d->pid_path);
        if (d->master > 0 && demo_port_open(d->conf.imap_port))
            return 0;
        if (d->master > 0 && !demo_pid_alive(d->master))
            break;
        sleep_ms(DEMO_POLL_MS);
    }
    demo_log_tail(d->log_path, tail, sizeof(tail));
    if (d->master > 0)
        stop_master(d, d->master, NULL);
    return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: dovecot did not come up on port %u: %s",
                        (unsigned)d->conf.imap_port, tail);
}

static int configure(struct demo_dovecot *d, const struct demo_dovecot_options *opts,
                     struct gw_error *err)
{
    struct demo_conf *c = &d->conf;
    const struct demo_user *users = opts->users ? opts->users : demo_dovecot_default_users;
    size_t count = opts->users ? opts->user_count : demo_dovecot_default_user_count;
    char path[DEMO_PATH_MAX];

    if (count == 0)
        return gw_error_set(err, GW_ERR_INVALID, "demo: no users");
    for (size_t i = 0; i < count; i++) {
        if (!valid_username(users[i].username) || users[i].password == NULL ||
            users[i].password[0] == '\0')
            return gw_error_set(err, GW_ERR_INVALID, "demo: bad user #%zu", i);
    }
    if (setup_paths(d, opts->base_dir, err) != 0 || resolve_identity(d, err) != 0)
        return -1;
    c->base = d->base;
    c->internal_user = d->internal_user;
    c->login_user = d->login_user;
    c->tls = opts->tls;
    c->sieve_plugin = access("/usr/lib/dovecot/modules/lib90_sieve_plugin.so", R_OK) == 0;
    if (c->privileged) {
        if (check_traversable(d->base, err) != 0)
            return -1;
        if (chmod(d->base, 0711) != 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chmod %s: %s", d->base,
                                strerror(errno));
    }
    if (pick_port(opts->imap_port, &c->imap_port, err) != 0 ||
        (c->tls && pick_port(opts->imaps_port, &c->imaps_port, err) != 0) ||
        pick_port(opts->pop3_port, &c->pop3_port, err) != 0 ||
        pick_port(opts->lmtp_port, &c->lmtp_port, err) != 0 ||
        pick_port(opts->auth_port, &c->auth_port, err) != 0)
        return -1;
    if (access("/usr/lib/dovecot/managesieve", X_OK) == 0 &&
        pick_port(opts->sieve_port, &c->sieve_port, err) != 0)
        return -1;
    if (demo_path(path, sizeof(path), err, "%s/tls", d->base) != 0 ||
        (c->tls && demo_tls_ensure(path, opts->cert_names, d->log_path, err) != 0))
        return -1;
    if (demo_path(path, sizeof(path), err, "%s/mail", d->base) != 0 ||
        demo_mkdirs(path, 0711, err) != 0 || chmod(path, 0711) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s/mail", d->base);
    if (prepare_users(d, users, count, opts->seed_demo_mail, err) != 0)
        return -1;
    if (demo_path(path, sizeof(path), err, "%s/users", d->base) != 0 ||
        demo_conf_write_users(c, users, count, path, err) != 0)
        return -1;
    return demo_conf_write(c, d->conf_path, err);
}

int demo_dovecot_start(const struct demo_dovecot_options *opts, struct demo_dovecot **out,
                       struct gw_error *err)
{
    struct demo_dovecot *d = NULL;
    int ret = -1;

    *out = NULL;
    if (opts == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "demo: no options");
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "demo: out of memory");
    if (configure(d, opts, err) != 0 || launch(d, err) != 0)
        goto out;
    *out = d;
    d = NULL;
    ret = 0;
out:
    free(d);
    return ret;
}

int demo_dovecot_pause(struct demo_dovecot *d, struct gw_error *err)
{
    if (d == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "demo: no server");
    return stop_master(d, d->master > 0 ? d->master : read_pid(d->pid_path), err);
}

int demo_dovecot_resume(struct demo_dovecot *d, struct gw_error *err)
{
    if (d == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "demo: no server");
    if (d->master > 0 && demo_pid_alive(d->master))
        return 0;
    d->master = 0;
    return launch(d, err);
}

void demo_dovecot_free(struct demo_dovecot **dp)
{
    struct demo_dovecot *d = dp != NULL ? *dp : NULL;

    if (d == NULL)
        return;
    stop_master(d, d->master > 0 ? d->master : read_pid(d->pid_path), NULL);
    free(d);
    *dp = NULL;
}

uint16_t demo_dovecot_imap_port(const struct demo_dovecot *d)
{
    return d->conf.imap_port;
}

uint16_t demo_dovecot_imaps_port(const struct demo_dovecot *d)
{
    return d->conf.imaps_port;
}

uint16_t demo_dovecot_pop3_port(const struct demo_dovecot *d)
{
    return d->conf.pop3_port;
}

uint16_t demo_dovecot_lmtp_port(const struct demo_dovecot *d)
{
    return d->conf.lmtp_port;
}

uint16_t demo_dovecot_auth_port(const struct demo_dovecot *d)
{
    return d->conf.auth_port;
}

uint16_t demo_dovecot_sieve_port(const struct demo_dovecot *d)
{
    return d->conf.sieve_port;
}

const char *demo_dovecot_ca_file(const struct demo_dovecot *d)
{
    return d->conf.tls ? d->ca_path : NULL;
}
