/* test_smtp_submit.c - the SMTP submission backend (backend_submit.h)
 * against a real private Postfix in front of the private Dovecot: a message
 * sent as demo arrives byte-identical in alice's INBOX (read over IMAP, not
 * through our code), over STARTTLS and implicit TLS; and the refusals: wrong
 * password, refused recipient, foreign sender, over SIZE, untrusted
 * certificate, server down; the EHLO probe; DSN parameters reach the server
 * (a NOTIFY=SUCCESS report comes back). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend_submit.h"
#include "demo_dovecot.h"

#define SIZE_LIMIT (64 * 1024)

static struct demo_dovecot *dovecot;
static char *dovecot_dir;
static struct harness_smtp *smtp;

static int group_setup(void **state)
{
    (void)state;
    dovecot = harness_dovecot_start(NULL, &dovecot_dir);
    if (dovecot == NULL)
        return -1;
    smtp = harness_smtp_start(dovecot, dovecot_dir, SIZE_LIMIT);
    return smtp == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_smtp_free(&smtp);
    harness_dovecot_free(&dovecot, &dovecot_dir);
    return 0;
}

static struct backend_endpoint endpoint(enum gw_tls_mode tls, bool with_ca)
{
    struct backend_endpoint ep;

    memset(&ep, 0, sizeof(ep));
    ep.host = "localhost";
    ep.tls = tls;
    ep.port = tls == GW_TLS_IMPLICIT ? harness_smtp_smtps_port(smtp)
                                     : harness_smtp_submission_port(smtp);
    ep.ca_file = with_ca ? demo_dovecot_ca_file(dovecot) : NULL;
    ep.connect_timeout_ms = 5000;
    ep.command_timeout_ms = 10000;
    return ep;
}

/* A message with a unique Subject; the caller frees. */
static char *make_message(const char *from, const char *to, const char *token, const char *body)
{
    char *msg = NULL;
    int n = asprintf(&msg,
                     "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n"
                     "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n\r\n%s",
                     from, to, token, token, body);
    H_ASSERT(n > 0);
    return msg;
}

static void unique_token(char *buf, size_t size, const char *what)
{
    static unsigned counter;
    H_ASSERT(snprintf(buf, size, "%s-%ld-%u", what, (long)getpid(), ++counter) < (int)size);
}

static int send_as(const char *user, const char *pass, const struct backend_endpoint *ep,
                   const struct submit_envelope *env, const char *msg, size_t len,
                   struct submit_result *res, struct gw_error *err)
{
    struct backend_credentials cred = {.username = user, .password = pass};
    gw_error_clear(err);
    return backend_submit_send(ep, &cred, env, msg, len, res, err);
}

/* Sends one message (subject token, body) from `from` to alice as
 * user/pass through ep. */
static int send_to_alice(const struct backend_endpoint *ep, const char *user, const char *pass,
                         const char *from, const char *token, const char *body,
                         struct submit_result *res, struct gw_error *err)
{
    struct submit_rcpt rcpt = {.address = "alice@jmap-gateway.test"};
    struct submit_envelope env = {.mail_from = from, .rcpts = &rcpt, .rcpt_count = 1};
    char *msg = make_message(from, "alice@jmap-gateway.test", token, body);
    int rc = send_as(user, pass, ep, &env, msg, strlen(msg), res, err);
    free(msg);
    return rc;
}

/* Waits (bounded) for a message with subject token in user's INBOX and
 * returns the answer of FETCH what (malloc'd), or NULL if none came. */
static char *wait_for_message(const char *user, const char *token, const char *what)
{
    struct harness_imap *c = harness_imap_login(demo_dovecot_imap_port(dovecot), user, user);
    char *found = NULL;

    H_ASSERT(c != NULL);
    for (int64_t until = harness_now_ms() + 15000; harness_now_ms() < until;) {
        H_ASSERT(harness_imap_cmd(c, "SELECT INBOX") == 0);
        H_ASSERT(harness_imap_cmd(c, "UID SEARCH HEADER Subject \"%s\"", token) == 0);
        const char *last = harness_imap_last(c);
        const char *line = strstr(last, "* SEARCH");
        unsigned long uid = 0;
        if (line != NULL && sscanf(line, "* SEARCH %lu", &uid) == 1 && uid > 0) {
            H_ASSERT(harness_imap_cmd(c, "UID FETCH %lu (%s)", uid, what) == 0);
            found = strdup(harness_imap_last(c));
            break;
        }
        usleep(100 * 1000);
    }
    harness_imap_logout(&c);
    if (found == NULL)
        harness_smtp_print_log(smtp);
    return found;
}

static void send_and_read_back(enum gw_tls_mode tls)
{
    struct backend_endpoint ep = endpoint(tls, true);
    struct submit_rcpt rcpt = {.address = "alice@jmap-gateway.test"};
    struct submit_envelope env = {.mail_from = "demo@jmap-gateway.test", .rcpts = &rcpt,
                                  .rcpt_count = 1};
    struct submit_result res;
    struct gw_error err;
    char token[64];
    /* A body with a leading dot (dot stuffing), long and 8-bit lines. */
    const char *body = "Hello Alice,\r\n.a line starting with a dot\r\n..two dots\r\n"
                       "caf\xc3\xa9 \xe2\x82\xac\r\n\r\nlast line\r\n";

    unique_token(token, sizeof(token), tls == GW_TLS_IMPLICIT ? "smtps" : "starttls");
    char *msg = make_message("demo@jmap-gateway.test", "alice@jmap-gateway.test", token, body);
    int r = send_as("demo", "demo", &ep, &env, msg, strlen(msg), &res, &err);
    H_ASSERT_MSG(r == 0, "send failed: %s", err.msg);
    H_ASSERT(res.sent);
    H_ASSERT_INT_EQ(res.error, SUBMIT_OK);
    H_ASSERT_INT_EQ(res.rcpt_count, 1);
    H_ASSERT(res.rcpts[0].accepted);
    H_ASSERT_INT_EQ(res.rcpts[0].reply.code, 250);
    H_ASSERT_INT_EQ(res.reply.code, 250);
    H_ASSERT_INT_EQ(res.server_max_size, SIZE_LIMIT);

    char *got = wait_for_message("alice", token, "BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (Bcc Subject)]");
    H_ASSERT_MSG(got != NULL, "message %s never arrived", token);
    /* The body literal, byte for byte (IMAP literal {n}\r\n<bytes>). */
    char literal[64];
    snprintf(literal, sizeof(literal), "BODY[TEXT] {%zu}\r\n", strlen(body));
    const char *at = strstr(got, literal);
    H_ASSERT_MSG(at != NULL, "no body literal of %zu bytes in: %s", strlen(body), got);
    H_ASSERT(memcmp(at + strlen(literal), body, strlen(body)) == 0);
    H_ASSERT(strstr(got, token) != NULL);
    H_ASSERT(strstr(got, "Bcc:") == NULL);
    free(got);
    free(msg);
    submit_result_clear(&res);
}

static void test_send_starttls(void **state)
{
    (void)state;
    send_and_read_back(GW_TLS_STARTTLS);
}

static void test_send_implicit_tls(void **state)
{
    (void)state;
    send_and_read_back(GW_TLS_IMPLICIT);
}

static void test_wrong_password(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_result res;
    struct gw_error err;

    H_ASSERT_INT_EQ(
        send_to_alice(&ep, "demo", "wrong", "demo@jmap-gateway.test", "pw", "x\r\n", &res, &err),
        -1);
    H_ASSERT_INT_EQ(err.code, GW_ERR_AUTH);
    H_ASSERT(!res.sent);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_FORBIDDEN_TO_SEND);
    H_ASSERT_INT_EQ(res.reply.code, 535);
    H_ASSERT(res.reply.text != NULL);
    /* The password never shows up in what we report. */
    H_ASSERT(strstr(err.msg, "wrong") == NULL);
    H_ASSERT_STR_EQ(submit_error_name(res.error), "forbiddenToSend");
    submit_result_clear(&res);
}

static void test_refused_recipient(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_rcpt rcpts[] = {{.address = "nobody@jmap-gateway.test"},
                                  {.address = "alice@jmap-gateway.test"},
                                  {.address = "someone@elsewhere.example"}};
    struct submit_envelope env = {.mail_from = "demo@jmap-gateway.test", .rcpts = rcpts,
                                  .rcpt_count = 3};
    struct submit_result res;
    struct gw_error err;
    char token[64];

    unique_token(token, sizeof(token), "partial");
    char *msg = make_message("demo@jmap-gateway.test", "alice@jmap-gateway.test", token, "x\r\n");
    H_ASSERT_INT_EQ(send_as("demo", "demo", &ep, &env, msg, strlen(msg), &res, &err), 0);
    H_ASSERT(res.sent);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_INVALID_RECIPIENTS);
    H_ASSERT(!res.rcpts[0].accepted);
    H_ASSERT_INT_EQ(res.rcpts[0].reply.code, 550);
    H_ASSERT_STR_EQ(res.rcpts[0].reply.enhanced, "5.1.1");
    H_ASSERT_INT_EQ(res.rcpts[0].error, SUBMIT_ERR_INVALID_RECIPIENTS);
    H_ASSERT(res.rcpts[0].reply.text != NULL &&
             strstr(res.rcpts[0].reply.text, "nobody@jmap-gateway.test") != NULL);
    H_ASSERT(res.rcpts[1].accepted);
    H_ASSERT(!res.rcpts[2].accepted);
    H_ASSERT_INT_EQ(res.rcpts[2].error, SUBMIT_ERR_INVALID_RECIPIENTS);
    submit_result_clear(&res);

    /* Nobody accepted: nothing is sent. */
    env.rcpt_count = 1;
    H_ASSERT_INT_EQ(send_as("demo", "demo", &ep, &env, msg, strlen(msg), &res, &err), -1);
    H_ASSERT(!res.sent);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_INVALID_RECIPIENTS);
    H_ASSERT_INT_EQ(res.reply.code, 550);
    H_ASSERT(!res.temporary);
    submit_result_clear(&res);

    /* And none given at all. */
    env.rcpt_count = 0;
    H_ASSERT_INT_EQ(send_as("demo", "demo", &ep, &env, msg, strlen(msg), &res, &err), -1);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_NO_RECIPIENTS);
    submit_result_clear(&res);
    free(msg);
    char *got = wait_for_message("alice", token, "FLAGS");
    H_ASSERT(got != NULL);
    free(got);
}

static void test_forbidden_mail_from(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_result res;
    struct gw_error err;

    /* demo may not use alice's address as envelope sender. */
    H_ASSERT_INT_EQ(
        send_to_alice(&ep, "demo", "demo", "alice@jmap-gateway.test", "f", "x\r\n", &res, &err),
        -1);
    H_ASSERT(!res.sent);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_FORBIDDEN_MAIL_FROM);
    H_ASSERT(res.reply.code == 553 || res.reply.code == 554);
    H_ASSERT_INT_EQ(err.code, GW_ERR_BACKEND_NO);
    submit_result_clear(&res);
}

static void test_over_size(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_result res;
    struct gw_error err;
    size_t body_len = SIZE_LIMIT + 1024;
    char *body = malloc(body_len + 1);

    H_ASSERT(body != NULL);
    for (size_t i = 0; i < body_len; i++)
        body[i] = (i % 72 == 70) ? '\r' : (i % 72 == 71) ? '\n' : 'a';
    body[body_len] = '\0';
    H_ASSERT_INT_EQ(
        send_to_alice(&ep, "demo", "demo", "demo@jmap-gateway.test", "big", body, &res, &err),
        -1);
    H_ASSERT_INT_EQ(err.code, GW_ERR_TOO_LARGE);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_TOO_LARGE);
    H_ASSERT_INT_EQ(res.server_max_size, SIZE_LIMIT);
    /* Refused before MAIL: the server was never asked. */
    H_ASSERT_INT_EQ(res.reply.code, 0);
    H_ASSERT_STR_EQ(submit_error_name(res.error), "tooLarge");
    submit_result_clear(&res);
    free(body);
}

static void test_untrusted_certificate(void **state)
{
    (void)state;
    /* No CA file: the private CA is not in the system store. */
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, false);
    struct submit_result res;
    struct gw_error err;
    struct submit_server_info info;

    H_ASSERT_INT_EQ(
        send_to_alice(&ep, "demo", "demo", "demo@jmap-gateway.test", "tls", "x\r\n", &res, &err),
        -1);
    H_ASSERT_INT_EQ(err.code, GW_ERR_TLS);
    H_ASSERT(!res.sent);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_UNAVAILABLE);
    submit_result_clear(&res);
    ep = endpoint(GW_TLS_IMPLICIT, false);
    gw_error_clear(&err);
    H_ASSERT_INT_EQ(backend_submit_probe(&ep, &info, &err), -1);
    H_ASSERT_INT_EQ(err.code, GW_ERR_TLS);
}

/* A certificate from a trusted CA, but for another name: refused too,
 * unless the operator switched verification off. */
static void test_host_name_mismatch(void **state)
{
    (void)state;
    static const char *const names[] = {"mail.other.example", NULL};
    char *dir = NULL;
    struct demo_dovecot *other = harness_dovecot_start(names, &dir);
    H_ASSERT(other != NULL);
    struct harness_smtp *other_smtp = harness_smtp_start(other, dir, 0);
    H_ASSERT(other_smtp != NULL);
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    ep.port = harness_smtp_submission_port(other_smtp);
    ep.ca_file = demo_dovecot_ca_file(other);
    struct submit_server_info info;
    struct gw_error err;

    gw_error_clear(&err);
    H_ASSERT_INT_EQ(backend_submit_probe(&ep, &info, &err), -1);
    H_ASSERT_INT_EQ(err.code, GW_ERR_TLS);
    ep.tls_insecure = true;
    gw_error_clear(&err);
    H_ASSERT_MSG(backend_submit_probe(&ep, &info, &err) == 0, "insecure probe: %s", err.msg);
    submit_server_info_clear(&info);
    harness_smtp_free(&other_smtp);
    harness_dovecot_free(&other, &dir);
}

static void test_server_down(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_result res;
    struct gw_error err;

    ep.port = harness_free_port();
    int64_t start = harness_now_ms();
    H_ASSERT_INT_EQ(
        send_to_alice(&ep, "demo", "demo", "demo@jmap-gateway.test", "down", "x\r\n", &res, &err),
        -1);
    H_ASSERT(harness_now_ms() - start < 6000);
    H_ASSERT_INT_EQ(err.code, GW_ERR_UNAVAILABLE);
    H_ASSERT_INT_EQ(res.error, SUBMIT_ERR_UNAVAILABLE);
    H_ASSERT(res.temporary);
    H_ASSERT(!res.sent);
    submit_result_clear(&res);

    /* The real server stopped: the same, and it works once it is back. */
    H_ASSERT(harness_smtp_pause(smtp) == 0);
    ep = endpoint(GW_TLS_STARTTLS, true);
    char token[64];
    unique_token(token, sizeof(token), "down");
    H_ASSERT_INT_EQ(
        send_to_alice(&ep, "demo", "demo", "demo@jmap-gateway.test", token, "x\r\n", &res, &err),
        -1);
    H_ASSERT_INT_EQ(err.code, GW_ERR_UNAVAILABLE);
    H_ASSERT(res.temporary && !res.sent);
    submit_result_clear(&res);
    H_ASSERT(harness_smtp_resume(smtp) == 0);
    H_ASSERT_MSG(send_to_alice(&ep, "demo", "demo", "demo@jmap-gateway.test", token, "x\r\n", &res,
                               &err) == 0,
                 "after resume: %s", err.msg);
    H_ASSERT(res.sent);
    submit_result_clear(&res);
    char *got = wait_for_message("alice", token, "FLAGS");
    H_ASSERT(got != NULL);
    free(got);
}

static const struct submit_extension *find_ext(const struct submit_server_info *info,
                                               const char *kw)
{
    for (size_t i = 0; i < info->ext_count; i++)
        if (strcasecmp(info->ext[i].keyword, kw) == 0)
            return &info->ext[i];
    return NULL;
}

static void test_probe(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_server_info info;
    struct gw_error err;
    char limit[32];

    gw_error_clear(&err);
    H_ASSERT_MSG(backend_submit_probe(&ep, &info, &err) == 0, "probe: %s", err.msg);
    const struct submit_extension *size = find_ext(&info, "SIZE");
    H_ASSERT(size != NULL && size->arg_count == 1);
    snprintf(limit, sizeof(limit), "%d", SIZE_LIMIT);
    H_ASSERT_STR_EQ(size->args[0], limit);
    H_ASSERT(find_ext(&info, "DSN") != NULL);
    /* After STARTTLS: AUTH is offered, STARTTLS no longer. */
    const struct submit_extension *auth = find_ext(&info, "AUTH");
    H_ASSERT(auth != NULL);
    bool plain = false;
    for (size_t i = 0; i < auth->arg_count; i++)
        plain = plain || strcmp(auth->args[i], "PLAIN") == 0;
    H_ASSERT(plain);
    H_ASSERT(find_ext(&info, "STARTTLS") == NULL);
    submit_server_info_clear(&info);
}

static void test_dsn_parameters(void **state)
{
    (void)state;
    struct backend_endpoint ep = endpoint(GW_TLS_STARTTLS, true);
    struct submit_rcpt rcpt = {.address = "alice@jmap-gateway.test",
                               .notify = SUBMIT_NOTIFY_SUCCESS | SUBMIT_NOTIFY_FAILURE};
    struct submit_envelope env = {.mail_from = "demo@jmap-gateway.test", .rcpts = &rcpt,
                                  .rcpt_count = 1, .ret = SUBMIT_RET_HDRS};
    struct submit_result res;
    struct gw_error err;
    char token[64];

    unique_token(token, sizeof(token), "dsn");
    env.envid = token;
    char *msg = make_message("demo@jmap-gateway.test", "alice@jmap-gateway.test", token, "x\r\n");
    H_ASSERT_INT_EQ(send_as("demo", "demo", &ep, &env, msg, strlen(msg), &res, &err), 0);
    H_ASSERT(res.sent);
    submit_result_clear(&res);
    free(msg);
    /* NOTIFY=SUCCESS made it: Postfix reports the delivery to demo, and the
     * report carries our ENVID. */
    char *got = wait_for_message("demo", "Successful Mail Delivery Report", "BODY.PEEK[]");
    H_ASSERT_MSG(got != NULL, "no delivery report");
    H_ASSERT_MSG(strstr(got, token) != NULL, "report without our ENVID: %s", got);
    free(got);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_smtp_submit: Postfix needs root; skipped\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_starttls),     cmocka_unit_test(test_send_implicit_tls),
        cmocka_unit_test(test_wrong_password),    cmocka_unit_test(test_refused_recipient),
        cmocka_unit_test(test_forbidden_mail_from), cmocka_unit_test(test_over_size),
        cmocka_unit_test(test_untrusted_certificate), cmocka_unit_test(test_host_name_mismatch),
        cmocka_unit_test(test_server_down),
        cmocka_unit_test(test_probe),             cmocka_unit_test(test_dsn_parameters),
    };
    return cmocka_run_group_tests_name("smtp_submit", tests, group_setup, group_teardown);
}
