/* test_email_get.c - Email/get end to end: messages APPENDed to a private
 * Dovecot over plain IMAP, read through the gateway's HTTP API. Covers the
 * list properties (from the mail cache), body properties (one fetch of the
 * message: bodyStructure, textBody/htmlBody/attachments, bodyValues with
 * truncation, headers, header:* forms), notFound for unknown and expunged
 * ids, invalidArguments for forbidden header forms, and list views asked
 * again (the whole-Email cache): new keywords show, the rest stays the
 * same, property subsets and header:* forms are told apart.
 *
 * Needs the mail cache's email sync (mail_store_sync / get_emails).
 */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demo_dovecot.h"

#define USING "[\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"]"

static struct harness_mail_env fx;

static const char msg_multi[] =
    "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.com>\r\n"
    "To: demo@jmap-gateway.test\r\n"
    "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= email-get-test\r\n"
    "Date: Tue, 03 Nov 2026 12:00:00 +0100\r\n"
    "Message-ID: <email-get-1@example.com>\r\n"
    "X-Custom: =?utf-8?q?caf=C3=A9?=\r\n"
    "List-Post: <mailto:list@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
    "--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n"
    "--alt\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n\r\nHallo Welt, caf=E9!\r\n"
    "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    "<p>Hallo <b>Welt</b></p>\r\n--alt--\r\n"
    "--outer\r\nContent-Type: application/pdf; name=\"x.pdf\"\r\n"
    "Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--outer--\r\n";

static const char msg_plain[] =
    "From: a@example.org\r\nTo: demo@jmap-gateway.test\r\n"
    "Subject: plain email-get-test\r\nMessage-ID: <email-get-2@example.com>\r\n"
    "In-Reply-To: <email-get-1@example.com>\r\n\r\nJust text.\r\n";

/* One plain IMAP session as demo: APPENDs to INBOX, then commands. */
static void imap_session(const char *const *msgs, size_t n_msgs, const char *const *cmds)
{
    harness_imap_session(demo_dovecot_imap_port(fx.dovecot), "demo", "demo", "INBOX", msgs,
                         n_msgs, cmds);
}

static int group_setup(void **state)
{
    (void)state;
    if (harness_mail_env_start(&fx) != 0)
        return -1;
    const char *const msgs[] = { msg_multi, msg_plain };
    imap_session(msgs, 2, NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return harness_mail_env_stop(&fx);
}

/* Runs one Email/get with the given arguments (JSON members after
 * accountId) and returns the method response [name, args, id]. */
static json_t *email_get(const char *more_args)
{
    char *args = NULL;
    H_ASSERT(asprintf(&args, "{\"accountId\": \"%s\"%s%s}", fx.account_id,
                      more_args[0] ? ", " : "", more_args) > 0);
    json_t *call = harness_jmap_call(fx.gw->port, "demo", "demo", "Email/get", args);
    free(args);
    return call;
}

static json_t *email_get_ok(const char *more_args)
{
    json_t *call = email_get(more_args);
    const char *name = json_string_value(json_array_get(call, 0));
    H_ASSERT_MSG(name != NULL && strcmp(name, "Email/get") == 0, "Email/get failed");
    return call;
}

/* The ids of our two messages, found through ids: null. */
static void find_ids(char *multi, char *plain)
{
    json_t *call = email_get_ok("\"ids\": null, \"properties\": [\"subject\"]");
    json_t *list = json_object_get(json_array_get(call, 1), "list");
    size_t i;
    json_t *e;
    multi[0] = plain[0] = '\0';
    json_array_foreach(list, i, e) {
        const char *subject = json_string_value(json_object_get(e, "subject"));
        const char *id = json_string_value(json_object_get(e, "id"));
        H_ASSERT(id != NULL && strlen(id) < 64);
        if (subject != NULL && strcmp(subject, "Gr\xc3\xbc\xc3\x9f" "e email-get-test") == 0)
            strcpy(multi, id);
        if (subject != NULL && strcmp(subject, "plain email-get-test") == 0)
            strcpy(plain, id);
        /* properties lists only subject: id comes anyway, nothing else */
        H_ASSERT_INT_EQ((long long)json_object_size(e), 2);
    }
    json_decref(call);
    H_ASSERT_MSG(multi[0] != '\0' && plain[0] != '\0', "appended Emails not listed");
}

static void test_list_properties(void **state)
{
    char multi[64], plain[64], args[512];
    (void)state;
    find_ids(multi, plain);
    snprintf(args, sizeof(args), "\"ids\": [\"%s\", \"Enosuchemail00\", \"%s\"]", multi, plain);
    json_t *call = email_get_ok(args);
    json_t *res = json_array_get(call, 1);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(res, "accountId")), fx.account_id);
    H_ASSERT(json_is_string(json_object_get(res, "state")));
    json_t *nf = json_object_get(res, "notFound");
    H_ASSERT_INT_EQ((long long)json_array_size(nf), 1);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(nf, 0)), "Enosuchemail00");
    json_t *list = json_object_get(res, "list");
    H_ASSERT_INT_EQ((long long)json_array_size(list), 2);

    json_t *m = json_array_get(list, 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "id")), multi);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(
                        json_array_get(json_object_get(m, "from"), 0), "name")),
                    "J\xc3\xbcrgen");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(m, "messageId"), 0)),
                    "email-get-1@example.com");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "sentAt")), "2026-11-03T12:00:00+01:00");
    H_ASSERT(json_is_true(json_object_get(m, "hasAttachment")));
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(m, "size")), (long long)strlen(msg_multi));
    H_ASSERT(json_is_string(json_object_get(m, "preview")));
    H_ASSERT(json_is_string(json_object_get(m, "threadId")));
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(m, "mailboxIds")), 1);
    H_ASSERT(json_is_object(json_object_get(m, "keywords")));
    /* default properties: bodyValues present but empty without fetch* */
    H_ASSERT_INT_EQ((long long)json_object_size(json_object_get(m, "bodyValues")), 0);
    json_t *text = json_object_get(m, "textBody");
    H_ASSERT_INT_EQ((long long)json_array_size(text), 1);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(text, 0), "partId")), "1.1");
    json_t *html = json_object_get(m, "htmlBody");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(html, 0), "partId")), "1.2");
    json_t *att = json_array_get(json_object_get(m, "attachments"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(att, "name")), "r\xc3\xa9sum\xc3\xa9.pdf");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(att, "type")), "application/pdf");
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(att, "size")), 9);
    char blob[128];
    snprintf(blob, sizeof(blob), "B%s_2", multi);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(att, "blobId")), blob);

    json_t *p = json_array_get(list, 1);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(p, "subject")), "plain email-get-test");
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(p, "inReplyTo"), 0)),
                    "email-get-1@example.com");
    H_ASSERT(json_is_null(json_object_get(p, "references")));
    H_ASSERT(json_is_false(json_object_get(p, "hasAttachment")));
    H_ASSERT(strstr(json_string_value(json_object_get(p, "preview")), "Just text.") != NULL);
    json_decref(call);
}

static void test_body_properties(void **state)
{
    char multi[64], plain[64], args[1024];
    (void)state;
    find_ids(multi, plain);
    snprintf(args, sizeof(args),
             "\"ids\": [\"%s\"], \"properties\": [\"bodyStructure\", \"bodyValues\","
             " \"headers\", \"header:X-Custom:asText\", \"header:list-post:asURLs:all\"],"
             " \"bodyProperties\": [\"partId\", \"type\", \"header:Content-Type\"],"
             " \"fetchAllBodyValues\": true, \"maxBodyValueBytes\": 14",
             multi);
    json_t *call = email_get_ok(args);
    json_t *m = json_array_get(json_object_get(json_array_get(call, 1), "list"), 0);
    H_ASSERT(m != NULL);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(m, "header:X-Custom:asText")),
                    "caf\xc3\xa9");
    json_t *urls = json_array_get(json_object_get(m, "header:list-post:asURLs:all"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(urls, 0)), "mailto:list@example.com");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(m, "headers")), 9);

    json_t *bs = json_object_get(m, "bodyStructure");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(bs, "type")), "multipart/mixed");
    H_ASSERT(json_is_null(json_object_get(bs, "partId")));
    json_t *alt = json_array_get(json_object_get(bs, "subParts"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(alt, "type")), "multipart/alternative");
    json_t *plain_part = json_array_get(json_object_get(alt, "subParts"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(plain_part, "header:Content-Type")),
                    " text/plain; charset=iso-8859-1");

    json_t *values = json_object_get(m, "bodyValues");
    H_ASSERT_INT_EQ((long long)json_object_size(values), 2);
    json_t *v1 = json_object_get(values, "1.1");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(v1, "value")), "Hallo Welt, ca");
    H_ASSERT(json_is_true(json_object_get(v1, "isTruncated")));
    H_ASSERT(json_is_false(json_object_get(v1, "isEncodingProblem")));
    json_t *v2 = json_object_get(values, "1.2");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(v2, "value")), "<p>Hallo <b>We");
    json_decref(call);
}

static void test_invalid_arguments(void **state)
{
    static const char *const bad[] = {
        "\"ids\": [], \"properties\": [\"header:From:asDate\"]",
        "\"ids\": [], \"bodyProperties\": [\"textBody\"]",
        "\"ids\": [], \"maxBodyValueBytes\": -3",
        "\"ids\": [], \"fetchTextBodyValues\": \"yes\"",
        "\"ids\": \"E1\"",
        "\"ids\": [], \"bogus\": 1",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *call = email_get(bad[i]);
        H_ASSERT_STR_EQ(json_string_value(json_array_get(call, 0)), "error");
        H_ASSERT_STR_EQ(json_string_value(json_object_get(json_array_get(call, 1), "type")),
                        "invalidArguments");
        json_decref(call);
    }
}

/* An Email expunged by another client is notFound, for list and body
 * properties alike. Runs last: it removes the plain message. */
/* GET of a download path with optional extra header lines. */
static void download(const char *path, const char *extra, struct harness_response *r)
{
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = { auth, extra, NULL };
    H_ASSERT(harness_http_request(fx.gw->port, "GET", path, headers, NULL, 0, r) == 0);
    free(auth);
}

/* The downloadUrl: the whole message, one part decoded (BINARY), ranges,
 * names, and every way to ask for something that is not there. */
static void test_download(void **state)
{
    char multi[64], plain[64], path[512];
    struct harness_response r;
    (void)state;
    find_ids(multi, plain);

    snprintf(path, sizeof(path), "/jmap/download/%s/B%s/mail.eml?type=message/rfc822",
             fx.account_id, multi);
    download(path, NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, (long long)strlen(msg_multi));
    H_ASSERT(memcmp(r.body, msg_multi, r.body_len) == 0);
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Type"), "message/rfc822");
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Disposition"),
                    "attachment; filename=\"mail.eml\"");
    harness_response_free(&r);

    /* The PDF part, base64 in the message, decoded; a non-ASCII name. */
    snprintf(path, sizeof(path), "/jmap/download/%s/B%s_2/r%%C3%%A9sum%%C3%%A9.pdf?type=application/pdf",
             fx.account_id, multi);
    download(path, NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, 9);
    H_ASSERT(memcmp(r.body, "%PDF-1.4\n", 9) == 0);
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Disposition"),
                    "attachment; filename=\"r__sum__.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    harness_response_free(&r);

    /* The quoted-printable text part, decoded to its charset's bytes. */
    snprintf(path, sizeof(path), "/jmap/download/%s/B%s_1-1/t.txt?type=text/plain", fx.account_id,
             multi);
    download(path, NULL, &r);
    H_ASSERT_STATUS(&r, 200);
    /* The line break before the boundary belongs to the delimiter. */
    H_ASSERT_INT_EQ((long long)r.body_len, 17);
    H_ASSERT(memcmp(r.body, "Hallo Welt, caf\xe9!", 17) == 0);
    harness_response_free(&r);

    /* Ranges: first bytes, suffix, open end, past the end. */
    snprintf(path, sizeof(path), "/jmap/download/%s/B%s_2/a.pdf", fx.account_id, multi);
    download(path, "Range: bytes=0-3", &r);
    H_ASSERT_STATUS(&r, 206);
    H_ASSERT_INT_EQ((long long)r.body_len, 4);
    H_ASSERT(memcmp(r.body, "%PDF", 4) == 0);
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Range"), "bytes 0-3/9");
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Type"), "application/octet-stream");
    harness_response_free(&r);
    download(path, "Range: bytes=-4", &r);
    H_ASSERT_STATUS(&r, 206);
    H_ASSERT(r.body_len == 4 && memcmp(r.body, "1.4\n", 4) == 0);
    harness_response_free(&r);
    download(path, "Range: bytes=5-", &r);
    H_ASSERT_STATUS(&r, 206);
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Range"), "bytes 5-8/9");
    harness_response_free(&r);
    download(path, "Range: bytes=9-20", &r);
    H_ASSERT_STATUS(&r, 416);
    H_ASSERT_STR_EQ(harness_response_header(&r, "Content-Range"), "bytes */9");
    harness_response_free(&r);
    download(path, "Range: bytes=0-1,3-4", &r);     /* several ranges: the whole blob */
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_INT_EQ((long long)r.body_len, 9);
    harness_response_free(&r);

    /* Not there: another account, unknown and malformed blob ids, no name,
     * a bad type. */
    char missing[5][300];
    snprintf(missing[0], sizeof(missing[0]), "/jmap/download/Anotmine/B%s/x", multi);
    snprintf(missing[1], sizeof(missing[1]), "/jmap/download/%s/BEnosuchemail0/x", fx.account_id);
    snprintf(missing[2], sizeof(missing[2]), "/jmap/download/%s/Xnotablob/x", fx.account_id);
    snprintf(missing[3], sizeof(missing[3]), "/jmap/download/%s/B%s_1--2/x", fx.account_id, multi);
    snprintf(missing[4], sizeof(missing[4]), "/jmap/download/%s/B%s/", fx.account_id, multi);
    for (size_t i = 0; i < 5; i++) {
        download(missing[i], NULL, &r);
        json_decref(H_ASSERT_PROBLEM(&r, 404, NULL));
        harness_response_free(&r);
    }
    snprintf(path, sizeof(path), "/jmap/download/%s/B%s/x?type=nonsense", fx.account_id, multi);
    download(path, NULL, &r);
    json_decref(H_ASSERT_PROBLEM(&r, 400, NULL));
    harness_response_free(&r);
    /* Without credentials: 401 like the API. */
    snprintf(path, sizeof(path), "/jmap/download/%s/B%s/x", fx.account_id, multi);
    H_ASSERT(harness_http_request(fx.gw->port, "GET", path, NULL, NULL, 0, &r) == 0);
    H_ASSERT_STATUS(&r, 401);
    harness_response_free(&r);
}

#define LIST_PROPS                                                                             \
    "\"properties\": [\"id\", \"threadId\", \"mailboxIds\", \"keywords\", \"from\", "   \
    "\"to\", \"subject\", \"receivedAt\", \"size\", \"preview\", \"hasAttachment\"]"

/* The Email of id in an Email/get of ids [id] with the given properties
 * (new reference). */
static json_t *get_one(const char *id, const char *props)
{
    char args[1024];
    snprintf(args, sizeof(args), "\"ids\": [\"%s\"], %s", id, props);
    json_t *call = email_get_ok(args);
    json_t *list = json_object_get(json_array_get(call, 1), "list");
    H_ASSERT_INT_EQ((long long)json_array_size(list), 1);
    json_t *e = json_incref(json_array_get(list, 0));
    json_decref(call);
    return e;
}

/* a and b hold the same properties with equal values, keywords aside. */
static void assert_same_but_keywords(json_t *a, json_t *b)
{
    const char *key;
    json_t *v;
    H_ASSERT_INT_EQ((long long)json_object_size(a), (long long)json_object_size(b));
    json_object_foreach(a, key, v) {
        if (strcmp(key, "keywords") != 0)
            H_ASSERT_MSG(json_equal(v, json_object_get(b, key)), "property changed");
    }
}

static void test_list_view_again(void **state)
{
    char multi[64], plain[64];
    (void)state;
    find_ids(multi, plain);
    json_t *first = get_one(multi, LIST_PROPS);
    H_ASSERT_INT_EQ((long long)json_object_size(first), 11);
    H_ASSERT(json_object_get(json_object_get(first, "keywords"), "$flagged") == NULL);
    json_t *again = get_one(multi, LIST_PROPS);
    H_ASSERT(json_equal(first, again));
    json_decref(again);

    /* Flagged behind the gateway's back: the next view shows it. */
    const char *const flag[] = { "SELECT INBOX", "STORE 1:* +FLAGS.SILENT (\\Flagged)", NULL };
    imap_session(NULL, 0, flag);
    json_t *flagged = get_one(multi, LIST_PROPS);
    H_ASSERT(json_is_true(json_object_get(json_object_get(flagged, "keywords"), "$flagged")));
    assert_same_but_keywords(first, flagged);
    json_t *subset = get_one(multi, "\"properties\": [\"keywords\"]");
    H_ASSERT_INT_EQ((long long)json_object_size(subset), 2);   /* id comes anyway */
    H_ASSERT(json_is_true(json_object_get(json_object_get(subset, "keywords"), "$flagged")));
    json_decref(subset);

    /* And back: the flag goes from the view again. */
    const char *const unflag[] = { "SELECT INBOX", "STORE 1:* -FLAGS.SILENT (\\Flagged)", NULL };
    imap_session(NULL, 0, unflag);
    json_t *back = get_one(multi, LIST_PROPS);
    H_ASSERT(json_equal(first, back));
    json_decref(back);
    json_decref(flagged);
    json_decref(first);

    /* The same field in other forms is another property, each time. */
    for (int i = 0; i < 2; i++) {
        json_t *forms = get_one(multi, "\"properties\": [\"subject\", "
                                       "\"header:Subject:asText\", \"header:Subject\"]");
        H_ASSERT_STR_EQ(json_string_value(json_object_get(forms, "subject")),
                        "Gr\xc3\xbc\xc3\x9f" "e email-get-test");
        H_ASSERT_STR_EQ(json_string_value(json_object_get(forms, "header:Subject:asText")),
                        "Gr\xc3\xbc\xc3\x9f" "e email-get-test");
        H_ASSERT_STR_EQ(json_string_value(json_object_get(forms, "header:Subject")),
                        " =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= email-get-test");
        json_decref(forms);
        json_t *raw = get_one(multi, "\"properties\": [\"header:Subject\"]");
        H_ASSERT_INT_EQ((long long)json_object_size(raw), 2);
        H_ASSERT_STR_EQ(json_string_value(json_object_get(raw, "header:Subject")),
                        " =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= email-get-test");
        json_decref(raw);
    }
}

static void test_expunged(void **state)
{
    char multi[64], plain[64], args[256];
    (void)state;
    find_ids(multi, plain);
    /* The plain message was appended last: it is INBOX's last message. */
    const char *const cmds[] = { "SELECT INBOX", "STORE * +FLAGS.SILENT (\\Deleted)", "EXPUNGE",
                                 NULL };
    imap_session(NULL, 0, cmds);

    snprintf(args, sizeof(args), "\"ids\": [\"%s\"], \"properties\": [\"subject\"]", plain);
    json_t *call = email_get_ok(args);
    json_t *res = json_array_get(call, 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(res, "list")), 0);
    H_ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(res, "notFound"), 0)), plain);
    json_decref(call);

    snprintf(args, sizeof(args), "\"ids\": [\"%s\"], \"properties\": [\"bodyStructure\"]", plain);
    call = email_get_ok(args);
    res = json_array_get(call, 1);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(res, "notFound")), 1);
    json_decref(call);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_list_properties, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_body_properties, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_invalid_arguments, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_download, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_list_view_again, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_expunged, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
