/* blob_download.c - the bytes of a blob for the downloadUrl
 * (include/jmap_download.h). */
#include "jmap_download.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "jmap_blob.h"
#include "jmap_mail.h"
#include "jmap_mime.h"

/* Server could not decode the part (no BINARY, [UNKNOWN-CTE], or Dovecot
 * failing on broken base64): fetch the message, find the section with our
 * own parser and decode it tolerantly. */
static int decode_from_message(struct mail_backend *b, uint32_t uid, const char *section,
                               struct jmap_blob_bytes *out, struct gw_error *err)
{
    struct backend_part_data *whole = NULL;
    struct jmap_mime_message *msg = NULL;
    int rc = -1;
    if (backend_fetch_part(b, uid, NULL, 0, JMAP_DOWNLOAD_MAX, false, &whole, err) < 0)
        goto out;
    if (jmap_mime_parse(whole->data, whole->len, &msg, err) < 0)
        goto out;
    const struct jmap_mime_part *p = jmap_mime_find_section(msg, section);
    if (p == NULL) {
        gw_error_set(err, GW_ERR_NOTFOUND, "no part %s", section);
        goto out;
    }
    out->data = jmap_mime_decode(p->encoding, whole->data + p->body_offset, p->body_len,
                                 &out->len, NULL);
    if (out->data == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = 0;
out:
    jmap_mime_message_free(&msg);
    backend_part_data_free(&whole);
    return rc;
}

/* Which bytes of a whole message to fetch: from offset, exactly len
 * (len 0: everything up to JMAP_DOWNLOAD_MAX). Parts are always whole. */
struct whole_span {
    uint64_t offset;
    size_t len;
};

/* One attempt; *stale is set when the cache's location of the Email did
 * not hold it (moved, expunged, mailbox reset), so a sync may help. With
 * own_decode a part is decoded here instead of by the server. */
static int fetch_once(struct jmap_mail *m, const char *email_id, const char *section,
                      const struct whole_span *span, bool own_decode,
                      struct jmap_blob_bytes *out, bool *stale, struct gw_error *err)
{
    struct mail_backend *b = NULL;
    struct backend_part_data *pd = NULL;
    uint32_t uid = 0;
    bool gone = false;
    int rc = -1;
    *stale = false;
    if (backend_pool_acquire(account_pool(m->account), &b, err) < 0)
        return -1;
    json_t *error = jmap_mail_select_email(m, b, email_id, &uid, &gone);
    if (error != NULL) {
        json_decref(error);
        gw_error_set(err, GW_ERR_UNAVAILABLE, "cannot open the mailbox of %s", email_id);
        goto out;
    }
    if (gone) {
        *stale = true;
        gw_error_set(err, GW_ERR_NOTFOUND, "no blob for email %s", email_id);
        goto out;
    }
    bool part = section[0] != '\0';
    if (part && own_decode) {
        rc = decode_from_message(b, uid, section, out, err);
        goto out;
    }
    uint64_t offset = part ? 0 : span->offset;
    size_t max_len = part || span->len == 0 ? JMAP_DOWNLOAD_MAX : span->len;
    if (backend_fetch_part(b, uid, part ? section : NULL, offset, max_len, part, &pd, err) < 0) {
        *stale = err->code == GW_ERR_NOTFOUND;
        goto out;
    }
    if (pd->decoded || !part) {
        out->data = pd->data;
        out->len = pd->len;
        pd->data = NULL;
        rc = 0;
    } else {
        gw_error_clear(err);
        rc = decode_from_message(b, uid, section, out, err);
    }
out:
    backend_part_data_free(&pd);
    backend_pool_release(account_pool(m->account), &b);
    return rc;
}

/* Fetch with one sync-and-retry when the cached location was stale, and
 * our own decoding when the server's failed. */
static int fetch(struct jmap_mail *m, const char *email_id, const char *section,
                 const struct whole_span *span, struct jmap_blob_bytes *out, struct gw_error *err)
{
    bool stale = false;
    if (fetch_once(m, email_id, section, span, false, out, &stale, err) == 0)
        return 0;
    if (stale) {
        gw_error_clear(err);
        if (jmap_mail_sync_now(m, err) < 0)
            return -1;
        return fetch_once(m, email_id, section, span, false, out, &stale, err);
    }
    /* Dovecot drops the connection on BINARY of some broken base64
     * (seen with two SpamAssassin messages): decode those ourselves. */
    if (section[0] != '\0' && (err->code == GW_ERR_PROTOCOL || err->code == GW_ERR_UNAVAILABLE)) {
        gw_error_clear(err);
        return fetch_once(m, email_id, section, span, true, out, &stale, err);
    }
    return -1;
}

/* RFC822.SIZE of a cached Email: the whole message's length. */
static int cached_size(struct jmap_mail *m, const char *email_id, uint64_t *size,
                       struct gw_error *err)
{
    struct mail_store_email_list *l = NULL;
    const char *ids[] = { email_id };
    if (mail_store_get_emails(m->ms, m->account_id, ids, 1, 0, &l, err) < 0)
        return -1;
    int rc = 0;
    if (l->n == 1)
        *size = l->v[0].size;
    else
        rc = gw_error_set(err, GW_ERR_NOTFOUND, "no email %s", email_id);
    mail_store_email_list_free(&l);
    return rc;
}

int jmap_download_blob_from(struct account *account, const char *blob_id, uint64_t offset,
                            struct jmap_blob_bytes *out, uint64_t *total, struct gw_error *err)
{
    char email_id[JMAP_BLOB_ID_MAX], section[JMAP_BLOB_ID_MAX];
    struct jmap_mail m;
    struct whole_span span = { 0, 0 };
    memset(out, 0, sizeof(*out));
    *total = 0;
    if (!jmap_blob_id_parse(blob_id, email_id, section))
        return gw_error_set(err, GW_ERR_NOTFOUND, "not a blob id of this server");
    if (jmap_mail_open(account, &m, err) < 0)
        return -1;
    if (section[0] == '\0' && offset > 0) {
        uint64_t size = 0;
        if (cached_size(&m, email_id, &size, err) < 0)
            return -1;
        *total = size;
        if (offset >= size)
            return (out->data = calloc(1, 1)) != NULL ? 0 : gw_error_set(err, GW_ERR_NOMEM,
                                                                          "out of memory");
        if (size - offset > JMAP_DOWNLOAD_MAX)
            return gw_error_set(err, GW_ERR_TOO_LARGE, "range larger than %u bytes",
                                JMAP_DOWNLOAD_MAX);
        span.offset = offset;
        span.len = (size_t)(size - offset);
        if (fetch(&m, email_id, section, &span, out, err) == 0)
            return 0;
        if (err->code != GW_ERR_TOO_LARGE)
            return -1;
        /* The server's RFC822.SIZE was not the length of BODY[]: fetch it
         * all and cut below. */
        gw_error_clear(err);
        span = (struct whole_span){ 0, 0 };
    }
    if (fetch(&m, email_id, section, &span, out, err) < 0)
        return -1;
    *total = out->len;
    if (offset >= out->len) {
        out->len = 0;
    } else if (offset > 0) {
        memmove(out->data, out->data + offset, out->len - (size_t)offset);
        out->len -= (size_t)offset;
    }
    out->data[out->len] = '\0';
    return 0;
}

int jmap_download_blob(struct account *account, const char *blob_id, struct jmap_blob_bytes *out,
                       struct gw_error *err)
{
    uint64_t total = 0;
    return jmap_download_blob_from(account, blob_id, 0, out, &total, err);
}
