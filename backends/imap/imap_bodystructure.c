/* imap_bodystructure.c - ENVELOPE and BODYSTRUCTURE values (RFC 3501
 * 7.4.2) into the neutral struct backend_envelope / backend_mime_part.
 *
 * Everything is built in place inside structures the caller already owns,
 * so a malformed value half way through leaves nothing to leak: the
 * caller frees the whole summary. */
#include "imap_read.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int address_list(const struct imap_value *v, struct backend_address_list *out)
{
    if (v->type == IMAP_V_NIL)
        return 0;
    if (v->type != IMAP_V_LIST || v->n == 0)
        return -1;
    if ((out->v = calloc(v->n, sizeof(*out->v))) == NULL)
        return -1;
    for (size_t i = 0; i < v->n; i++) {
        const struct imap_value *a = &v->items[i];
        struct backend_address *dst = &out->v[out->n];
        if (a->type != IMAP_V_LIST || a->n != 4)
            return -1;
        out->n++;
        /* a->items[1] is the obsolete source route: dropped. */
        if (imap_nstring(&a->items[0], &dst->name) < 0 ||
            imap_nstring(&a->items[2], &dst->mailbox) < 0 ||
            imap_nstring(&a->items[3], &dst->host) < 0)
            return -1;
    }
    return 0;
}

int imap_envelope_fill(const struct imap_value *v, struct backend_envelope *e)
{
    if (v->type != IMAP_V_LIST || v->n != 10)
        return -1;
    const struct imap_value *it = v->items;
    if (imap_nstring(&it[0], &e->date) < 0 || imap_nstring(&it[1], &e->subject) < 0 ||
        address_list(&it[2], &e->from) < 0 || address_list(&it[3], &e->sender) < 0 ||
        address_list(&it[4], &e->reply_to) < 0 || address_list(&it[5], &e->to) < 0 ||
        address_list(&it[6], &e->cc) < 0 || address_list(&it[7], &e->bcc) < 0 ||
        imap_nstring(&it[8], &e->in_reply_to) < 0 || imap_nstring(&it[9], &e->message_id) < 0)
        return -1;
    return 0;
}

static bool is_str(const struct imap_value *v)
{
    return v->type == IMAP_V_STRING || v->type == IMAP_V_ATOM;
}

static char *lower_dup(const struct imap_value *v)
{
    char *s = imap_value_strdup(v);
    for (char *p = s; p != NULL && *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

/* NIL or ("name" "value" ...) */
static int params(const struct imap_value *v, struct backend_param **out, size_t *n)
{
    if (v->type == IMAP_V_NIL)
        return 0;
    if (v->type != IMAP_V_LIST || v->n % 2 != 0)
        return -1;
    if (v->n == 0)
        return 0;
    if ((*out = calloc(v->n / 2, sizeof(**out))) == NULL)
        return -1;
    for (size_t i = 0; i < v->n; i += 2) {
        struct backend_param *p = &(*out)[*n];
        if (!is_str(&v->items[i]) || !is_str(&v->items[i + 1]))
            return -1;
        (*n)++;
        if ((p->name = lower_dup(&v->items[i])) == NULL ||
            (p->value = imap_value_strdup(&v->items[i + 1])) == NULL)
            return -1;
    }
    return 0;
}

/* The extension fields shared by both part kinds, from dsp on:
 * body-fld-dsp, body-fld-lang, body-fld-loc (each optional). */
static int ext_tail(const struct imap_value *it, size_t n, struct backend_mime_part *p)
{
    if (n >= 1 && it[0].type != IMAP_V_NIL) {
        if (it[0].type != IMAP_V_LIST || it[0].n != 2 || !is_str(&it[0].items[0]) ||
            (p->disposition = lower_dup(&it[0].items[0])) == NULL ||
            params(&it[0].items[1], &p->disposition_params, &p->n_disposition_params) < 0)
            return -1;
    }
    if (n >= 2 && it[1].type != IMAP_V_NIL) {
        const struct imap_value *lang = it[1].type == IMAP_V_LIST ? it[1].items : &it[1];
        size_t nl = it[1].type == IMAP_V_LIST ? it[1].n : 1;
        if (nl != 0 && (p->language = calloc(nl, sizeof(*p->language))) == NULL)
            return -1;
        for (size_t i = 0; i < nl; i++) {
            if (!is_str(&lang[i]) || (p->language[i] = imap_value_strdup(&lang[i])) == NULL)
                return -1;
            p->n_language++;
        }
    }
    if (n >= 3 && imap_nstring(&it[2], &p->location) < 0)
        return -1;
    return 0;
}

static int set_id(struct backend_mime_part *p, const char *prefix, size_t index)
{
    char buf[128];
    int n = index == 0 ? snprintf(buf, sizeof(buf), "%s", prefix)
            : prefix[0] != '\0' ? snprintf(buf, sizeof(buf), "%s.%zu", prefix, index)
                                : snprintf(buf, sizeof(buf), "%zu", index);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return -1;
    return (p->part_id = strdup(buf)) != NULL ? 0 : -1;
}

static int part(const struct imap_value *v, struct backend_mime_part *p, const char *prefix,
                size_t index, int depth);

static int multipart(const struct imap_value *v, struct backend_mime_part *p, int depth)
{
    size_t nkids = 0;
    while (nkids < v->n && v->items[nkids].type == IMAP_V_LIST)
        nkids++;
    if (nkids == 0 || nkids == v->n || !is_str(&v->items[nkids]))
        return -1;
    if ((p->type = strdup("multipart")) == NULL || (p->subtype = lower_dup(&v->items[nkids])) == NULL)
        return -1;
    if ((p->children = calloc(nkids, sizeof(*p->children))) == NULL)
        return -1;
    for (size_t i = 0; i < nkids; i++) {
        p->n_children++;
        if (part(&v->items[i], &p->children[i], p->part_id, i + 1, depth + 1) < 0)
            return -1;
    }
    const struct imap_value *ext = &v->items[nkids + 1];
    size_t next = v->n - nkids - 1;
    if (next >= 1 && params(&ext[0], &p->params, &p->n_params) < 0)
        return -1;
    return next >= 2 ? ext_tail(ext + 1, next - 1, p) : 0;
}

static int singlepart(const struct imap_value *v, struct backend_mime_part *p, int depth)
{
    const struct imap_value *it = v->items;
    uint64_t size;
    size_t i = 7;
    if (v->n < 7 || !is_str(&it[0]) || !is_str(&it[1]) || !imap_value_u64(&it[6], &size))
        return -1;
    p->size = size;
    if ((p->type = lower_dup(&it[0])) == NULL || (p->subtype = lower_dup(&it[1])) == NULL ||
        params(&it[2], &p->params, &p->n_params) < 0 || imap_nstring(&it[3], &p->id) < 0 ||
        imap_nstring(&it[4], &p->description) < 0 || imap_nstring(&it[5], &p->encoding) < 0)
        return -1;
    bool message = strcmp(p->type, "message") == 0 &&
                   (strcmp(p->subtype, "rfc822") == 0 || strcmp(p->subtype, "global") == 0) &&
                   v->n >= 10 && it[7].type == IMAP_V_LIST && it[8].type == IMAP_V_LIST;
    if (message) {
        if ((p->envelope = calloc(1, sizeof(*p->envelope))) == NULL ||
            imap_envelope_fill(&it[7], p->envelope) < 0 ||
            (p->children = calloc(1, sizeof(*p->children))) == NULL)
            return -1;
        p->n_children = 1;
        /* The embedded body: a multipart shares this part's number, a
         * single part is <number>.1 (RFC 3501 6.4.5). */
        bool inner_multi = it[8].n != 0 && it[8].items[0].type == IMAP_V_LIST;
        if (part(&it[8], &p->children[0], p->part_id, inner_multi ? 0 : 1, depth + 1) < 0 ||
            !imap_value_u32(&it[9], &p->lines))
            return -1;
        i = 10;
    } else if (strcmp(p->type, "text") == 0 && v->n >= 8) {
        if (!imap_value_u32(&it[7], &p->lines))
            return -1;
        i = 8;
    }
    if (v->n > i && imap_nstring(&it[i], &p->md5) < 0)
        return -1;
    return v->n > i + 1 ? ext_tail(it + i + 1, v->n - i - 1, p) : 0;
}

static int part(const struct imap_value *v, struct backend_mime_part *p, const char *prefix,
                size_t index, int depth)
{
    if (v->type != IMAP_V_LIST || v->n == 0 || depth > 32)
        return -1;
    if (set_id(p, prefix, index) < 0)
        return -1;
    if (v->items[0].type == IMAP_V_LIST)
        return multipart(v, p, depth);
    return singlepart(v, p, depth);
}

int imap_bodystructure_fill(const struct imap_value *v, struct backend_mime_part *out)
{
    /* A top-level multipart is the message itself (""); a single part
     * body is section 1. */
    bool multi = v->type == IMAP_V_LIST && v->n != 0 && v->items[0].type == IMAP_V_LIST;
    return part(v, out, "", multi ? 0 : 1, 0);
}
