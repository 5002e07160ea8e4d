/* smtp_submit.c - backend_submit.h: one message, one session.
 *
 * The order of checks is the RFC's: SIZE before MAIL (nothing is sent that
 * the server said it would refuse), DATA only with an accepted recipient,
 * and once the end of data is acknowledged the message is the server's:
 * nothing after that (a failing QUIT) turns the outcome into a failure.
 */
#include "smtp_internal.h"

#include <stdlib.h>
#include <string.h>

#include "gw_log.h"

/* The server's answer to the last command as the outcome of the send. */
static int send_refused(struct smtp_conn *c, enum smtp_stage stage, struct submit_result *res,
                        struct gw_error *err, const char *what)
{
    if (smtp_reply_take(c->smtp, &res->reply) < 0)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    if (res->reply.code == 0) {
        res->error = SUBMIT_ERR_UNAVAILABLE;
        res->temporary = true;
        return gw_error_set(err, c->io.fail_code != GW_OK ? c->io.fail_code : GW_ERR_UNAVAILABLE,
                            "SMTP %s: no reply%s%s", what, c->io.fail_code != GW_OK ? ": " : "",
                            c->io.fail_msg);
    }
    res->error = smtp_map_reply(stage, &res->reply);
    res->temporary = res->reply.code < 500;
    enum gw_error_code code = GW_ERR_BACKEND_NO;
    if (res->temporary)
        code = GW_ERR_UNAVAILABLE;
    else if (stage == SMTP_STAGE_AUTH)
        code = GW_ERR_AUTH;
    else if (res->error == SUBMIT_ERR_TOO_LARGE)
        code = GW_ERR_TOO_LARGE;
    return gw_error_set(err, code, "SMTP %s refused: %d %s %s", what, res->reply.code,
                        res->reply.enhanced, res->reply.text != NULL ? res->reply.text : "");
}

static int send_auth(struct smtp_conn *c, const struct backend_endpoint *ep,
                     const struct backend_credentials *cred, struct submit_result *res,
                     struct gw_error *err)
{
    const char *mech = NULL;

    if (c->smtp->auth & MAILSMTP_AUTH_PLAIN)
        mech = "PLAIN";
    else if (c->smtp->auth & MAILSMTP_AUTH_LOGIN)
        mech = "LOGIN";
    if (mech == NULL) {
        res->error = SUBMIT_ERR_FORBIDDEN_TO_SEND;
        return gw_error_set(err, GW_ERR_AUTH, "SMTP server offers neither AUTH PLAIN nor LOGIN");
    }
    smtp_conn_begin(c);
    int r = mailesmtp_auth_sasl(c->smtp, mech, ep->host, NULL, NULL, cred->username,
                                cred->username, cred->password, NULL);
    net_io_disarm(&c->io);
    net_stream_wipe_write_buffer(c->smtp->stream);
    if (r == MAILSMTP_NO_ERROR)
        return 0;
    return send_refused(c, SMTP_STAGE_AUTH, res, err, "AUTH");
}

/* libetpan adds DSN parameters whenever the server offers DSN; without any
 * to give, hide the offer for the one command. */
static int send_mail_from(struct smtp_conn *c, const struct submit_envelope *env, size_t size)
{
    int saved = c->smtp->esmtp;

    if (env->ret == SUBMIT_RET_DEFAULT && env->envid == NULL)
        c->smtp->esmtp &= ~MAILSMTP_ESMTP_DSN;
    smtp_conn_begin(c);
    int r = mailesmtp_mail_size(c->smtp, env->mail_from, env->ret != SUBMIT_RET_HDRS,
                                env->envid, size);
    net_io_disarm(&c->io);
    c->smtp->esmtp = saved;
    return r;
}

static int send_rcpt_to(struct smtp_conn *c, const struct submit_rcpt *rcpt)
{
    int saved = c->smtp->esmtp;
    int notify = 0;

    if (rcpt->notify & SUBMIT_NOTIFY_NEVER)
        notify |= MAILSMTP_DSN_NOTIFY_NEVER;
    if (rcpt->notify & SUBMIT_NOTIFY_SUCCESS)
        notify |= MAILSMTP_DSN_NOTIFY_SUCCESS;
    if (rcpt->notify & SUBMIT_NOTIFY_FAILURE)
        notify |= MAILSMTP_DSN_NOTIFY_FAILURE;
    if (rcpt->notify & SUBMIT_NOTIFY_DELAY)
        notify |= MAILSMTP_DSN_NOTIFY_DELAY;
    if (notify == 0)
        c->smtp->esmtp &= ~MAILSMTP_ESMTP_DSN;
    smtp_conn_begin(c);
    int r = mailesmtp_rcpt(c->smtp, rcpt->address, notify, NULL);
    net_io_disarm(&c->io);
    c->smtp->esmtp = saved;
    return r;
}

/* RCPT for each recipient; how many the server accepted. -1 when the
 * session broke (res/err say so). */
static long send_recipients(struct smtp_conn *c, const struct submit_envelope *env,
                            struct submit_result *res, struct gw_error *err)
{
    long accepted = 0;

    for (size_t i = 0; i < env->rcpt_count; i++) {
        struct submit_rcpt_result *rr = &res->rcpts[i];
        send_rcpt_to(c, &env->rcpts[i]);
        if (smtp_reply_take(c->smtp, &rr->reply) < 0)
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        if (rr->reply.code == 0)
            return send_refused(c, SMTP_STAGE_RCPT, res, err, "RCPT");
        rr->accepted = rr->reply.code < 400;
        rr->error = smtp_map_reply(SMTP_STAGE_RCPT, &rr->reply);
        if (rr->accepted)
            accepted++;
    }
    return accepted;
}

/* Nobody accepted: the most specific reason a recipient gave. */
static int send_no_recipient(const struct submit_envelope *env, struct submit_result *res,
                             struct gw_error *err)
{
    const struct submit_rcpt_result *why = &res->rcpts[0];

    for (size_t i = 0; i < env->rcpt_count; i++)
        if (res->rcpts[i].error != SUBMIT_ERR_INVALID_RECIPIENTS) {
            why = &res->rcpts[i];
            break;
        }
    res->error = why->error;
    res->temporary = why->reply.code < 500;
    res->reply.code = why->reply.code;
    memcpy(res->reply.enhanced, why->reply.enhanced, sizeof(res->reply.enhanced));
    res->reply.text = why->reply.text != NULL ? strdup(why->reply.text) : NULL;
    return gw_error_set(err, res->temporary ? GW_ERR_UNAVAILABLE : GW_ERR_BACKEND_NO,
                        "SMTP: no recipient accepted (%d %s)", why->reply.code,
                        why->reply.text != NULL ? why->reply.text : "");
}

static bool envelope_address_ok(const char *a)
{
    return a != NULL && strpbrk(a, "<>\r\n \t") == NULL && strlen(a) < 512;
}

static int send_check_envelope(const struct submit_envelope *env, struct submit_result *res,
                               struct gw_error *err)
{
    if (env->rcpt_count == 0) {
        res->error = SUBMIT_ERR_NO_RECIPIENTS;
        return gw_error_set(err, GW_ERR_INVALID, "SMTP: no recipients");
    }
    if (!envelope_address_ok(env->mail_from)) {
        res->error = SUBMIT_ERR_FORBIDDEN_MAIL_FROM;
        return gw_error_set(err, GW_ERR_INVALID, "SMTP: unusable MAIL FROM address");
    }
    for (size_t i = 0; i < env->rcpt_count; i++)
        if (!envelope_address_ok(env->rcpts[i].address) || env->rcpts[i].address[0] == '\0') {
            res->error = SUBMIT_ERR_INVALID_RECIPIENTS;
            return gw_error_set(err, GW_ERR_INVALID, "SMTP: unusable recipient address");
        }
    if (env->envid != NULL && strpbrk(env->envid, "+= \r\n\t") != NULL) {
        res->error = SUBMIT_ERR_INVALID_EMAIL;
        return gw_error_set(err, GW_ERR_INVALID, "SMTP: ENVID needs xtext encoding");
    }
    return 0;
}

/* From MAIL to the end of data on an authenticated session. */
static int send_transaction(struct smtp_conn *c, const struct submit_envelope *env,
                            const char *msg, size_t len, struct submit_result *res,
                            struct gw_error *err)
{
    res->server_max_size = c->smtp->smtp_max_msg_size;
    if (res->server_max_size > 0 && len > res->server_max_size) {
        res->error = SUBMIT_ERR_TOO_LARGE;
        return gw_error_set(err, GW_ERR_TOO_LARGE, "message of %zu bytes over the server's SIZE %zu",
                            len, res->server_max_size);
    }
    if (send_mail_from(c, env, len) != MAILSMTP_NO_ERROR)
        return send_refused(c, SMTP_STAGE_MAIL, res, err, "MAIL FROM");
    long accepted = send_recipients(c, env, res, err);
    if (accepted < 0)
        return -1;
    if (accepted == 0)
        return send_no_recipient(env, res, err);
    smtp_conn_begin(c);
    int r = mailsmtp_data(c->smtp);
    net_io_disarm(&c->io);
    if (r != MAILSMTP_NO_ERROR)
        return send_refused(c, SMTP_STAGE_DATA, res, err, "DATA");
    /* libetpan ends the data with CRLF "." CRLF itself: a final line end of
     * ours would become an extra empty line. */
    size_t data_len = len;
    if (data_len >= 2 && msg[data_len - 2] == '\r' && msg[data_len - 1] == '\n')
        data_len -= 2;
    else if (data_len >= 1 && msg[data_len - 1] == '\n')
        data_len -= 1;
    smtp_conn_begin(c);
    r = mailsmtp_data_message(c->smtp, msg, data_len);
    net_io_disarm(&c->io);
    if (r != MAILSMTP_NO_ERROR)
        return send_refused(c, SMTP_STAGE_DATA, res, err, "end of data");
    if (smtp_reply_take(c->smtp, &res->reply) < 0)
        gw_log_warn("SMTP: out of memory keeping the final reply");
    res->sent = true;
    res->error = (size_t)accepted < env->rcpt_count ? SUBMIT_ERR_INVALID_RECIPIENTS : SUBMIT_OK;
    return 0;
}

int backend_submit_send(const struct backend_endpoint *ep, const struct backend_credentials *cred,
                        const struct submit_envelope *env, const char *msg, size_t msg_len,
                        struct submit_result *res, struct gw_error *err)
{
    struct smtp_conn c;
    int ret;

    memset(res, 0, sizeof(*res));
    if (ep == NULL || cred == NULL || cred->username == NULL || cred->password == NULL ||
        env == NULL || msg == NULL) {
        res->error = SUBMIT_ERR_SERVER;
        return gw_error_set(err, GW_ERR_INVALID, "SMTP: endpoint, credentials or message missing");
    }
    if (send_check_envelope(env, res, err) < 0)
        return -1;
    res->rcpts = calloc(env->rcpt_count, sizeof(*res->rcpts));
    if (res->rcpts == NULL) {
        res->error = SUBMIT_ERR_SERVER;
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    res->rcpt_count = env->rcpt_count;
    if (smtp_conn_open(&c, ep, err) < 0) {
        res->error = SUBMIT_ERR_UNAVAILABLE;
        res->temporary = err == NULL || err->code != GW_ERR_TLS;
        return -1;
    }
    ret = send_auth(&c, ep, cred, res, err);
    if (ret == 0)
        ret = send_transaction(&c, env, msg, msg_len, res, err);
    /* After an accepted end of data the outcome stands whatever QUIT does. */
    smtp_conn_close(&c, c.io.fail_code == GW_OK);
    gw_log_debug("SMTP %s:%u as %s: %s", ep->host, (unsigned)ep->port, cred->username,
                 res->sent ? "sent" : (submit_error_name(res->error) ? submit_error_name(res->error)
                                                                      : "failed"));
    return ret;
}

int backend_submit_probe(const struct backend_endpoint *ep, struct submit_server_info *info,
                         struct gw_error *err)
{
    struct smtp_conn c;

    memset(info, 0, sizeof(*info));
    if (ep == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "SMTP endpoint missing");
    if (smtp_conn_open(&c, ep, err) < 0)
        return -1;
    int ret = smtp_conn_extensions(&c, info, err);
    smtp_conn_close(&c, true);
    return ret;
}
