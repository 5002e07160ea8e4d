/* test_email_body.c - Email properties from a MIME tree (include/jmap_mime.h):
 * textBody/htmlBody/attachments by RFC 8621's parseStructure (the RFC's
 * own example among them), EmailBodyPart JSON with default and custom
 * bodyProperties (header forms on parts), bodyValues (charsets, transfer
 * encodings, truncation on character and tag boundaries, encoding
 * problems), header properties, preview, hasAttachment; and random
 * messages, whose every Email must be buildable JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_mime.h"

static struct jmap_mime_message *parse(const char *msg)
{
    struct jmap_mime_message *m = NULL;
    assert_int_equal(jmap_mime_parse(msg, strlen(msg), &m, NULL), 0);
    return m;
}

/* The sections of a list joined by spaces. */
static void sections(const struct jmap_email_part_list *l, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%s", i ? " " : "", l->v[i]->section);
    }
}

struct lists_case {
    const char *name;
    const char *msg;
    const char *text, *html, *att;
};

#define P(type, extra, body) "Content-Type: " type "\r\n" extra "\r\n" body "\r\n"
#define MP(sub, b) "Content-Type: multipart/" sub "; boundary=" b "\r\n\r\n"

/* RFC 8621 §4.1.4's example: A..K by section. */
static const char rfc_example[] =
    MP("mixed", "o")
    "--o\r\n" P("text/plain", "Content-Disposition: inline\r\n", "A")
    "--o\r\n" MP("mixed", "m")
    "--m\r\n" MP("alternative", "a")
    "--a\r\n" MP("mixed", "x")
    "--x\r\n" P("text/plain", "Content-Disposition: inline\r\n", "B")
    "--x\r\n" P("image/jpeg", "Content-Disposition: inline\r\n", "C")
    "--x\r\n" P("text/plain", "Content-Disposition: inline\r\n", "D")
    "--x--\r\n"
    "--a\r\n" MP("related", "r")
    "--r\r\n" P("text/html", "", "E")
    "--r\r\n" P("image/jpeg", "", "F")
    "--r--\r\n"
    "--a--\r\n"
    "--m\r\n" P("image/jpeg", "Content-Disposition: attachment\r\n", "G")
    "--m\r\n" P("application/x-excel", "", "H")
    "--m\r\n" P("message/rfc822", "", "Subject: J\r\n\r\nJ")
    "--m--\r\n"
    "--o\r\n" P("text/plain", "Content-Disposition: inline\r\n", "K")
    "--o--\r\n";

static const struct lists_case lists_cases[] = {
    { "RFC 8621 example", rfc_example, "1 2.1.1.1 2.1.1.2 2.1.1.3 3", "1 2.1.2.1 3",
      "2.1.1.2 2.1.2.2 2.2 2.3 2.4" },
    { "single text", "Subject: x\r\n\r\nhi", "1", "1", "" },
    { "single html", P("text/html", "", "<p>x</p>"), "1", "1", "" },
    { "single pdf", P("application/pdf", "", "%PDF"), "", "", "1" },
    { "alternative", MP("alternative", "a") "--a\r\n" P("text/plain", "", "t")
      "--a\r\n" P("text/html", "", "h") "--a--\r\n", "1", "2", "" },
    { "alternative html only", MP("alternative", "a") "--a\r\n" P("text/html", "", "h")
      "--a--\r\n", "1", "1", "" },
    { "mixed text + attachment + inline image",
      MP("mixed", "b") "--b\r\n" P("text/plain", "", "t")
      "--b\r\n" P("application/pdf; name=a.pdf", "Content-Disposition: attachment\r\n", "p")
      "--b\r\n" P("image/png", "Content-Disposition: inline; filename=i.png\r\n", "i")
      "--b--\r\n", "1 3", "1 3", "2" },
    { "text with a filename after the first is an attachment",
      MP("mixed", "b") "--b\r\n" P("text/plain", "", "t")
      "--b\r\n" P("text/plain; name=notes.txt", "", "n") "--b--\r\n", "1", "1", "2" },
    { "related: only the first is inline",
      MP("related", "r") "--r\r\n" P("text/html", "", "h")
      "--r\r\n" P("image/png", "Content-ID: <i@x>\r\n", "i") "--r--\r\n", "1", "1", "2" },
    { "alternative of text and related html",
      MP("alternative", "a") "--a\r\n" P("text/plain", "", "t")
      "--a\r\n" MP("related", "r") "--r\r\n" P("text/html", "", "h")
      "--r\r\n" P("image/gif", "", "g") "--r--\r\n--a--\r\n", "1", "2.1", "2.2" },
    { "inline image in text-only alternative branch",
      MP("alternative", "a") "--a\r\n" MP("mixed", "m") "--m\r\n" P("text/plain", "", "t")
      "--m\r\n" P("image/png", "", "i") "--m--\r\n"
      "--a\r\n" P("text/html", "", "h") "--a--\r\n", "1.1 1.2", "2", "1.2" },
};

static void test_lists(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(lists_cases) / sizeof(lists_cases[0]); i++) {
        const struct lists_case *c = &lists_cases[i];
        struct jmap_mime_message *m = parse(c->msg);
        struct jmap_email_part_list text = { 0 }, html = { 0 }, att = { 0 };
        char t[256], h[256], a[256];
        assert_int_equal(jmap_email_body_lists(m, &text, &html, &att), 0);
        sections(&text, t, sizeof(t));
        sections(&html, h, sizeof(h));
        sections(&att, a, sizeof(a));
        if (strcmp(t, c->text) != 0 || strcmp(h, c->html) != 0 || strcmp(a, c->att) != 0)
            fail_msg("%s: text [%s] html [%s] att [%s], want [%s] [%s] [%s]", c->name, t, h, a,
                     c->text, c->html, c->att);
        jmap_email_part_list_clear(&text);
        jmap_email_part_list_clear(&html);
        jmap_email_part_list_clear(&att);
        jmap_mime_message_free(&m);
    }
}

/* Builds the Email of msg with the given properties / options and
 * compares it with the expected JSON text (every member). */
static void check_email(const char *msg, const char *props_json, struct jmap_email_body_opts *opts,
                        const char *expected_json)
{
    struct jmap_mime_message *m = parse(msg);
    json_t *props = json_loads(props_json, 0, NULL);
    json_t *expected = json_loads(expected_json, 0, NULL);
    json_t *email = json_object();
    assert_non_null(props);
    if (expected == NULL)
        fail_msg("bad expected JSON: %s", expected_json);
    opts->blob_id = jmap_email_blob_id_of_section;
    opts->blob_ctx = (void *)"Eabc";
    assert_int_equal(jmap_email_from_mime(m, props, opts, email, NULL), 0);
    if (!json_equal(email, expected)) {
        char *got = json_dumps(email, JSON_SORT_KEYS);
        char *want = json_dumps(expected, JSON_SORT_KEYS);
        fail_msg("\n got  %s\n want %s", got, want);
    }
    json_decref(props);
    json_decref(expected);
    json_decref(email);
    jmap_mime_message_free(&m);
}

static const char alt_msg[] =
    "From: \"Joe\" <joe@example.com>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
    "Date: Tue, 03 Nov 2026 12:00:00 +0100\r\nMessage-ID: <m1@example.com>\r\n"
    "List-Id: Party <party.example.com>\r\nReceived: a\r\nReceived: b\r\n"
    MP("alternative", "a")
    "--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    "Content-Language: en\r\nX-Foo: one\r\nX-Foo: =?utf-8?q?tw=C3=B6?=\r\n\r\ncaf=E9\r\nline2=\r\n joined\r\n"
    "--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    "PHA+SMOpbGxvIDxhIGhyZWY9J3gnPmxpbms8L2E+PC9wPg==\r\n--a--\r\n";

static void test_structure_json(void **state)
{
    struct jmap_email_body_opts opts = { 0 };
    (void)state;
    check_email(alt_msg, "[\"bodyStructure\"]", &opts,
                "{\"bodyStructure\": {\"partId\": null, \"blobId\": null, \"size\": 325,"
                " \"name\": null, \"type\": \"multipart/alternative\", \"charset\": null,"
                " \"disposition\": null, \"cid\": null, \"language\": null, \"location\": null,"
                " \"subParts\": ["
                "{\"partId\": \"1\", \"blobId\": \"BEabc_1\", \"size\": 18, \"name\": null,"
                " \"type\": \"text/plain\", \"charset\": \"iso-8859-1\", \"disposition\": null,"
                " \"cid\": null, \"language\": [\"en\"], \"location\": null},"
                "{\"partId\": \"2\", \"blobId\": \"BEabc_2\", \"size\": 34, \"name\": null,"
                " \"type\": \"text/html\", \"charset\": \"utf-8\", \"disposition\": null,"
                " \"cid\": null, \"language\": null, \"location\": null}]}}");

    /* Header forms and headers on parts, as bodyProperties. */
    opts.body_properties = json_loads("[\"partId\", \"header:X-Foo:asText:all\","
                                      " \"header:x-foo\", \"header:Content-Language:all\"]", 0, NULL);
    check_email(alt_msg, "[\"textBody\", \"htmlBody\", \"attachments\"]", &opts,
                "{\"textBody\": [{\"partId\": \"1\", \"header:X-Foo:asText:all\": [\"one\", \"tw\\u00f6\"],"
                " \"header:x-foo\": \" =?utf-8?q?tw=C3=B6?=\", \"header:Content-Language:all\": [\" en\"]}],"
                " \"htmlBody\": [{\"partId\": \"2\", \"header:X-Foo:asText:all\": [],"
                " \"header:x-foo\": null, \"header:Content-Language:all\": []}],"
                " \"attachments\": []}");
    json_decref(opts.body_properties);
    opts.body_properties = json_loads("[\"headers\", \"type\"]", 0, NULL);
    check_email("Content-Type: text/plain\r\nX-8bit: caf\xe9\r\n\r\nx", "[\"textBody\"]", &opts,
                "{\"textBody\": [{\"type\": \"text/plain\", \"headers\": ["
                "{\"name\": \"Content-Type\", \"value\": \" text/plain\"},"
                "{\"name\": \"X-8bit\", \"value\": \" caf\\ufffd\"}]}]}");
    json_decref(opts.body_properties);
}

static void test_header_properties(void **state)
{
    struct jmap_email_body_opts opts = { 0 };
    (void)state;
    check_email(alt_msg,
                "[\"from\", \"subject\", \"sentAt\", \"messageId\", \"inReplyTo\", \"to\","
                " \"header:List-Id:asText\", \"header:Received:all\", \"header:received\","
                " \"header:From:asGroupedAddresses\", \"id\", \"size\"]",
                &opts,
                "{\"from\": [{\"name\": \"Joe\", \"email\": \"joe@example.com\"}],"
                " \"subject\": \"Gr\\u00fc\\u00dfe\", \"sentAt\": \"2026-11-03T12:00:00+01:00\","
                " \"messageId\": [\"m1@example.com\"], \"inReplyTo\": null, \"to\": null,"
                " \"header:List-Id:asText\": \"Party <party.example.com>\","
                " \"header:Received:all\": [\" a\", \" b\"], \"header:received\": \" b\","
                " \"header:From:asGroupedAddresses\": [{\"name\": null, \"addresses\":"
                " [{\"name\": \"Joe\", \"email\": \"joe@example.com\"}]}]}");

    struct jmap_mime_field *f = NULL;
    size_t n = 0;
    static const char block[] = "Subject: cached\r\nTo: a@b.c\r\n\r\n";
    assert_int_equal(jmap_mime_fields_parse(block, sizeof(block) - 1, &f, &n, NULL), 0);
    json_t *v = jmap_email_header_property(f, n, "subject");
    assert_string_equal(json_string_value(v), "cached");
    json_decref(v);
    v = jmap_email_header_property(f, n, "header:To:asAddresses:all");
    assert_int_equal(json_array_size(v), 1);
    json_decref(v);
    assert_null(jmap_email_header_property(f, n, "preview"));
    free(f);

    struct gw_error err = { 0 };
    char field[64];
    assert_true(jmap_email_property_valid("header:X-Any:asDate:all", &err));
    assert_false(jmap_email_property_valid("header:From:asDate", &err));
    assert_false(jmap_email_property_valid("bogus", &err));
    assert_false(jmap_email_property_valid("partId", &err));
    assert_true(jmap_email_body_property_valid("partId", &err));
    assert_false(jmap_email_body_property_valid("textBody", &err));
    assert_true(jmap_email_property_field("replyTo", field, sizeof(field)));
    assert_string_equal(field, "Reply-To");
    assert_true(jmap_email_property_field("header:List-Post:asURLs", field, sizeof(field)));
    assert_string_equal(field, "List-Post");
    assert_false(jmap_email_property_field("headers", field, sizeof(field)));
    assert_true(jmap_email_property_is_header("headers"));
    assert_false(jmap_email_property_is_header("preview"));
}

static void test_body_values(void **state)
{
    struct jmap_email_body_opts opts = { .fetch_text_values = true };
    (void)state;
    check_email(alt_msg, "[\"bodyValues\"]", &opts,
                "{\"bodyValues\": {\"1\": {\"value\": \"caf\\u00e9\\nline2 joined\","
                " \"isEncodingProblem\": false, \"isTruncated\": false}}}");
    opts = (struct jmap_email_body_opts){ .fetch_html_values = true, .max_body_value_bytes = 16 };
    /* "<p>Héllo <a href" is cut before the tag: 16 octets would end inside it. */
    check_email(alt_msg, "[\"bodyValues\"]", &opts,
                "{\"bodyValues\": {\"2\": {\"value\": \"<p>H\\u00e9llo \","
                " \"isEncodingProblem\": false, \"isTruncated\": true}}}");
    opts = (struct jmap_email_body_opts){ .fetch_all_values = true, .max_body_value_bytes = 4 };
    /* 4 octets would split the é of "café": cut to 3 */
    check_email(alt_msg, "[\"bodyValues\"]", &opts,
                "{\"bodyValues\": {\"1\": {\"value\": \"caf\", \"isEncodingProblem\": false,"
                " \"isTruncated\": true}, \"2\": {\"value\": \"<p>H\", \"isEncodingProblem\": false,"
                " \"isTruncated\": true}}}");
    opts = (struct jmap_email_body_opts){ 0 };
    check_email(alt_msg, "[\"bodyValues\"]", &opts, "{\"bodyValues\": {}}");

    opts = (struct jmap_email_body_opts){ .fetch_all_values = true };
    check_email(MP("mixed", "b")
                "--b\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\ncaf\xc3\xa9\r\n"
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
                "\r\nw6k=*w6k=\r\n"
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbad \xff\r\n"
                "--b\r\nContent-Type: text/plain\r\n\r\nlatin \xe9\r\n"
                "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: x-what\r\n"
                "\r\nok\r\n"
                "--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b--\r\n",
                "[\"bodyValues\"]", &opts,
                "{\"bodyValues\": {"
                "\"1\": {\"value\": \"caf\\u00e9\", \"isEncodingProblem\": true, \"isTruncated\": false},"
                "\"2\": {\"value\": \"\\u00e9\\u00e9\", \"isEncodingProblem\": true, \"isTruncated\": false},"
                "\"3\": {\"value\": \"bad \\ufffd\", \"isEncodingProblem\": true, \"isTruncated\": false},"
                "\"4\": {\"value\": \"latin \\u00e9\", \"isEncodingProblem\": true, \"isTruncated\": false},"
                "\"5\": {\"value\": \"ok\", \"isEncodingProblem\": true, \"isTruncated\": false}}}");
}

static void test_preview_and_attachment(void **state)
{
    struct jmap_email_body_opts opts = { 0 };
    (void)state;
    check_email(alt_msg, "[\"preview\", \"hasAttachment\"]", &opts,
                "{\"preview\": \"caf\\u00e9 line2 joined\", \"hasAttachment\": false}");
    check_email(MP("mixed", "b") "--b\r\n" P("text/html", "", "<p>Hi <b>there</b></p>")
                "--b\r\n" P("application/pdf", "", "x") "--b--\r\n",
                "[\"preview\", \"hasAttachment\", \"attachments\"]", &opts,
                "{\"preview\": \"Hi there\", \"hasAttachment\": true, \"attachments\": ["
                "{\"partId\": \"2\", \"blobId\": \"BEabc_2\", \"size\": 1, \"name\": null,"
                " \"type\": \"application/pdf\", \"charset\": null, \"disposition\": null,"
                " \"cid\": null, \"language\": null, \"location\": null}]}");
    check_email(MP("related", "r") "--r\r\n" P("text/html", "", "<img src=cid:i>")
                "--r\r\n" P("image/png", "Content-Disposition: inline\r\nContent-ID: <i>\r\n", "x")
                "--r--\r\n",
                "[\"hasAttachment\", \"preview\"]", &opts,
                "{\"hasAttachment\": false, \"preview\": \"\"}");
}

/* An attached message's Email keeps the outer message's section numbers. */
static void test_embedded_message(void **state)
{
    static const char msg[] =
        "Subject: outer\r\n" MP("mixed", "o")
        "--o\r\n" P("text/plain", "", "outer text")
        "--o\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: i@example.com\r\n"
        MP("alternative", "i") "--i\r\n" P("text/plain", "", "inner text")
        "--i\r\n" P("text/html", "", "<p>inner</p>") "--i--\r\n--o--\r\n";
    struct jmap_mime_message *m = parse(msg);
    const struct jmap_mime_part *att = jmap_mime_find_section(m, "2");
    struct jmap_email_body_opts opts = { .fetch_text_values = true,
                                         .blob_id = jmap_email_blob_id_of_section,
                                         .blob_ctx = (void *)"Eabc" };
    json_t *props = json_loads("[\"subject\", \"from\", \"textBody\", \"bodyValues\", \"preview\"]",
                               0, NULL);
    json_t *email = json_object();
    (void)state;
    assert_non_null(att);
    assert_int_equal(att->kind, JMAP_MIME_MESSAGE);
    assert_int_equal(jmap_email_from_mime_part(m, &att->children[0], props, &opts, email, NULL), 0);
    json_t *want = json_loads(
        "{\"subject\": \"inner\", \"from\": [{\"name\": null, \"email\": \"i@example.com\"}],"
        " \"textBody\": [{\"partId\": \"2.1\", \"blobId\": \"BEabc_2-1\", \"size\": 10,"
        " \"name\": null, \"type\": \"text/plain\", \"charset\": \"us-ascii\", \"disposition\": null,"
        " \"cid\": null, \"language\": null, \"location\": null}],"
        " \"bodyValues\": {\"2.1\": {\"value\": \"inner text\", \"isEncodingProblem\": false,"
        " \"isTruncated\": false}}, \"preview\": \"inner text\"}", 0, NULL);
    assert_non_null(want);
    if (!json_equal(email, want)) {
        char *got = json_dumps(email, JSON_SORT_KEYS);
        fail_msg("got %s", got);
    }
    json_decref(want);
    json_decref(email);
    json_decref(props);
    jmap_mime_message_free(&m);
}

static uint32_t rng = 99;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/* Random messages from MIME pieces: every Email builds and serialises. */
static void test_random_messages(void **state)
{
    static const char *const pieces[] = {
        "\r\n", "--b\r\n", "--b--\r\n", "--c\r\n", MP("mixed", "b"), MP("alternative", "c"),
        MP("related", "b"), "Content-Type: message/rfc822\r\n", "Content-Type: text/html\r\n",
        "Content-Type: text/plain; charset=utf-16\r\n", "Content-Transfer-Encoding: base64\r\n",
        "Content-Transfer-Encoding: quoted-printable\r\n", "Content-Disposition: attachment\r\n",
        "Subject: =?utf-8?b?w6k=?=\r\n", "From: <a@b>\r\n", "\xff\xfe", "=E9=\r\n", "w6k=",
        "<a href", "\0", "X: \xc3\r\n",
    };
    struct jmap_email_body_opts opts = { .fetch_all_values = true, .max_body_value_bytes = 7,
                                         .blob_id = jmap_email_blob_id_of_section,
                                         .blob_ctx = (void *)"E1" };
    json_t *props = json_loads("[\"headers\", \"subject\", \"from\", \"bodyStructure\", \"textBody\","
                               " \"htmlBody\", \"attachments\", \"bodyValues\", \"preview\","
                               " \"hasAttachment\", \"header:X:asText:all\"]", 0, NULL);
    (void)state;
    for (int round = 0; round < 1500; round++) {
        char buf[800];
        size_t len = 0;
        while (len < sizeof(buf) - 64 && rnd() % 30 != 0) {
            const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t n = p[0] == '\0' ? 1 : strlen(p);
            memcpy(buf + len, p, n);
            len += n;
        }
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        struct jmap_mime_message *m = NULL;
        assert_int_equal(jmap_mime_parse(copy, len, &m, NULL), 0);
        json_t *email = json_object();
        assert_int_equal(jmap_email_from_mime(m, props, &opts, email, NULL), 0);
        assert_int_equal(json_object_size(email), json_array_size(props));
        char *text = json_dumps(email, 0);
        assert_non_null(text);
        free(text);
        json_decref(email);
        jmap_mime_message_free(&m);
        free(copy);
    }
    json_decref(props);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lists),           cmocka_unit_test(test_structure_json),
        cmocka_unit_test(test_header_properties), cmocka_unit_test(test_body_values),
        cmocka_unit_test(test_preview_and_attachment), cmocka_unit_test(test_embedded_message),
        cmocka_unit_test(test_random_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
