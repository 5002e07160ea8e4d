/* imap_write.c - what every IMAP write primitive shares (opening the
 * target mailbox read-write, running a write command, flag syntax) and
 * the message-flag writes: backend_store_flags() and
 * backend_expunge_uids(). Copy/move are in imap_write_copy.c, APPEND and
 * mailbox commands in imap_write_mailbox.c. */
#include "imap_write.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Bound on uids taken from one [MODIFIED] code. */
#define WRITE_MAX_MODIFIED (1u << 20)

struct imap_backend *imap_write_begin(struct mail_backend *b, const char *what,
                                      struct gw_error *err)
{
    if (b == NULL) {
        gw_error_set(err, GW_ERR_INVALID, "%s: no connection", what);
        return NULL;
    }
    if (b->broken) {
        gw_error_set(err, GW_ERR_UNAVAILABLE, "connection is no longer usable");
        return NULL;
    }
    /* The write path has no vtable entries yet: only IMAP can write. */
    if (strcmp(b->v->name, "imap") != 0) {
        gw_error_set(err, GW_ERR_INVALID, "%s: not supported by the %s backend", what,
                     b->v->name);
        return NULL;
    }
    return imap_backend_from(b);
}

static bool wsel_valid(const struct imap_backend *ib)
{
    return ib->wsel_tag != 0 && ib->wsel_tag == ib->wire_tag;
}

/* Keeps the selection's PERMANENTFLAGS for imap_store_flags()' check. */
static void remember_perm(struct imap_backend *ib, const struct backend_selected *s)
{
    size_t used = 0;
    ib->wsel_perm_keywords = s->permanent_keywords;
    /* No PERMANENTFLAGS at all means every flag is permanent (RFC 3501
     * 7.1): nothing to check then. */
    ib->wsel_perm_known = s->permanent_flags.n != 0 || s->permanent_keywords;
    ib->wsel_perm[0] = '\0';
    for (size_t i = 0; i < s->permanent_flags.n && ib->wsel_perm_known; i++) {
        size_t len = strlen(s->permanent_flags.v[i]);
        if (len + 2 > sizeof(ib->wsel_perm) - used) {
            ib->wsel_perm_known = false;    /* too many to keep: do not guess */
            break;
        }
        memcpy(ib->wsel_perm + used, s->permanent_flags.v[i], len);
        ib->wsel_perm[used + len] = ' ';
        used += len + 1;
        ib->wsel_perm[used] = '\0';
    }
}

int imap_write_open(struct imap_backend *ib, const struct backend_msgset *set, const char *what,
                    struct gw_error *err)
{
    struct backend_selected *s = NULL;
    int ret = -1;

    if (set == NULL || set->mailbox_raw == NULL || set->mailbox_raw[0] == '\0' ||
        set->n_uids == 0 || set->uids == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "%s: no mailbox or no uids", what);
    for (size_t i = 0; i < set->n_uids; i++) {
        if (set->uids[i] == 0)
            return gw_error_set(err, GW_ERR_INVALID, "%s: uid 0", what);
    }
    size_t len = strlen(set->mailbox_raw);
    if (len >= sizeof(ib->wsel))
        return gw_error_set(err, GW_ERR_LIMIT, "%s: mailbox name too long", what);
    if (!wsel_valid(ib) || strcmp(ib->wsel, set->mailbox_raw) != 0) {
        ib->wsel_tag = 0;
        /* A real SELECT even if the read path has it open: its
         * PERMANENTFLAGS are needed, and a "reused" answer has none. */
        ib->selected_ok = false;
        struct backend_select_req req = { .name_raw = set->mailbox_raw };
        if (imap_select(&ib->base, &req, &s, err) < 0)
            goto out;
        if (s->read_only) {
            gw_error_set(err, GW_ERR_FORBIDDEN, "%s: mailbox is read-only", what);
            goto out;
        }
        memcpy(ib->wsel, set->mailbox_raw, len + 1);
        ib->wsel_uidvalidity = s->uidvalidity;
        remember_perm(ib, s);
        ib->wsel_tag = ib->wire_tag;
    }
    if (set->uidvalidity != 0 && set->uidvalidity != ib->wsel_uidvalidity) {
        gw_error_set(err, GW_ERR_NOTFOUND, "%s: mailbox UIDVALIDITY changed (%u, now %u)", what,
                     set->uidvalidity, ib->wsel_uidvalidity);
        goto out;
    }
    ret = 0;
out:
    backend_selected_free(&s);
    return ret;
}

int imap_write_run(struct imap_backend *ib, struct imap_cmd *c, const char *what, bool keep_open,
                   imap_untagged_fn fn, void *ctx, struct gw_error *err)
{
    bool was_open = wsel_valid(ib);
    int r = imap_wire_run(ib, c, what, 0, fn, ctx, err);
    /* The read path's "reused" selection answer would now be stale. */
    ib->selected_ok = false;
    ib->wsel_tag = was_open && keep_open && !ib->base.broken ? ib->wire_tag : 0;
    return r;
}

static const char *const system_flags[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                            "\\Draft" };

/* RFC 3501 atom: no atom-specials, no CTL, no 8-bit. */
static bool is_atom(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7f || strchr("(){%*\"\\]", ch) != NULL)
            return false;
    }
    return true;
}

static bool is_system_flag(const char *f)
{
    for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
        if (strcasecmp(f, system_flags[i]) == 0)
            return true;
    }
    return false;
}

int imap_write_check_flags(const char *const *flags, size_t n, struct gw_error *err)
{
    if (n != 0 && flags == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "flags: missing");
    for (size_t i = 0; i < n; i++) {
        const char *f = flags[i];
        if (f == NULL || strlen(f) > 200 ||
            (f[0] == '\\' ? !is_system_flag(f) : !is_atom(f)))
            return gw_error_set(err, GW_ERR_INVALID, "flag %.64s cannot be stored",
                                f != NULL ? f : "(null)");
    }
    return 0;
}

void imap_write_add_flags(struct imap_cmd *c, const char *const *flags, size_t n)
{
    imap_cmd_add(c, "(");
    for (size_t i = 0; i < n; i++) {
        if (i != 0)
            imap_cmd_add(c, " ");
        imap_cmd_add(c, flags[i]);
    }
    imap_cmd_add(c, ")");
}

/* Whether the open mailbox keeps flag f beyond this session. */
static bool is_permanent(const struct imap_backend *ib, const char *f)
{
    if (!ib->wsel_perm_known)
        return true;
    if (f[0] != '\\' && ib->wsel_perm_keywords)
        return true;
    size_t len = strlen(f);
    for (const char *p = ib->wsel_perm; *p != '\0';) {
        const char *sp = strchr(p, ' ');
        if ((size_t)(sp - p) == len && strncasecmp(p, f, len) == 0)
            return true;
        p = sp + 1;
    }
    return false;
}

struct store_ctx {
    struct backend_store_result *r;
    size_t cap_changed;
};

/* "n FETCH (UID u MODSEQ (m) [FLAGS (...)])" */
static int on_store_fetch(struct store_ctx *sc, const struct imap_value *att, struct gw_error *err)
{
    return imap_msg_change_append(att, "STORE", &sc->r->changed, &sc->r->n_changed,
                                  &sc->cap_changed, err);
}

static int on_store(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct store_ctx *sc = ctx;
    if (u->n == 1) {
        if (!u->tagged || u->n_code == 0 || !imap_value_is(&u->code[0], "MODIFIED"))
            return 0;
        const struct imap_value *set = u->n_code >= 2 ? &u->code[1] : NULL;
        free(sc->r->modified);
        sc->r->modified = NULL;
        sc->r->n_modified = 0;
        if (set == NULL || set->type != IMAP_V_ATOM ||
            imap_uidset_parse(set->s, set->len, WRITE_MAX_MODIFIED, &sc->r->modified,
                              &sc->r->n_modified) < 0)
            return gw_error_set(err, GW_ERR_PROTOCOL, "STORE: malformed MODIFIED");
        return 0;
    }
    if (u->n == 3 && imap_value_is(&u->v[1], "FETCH"))
        return on_store_fetch(sc, &u->v[2], err);
    return 0;
}

void backend_store_result_free(struct backend_store_result **r)
{
    if (r == NULL || *r == NULL)
        return;
    for (size_t i = 0; i < (*r)->n_changed; i++)
        backend_flags_clear(&(*r)->changed[i].flags);
    free((*r)->changed);
    free((*r)->modified);
    free(*r);
    *r = NULL;
}

int backend_store_flags(struct mail_backend *b, const struct backend_store_req *req,
                        struct backend_store_result **out, struct gw_error *err)
{
    static const char *const ops[] = { [BACKEND_STORE_ADD] = "+FLAGS.SILENT ",
                                       [BACKEND_STORE_REMOVE] = "-FLAGS.SILENT ",
                                       [BACKEND_STORE_REPLACE] = "FLAGS.SILENT " };
    struct store_ctx sc = { 0 };
    struct imap_cmd c;
    int ret = -1;

    if (out != NULL)
        *out = NULL;
    struct imap_backend *ib = imap_write_begin(b, "store", err);
    if (ib == NULL)
        return -1;
    if (req == NULL || (unsigned)req->op > BACKEND_STORE_REPLACE)
        return gw_error_set(err, GW_ERR_INVALID, "store: bad request");
    if (imap_write_check_flags(req->flags, req->n_flags, err) < 0)
        return -1;
    if (req->unchangedsince != 0 && !backend_has_capability(b, "CONDSTORE"))
        return gw_error_set(err, GW_ERR_INVALID, "store: the server has no CONDSTORE");
    if ((sc.r = calloc(1, sizeof(*sc.r))) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    if (imap_write_open(ib, &req->set, "store", err) < 0)
        goto out;
    if (req->op != BACKEND_STORE_REMOVE) {
        for (size_t i = 0; i < req->n_flags; i++) {
            if (!is_permanent(ib, req->flags[i])) {
                gw_error_set(err, GW_ERR_FORBIDDEN,
                             "store: mailbox cannot keep flag %.64s (not in PERMANENTFLAGS)",
                             req->flags[i]);
                goto out;
            }
        }
    }
    if (req->n_flags == 0 && req->op != BACKEND_STORE_REPLACE) {
        ret = 0;    /* adding or removing nothing */
        goto out;
    }
    imap_cmd_init(&c, ib);
    c.want_tagged_ok = true;
    imap_cmd_add(&c, "UID STORE ");
    imap_uidset_format(&c, req->set.uids, req->set.n_uids);
    if (req->unchangedsince != 0)
        imap_cmd_addf(&c, " (UNCHANGEDSINCE %llu)", (unsigned long long)req->unchangedsince);
    imap_cmd_add(&c, " ");
    imap_cmd_add(&c, ops[req->op]);
    imap_write_add_flags(&c, req->flags, req->n_flags);
    ret = imap_write_run(ib, &c, "STORE", true, on_store, &sc, err);
    imap_cmd_free(&c);
out:
    if (ret == 0 && out != NULL)
        *out = sc.r;
    else
        backend_store_result_free(&sc.r);
    return ret;
}

int imap_write_expunge(struct imap_backend *ib, const uint32_t *uids, size_t n, bool *flagged,
                       struct gw_error *err)
{
    struct imap_cmd c;
    /* A server that may not keep \Deleted here (Dovecot without the ACL
     * "t" right) ignores the STORE and then expunges nothing, with OK:
     * that must not pass for a removal. */
    if (!is_permanent(ib, "\\Deleted"))
        return gw_error_set(err, GW_ERR_FORBIDDEN,
                            "expunge: this mailbox does not let messages be removed");
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "UID STORE ");
    imap_uidset_format(&c, uids, n);
    imap_cmd_add(&c, " +FLAGS.SILENT (\\Deleted)");
    if (flagged != NULL)
        *flagged = true;
    int r = imap_write_run(ib, &c, "STORE", true, NULL, NULL, err);
    imap_cmd_free(&c);
    if (r < 0)
        return -1;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "UID EXPUNGE ");
    imap_uidset_format(&c, uids, n);
    r = imap_write_run(ib, &c, "EXPUNGE", true, NULL, NULL, err);
    imap_cmd_free(&c);
    return r;
}

int backend_expunge_uids(struct mail_backend *b, const struct backend_msgset *set,
                         struct gw_error *err)
{
    struct imap_backend *ib = imap_write_begin(b, "expunge", err);
    if (ib == NULL)
        return -1;
    if (!backend_has_capability(b, "UIDPLUS"))
        return gw_error_set(err, GW_ERR_INVALID,
                            "expunge: the server has no UIDPLUS (UID EXPUNGE)");
    if (imap_write_open(ib, set, "expunge", err) < 0)
        return -1;
    return imap_write_expunge(ib, set->uids, set->n_uids, NULL, err);
}
