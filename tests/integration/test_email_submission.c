/* test_email_submission.c - EmailSubmission (RFC 8621 §7) through JMAP
 * against a private Dovecot and a real private Postfix delivering into it
 * over LMTP: demo sends to alice and alice reads it through JMAP (headers
 * intact, Bcc absent, the attachment byte-identical, the Bcc copy
 * delivered); onSuccessUpdateEmail moves Drafts -> Sent once; a refused
 * recipient, a message over SIZE, a foreign From, an unknown identity;
 * SMTP down (pending, sent after the server is back); a delayed send
 * canceled; a pending submission sent after a gateway restart; /changes,
 * /query and /queryChanges. Postfix needs root: without it every test is
 * skipped. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define SIZE_LIMIT 200000
#define DOMAIN "jmap-gateway.test"

static struct demo_dovecot *dovecot;
static char *dovecot_dir;
static struct harness_smtp *smtp;
static struct harness_gateway *gw;
static char *accounts[2];       /* demo, alice */
static char smtp_port[16];

static const char *const using =
    "[\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\","
    " \"urn:ietf:params:jmap:submission\"]";

static struct harness_gateway *start_gateway(void)
{
    const char *extra[] = {"--smtp-host", "localhost", "--smtp-port", smtp_port, "--smtp-tls",
                           "starttls", "--mail-domain", DOMAIN, NULL};
    return harness_gateway_for_dovecot(dovecot, "starttls", true, extra);
}

static char *account_of(const char *user)
{
    json_t *s = harness_session_ok(gw->port, user, user);
    char *id = strdup(harness_session_account_id(s));
    json_decref(s);
    return id;
}

static int group_setup(void **state)
{
    (void)state;
    if (geteuid() != 0)
        return 0;   /* every test skips: Postfix needs root */
    dovecot = harness_dovecot_start(NULL, &dovecot_dir);
    if (dovecot == NULL)
        return -1;
    smtp = harness_smtp_start(dovecot, dovecot_dir, SIZE_LIMIT);
    if (smtp == NULL)
        return -1;
    snprintf(smtp_port, sizeof(smtp_port), "%u", harness_smtp_submission_port(smtp));
    gw = start_gateway();
    if (gw == NULL)
        return -1;
    accounts[0] = account_of("demo");
    accounts[1] = account_of("alice");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int ret = gw != NULL ? harness_gateway_stop(gw) : 0;
    harness_gateway_free(&gw);
    harness_smtp_free(&smtp);
    harness_dovecot_free(&dovecot, &dovecot_dir);
    free(accounts[0]);
    free(accounts[1]);
    return ret;
}

static const char *account(const char *user)
{
    return accounts[strcmp(user, "demo") == 0 ? 0 : 1];
}

/* A request of method calls (JSON array text, "$A" standing for the
 * user's account id) as user; the methodResponses (new reference). */
static json_t *req(const char *user, const char *calls_fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *req(const char *user, const char *calls_fmt, ...)
{
    char calls[8192], body[12288];
    va_list ap;

    va_start(ap, calls_fmt);
    int n = vsnprintf(calls, sizeof(calls), calls_fmt, ap);
    va_end(ap);
    H_ASSERT(n > 0 && (size_t)n < sizeof(calls));
    /* Replace every $A with the account id. */
    char *o = body;
    size_t left = sizeof(body);
    n = snprintf(o, left, "{\"using\": %s, \"methodCalls\": ", using);
    o += n;
    left -= (size_t)n;
    for (const char *p = calls; *p != '\0'; p++) {
        const char *ins = p[0] == '$' && p[1] == 'A' ? account(user) : NULL;
        size_t len = ins != NULL ? strlen(ins) : 1;
        H_ASSERT(len + 2 < left);
        memcpy(o, ins != NULL ? ins : p, len);
        o += len;
        left -= len;
        if (ins != NULL)
            p++;
    }
    H_ASSERT(left > 2);
    memcpy(o, "}", 2);
    json_t *resp = harness_api_ok(gw->port, user, user, body);
    json_t *r = json_incref(json_object_get(resp, "methodResponses"));
    json_decref(resp);
    return r;
}

/* The arguments of response i (borrowed), asserting its name. */
static json_t *nth(json_t *responses, size_t i, const char *name)
{
    json_t *t = json_array_get(responses, i);
    H_ASSERT_MSG(t != NULL && strcmp(json_string_value(json_array_get(t, 0)), name) == 0,
                 "response %zu is not %s: %s", i, name, json_dumps(responses, 0));
    return json_array_get(t, 1);
}

static char *mailbox_id(const char *user, const char *role)
{
    json_t *r = req(user, "[[\"Mailbox/get\", {\"accountId\": \"$A\", \"ids\": null}, \"m\"]]");
    json_t *list = json_object_get(nth(r, 0, "Mailbox/get"), "list");
    char *id = NULL;
    size_t i;
    json_t *mb;
    json_array_foreach(list, i, mb)
        if (json_is_string(json_object_get(mb, "role")) &&
            strcmp(json_string_value(json_object_get(mb, "role")), role) == 0)
            id = strdup(json_string_value(json_object_get(mb, "id")));
    json_decref(r);
    H_ASSERT_MSG(id != NULL, "no %s mailbox for %s", role, user);
    return id;
}

static char *identity_id(const char *user)
{
    json_t *r = req(user, "[[\"Identity/get\", {\"accountId\": \"$A\", \"ids\": null}, \"i\"]]");
    json_t *first = json_array_get(json_object_get(nth(r, 0, "Identity/get"), "list"), 0);
    char *id = strdup(json_string_value(json_object_get(first, "id")));
    json_decref(r);
    return id;
}

/* The attachment of every draft (binary, every byte value). */
static unsigned char attachment[3000];

static char *base64(const unsigned char *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(n * 2 + 8), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
        if ((i / 3 + 1) % 19 == 0) {
            *o++ = '\r';
            *o++ = '\n';
        }
    }
    *o = '\0';
    return out;
}

/* Uploads a message and imports it into demo's Drafts with $draft; its
 * Email id. from NULL: demo's own address; filler bytes make it big. */
static char *make_draft(const char *token, const char *from, size_t filler)
{
    for (size_t i = 0; i < sizeof(attachment); i++)
        attachment[i] = (unsigned char)(i * 7 + 3);
    char *b64 = base64(attachment, sizeof(attachment));
    char *pad = calloc(filler + 1, 1);
    for (size_t i = 0; i < filler; i++)
        pad[i] = (i + 1) % 77 == 0 ? '\n' : 'x';
    char *msg = NULL;
    H_ASSERT(asprintf(&msg,
                      "From: Demo <%s>\r\nTo: Alice <alice@" DOMAIN ">\r\n"
                      "Bcc: demo@" DOMAIN "\r\nSubject: %s\r\nMessage-ID: <%s@" DOMAIN ">\r\n"
                      "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nX-Custom: kept as is\r\n"
                      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
                      "--b1\r\nContent-Type: text/plain\r\n\r\nHello %s\r\n%s\r\n"
                      "--b1\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Disposition: attachment; filename=\"a.bin\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n",
                      from != NULL ? from : "demo@" DOMAIN, token, token, token, pad, b64) > 0);
    free(b64);
    free(pad);
    char path[300];
    snprintf(path, sizeof(path), "/jmap/upload/%s/", account("demo"));
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = {auth, "Content-Type: message/rfc822", NULL};
    struct harness_response r;
    H_ASSERT(harness_http_request(gw->port, "POST", path, headers, msg, strlen(msg), &r) == 0);
    H_ASSERT_STATUS(&r, 201);
    json_t *j = harness_response_json(&r);
    char *blob = strdup(json_string_value(json_object_get(j, "blobId")));
    json_decref(j);
    harness_response_free(&r);
    free(auth);
    free(msg);
    char *drafts = mailbox_id("demo", "drafts");
    json_t *res = req("demo",
                      "[[\"Email/import\", {\"accountId\": \"$A\", \"emails\": {\"d\": {\"blobId\":"
                      " \"%s\", \"mailboxIds\": {\"%s\": true}, \"keywords\": {\"$draft\": true,"
                      " \"$seen\": true}}}}, \"i\"]]",
                      blob, drafts);
    json_t *created = json_object_get(json_object_get(nth(res, 0, "Email/import"), "created"), "d");
    H_ASSERT_MSG(created != NULL, "import failed: %s", json_dumps(res, 0));
    char *id = strdup(json_string_value(json_object_get(created, "id")));
    json_decref(res);
    free(blob);
    free(drafts);
    return id;
}

/* EmailSubmission/set create of one submission "s1" for email_id, with
 * extra members of the create object (text, may be ""), and more calls
 * after it (text starting with ",", may be ""). The responses. */
static json_t *submit(const char *email_id, const char *extra, const char *more)
{
    char *ident = identity_id("demo");
    json_t *r = req("demo",
                    "[[\"EmailSubmission/set\", {\"accountId\": \"$A\", \"create\": {\"s1\":"
                    " {\"identityId\": \"%s\", \"emailId\": \"%s\"%s}}%s}, \"s\"]]",
                    ident, email_id, extra, more);
    free(ident);
    return r;
}

/* The SetError of s1 (borrowed), asserting it was not created. */
static json_t *not_created(json_t *r)
{
    json_t *e = json_object_get(json_object_get(nth(r, 0, "EmailSubmission/set"), "notCreated"),
                                "s1");
    H_ASSERT_MSG(e != NULL, "created anyway: %s", json_dumps(r, 0));
    return e;
}

static json_t *created(json_t *r)
{
    json_t *c = json_object_get(json_object_get(nth(r, 0, "EmailSubmission/set"), "created"),
                                "s1");
    H_ASSERT_MSG(c != NULL, "not created: %s", json_dumps(r, 0));
    return c;
}

/* The Email of user with this subject token in the Inbox, waited for
 * (bounded); its properties (new reference). */
static json_t *wait_in_inbox(const char *user, const char *token, int timeout_s)
{
    char *inbox = mailbox_id(user, "inbox");
    json_t *found = NULL;
    for (int i = 0; i < timeout_s * 2 && found == NULL; i++) {
        json_t *r = req(user,
                        "[[\"Email/query\", {\"accountId\": \"$A\", \"filter\": {\"inMailbox\":"
                        " \"%s\", \"subject\": \"%s\"}}, \"q\"], [\"Email/get\", {\"accountId\":"
                        " \"$A\", \"#ids\": {\"resultOf\": \"q\", \"name\": \"Email/query\","
                        " \"path\": \"/ids\"}, \"properties\": [\"subject\", \"from\", \"to\","
                        " \"header:Bcc\", \"header:X-Custom\", \"messageId\", \"attachments\"]},"
                        " \"g\"]]",
                        inbox, token);
        json_t *list = json_object_get(nth(r, 1, "Email/get"), "list");
        if (json_array_size(list) > 0)
            found = json_incref(json_array_get(list, 0));
        json_decref(r);
        if (found == NULL)
            usleep(500 * 1000);
    }
    free(inbox);
    return found;
}

static void download_equals(const char *user, const char *blob, const void *want, size_t len)
{
    char path[400];
    snprintf(path, sizeof(path), "/jmap/download/%s/%s/a.bin?type=application/octet-stream",
             account(user), blob);
    char *auth = harness_basic_auth(user, user);
    const char *headers[] = {auth, NULL};
    struct harness_response r;
    H_ASSERT(harness_http_request(gw->port, "GET", path, headers, NULL, 0, &r) == 0);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, (long long)len);
    H_ASSERT(memcmp(r.body, want, len) == 0);
    harness_response_free(&r);
    free(auth);
}

#define NEED_SMTP() \
    do { \
        if (smtp == NULL) \
            skip(); \
    } while (0)

static void test_send_to_alice(void **state)
{
    (void)state;
    NEED_SMTP();
    char *email = make_draft("sub-send-1", NULL, 0);
    char *drafts = mailbox_id("demo", "drafts"), *sent = mailbox_id("demo", "sent");
    char more[600];
    snprintf(more, sizeof(more),
             ", \"onSuccessUpdateEmail\": {\"#s1\": {\"mailboxIds/%s\": null,"
             " \"mailboxIds/%s\": true, \"keywords/$draft\": null}}",
             drafts, sent);
    json_t *r = submit(email, "", more);
    json_t *c = created(r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "undoStatus")), "final");
    json_t *ds = json_object_get(json_object_get(c, "deliveryStatus"), "alice@" DOMAIN);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(ds, "delivered")), "queued");
    H_ASSERT(strncmp(json_string_value(json_object_get(ds, "smtpReply")), "250", 3) == 0);
    /* The Bcc recipient is in the derived envelope. */
    json_t *rcpt = json_object_get(json_object_get(c, "envelope"), "rcptTo");
    H_ASSERT_INT_EQ((long long)json_array_size(rcpt), 2);
    /* The implicit Email/set follows, once. */
    H_ASSERT_INT_EQ((long long)json_array_size(r), 2);
    json_t *es = nth(r, 1, "Email/set");
    H_ASSERT(json_object_get(json_object_get(es, "updated"), email) != NULL);
    H_ASSERT(json_is_null(json_object_get(es, "notUpdated")));
    json_decref(r);

    json_t *g = req("demo",
                    "[[\"Email/get\", {\"accountId\": \"$A\", \"ids\": [\"%s\"], \"properties\":"
                    " [\"mailboxIds\", \"keywords\", \"header:Bcc\"]}, \"g\"], [\"Email/query\", {\"accountId\":"
                    " \"$A\", \"filter\": {\"inMailbox\": \"%s\", \"subject\": \"sub-send-1\"}},"
                    " \"q\"]]",
                    email, sent);
    json_t *o = json_array_get(json_object_get(nth(g, 0, "Email/get"), "list"), 0);
    json_t *mbs = json_object_get(o, "mailboxIds");
    H_ASSERT_INT_EQ((long long)json_object_size(mbs), 1);
    H_ASSERT(json_is_true(json_object_get(mbs, sent)));
    H_ASSERT(json_object_get(json_object_get(o, "keywords"), "$draft") == NULL);
    /* The Sent copy keeps its Bcc: only the bytes sent lose it. */
    H_ASSERT(json_is_string(json_object_get(o, "header:Bcc")));
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(nth(g, 1, "Email/query"), "ids")),
                    1);
    json_decref(g);

    json_t *got = wait_in_inbox("alice", "sub-send-1", 20);
    H_ASSERT_MSG(got != NULL, "not delivered to alice");
    H_ASSERT(json_is_null(json_object_get(got, "header:Bcc")));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(got, "header:X-Custom")), " kept as is");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(got, "messageId"), 0)),
                    "sub-send-1@" DOMAIN);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_array_get(json_object_get(got, "from"), 0), "email")),
                    "demo@" DOMAIN);
    json_t *att = json_array_get(json_object_get(got, "attachments"), 0);
    H_ASSERT(att != NULL);
    download_equals("alice", json_string_value(json_object_get(att, "blobId")), attachment,
                    sizeof(attachment));
    json_decref(got);
    /* The Bcc copy arrived too, without its Bcc field. */
    json_t *self = wait_in_inbox("demo", "sub-send-1", 20);
    H_ASSERT(self != NULL && json_is_null(json_object_get(self, "header:Bcc")));
    json_decref(self);
    free(email);
    free(drafts);
    free(sent);
}

static void test_refusals(void **state)
{
    (void)state;
    NEED_SMTP();
    char *email = make_draft("sub-refused", NULL, 0);
    json_t *r = submit(email,
                       ", \"envelope\": {\"mailFrom\": {\"email\": \"demo@" DOMAIN "\"},"
                       " \"rcptTo\": [{\"email\": \"nobody@" DOMAIN "\"}]}",
                       ", \"onSuccessDestroyEmail\": [\"#s1\"]");
    json_t *e = not_created(r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidRecipients");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "invalidRecipients"), 0)),
                    "nobody@" DOMAIN);
    H_ASSERT(strstr(json_string_value(json_object_get(e, "description")), "5") != NULL);
    H_ASSERT_INT_EQ((long long)json_array_size(r), 1);   /* no Email/set: nothing succeeded */
    json_decref(r);

    /* An unknown identity, a From that is not the identity's. */
    r = req("demo",
            "[[\"EmailSubmission/set\", {\"accountId\": \"$A\", \"create\": {\"s1\":"
            " {\"identityId\": \"Inope\", \"emailId\": \"%s\"}}}, \"s\"]]",
            email);
    e = not_created(r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidProperties");
    json_decref(r);
    char *foreign = make_draft("sub-foreign", "alice@" DOMAIN, 0);
    r = submit(foreign, "", "");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(not_created(r), "type")), "forbiddenFrom");
    json_decref(r);

    /* Over the server's SIZE. */
    char *big = make_draft("sub-big", NULL, SIZE_LIMIT + 1000);
    r = submit(big, "", "");
    e = not_created(r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "tooLarge");
    json_decref(r);
    free(email);
    free(foreign);
    free(big);
}

/* Polls EmailSubmission/get until id's undoStatus is want (bounded). */
static bool wait_status(const char *id, const char *want, int timeout_s)
{
    for (int i = 0; i < timeout_s * 2; i++) {
        json_t *r = req("demo",
                        "[[\"EmailSubmission/get\", {\"accountId\": \"$A\", \"ids\": [\"%s\"]},"
                        " \"g\"]]",
                        id);
        json_t *o = json_array_get(json_object_get(nth(r, 0, "EmailSubmission/get"), "list"), 0);
        bool ok = o != NULL && strcmp(json_string_value(json_object_get(o, "undoStatus")), want) == 0;
        json_decref(r);
        if (ok)
            return true;
        usleep(500 * 1000);
    }
    return false;
}

static void test_smtp_down_then_sent(void **state)
{
    (void)state;
    NEED_SMTP();
    char *email = make_draft("sub-down", NULL, 0);
    H_ASSERT(harness_smtp_pause(smtp) == 0);
    json_t *r = submit(email, "", "");
    json_t *c = created(r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "undoStatus")), "pending");
    char *id = strdup(json_string_value(json_object_get(c, "id")));
    json_decref(r);
    H_ASSERT(harness_smtp_resume(smtp) == 0);
    /* The background sender retries (after 5 s): only alice asks. */
    json_t *got = wait_in_inbox("alice", "sub-down", 30);
    H_ASSERT_MSG(got != NULL, "not sent after the server came back");
    json_decref(got);
    H_ASSERT(wait_status(id, "final", 1));
    free(id);
    free(email);
}

static void test_delayed_cancel(void **state)
{
    (void)state;
    NEED_SMTP();
    char *email = make_draft("sub-later", NULL, 0);
    json_t *r = submit(email,
                       ", \"envelope\": {\"mailFrom\": {\"email\": \"demo@" DOMAIN "\","
                       " \"parameters\": {\"HOLDFOR\": \"3600\"}}, \"rcptTo\": [{\"email\":"
                       " \"alice@" DOMAIN "\"}]}",
                       "");
    json_t *c = created(r);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(c, "undoStatus")), "pending");
    char *id = strdup(json_string_value(json_object_get(c, "id")));
    json_decref(r);
    r = req("demo",
            "[[\"EmailSubmission/set\", {\"accountId\": \"$A\", \"update\": {\"%s\":"
            " {\"undoStatus\": \"canceled\"}}}, \"u\"]]",
            id);
    H_ASSERT(json_object_get(json_object_get(nth(r, 0, "EmailSubmission/set"), "updated"), id) !=
             NULL);
    json_decref(r);
    H_ASSERT(wait_status(id, "canceled", 1));
    /* Canceled stays canceled; only pending may change. */
    r = req("demo",
            "[[\"EmailSubmission/set\", {\"accountId\": \"$A\", \"update\": {\"%s\":"
            " {\"undoStatus\": \"canceled\"}}}, \"u\"]]",
            id);
    H_ASSERT(json_object_get(json_object_get(nth(r, 0, "EmailSubmission/set"), "notUpdated"),
                             id) != NULL);
    json_decref(r);
    free(id);
    free(email);
}

static void test_restart_sends_pending(void **state)
{
    (void)state;
    NEED_SMTP();
    char *email = make_draft("sub-restart", NULL, 0);
    json_t *r = submit(email,
                       ", \"envelope\": {\"mailFrom\": {\"email\": \"demo@" DOMAIN "\","
                       " \"parameters\": {\"HOLDFOR\": \"2\"}}, \"rcptTo\": [{\"email\":"
                       " \"alice@" DOMAIN "\"}]}",
                       "");
    char *id = strdup(json_string_value(json_object_get(created(r), "id")));
    json_decref(r);
    char imap_port[16];
    snprintf(imap_port, sizeof(imap_port), "%u", demo_dovecot_imap_port(dovecot));
    const char *args[] = {"--imap-host", "127.0.0.1", "--imap-port", imap_port, "--imap-tls",
                          "starttls", "--tls-ca-file", demo_dovecot_ca_file(dovecot),
                          "--smtp-host", "localhost", "--smtp-port", smtp_port, "--smtp-tls",
                          "starttls", "--mail-domain", DOMAIN, NULL};
    struct harness_gateway_opts opts = {.args = args};
    H_ASSERT(harness_gateway_restart(gw, &opts) == 0);
    /* Any request of demo's brings the credentials back; the background
     * sender does the rest (no EmailSubmission call until it arrived). */
    json_t *m = req("demo", "[[\"Mailbox/get\", {\"accountId\": \"$A\", \"ids\": []}, \"m\"]]");
    json_decref(m);
    json_t *got = wait_in_inbox("alice", "sub-restart", 20);
    H_ASSERT_MSG(got != NULL, "pending submission not sent after restart");
    json_decref(got);
    H_ASSERT(wait_status(id, "final", 1));
    free(id);
    free(email);
}

static void test_changes_and_query(void **state)
{
    (void)state;
    NEED_SMTP();
    json_t *r = req("demo", "[[\"EmailSubmission/get\", {\"accountId\": \"$A\", \"ids\": []},"
                            " \"g\"]]");
    char *old = strdup(json_string_value(json_object_get(nth(r, 0, "EmailSubmission/get"), "state")));
    json_decref(r);
    char *email = make_draft("sub-changes", NULL, 0);
    r = submit(email, "", "");
    char *id = strdup(json_string_value(json_object_get(created(r), "id")));
    json_decref(r);
    r = req("demo",
            "[[\"EmailSubmission/changes\", {\"accountId\": \"$A\", \"sinceState\": \"%s\"}, \"c\"],"
            " [\"EmailSubmission/query\", {\"accountId\": \"$A\", \"filter\": {\"emailIds\":"
            " [\"%s\"], \"undoStatus\": \"final\"}, \"sort\": [{\"property\": \"sentAt\"}]}, \"q\"],"
            " [\"EmailSubmission/query\", {\"accountId\": \"$A\", \"filter\": {\"undoStatus\":"
            " \"pending\", \"emailIds\": [\"%s\"]}}, \"q2\"],"
            " [\"EmailSubmission/queryChanges\", {\"accountId\": \"$A\", \"sinceQueryState\":"
            " \"%s\"}, \"qc\"],"
            " [\"EmailSubmission/changes\", {\"accountId\": \"$A\", \"sinceState\": \"bogus\"}, \"x\"]]",
            old, email, email, old);
    json_t *ch = nth(r, 0, "EmailSubmission/changes");
    json_t *cr = json_object_get(ch, "created");
    bool seen = false;
    size_t i;
    json_t *v;
    json_array_foreach(cr, i, v)
        seen = seen || strcmp(json_string_value(v), id) == 0;
    H_ASSERT_MSG(seen, "not in created: %s", json_dumps(ch, 0));
    json_t *ids = json_object_get(nth(r, 1, "EmailSubmission/query"), "ids");
    H_ASSERT_INT_EQ((long long)json_array_size(ids), 1);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(ids, 0)), id);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(nth(r, 2, "EmailSubmission/query"),
                                                               "ids")),
                    0);
    json_t *added = json_object_get(nth(r, 3, "EmailSubmission/queryChanges"), "added");
    H_ASSERT(json_array_size(added) >= 1);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(nth(r, 4, "error"), "type")),
                    "cannotCalculateChanges");
    json_decref(r);
    /* Destroy leaves a tombstone: reported as destroyed from a later state. */
    r = req("demo", "[[\"EmailSubmission/get\", {\"accountId\": \"$A\", \"ids\": []}, \"g\"]]");
    char *mid = strdup(json_string_value(json_object_get(nth(r, 0, "EmailSubmission/get"), "state")));
    json_decref(r);
    r = req("demo",
            "[[\"EmailSubmission/set\", {\"accountId\": \"$A\", \"destroy\": [\"%s\"]}, \"d\"],"
            " [\"EmailSubmission/changes\", {\"accountId\": \"$A\", \"sinceState\": \"%s\"}, \"c\"]]",
            id, mid);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(
                        json_object_get(nth(r, 1, "EmailSubmission/changes"), "destroyed"), 0)),
                    id);
    json_decref(r);
    free(mid);
    free(old);
    free(id);
    free(email);
}

/* NOTIFY=SUCCESS: Postfix's report comes back to demo carrying our ENVID
 * (the submission id); the gateway finds it and marks alice delivered. */
static void test_dsn_updates_delivery(void **state)
{
    (void)state;
    NEED_SMTP();
    char *email = make_draft("sub-dsn", NULL, 0);
    json_t *r = submit(email,
                       ", \"envelope\": {\"mailFrom\": {\"email\": \"demo@" DOMAIN "\","
                       " \"parameters\": null}, \"rcptTo\": [{\"email\": \"alice@" DOMAIN "\","
                       " \"parameters\": {\"NOTIFY\": \"SUCCESS,FAILURE\"}}]}",
                       "");
    char *id = strdup(json_string_value(json_object_get(created(r), "id")));
    char *after_send = strdup(
        json_string_value(json_object_get(nth(r, 0, "EmailSubmission/set"), "newState")));
    json_decref(r);
    json_t *o = NULL;
    for (int i = 0; i < 60 && json_array_size(json_object_get(o, "dsnBlobIds")) == 0; i++) {
        json_decref(o);
        if (i > 0)
            usleep(500 * 1000);
        r = req("demo",
                "[[\"EmailSubmission/get\", {\"accountId\": \"$A\", \"ids\": [\"%s\"]}, \"g\"]]",
                id);
        o = json_incref(
            json_array_get(json_object_get(nth(r, 0, "EmailSubmission/get"), "list"), 0));
        json_decref(r);
        H_ASSERT(o != NULL);
    }
    json_t *blobs = json_object_get(o, "dsnBlobIds");
    H_ASSERT_MSG(json_array_size(blobs) == 1, "no report applied: %s", json_dumps(o, 0));
    /* The blob is the report itself: its Action decides (RFC 8621 §7:
     * delivered -> yes; relayed -> unknown, which is what Postfix says
     * after handing the message to Dovecot's LMTP). */
    char path[400];
    snprintf(path, sizeof(path), "/jmap/download/%s/%s/r.eml?type=message/rfc822",
             account("demo"), json_string_value(json_array_get(blobs, 0)));
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = {auth, NULL};
    struct harness_response resp;
    H_ASSERT(harness_http_request(gw->port, "GET", path, headers, NULL, 0, &resp) == 0);
    H_ASSERT_STATUS(&resp, 200);
    H_ASSERT(memmem(resp.body, resp.body_len, id, strlen(id)) != NULL);
    H_ASSERT(memmem(resp.body, resp.body_len, "delivery-status", 15) != NULL);
    const char *want = memmem(resp.body, resp.body_len, "Action: delivered", 17) != NULL ? "yes"
                       : memmem(resp.body, resp.body_len, "Action: relayed", 15) != NULL
                           ? "unknown"
                           : NULL;
    H_ASSERT_MSG(want != NULL, "unexpected report: %.*s", (int)resp.body_len, resp.body);
    harness_response_free(&resp);
    free(auth);
    json_t *st = json_object_get(json_object_get(o, "deliveryStatus"), "alice@" DOMAIN);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(st, "delivered")), want);
    H_ASSERT(strncmp(json_string_value(json_object_get(st, "smtpReply")), "250", 3) == 0);
    r = req("demo",
            "[[\"EmailSubmission/changes\", {\"accountId\": \"$A\", \"sinceState\": \"%s\"},"
            " \"c\"]]",
            after_send);
    json_t *upd = json_object_get(nth(r, 0, "EmailSubmission/changes"), "updated");
    bool listed = false;
    size_t i;
    json_t *v;
    json_array_foreach(upd, i, v)
        listed = listed || strcmp(json_string_value(v), id) == 0;
    H_ASSERT_MSG(listed, "report not in /changes: %s", json_dumps(r, 0));
    json_decref(r);
    /* Processed once: a later call leaves it as it is. */
    r = req("demo",
            "[[\"EmailSubmission/get\", {\"accountId\": \"$A\", \"ids\": [\"%s\"]}, \"g\"]]",
            id);
    json_t *again = json_array_get(json_object_get(nth(r, 0, "EmailSubmission/get"), "list"), 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(again, "dsnBlobIds")), 1);
    json_decref(r);
    json_decref(o);
    free(after_send);
    free(id);
    free(email);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_send_to_alice, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_refusals, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_delayed_cancel, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_changes_and_query, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_dsn_updates_delivery, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_smtp_down_then_sent, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_restart_sends_pending, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests_name("email_submission", tests, group_setup, group_teardown);
}
