/* mime_params.c - the content fields of one MIME part: Content-Type and
 * Content-Disposition with their parameters (RFC 2045 §5.1, RFC 2183,
 * RFC 2231 continuations and charsets, RFC 2047 words in name/filename as
 * mailers send them), Content-ID, Content-Language, Content-Location and
 * Content-Transfer-Encoding.
 *
 * Lenient on purpose: unquoted values with spaces or tspecials, a missing
 * section of a continuation, junk between parameters are all read as far
 * as they make sense, because real attachments carry such names.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "message_private.h"
#include "mime_private.h"

/* A parameter as written, before RFC 2231 reassembly. */
struct raw_param {
    const char *attr;       /* base name (before any '*') */
    size_t attr_len;
    int section;            /* -1: none */
    bool extended;          /* value is charset'lang'pct-encoded (or pct-encoded) */
    char *value;            /* unquoted bytes (new) */
    size_t value_len;
};

#define MAX_RAW_PARAMS 64
#define MAX_SECTIONS 100

static bool is_tspecial(char c)
{
    return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool is_token_char(char c)
{
    unsigned char u = (unsigned char)c;
    return u > 32 && u < 127 && !is_tspecial(c);
}

static size_t token_end(const char *p, size_t n, size_t pos)
{
    while (pos < n && is_token_char(p[pos]))
        pos++;
    return pos;
}

static char *lower_dup(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
    s[n] = '\0';
    return s;
}

/* The value of a parameter after '=': quoted (pairs unescaped, folding
 * removed) or up to the next ';' with white space trimmed. */
static size_t read_value(const char *p, size_t n, size_t pos, struct msg_buf *out)
{
    if (pos < n && p[pos] == '"') {
        pos++;
        while (pos < n && p[pos] != '"') {
            if (p[pos] == '\\' && pos + 1 < n)
                pos++;
            if (p[pos] != '\r' && p[pos] != '\n')
                msg_buf_putc(out, p[pos]);
            pos++;
        }
        return pos < n ? pos + 1 : n;
    }
    size_t start = pos, last = pos;
    while (pos < n && p[pos] != ';') {
        if (!msg_is_wsp(p[pos]))
            last = pos + 1;
        pos++;
    }
    for (size_t i = start; i < last; i++) {
        if (p[i] != '\r' && p[i] != '\n')
            msg_buf_putc(out, p[i]);
    }
    return pos;
}

/* "name", "name*", "name*3", "name*3*". A malformed star part keeps the
 * attribute whole as a plain name. */
static void split_attr(struct raw_param *rp, const char *a, size_t n)
{
    const char *star = memchr(a, '*', n);
    rp->attr = a;
    rp->attr_len = n;
    rp->section = -1;
    rp->extended = false;
    if (star == NULL || star == a)
        return;
    size_t i = (size_t)(star - a) + 1;
    int section = -1;
    if (i < n && a[i] >= '0' && a[i] <= '9') {
        section = 0;
        while (i < n && a[i] >= '0' && a[i] <= '9' && section < MAX_SECTIONS * 10)
            section = section * 10 + (a[i++] - '0');
    }
    bool extended = false;
    if (i < n && a[i] == '*' && section >= 0) {
        extended = true;
        i++;
    }
    if (i != n || (section < 0 && n != (size_t)(star - a) + 1))
        return;
    rp->attr_len = (size_t)(star - a);
    rp->section = section;
    rp->extended = section < 0 ? true : extended;
}

/* Parameters from pos on; returns how many went into rp. */
static size_t scan_params(const char *p, size_t n, size_t pos, struct raw_param *rp, bool *nomem)
{
    size_t count = 0;
    while (pos < n && count < MAX_RAW_PARAMS) {
        pos = msg_skip_cfws(p, n, pos);
        if (pos >= n)
            break;
        if (p[pos] == ';') {
            pos++;
            continue;
        }
        size_t a = pos;
        while (pos < n && p[pos] != '=' && p[pos] != ';' && !msg_is_wsp(p[pos]) && p[pos] != '(')
            pos++;
        size_t a_end = pos;
        pos = msg_skip_cfws(p, n, pos);
        if (a_end == a || pos >= n || p[pos] != '=') {
            while (pos < n && p[pos] != ';')
                pos++;
            continue;
        }
        pos = msg_skip_cfws(p, n, pos + 1);
        struct msg_buf v = MSG_BUF_INIT;
        pos = read_value(p, n, pos, &v);
        split_attr(&rp[count], p + a, a_end - a);
        rp[count].value = msg_buf_finish(&v, &rp[count].value_len);
        if (rp[count].value == NULL) {
            *nomem = true;
            break;
        }
        count++;
    }
    return count;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void pct_decode(struct msg_buf *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (p[i] == '%' && i + 2 < n && (h = hex_digit(p[i + 1])) >= 0 &&
            (l = hex_digit(p[i + 2])) >= 0) {
            msg_buf_putc(b, (char)(h * 16 + l));
            i += 2;
        } else {
            msg_buf_putc(b, p[i]);
        }
    }
}

/* Reassembles the parameter whose first raw entry is rp[first]. */
static char *assemble(const struct raw_param *rp, size_t count, size_t first)
{
    const struct raw_param *plain = NULL, *ext = NULL;
    const struct raw_param *sec[MAX_SECTIONS] = { 0 };
    const struct raw_param *f = &rp[first];
    for (size_t i = first; i < count; i++) {
        if (rp[i].attr_len != f->attr_len || strncasecmp(rp[i].attr, f->attr, f->attr_len) != 0)
            continue;
        if (rp[i].section >= 0 && rp[i].section < MAX_SECTIONS)
            sec[rp[i].section] = sec[rp[i].section] != NULL ? sec[rp[i].section] : &rp[i];
        else if (rp[i].section < 0 && rp[i].extended)
            ext = ext != NULL ? ext : &rp[i];
        else if (rp[i].section < 0)
            plain = plain != NULL ? plain : &rp[i];
    }

    struct msg_buf bytes = MSG_BUF_INIT, out = MSG_BUF_INIT;
    const char *charset = NULL;
    size_t charset_len = 0;
    bool any_extended = false;
    if (sec[0] != NULL || ext != NULL) {
        for (int s = 0; s < MAX_SECTIONS; s++) {
            const struct raw_param *r = sec[0] != NULL ? sec[s] : (s == 0 ? ext : NULL);
            if (r == NULL)
                break;
            const char *v = r->value;
            size_t vn = r->value_len;
            if (r->extended && s == 0) {
                /* charset'language'value; a value without the quotes is
                 * taken as plain percent-encoded text. */
                const char *q1 = memchr(v, '\'', vn);
                const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', vn - (size_t)(q1 + 1 - v)) : NULL;
                if (q2 != NULL) {
                    charset = v;
                    charset_len = (size_t)(q1 - v);
                    vn -= (size_t)(q2 + 1 - v);
                    v = q2 + 1;
                }
            }
            any_extended |= r->extended;
            if (r->extended)
                pct_decode(&bytes, v, vn);
            else
                msg_buf_put(&bytes, v, vn);
        }
    } else if (plain != NULL) {
        msg_buf_put(&bytes, plain->value, plain->value_len);
    }
    const char *bp = bytes.data != NULL ? bytes.data : "";
    bool is_name = (f->attr_len == 4 && strncasecmp(f->attr, "name", 4) == 0) ||
                   (f->attr_len == 8 && strncasecmp(f->attr, "filename", 8) == 0);
    char *result = NULL;
    if (bytes.failed) {
        result = NULL;
    } else if (charset_len > 0 &&
               msg_charset_decode_into(&out, charset, charset_len, bp, bytes.len, 0, NULL) == 0) {
        result = msg_buf_finish(&out, NULL);
    } else if (!any_extended && is_name) {
        result = jmap_encoded_words_decode(bp, bytes.len);
    } else {
        msg_append_8bit(&out, bp, bytes.len, 0, NULL);
        result = msg_buf_finish(&out, NULL);
    }
    msg_buf_free(&out);
    msg_buf_free(&bytes);
    return result;
}

/* Parameters of a Content-Type/Content-Disposition value from pos on. */
static int parse_params(const char *p, size_t n, size_t pos, struct jmap_mime_param **out,
                        size_t *n_out)
{
    struct raw_param rp[MAX_RAW_PARAMS];
    bool nomem = false;
    size_t count = scan_params(p, n, pos, rp, &nomem);
    int rc = nomem ? -1 : 0;

    *out = NULL;
    *n_out = 0;
    if (rc == 0 && count > 0) {
        *out = calloc(count, sizeof(**out));
        rc = *out != NULL ? 0 : -1;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = rp[j].attr_len == rp[i].attr_len &&
                   strncasecmp(rp[j].attr, rp[i].attr, rp[i].attr_len) == 0;
        if (seen)
            continue;
        struct jmap_mime_param *mp = &(*out)[*n_out];
        mp->name = lower_dup(rp[i].attr, rp[i].attr_len);
        mp->value = assemble(rp, count, i);
        if (mp->name == NULL || mp->value == NULL) {
            free(mp->name);
            free(mp->value);
            mp->name = mp->value = NULL;
            rc = -1;
            break;
        }
        (*n_out)++;
    }
    for (size_t i = 0; i < count; i++)
        free(rp[i].value);
    return rc;
}

static const struct jmap_mime_field *field_get(const struct jmap_mime_part *part, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < part->n_fields; i++) {
        const struct jmap_mime_field *f = &part->fields[i];
        if (f->name_len == len && strncasecmp(f->name, name, len) == 0)
            return f;
    }
    return NULL;
}

static const char *param_get(const struct jmap_mime_param *p, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(p[i].name, name) == 0)
            return p[i].value;
    }
    return NULL;
}

int mime_part_set_type(struct jmap_mime_part *part, const char *type)
{
    char *t = strdup(type);
    if (t == NULL)
        return -1;
    free(part->type);
    part->type = t;
    part->subtype = strchr(t, '/') + 1;
    return 0;
}

static int content_type(struct jmap_mime_part *part, const struct jmap_mime_field *f,
                        bool digest_child)
{
    const char *p = f != NULL ? f->value : "";
    size_t n = f != NULL ? f->value_len : 0;
    size_t a = msg_skip_cfws(p, n, 0);
    size_t a_end = token_end(p, n, a);
    size_t s = msg_skip_cfws(p, n, a_end);
    size_t b = s < n && p[s] == '/' ? msg_skip_cfws(p, n, s + 1) : n;
    size_t b_end = token_end(p, n, b);

    if (a_end > a && b_end > b) {
        struct msg_buf t = MSG_BUF_INIT;
        msg_buf_put(&t, p + a, a_end - a);
        msg_buf_putc(&t, '/');
        msg_buf_put(&t, p + b, b_end - b);
        char *raw = msg_buf_finish(&t, NULL);
        if (raw == NULL)
            return -1;
        part->type = lower_dup(raw, strlen(raw));
        free(raw);
        if (part->type == NULL)
            return -1;
        part->subtype = strchr(part->type, '/') + 1;
        part->has_content_type = true;
    } else if (mime_part_set_type(part, digest_child ? "message/rfc822" : "text/plain") != 0) {
        return -1;
    }
    const char *semi = memchr(p, ';', n);
    if (semi != NULL &&
        parse_params(p, n, (size_t)(semi - p), &part->params, &part->n_params) != 0)
        return -1;
    part->charset = param_get(part->params, part->n_params, "charset");
    if (part->charset != NULL && part->charset[0] == '\0')
        part->charset = NULL;   /* "charset=" says nothing */
    return 0;
}

static int disposition(struct jmap_mime_part *part, const struct jmap_mime_field *f)
{
    if (f == NULL)
        return 0;
    size_t a = msg_skip_cfws(f->value, f->value_len, 0);
    size_t a_end = token_end(f->value, f->value_len, a);
    if (a_end > a && (part->disposition = lower_dup(f->value + a, a_end - a)) == NULL)
        return -1;
    const char *semi = memchr(f->value, ';', f->value_len);
    if (semi != NULL && parse_params(f->value, f->value_len, (size_t)(semi - f->value),
                                     &part->disposition_params, &part->n_disposition_params) != 0)
        return -1;
    return 0;
}

/* Content-ID: the msg-id without CFWS and brackets. */
static int content_id(struct jmap_mime_part *part, const struct jmap_mime_field *f)
{
    if (f == NULL)
        return 0;
    const char *p = f->value;
    size_t n = f->value_len, i = msg_skip_cfws(p, n, 0), end;
    if (i < n && p[i] == '<') {
        i++;
        end = i;
        while (end < n && p[end] != '>')
            end++;
    } else {
        end = i;
        while (end < n && !msg_is_wsp(p[end]) && p[end] != '(')
            end++;
    }
    struct msg_buf b = MSG_BUF_INIT;
    for (size_t k = i; k < end; k++) {
        if (!msg_is_wsp(p[k]))
            msg_buf_putc(&b, p[k]);
    }
    if (b.len == 0 && !b.failed)
        return 0;
    char *raw = msg_buf_finish(&b, NULL);
    part->cid = raw != NULL ? jmap_utf8_sanitize(raw, strlen(raw), NULL, NULL) : NULL;
    free(raw);
    return part->cid != NULL ? 0 : -1;
}

/* Content-Language: comma-separated tags (RFC 3282). */
static int content_language(struct jmap_mime_part *part, const struct jmap_mime_field *f)
{
    if (f == NULL)
        return 0;
    const char *p = f->value;
    size_t n = f->value_len, i = 0, cap = 0;
    part->language = calloc(1, sizeof(char *));
    if (part->language == NULL)
        return -1;
    cap = 1;
    while (i < n) {
        i = msg_skip_cfws(p, n, i);
        size_t s = i;
        while (i < n && p[i] != ',' && !msg_is_wsp(p[i]) && p[i] != '(')
            i++;
        if (i > s) {
            if (part->n_language == cap) {
                char **nl = realloc(part->language, cap * 2 * sizeof(char *));
                if (nl == NULL)
                    return -1;
                part->language = nl;
                cap *= 2;
            }
            char *tag = jmap_utf8_sanitize(p + s, i - s, NULL, NULL);
            if (tag == NULL)
                return -1;
            part->language[part->n_language++] = tag;
        } else if (i < n) {
            i++;   /* a comma, or a '(' that opens no complete comment */
        }
    }
    return 0;
}

/* Content-Location: a URI that may be folded (RFC 2557 §4.4.1). */
static int content_location(struct jmap_mime_part *part, const struct jmap_mime_field *f)
{
    if (f == NULL)
        return 0;
    struct msg_buf b = MSG_BUF_INIT;
    size_t i = msg_skip_cfws(f->value, f->value_len, 0);
    for (; i < f->value_len; i++) {
        if (!msg_is_wsp(f->value[i]))
            msg_buf_putc(&b, f->value[i]);
    }
    if (b.len == 0 && !b.failed)
        return 0;
    char *raw = msg_buf_finish(&b, NULL);
    part->location = raw != NULL ? jmap_utf8_sanitize(raw, strlen(raw), NULL, NULL) : NULL;
    free(raw);
    return part->location != NULL ? 0 : -1;
}

static enum jmap_mime_encoding encoding(const struct jmap_mime_field *f)
{
    if (f == NULL)
        return JMAP_MIME_ENC_IDENTITY;
    size_t a = msg_skip_cfws(f->value, f->value_len, 0);
    size_t n = token_end(f->value, f->value_len, a) - a;
    const char *t = f->value + a;
    static const struct {
        const char *name;
        enum jmap_mime_encoding enc;
    } table[] = {
        { "7bit", JMAP_MIME_ENC_IDENTITY },  { "8bit", JMAP_MIME_ENC_IDENTITY },
        { "binary", JMAP_MIME_ENC_IDENTITY }, { "base64", JMAP_MIME_ENC_BASE64 },
        { "quoted-printable", JMAP_MIME_ENC_QP },
    };
    if (n == 0)
        return JMAP_MIME_ENC_IDENTITY;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strlen(table[i].name) == n && strncasecmp(t, table[i].name, n) == 0)
            return table[i].enc;
    }
    return JMAP_MIME_ENC_UNKNOWN;
}

int mime_part_analyze(struct jmap_mime_part *part, bool digest_child, const char **boundary,
                      size_t *boundary_len)
{
    *boundary = NULL;
    *boundary_len = 0;
    if (content_type(part, field_get(part, "Content-Type"), digest_child) != 0 ||
        disposition(part, field_get(part, "Content-Disposition")) != 0 ||
        content_id(part, field_get(part, "Content-ID")) != 0 ||
        content_language(part, field_get(part, "Content-Language")) != 0 ||
        content_location(part, field_get(part, "Content-Location")) != 0)
        return -1;
    part->encoding = encoding(field_get(part, "Content-Transfer-Encoding"));

    const char *name = param_get(part->disposition_params, part->n_disposition_params, "filename");
    if (name == NULL)
        name = param_get(part->params, part->n_params, "name");
    if (name != NULL && (part->name = strdup(name)) == NULL)
        return -1;

    part->kind = JMAP_MIME_LEAF;
    if (strncmp(part->type, "multipart/", 10) == 0) {
        part->kind = JMAP_MIME_MULTIPART;
        *boundary = param_get(part->params, part->n_params, "boundary");
        *boundary_len = *boundary != NULL ? strlen(*boundary) : 0;
    } else if (strcmp(part->type, "message/rfc822") == 0 &&
               (part->encoding == JMAP_MIME_ENC_IDENTITY)) {
        part->kind = JMAP_MIME_MESSAGE;
    }
    return 0;
}
