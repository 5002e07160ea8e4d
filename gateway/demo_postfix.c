/* demo_postfix.c - the private Postfix behind include/demo_postfix.h.
 *
 * The master runs with -d (foreground) as the leader of its own session,
 * so one signal to its process group reaches every Postfix process and the
 * instance can be stopped without `postfix stop` and its system paths.
 */
#include "demo_internal.h"

#include "demo_dovecot.h"
#include "demo_postfix.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define POSTFIX_MASTER "/usr/lib/postfix/sbin/master"
#define POSTFIX_START_MS 15000
#define POSTFIX_STOP_MS 5000
#define POSTFIX_POLL_MS 50

struct demo_postfix {
    char base[DEMO_PATH_MAX];
    char log_path[DEMO_PATH_MAX];
    char out_path[DEMO_PATH_MAX];       /* the master's stdout/stderr */
    pid_t master;
    uint16_t submission_port, smtps_port;
};

static void postfix_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* The queue layout Postfix's post-install would create: owner postfix,
 * the drop-off directories shared with the postdrop group. */
static int postfix_make_queue(const struct demo_postfix *p, uid_t uid, gid_t gid, gid_t drop_gid,
                              struct gw_error *err)
{
    static const char *const private_dirs[] = {"active", "bounce", "corrupt", "defer",
                                               "deferred", "flush", "hold", "incoming",
                                               "private", "saved", "trace"};
    char path[DEMO_PATH_MAX];

    if (demo_path(path, sizeof(path), err, "%s/queue/pid", p->base) != 0 ||
        demo_mkdirs(path, 0755, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(private_dirs) / sizeof(private_dirs[0]); i++) {
        if (demo_path(path, sizeof(path), err, "%s/queue/%s", p->base, private_dirs[i]) != 0 ||
            demo_mkdirs(path, 0700, err) != 0 || chown(path, uid, gid) != 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s", path);
    }
    if (demo_path(path, sizeof(path), err, "%s/queue/public", p->base) != 0 ||
        demo_mkdirs(path, 0710, err) != 0 || chown(path, uid, drop_gid) != 0 ||
        chmod(path, 0710) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s", path);
    if (demo_path(path, sizeof(path), err, "%s/queue/maildrop", p->base) != 0 ||
        demo_mkdirs(path, 0730, err) != 0 || chown(path, uid, drop_gid) != 0 ||
        chmod(path, 01730) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s", path);
    if (demo_path(path, sizeof(path), err, "%s/data", p->base) != 0 ||
        demo_mkdirs(path, 0700, err) != 0 || chown(path, uid, gid) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s", path);
    /* A master killed without cleanup leaves its lock file behind. */
    if (demo_path(path, sizeof(path), err, "%s/queue/pid/master.pid", p->base) != 0)
        return -1;
    unlink(path);
    return 0;
}

/* The user tables: who receives mail here, and which address each login
 * may send as (texthash needs no postmap). */
static int postfix_write_tables(const struct demo_postfix *p, const struct demo_user *users,
                                size_t count, struct gw_error *err)
{
    struct demo_conf_buf rcpt, senders;
    char path[DEMO_PATH_MAX];

    if (demo_conf_init(&rcpt, err) != 0)
        return -1;
    if (demo_conf_init(&senders, err) != 0) {
        free(rcpt.data);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        demo_conf_add(&rcpt, "%s ok\n", users[i].address);
        demo_conf_add(&senders, "%s %s\n", users[i].address, users[i].username);
    }
    if (demo_path(path, sizeof(path), err, "%s/conf/recipients", p->base) != 0 ||
        demo_conf_finish(&rcpt, path, 0644, err) != 0) {
        free(rcpt.data);
        free(senders.data);
        return -1;
    }
    if (demo_path(path, sizeof(path), err, "%s/conf/senders", p->base) != 0 ||
        demo_conf_finish(&senders, path, 0644, err) != 0) {
        free(senders.data);
        return -1;
    }
    return 0;
}

static int postfix_write_main(const struct demo_postfix *p, const struct demo_postfix_options *o,
                              const char *domain, struct gw_error *err)
{
    struct demo_conf_buf b;
    char path[DEMO_PATH_MAX];
    const char *base = p->base;

    if (demo_conf_init(&b, err) != 0)
        return -1;
    demo_conf_add(&b, "# Written by jmap-gateway at every start of its private Postfix.\n");
    demo_conf_add(&b, "compatibility_level = 3.6\n");
    demo_conf_add(&b, "queue_directory = %s/queue\ndata_directory = %s/data\n", base, base);
    demo_conf_add(&b, "mail_owner = postfix\nsetgid_group = postdrop\n");
    demo_conf_add(&b, "maillog_file = %s\nmaillog_file_prefixes = %s\n", p->log_path, base);
    demo_conf_add(&b, "myhostname = mail.%s\nmydomain = %s\nmyorigin = $mydomain\n", domain,
                  domain);
    demo_conf_add(&b, "mydestination =\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n");
    demo_conf_add(&b, "alias_maps =\nalias_database =\nbiff = no\nsmtputf8_enable = no\n");
    /* Nothing leaves the machine, even if a restriction below were wrong. */
    demo_conf_add(&b, "default_transport = error:5.7.1 no outbound mail from this test server\n");
    demo_conf_add(&b, "relay_transport = $default_transport\n");
    demo_conf_add(&b, "virtual_mailbox_domains = %s\n", domain);
    demo_conf_add(&b, "virtual_mailbox_maps = texthash:%s/conf/recipients\n", base);
    demo_conf_add(&b, "virtual_transport = lmtp:inet:127.0.0.1:%u\n", (unsigned)o->lmtp_port);
    demo_conf_add(&b, "message_size_limit = %zu\n",
                  o->message_size_limit ? o->message_size_limit : (size_t)10 * 1024 * 1024);
    demo_conf_add(&b, "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n", o->cert_file,
                  o->key_file);
    demo_conf_add(&b, "smtpd_tls_security_level = encrypt\nsmtpd_tls_auth_only = yes\n");
    demo_conf_add(&b, "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\n");
    demo_conf_add(&b, "smtpd_sasl_path = inet:127.0.0.1:%u\n", (unsigned)o->auth_port);
    demo_conf_add(&b, "smtpd_sender_login_maps = texthash:%s/conf/senders\n", base);
    demo_conf_add(&b, "smtpd_sender_restrictions = reject_sender_login_mismatch\n");
    /* Refuse a sender at MAIL FROM, not at the first RCPT as Postfix's
     * default would: the reply then says which part was wrong. */
    demo_conf_add(&b, "smtpd_delay_reject = no\n");
    demo_conf_add(&b, "smtpd_relay_restrictions = reject_unauth_destination\n");
    demo_conf_add(&b, "smtpd_recipient_restrictions = permit_sasl_authenticated, reject\n");
    if (demo_path(path, sizeof(path), err, "%s/conf/main.cf", base) != 0) {
        free(b.data);
        return -1;
    }
    return demo_conf_finish(&b, path, 0644, err);
}

static int postfix_write_master(const struct demo_postfix *p, struct gw_error *err)
{
    /* name type private unpriv chroot wakeup maxproc command */
    static const char *const services[] = {
        "cleanup unix n - n - 0 cleanup",     "qmgr unix n - n 300 1 qmgr",
        "tlsmgr unix - - n 1000? 1 tlsmgr",   "rewrite unix - - n - - trivial-rewrite",
        "bounce unix - - n - 0 bounce",       "defer unix - - n - 0 bounce",
        "trace unix - - n - 0 bounce",        "verify unix - - n - 1 verify",
        "flush unix n - n 1000? 0 flush",     "proxymap unix - - n - - proxymap",
        "showq unix n - n - - showq",         "error unix - - n - - error",
        "retry unix - - n - - error",         "discard unix - - n - - discard",
        "lmtp unix - - n - - lmtp",           "anvil unix - - n - 1 anvil",
        "scache unix - - n - 1 scache",       "postlog unix-dgram n - n - 1 postlogd",
    };
    struct demo_conf_buf b;
    char path[DEMO_PATH_MAX];

    if (demo_conf_init(&b, err) != 0)
        return -1;
    demo_conf_add(&b, "127.0.0.1:%u inet n - n - - smtpd\n", (unsigned)p->submission_port);
    demo_conf_add(&b, "127.0.0.1:%u inet n - n - - smtpd -o smtpd_tls_wrappermode=yes\n",
                  (unsigned)p->smtps_port);
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++)
        demo_conf_add(&b, "%s\n", services[i]);
    if (demo_path(path, sizeof(path), err, "%s/conf/master.cf", p->base) != 0) {
        free(b.data);
        return -1;
    }
    return demo_conf_finish(&b, path, 0644, err);
}

static int postfix_spawn(struct demo_postfix *p, struct gw_error *err)
{
    char conf[DEMO_PATH_MAX];
    const char *argv[] = {"master", "-c", conf, "-d", NULL};

    if (demo_path(conf, sizeof(conf), err, "%s/conf", p->base) != 0)
        return -1;
    int out = open(p->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) {
        if (out >= 0)
            close(out);
        if (in >= 0)
            close(in);
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: open %s: %s", p->out_path,
                            strerror(errno));
    }
    long max_fd = sysconf(_SC_OPEN_MAX);
    if (max_fd < 0 || max_fd > 65536)
        max_fd = 65536;
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. The gateway blocks
         * SIGTERM in every thread: the master must get it again. */
        sigset_t none;
        setsid();
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(126);
        for (int fd = 3; fd < (int)max_fd; fd++)
            close(fd);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(POSTFIX_MASTER, (char *const *)argv);
        _exit(127);
    }
    close(out);
    close(in);
    if (pid < 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: fork: %s", strerror(errno));
    p->master = pid;
    return 0;
}

/* Stops the whole process group and reaps the master, bounded. */
static void postfix_stop(struct demo_postfix *p)
{
    int status;

    if (p->master <= 0)
        return;
    kill(-p->master, SIGTERM);
    for (unsigned waited = 0; waited < POSTFIX_STOP_MS; waited += POSTFIX_POLL_MS) {
        if (waitpid(p->master, &status, WNOHANG) == p->master) {
            p->master = 0;
            break;
        }
        postfix_sleep_ms(POSTFIX_POLL_MS);
    }
    if (p->master > 0) {
        kill(-p->master, SIGKILL);
        waitpid(p->master, &status, 0);
        p->master = 0;
    }
    /* The children got SIGTERM from the master; stragglers get the rest. */
    for (unsigned waited = 0;
         (demo_port_open(p->submission_port) || demo_port_open(p->smtps_port)) &&
         waited < POSTFIX_STOP_MS;
         waited += POSTFIX_POLL_MS)
        postfix_sleep_ms(POSTFIX_POLL_MS);
}

static int postfix_wait_up(struct demo_postfix *p, struct gw_error *err)
{
    char tail[256];
    int status;

    for (unsigned waited = 0; waited < POSTFIX_START_MS; waited += POSTFIX_POLL_MS) {
        if (demo_port_open(p->submission_port) && demo_port_open(p->smtps_port))
            return 0;
        if (waitpid(p->master, &status, WNOHANG) == p->master) {
            p->master = 0;
            break;
        }
        postfix_sleep_ms(POSTFIX_POLL_MS);
    }
    demo_log_tail(p->log_path, tail, sizeof(tail));
    if (tail[0] == '\0')
        demo_log_tail(p->out_path, tail, sizeof(tail));
    return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: postfix did not come up on port %u: %s",
                        (unsigned)p->submission_port, tail);
}

static int postfix_prepare(struct demo_postfix *p, const struct demo_postfix_options *o,
                           struct gw_error *err)
{
    char path[DEMO_PATH_MAX];
    const struct passwd *pw;
    const struct group *gr;
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: the Postfix master needs root");
    if (access(POSTFIX_MASTER, X_OK) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: postfix is not installed (%s)",
                            POSTFIX_MASTER);
    if (o->cert_file == NULL || o->key_file == NULL || o->lmtp_port == 0 || o->auth_port == 0)
        return gw_error_set(err, GW_ERR_INVALID, "demo: postfix needs TLS files, LMTP and auth");
    pw = getpwnam("postfix");
    if (pw == NULL)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: no postfix user");
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    gr = getgrnam("postdrop");
    if (gr == NULL)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: no postdrop group");
    p->submission_port = o->submission_port ? o->submission_port : demo_free_port();
    p->smtps_port = o->smtps_port ? o->smtps_port : demo_free_port();
    if (p->submission_port == 0 || p->smtps_port == 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: no free port on 127.0.0.1");
    if (demo_path(path, sizeof(path), err, "%s/conf", p->base) != 0 ||
        demo_mkdirs(path, 0755, err) != 0 || chmod(p->base, 0755) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: cannot prepare %s", p->base);
    return postfix_make_queue(p, uid, gid, gr->gr_gid, err);
}

int demo_postfix_start(const struct demo_postfix_options *o, struct demo_postfix **out,
                       struct gw_error *err)
{
    const struct demo_user *users = o->users ? o->users : demo_dovecot_default_users;
    size_t count = o->users ? o->user_count : demo_dovecot_default_user_count;
    struct demo_postfix *p;

    *out = NULL;
    if (o->base_dir == NULL || o->base_dir[0] != '/')
        return gw_error_set(err, GW_ERR_INVALID, "demo: postfix base_dir must be absolute");
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "demo: out of memory");
    if (demo_path(p->base, sizeof(p->base), err, "%s", o->base_dir) != 0 ||
        demo_path(p->log_path, sizeof(p->log_path), err, "%s/postfix.log", p->base) != 0 ||
        demo_path(p->out_path, sizeof(p->out_path), err, "%s/master.out", p->base) != 0 ||
        demo_mkdirs(p->base, 0755, err) != 0 || postfix_prepare(p, o, err) != 0 ||
        postfix_write_main(p, o, o->domain ? o->domain : "jmap-gateway.test", err) != 0 ||
        postfix_write_master(p, err) != 0 || postfix_write_tables(p, users, count, err) != 0 ||
        postfix_spawn(p, err) != 0)
        goto fail;
    if (postfix_wait_up(p, err) != 0)
        goto fail;
    *out = p;
    return 0;
fail:
    demo_postfix_free(&p);
    return -1;
}

int demo_postfix_pause(struct demo_postfix *p, struct gw_error *err)
{
    postfix_stop(p);
    if (demo_port_open(p->submission_port) || demo_port_open(p->smtps_port))
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: postfix ports still open after stop");
    return 0;
}

int demo_postfix_resume(struct demo_postfix *p, struct gw_error *err)
{
    char path[DEMO_PATH_MAX];

    if (p->master > 0)
        return 0;
    /* The stopped master's lock file would make the new one give up. */
    if (demo_path(path, sizeof(path), err, "%s/queue/pid/master.pid", p->base) != 0)
        return -1;
    unlink(path);
    if (postfix_spawn(p, err) != 0)
        return -1;
    return postfix_wait_up(p, err);
}

void demo_postfix_free(struct demo_postfix **pp)
{
    if (pp == NULL || *pp == NULL)
        return;
    postfix_stop(*pp);
    free(*pp);
    *pp = NULL;
}

uint16_t demo_postfix_submission_port(const struct demo_postfix *p)
{
    return p->submission_port;
}

uint16_t demo_postfix_smtps_port(const struct demo_postfix *p)
{
    return p->smtps_port;
}

const char *demo_postfix_log_path(const struct demo_postfix *p)
{
    return p->log_path;
}
