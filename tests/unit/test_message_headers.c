/* test_message_headers.c - RFC 8621 §4.1.2 header parsed forms, RFC 2047
 * encoded-words and the header:{name}:as{Form}:all property parser.
 *
 * Every case checks the exact output. Afterwards every parser is fed every
 * prefix of every case and a few thousand fixed-seed pseudo-random inputs
 * built from header syntax: nothing may crash (ASan/UBSan in CI) and every
 * string produced must be valid UTF-8 without NUL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_message.h"

struct form_case {
    enum jmap_header_form form;
    const char *in;
    const char *expected;   /* JSON text */
};

#define RAW JMAP_HEADER_FORM_RAW
#define TEXT JMAP_HEADER_FORM_TEXT
#define ADDR JMAP_HEADER_FORM_ADDRESSES
#define GROUP JMAP_HEADER_FORM_GROUPED_ADDRESSES
#define IDS JMAP_HEADER_FORM_MESSAGE_IDS
#define DATE JMAP_HEADER_FORM_DATE
#define URLS JMAP_HEADER_FORM_URLS

#define RFC8621_LIST "\"  James Smythe\" <james@example.com>, Friends:\r\n  jane@example.com, " \
                     "=?UTF-8?Q?John_Sm=C3=AEth?=\r\n  <john@example.com>;"

static const struct form_case cases[] = {
    /* Raw: only the terminating CRLF goes, folding stays */
    { RAW, " foo\r\n bar\r\n", "\" foo\\r\\n bar\"" },
    { RAW, " a\xff" "b", "\" a\\ufffdb\"" },
    { RAW, " =?utf-8?q?not_decoded?=", "\" =?utf-8?q?not_decoded?=\"" },
    /* Text */
    { TEXT, " Hello world\r\n", "\"Hello world\"" },
    { TEXT, " This is a\r\n long subject", "\"This is a long subject\"" },
    { TEXT, "\tfoo  ", "\"\\tfoo  \"" },
    { TEXT, " ", "\"\"" },
    { TEXT, " =?ISO-8859-1?Q?Andr=E9?= Pirard", "\"Andr\\u00e9 Pirard\"" },
    { TEXT, " =?iso-8859-1?q?this_is_some_text?=", "\"this is some text\"" },
    { TEXT, " =?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=", "\"caf\\u00e9 au lait\"" },
    { TEXT, " =?utf-8?q?caf=c3=a9?=", "\"caf\\u00e9\"" },
    { TEXT, " =?UTF-8?B?w6k=?=", "\"\\u00e9\"" },
    { TEXT, " =?UTF-8?B?w6k?=", "\"\\u00e9\"" },
    { TEXT, " =?utf-8?B?4oI=?= =?utf-8?B?rA==?=", "\"\\u20ac\"" },
    { TEXT, " =?utf-8?q?a?=\r\n =?utf-8?q?b?=", "\"ab\"" },
    { TEXT, " =?utf-8?q?a?= =?iso-8859-1?q?b?=", "\"ab\"" },
    { TEXT, " =?utf-8?q?a?= b", "\"a b\"" },
    { TEXT, " Re: =?utf-8?q?x?= y =?utf-8?q?z?=", "\"Re: x y z\"" },
    { TEXT, " =?iso-8859-1?q?=E9?= =?koi8-r?b?8NLJ18XU?=",
      "\"\\u00e9\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442\"" },
    { TEXT, " =?gb2312?B?xOO6ww==?=", "\"\\u4f60\\u597d\"" },
    { TEXT, " =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=",
      "\"\\u3053\\u3093\\u306b\\u3061\\u306f\"" },
    { TEXT, " =?US-ASCII*EN?Q?Keith_Moore?=", "\"Keith Moore\"" },
    { TEXT, " =?utf-8?q?a=00b=0Dc=09d?=", "\"abcd\"" },
    { TEXT, " =?utf-8?q?=FF?=", "\"\\ufffd\"" },
    { TEXT, " caf\xc3\xa9", "\"caf\\u00e9\"" },
    { TEXT, " caf\xe9 \x93ok\x94", "\"caf\\u00e9 \\u201cok\\u201d\"" },
    /* ... and what must stay as it is */
    { TEXT, " foo=?utf-8?q?bar?=", "\"foo=?utf-8?q?bar?=\"" },
    { TEXT, " =?utf-8?q?a?==?utf-8?q?b?=", "\"=?utf-8?q?a?==?utf-8?q?b?=\"" },
    { TEXT, " =?x-unknown?q?abc?=", "\"=?x-unknown?q?abc?=\"" },
    { TEXT, " =?utf-8?q?bad=ZZ?=", "\"=?utf-8?q?bad=ZZ?=\"" },
    { TEXT, " =?utf-8?b?w6k*?=", "\"=?utf-8?b?w6k*?=\"" },
    { TEXT, " =?utf-8?x?abc?=", "\"=?utf-8?x?abc?=\"" },
    { TEXT, " =?utf-8?q?" "?=", "\"=?utf-8?q?" "?=\"" },
    { TEXT, " =?utf-8?q?a b?=", "\"=?utf-8?q?a b?=\"" },
    /* Addresses */
    { ADDR, RFC8621_LIST,
      "[{\"name\":\"James Smythe\",\"email\":\"james@example.com\"},"
      "{\"name\":null,\"email\":\"jane@example.com\"},"
      "{\"name\":\"John Sm\\u00eeth\",\"email\":\"john@example.com\"}]" },
    { GROUP, RFC8621_LIST,
      "[{\"name\":null,\"addresses\":[{\"name\":\"James Smythe\",\"email\":\"james@example.com\"}]},"
      "{\"name\":\"Friends\",\"addresses\":[{\"name\":null,\"email\":\"jane@example.com\"},"
      "{\"name\":\"John Sm\\u00eeth\",\"email\":\"john@example.com\"}]}]" },
    { ADDR, " john@example.com", "[{\"name\":null,\"email\":\"john@example.com\"}]" },
    { ADDR, " John Doe <john@example.com>", "[{\"name\":\"John Doe\",\"email\":\"john@example.com\"}]" },
    { ADDR, " Sender Name<sender@example.com>", "[{\"name\":\"Sender Name\",\"email\":\"sender@example.com\"}]" },
    { ADDR, " \"Doe, John\" <john@example.com>, jane@example.com",
      "[{\"name\":\"Doe, John\",\"email\":\"john@example.com\"},{\"name\":null,\"email\":\"jane@example.com\"}]" },
    { ADDR, " john@example.com (John Doe)", "[{\"name\":\"John Doe\",\"email\":\"john@example.com\"}]" },
    { ADDR, " a@b.example (First) (Second)", "[{\"name\":\"First\",\"email\":\"a@b.example\"}]" },
    { ADDR, " c@(Chris's host.)public.example", "[{\"name\":null,\"email\":\"c@public.example\"}]" },
    { ADDR, " (comment) john@example.com", "[{\"name\":null,\"email\":\"john@example.com\"}]" },
    { ADDR, " John <john@example.com> (Work)", "[{\"name\":\"John\",\"email\":\"john@example.com\"}]" },
    { ADDR, " <john@example.com> (Work)", "[{\"name\":\"Work\",\"email\":\"john@example.com\"}]" },
    { ADDR, " a@b.example (=?utf-8?q?J=C3=B6rg?=)", "[{\"name\":\"J\\u00f6rg\",\"email\":\"a@b.example\"}]" },
    { ADDR, " undisclosed-recipients:;", "[]" },
    { GROUP, " undisclosed-recipients:;", "[{\"name\":\"undisclosed-recipients\",\"addresses\":[]}]" },
    { ADDR, " =?iso-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
      "[{\"name\":\"Andr\\u00e9 Pirard\",\"email\":\"PIRARD@vm1.ulg.ac.be\"}]" },
    { ADDR, " =?utf-8?q?Jo?= =?utf-8?q?hn?= <j@x.example>", "[{\"name\":\"John\",\"email\":\"j@x.example\"}]" },
    { ADDR, " \"=?utf-8?q?Not_decoded?=\" <x@y.example>",
      "[{\"name\":\"=?utf-8?q?Not_decoded?=\",\"email\":\"x@y.example\"}]" },
    { ADDR, " Joe Q. Public <john.q.public@example.com>",
      "[{\"name\":\"Joe Q. Public\",\"email\":\"john.q.public@example.com\"}]" },
    { ADDR, " \"Unbalanced <a@example.com>", "[{\"name\":\"Unbalanced\",\"email\":\"a@example.com\"}]" },
    { ADDR, " Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
      "[{\"name\":\"Pete\",\"email\":\"pete@silly.test\"}]" },
    { GROUP, " A Group(Some people):Chris Jones <c@(Chris's host.)public.example>,\r\n"
             "   joe@example.org,\r\n John <jdoe@one.test> (my dear friend); (the end of the group)",
      "[{\"name\":\"A Group\",\"addresses\":[{\"name\":\"Chris Jones\",\"email\":\"c@public.example\"},"
      "{\"name\":null,\"email\":\"joe@example.org\"},{\"name\":\"John\",\"email\":\"jdoe@one.test\"}]}]" },
    { GROUP, " a@x.example, G: b@x.example;, c@x.example",
      "[{\"name\":null,\"addresses\":[{\"name\":null,\"email\":\"a@x.example\"}]},"
      "{\"name\":\"G\",\"addresses\":[{\"name\":null,\"email\":\"b@x.example\"}]},"
      "{\"name\":null,\"addresses\":[{\"name\":null,\"email\":\"c@x.example\"}]}]" },
    { GROUP, " G: a@x.example, b@x.example",
      "[{\"name\":\"G\",\"addresses\":[{\"name\":null,\"email\":\"a@x.example\"},"
      "{\"name\":null,\"email\":\"b@x.example\"}]}]" },
    { ADDR, " <@route1,@route2:user@example.com>", "[{\"name\":null,\"email\":\"user@example.com\"}]" },
    { ADDR, " \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
      "[{\"name\":\"Giant; \\\"Big\\\" Box\",\"email\":\"sysservices@example.net\"}]" },
    { ADDR, " John <john@example.com, Jane <jane@example.com>",
      "[{\"name\":\"John\",\"email\":\"john@example.com\"},{\"name\":\"Jane\",\"email\":\"jane@example.com\"}]" },
    { ADDR, " John <john@example.com", "[{\"name\":\"John\",\"email\":\"john@example.com\"}]" },
    { ADDR, " a@b.example, , d@e.example,",
      "[{\"name\":null,\"email\":\"a@b.example\"},{\"name\":null,\"email\":\"d@e.example\"}]" },
    { ADDR, " =?utf-8?q?Smith,_John?= <js@x.example>, =?utf-8?b?w6k=?=<e@x.example>",
      "[{\"name\":\"Smith, John\",\"email\":\"js@x.example\"},{\"name\":\"\u00e9\",\"email\":\"e@x.example\"}]" },
    { ADDR, " Undisclosed recipients", "[{\"name\":null,\"email\":\"Undisclosed recipients\"}]" },
    { ADDR, " Andr\xe9 <a@b.example>", "[{\"name\":\"Andr\\u00e9\",\"email\":\"a@b.example\"}]" },
    { ADDR, " Jos\xc3\xa9 <j@x.example>", "[{\"name\":\"Jos\\u00e9\",\"email\":\"j@x.example\"}]" },
    { ADDR, " \"john doe\"@example.com", "[{\"name\":null,\"email\":\"\\\"john doe\\\"@example.com\"}]" },
    { ADDR, " \"\" <a@b.example>", "[{\"name\":null,\"email\":\"a@b.example\"}]" },
    { ADDR, " user@[127.0.0.1]", "[{\"name\":null,\"email\":\"user@[127.0.0.1]\"}]" },
    { ADDR, " \"zzzz@example.com\" <zzzz@example.com>",
      "[{\"name\":\"zzzz@example.com\",\"email\":\"zzzz@example.com\"}]" },
    { ADDR, "", "[]" },
    { ADDR, "  \r\n ", "[]" },
    /* MessageIds */
    { IDS, " <a@b.example>", "[\"a@b.example\"]" },
    { IDS, " <a@b> <c@d>\r\n\t<e@f>", "[\"a@b\",\"c@d\",\"e@f\"]" },
    { IDS, " <a@b>,<c@d>", "[\"a@b\",\"c@d\"]" },
    { IDS, " (comment) <a@b> (x)", "[\"a@b\"]" },
    { IDS, " < a @ b >", "[\"a@b\"]" },
    { IDS, " <\"quoted local\"@b>", "[\"\\\"quoted local\\\"@b\"]" },
    { IDS, " <a@[1.2.3.4]>", "[\"a@[1.2.3.4]\"]" },
    { IDS, " Your message of \"Mon, 1 Jan\" <a@b>", "[\"a@b\"]" },
    { IDS, " <a@b", "null" },
    { IDS, " a@b", "null" },
    { IDS, " <a@b (comment)>", "[\"a@b\"]" },
    { IDS, " <E9D312B69C2346E800C76D2E9BC3F4A8>", "[\"E9D312B69C2346E800C76D2E9BC3F4A8\"]" },
    { IDS, " <0000522b67c3$00002240$0000539d@>", "[\"0000522b67c3$00002240$0000539d@\"]" },
    { IDS, " <.AAA-24721820-08683,4237.1036829954@mail-ems-101.amazon.com>",
      "[\".AAA-24721820-08683,4237.1036829954@mail-ems-101.amazon.com\"]" },
    { IDS, " PM200011:12:45 AM", "null" },
    { IDS, " <>", "null" },
    { IDS, " <a@b> <\"unterminated@c>", "null" },
    { IDS, " <<a@b>>", "null" },
    { IDS, " ", "null" },
    /* Date */
    { DATE, " Tue, 1 Jul 2003 10:52:37 +0200", "\"2003-07-01T10:52:37+02:00\"" },
    { DATE, " 1 Jul 2003 10:52:37 +0200", "\"2003-07-01T10:52:37+02:00\"" },
    { DATE, " Mon, 2 Sep 2002 11:52:05 -0700 (PDT)", "\"2002-09-02T11:52:05-07:00\"" },
    { DATE, " Thu, 22 Aug 2002 18:26:25 +0700", "\"2002-08-22T18:26:25+07:00\"" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 -0000", "\"2003-07-01T10:52:37-00:00\"" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 +0000", "\"2003-07-01T10:52:37+00:00\"" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 -0330", "\"2003-07-01T10:52:37-03:30\"" },
    { DATE, " Tue, 1 Jul 03 10:52:37 GMT", "\"2003-07-01T10:52:37+00:00\"" },
    { DATE, " Thu, 1 Jul 99 10:52:37 EST", "\"1999-07-01T10:52:37-05:00\"" },
    { DATE, " 1 Jul 103 10:52 PDT", "\"2003-07-01T10:52:00-07:00\"" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 z", "\"2003-07-01T10:52:37-00:00\"" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 CEST", "\"2003-07-01T10:52:37-00:00\"" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", "\"2003-07-01T10:52:37+02:00\"" },
    { DATE, " tue, 01 jul 2003 10 : 52 : 37 +0200", "\"2003-07-01T10:52:37+02:00\"" },
    { DATE, " Tuesday, 1 July 2003 10:52:37 +0200", "\"2003-07-01T10:52:37+02:00\"" },
    { DATE, " Tue,\r\n 1 Jul 2003\r\n 10:52:37 +0200", "\"2003-07-01T10:52:37+02:00\"" },
    { DATE, " Tue, 03 Dec 0102 17:08:50 +1100", "\"2002-12-03T17:08:50+11:00\"" },
    { DATE, " Thu, 29 Aug 2002 15:36:58 +-0500", "\"2002-08-29T15:36:58-05:00\"" },
    { DATE, " Wed, 04 Dec 2002 06:07:07", "null" },
    { DATE, " 2002/09/14 Sat 02:29:32 CDT", "null" },
    { DATE, " 31 Dec 2016 23:59:60 +0000", "\"2016-12-31T23:59:60+00:00\"" },
    { DATE, " 29 Feb 2000 00:00:00 +0000", "\"2000-02-29T00:00:00+00:00\"" },
    { DATE, " 29 Feb 2004 00:00:00 +0000", "\"2004-02-29T00:00:00+00:00\"" },
    { DATE, " 29 Feb 2003 00:00:00 +0000", "null" },
    { DATE, " 29 Feb 1900 00:00:00 +0000", "null" },
    { DATE, " Tue, 31 Apr 2003 10:52:37 +0000", "null" },
    { DATE, " Tue, 1 Jul 2003 10:52:37", "null" },
    { DATE, " Tue, 1 Jul 2003 25:00:00 +0000", "null" },
    { DATE, " Tue, 1 Jul 2003 10:61:00 +0000", "null" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 +2400", "null" },
    { DATE, " Tue, 1 Jul 2003 10:52:37 +02", "null" },
    { DATE, " Foo, 1 Jul 2003 10:52:37 +0000", "null" },
    { DATE, " Tue, 1 Jux 2003 10:52:37 +0000", "null" },
    { DATE, " 1 Jul 1899 10:52:37 +0000", "null" },
    { DATE, " Tue Jul  1 10:52:37 2003", "null" },
    { DATE, " garbage", "null" },
    { DATE, "", "null" },
    /* URLs (RFC 2369 examples and breakage) */
    { URLS, " <mailto:list@host.com?subject=help> (List Instructions)",
      "[\"mailto:list@host.com?subject=help\"]" },
    { URLS, " <http://www.host.com/list/>, <mailto:list-request@host.com?subject=unsubscribe>",
      "[\"http://www.host.com/list/\",\"mailto:list-request@host.com?subject=unsubscribe\"]" },
    { URLS, " (FTP first) <ftp://ftp.host.com/list.txt> (FTP),\r\n <mailto:list@host.com?subject=help>",
      "[\"ftp://ftp.host.com/list.txt\",\"mailto:list@host.com?subject=help\"]" },
    { URLS, " <http://a.example/b\r\n c>", "[\"http://a.example/bc\"]" },
    { URLS, " <http://a.example>, not a url, <http://b.example>", "[\"http://a.example\"]" },
    { URLS, " <http://a.example> junk, <http://b.example>", "[\"http://a.example\"]" },
    { URLS, " NO (posting not allowed on this list)", "null" },
    { URLS, " <http://a.example", "null" },
    { URLS, "", "null" },
};

static bool json_strings_ok(json_t *j)
{
    size_t i;
    const char *key;
    json_t *v;

    if (json_is_string(j))
        return jmap_utf8_valid(json_string_value(j), json_string_length(j)) &&
               memchr(json_string_value(j), '\0', json_string_length(j)) == NULL;
    if (json_is_array(j)) {
        json_array_foreach(j, i, v) if (!json_strings_ok(v)) return false;
    }
    if (json_is_object(j)) {
        json_object_foreach(j, key, v) if (!json_strings_ok(v)) return false;
    }
    return true;
}

static void test_forms_table(void **state)
{
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct form_case *c = &cases[i];
        json_error_t jerr;
        json_t *want = json_loads(c->expected, JSON_DECODE_ANY, &jerr);
        json_t *got = jmap_header_parse_form(c->form, c->in, strlen(c->in));
        if (want == NULL || got == NULL)
            fail_msg("case %zu: %s", i, want ? "parser returned NULL" : jerr.text);
        if (!json_equal(want, got)) {
            char *s = json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT);
            print_error("case %zu %s [%s]\n  want %s\n  got  %s\n", i,
                        jmap_header_form_name(c->form), c->in, c->expected, s);
            free(s);
            failures++;
        }
        json_decref(want);
        json_decref(got);
    }
    assert_int_equal(failures, 0);
}

static void test_string_api(void **state)
{
    char *s = jmap_header_as_text(" a\0b =?utf-8?q?x?=", 18);
    assert_string_equal(s, "ab x");
    free(s);
    s = jmap_header_as_raw(" a\0b\r\n", 6);
    assert_string_equal(s, " ab");
    free(s);
    s = jmap_encoded_words_decode(" =?utf-8?q?caf=C3=A9?= ", 23);
    assert_string_equal(s, " caf\xc3\xa9 ");
    free(s);
}

static void test_parse_date(void **state)
{
    long long utc = 0;
    int off = 1;
    const char *d = "Tue, 1 Jul 2003 10:52:37 +0200";
    assert_int_equal(jmap_header_parse_date(d, strlen(d), &utc, &off), 0);
    assert_int_equal(utc, 1057049557LL);
    assert_int_equal(off, 120);
    d = "Thu, 1 Jul 99 10:52:37 EST";
    assert_int_equal(jmap_header_parse_date(d, strlen(d), &utc, &off), 0);
    assert_int_equal(utc, 930844357LL);
    assert_int_equal(off, -300);
    d = "1 Jul 1970 00:00:00 -0000";
    assert_int_equal(jmap_header_parse_date(d, strlen(d), &utc, &off), 0);
    assert_int_equal(utc, 181 * 86400LL);
    assert_int_equal(off, 0);
    assert_int_equal(jmap_header_parse_date("nope", 4, &utc, &off), -1);
}

struct prop_case {
    const char *prop;
    int rc;
    const char *name;
    enum jmap_header_form form;
    bool all;
};

static const struct prop_case props[] = {
    { "header:Subject", 0, "Subject", RAW, false },
    { "header:Subject:asText", 0, "Subject", TEXT, false },
    { "header:subject:asText:all", 0, "subject", TEXT, true },
    { "header:Subject:all", 0, "Subject", RAW, true },
    { "header:From:asAddresses", 0, "From", ADDR, false },
    { "header:from:asGroupedAddresses:all", 0, "from", GROUP, true },
    { "header:Resent-Reply-To:asAddresses", 0, "Resent-Reply-To", ADDR, false },
    { "header:X-Foo:asDate", 0, "X-Foo", DATE, false },
    { "header:X-Foo:asURLs:all", 0, "X-Foo", URLS, true },
    { "header:List-Id:asText", 0, "List-Id", TEXT, false },
    { "header:List-Id:asAddresses", 0, "List-Id", ADDR, false },
    { "header:List-Post:asURLs", 0, "List-Post", URLS, false },
    { "header:Message-ID:asMessageIds", 0, "Message-ID", IDS, false },
    { "header:RESENT-DATE:asDate", 0, "RESENT-DATE", DATE, false },
    { "header:Received", 0, "Received", RAW, false },
    { "header:Received:asRaw:all", 0, "Received", RAW, true },
    { "header:Subject:asAddresses", -1, NULL, RAW, false },
    { "header:From:asDate", -1, NULL, RAW, false },
    { "header:Date:asText", -1, NULL, RAW, false },
    { "header:List-Post:asText", -1, NULL, RAW, false },
    { "header:Received:asText", -1, NULL, RAW, false },
    { "header:Return-Path:asAddresses", -1, NULL, RAW, false },
    { "header:References:asURLs", -1, NULL, RAW, false },
    { "header:Message-Id:asmessageids", -1, NULL, RAW, false },
    { "header:", -1, NULL, RAW, false },
    { "header::asText", -1, NULL, RAW, false },
    { "header:Foo:all:asText", -1, NULL, RAW, false },
    { "header:Foo:asBogus", -1, NULL, RAW, false },
    { "header:Foo:bar", -1, NULL, RAW, false },
    { "header:Foo:", -1, NULL, RAW, false },
    { "header:Foo:asText:all:all", -1, NULL, RAW, false },
    { "Header:Foo", -1, NULL, RAW, false },
    { "header:Fo o", -1, NULL, RAW, false },
    { "header:F\xc3\xb6o", -1, NULL, RAW, false },
    { "subject", -1, NULL, RAW, false },
};

static void test_prop_parse(void **state)
{
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        const struct prop_case *c = &props[i];
        struct jmap_header_prop p;
        struct gw_error err = { 0 };
        int rc = jmap_header_prop_parse(c->prop, &p, &err);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->prop, rc, c->rc, err.msg);
        if (rc != 0) {
            assert_int_equal(err.code, GW_ERR_INVALID);
            assert_true(err.msg[0] != '\0');
            continue;
        }
        assert_int_equal(p.name_len, strlen(c->name));
        assert_memory_equal(p.name, c->name, p.name_len);
        assert_int_equal(p.form, c->form);
        assert_int_equal(p.all, c->all);
    }
    assert_int_equal(jmap_header_prop_parse(NULL, &(struct jmap_header_prop){ 0 }, NULL), -1);
    assert_true(jmap_header_form_allowed("x-anything", 10, JMAP_HEADER_FORM_MESSAGE_IDS));
    assert_false(jmap_header_form_allowed("cc", 2, JMAP_HEADER_FORM_TEXT));
    assert_string_equal(jmap_header_form_name(JMAP_HEADER_FORM_URLS), "asURLs");
}

/* Runs every parser on one input and checks the invariants. */
static void check_all_forms(const char *in, size_t len)
{
    for (int f = 0; f < JMAP_HEADER_FORM__COUNT; f++) {
        json_t *j = jmap_header_parse_form((enum jmap_header_form)f, in, len);
        if (j == NULL)
            fail_msg("form %d returned NULL on [%.*s]", f, (int)len, in);
        if (!json_strings_ok(j))
            fail_msg("form %d produced bad UTF-8", f);
        json_decref(j);
    }
    char *s = jmap_encoded_words_decode(in, len);
    assert_non_null(s);
    assert_true(jmap_utf8_valid(s, strlen(s)));
    free(s);
    assert_int_equal(jmap_header_parse_date(in, len, NULL, NULL) == 0 ||
                     jmap_header_parse_date(in, len, NULL, NULL) == -1, 1);
}

static void test_prefixes(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in);
        /* Exact-length heap copies, so ASan sees any read past the end. */
        for (size_t k = 0; k <= len; k++) {
            char *copy = malloc(k ? k : 1);
            assert_non_null(copy);
            memcpy(copy, cases[i].in, k);
            check_all_forms(copy, k);
            free(copy);
        }
    }
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void test_random(void **state)
{
    static const char *const pieces[] = {
        "=?", "?=", "?q?", "?B?", "utf-8", "gb2312", "iso-2022-jp", "x-unknown", "*en",
        "=C3", "=A9", "_", "\"", "\\", "(", ")", "<", ">", "@", ",", ";", ":", " ", "\r\n ",
        "\t", "[", "]", ".", "Tue,", " 1 Jul ", "2003", "10:52:37", " +0200", "-0000", "EST",
        "a", "example.com", "\xc3", "\xa9", "\xff", "\x1b$B", "\0", "w6k=", "4oI", "mailto:x",
    };
    size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    uint32_t seed = 0x12345678;
    char buf[256];

    for (int round = 0; round < 4000; round++) {
        size_t len = 0, target = rng_next(&seed) % 120;
        while (len < target) {
            uint32_t r = rng_next(&seed);
            if (r % 4 == 0) {
                buf[len++] = (char)(r >> 8);
                continue;
            }
            const char *p = pieces[(r >> 8) % npieces];
            size_t plen = p[0] ? strlen(p) : 1;
            if (len + plen > sizeof(buf))
                break;
            memcpy(buf + len, p, plen);
            len += plen;
        }
        char *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, buf, len);
        check_all_forms(copy, len);
        free(copy);
    }
}

/* Property names from pieces: every answer must be 0 with a sane result or
 * -1 with GW_ERR_INVALID, and a parsed name must lie inside the input. */
static void test_prop_random(void **state)
{
    static const char *const pieces[] = {
        "header:", ":", "as", "asText", "asAddresses", "asURLs", "all", ":all", "From", "X",
        " ", "\x7f", "\xc3\xa9", "asRaw", "header",
    };
    uint32_t seed = 0xfeedbeef;
    char buf[96];

    for (int round = 0; round < 3000; round++) {
        size_t len = 0, count = rng_next(&seed) % 7;
        for (size_t k = 0; k < count; k++) {
            const char *p = pieces[rng_next(&seed) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t plen = strlen(p);
            if (len + plen >= sizeof(buf))
                break;
            memcpy(buf + len, p, plen);
            len += plen;
        }
        buf[len] = '\0';
        struct jmap_header_prop prop;
        struct gw_error err = { 0 };
        if (jmap_header_prop_parse(buf, &prop, &err) == 0) {
            assert_true(prop.name >= buf && prop.name + prop.name_len <= buf + len);
            assert_true(prop.name_len > 0);
            assert_null(memchr(prop.name, ':', prop.name_len));
            assert_true((unsigned)prop.form < JMAP_HEADER_FORM__COUNT);
        } else {
            assert_int_equal(err.code, GW_ERR_INVALID);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_table),
        cmocka_unit_test(test_string_api),
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_prop_parse),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_prop_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
