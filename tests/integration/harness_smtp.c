/* harness_smtp.c - a private Postfix per test, in a temp dir of its own,
 * wired to the test's private Dovecot (a thin wrapper over demo_postfix.h). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_dovecot.h"
#include "demo_postfix.h"

struct harness_smtp {
    struct demo_postfix *postfix;
    char *dir;
};

struct harness_smtp *harness_smtp_start(struct demo_dovecot *d, const char *dovecot_dir,
                                        size_t size_limit)
{
    struct demo_postfix_options opts;
    struct harness_smtp *s = calloc(1, sizeof(*s));
    struct gw_error err;
    char cert[512], key[512];

    if (s == NULL)
        return NULL;
    s->dir = harness_mkdtemp("postfix");
    if (s->dir == NULL || snprintf(cert, sizeof(cert), "%s/tls/server.pem", dovecot_dir) >=
                              (int)sizeof(cert) ||
        snprintf(key, sizeof(key), "%s/tls/server.key", dovecot_dir) >= (int)sizeof(key)) {
        harness_smtp_free(&s);
        return NULL;
    }
    memset(&opts, 0, sizeof(opts));
    opts.base_dir = s->dir;
    opts.cert_file = cert;
    opts.key_file = key;
    opts.lmtp_port = demo_dovecot_lmtp_port(d);
    opts.auth_port = demo_dovecot_auth_port(d);
    opts.message_size_limit = size_limit;
    gw_error_clear(&err);
    if (demo_postfix_start(&opts, &s->postfix, &err) != 0) {
        fprintf(stderr, "harness: demo_postfix_start: %s: %s\n", gw_error_code_name(err.code),
                err.msg);
        harness_smtp_free(&s);
        return NULL;
    }
    return s;
}

uint16_t harness_smtp_submission_port(const struct harness_smtp *s)
{
    return demo_postfix_submission_port(s->postfix);
}

uint16_t harness_smtp_smtps_port(const struct harness_smtp *s)
{
    return demo_postfix_smtps_port(s->postfix);
}

/* pause/resume with the reason printed. */
static int report(int ret, const char *what, const struct gw_error *err)
{
    if (ret != 0)
        fprintf(stderr, "harness: %s: %s\n", what, err->msg);
    return ret;
}

int harness_smtp_pause(struct harness_smtp *s)
{
    struct gw_error err;
    gw_error_clear(&err);
    return report(demo_postfix_pause(s->postfix, &err), "demo_postfix_pause", &err);
}

int harness_smtp_resume(struct harness_smtp *s)
{
    struct gw_error err;
    gw_error_clear(&err);
    return report(demo_postfix_resume(s->postfix, &err), "demo_postfix_resume", &err);
}

void harness_smtp_print_log(const struct harness_smtp *s)
{
    if (s != NULL && s->postfix != NULL)
        harness_print_file_tail("postfix log", demo_postfix_log_path(s->postfix), 40);
}

void harness_smtp_free(struct harness_smtp **sp)
{
    struct harness_smtp *s = sp != NULL ? *sp : NULL;

    if (s == NULL)
        return;
    demo_postfix_free(&s->postfix);
    if (s->dir != NULL && getenv("JMAPGW_KEEP_TMP") == NULL)
        harness_rmtree(s->dir);
    free(s->dir);
    free(s);
    *sp = NULL;
}
