/* test_email_write.c - the uploadUrl and the methods that add or read
 * message blobs, against a private Dovecot:
 * - upload: bytes back byte-identical from the downloadUrl, 413 with a
 *   problem past maxSizeUpload, 404 for another account, expiry of the
 *   oldest past the per-account count;
 * - Email/import: keywords, receivedAt and mailbox seen through Email/get
 *   and a plain IMAP connection, the blob equal to the uploaded bytes;
 *   stateMismatch, unknown mailbox, unknown blob;
 * - Email/parse of an upload and of a stored Email's attached message,
 *   notParsable / notFound;
 * - Email/copy: fromAccountNotFound;
 * - Email/set create with attachments from uploads (when Email/set is in
 *   this build): Email/get, byte-identical downloads, a plain IMAP FETCH.
 */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define MAX_UPLOAD 200000

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    struct harness_imap *imap;
    char *account_id;
    char *inbox_id;
    char *other_id;             /* a second mailbox */
} fx;

static const char import_msg[] =
    "From: Importer <imp@example.org>\r\nTo: demo@jmap-gateway.test\r\n"
    "Subject: imported message\r\nMessage-ID: <import-1@example.org>\r\n"
    "Date: Thu, 02 Jan 2020 03:04:05 +0000\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"ib\"\r\n\r\n"
    "--ib\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attached message.\r\n"
    "--ib\r\nContent-Type: message/rfc822\r\n"
    "Content-Disposition: attachment; filename=\"inner.eml\"\r\n\r\n"
    "From: Inner <inner@example.org>\r\nSubject: inner message\r\n\r\nInner body.\r\n"
    "--ib--\r\n";

static int group_setup(void **state)
{
    (void)state;
    static const char *const extra[] = { "--max-size-upload", "200000", NULL };
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, extra);
    if (fx.gw == NULL)
        return -1;
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    const char *id = harness_session_account_id(s);
    fx.account_id = id != NULL ? strdup(id) : NULL;
    json_t *mail = json_object_get(json_object_get(s, "capabilities"), "urn:ietf:params:jmap:core");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(mail, "maxSizeUpload")), MAX_UPLOAD);
    json_decref(s);
    fx.imap = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), "demo", "demo");
    if (fx.account_id == NULL || fx.imap == NULL)
        return -1;
    H_ASSERT(harness_imap_cmd(fx.imap, "CREATE WriteTests") == 0);
    char *args = NULL;
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"ids\": null, \"properties\": "
                             "[\"name\", \"role\"]}", fx.account_id) > 0);
    json_t *res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Mailbox/get", args);
    free(args);
    size_t i;
    json_t *mb;
    json_array_foreach(json_object_get(res, "list"), i, mb) {
        const char *role = json_string_value(json_object_get(mb, "role"));
        const char *name = json_string_value(json_object_get(mb, "name"));
        const char *mid = json_string_value(json_object_get(mb, "id"));
        if (role != NULL && strcmp(role, "inbox") == 0)
            fx.inbox_id = strdup(mid);
        if (name != NULL && strcmp(name, "WriteTests") == 0)
            fx.other_id = strdup(mid);
    }
    json_decref(res);
    return fx.inbox_id != NULL && fx.other_id != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;
    (void)state;
    harness_imap_logout(&fx.imap);
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    free(fx.account_id);
    free(fx.inbox_id);
    free(fx.other_id);
    return rc;
}

static void upload_raw(const char *account, const char *type, const char *data, size_t len,
                       struct harness_response *r)
{
    char path[300], type_line[200];
    snprintf(path, sizeof(path), "/jmap/upload/%s/", account);
    snprintf(type_line, sizeof(type_line), "Content-Type: %s", type);
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = { auth, type_line, NULL };
    H_ASSERT(harness_http_request(fx.gw->port, "POST", path, headers, data, len, r) == 0);
    free(auth);
}

/* Uploads and returns the blob id (malloc'd), checking the response. */
static char *upload(const char *type, const char *data, size_t len)
{
    struct harness_response r;
    upload_raw(fx.account_id, type, data, len, &r);
    H_ASSERT_STATUS(&r, 201);
    json_t *j = harness_response_json(&r);
    H_ASSERT(j != NULL);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(j, "accountId")), fx.account_id);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(j, "type")), type);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(j, "size")), (long long)len);
    const char *blob = json_string_value(json_object_get(j, "blobId"));
    H_ASSERT(blob != NULL);
    char *res = strdup(blob);
    json_decref(j);
    harness_response_free(&r);
    return res;
}

static void download(const char *blob, struct harness_response *r)
{
    char path[400];
    snprintf(path, sizeof(path), "/jmap/download/%s/%s/f.bin?type=application/octet-stream",
             fx.account_id, blob);
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = { auth, NULL };
    H_ASSERT(harness_http_request(fx.gw->port, "GET", path, headers, NULL, 0, r) == 0);
    free(auth);
}

static void assert_download_equals(const char *blob, const char *data, size_t len)
{
    struct harness_response r;
    download(blob, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, (long long)len);
    H_ASSERT_MSG(memcmp(r.body, data, len) == 0, "downloaded bytes of %s differ", blob);
    harness_response_free(&r);
}

/* Patterned binary bytes with NULs, CRs and LFs. */
static char *binary(size_t len)
{
    char *b = malloc(len);
    H_ASSERT(b != NULL);
    for (size_t i = 0; i < len; i++)
        b[i] = (char)((i * 31 + i / 7) & 0xff);
    return b;
}

static void test_upload(void **state)
{
    (void)state;
    struct harness_response r;
    char *bytes = binary(70000);
    char *blob = upload("application/x-test", bytes, 70000);
    assert_download_equals(blob, bytes, 70000);

    /* another account: not these credentials' */
    upload_raw("Aother", "text/plain", "x", 1, &r);
    json_decref(H_ASSERT_PROBLEM(&r, 404, NULL));
    harness_response_free(&r);
    /* nor is the blob downloadable under another account id */
    char path[400];
    snprintf(path, sizeof(path), "/jmap/download/Aother/%s/f.bin", blob);
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = { auth, NULL };
    H_ASSERT(harness_http_request(fx.gw->port, "GET", path, headers, NULL, 0, &r) == 0);
    H_ASSERT_STATUS(&r, 404);
    harness_response_free(&r);
    /* no credentials */
    snprintf(path, sizeof(path), "/jmap/upload/%s/", fx.account_id);
    H_ASSERT(harness_http_request(fx.gw->port, "POST", path, NULL, "x", 1, &r) == 0);
    H_ASSERT_STATUS(&r, 401);
    harness_response_free(&r);
    free(auth);
    free(blob);
    free(bytes);
}

static void test_upload_too_large(void **state)
{
    (void)state;
    struct harness_response r;
    char *bytes = binary(MAX_UPLOAD + 1);
    upload_raw(fx.account_id, "application/octet-stream", bytes, MAX_UPLOAD + 1, &r);
    json_t *p = H_ASSERT_PROBLEM(&r, 413, "urn:ietf:params:jmap:error:limit");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(p, "limit")), "maxSizeUpload");
    json_decref(p);
    harness_response_free(&r);
    /* exactly the limit is fine */
    char *blob = upload("application/octet-stream", bytes, MAX_UPLOAD);
    assert_download_equals(blob, bytes, MAX_UPLOAD);
    free(blob);
    free(bytes);
}

/* Connects and sends an upload's request head as demo with the given
 * header lines (each ending CRLF) and the first body bytes. */
static int upload_open(const char *headers, const char *body)
{
    char head[800];
    char *auth = harness_basic_auth("demo", "demo");
    int n = snprintf(head, sizeof(head),
                     "POST /jmap/upload/%s/ HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n"
                     "%sConnection: close\r\n\r\n%s",
                     fx.account_id, auth, headers, body);
    free(auth);
    int fd = harness_connect(fx.gw->port);
    H_ASSERT(fd >= 0 && n > 0 && n < (int)sizeof(head) &&
             harness_send_all(fd, head, (size_t)n) == 0);
    return fd;
}

/* A chunked upload of total bytes in 4 KiB chunks; the response. */
static void upload_chunked(size_t total, struct harness_response *r)
{
    char chunk[4200], pad[4096];
    int64_t start = harness_now_ms();
    int fd = upload_open("Content-Type: application/octet-stream\r\n"
                         "Transfer-Encoding: chunked\r\n", "");
    int n;
    memset(pad, 'c', sizeof(pad));
    for (size_t sent = 0; sent < total;) {
        size_t len = total - sent < sizeof(pad) ? total - sent : sizeof(pad);
        n = snprintf(chunk, sizeof(chunk), "%zx\r\n%.*s\r\n", len, (int)len, pad);
        H_ASSERT_MSG(harness_send_all(fd, chunk, (size_t)n) == 0,
                     "gateway closed the connection within the discard bound");
        sent += len;
    }
    H_ASSERT(harness_send_all(fd, "0\r\n\r\n", 5) == 0);
    H_ASSERT(harness_http_read_response(fd, start, r) == 0);
    close(fd);
}

/* Without a Content-Length the limit is enforced while reading: the
 * spool stops at maxSizeUpload and the answer is 413 at the end. */
static void test_upload_chunked(void **state)
{
    (void)state;
    struct harness_response r;
    upload_chunked(MAX_UPLOAD + 5000, &r);
    json_t *p = H_ASSERT_PROBLEM(&r, 413, "urn:ietf:params:jmap:error:limit");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(p, "limit")), "maxSizeUpload");
    json_decref(p);
    harness_response_free(&r);
    upload_chunked(10000, &r);
    H_ASSERT_STATUS(&r, 201);
    json_t *j = harness_response_json(&r);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(j, "size")), 10000);
    json_decref(j);
    harness_response_free(&r);
}

/* Starts an upload of 16 bytes and sends only the first 4: it stays in
 * progress, holding one of the credentials' maxConcurrentUpload slots. */
static int upload_begin_partial(void)
{
    return upload_open("Content-Type: text/plain\r\nContent-Length: 16\r\n", "firs");
}

/* RFC 8620 §6.1: past maxConcurrentUpload (4 by default) an upload is
 * refused with 429 and the limit named; a finished one frees its slot. */
static void test_upload_concurrency(void **state)
{
    (void)state;
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    json_t *core = json_object_get(json_object_get(s, "capabilities"), "urn:ietf:params:jmap:core");
    long long max = json_integer_value(json_object_get(core, "maxConcurrentUpload"));
    json_decref(s);
    H_ASSERT(max >= 1 && max <= 16);
    int fds[16];
    int64_t start = harness_now_ms();
    for (long long i = 0; i < max; i++)
        fds[i] = upload_begin_partial();
    /* the gateway has the partial bodies once it spooled them: bounded wait */
    usleep(500 * 1000);
    struct harness_response r;
    upload_raw(fx.account_id, "text/plain", "over", 4, &r);
    json_t *p = H_ASSERT_PROBLEM(&r, 429, "urn:ietf:params:jmap:error:limit");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(p, "limit")), "maxConcurrentUpload");
    json_decref(p);
    harness_response_free(&r);
    /* finishing them frees the slots: each is stored, then one more fits */
    for (long long i = 0; i < max; i++) {
        H_ASSERT(harness_send_all(fds[i], "t-part-of-16", 12) == 0);
        H_ASSERT(harness_http_read_response(fds[i], start, &r) == 0);
        H_ASSERT_STATUS(&r, 201);
        harness_response_free(&r);
        close(fds[i]);
    }
    free(upload("text/plain", "after", 5));
}

/* Past the per-account count (64) the oldest uploads are gone. */
static void test_upload_expiry(void **state)
{
    (void)state;
    char *first = upload("text/plain", "first", 5);
    char *last = NULL;
    for (int i = 0; i < 64; i++) {
        char data[32];
        int n = snprintf(data, sizeof(data), "upload %d", i);
        free(last);
        last = upload("text/plain", data, (size_t)n);
    }
    struct harness_response r;
    download(first, &r);
    H_ASSERT_STATUS(&r, 404);
    harness_response_free(&r);
    assert_download_equals(last, "upload 63", 9);
    /* an expired blob cannot be imported either */
    char *args = NULL;
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"emails\": {\"e\": {\"blobId\": \"%s\","
                             " \"mailboxIds\": {\"%s\": true}}}}",
                      fx.account_id, first, fx.inbox_id) > 0);
    json_t *res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/import", args);
    json_t *e = json_object_get(json_object_get(res, "notCreated"), "e");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidProperties");
    H_ASSERT(json_is_null(json_object_get(res, "created")));
    json_decref(res);
    free(args);
    free(first);
    free(last);
}

/* The uid of the message with this Message-ID in mailbox, from plain IMAP. */
static unsigned imap_uid(const char *mailbox, const char *message_id)
{
    H_ASSERT(harness_imap_cmd(fx.imap, "SELECT %s", mailbox) == 0);
    H_ASSERT(harness_imap_cmd(fx.imap, "UID SEARCH HEADER Message-ID \"%s\"", message_id) == 0);
    const char *s = strstr(harness_imap_last(fx.imap), "* SEARCH ");
    H_ASSERT_MSG(s != NULL && s[9] >= '1' && s[9] <= '9', "no message %s in %s: %s", message_id,
                 mailbox, harness_imap_last(fx.imap));
    return (unsigned)strtoul(s + 9, NULL, 10);
}

static json_t *email_get(const char *id, const char *props)
{
    char *args = NULL;
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"ids\": [\"%s\"], \"properties\": %s}",
                      fx.account_id, id, props) > 0);
    json_t *res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/get", args);
    free(args);
    json_t *e = json_incref(json_array_get(json_object_get(res, "list"), 0));
    json_decref(res);
    H_ASSERT_MSG(e != NULL, "Email %s not found", id);
    return e;
}

static char *imported_id;

static void test_import(void **state)
{
    (void)state;
    char *blob = upload("message/rfc822", import_msg, strlen(import_msg));
    char *args = NULL;
    json_t *res = NULL;
    /* a wrong ifInState changes nothing */
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"ifInState\": \"nope\", \"emails\": {}}",
                      fx.account_id) > 0);
    json_t *call = harness_jmap_call(fx.gw->port, "demo", "demo", "Email/import", args);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(call, 0)), "error");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(call, 1), "type")),
                    "stateMismatch");
    json_decref(call);
    free(args);

    H_ASSERT(asprintf(&args,
                      "{\"accountId\": \"%s\", \"emails\": {"
                      "\"ok\": {\"blobId\": \"%s\", \"mailboxIds\": {\"%s\": true, \"%s\": true},"
                      " \"keywords\": {\"$seen\": true, \"$flagged\": true, \"project-x\": true},"
                      " \"receivedAt\": \"2021-03-04T05:06:07Z\"},"
                      "\"badbox\": {\"blobId\": \"%s\", \"mailboxIds\": {\"Mnope\": true}},"
                      "\"badblob\": {\"blobId\": \"U000000000000000000000000\","
                      " \"mailboxIds\": {\"%s\": true}},"
                      "\"badkw\": {\"blobId\": \"%s\", \"mailboxIds\": {\"%s\": true},"
                      " \"keywords\": {\"a(b\": true}}}}",
                      fx.account_id, blob, fx.inbox_id, fx.other_id, blob, fx.inbox_id, blob,
                      fx.inbox_id) > 0);
    res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/import", args);
    free(args);
    json_t *created = json_object_get(json_object_get(res, "created"), "ok");
    H_ASSERT_MSG(created != NULL, "not created: %s", json_dumps(res, 0));
    const char *id = json_string_value(json_object_get(created, "id"));
    H_ASSERT(id != NULL && json_is_string(json_object_get(created, "threadId")));
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(created, "size")), (long long)strlen(import_msg));
    json_t *nc = json_object_get(res, "notCreated");
    static const char *const bad[][2] = { { "badbox", "mailboxIds" }, { "badblob", "blobId" },
                                          { "badkw", "keywords" } };
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_object_get(nc, bad[i][0]);
        H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "type")), "invalidProperties");
        H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(e, "properties"), 0)),
                        bad[i][1]);
    }
    H_ASSERT(strcmp(json_string_value(json_object_get(res, "oldState")),
                    json_string_value(json_object_get(res, "newState"))) != 0);
    imported_id = strdup(id);

    json_t *e = email_get(id, "[\"blobId\", \"keywords\", \"receivedAt\", \"mailboxIds\","
                              " \"subject\", \"size\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "imported message");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "receivedAt")), "2021-03-04T05:06:07Z");
    json_t *kw = json_object_get(e, "keywords");
    H_ASSERT(json_is_true(json_object_get(kw, "$seen")) &&
             json_is_true(json_object_get(kw, "$flagged")) &&
             json_is_true(json_object_get(kw, "project-x")) && json_object_size(kw) == 3);
    json_t *mbs = json_object_get(e, "mailboxIds");
    H_ASSERT(json_object_size(mbs) == 2 && json_is_true(json_object_get(mbs, fx.inbox_id)) &&
             json_is_true(json_object_get(mbs, fx.other_id)));
    assert_download_equals(json_string_value(json_object_get(e, "blobId")), import_msg,
                           strlen(import_msg));
    json_decref(e);
    json_decref(res);

    /* and what another IMAP client sees */
    unsigned uid = imap_uid("INBOX", "import-1@example.org");
    H_ASSERT(harness_imap_cmd(fx.imap, "UID FETCH %u (FLAGS INTERNALDATE BODY.PEEK[])", uid) == 0);
    const char *last = harness_imap_last(fx.imap);
    H_ASSERT_MSG(strstr(last, "\\Seen") != NULL && strstr(last, "\\Flagged") != NULL &&
                     strstr(last, "project-x") != NULL &&
                     strstr(last, "04-Mar-2021 05:06:07 +0000") != NULL &&
                     strstr(last, "See the attached message.") != NULL,
                 "FETCH: %s", last);
    imap_uid("WriteTests", "import-1@example.org");
    free(blob);
}

/* Without receivedAt the topmost Received field's date is used. */
static void test_import_received(void **state)
{
    (void)state;
    static const char msg[] =
        "Received: from relay2.example.org by mx.example.net; Tue, 05 May 2015 10:11:12 +0200\r\n"
        "Received: from client by relay2.example.org; Tue, 05 May 2015 09:00:00 +0200\r\n"
        "From: r@example.org\r\nSubject: received default\r\n"
        "Message-ID: <import-received@example.org>\r\n\r\nBody\r\n";
    char *blob = upload("message/rfc822", msg, strlen(msg));
    char *args = NULL;
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"emails\": {\"r\": {\"blobId\": \"%s\","
                             " \"mailboxIds\": {\"%s\": true}}}}",
                      fx.account_id, blob, fx.inbox_id) > 0);
    json_t *res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/import", args);
    free(args);
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(res, "created"), "r"), "id"));
    H_ASSERT_MSG(id != NULL, "not imported: %s", json_dumps(res, 0));
    json_t *e = email_get(id, "[\"receivedAt\", \"keywords\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "receivedAt")), "2015-05-05T08:11:12Z");
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(e, "keywords")), 0);
    json_decref(e);
    json_decref(res);
    free(blob);
}

static void test_parse(void **state)
{
    (void)state;
    char *blob = upload("message/rfc822", import_msg, strlen(import_msg));
    char *text = upload("text/plain", "no header here", 14);
    H_ASSERT(imported_id != NULL);
    json_t *e = email_get(imported_id, "[\"attachments\", \"textBody\"]");
    const char *att = json_string_value(
        json_object_get(json_array_get(json_object_get(e, "attachments"), 0), "blobId"));
    const char *txt = json_string_value(
        json_object_get(json_array_get(json_object_get(e, "textBody"), 0), "blobId"));
    H_ASSERT(att != NULL && txt != NULL);
    char *args = NULL;
    H_ASSERT(asprintf(&args,
                      "{\"accountId\": \"%s\", \"blobIds\": [\"%s\", \"%s\", \"%s\", \"%s\","
                      " \"Bnope\"], \"properties\": [\"subject\", \"from\", \"textBody\","
                      " \"attachments\", \"bodyValues\", \"size\", \"mailboxIds\", \"blobId\"],"
                      " \"fetchTextBodyValues\": true}",
                      fx.account_id, blob, att, txt, text) > 0);
    json_t *res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/parse", args);
    free(args);
    json_t *parsed = json_object_get(res, "parsed");
    json_t *outer = json_object_get(parsed, blob);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(outer, "subject")), "imported message");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_array_get(json_object_get(outer, "from"), 0), "email")),
                    "imp@example.org");
    H_ASSERT(json_is_null(json_object_get(outer, "mailboxIds")));
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(outer, "size")), (long long)strlen(import_msg));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(outer, "blobId")), blob);
    json_t *body = json_object_get(outer, "bodyValues");
    const char *part = json_string_value(
        json_object_get(json_array_get(json_object_get(outer, "textBody"), 0), "partId"));
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(body, part), "value")),
                    "See the attached message.");
    json_t *inner = json_object_get(parsed, att);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(inner, "subject")), "inner message");
    /* the inner text part is fetchable from the stored Email */
    const char *inner_blob = json_string_value(
        json_object_get(json_array_get(json_object_get(inner, "textBody"), 0), "blobId"));
    H_ASSERT(inner_blob != NULL);
    assert_download_equals(inner_blob, "Inner body.", 11);
    json_t *np = json_object_get(res, "notParsable");
    H_ASSERT(json_array_size(np) == 2);
    json_t *nf = json_object_get(res, "notFound");
    H_ASSERT(json_array_size(nf) == 1 && strcmp(json_string_value(json_array_get(nf, 0)), "Bnope") == 0);
    json_decref(res);
    json_decref(e);
    free(blob);
    free(text);
}

static void test_copy(void **state)
{
    (void)state;
    char *args = NULL;
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"fromAccountId\": \"Aelsewhere\","
                             " \"create\": {\"c\": {\"id\": \"x\", \"mailboxIds\": {}}}}",
                      fx.account_id) > 0);
    json_t *call = harness_jmap_call(fx.gw->port, "demo", "demo", "Email/copy", args);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(call, 0)), "error");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(call, 1), "type")),
                    "fromAccountNotFound");
    json_decref(call);
    free(args);
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\", \"fromAccountId\": \"%s\", \"create\": {}}",
                      fx.account_id, fx.account_id) > 0);
    call = harness_jmap_call(fx.gw->port, "demo", "demo", "Email/copy", args);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(call, 1), "type")),
                    "invalidArguments");
    json_decref(call);
    free(args);
}

/* Email/set create (the set framework calls email_create_one()). */
static void test_create_with_attachments(void **state)
{
    (void)state;
    size_t pdf_len = 5000;
    char *pdf = binary(pdf_len);
    char *pdf_blob = upload("application/pdf", pdf, pdf_len);
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR-image-bytes";
    char *png_blob = upload("image/png", png, sizeof(png) - 1);
    char *args = NULL;
    H_ASSERT(asprintf(&args,
                      "{\"accountId\": \"%s\", \"create\": {\"d1\": {"
                      "\"mailboxIds\": {\"%s\": true}, \"keywords\": {\"$draft\": true},"
                      "\"from\": [{\"name\": \"D\\u00e9mo\", \"email\": \"demo@jmap-gateway.test\"}],"
                      "\"to\": [{\"name\": null, \"email\": \"x@example.org\"}],"
                      "\"subject\": \"created \\u2713 with attachments\","
                      "\"bodyValues\": {\"t\": {\"value\": \"Hello\\nworld\"},"
                      " \"h\": {\"value\": \"<p>Hello <img src=\\\"cid:img1\\\"></p>\"}},"
                      "\"textBody\": [{\"partId\": \"t\"}], \"htmlBody\": [{\"partId\": \"h\"}],"
                      "\"attachments\": [{\"blobId\": \"%s\", \"type\": \"application/pdf\","
                      " \"name\": \"r\\u00e9sum\\u00e9.pdf\", \"disposition\": \"attachment\"},"
                      " {\"blobId\": \"%s\", \"type\": \"image/png\", \"cid\": \"img1\","
                      " \"disposition\": \"inline\"}]}}}",
                      fx.account_id, fx.other_id, pdf_blob, png_blob) > 0);
    json_t *call = harness_jmap_call(fx.gw->port, "demo", "demo", "Email/set", args);
    free(args);
    if (strcmp(json_string_value(json_array_get(call, 0)), "error") == 0 &&
        strcmp(json_string_value(json_object_get(json_array_get(call, 1), "type")),
               "unknownMethod") == 0) {
        json_decref(call);
        free(pdf);
        free(pdf_blob);
        free(png_blob);
        skip();     /* Email/set is on another branch; this runs once merged */
    }
    json_t *res = json_array_get(call, 1);
    json_t *created = json_object_get(json_object_get(res, "created"), "d1");
    H_ASSERT_MSG(created != NULL, "not created: %s", json_dumps(res, 0));
    const char *id = json_string_value(json_object_get(created, "id"));
    H_ASSERT(id != NULL && json_object_get(created, "blobId") != NULL &&
             json_object_get(created, "threadId") != NULL &&
             json_integer_value(json_object_get(created, "size")) > (json_int_t)pdf_len);
    json_t *e = email_get(id, "[\"subject\", \"from\", \"keywords\", \"attachments\","
                              " \"textBody\", \"htmlBody\", \"bodyValues\", \"mailboxIds\"]");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")),
                    "created \xe2\x9c\x93 with attachments");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_array_get(json_object_get(e, "from"), 0), "name")),
                    "D\xc3\xa9mo");
    H_ASSERT(json_is_true(json_object_get(json_object_get(e, "keywords"), "$draft")));
    json_t *atts = json_object_get(e, "attachments");
    H_ASSERT_INT_EQ((long long)json_array_size(atts), 2);
    bool seen_pdf = false, seen_png = false;
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_array_get(atts, i);
        const char *type = json_string_value(json_object_get(a, "type"));
        const char *b = json_string_value(json_object_get(a, "blobId"));
        if (strcmp(type, "application/pdf") == 0) {
            H_ASSERT_STR_EQ(json_string_value(json_object_get(a, "name")), "r\xc3\xa9sum\xc3\xa9.pdf");
            assert_download_equals(b, pdf, pdf_len);
            seen_pdf = true;
        } else {
            H_ASSERT_STR_EQ(json_string_value(json_object_get(a, "cid")), "img1");
            assert_download_equals(b, png, sizeof(png) - 1);
            seen_png = true;
        }
    }
    H_ASSERT(seen_pdf && seen_png);
    json_decref(e);
    json_decref(call);

    /* a plain IMAP client finds it, \Draft set, multipart/mixed on the wire */
    H_ASSERT(harness_imap_cmd(fx.imap, "SELECT WriteTests") == 0);
    H_ASSERT(harness_imap_cmd(fx.imap, "UID SEARCH SUBJECT \"with attachments\"") == 0);
    const char *s = strstr(harness_imap_last(fx.imap), "* SEARCH ");
    H_ASSERT(s != NULL && s[9] >= '1' && s[9] <= '9');
    unsigned uid = (unsigned)strtoul(s + 9, NULL, 10);
    H_ASSERT(harness_imap_cmd(fx.imap, "UID FETCH %u (FLAGS BODYSTRUCTURE)", uid) == 0);
    const char *last = harness_imap_last(fx.imap);
    H_ASSERT_MSG(strstr(last, "\\Draft") != NULL && strstr(last, "\"mixed\"") != NULL &&
                     strstr(last, "\"related\"") != NULL && strstr(last, "\"alternative\"") != NULL,
                 "FETCH: %s", last);
    free(pdf);
    free(pdf_blob);
    free(png_blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_upload, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_upload_too_large, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_upload_chunked, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_upload_concurrency, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_upload_expiry, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_import, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_import_received, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_parse, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_copy, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_create_with_attachments, harness_teardown_check_alive),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    free(imported_id);
    return rc;
}
