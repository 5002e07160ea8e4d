/* demo_internal.h - helpers shared by the demo_*.c files behind
 * include/demo_dovecot.h. Not a public contract.
 */
#ifndef DEMO_INTERNAL_H
#define DEMO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "demo_dovecot.h"
#include "gw_error.h"

/* Paths we build are bounded by this; longer base directories are refused
 * (Dovecot's unix sockets must also fit in sun_path). */
#define DEMO_PATH_MAX 512

/* One embedded demo message. */
struct demo_mail_message {
    const char *mailbox;    /* "INBOX" or a Maildir++ folder name ("Sent") */
    const char *flags;      /* maildir info flags, sorted ("FS"), may be "" */
    time_t date;            /* internal date (file mtime), matches the Date header */
    const char *text;       /* the RFC 5322 message, LF line ends */
};

extern const struct demo_mail_message demo_mail_messages[];
extern const size_t demo_mail_message_count;

/* Formats into buf; -1 with GW_ERR_INVALID when it does not fit. */
int demo_path(char *buf, size_t size, struct gw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* mkdir -p with mode for each created component. */
int demo_mkdirs(const char *path, mode_t mode, struct gw_error *err);

/* Writes data to path atomically (temp file + rename) with the given mode. */
int demo_write_file(const char *path, const void *data, size_t len, mode_t mode,
                    struct gw_error *err);

/* Runs argv[0] (looked up in PATH and the sbin directories) with stdin
 * from /dev/null and stdout/stderr appended to log_path, waits for it and
 * fails with GW_ERR_UNAVAILABLE unless it exits 0. */
int demo_run(const char *const argv[], const char *log_path, struct gw_error *err);

/* The last bytes of a log file, one line, for error messages. */
void demo_log_tail(const char *log_path, char *buf, size_t size);


/* True when something accepts TCP connections on 127.0.0.1:port. */
bool demo_port_open(uint16_t port);

/* True while pid exists and is not a zombie. */
bool demo_pid_alive(pid_t pid);

/* Sends sig to every process of the Dovecot instance named instance_name
 * (children that outlive their master) and returns how many it signalled. */
unsigned demo_kill_instance(const char *instance_name, int sig);

/* Ensures dir/ca.pem, dir/server.pem and dir/server.key exist and that the
 * server certificate names exactly `names` (NULL: localhost and
 * 127.0.0.1; reissued by the same CA when they change). Private keys are
 * readable by their owner only. openssl's chatter goes to log_path. */
int demo_tls_ensure(const char *dir, const char *const *names, const char *log_path,
                    struct gw_error *err);

/* Writes the demo messages into a freshly created maildir root
 * (cur/new/tmp and Maildir++ folders), owned by uid:gid. */
int demo_mail_seed(const char *maildir, uid_t uid, gid_t gid, struct gw_error *err);

/* "{SSHA512}base64(sha512(password salt) salt)" for Dovecot's passwd-file. */
int demo_password_hash(const char *password, char *out, size_t size, struct gw_error *err);

/* A growing text buffer that remembers the first failure, so a config
 * writer reads as the file it produces (demo_dovecot_conf.c, demo_postfix.c). */
struct demo_conf_buf {
    char *data;
    size_t len, cap;
    bool failed;
};

int demo_conf_init(struct demo_conf_buf *b, struct gw_error *err);
void demo_conf_add(struct demo_conf_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the text to path (mode) and frees it, or reports the first failure. */
int demo_conf_finish(struct demo_conf_buf *b, const char *path, mode_t mode, struct gw_error *err);

struct demo_user;

/* What the private Dovecot configuration is made of. */
struct demo_conf {
    const char *base;           /* absolute base directory */
    char instance_name[32];
    bool privileged;            /* running as root: chroot, separate users */
    bool tls;
    bool sieve_plugin;          /* dovecot-sieve installed: Sieve on LMTP */
    const char *internal_user;  /* default_internal_user */
    const char *login_user;     /* default_login_user */
    const char *internal_group; /* default_internal_group; NULL: Dovecot's default */
    gid_t internal_gid;
    uid_t mail_uid;             /* owner of every mail file */
    gid_t mail_gid;
    uint16_t imap_port, imaps_port, pop3_port, lmtp_port;
    uint16_t sieve_port;        /* 0: ManageSieve not installed */
    uint16_t auth_port;         /* SASL auth service for an MTA */
};

/* Writes dovecot.conf for c to path. */
int demo_conf_write(const struct demo_conf *c, const char *path, struct gw_error *err);

/* Writes the passwd-file (hashed passwords, homes under base/home). */
int demo_conf_write_users(const struct demo_conf *c, const struct demo_user *users, size_t count,
                          const char *path, struct gw_error *err);

#endif
