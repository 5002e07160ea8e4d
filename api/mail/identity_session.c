/* identity_session.c - include/jmap_submission.h: submission settings, the
 * account capability with the server's EHLO extensions, default identity
 * addresses. */
#include "jmap_submission.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backend_submit.h"
#include "gw_log.h"

/* Re-ask an unreachable server at most this often. */
#define PROBE_RETRY_S 60

/* EHLO keywords a client may act on through the envelope's parameters
 * (RFC 8621 §1.3.3 wants a chosen set, not the connection-level ones such
 * as AUTH, STARTTLS, PIPELINING or CHUNKING that only the gateway uses). */
static const char *const passed_extensions[] = {
    "SIZE", "DSN", "8BITMIME", "SMTPUTF8", "BINARYMIME", "FUTURERELEASE", "DELIVERBY",
    "MT-PRIORITY", "REQUIRETLS",
};

static struct {
    char *mail_domain;
    char *host, *ca_file;
    struct backend_endpoint smtp;
    unsigned max_delayed_send;
    pthread_mutex_t lock;
    json_t *extensions;         /* cached EHLO answer, or NULL */
    time_t last_probe;
    bool probing;               /* one caller is asking the server (unlocked) */
    unsigned generation;        /* bumped whenever the capability may differ */
} sub = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Lock held. */
static void capability_changed(void)
{
    sub.generation++;
}

unsigned jmap_submission_capability_generation(void)
{
    pthread_mutex_lock(&sub.lock);
    unsigned g = sub.generation;
    pthread_mutex_unlock(&sub.lock);
    return g;
}

static char *dup_or_null(const char *s, bool *failed)
{
    char *d = s != NULL ? strdup(s) : NULL;
    if (s != NULL && d == NULL)
        *failed = true;
    return d;
}

int jmap_submission_configure(const struct jmap_submission_config *c)
{
    bool failed = false;

    jmap_submission_reset();
    sub.mail_domain = dup_or_null(c->mail_domain, &failed);
    sub.host = dup_or_null(c->smtp.host, &failed);
    sub.ca_file = dup_or_null(c->smtp.ca_file, &failed);
    sub.smtp = c->smtp;
    sub.smtp.host = sub.host;
    sub.smtp.ca_file = sub.ca_file;
    sub.max_delayed_send = c->max_delayed_send;
    pthread_mutex_lock(&sub.lock);
    capability_changed();
    pthread_mutex_unlock(&sub.lock);
    if (failed) {
        jmap_submission_reset();
        return -1;
    }
    return 0;
}

void jmap_submission_reset(void)
{
    free(sub.mail_domain);
    free(sub.host);
    free(sub.ca_file);
    sub.mail_domain = sub.host = sub.ca_file = NULL;
    memset(&sub.smtp, 0, sizeof(sub.smtp));
    pthread_mutex_lock(&sub.lock);
    json_decref(sub.extensions);
    sub.extensions = NULL;
    sub.last_probe = 0;
    sub.probing = false;
    capability_changed();
    pthread_mutex_unlock(&sub.lock);
}

static bool extension_passed(const char *keyword)
{
    for (size_t i = 0; i < sizeof(passed_extensions) / sizeof(passed_extensions[0]); i++)
        if (strcasecmp(keyword, passed_extensions[i]) == 0)
            return true;
    return false;
}

/* The server's EHLO extensions as submissionExtensions, or NULL. */
static json_t *probe_extensions(void)
{
    struct submit_server_info info;
    struct gw_error err = {0};
    json_t *out = NULL;

    if (sub.smtp.host == NULL || backend_submit_probe(&sub.smtp, &info, &err) != 0) {
        if (sub.smtp.host != NULL)
            gw_log_warn("SMTP %s:%u: %s", sub.smtp.host, (unsigned)sub.smtp.port, err.msg);
        return NULL;
    }
    out = json_object();
    for (size_t i = 0; out != NULL && i < info.ext_count; i++) {
        const struct submit_extension *e = &info.ext[i];
        if (!extension_passed(e->keyword))
            continue;
        json_t *args = json_array();
        for (size_t k = 0; args != NULL && k < e->arg_count; k++)
            json_array_append_new(args, json_string(e->args[k]));
        json_object_set_new(out, e->keyword, args != NULL ? args : json_array());
    }
    submit_server_info_clear(&info);
    return out;
}

json_t *jmap_submission_account_capability(void)
{
    json_t *ext;

    pthread_mutex_lock(&sub.lock);
    if (sub.extensions == NULL && !sub.probing && time(NULL) - sub.last_probe >= PROBE_RETRY_S) {
        /* One caller asks, without the lock: the others answer {} meanwhile
         * instead of queueing behind a slow or unreachable server. */
        sub.probing = true;
        sub.last_probe = time(NULL);
        pthread_mutex_unlock(&sub.lock);
        json_t *fresh = probe_extensions();
        pthread_mutex_lock(&sub.lock);
        sub.probing = false;
        if (fresh != NULL)
            capability_changed();
        json_decref(sub.extensions);
        sub.extensions = fresh;
    }
    ext = sub.extensions != NULL ? json_deep_copy(sub.extensions) : json_object();
    pthread_mutex_unlock(&sub.lock);
    return json_pack("{s:I, s:o}", "maxDelayedSend", (json_int_t)sub.max_delayed_send,
                     "submissionExtensions", ext != NULL ? ext : json_object());
}

const struct backend_endpoint *jmap_submission_smtp(void)
{
    return sub.smtp.host != NULL ? &sub.smtp : NULL;
}

unsigned jmap_submission_max_delayed_send(void)
{
    return sub.max_delayed_send;
}

int jmap_submission_default_email(const char *login, char *out, size_t size)
{
    int n;

    if (strchr(login, '@') != NULL || sub.mail_domain == NULL || sub.mail_domain[0] == '\0')
        n = snprintf(out, size, "%s", login);
    else
        n = snprintf(out, size, "%s@%s", login, sub.mail_domain);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
