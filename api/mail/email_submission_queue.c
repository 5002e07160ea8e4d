/* email_submission_queue.c - one SMTP attempt of an EmailSubmission
 * (backend_submit.h, the account's own credentials) and the account's
 * queue: delayed sends when due, temporary failures retried with backoff.
 *
 * Rules: a submission the server accepted is final and never reported as
 * failed; a queued one is claimed in the store before it is sent, so it
 * is never sent twice (at most once, also across a crash). */
#include "email_submission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "account.h"
#include "backend_submit.h"
#include "gw_log.h"
#include "jmap_set.h"
#include "jmap_submission.h"
#include "submission_store.h"

/* "250 2.0.0 text" of a reply (new reference). */
static json_t *reply_string(const struct submit_reply *r)
{
    char buf[600];
    int n = snprintf(buf, sizeof(buf), "%03d%s%s%s%s", r->code, r->enhanced[0] ? " " : "",
                     r->enhanced, r->text != NULL ? " " : "", r->text != NULL ? r->text : "");
    if (n < 0)
        buf[0] = '\0';
    /* A longer reply is cut: the description is for people. */
    return json_string(buf);
}

/* NOTIFY=SUCCESS,FAILURE,DELAY / NEVER into SUBMIT_NOTIFY_* bits. */
static unsigned notify_bits(json_t *params)
{
    const char *v = json_string_value(json_object_get(params, "NOTIFY"));
    unsigned bits = 0;
    char buf[64];

    if (v == NULL || snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
        return 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        bits |= strcasecmp(t, "NEVER") == 0     ? SUBMIT_NOTIFY_NEVER
                : strcasecmp(t, "SUCCESS") == 0 ? SUBMIT_NOTIFY_SUCCESS
                : strcasecmp(t, "FAILURE") == 0 ? SUBMIT_NOTIFY_FAILURE
                : strcasecmp(t, "DELAY") == 0   ? SUBMIT_NOTIFY_DELAY
                                                : 0;
    }
    return bits;
}

/* deliveryStatus from the result: accepted recipients "queued" (the
 * server has it; delivery is only known from a DSN), refused ones "no". */
static json_t *delivery_status(const struct submit_result *res, json_t *rcpt_to)
{
    json_t *ds = json_object();
    size_t i;
    json_t *r;

    json_array_foreach(rcpt_to, i, r) {
        const char *email = json_string_value(json_object_get(r, "email"));
        const struct submit_rcpt_result *rr = i < res->rcpt_count ? &res->rcpts[i] : NULL;
        bool ok = res->sent && rr != NULL && rr->accepted;
        json_t *reply = reply_string(ok ? &res->reply : rr != NULL ? &rr->reply : &res->reply);
        json_object_set_new(ds, email,
                            json_pack("{s:o, s:s, s:s}", "smtpReply", reply, "delivered",
                                      ok ? "queued" : "no", "displayed", "unknown"));
    }
    return ds;
}

/* The SetError of a refusal, with the server's words and, for refused
 * recipients, their addresses. New reference. */
static json_t *refusal(const struct submit_result *res, json_t *rcpt_to)
{
    const char *type = submit_error_name(res->error);
    json_t *text = reply_string(&res->reply);
    json_t *e = jmap_set_error_new(type != NULL ? type : "serverFail", json_string_value(text));

    json_decref(text);
    if (res->error == SUBMIT_ERR_INVALID_RECIPIENTS || res->error == SUBMIT_ERR_NO_RECIPIENTS) {
        json_t *bad = json_array();
        for (size_t i = 0; i < res->rcpt_count; i++)
            if (!res->rcpts[i].accepted)
                json_array_append(bad, json_object_get(json_array_get(rcpt_to, i), "email"));
        json_object_set_new(e, "invalidRecipients", bad);
    }
    if (res->error == SUBMIT_ERR_TOO_LARGE && res->server_max_size > 0)
        json_object_set_new(e, "maxSize", json_integer((json_int_t)res->server_max_size));
    return e;
}

int email_submission_send(struct jmap_mail *m, const char *id, json_t *obj, const char *msg,
                          size_t msg_len, json_t **set_error)
{
    const struct backend_endpoint *ep = jmap_submission_smtp();
    json_t *env = json_object_get(obj, "envelope");
    json_t *mail_from = json_object_get(env, "mailFrom");
    json_t *from_params = json_object_get(mail_from, "parameters");
    json_t *rcpt_to = json_object_get(env, "rcptTo");
    size_t n = json_array_size(rcpt_to);
    struct submit_result res;
    struct gw_error err = {0};
    char *user = NULL, *pass = NULL;
    int ret = -1;

    memset(&res, 0, sizeof(res));
    *set_error = NULL;
    struct submit_rcpt *rcpts = calloc(n ? n : 1, sizeof(*rcpts));
    if (rcpts == NULL ||
        backend_pool_credentials_copy(account_pool(m->account), &user, &pass) != 0) {
        *set_error = jmap_set_error_new("serverFail", "out of memory");
        goto out;
    }
    if (ep == NULL) {
        *set_error = jmap_set_error_new("forbiddenToSend", "No submission server is configured.");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rcpt_to, i);
        rcpts[i].address = json_string_value(json_object_get(r, "email"));
        rcpts[i].notify = notify_bits(json_object_get(r, "parameters"));
    }
    const char *ret_param = json_string_value(json_object_get(from_params, "RET"));
    const char *envid = json_string_value(json_object_get(from_params, "ENVID"));
    struct submit_envelope e = {
        .mail_from = json_string_value(json_object_get(mail_from, "email")),
        .envid = envid != NULL ? envid : id,
        .ret = ret_param == NULL                   ? SUBMIT_RET_DEFAULT
               : strcasecmp(ret_param, "FULL") == 0 ? SUBMIT_RET_FULL
                                                    : SUBMIT_RET_HDRS,
        .rcpts = rcpts,
        .rcpt_count = n,
    };
    struct backend_credentials cred = {user, pass};
    int rc = backend_submit_send(ep, &cred, &e, msg, msg_len, &res, &err);
    if (rc == 0 || res.sent) {
        /* The server has it: final, whatever some recipients said. */
        json_object_set_new(obj, "undoStatus", json_string("final"));
        json_object_set_new(obj, "deliveryStatus", delivery_status(&res, rcpt_to));
        ret = 0;
    } else if (res.temporary) {
        gw_log_info("account %s: submission deferred: %s", m->account_id, err.msg);
        *set_error = refusal(&res, rcpt_to);
        ret = 1;
    } else {
        *set_error = refusal(&res, rcpt_to);
    }
out:
    submit_result_clear(&res);
    free(rcpts);
    free(user);
    backend_credentials_wipe(&pass);
    return ret;
}

/* Seconds to wait before the next try after `attempts` tries. */
static int64_t backoff(int attempts)
{
    return (int64_t)EMAIL_SUBMISSION_RETRY_BASE_S << (attempts < 10 ? attempts : 10);
}

int64_t email_submission_retry_at(int attempts)
{
    if (attempts + 1 >= EMAIL_SUBMISSION_MAX_ATTEMPTS)
        return 0;
    return (int64_t)time(NULL) + backoff(attempts);
}

/* Sends one claimed submission and records the outcome. */
static void send_claimed(struct jmap_mail *m, struct submission_claim *c)
{
    struct gw_error err = {0};
    json_t *set_error = NULL;
    int64_t retry_at = 0;
    int rc = email_submission_send(m, c->id, c->obj, c->msg, c->msg_len, &set_error);

    if (rc == 1)
        retry_at = email_submission_retry_at(submission_store_attempts(m->ms, m->account_id,
                                                                       c->id));
    if (rc != 0 && retry_at == 0) {
        /* Refused for good (or out of tries): it will never be sent; the
         * refusal is kept where the client can read it. */
        json_object_set_new(c->obj, "undoStatus", json_string("canceled"));
        json_t *ds = json_object();
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(json_object_get(c->obj, "envelope"), "rcptTo"), i, r)
            json_object_set_new(ds, json_string_value(json_object_get(r, "email")),
                                json_pack("{s:O, s:s, s:s}", "smtpReply",
                                          json_object_get(set_error, "description"),
                                          "delivered", "no", "displayed", "unknown"));
        json_object_set_new(c->obj, "deliveryStatus", ds);
        gw_log_warn("account %s: submission %s failed for good: %s", m->account_id, c->id,
                    json_string_value(json_object_get(set_error, "type")));
    }
    json_decref(set_error);
    if (submission_store_finish(m->ms, m->account_id, c->id, c->obj, retry_at, &err) != 0)
        gw_log_warn("account %s: submission %s: %s", m->account_id, c->id, err.msg);
}

void email_submission_run_queue(struct jmap_mail *m)
{
    struct gw_error err = {0};

    /* Bounded: each claim takes one row out of the queue for good or
     * until a later time. */
    for (int i = 0; i < 100; i++) {
        struct submission_claim c;
        int rc = submission_store_claim_due(m->ms, m->account_id, (int64_t)time(NULL), &c, &err);
        if (rc <= 0) {
            if (rc < 0)
                gw_log_warn("account %s: submission queue: %s", m->account_id, err.msg);
            return;
        }
        send_claimed(m, &c);
        submission_claim_clear(&c);
    }
}
