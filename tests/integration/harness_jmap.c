/* harness_jmap.c - JMAP-level helpers shared by the test files: a gateway
 * pointed at the private Dovecot, the session resource, API posts. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_dovecot.h"

#define MAX_GW_ARGS 48

struct harness_gateway *harness_gateway_for_dovecot(struct demo_dovecot *d, const char *tls_mode,
                                                    bool with_ca, const char *const *extra)
{
    return harness_gateway_for_dovecot_in(d, tls_mode, with_ca, extra, NULL);
}

struct harness_gateway *harness_gateway_for_dovecot_in(struct demo_dovecot *d,
                                                       const char *tls_mode, bool with_ca,
                                                       const char *const *extra,
                                                       const char *state_dir)
{
    struct harness_gateway_opts opts = { 0 };
    const char *args[MAX_GW_ARGS];
    char port[16];
    size_t n = 0;
    bool implicit = strcmp(tls_mode, "tls") == 0;
    int len = snprintf(port, sizeof(port), "%u",
                       implicit ? demo_dovecot_imaps_port(d) : demo_dovecot_imap_port(d));

    if (len < 0 || (size_t)len >= sizeof(port))
        return NULL;
    args[n++] = "--imap-host";
    args[n++] = "127.0.0.1";
    args[n++] = "--imap-port";
    args[n++] = port;
    args[n++] = "--imap-tls";
    args[n++] = tls_mode;
    if (with_ca) {
        args[n++] = "--tls-ca-file";
        args[n++] = demo_dovecot_ca_file(d);
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        if (n + 1 >= MAX_GW_ARGS)
            return NULL;
        args[n++] = extra[i];
    }
    args[n] = NULL;
    opts.args = args;
    opts.state_dir = state_dir;
    return harness_gateway_start(&opts);
}

int harness_get_session(uint16_t port, const char *user, const char *pass,
                        struct harness_response *r)
{
    const char *headers[2] = { NULL, NULL };
    char *auth = user != NULL ? harness_basic_auth(user, pass) : NULL;
    int rc;

    headers[0] = auth;
    rc = harness_http_request(port, "GET", "/.well-known/jmap", headers, NULL, 0, r);
    free(auth);
    return rc;
}

json_t *harness_session_ok(uint16_t port, const char *user, const char *pass)
{
    struct harness_response r;
    json_t *session;

    H_ASSERT_MSG(harness_get_session(port, user, pass, &r) == 0,
                 "no HTTP response to GET /.well-known/jmap");
    H_ASSERT_STATUS(&r, 200);
    session = harness_response_json(&r);
    H_ASSERT_MSG(json_is_object(session), "session body is not a JSON object: %s", r.body);
    harness_response_free(&r);
    return session;
}

const char *harness_session_account_id(json_t *session)
{
    json_t *accounts = json_object_get(session, "accounts");
    void *iter = json_object_iter(accounts);

    if (!json_is_object(accounts) || json_object_size(accounts) != 1 || iter == NULL)
        return NULL;
    return json_object_iter_key(iter);
}

int harness_api_post(uint16_t port, const char *user, const char *pass, const char *content_type,
                     const char *body, struct harness_response *r)
{
    char ct[256];
    const char *headers[3] = { NULL, NULL, NULL };
    char *auth = NULL;
    size_t n = 0;
    int len, rc = -1;

    len = snprintf(ct, sizeof(ct), "Content-Type: %s",
                   content_type != NULL ? content_type : "application/json");
    if (len < 0 || (size_t)len >= sizeof(ct))
        return -1;
    headers[n++] = ct;
    if (user != NULL) {
        auth = harness_basic_auth(user, pass);
        if (auth == NULL)
            return -1;
        headers[n++] = auth;
    }
    rc = harness_http_request(port, "POST", "/jmap/api", headers, body, strlen(body), r);
    free(auth);
    return rc;
}

json_t *harness_api_ok(uint16_t port, const char *user, const char *pass, const char *body)
{
    struct harness_response r;
    const char *ct;
    json_t *resp;

    H_ASSERT_MSG(harness_api_post(port, user, pass, NULL, body, &r) == 0,
                 "no HTTP response to POST /jmap/api");
    H_ASSERT_STATUS(&r, 200);
    ct = harness_response_header(&r, "Content-Type");
    H_ASSERT_MSG(ct != NULL && strncmp(ct, "application/json", 16) == 0,
                 "Content-Type of a Response is %s", ct != NULL ? ct : "absent");
    resp = harness_response_json(&r);
    H_ASSERT_MSG(json_is_object(resp) && json_is_array(json_object_get(resp, "methodResponses")),
                 "not a Response object: %s", r.body);
    harness_response_free(&r);
    return resp;
}

char *harness_url_path(const char *url)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL;

    if (p == NULL)
        return NULL;
    p = strchr(p + 3, '/');
    return strdup(p != NULL ? p : "/");
}

int harness_mail_env_start(struct harness_mail_env *env)
{
    memset(env, 0, sizeof(*env));
    env->dovecot = harness_dovecot_start(NULL, &env->dovecot_dir);
    if (env->dovecot == NULL)
        return -1;
    env->gw = harness_gateway_for_dovecot(env->dovecot, "starttls", true, NULL);
    if (env->gw == NULL)
        return -1;
    json_t *s = harness_session_ok(env->gw->port, "demo", "demo");
    const char *id = harness_session_account_id(s);
    env->account_id = id != NULL ? strdup(id) : NULL;
    json_decref(s);
    return env->account_id != NULL ? 0 : -1;
}

int harness_mail_env_start_imap(struct harness_mail_env *env)
{
    if (harness_mail_env_start(env) != 0)
        return -1;
    env->imap = harness_imap_login(demo_dovecot_imap_port(env->dovecot), "demo", "demo");
    return env->imap != NULL ? 0 : -1;
}

int harness_mail_env_stop(struct harness_mail_env *env)
{
    int rc = 0;
    harness_imap_logout(&env->imap);
    if (env->gw != NULL && env->gw->pid > 0)
        rc = harness_gateway_stop(env->gw);
    harness_gateway_free(&env->gw);
    harness_dovecot_free(&env->dovecot, &env->dovecot_dir);
    free(env->account_id);
    env->account_id = NULL;
    return rc;
}

json_t *harness_mail_call(const struct harness_mail_env *env, const char *method,
                          const char *args_fmt, ...)
{
    char *args = NULL, *full = NULL;
    va_list ap;
    va_start(ap, args_fmt);
    int n = vasprintf(&args, args_fmt, ap);
    va_end(ap);
    H_ASSERT(n >= 0);
    H_ASSERT(asprintf(&full, "{\"accountId\": \"%s\"%s%s}", env->account_id, args[0] ? ", " : "",
                      args) > 0);
    free(args);
    json_t *r = harness_jmap_ok(env->gw->port, "demo", "demo", method, full);
    free(full);
    return r;
}
