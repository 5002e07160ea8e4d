/* charset.c - any MIME charset label -> UTF-8, via glibc iconv.
 *
 * Label handling follows the WHATWG Encoding Standard, because it records
 * what senders actually mean: "iso-8859-1" and "us-ascii" text in the wild
 * is windows-1252 (curly quotes in 0x80-0x9F), "gb2312" text is GBK, which
 * GB18030 contains, "ks_c_5601-1987" is windows-949, "shift_jis" is
 * windows-31j. Reading a label as its superset never changes text that is
 * valid in the label's charset, it only rescues text that is not.
 * Deviations from WHATWG, for mail: "utf-16" without BOM is big-endian
 * (RFC 2781 §4.3, WHATWG says little-endian for the web); "us-ascii" gets
 * the 8-bit fallback (UTF-8 if valid, else windows-1252), since mislabelled
 * 8-bit headers are usually UTF-8 nowadays; UTF-7 (RFC 2152, a registered
 * mail charset) is decoded although browsers refuse it.
 */
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>

#include "jmap_message.h"
#include "message_private.h"

#define DEC_UTF8 "UTF-8"
#define DEC_8BIT "8BIT"          /* UTF-8 if valid, else windows-1252 */
#define DEC_CP1252 "CP1252"      /* our own table, no iconv round trip */
#define DEC_UTF16 "UTF-16"       /* BOM sniffing, big-endian default */
#define DEC_UNKNOWN ""           /* labels that must not reach iconv */

struct charset_alias {
    const char *key;             /* lower case, alphanumerics only */
    const char *decoder;
};

/* Sorted by key for bsearch(). */
static const struct charset_alias aliases[] = {
    { "ansix341968", DEC_8BIT },      { "arabic", "ISO-8859-6" },
    { "ascii", DEC_8BIT },            { "big5", "BIG5-HKSCS" },
    { "big5hkscs", "BIG5-HKSCS" },    { "chinese", "GB18030" },
    { "cnbig5", "BIG5-HKSCS" },       { "cp1250", "CP1250" },
    { "cp1251", "CP1251" },           { "cp1252", DEC_CP1252 },
    { "cp1253", "CP1253" },           { "cp1254", "CP1254" },
    { "cp1255", "CP1255" },           { "cp1256", "CP1256" },
    { "cp1257", "CP1257" },           { "cp1258", "CP1258" },
    { "cp367", DEC_8BIT },            { "cp819", DEC_CP1252 },
    { "cp866", "IBM866" },            { "cp874", "CP874" },
    { "cp932", "CP932" },             { "cp936", "GB18030" },
    { "cp949", "CP949" },             { "cp950", "BIG5-HKSCS" },
    { "csascii", DEC_8BIT },          { "csbig5", "BIG5-HKSCS" },
    { "cseuckr", "CP949" },           { "csgb2312", "GB18030" },
    { "csiso2022jp", "ISO-2022-JP-2" }, { "csiso88598i", "ISO-8859-8" },
    { "csisolatin1", DEC_CP1252 },    { "csksc56011987", "CP949" },
    { "cskoi8r", "KOI8-R" },          { "csshiftjis", "CP932" },
    { "csunicode11utf7", "UTF-7" },   { "cswindows31j", "CP932" },
    { "cyrillic", "ISO-8859-5" },     { "default", DEC_UNKNOWN },
    { "dos874", "CP874" },            { "eucjp", "EUC-JP-MS" },
    { "euckr", "CP949" },             { "gb18030", "GB18030" },
    { "gb2312", "GB18030" },          { "gb231280", "GB18030" },
    { "gbk", "GB18030" },             { "greek", "ISO-8859-7" },
    { "hebrew", "ISO-8859-8" },       { "ibm367", DEC_8BIT },
    { "ibm819", DEC_CP1252 },         { "ibm866", "IBM866" },
    { "iso2022jp", "ISO-2022-JP-2" }, { "isoir100", DEC_CP1252 },
    { "isoir149", "CP949" },          { "isoir58", "GB18030" },
    { "korean", "CP949" },            { "koi", "KOI8-R" },
    { "koi8", "KOI8-R" },             { "koi8r", "KOI8-R" },
    { "koi8ru", "KOI8-U" },           { "koi8u", "KOI8-U" },
    { "ksc5601", "CP949" },           { "ksc56011987", "CP949" },
    { "ksc56011989", "CP949" },       { "l1", DEC_CP1252 },
    { "l2", "ISO-8859-2" },           { "l3", "ISO-8859-3" },
    { "l4", "ISO-8859-4" },           { "l5", "CP1254" },
    { "l6", "ISO-8859-10" },          { "l9", "ISO-8859-15" },
    { "latin1", DEC_CP1252 },         { "latin10", "ISO-8859-16" },
    { "latin2", "ISO-8859-2" },       { "latin3", "ISO-8859-3" },
    { "latin4", "ISO-8859-4" },       { "latin5", "CP1254" },
    { "latin6", "ISO-8859-10" },      { "latin7", "ISO-8859-13" },
    { "latin8", "ISO-8859-14" },      { "latin9", "ISO-8859-15" },
    { "logical", "ISO-8859-8" },      { "mac", "MACINTOSH" },
    { "macintosh", "MACINTOSH" },     { "mskanji", "CP932" },
    { "shiftjis", "CP932" },          { "sjis", "CP932" },
    { "tis620", "CP874" },            { "uhc", "CP949" },
    { "unicode11utf7", "UTF-7" },     { "unicode11utf8", DEC_UTF8 },
    { "unicode20utf8", DEC_UTF8 },    { "unknown", DEC_UNKNOWN },
    { "unknown8bit", DEC_UNKNOWN },   { "us", DEC_8BIT },
    { "usascii", DEC_8BIT },          { "utf16", DEC_UTF16 },
    { "utf16be", "UTF-16BE" },        { "utf16le", "UTF-16LE" },
    { "utf7", "UTF-7" },              { "utf8", DEC_UTF8 },
    { "visual", "ISO-8859-8" },       { "windows1250", "CP1250" },
    { "windows1251", "CP1251" },      { "windows1252", DEC_CP1252 },
    { "windows1253", "CP1253" },      { "windows1254", "CP1254" },
    { "windows1255", "CP1255" },      { "windows1256", "CP1256" },
    { "windows1257", "CP1257" },      { "windows1258", "CP1258" },
    { "windows31j", "CP932" },        { "windows874", "CP874" },
    { "windows936", "GB18030" },      { "windows949", "CP949" },
    { "xcp1250", "CP1250" },          { "xcp1251", "CP1251" },
    { "xcp1252", DEC_CP1252 },        { "xeucjp", "EUC-JP-MS" },
    { "xgbk", "GB18030" },            { "xmacroman", "MACINTOSH" },
    { "xsjis", "CP932" },             { "xunicode20utf8", DEC_UTF8 },
    { "xunknown", DEC_UNKNOWN },      { "xuserdefined", DEC_UNKNOWN },
    { "xxbig5", "BIG5-HKSCS" },
};

/* windows-1252 0x80-0x9F; 0 marks the five holes (decoded as U+FFFD). */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static int alias_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct charset_alias *)elem)->key);
}

/* The ISO-8859 family by number, after "iso8859" and an optional RFC 1345
 * year ("iso_8859-2:1987") or bidi suffix ("iso-8859-8-i"). */
static const char *iso8859_decoder(const char *rest, char *name, size_t name_size)
{
    size_t len = strlen(rest);
    unsigned num = 0;
    if (len > 4 && (strncmp(rest + len - 4, "19", 2) == 0 || strncmp(rest + len - 4, "20", 2) == 0))
        len -= 4;
    if (len > 1 && (rest[len - 1] == 'i' || rest[len - 1] == 'e'))
        len--;
    if (len == 0 || len > 2)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (rest[i] < '0' || rest[i] > '9')
            return NULL;
        num = num * 10 + (unsigned)(rest[i] - '0');
    }
    if (num == 1)
        return DEC_CP1252;
    if (num == 9)
        return "CP1254";
    if (num == 11)
        return "CP874";
    if (num < 2 || num > 16 || num == 12)
        return NULL;
    int w = snprintf(name, name_size, "ISO-8859-%u", num);
    return w > 0 && (size_t)w < name_size ? name : NULL;
}

/* Decoder name for a label; NULL when unknown. name/name_size hold names
 * built at run time. */
static const char *charset_lookup(const char *label, size_t label_len, char *name, size_t name_size)
{
    char key[48];
    size_t k = 0;

    if (label_len == 0 || label_len >= name_size)
        return NULL;
    for (size_t i = 0; i < label_len; i++) {
        unsigned char c = (unsigned char)label[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (k + 1 >= sizeof(key))
                return NULL;
            key[k++] = (char)c;
        } else if (c != '-' && c != '_' && c != ' ' && c != '.' && c != ':') {
            return NULL;   /* iconv would accept "//TRANSLIT" and worse */
        }
    }
    key[k] = '\0';
    const struct charset_alias *a = bsearch(key, aliases, sizeof(aliases) / sizeof(aliases[0]),
                                            sizeof(aliases[0]), alias_cmp);
    if (a != NULL)
        return a->decoder[0] ? a->decoder : NULL;
    if (strncmp(key, "iso8859", 7) == 0)
        return iso8859_decoder(key + 7, name, name_size);
    if (strncmp(key, "csiso8859", 9) == 0 || strncmp(key, "csisolatin", 10) == 0)
        return NULL;
    /* Not ours: let glibc decide (IBM code pages, ISO-2022-KR, UTF-32 ...). */
    memcpy(name, label, label_len);
    name[label_len] = '\0';
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1)
        return NULL;
    iconv_close(cd);
    return name;
}

/* windows-1252 is total except for five holes, which become U+FFFD. */
static void cp1252_append(struct msg_buf *b, const char *p, size_t n, unsigned flags, bool *problem)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        uint32_t cp = c;
        if (c >= 0x80 && c <= 0x9F) {
            cp = cp1252_high[c - 0x80];
            if (cp == 0) {
                cp = 0xFFFD;
                if (problem)
                    *problem = true;
            }
        }
        if (cp == 0 || ((flags & MSG_DROP_CONTROLS) && (cp < 0x20 || cp == 0x7F)))
            continue;
        msg_buf_put_cp(b, cp);
    }
}

void msg_append_8bit(struct msg_buf *b, const char *p, size_t n, unsigned flags, bool *problem)
{
    if (jmap_utf8_valid(p, n)) {
        msg_utf8_append(b, p, n, flags, problem);
        return;
    }
    cp1252_append(b, p, n, flags, problem);
    if (problem)
        *problem = true;   /* 8-bit that is not UTF-8 is a guess */
}

static int decode_iconv(struct msg_buf *b, const char *name, const char *p, size_t n,
                        unsigned flags, bool *problem)
{
    iconv_t cd = iconv_open("UTF-8", name);
    char out[1024];

    if (cd == (iconv_t)-1)
        return -1;
    /* Each round consumes input or produces output (E2BIG with a 1 KiB
     * buffer always makes progress), so the loop is bounded by n. */
    while (n > 0) {
        char *ip = (char *)p, *op = out;
        size_t il = n, ol = sizeof(out);
        size_t r = iconv(cd, &ip, &il, &op, &ol);
        int e = errno;
        msg_utf8_append(b, out, (size_t)(op - out), flags, problem);
        bool progress = ip != p || op != out;
        p = ip;
        n = il;
        if (r != (size_t)-1)
            break;
        if (e == E2BIG && progress)
            continue;
        msg_buf_put_cp(b, 0xFFFD);
        if (problem)
            *problem = true;
        if (e == EINVAL || n == 0)
            break;   /* truncated at the end */
        p++;         /* skip one octet and resynchronise */
        n--;
    }
    char *op = out;
    size_t ol = sizeof(out);
    if (iconv(cd, NULL, NULL, &op, &ol) != (size_t)-1)
        msg_utf8_append(b, out, (size_t)(op - out), flags, problem);
    iconv_close(cd);
    return 0;
}

int msg_charset_decode_into(struct msg_buf *b, const char *label, size_t label_len,
                            const char *p, size_t n, unsigned flags, bool *problem)
{
    char name[64];
    const char *dec = charset_lookup(label, label_len, name, sizeof(name));

    if (dec == NULL)
        return -1;
    if (strcmp(dec, DEC_UTF8) == 0) {
        msg_utf8_append(b, p, n, flags, problem);
        return 0;
    }
    if (strcmp(dec, DEC_8BIT) == 0) {
        msg_append_8bit(b, p, n, flags, problem);
        return 0;
    }
    if (strcmp(dec, DEC_CP1252) == 0) {
        cp1252_append(b, p, n, flags, problem);
        return 0;
    }
    if (strcmp(dec, DEC_UTF16) == 0) {
        dec = "UTF-16BE";
        if (n >= 2 && (unsigned char)p[0] == 0xFF && (unsigned char)p[1] == 0xFE)
            dec = "UTF-16LE";
        if (n >= 2 && ((unsigned char)p[0] == 0xFF || (unsigned char)p[0] == 0xFE) &&
            (unsigned char)p[0] + (unsigned char)p[1] == 0xFF + 0xFE) {
            p += 2;
            n -= 2;
        }
    }
    return decode_iconv(b, dec, p, n, flags, problem);
}

bool msg_charset_known(const char *label, size_t label_len)
{
    char name[64];
    return charset_lookup(label, label_len, name, sizeof(name)) != NULL;
}

bool jmap_charset_is_known(const char *label)
{
    return label != NULL && msg_charset_known(label, strlen(label));
}

char *jmap_charset_decode(const char *label, const char *bytes, size_t len,
                          size_t *out_len, bool *had_problem)
{
    struct msg_buf b = MSG_BUF_INIT;
    if (label == NULL) {
        msg_append_8bit(&b, bytes, len, 0, had_problem);
    } else if (msg_charset_decode_into(&b, label, strlen(label), bytes, len, 0, had_problem) != 0) {
        /* RFC 8621 §4.1.4: an unknown charset is an encoding problem even
         * when the heuristic reads the text fine. */
        msg_append_8bit(&b, bytes, len, 0, NULL);
        if (had_problem)
            *had_problem = true;
    }
    return msg_buf_finish(&b, out_len);
}
