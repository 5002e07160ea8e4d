/* test_download.c - the downloadUrl (RFC 8620 §6.2) beyond the basics in
 * test_email_get.c: caching headers, file names that need escaping, a
 * large base64 attachment (decoded bytes and a range in its middle), an
 * attached message/rfc822, and blobs whose message another IMAP client
 * moved (still served) or expunged (404) since the gateway last looked.
 *
 * Blob ids are taken from Email/get (attachments[].blobId, blobId), never
 * built by hand.
 */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_dovecot.h"

#define USING "[\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"]"
#define BIG_LEN (700u * 1024u)

static struct {
    struct harness_mail_env env;    /* Dovecot, the gateway, the other IMAP client */
    char *big_msg;              /* the message with the large attachment */
    unsigned char *big_bytes;   /* its attachment, decoded */
} fx;

static const char msg_nested[] =
    "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: download nested\r\n"
    "Message-ID: <download-nested@example.org>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nSee the forwarded message.\r\n"
    "--b1\r\nContent-Type: message/rfc822\r\n"
    "Content-Disposition: attachment; filename=\"fwd.eml\"\r\n\r\n"
    "From: b@example.org\r\nSubject: inner\r\n\r\nInner body.\r\n"
    "--b1--\r\n";

static const char msg_moved[] =
    "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: download moved\r\n"
    "Message-ID: <download-moved@example.org>\r\n\r\nI will move.\r\n";

/* A multipart message with a BIG_LEN attachment of patterned bytes,
 * base64 in 76-column lines. */
static void make_big(void)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char head[] =
        "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\nSubject: download big\r\n"
        "Message-ID: <download-big@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n"
        "--bb\r\nContent-Type: text/plain\r\n\r\nA large file.\r\n"
        "--bb\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: attachment; filename=\"big.bin\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n";
    size_t cap = sizeof(head) + BIG_LEN * 2 + 64;
    fx.big_bytes = malloc(BIG_LEN);
    fx.big_msg = malloc(cap);
    H_ASSERT(fx.big_bytes != NULL && fx.big_msg != NULL);
    for (size_t i = 0; i < BIG_LEN; i++)
        fx.big_bytes[i] = (unsigned char)((i * 7 + i / 251) & 0xff);
    size_t o = strlen(head), col = 0;
    memcpy(fx.big_msg, head, o);
    for (size_t i = 0; i < BIG_LEN; i += 3) {
        uint32_t v = (uint32_t)fx.big_bytes[i] << 16;
        size_t n = BIG_LEN - i < 3 ? BIG_LEN - i : 3;
        if (n > 1)
            v |= (uint32_t)fx.big_bytes[i + 1] << 8;
        if (n > 2)
            v |= fx.big_bytes[i + 2];
        fx.big_msg[o++] = b64[(v >> 18) & 63];
        fx.big_msg[o++] = b64[(v >> 12) & 63];
        fx.big_msg[o++] = n > 1 ? b64[(v >> 6) & 63] : '=';
        fx.big_msg[o++] = n > 2 ? b64[v & 63] : '=';
        if ((col += 4) == 76) {
            fx.big_msg[o++] = '\r';
            fx.big_msg[o++] = '\n';
            col = 0;
        }
    }
    memcpy(fx.big_msg + o, "\r\n--bb--\r\n", 11);
}

static void append(const char *msg)
{
    H_ASSERT_MSG(harness_imap_append(fx.env.imap, "INBOX", NULL, msg, strlen(msg), NULL) == 0,
                 "APPEND: %s", harness_imap_last(fx.env.imap));
}

static int group_setup(void **state)
{
    (void)state;
    if (harness_mail_env_start_imap(&fx.env) != 0)
        return -1;
    make_big();
    append(msg_nested);
    append(msg_moved);
    append(fx.big_msg);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(fx.big_msg);
    free(fx.big_bytes);
    return harness_mail_env_stop(&fx.env);
}

/* The Email with this subject: its blobId and attachments (new reference). */
static json_t *email_by_subject(const char *subject)
{
    char *body = NULL;
    H_ASSERT(asprintf(&body,
                      "{\"using\": " USING ", \"methodCalls\": [[\"Email/get\", {\"accountId\":"
                      " \"%s\", \"ids\": null, \"properties\": [\"subject\", \"blobId\","
                      " \"size\", \"attachments\"]}, \"0\"]]}",
                      fx.env.account_id) > 0);
    json_t *resp = harness_api_ok(fx.env.gw->port, "demo", "demo", body);
    free(body);
    json_t *args = json_array_get(json_array_get(json_object_get(resp, "methodResponses"), 0), 1);
    json_t *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(args, "list"), i, e) {
        const char *s = json_string_value(json_object_get(e, "subject"));
        if (s != NULL && strcmp(s, subject) == 0)
            found = json_incref(e);
    }
    json_decref(resp);
    H_ASSERT_MSG(found != NULL, "no Email with subject %s", subject);
    return found;
}

static const char *attachment_blob(json_t *email, size_t i)
{
    const char *b = json_string_value(
        json_object_get(json_array_get(json_object_get(email, "attachments"), i), "blobId"));
    H_ASSERT(b != NULL);
    return b;
}

static void download(const char *blob, const char *name, const char *type, const char *range,
                     struct harness_response *r)
{
    char path[512];
    char range_line[128];
    int n = snprintf(path, sizeof(path), "/jmap/download/%s/%s/%s?type=%s", fx.env.account_id, blob,
                     name, type);
    H_ASSERT(n > 0 && (size_t)n < sizeof(path));
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = { auth, NULL, NULL };
    if (range != NULL) {
        snprintf(range_line, sizeof(range_line), "Range: %s", range);
        headers[1] = range_line;
    }
    H_ASSERT(harness_http_request(fx.env.gw->port, "GET", path, headers, NULL, 0, r) == 0);
    free(auth);
}

/* Blob ids never change their bytes: cacheable, but only by this user. */
static void test_headers_and_names(void **state)
{
    (void)state;
    struct harness_response r;
    json_t *e = email_by_subject("download nested");
    const char *blob = json_string_value(json_object_get(e, "blobId"));
    H_ASSERT(blob != NULL);
    download(blob, "a%22b%5Cc.eml", "message/rfc822", NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    const char *cc = harness_response_header(&r, "Cache-Control");
    H_ASSERT_MSG(cc != NULL && harness_header_has_token(cc, "private") &&
                     strstr(cc, "immutable") != NULL,
                 "Cache-Control: %s", cc ? cc : "(none)");
    /* RFC 6266: quote and backslash escaped in the quoted string */
    H_ASSERT_HEADER_EQ(&r, "Content-Disposition", "attachment; filename=\"a\\\"b\\\\c.eml\"");
    H_ASSERT_INT_EQ((long long)r.body_len, (long long)strlen(msg_nested));
    H_ASSERT(memcmp(r.body, msg_nested, r.body_len) == 0);
    harness_response_free(&r);
    json_decref(e);
}

/* An attached message is served as the bytes of the embedded message. */
static void test_attached_message(void **state)
{
    (void)state;
    struct harness_response r;
    json_t *e = email_by_subject("download nested");
    json_t *att = json_array_get(json_object_get(e, "attachments"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(att, "type")), "message/rfc822");
    download(attachment_blob(e, 0), "fwd.eml", "message/rfc822", NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    static const char inner[] = "From: b@example.org\r\nSubject: inner\r\n\r\nInner body.";
    H_ASSERT_MSG(r.body_len >= strlen(inner) && memcmp(r.body, inner, strlen(inner)) == 0,
                 "attached message: %.200s", r.body);
    H_ASSERT_INT_EQ((long long)r.body_len, json_integer_value(json_object_get(att, "size")));
    harness_response_free(&r);
    json_decref(e);
}

static void test_big_attachment(void **state)
{
    (void)state;
    struct harness_response r;
    json_t *e = email_by_subject("download big");
    const char *blob = attachment_blob(e, 0);
    download(blob, "big.bin", "application/octet-stream", NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, BIG_LEN);
    H_ASSERT_MSG(memcmp(r.body, fx.big_bytes, BIG_LEN) == 0, "decoded bytes differ");
    harness_response_free(&r);

    download(blob, "big.bin", "application/octet-stream", "bytes=300000-300099", &r);
    H_ASSERT_STATUS(&r, 206);
    char want[64];
    snprintf(want, sizeof(want), "bytes 300000-300099/%u", BIG_LEN);
    H_ASSERT_HEADER_EQ(&r, "Content-Range", want);
    H_ASSERT_INT_EQ((long long)r.body_len, 100);
    H_ASSERT(memcmp(r.body, fx.big_bytes + 300000, 100) == 0);
    harness_response_free(&r);

    /* The whole message, and a range of it past the headers. */
    const char *whole = json_string_value(json_object_get(e, "blobId"));
    size_t len = strlen(fx.big_msg);
    download(whole, "big.eml", "message/rfc822", "bytes=1000-", &r);
    H_ASSERT_STATUS(&r, 206);
    H_ASSERT_INT_EQ((long long)r.body_len, (long long)(len - 1000));
    H_ASSERT(memcmp(r.body, fx.big_msg + 1000, len - 1000) == 0);
    harness_response_free(&r);
    char tail[64];
    snprintf(tail, sizeof(tail), "bytes=%zu-", len);
    download(whole, "big.eml", "message/rfc822", tail, &r);
    H_ASSERT_STATUS(&r, 416);
    snprintf(want, sizeof(want), "bytes */%zu", len);
    H_ASSERT_HEADER_EQ(&r, "Content-Range", want);
    harness_response_free(&r);
    snprintf(tail, sizeof(tail), "bytes=%zu-%zu", len - 10, len + 50);
    download(whole, "big.eml", "message/rfc822", tail, &r);
    H_ASSERT_STATUS(&r, 206);
    H_ASSERT_INT_EQ((long long)r.body_len, 10);
    H_ASSERT(memcmp(r.body, fx.big_msg + len - 10, 10) == 0);
    harness_response_free(&r);
    json_decref(e);
}

/* Another client moves the message and then expunges it, with no JMAP call
 * in between: the old blob id still names the same bytes after the move,
 * and nothing after the expunge. */
static void test_moved_then_expunged(void **state)
{
    (void)state;
    struct harness_response r;
    json_t *e = email_by_subject("download moved");
    char blob[128];
    snprintf(blob, sizeof(blob), "%s", json_string_value(json_object_get(e, "blobId")));
    json_decref(e);

    H_ASSERT(harness_imap_cmd(fx.env.imap, "CREATE Elsewhere") == 0);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "SELECT INBOX") == 0);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "SEARCH SUBJECT \"download moved\"") == 0);
    unsigned seq = 0;
    const char *s = strstr(harness_imap_last(fx.env.imap), "* SEARCH ");
    H_ASSERT(s != NULL && sscanf(s, "* SEARCH %u", &seq) == 1);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "MOVE %u Elsewhere", seq) == 0);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "CLOSE") == 0);

    download(blob, "m.eml", "message/rfc822", NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, (long long)strlen(msg_moved));
    H_ASSERT(memcmp(r.body, msg_moved, r.body_len) == 0);
    harness_response_free(&r);

    H_ASSERT(harness_imap_cmd(fx.env.imap, "SELECT Elsewhere") == 0);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "STORE 1:* +FLAGS.SILENT (\\Deleted)") == 0);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "EXPUNGE") == 0);
    H_ASSERT(harness_imap_cmd(fx.env.imap, "CLOSE") == 0);
    download(blob, "m.eml", "message/rfc822", NULL, &r);
    json_decref(H_ASSERT_PROBLEM(&r, 404, NULL));
    harness_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_headers_and_names, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_attached_message, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_big_attachment, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_moved_then_expunged, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests_name("download", tests, group_setup, group_teardown);
}
