/* demo_dovecot_conf.c - the private dovecot.conf and passwd-file.
 *
 * The configuration is self-contained (no !include of /etc/dovecot) and is
 * rewritten at every start, so a changed port or TLS switch takes effect.
 */
#include "demo_internal.h"

#include "demo_dovecot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A growing text buffer that remembers the first failure, so the writer
 * below reads as the file it produces. */
struct conf_buf {
    char *data;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void conf_add(struct conf_buf *b, const char *fmt,
                                                            ...)
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

static int conf_finish(struct conf_buf *b, const char *path, mode_t mode, struct gw_error *err)
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

static int conf_init(struct conf_buf *b, struct gw_error *err)
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

/* A login service that listens on our ports only. port 0 disables a
 * listener in Dovecot, which is how imaps/pop3s are turned off. */
static void conf_login_service(struct conf_buf *b, const struct demo_conf *c, const char *service,
                               const char *plain, uint16_t plain_port, const char *tls,
                               uint16_t tls_port)
{
    conf_add(b, "service %s {\n", service);
    conf_add(b, "  inet_listener %s {\n    address = 127.0.0.1\n    port = %u\n  }\n", plain,
             (unsigned)plain_port);
    if (tls != NULL)
        conf_add(b, "  inet_listener %s {\n    port = %u\n  }\n", tls, (unsigned)tls_port);
    /* chroot() needs root; as an ordinary user the login processes run unjailed. */
    if (!c->privileged)
        conf_add(b, "  chroot =\n");
    conf_add(b, "}\n");
}

int demo_conf_write(const struct demo_conf *c, const char *path, struct gw_error *err)
{
    static const char *const special[][2] = {
        {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},       {"Trash", "\\Trash"},
        {"Junk", "\\Junk"},     {"Archive", "\\Archive"},
    };
    struct conf_buf b;

    if (conf_init(&b, err) != 0)
        return -1;
    conf_add(&b, "# Written by jmap-gateway at every start of its private Dovecot.\n");
    conf_add(&b, "instance_name = %s\n", c->instance_name);
    conf_add(&b, "base_dir = %s/run\n", c->base);
    conf_add(&b, "state_dir = %s/state\n", c->base);
    conf_add(&b, "log_path = %s/dovecot.log\n", c->base);
    conf_add(&b, "listen = 127.0.0.1\n");
    conf_add(&b, "protocols = imap pop3 lmtp%s\n", c->sieve_port ? " sieve" : "");
    conf_add(&b, "default_internal_user = %s\n", c->internal_user);
    conf_add(&b, "default_login_user = %s\n", c->login_user);
    if (c->internal_group != NULL)
        conf_add(&b, "default_internal_group = %s\n", c->internal_group);
    conf_add(&b, "first_valid_uid = %lu\nlast_valid_uid = 0\n", (unsigned long)c->mail_uid);
    conf_add(&b, "first_valid_gid = %lu\n", (unsigned long)(c->mail_gid ? c->mail_gid : 1));
    /* No statistics: a login process started just before a stop would wait
     * 5 s for the stopped stats service, and the master for it. */
    conf_add(&b, "stats_writer_socket_path =\n");
    conf_add(&b, "auth_mechanisms = plain login\n");
    /* Loopback only, and the gateway insists on TLS unless told otherwise. */
    conf_add(&b, "disable_plaintext_auth = no\n");
    /* LMTP recipients arrive as user@domain; logins are the bare name. */
    conf_add(&b, "auth_username_format = %%Ln\n");
    if (c->tls) {
        conf_add(&b, "ssl = yes\n");
        conf_add(&b, "ssl_cert = <%s/tls/server.pem\n", c->base);
        conf_add(&b, "ssl_key = <%s/tls/server.key\n", c->base);
    } else {
        conf_add(&b, "ssl = no\n");
    }
    conf_add(&b, "mail_location = maildir:%s/mail/%%u\n", c->base);
    conf_add(&b, "postmaster_address = postmaster@jmap-gateway.test\n");
    conf_add(&b, "passdb {\n  driver = passwd-file\n  args = scheme=SSHA512 %s/users\n}\n",
             c->base);
    conf_add(&b, "userdb {\n  driver = passwd-file\n  args = %s/users\n}\n", c->base);
    conf_add(&b, "namespace inbox {\n  inbox = yes\n  separator = /\n");
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        conf_add(&b, "  mailbox %s {\n    special_use = %s\n    auto = subscribe\n  }\n",
                 special[i][0], special[i][1]);
    conf_add(&b, "}\n");
    conf_login_service(&b, c, "imap-login", "imap", c->imap_port, "imaps",
                       c->tls ? c->imaps_port : 0);
    conf_login_service(&b, c, "pop3-login", "pop3", c->pop3_port, "pop3s", 0);
    conf_add(&b, "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
                 "    port = %u\n  }\n}\n",
             (unsigned)c->lmtp_port);
    if (c->sieve_port) {
        conf_login_service(&b, c, "managesieve-login", "sieve", c->sieve_port, NULL, 0);
        conf_add(&b, "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n");
    }
    if (c->sieve_plugin)
        conf_add(&b, "protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n}\n");
    return conf_finish(&b, path, 0644, err);
}

int demo_conf_write_users(const struct demo_conf *c, const struct demo_user *users, size_t count,
                          const char *path, struct gw_error *err)
{
    struct conf_buf b;
    char hash[256];

    if (conf_init(&b, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (demo_password_hash(users[i].password, hash, sizeof(hash), err) != 0) {
            free(b.data);
            return -1;
        }
        /* user:password:uid:gid:gecos:home:shell:extra */
        conf_add(&b, "%s:%s:%lu:%lu::%s/home/%s::\n", users[i].username, hash,
                 (unsigned long)c->mail_uid, (unsigned long)c->mail_gid, c->base,
                 users[i].username);
    }
    /* Hashes only, yet not for everyone's eyes: the auth process reads it
     * as the internal user, hence the group. */
    if (conf_finish(&b, path, 0640, err) != 0)
        return -1;
    if (c->privileged && chown(path, 0, c->internal_gid) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chown %s: %s", path, strerror(errno));
    return 0;
}
