/* imap_write_copy.c - backend_copy() and backend_move(): UID MOVE (RFC
 * 6851) when offered, else UID COPY + \Deleted + UID EXPUNGE (RFC 4315),
 * with COPYUID collected from wherever the server puts it (an untagged OK
 * for MOVE, the tagged OK for COPY) and a precise account of a move that
 * stopped half way. */
#include "imap_write.h"

#include <stdlib.h>
#include <string.h>

/* COPYUID is information, not the result: a malformed one is dropped
 * (the caller then has no mapping) rather than turning a copy that
 * happened into a failure. */
static int on_copyuid(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct backend_copy_result *r = ctx;
    uint32_t *src = NULL, *dst = NULL;
    size_t n_src = 0, n_dst = 0;
    uint32_t validity;

    (void)err;
    if (u->n != 1 || u->n_code == 0 || !imap_value_is(&u->code[0], "COPYUID"))
        return 0;
    if (u->n_code != 4 || !imap_value_u32(&u->code[1], &validity) || validity == 0 ||
        u->code[2].type != IMAP_V_ATOM || u->code[3].type != IMAP_V_ATOM ||
        imap_uidset_parse_ordered(u->code[2].s, u->code[2].len, SIZE_MAX, &src, &n_src) < 0 ||
        imap_uidset_parse_ordered(u->code[3].s, u->code[3].len, n_src, &dst, &n_dst) < 0 ||
        n_src != n_dst) {
        free(src);
        free(dst);
        return 0;
    }
    free(r->src_uids);
    free(r->dest_uids);
    r->dest_uidvalidity = validity;
    r->src_uids = src;
    r->dest_uids = dst;
    r->n = n_src;
    return 0;
}

void backend_copy_result_free(struct backend_copy_result **r)
{
    if (r == NULL || *r == NULL)
        return;
    free((*r)->src_uids);
    free((*r)->dest_uids);
    free(*r);
    *r = NULL;
}

/* Runs UID COPY or UID MOVE; sets r->outcome from how it ended. */
static int copy_command(struct imap_backend *ib, const struct backend_msgset *set,
                        const char *dest_raw, bool move, struct backend_copy_result *r,
                        struct gw_error *err)
{
    struct imap_cmd c;
    const char *what = move ? "MOVE" : "COPY";
    imap_cmd_init(&c, ib);
    c.want_tagged_ok = true;
    imap_cmd_add(&c, move ? "UID MOVE " : "UID COPY ");
    imap_uidset_format(&c, set->uids, set->n_uids);
    imap_cmd_add(&c, " ");
    imap_cmd_add_mailbox(&c, dest_raw);
    int ret = imap_write_run(ib, &c, what, true, on_copyuid, r, err);
    imap_cmd_free(&c);
    if (ret == 0)
        r->outcome = BACKEND_COPY_DONE;
    else if (ib->base.broken || r->n != 0)
        r->outcome = BACKEND_COPY_UNKNOWN;  /* no answer, or a NO after some were moved */
    else
        r->outcome = BACKEND_COPY_NONE;
    return ret;
}

static int copy_or_move(struct mail_backend *b, const struct backend_msgset *set,
                        const char *dest_raw, bool move, struct backend_copy_result **out,
                        struct gw_error *err)
{
    const char *what = move ? "move" : "copy";
    struct backend_copy_result *r = calloc(1, sizeof(*r));
    *out = r;
    if (r == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    struct imap_backend *ib = imap_write_begin(b, what, err);
    if (ib == NULL)
        return -1;
    if (dest_raw == NULL || dest_raw[0] == '\0')
        return gw_error_set(err, GW_ERR_INVALID, "%s: no destination", what);
    bool has_move = backend_has_capability(b, "MOVE");
    if (move && !has_move && !backend_has_capability(b, "UIDPLUS"))
        return gw_error_set(err, GW_ERR_INVALID,
                            "move: the server has neither MOVE nor UIDPLUS (UID EXPUNGE)");
    if (imap_write_open(ib, set, what, err) < 0)
        return -1;
    if (copy_command(ib, set, dest_raw, move && has_move, r, err) < 0)
        return -1;
    if (!move || has_move)
        return 0;

    /* COPY is done: from here a failure leaves the messages in both
     * mailboxes, which the outcome says. Only what was really copied is
     * removed when the server said which that was. */
    const uint32_t *uids = r->n != 0 ? r->src_uids : set->uids;
    size_t n = r->n != 0 ? r->n : set->n_uids;
    if (imap_write_expunge(ib, uids, n, &r->source_deleted_flag, err) < 0) {
        r->outcome = BACKEND_COPY_NOT_REMOVED;
        return -1;
    }
    return 0;
}

int backend_copy(struct mail_backend *b, const struct backend_msgset *set, const char *dest_raw,
                 struct backend_copy_result **out, struct gw_error *err)
{
    return copy_or_move(b, set, dest_raw, false, out, err);
}

int backend_move(struct mail_backend *b, const struct backend_msgset *set, const char *dest_raw,
                 struct backend_copy_result **out, struct gw_error *err)
{
    return copy_or_move(b, set, dest_raw, true, out, err);
}
