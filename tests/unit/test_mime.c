/* test_mime.c - the MIME parser of include/jmap_mime.h: structure and IMAP
 * section numbers, content fields (RFC 2231 parameters, disposition, cid,
 * language, location), transfer decoders, and robustness: every prefix of
 * every case, every case fed with the data growing one byte at a time, and
 * fixed-seed random mutations must parse without reading out of bounds
 * (ASan) and give a tree whose offsets stay inside the message.
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

/* "section:type[body]" for leaves, "section:type{children}" for
 * multiparts, "section:message/rfc822<child>" for messages. */
static void dump(const struct jmap_mime_message *m, const struct jmap_mime_part *p, char *out,
                 size_t size)
{
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s:%s", p->section, p->type);
    len = strlen(out);
    if (p->kind == JMAP_MIME_LEAF) {
        snprintf(out + len, size - len, "[%.*s]", (int)p->body_len, m->data + p->body_offset);
        return;
    }
    snprintf(out + len, size - len, "%s", p->kind == JMAP_MIME_MULTIPART ? "{" : "<");
    for (size_t i = 0; i < p->n_children; i++) {
        if (i > 0)
            strncat(out, ",", size - strlen(out) - 1);
        dump(m, &p->children[i], out, size);
    }
    strncat(out, p->kind == JMAP_MIME_MULTIPART ? "}" : ">", size - strlen(out) - 1);
}

struct structure_case {
    const char *name;
    const char *msg;
    const char *expected;
    unsigned problems;
};

#define ALT_MSG                                                                       \
    "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n" \
    "\r\npreamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nplain\r\n"                \
    "--b1\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b1--\r\nepilogue\r\n"

static const struct structure_case structure_cases[] = {
    { "single part", "Subject: x\r\n\r\nhello\r\n", "1:text/plain[hello\r\n]", 0 },
    { "no body", "Subject: x\r\n\r\n", "1:text/plain[]", 0 },
    { "truncated header", "Subject: x\r\nFrom: y", "1:text/plain[]",
      JMAP_MIME_PROBLEM_TRUNCATED_HEADER },
    { "empty message", "", "1:text/plain[]", JMAP_MIME_PROBLEM_TRUNCATED_HEADER },
    { "alternative", ALT_MSG, ":multipart/alternative{1:text/plain[plain],2:text/html[<b>html</b>]}",
      0 },
    { "LF only",
      "Content-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x\nContent-Type: image/png\n\n"
      "PNG\n--x--\n",
      ":multipart/mixed{1:text/plain[one],2:image/png[PNG]}", 0 },
    { "nested multipart",
      "Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n"
      "Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\r\nA\r\n"
      "--inner\r\nContent-Type: text/html\r\n\r\nB\r\n--inner--\r\n"
      "--outer\r\nContent-Type: application/pdf\r\n\r\nPDF\r\n--outer--\r\n",
      ":multipart/mixed{1:multipart/alternative{1.1:text/plain[A],1.2:text/html[B]},"
      "2:application/pdf[PDF]}", 0 },
    { "inner boundary has the outer as prefix",
      "Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n"
      "Content-Type: multipart/mixed; boundary=abc\r\n\r\n--abc\r\n\r\nX\r\n--abc--\r\n"
      "--ab\r\n\r\nY\r\n--ab--\r\n",
      ":multipart/mixed{1:multipart/mixed{1.1:text/plain[X]},2:text/plain[Y]}", 0 },
    { "message/rfc822 with a multipart",
      "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nbody\r\n--o\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
      "Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nI1\r\n--i\r\n\r\nI2\r\n"
      "--i--\r\n--o--\r\n",
      ":multipart/mixed{1:text/plain[body],2:message/rfc822<2:multipart/mixed{2.1:text/plain[I1],"
      "2.2:text/plain[I2]}>}", 0 },
    { "message/rfc822 single part",
      "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n\r\nbody\r\n--o\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n--o--\r\n",
      ":multipart/mixed{1:text/plain[body],2:message/rfc822<2.1:text/plain[inner body]>}", 0 },
    { "message body is a message",
      "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nx\r\n",
      "1:message/rfc822<1.1:text/plain[x\r\n]>", 0 },
    { "digest defaults to message/rfc822",
      "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: a\r\n\r\nA\r\n"
      "--d\r\nContent-Type: text/plain\r\n\r\nB\r\n--d--\r\n",
      ":multipart/digest{1:message/rfc822<1.1:text/plain[A]>,2:text/plain[B]}", 0 },
    { "missing close delimiter",
      "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\none\r\n--z\r\n\r\ntwo\r\n",
      ":multipart/mixed{1:text/plain[one],2:text/plain[two\r\n]}",
      JMAP_MIME_PROBLEM_MISSING_CLOSE },
    { "no delimiter at all", "Content-Type: multipart/mixed; boundary=z\r\n\r\njunk\r\n",
      ":multipart/mixed{1:text/plain[]}", JMAP_MIME_PROBLEM_MISSING_CLOSE },
    { "multipart without boundary", "Content-Type: multipart/mixed\r\n\r\njunk\r\n",
      ":multipart/mixed{1:text/plain[]}", JMAP_MIME_PROBLEM_NO_BOUNDARY },
    { "empty boundary", "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n",
      ":multipart/mixed{1:text/plain[]}", JMAP_MIME_PROBLEM_NO_BOUNDARY },
    { "header cut by a boundary",
      "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/html\r\n"
      "--q\r\n\r\nsecond\r\n--q--\r\n",
      ":multipart/mixed{1:text/html[],2:text/plain[second]}", 0 },
    { "invalid content type", "Content-Type: garbage\r\n\r\nx", "1:text/plain[x]", 0 },
    { "case and comments",
      "content-type: (c) Multipart/Mixed (c) ; (c) BOUNDARY=\"B B\"\r\n\r\n--B B\r\n"
      "Content-Type: TEXT/HTML\r\n\r\nh\r\n--B B--",
      ":multipart/mixed{1:text/html[h]}", 0 },
    { "bad header line dropped", "Subject: a\r\nno colon here\r\n\r\nb", "1:text/plain[b]",
      JMAP_MIME_PROBLEM_BAD_HEADER_LINE },
    { "NUL and 8-bit in headers", "Subj\xe9" "ct: a\r\nX-A: \x00\xff\r\n\r\nb",
      "1:text/plain[b]", JMAP_MIME_PROBLEM_BAD_HEADER_LINE },
};

static size_t case_len(const struct structure_case *c)
{
    /* The NUL case holds an embedded NUL: its length is known. */
    if (strcmp(c->name, "NUL and 8-bit in headers") == 0)
        return sizeof("Subj\xe9" "ct: a\r\nX-A: \x00\xff\r\n\r\nb") - 1;
    return strlen(c->msg);
}

static void test_structure(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(structure_cases) / sizeof(structure_cases[0]); i++) {
        const struct structure_case *c = &structure_cases[i];
        struct jmap_mime_message *m = NULL;
        struct gw_error err = { 0 };
        char out[2048] = "";
        assert_int_equal(jmap_mime_parse(c->msg, case_len(c), &m, &err), 0);
        dump(m, &m->root, out, sizeof(out));
        if (strcmp(out, c->expected) != 0 || m->problems != c->problems)
            fail_msg("%s:\n got  %s (problems %#x)\n want %s (problems %#x)", c->name, out,
                     m->problems, c->expected, c->problems);
        jmap_mime_message_free(&m);
        assert_null(m);
    }
}

static const struct jmap_mime_part *find(const struct jmap_mime_message *m, const char *section)
{
    const struct jmap_mime_part *p = jmap_mime_find_section(m, section);
    if (p == NULL)
        fail_msg("no part %s", section);
    return p;
}

static void test_fields(void **state)
{
    static const char msg[] =
        "Received: from a\r\n  by b\r\nSubject:  Hi \r\nX-Empty:\r\nsubject : again\r\n\r\nbody";
    struct jmap_mime_message *m = NULL;
    (void)state;
    assert_int_equal(jmap_mime_parse(msg, sizeof(msg) - 1, &m, NULL), 0);
    const struct jmap_mime_part *r = &m->root;
    assert_int_equal(r->n_fields, 4);
    struct {
        const char *name, *value;
    } want[] = {
        { "Received", " from a\r\n  by b" }, { "Subject", "  Hi " }, { "X-Empty", "" },
        { "subject", " again" },
    };
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(r->fields[i].name_len, strlen(want[i].name));
        assert_memory_equal(r->fields[i].name, want[i].name, strlen(want[i].name));
        assert_int_equal(r->fields[i].value_len, strlen(want[i].value));
        assert_memory_equal(r->fields[i].value, want[i].value, strlen(want[i].value));
    }
    assert_int_equal(r->header_offset, 0);
    assert_int_equal(r->header_len, sizeof(msg) - 1 - 4);
    assert_int_equal(r->body_offset, sizeof(msg) - 1 - 4);
    assert_int_equal(r->body_len, 4);
    jmap_mime_message_free(&m);

    /* A cached HEADER.FIELDS block */
    struct jmap_mime_field *f = NULL;
    size_t n = 0;
    static const char block[] = "From: a@b\r\nTo: c@d,\r\n e@f\r\n\r\n";
    assert_int_equal(jmap_mime_fields_parse(block, sizeof(block) - 1, &f, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(f[1].value_len, strlen(" c@d,\r\n e@f"));
    free(f);
    assert_int_equal(jmap_mime_fields_parse("", 0, &f, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(f);
}

static void test_content_fields(void **state)
{
    static const char msg[] =
        "Content-Type: multipart/mixed; boundary=\"==b==\"\r\n\r\n"
        "--==b==\r\nContent-Type: text/plain; charset=\"ISO-8859-1\"; format=flowed\r\n"
        "Content-Transfer-Encoding: Quoted-Printable\r\nContent-Language: en, de-CH (Swiss)\r\n\r\n"
        "caf=E9\r\n"
        "--==b==\r\nContent-Type: application/pdf;\r\n name*0*=utf-8''%E2%82%AC;\r\n name*1=\" rate.pdf\"\r\n"
        "Content-Disposition: ATTACHMENT; filename*=iso-8859-1'fr'%E9t%E9.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\nContent-ID: < part1@example.com > (c)\r\n"
        "Content-Location: http://example.com/\r\n a.pdf\r\n\r\nSGVsbG8=\r\n"
        "--==b==\r\nContent-Type: image/png; name==?utf-8?B?w6kucG5n?=\r\n"
        "Content-Disposition: inline\r\nContent-Transfer-Encoding: x-uue\r\n\r\nPNG\r\n"
        "--==b==\r\nContent-Type: text/plain; name=\"unquoted name.txt\r\n\r\nT\r\n"
        "--==b==\r\nContent-Type: text/plain; name*1=\"b\"; name*0=\"a\"; name*3=\"lost\"\r\n\r\nT\r\n"
        "--==b==--\r\n";
    struct jmap_mime_message *m = NULL;
    (void)state;
    assert_int_equal(jmap_mime_parse(msg, sizeof(msg) - 1, &m, NULL), 0);
    assert_int_equal(m->problems, 0);

    const struct jmap_mime_part *p = find(m, "1");
    assert_string_equal(p->type, "text/plain");
    assert_string_equal(p->subtype, "plain");
    assert_string_equal(p->charset, "ISO-8859-1");
    assert_int_equal(p->encoding, JMAP_MIME_ENC_QP);
    assert_null(p->disposition);
    assert_null(p->name);
    assert_int_equal(p->n_language, 2);
    assert_string_equal(p->language[0], "en");
    assert_string_equal(p->language[1], "de-CH");
    assert_int_equal(p->n_params, 2);
    assert_string_equal(p->params[1].name, "format");

    p = find(m, "2");
    assert_string_equal(p->type, "application/pdf");
    assert_null(p->charset);
    assert_string_equal(p->disposition, "attachment");
    assert_string_equal(p->name, "\xc3\xa9t\xc3\xa9.pdf");   /* filename wins over name */
    assert_string_equal(p->params[0].value, "\xe2\x82\xac rate.pdf");
    assert_string_equal(p->cid, "part1@example.com");
    assert_string_equal(p->location, "http://example.com/a.pdf");
    assert_int_equal(p->encoding, JMAP_MIME_ENC_BASE64);
    assert_null(p->language);

    p = find(m, "3");
    assert_string_equal(p->name, "\xc3\xa9.png");
    assert_string_equal(p->disposition, "inline");
    assert_int_equal(p->encoding, JMAP_MIME_ENC_UNKNOWN);

    assert_string_equal(find(m, "4")->name, "unquoted name.txt");
    assert_string_equal(find(m, "5")->name, "ab");   /* a gap ends the sections */
    assert_null(jmap_mime_find_section(m, "6"));
    assert_null(jmap_mime_find_section(m, ""));
    jmap_mime_message_free(&m);
}

struct decode_case {
    enum jmap_mime_encoding enc;
    const char *in;
    const char *out;
    size_t out_len;
    bool problem;
};

static const struct decode_case decode_cases[] = {
    { JMAP_MIME_ENC_BASE64, "SGVsbG8gV29ybGQ=", "Hello World", 11, false },
    { JMAP_MIME_ENC_BASE64, "SGVs\r\nbG8g\r\n V29y bGQ", "Hello World", 11, false },
    { JMAP_MIME_ENC_BASE64, "SGk=SGk=", "HiHi", 4, false },
    { JMAP_MIME_ENC_BASE64, "SG!k=", "Hi", 2, true },
    { JMAP_MIME_ENC_BASE64, "SGVsbA", "Hell", 4, false },
    { JMAP_MIME_ENC_BASE64, "SGVsbAQ", "Hell\x04", 5, false },
    { JMAP_MIME_ENC_BASE64, "SGVsb", "Hel", 3, true },
    { JMAP_MIME_ENC_BASE64, "AP8A", "\x00\xff\x00", 3, false },
    { JMAP_MIME_ENC_BASE64, "", "", 0, false },
    { JMAP_MIME_ENC_QP, "caf=E9 =c3=a9", "caf\xe9 \xc3\xa9", 7, false },
    { JMAP_MIME_ENC_QP, "soft=\r\nbreak= \r\nand=\nLF", "softbreakandLF", 14, false },
    { JMAP_MIME_ENC_QP, "trail   \r\nx\t\n", "trail\r\nx\n", 9, false },
    { JMAP_MIME_ENC_QP, "a  b", "a  b", 4, false },
    { JMAP_MIME_ENC_QP, "bad=ZZ and =4", "bad=ZZ and =4", 13, true },
    { JMAP_MIME_ENC_QP, "end=", "end", 3, false },
    { JMAP_MIME_ENC_QP, "=00", "\x00", 1, false },
    { JMAP_MIME_ENC_IDENTITY, "as is=", "as is=", 6, false },
    { JMAP_MIME_ENC_UNKNOWN, "begin 644", "begin 644", 9, true },
};

static void test_decoders(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++) {
        const struct decode_case *c = &decode_cases[i];
        bool problem = false;
        size_t len = 0;
        char *out = jmap_mime_decode(c->enc, c->in, strlen(c->in), &len, &problem);
        assert_non_null(out);
        if (len != c->out_len || memcmp(out, c->out, len) != 0 || problem != c->problem)
            fail_msg("case %zu (%s): got %zu bytes \"%.*s\" problem %d", i, c->in, len, (int)len,
                     out, problem);
        assert_int_equal(out[len], '\0');
        assert_int_equal(jmap_mime_decoded_size(c->enc, c->in, strlen(c->in)), c->out_len);
        free(out);
    }
}

/* Every offset in bounds, every section well formed, kinds consistent. */
static void check_part(const struct jmap_mime_message *m, const struct jmap_mime_part *p,
                       size_t *count)
{
    (*count)++;
    assert_non_null(p->section);
    assert_non_null(p->type);
    assert_non_null(strchr(p->type, '/'));
    assert_true(p->header_offset + p->header_len <= m->len);
    assert_true(p->body_offset <= m->len);
    assert_true(p->body_len <= m->len - p->body_offset);
    for (size_t i = 0; i < p->n_fields; i++) {
        const struct jmap_mime_field *f = &p->fields[i];
        assert_true(f->name >= m->data && f->name + f->name_len <= m->data + m->len);
        assert_true(f->value >= m->data && f->value + f->value_len <= m->data + m->len);
        assert_true(f->name_len > 0);
    }
    if (p->kind == JMAP_MIME_LEAF)
        assert_int_equal(p->n_children, 0);
    if (p->kind == JMAP_MIME_MESSAGE)
        assert_int_equal(p->n_children, 1);
    if (p->kind == JMAP_MIME_MULTIPART)
        assert_memory_equal(p->type, "multipart/", 10);
    for (size_t i = 0; i < p->n_children; i++)
        check_part(m, &p->children[i], count);
}

static void parse_and_check(const char *data, size_t len)
{
    struct jmap_mime_message *m = NULL;
    size_t count = 0;
    assert_int_equal(jmap_mime_parse(data, len, &m, NULL), 0);
    check_part(m, &m->root, &count);
    assert_int_equal(count, m->n_parts);
    jmap_mime_message_free(&m);
}

static void test_every_prefix(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(structure_cases) / sizeof(structure_cases[0]); i++) {
        size_t len = case_len(&structure_cases[i]);
        for (size_t k = 0; k <= len; k++) {
            /* A heap copy of exactly k bytes, so ASan sees any overread. */
            char *copy = malloc(k ? k : 1);
            assert_non_null(copy);
            memcpy(copy, structure_cases[i].msg, k);
            parse_and_check(copy, k);
            free(copy);
        }
    }
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static void test_random_mutations(void **state)
{
    static const char *const pieces[] = {
        "\r\n", "\n", "--b", "--b--", "--c", "Content-Type: multipart/mixed; boundary=b\r\n",
        "Content-Type: multipart/mixed; boundary=c\r\n", "Content-Type: message/rfc822\r\n",
        "Content-Type: multipart/digest; boundary=b\r\n", "\r\n\r\n", " ", "\t", ":", "X: y",
        "\0", "\xff", "=?utf-8?q?a?=", "name*0*=utf-8''%", "; filename*1=x", "\"", "(", "=",
    };
    (void)state;
    for (int round = 0; round < 3000; round++) {
        char buf[600];
        size_t len = 0;
        while (len < sizeof(buf) - 64) {
            const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t n = p[0] == '\0' ? 1 : strlen(p);
            memcpy(buf + len, p, n);
            len += n;
            if (rnd() % 40 == 0)
                break;
        }
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        parse_and_check(copy, len);
        free(copy);
    }
}

static void test_limits(void **state)
{
    /* 150 nested multiparts, then 12000 empty parts in one multipart. */
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    (void)state;
    assert_non_null(buf);
    for (int i = 0; i < 150; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "Content-Type: multipart/mixed; boundary=\"b%dx\"\r\n\r\n--b%dx\r\n", i, i);
    parse_and_check(buf, len);
    struct jmap_mime_message *m = NULL;
    assert_int_equal(jmap_mime_parse(buf, len, &m, NULL), 0);
    assert_true(m->problems & JMAP_MIME_PROBLEM_LIMIT);
    if (m->n_parts != JMAP_MIME_MAX_DEPTH + 1)
        fail_msg("%zu parts", m->n_parts);
    jmap_mime_message_free(&m);

    len = (size_t)snprintf(buf, cap, "Content-Type: multipart/mixed; boundary=z\r\n\r\n");
    for (int i = 0; i < 12000; i++)
        len += (size_t)snprintf(buf + len, cap - len, "--z\r\n\r\n%d\r\n", i);
    len += (size_t)snprintf(buf + len, cap - len, "--z--\r\n");
    assert_int_equal(jmap_mime_parse(buf, len, &m, NULL), 0);
    assert_int_equal(m->n_parts, JMAP_MIME_MAX_PARTS);
    assert_true(m->problems & JMAP_MIME_PROBLEM_LIMIT);
    assert_string_equal(m->root.children[m->root.n_children - 1].section, "9999");
    jmap_mime_message_free(&m);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),       cmocka_unit_test(test_fields),
        cmocka_unit_test(test_content_fields),  cmocka_unit_test(test_decoders),
        cmocka_unit_test(test_every_prefix),    cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
