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

/* A login service that listens on our ports only. port 0 disables a
 * listener in Dovecot, which is how imaps/pop3s are turned off. */
static void conf_login_service(struct demo_conf_buf *b, const struct demo_conf *c, const char *service,
                               const char *plain, uint16_t plain_port, const char *tls,
                               uint16_t tls_port)
{
    demo_conf_add(b, "service %s {\n", service);
    demo_conf_add(b, "  inet_listener %s {\n    address = 127.0.0.1\n    port = %u\n  }\n", plain,
             (unsigned)plain_port);
    if (tls != NULL)
        demo_conf_add(b, "  inet_listener %s {\n    port = %u\n  }\n", tls, (unsigned)tls_port);
    /* chroot() needs root; as an ordinary user the login processes run unjailed. */
    if (!c->privileged)
        demo_conf_add(b, "  chroot =\n");
    demo_conf_add(b, "}\n");
}

int demo_conf_write(const struct demo_conf *c, const char *path, struct gw_error *err)
{
    static const char *const special[][2] = {
        {"Drafts", "\\Drafts"}, {"Sent", "\\Sent"},       {"Trash", "\\Trash"},
        {"Junk", "\\Junk"},     {"Archive", "\\Archive"},
    };
    struct demo_conf_buf b;

    if (demo_conf_init(&b, err) != 0)
        return -1;
    demo_conf_add(&b, "# Written by jmap-gateway at every start of its private Dovecot.\n");
    demo_conf_add(&b, "instance_name = %s\n", c->instance_name);
    demo_conf_add(&b, "base_dir = %s/run\n", c->base);
    demo_conf_add(&b, "state_dir = %s/state\n", c->base);
    demo_conf_add(&b, "log_path = %s/dovecot.log\n", c->base);
    demo_conf_add(&b, "listen = 127.0.0.1\n");
    demo_conf_add(&b, "protocols = imap pop3 lmtp%s\n", c->sieve_port ? " sieve" : "");
    demo_conf_add(&b, "default_internal_user = %s\n", c->internal_user);
    demo_conf_add(&b, "default_login_user = %s\n", c->login_user);
    if (c->internal_group != NULL)
        demo_conf_add(&b, "default_internal_group = %s\n", c->internal_group);
    demo_conf_add(&b, "first_valid_uid = %lu\nlast_valid_uid = 0\n", (unsigned long)c->mail_uid);
    demo_conf_add(&b, "first_valid_gid = %lu\n", (unsigned long)(c->mail_gid ? c->mail_gid : 1));
    /* No statistics: a login process started just before a stop would wait
     * 5 s for the stopped stats service, and the master for it. */
    demo_conf_add(&b, "stats_writer_socket_path =\n");
    demo_conf_add(&b, "auth_mechanisms = plain login\n");
    /* Loopback only, and the gateway insists on TLS unless told otherwise. */
    demo_conf_add(&b, "disable_plaintext_auth = no\n");
    /* LMTP recipients arrive as user@domain; logins are the bare name. */
    demo_conf_add(&b, "auth_username_format = %%Ln\n");
    if (c->tls) {
        demo_conf_add(&b, "ssl = yes\n");
        demo_conf_add(&b, "ssl_cert = <%s/tls/server.pem\n", c->base);
        demo_conf_add(&b, "ssl_key = <%s/tls/server.key\n", c->base);
    } else {
        demo_conf_add(&b, "ssl = no\n");
    }
    demo_conf_add(&b, "mail_location = maildir:%s/mail/%%u\n", c->base);
    demo_conf_add(&b, "postmaster_address = postmaster@jmap-gateway.test\n");
    demo_conf_add(&b, "passdb {\n  driver = passwd-file\n  args = scheme=SSHA512 %s/users\n}\n",
             c->base);
    demo_conf_add(&b, "userdb {\n  driver = passwd-file\n  args = %s/users\n}\n", c->base);
    demo_conf_add(&b, "namespace inbox {\n  inbox = yes\n  separator = /\n");
    for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
        demo_conf_add(&b, "  mailbox %s {\n    special_use = %s\n    auto = subscribe\n  }\n",
                 special[i][0], special[i][1]);
    demo_conf_add(&b, "}\n");
    conf_login_service(&b, c, "imap-login", "imap", c->imap_port, "imaps",
                       c->tls ? c->imaps_port : 0);
    conf_login_service(&b, c, "pop3-login", "pop3", c->pop3_port, "pop3s", 0);
    demo_conf_add(&b, "service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n"
                 "    port = %u\n  }\n}\n",
             (unsigned)c->lmtp_port);
    /* The MTA's SMTP AUTH asks this listener; loopback only. */
    demo_conf_add(&b, "service auth {\n  inet_listener auth-mta {\n    address = 127.0.0.1\n"
                 "    port = %u\n  }\n}\n",
             (unsigned)c->auth_port);
    if (c->sieve_port) {
        conf_login_service(&b, c, "managesieve-login", "sieve", c->sieve_port, NULL, 0);
        demo_conf_add(&b, "plugin {\n  sieve = file:~/sieve;active=~/.dovecot.sieve\n}\n");
    }
    if (c->sieve_plugin)
        demo_conf_add(&b, "protocol lmtp {\n  mail_plugins = $mail_plugins sieve\n}\n");
    return demo_conf_finish(&b, path, 0644, err);
}

int demo_conf_write_users(const struct demo_conf *c, const struct demo_user *users, size_t count,
                          const char *path, struct gw_error *err)
{
    struct demo_conf_buf b;
    char hash[256];

    if (demo_conf_init(&b, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        if (demo_password_hash(users[i].password, hash, sizeof(hash), err) != 0) {
            free(b.data);
            return -1;
        }
        /* user:password:uid:gid:gecos:home:shell:extra */
        demo_conf_add(&b, "%s:%s:%lu:%lu::%s/home/%s::\n", users[i].username, hash,
                 (unsigned long)c->mail_uid, (unsigned long)c->mail_gid, c->base,
                 users[i].username);
    }
    /* Hashes only, yet not for everyone's eyes: the auth process reads it
     * as the internal user, hence the group. */
    if (demo_conf_finish(&b, path, 0640, err) != 0)
        return -1;
    if (c->privileged && chown(path, 0, c->internal_gid) != 0)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chown %s: %s", path, strerror(errno));
    return 0;
}
