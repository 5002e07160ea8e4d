/* imap_codec.c - mailbox name (modified UTF-7, RFC 3501 5.1.3) and uid set
 * codecs of imap_wire.h. */
#include "imap_read.h"

#include <stdlib.h>
#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(char c)
{
    const char *p = c != '\0' ? strchr(b64, c) : NULL;
    return p != NULL ? (int)(p - b64) : -1;
}

static void put_utf8(struct imap_bytes *out, uint32_t cp, bool *fail)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (imap_bytes_append(out, u, n) < 0)
        *fail = true;
}

/* Decodes the base64 run in[0..len) (between '&' and '-') as UTF-16BE. */
static bool decode_run(const char *in, size_t len, struct imap_bytes *out, bool *fail)
{
    uint32_t bits = 0, high = 0;
    int nbits = 0;
    if (len == 0)
        return false;   /* "&-" is handled by the caller; "&" + "-" alone is not valid here */
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(in[i]);
        if (v < 0)
            return false;
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        uint32_t unit = (bits >> nbits) & 0xffff;
        bits &= (1u << nbits) - 1;
        if (high != 0) {
            if (unit < 0xdc00 || unit > 0xdfff)
                return false;
            put_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00), fail);
            high = 0;
        } else if (unit >= 0xd800 && unit <= 0xdbff) {
            high = unit;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            return false;
        } else if (unit >= 0x20 && unit < 0x7f) {
            return false;   /* printable ASCII must be sent directly */
        } else {
            put_utf8(out, unit, fail);
        }
    }
    return high == 0 && nbits < 6 && bits == 0;
}

/* The converted text as a NUL-terminated string handed to the caller
 * ("" for empty input), or NULL (out freed) when conversion failed. */
static char *finish(struct imap_bytes *out, bool fail)
{
    if (fail || imap_bytes_append(out, "", 0) < 0) {
        imap_bytes_free(out);
        return NULL;
    }
    return out->data != NULL ? out->data : strdup("");
}

char *imap_mutf7_decode(const char *in, size_t len)
{
    struct imap_bytes out = { 0 };
    bool fail = false;
    for (size_t i = 0; i < len && !fail; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c > 0x7e)
            goto bad;
        if (c != '&') {
            fail = imap_bytes_append(&out, &in[i], 1) < 0;
            continue;
        }
        const char *dash = memchr(in + i + 1, '-', len - i - 1);
        if (dash == NULL)
            goto bad;
        size_t run = (size_t)(dash - (in + i + 1));
        if (run == 0)
            fail = imap_bytes_append(&out, "&", 1) < 0;
        else if (!decode_run(in + i + 1, run, &out, &fail))
            goto bad;
        i += run + 1;
    }
    return finish(&out, fail);
bad:
    imap_bytes_free(&out);
    return NULL;
}

/* Next code point of UTF-8 text, or -1 when invalid. */
static long utf8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                                                 : (c & 0xf8) == 0xf0 ? 3 : 9;
    if (n == 9 || *i + n >= len)
        return -1;
    long cp = n == 0 ? c : (long)(c & (0x3f >> n));
    for (size_t k = 1; k <= n; k++) {
        if ((s[*i + k] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[*i + k] & 0x3f);
    }
    static const long min[] = { 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *i += n + 1;
    return cp;
}

char *imap_mutf7_encode(const char *in, size_t len)
{
    const unsigned char *s = (const unsigned char *)in;
    struct imap_bytes out = { 0 };
    bool fail = false;
    size_t i = 0;
    while (i < len && !fail) {
        if (s[i] >= 0x20 && s[i] < 0x7f) {
            fail = imap_bytes_append(&out, s[i] == '&' ? "&-" : (const char *)&s[i],
                                     s[i] == '&' ? 2 : 1) < 0;
            i++;
            continue;
        }
        uint32_t bits = 0;
        int nbits = 0;
        fail = imap_bytes_append(&out, "&", 1) < 0;
        while (i < len && !(s[i] >= 0x20 && s[i] < 0x7f) && !fail) {
            long cp = utf8_next(s, len, &i);
            if (cp < 0x20)
                goto bad;
            uint32_t units[2];
            int nu = 1;
            if (cp >= 0x10000) {
                units[0] = 0xd800 + (((uint32_t)cp - 0x10000) >> 10);
                units[1] = 0xdc00 + (((uint32_t)cp - 0x10000) & 0x3ff);
                nu = 2;
            } else {
                units[0] = (uint32_t)cp;
            }
            for (int u = 0; u < nu && !fail; u++) {
                bits = (bits << 16) | units[u];
                nbits += 16;
                while (nbits >= 6 && !fail) {
                    nbits -= 6;
                    fail = imap_bytes_append(&out, &b64[(bits >> nbits) & 0x3f], 1) < 0;
                }
                bits &= (1u << nbits) - 1;
            }
        }
        if (nbits > 0 && !fail)
            fail = imap_bytes_append(&out, &b64[(bits << (6 - nbits)) & 0x3f], 1) < 0;
        if (!fail)
            fail = imap_bytes_append(&out, "-", 1) < 0;
    }
    return finish(&out, fail);
bad:
    imap_bytes_free(&out);
    return NULL;
}

int imap_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static bool parse_num(const char **p, const char *end, uint32_t *out)
{
    uint64_t v = 0;
    const char *start = *p;
    while (*p < end && **p >= '0' && **p <= '9' && v <= UINT32_MAX)
        v = v * 10 + (uint64_t)(*(*p)++ - '0');
    if (*p == start || v == 0 || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

int imap_uidset_parse_ordered(const char *s, size_t len, size_t max, uint32_t **out,
                              size_t *n_out)
{
    const char *p = s, *end = s + len;
    uint32_t *v = NULL;
    size_t n = 0, cap = 0;
    while (p < end) {
        uint32_t lo, hi;
        if (!parse_num(&p, end, &lo))
            goto bad;
        hi = lo;
        if (p < end && *p == ':') {
            p++;
            if (!parse_num(&p, end, &hi))
                goto bad;
            if (hi < lo) {
                uint32_t t = lo;
                lo = hi;
                hi = t;
            }
        }
        if ((uint64_t)hi - lo + 1 > max - n)
            goto bad;
        if (n + (hi - lo + 1) > cap) {
            size_t ncap = cap != 0 ? cap : 64;
            while (ncap < n + (hi - lo + 1))
                ncap *= 2;
            uint32_t *nv = realloc(v, ncap * sizeof(*nv));
            if (nv == NULL)
                goto bad;
            v = nv;
            cap = ncap;
        }
        for (uint64_t u = lo; u <= hi; u++)
            v[n++] = (uint32_t)u;
        if (p < end && *p++ != ',')
            goto bad;
        if (p == end && p[-1] == ',')
            goto bad;
    }
    *out = v;
    *n_out = n;
    return 0;
bad:
    free(v);
    return -1;
}

int imap_uidset_parse(const char *s, size_t len, size_t max, uint32_t **out, size_t *n_out)
{
    if (imap_uidset_parse_ordered(s, len, max, out, n_out) < 0)
        return -1;
    if (*n_out > 1)
        qsort(*out, *n_out, sizeof(**out), imap_cmp_u32);
    return 0;
}

int imap_uidset_format(struct imap_cmd *c, const uint32_t *uids, size_t n)
{
    uint32_t *s = malloc((n != 0 ? n : 1) * sizeof(*s));
    if (s == NULL) {
        c->failed = true;
        return -1;
    }
    memcpy(s, uids, n * sizeof(*s));
    qsort(s, n, sizeof(*s), imap_cmp_u32);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && (s[j + 1] == s[j] || s[j + 1] == s[j] + 1))
            j++;
        if (s[j] == s[i])
            imap_cmd_addf(c, i != 0 ? ",%u" : "%u", s[i]);
        else
            imap_cmd_addf(c, i != 0 ? ",%u:%u" : "%u:%u", s[i], s[j]);
        i = j + 1;
    }
    free(s);
    return c->failed ? -1 : 0;
}

int imap_flags_from(const struct imap_value *v, struct backend_flags *out)
{
    *out = (struct backend_flags){ 0 };
    if (v == NULL || v->type != IMAP_V_LIST)
        return -1;
    if (v->n == 0)
        return 0;
    out->v = calloc(v->n, sizeof(*out->v));
    if (out->v == NULL)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i].type != IMAP_V_ATOM || (out->v[out->n] = imap_value_strdup(&v->items[i])) == NULL) {
            backend_flags_clear(out);
            return -1;
        }
        out->n++;
    }
    return 0;
}

void imap_cmd_add_mailbox(struct imap_cmd *c, const char *name_raw)
{
    imap_cmd_add_string(c, name_raw, strlen(name_raw));
}

int imap_nstring(const struct imap_value *v, char **out)
{
    *out = NULL;
    if (v->type == IMAP_V_NIL)
        return 0;
    if (v->type != IMAP_V_ATOM && v->type != IMAP_V_STRING)
        return -1;
    *out = imap_value_strdup(v);
    return *out != NULL ? 0 : -1;
}

int imap_msg_change_append(const struct imap_value *att, const char *cmd,
                           struct backend_msg_change **v, size_t *n, size_t *cap,
                           struct gw_error *err)
{
    struct backend_msg_change ch = { 0 };
    bool have_flags = false;

    if (att->type != IMAP_V_LIST || att->n % 2 != 0)
        return gw_error_set(err, GW_ERR_PROTOCOL, "%s: malformed FETCH", cmd);
    for (size_t i = 0; i < att->n; i += 2) {
        const struct imap_value *k = &att->items[i], *val = &att->items[i + 1];
        bool ok = true;
        if (imap_value_is(k, "UID"))
            ok = imap_value_u32(val, &ch.uid);
        else if (imap_value_is(k, "MODSEQ"))
            ok = val->type == IMAP_V_LIST && val->n == 1 &&
                 imap_value_u64(&val->items[0], &ch.modseq);
        else if (imap_value_is(k, "FLAGS") && !have_flags)
            ok = have_flags = imap_flags_from(val, &ch.flags) == 0;
        if (!ok) {
            backend_flags_clear(&ch.flags);
            return gw_error_set(err, GW_ERR_PROTOCOL, "%s: malformed FETCH item", cmd);
        }
    }
    if (ch.uid == 0) {
        backend_flags_clear(&ch.flags);
        return 0;   /* an unsolicited FETCH without UID says nothing we can key */
    }
    if (*n == *cap) {
        size_t ncap = *cap != 0 ? *cap * 2 : 32;
        struct backend_msg_change *nv = realloc(*v, ncap * sizeof(*nv));
        if (nv == NULL) {
            backend_flags_clear(&ch.flags);
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        }
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = ch;
    return 0;
}
