/* imap_acl.c - the server's own ids and rights: RFC 8474 objectid values
 * (MAILBOXID, EMAILID, THREADID) and RFC 4314 MYRIGHTS
 * (backend_mailbox_myrights() of backend_mail.h). */
#include "imap_read.h"

#include <stdlib.h>
#include <string.h>

int imap_objectid(const struct imap_value *v, char **out)
{
    *out = NULL;
    if (v->type == IMAP_V_NIL)
        return 0;
    if (v->type != IMAP_V_LIST || v->n != 1 || v->items[0].type != IMAP_V_ATOM)
        return -1;
    const struct imap_value *id = &v->items[0];
    if (id->len == 0 || id->len > 255)
        return -1;
    for (size_t i = 0; i < id->len; i++) {
        char c = id->s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return -1;
    }
    *out = imap_value_strdup(id);
    return *out != NULL ? 0 : -1;
}

struct rights_ctx {
    const char *name_raw;
    char *rights;
};

/* "MYRIGHTS name rights" */
static int on_myrights(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct rights_ctx *rc = ctx;
    if (u->n < 1 || !imap_value_is(&u->v[0], "MYRIGHTS"))
        return 0;
    if (u->n != 3 || (u->v[1].type != IMAP_V_ATOM && u->v[1].type != IMAP_V_STRING) ||
        (u->v[2].type != IMAP_V_ATOM && u->v[2].type != IMAP_V_STRING) ||
        memchr(u->v[2].s, '\0', u->v[2].len) != NULL)
        return gw_error_set(err, GW_ERR_PROTOCOL, "MYRIGHTS: malformed response");
    if (u->v[1].len != strlen(rc->name_raw) || memcmp(u->v[1].s, rc->name_raw, u->v[1].len) != 0)
        return 0;   /* another mailbox's: not what was asked */
    free(rc->rights);
    if ((rc->rights = imap_value_strdup(&u->v[2])) == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    return 0;
}

int backend_mailbox_myrights(struct mail_backend *b, const char *name_raw, char **rights,
                             struct gw_error *err)
{
    *rights = NULL;
    if (b == NULL || name_raw == NULL || *name_raw == '\0')
        return gw_error_set(err, GW_ERR_INVALID, "MYRIGHTS: no mailbox");
    if (b->broken)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "connection is no longer usable");
    /* No vtable entry: only IMAP has ACLs. */
    if (strcmp(b->v->name, "imap") != 0 || !backend_has_capability(b, "ACL"))
        return gw_error_set(err, GW_ERR_INVALID, "MYRIGHTS: the server has no ACL");
    struct imap_backend *ib = imap_backend_from(b);
    struct rights_ctx rc = { .name_raw = name_raw };
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, "MYRIGHTS ");
    imap_cmd_add_mailbox(&c, name_raw);
    int r = imap_wire_run(ib, &c, "MYRIGHTS", 0, on_myrights, &rc, err);
    imap_cmd_free(&c);
    if (r == 0 && rc.rights == NULL)
        r = gw_error_set(err, GW_ERR_PROTOCOL, "MYRIGHTS: no answer for the mailbox");
    if (r < 0) {
        free(rc.rights);
        return -1;
    }
    *rights = rc.rights;
    return 0;
}
