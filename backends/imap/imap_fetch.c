/* imap_fetch.c - backend_fetch_summaries() and backend_fetch_part() for
 * IMAP: one UID FETCH per call, each FETCH response turned into a neutral
 * summary and handed to the caller as it arrives. */
#include "imap_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const default_fields[] = { BACKEND_DEFAULT_HEADER_FIELDS };

/* "17-Jul-1996 02:44:25 -0700" (day may be space padded). */
static bool parse_internaldate(const struct imap_value *v, time_t *t, int *tz_min)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4], sign;
    int day, year, hh, mm, ss, tzh, tzm, consumed = 0;
    if (v->type != IMAP_V_STRING ||
        sscanf(v->s, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d %c%2d%2d%n", &day, mon, &year, &hh, &mm,
               &ss, &sign, &tzh, &tzm, &consumed) != 9 ||
        (size_t)consumed != v->len || (sign != '+' && sign != '-'))
        return false;
    const char *m = strstr(months, mon);
    if (m == NULL || (m - months) % 3 != 0 || day < 1 || day > 31 || hh > 23 || mm > 59 ||
        ss > 60 || tzh > 23 || tzm > 59 || year < 1900)
        return false;
    struct tm tm = { .tm_year = year - 1900, .tm_mon = (int)((m - months) / 3), .tm_mday = day,
                     .tm_hour = hh, .tm_min = mm, .tm_sec = ss };
    *tz_min = (sign == '-' ? -1 : 1) * (tzh * 60 + tzm);
    *t = timegm(&tm) - (time_t)*tz_min * 60;
    return true;
}

struct fetch_ctx {
    backend_summary_fn fn;
    void *ctx;
};

/* One "name value" pair of a FETCH response into m. Unknown items are
 * skipped (servers may send more than asked, e.g. unsolicited FLAGS). */
static int fetch_item(const struct imap_value *k, const struct imap_value *v,
                      struct backend_message_summary *m)
{
    if (imap_value_is(k, "UID"))
        return imap_value_u32(v, &m->uid) ? 0 : -1;
    if (imap_value_is(k, "FLAGS")) {
        backend_flags_clear(&m->flags);
        m->items |= BACKEND_FETCH_FLAGS;
        return imap_flags_from(v, &m->flags);
    }
    if (imap_value_is(k, "INTERNALDATE")) {
        m->items |= BACKEND_FETCH_INTERNALDATE;
        return parse_internaldate(v, &m->internaldate, &m->tz_offset_min) ? 0 : -1;
    }
    if (imap_value_is(k, "RFC822.SIZE")) {
        m->items |= BACKEND_FETCH_SIZE;
        return imap_value_u64(v, &m->size) ? 0 : -1;
    }
    if (imap_value_is(k, "MODSEQ")) {
        m->items |= BACKEND_FETCH_MODSEQ;
        return v->type == IMAP_V_LIST && v->n == 1 && imap_value_u64(&v->items[0], &m->modseq)
                   ? 0 : -1;
    }
    if (imap_value_is(k, "X-GUID") && m->guid == NULL) {
        m->items |= BACKEND_FETCH_GUID;
        return imap_nstring(v, &m->guid);
    }
    if (imap_value_is(k, "EMAILID") && m->emailid == NULL) {
        m->items |= BACKEND_FETCH_OBJECTID;
        return imap_objectid(v, &m->emailid);
    }
    if (imap_value_is(k, "THREADID") && m->threadid == NULL) {
        m->items |= BACKEND_FETCH_OBJECTID;
        return imap_objectid(v, &m->threadid);
    }
    if (imap_value_is(k, "PREVIEW") && m->preview == NULL) {
        m->items |= BACKEND_FETCH_PREVIEW;
        return imap_nstring(v, &m->preview);
    }
    if (imap_value_is(k, "ENVELOPE") && m->envelope == NULL) {
        m->items |= BACKEND_FETCH_ENVELOPE;
        if ((m->envelope = calloc(1, sizeof(*m->envelope))) == NULL)
            return -1;
        return imap_envelope_fill(v, m->envelope);
    }
    if ((imap_value_is(k, "BODYSTRUCTURE") || imap_value_is(k, "BODY")) && m->body == NULL) {
        m->items |= BACKEND_FETCH_BODYSTRUCTURE;
        if ((m->body = calloc(1, sizeof(*m->body))) == NULL)
            return -1;
        return imap_bodystructure_fill(v, m->body);
    }
    if (k->type == IMAP_V_ATOM && strncasecmp(k->s, "BODY[HEADER.FIELDS", 18) == 0 &&
        m->headers == NULL) {
        m->items |= BACKEND_FETCH_HEADERS;
        if (v->type == IMAP_V_NIL)
            return 0;
        m->headers_len = v->len;
        return (m->headers = imap_value_strdup(v)) != NULL ? 0 : -1;
    }
    return 0;
}

static int on_fetch(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct fetch_ctx *fc = ctx;
    struct backend_message_summary *m = NULL;
    int ret = -1;

    if (u->n < 2 || !imap_value_is(&u->v[1], "FETCH"))
        return 0;
    if (u->n != 3 || u->v[2].type != IMAP_V_LIST || u->v[2].n % 2 != 0)
        return gw_error_set(err, GW_ERR_PROTOCOL, "FETCH: malformed response");
    const struct imap_value *att = &u->v[2];
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < att->n; i += 2) {
        if (fetch_item(&att->items[i], &att->items[i + 1], m) < 0) {
            gw_error_set(err, GW_ERR_PROTOCOL, "FETCH: malformed %s",
                         att->items[i].type == IMAP_V_ATOM ? att->items[i].s : "item");
            goto out;
        }
    }
    /* A FETCH without UID is an unsolicited flag update for a message
     * outside the request: not ours to report. */
    ret = m->uid == 0 ? 0 : fc->fn(fc->ctx, &m, err);
out:
    backend_message_summary_free(&m);
    return ret;
}

static void add_items(struct imap_cmd *c, struct imap_backend *ib, const struct backend_fetch_req *req)
{
    unsigned it = req->items;
    imap_cmd_add(c, " (UID");
    if (it & BACKEND_FETCH_FLAGS)
        imap_cmd_add(c, " FLAGS");
    if (it & BACKEND_FETCH_INTERNALDATE)
        imap_cmd_add(c, " INTERNALDATE");
    if (it & BACKEND_FETCH_SIZE)
        imap_cmd_add(c, " RFC822.SIZE");
    if (it & BACKEND_FETCH_ENVELOPE)
        imap_cmd_add(c, " ENVELOPE");
    if (it & BACKEND_FETCH_BODYSTRUCTURE)
        imap_cmd_add(c, " BODYSTRUCTURE");
    if ((it & BACKEND_FETCH_MODSEQ) && backend_has_capability(&ib->base, "CONDSTORE"))
        imap_cmd_add(c, " MODSEQ");
    if ((it & BACKEND_FETCH_PREVIEW) && backend_has_capability(&ib->base, "PREVIEW"))
        imap_cmd_add(c, " PREVIEW");
    if ((it & BACKEND_FETCH_OBJECTID) && backend_has_capability(&ib->base, "OBJECTID"))
        imap_cmd_add(c, " EMAILID THREADID");
    if ((it & BACKEND_FETCH_GUID) && ib->xguid != IMAP_XGUID_NO)
        imap_cmd_add(c, " X-GUID");
    if (it & BACKEND_FETCH_HEADERS) {
        const char *const *f = req->header_fields != NULL ? req->header_fields : default_fields;
        size_t n = req->header_fields != NULL ? req->n_header_fields
                                              : sizeof(default_fields) / sizeof(default_fields[0]);
        imap_cmd_add(c, " BODY.PEEK[HEADER.FIELDS (");
        for (size_t i = 0; i < n; i++) {
            if (i != 0)
                imap_cmd_add(c, " ");
            imap_cmd_add_string(c, f[i], strlen(f[i]));
        }
        imap_cmd_add(c, ")]");
    }
    imap_cmd_add(c, ")");
}

static bool field_names_ok(const struct backend_fetch_req *req)
{
    for (size_t i = 0; req->header_fields != NULL && i < req->n_header_fields; i++) {
        const char *f = req->header_fields[i];
        if (f == NULL || f[0] == '\0')
            return false;
        for (; *f != '\0'; f++) {
            /* RFC 5322 ftext: printable ASCII except ':' */
            if (*f <= ' ' || *f > '~' || *f == ':')
                return false;
        }
    }
    return true;
}

int imap_fetch_summaries(struct mail_backend *b, const struct backend_fetch_req *req,
                         backend_summary_fn fn, void *ctx, struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct fetch_ctx fc = { .fn = fn, .ctx = ctx };

    if (req->changedsince != 0 && !backend_has_capability(b, "CONDSTORE"))
        return gw_error_set(err, GW_ERR_INVALID, "fetch: CHANGEDSINCE needs CONDSTORE");
    if (!field_names_ok(req))
        return gw_error_set(err, GW_ERR_INVALID, "fetch: bad header field name");
    for (int attempt = 0; attempt < 2; attempt++) {
        struct imap_cmd c;
        imap_cmd_init(&c, ib);
        imap_cmd_add(&c, "UID FETCH ");
        if (req->n_uids == 0)
            imap_cmd_add(&c, "1:*");
        else
            imap_uidset_format(&c, req->uids, req->n_uids);
        add_items(&c, ib, req);
        if (req->changedsince != 0)
            imap_cmd_addf(&c, " (CHANGEDSINCE %llu)", (unsigned long long)req->changedsince);
        bool tried_guid = (req->items & BACKEND_FETCH_GUID) && ib->xguid == IMAP_XGUID_UNKNOWN;
        struct gw_error e = { 0 };
        int r = imap_wire_run(ib, &c, "FETCH", 0, on_fetch, &fc, &e);
        imap_cmd_free(&c);
        if (tried_guid && r < 0 && e.code == GW_ERR_PROTOCOL && !b->broken) {
            /* X-GUID is not advertised; a server without it says BAD and
             * has sent nothing yet: remember and ask again without it. */
            ib->xguid = IMAP_XGUID_NO;
            continue;
        }
        if (tried_guid && r == 0)
            ib->xguid = IMAP_XGUID_YES;
        if (r < 0 && err != NULL)
            *err = e;
        return r;
    }
    return -1;
}

struct part_ctx {
    uint32_t uid;
    struct backend_part_data *out;
    bool found;
};

static int on_part(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct part_ctx *pc = ctx;
    if (u->n < 2 || !imap_value_is(&u->v[1], "FETCH"))
        return 0;
    if (u->n != 3 || u->v[2].type != IMAP_V_LIST || u->v[2].n % 2 != 0)
        return gw_error_set(err, GW_ERR_PROTOCOL, "FETCH: malformed response");
    const struct imap_value *att = &u->v[2];
    const struct imap_value *data = NULL;
    uint32_t uid = 0;
    for (size_t i = 0; i < att->n; i += 2) {
        const struct imap_value *k = &att->items[i];
        if (imap_value_is(k, "UID") && !imap_value_u32(&att->items[i + 1], &uid))
            return gw_error_set(err, GW_ERR_PROTOCOL, "FETCH: malformed UID");
        if (k->type == IMAP_V_ATOM && (strncasecmp(k->s, "BINARY[", 7) == 0 ||
                                       strncasecmp(k->s, "BODY[", 5) == 0))
            data = &att->items[i + 1];
    }
    if (uid != pc->uid || data == NULL || pc->found)
        return 0;
    if (data->type != IMAP_V_STRING && data->type != IMAP_V_NIL)
        return gw_error_set(err, GW_ERR_PROTOCOL, "FETCH: malformed section data");
    /* NIL is what Dovecot sends (with OK [EXPUNGEISSUED]) for a message
     * another session expunged while this one still had it: gone. */
    if (data->type == IMAP_V_NIL)
        return 0;
    pc->found = true;
    pc->out->len = data->len;
    if ((pc->out->data = malloc(pc->out->len + 1)) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    if (pc->out->len != 0)
        memcpy(pc->out->data, data->s, pc->out->len);
    pc->out->data[pc->out->len] = '\0';
    return 0;
}

static int fetch_section(struct imap_backend *ib, struct part_ctx *pc, const char *part,
                         uint64_t offset, size_t max_len, bool binary, struct gw_error *err)
{
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    /* One byte more than allowed tells "exactly max_len" from "longer". */
    imap_cmd_addf(&c, "UID FETCH %u (UID %s[", pc->uid, binary ? "BINARY.PEEK" : "BODY.PEEK");
    imap_cmd_add(&c, part);
    imap_cmd_addf(&c, "]<%llu.%zu>)", (unsigned long long)offset, max_len + 1);
    int r = imap_wire_run(ib, &c, "FETCH", max_len + 4096, on_part, pc, err);
    imap_cmd_free(&c);
    return r;
}

int imap_fetch_part(struct mail_backend *b, uint32_t uid, const char *part, uint64_t offset,
                    size_t max_len, bool decode, struct backend_part_data **out,
                    struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct part_ctx pc = { .uid = uid };
    const char *section = part != NULL ? part : "";
    bool binary = decode && section[0] != '\0' && backend_has_capability(b, "BINARY");
    int r;

    if ((pc.out = calloc(1, sizeof(*pc.out))) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    struct gw_error e = { 0 };
    r = fetch_section(ib, &pc, section, offset, max_len, binary, &e);
    if (r < 0 && binary && !b->broken && e.code != GW_ERR_NOTFOUND) {
        /* [UNKNOWN-CTE]: the server cannot decode it; the caller will. */
        binary = false;
        free(pc.out->data);
        *pc.out = (struct backend_part_data){ 0 };
        pc.found = false;
        r = fetch_section(ib, &pc, section, offset, max_len, false, &e);
    }
    if (r < 0 && err != NULL)
        *err = e;
    if (r == 0 && !pc.found)
        r = gw_error_set(err, GW_ERR_NOTFOUND, "message %u not found", uid);
    if (r == 0 && pc.out->len > max_len)
        r = gw_error_set(err, GW_ERR_TOO_LARGE, "part larger than %zu bytes", max_len);
    if (r < 0) {
        backend_part_data_free(&pc.out);
        return -1;
    }
    pc.out->decoded = binary;
    *out = pc.out;
    return 0;
}
