/* imap_select.c - backend_select() for IMAP: ENABLE QRESYNC once per
 * connection (RFC 7162), SELECT/EXAMINE with QRESYNC data, and the
 * VANISHED (EARLIER) and FETCH responses that come back with it. */
#include "imap_read.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SELECT_MAX_VANISHED (16u << 20)

struct select_ctx {
    struct backend_selected *s;
    size_t cap_changed;
};

static int on_enabled(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    bool *qresync = ctx;
    (void)err;
    if (imap_value_is(&u->v[0], "ENABLED")) {
        for (size_t i = 1; i < u->n; i++) {
            if (imap_value_is(&u->v[i], "QRESYNC"))
                *qresync = true;
        }
    }
    return 0;
}

static int enable_qresync(struct imap_backend *ib, struct gw_error *err)
{
    if (ib->enable_done)
        return 0;
    ib->enable_done = true;
    if (!backend_has_capability(&ib->base, "QRESYNC") ||
        !backend_has_capability(&ib->base, "ENABLE"))
        return 0;
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "ENABLE QRESYNC");
    int r = imap_wire_run(ib, &c, "ENABLE", 0, on_enabled, &ib->qresync, err);
    imap_cmd_free(&c);
    /* A refusal only means no QRESYNC; a dead connection is an error. */
    return r < 0 && ib->base.broken ? -1 : 0;
}

static int code_u64(const struct imap_untagged *u, uint64_t *v, struct gw_error *err)
{
    if (u->n_code < 2 || !imap_value_u64(&u->code[1], v))
        return gw_error_set(err, GW_ERR_PROTOCOL, "SELECT: malformed %s", u->code[0].s);
    return 0;
}

static int on_status_code(struct backend_selected *s, const struct imap_untagged *u,
                          struct gw_error *err)
{
    const struct imap_value *name = &u->code[0];
    uint64_t v = 0;
    if (imap_value_is(name, "PERMANENTFLAGS")) {
        if (u->n_code < 2 || imap_flags_from(&u->code[1], &s->permanent_flags) < 0)
            return gw_error_set(err, GW_ERR_PROTOCOL, "SELECT: malformed PERMANENTFLAGS");
        for (size_t i = 0; i < s->permanent_flags.n; i++) {
            if (strcmp(s->permanent_flags.v[i], "\\*") == 0) {
                s->permanent_keywords = true;
                free(s->permanent_flags.v[i]);
                s->permanent_flags.v[i] = s->permanent_flags.v[--s->permanent_flags.n];
                break;
            }
        }
        return 0;
    }
    if (imap_value_is(name, "NOMODSEQ")) {
        s->highestmodseq = 0;
        return 0;
    }
    bool uidvalidity = imap_value_is(name, "UIDVALIDITY"), uidnext = imap_value_is(name, "UIDNEXT");
    if (!uidvalidity && !uidnext && !imap_value_is(name, "HIGHESTMODSEQ"))
        return 0;
    if (code_u64(u, &v, err) < 0)
        return -1;
    if ((uidvalidity || uidnext) && v > UINT32_MAX)
        return gw_error_set(err, GW_ERR_PROTOCOL, "SELECT: %s out of range", name->s);
    if (uidvalidity)
        s->uidvalidity = (uint32_t)v;
    else if (uidnext)
        s->uidnext = (uint32_t)v;
    else
        s->highestmodseq = v;
    return 0;
}

/* "VANISHED (EARLIER) 1:3,7" */
static int on_vanished(struct backend_selected *s, const struct imap_untagged *u,
                       struct gw_error *err)
{
    const struct imap_value *set = &u->v[u->n - 1];
    uint32_t *uids = NULL;
    size_t n = 0;
    if (u->n < 2 || set->type != IMAP_V_ATOM || s->n_vanished >= SELECT_MAX_VANISHED ||
        imap_uidset_parse(set->s, set->len, SELECT_MAX_VANISHED - s->n_vanished, &uids, &n) < 0)
        return gw_error_set(err, GW_ERR_PROTOCOL, "SELECT: malformed VANISHED");
    uint32_t *all = realloc(s->vanished, (s->n_vanished + n + 1) * sizeof(*all));
    if (all == NULL) {
        free(uids);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    memcpy(all + s->n_vanished, uids, n * sizeof(*uids));
    free(uids);
    s->vanished = all;
    s->n_vanished += n;
    return 0;
}

/* "n FETCH (UID u FLAGS (...) MODSEQ (m))" */
static int on_fetch(struct select_ctx *sc, const struct imap_untagged *u, struct gw_error *err)
{
    if (u->n != 3)
        return gw_error_set(err, GW_ERR_PROTOCOL, "SELECT: malformed FETCH");
    return imap_msg_change_append(&u->v[2], "SELECT", &sc->s->changed, &sc->s->n_changed,
                                  &sc->cap_changed, err);
}

static int on_untagged(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct select_ctx *sc = ctx;
    if (u->n == 1 && u->n_code != 0 && imap_value_is(&u->v[0], "OK"))
        return on_status_code(sc->s, u, err);
    if (imap_value_is(&u->v[0], "VANISHED"))
        return on_vanished(sc->s, u, err);
    if (u->n >= 2 && imap_value_is(&u->v[1], "EXISTS")) {
        if (!imap_value_u32(&u->v[0], &sc->s->exists))
            return gw_error_set(err, GW_ERR_PROTOCOL, "SELECT: malformed EXISTS");
        return 0;
    }
    if (u->n >= 2 && imap_value_is(&u->v[1], "FETCH"))
        return on_fetch(sc, u, err);
    return 0;
}

static void remember(struct imap_backend *ib, const struct backend_select_req *req,
                     const struct backend_selected *s)
{
    size_t len = strlen(req->name_raw);
    if (len >= sizeof(ib->selected))
        return;
    memcpy(ib->selected, req->name_raw, len + 1);
    ib->selected_ok = true;
    ib->selected_ro = req->read_only;
    ib->sel_uidvalidity = s->uidvalidity;
    ib->sel_uidnext = s->uidnext;
    ib->sel_exists = s->exists;
    ib->sel_highestmodseq = s->highestmodseq;
}

int imap_select(struct mail_backend *b, const struct backend_select_req *req,
                struct backend_selected **out, struct gw_error *err)
{
    struct imap_backend *ib = imap_backend_from(b);
    struct select_ctx sc = { 0 };
    struct imap_cmd c;
    int r;

    if (enable_qresync(ib, err) < 0)
        return -1;
    bool qresync = ib->qresync && req->known_uidvalidity != 0 && req->known_modseq != 0;
    if ((sc.s = calloc(1, sizeof(*sc.s))) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    if (!qresync && ib->selected_ok && ib->selected_ro == req->read_only &&
        strcmp(ib->selected, req->name_raw) == 0) {
        *sc.s = (struct backend_selected){ .uidvalidity = ib->sel_uidvalidity,
                                           .uidnext = ib->sel_uidnext,
                                           .exists = ib->sel_exists,
                                           .highestmodseq = ib->sel_highestmodseq,
                                           .read_only = ib->selected_ro,
                                           .reused = true };
        *out = sc.s;
        return 0;
    }
    /* From here on the server closes whatever was open, even on failure. */
    ib->selected_ok = false;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, req->read_only ? "EXAMINE " : "SELECT ");
    imap_cmd_add_mailbox(&c, req->name_raw);
    if (qresync) {
        imap_cmd_addf(&c, " (QRESYNC (%u %llu", req->known_uidvalidity,
                      (unsigned long long)req->known_modseq);
        if (req->n_known_uids != 0) {
            imap_cmd_add(&c, " ");
            imap_uidset_format(&c, req->known_uids, req->n_known_uids);
        }
        imap_cmd_add(&c, "))");
    } else if (!ib->qresync && backend_has_capability(b, "CONDSTORE")) {
        imap_cmd_add(&c, " (CONDSTORE)");
    }
    struct gw_error e = { 0 };
    r = imap_wire_run(ib, &c, req->read_only ? "EXAMINE" : "SELECT", 0, on_untagged, &sc, &e);
    /* A plain NO to SELECT means the mailbox cannot be opened: Dovecot
     * gives no [NONEXISTENT] here, so that is how "not found" looks. */
    if (r < 0 && e.code == GW_ERR_BACKEND_NO)
        e.code = GW_ERR_NOTFOUND;
    if (r < 0 && err != NULL)
        *err = e;
    if (r == 0) {
        sc.s->qresync = qresync;
        sc.s->read_only = req->read_only || strcasecmp(c.tagged_code, "READ-ONLY") == 0;
        if (sc.s->n_vanished > 1)
            qsort(sc.s->vanished, sc.s->n_vanished, sizeof(uint32_t), imap_cmp_u32);
        remember(ib, req, sc.s);
        *out = sc.s;
    } else {
        backend_selected_free(&sc.s);
    }
    imap_cmd_free(&c);
    return r;
}
