/* imap_write_mailbox.c - APPEND (RFC 3501, APPENDUID of RFC 4315, the
 * message as one literal sent from the caller's memory) and the mailbox
 * commands CREATE (with USE, RFC 6154), DELETE, RENAME, (UN)SUBSCRIBE. */
#include "imap_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int backend_mailbox_name_encode(const char *utf8, char **out, struct gw_error *err)
{
    *out = NULL;
    if (utf8 == NULL || utf8[0] == '\0')
        return gw_error_set(err, GW_ERR_INVALID, "mailbox name is empty");
    /* The encoder refuses invalid UTF-8 and C0 controls; DEL is refused
     * here as no server takes it in a name. */
    if (strchr(utf8, 0x7f) == NULL)
        *out = imap_mutf7_encode(utf8, strlen(utf8));
    if (*out == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "mailbox name is not valid UTF-8 text");
    return 0;
}

/* A name argument for a mailbox command. */
static int check_name(const char *name_raw, const char *what, struct gw_error *err)
{
    if (name_raw == NULL || name_raw[0] == '\0')
        return gw_error_set(err, GW_ERR_INVALID, "%s: no mailbox name", what);
    for (const char *p = name_raw; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return gw_error_set(err, GW_ERR_INVALID, "%s: control character in mailbox name",
                                what);
    }
    return 0;
}

/* Runs "<verb> <name> [<name2>][<tail>]" as a write command. */
static int mailbox_command(struct mail_backend *b, const char *verb, const char *name,
                           const char *name2, const char *tail, bool keep_open,
                           struct gw_error *err)
{
    struct imap_backend *ib = imap_write_begin(b, verb, err);
    if (ib == NULL || check_name(name, verb, err) < 0 ||
        (name2 != NULL && check_name(name2, verb, err) < 0))
        return -1;
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    imap_cmd_add(&c, verb);
    imap_cmd_add(&c, " ");
    imap_cmd_add_mailbox(&c, name);
    if (name2 != NULL) {
        imap_cmd_add(&c, " ");
        imap_cmd_add_mailbox(&c, name2);
    }
    if (tail != NULL)
        imap_cmd_add(&c, tail);
    int r = imap_write_run(ib, &c, verb, keep_open, NULL, NULL, err);
    imap_cmd_free(&c);
    return r;
}

static const char *const use_attrs[] = {
    [BACKEND_USE_DRAFTS] = " (USE (\\Drafts))", [BACKEND_USE_SENT] = " (USE (\\Sent))",
    [BACKEND_USE_TRASH] = " (USE (\\Trash))",   [BACKEND_USE_JUNK] = " (USE (\\Junk))",
    [BACKEND_USE_ARCHIVE] = " (USE (\\Archive))", [BACKEND_USE_ALL] = " (USE (\\All))",
    [BACKEND_USE_FLAGGED] = " (USE (\\Flagged))",
};

int backend_create_mailbox(struct mail_backend *b, const char *name_raw,
                           enum backend_special_use use, struct gw_error *err)
{
    const char *tail = NULL;
    if (use != BACKEND_USE_NONE) {
        if ((unsigned)use >= sizeof(use_attrs) / sizeof(use_attrs[0]) || use_attrs[use] == NULL)
            return gw_error_set(err, GW_ERR_INVALID, "create: that role cannot be created");
        if (b != NULL && !backend_has_capability(b, "CREATE-SPECIAL-USE"))
            return gw_error_set(err, GW_ERR_INVALID,
                                "create: the server cannot set a special use (no "
                                "CREATE-SPECIAL-USE)");
        tail = use_attrs[use];
    }
    return mailbox_command(b, "CREATE", name_raw, NULL, tail, true, err);
}

int backend_delete_mailbox(struct mail_backend *b, const char *name_raw, struct gw_error *err)
{
    return mailbox_command(b, "DELETE", name_raw, NULL, NULL, false, err);
}

int backend_rename_mailbox(struct mail_backend *b, const char *old_raw, const char *new_raw,
                           struct gw_error *err)
{
    if (new_raw == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "RENAME: no new name");
    return mailbox_command(b, "RENAME", old_raw, new_raw, NULL, false, err);
}

int backend_subscribe(struct mail_backend *b, const char *name_raw, bool on,
                      struct gw_error *err)
{
    return mailbox_command(b, on ? "SUBSCRIBE" : "UNSUBSCRIBE", name_raw, NULL, NULL, true, err);
}

/* "APPENDUID uidvalidity uid" in the tagged OK. */
static int on_appenduid(void *ctx, const struct imap_untagged *u, struct gw_error *err)
{
    struct backend_append_result *r = ctx;
    struct backend_append_result got;
    (void)err;
    if (!u->tagged || u->n_code != 3 || !imap_value_is(&u->code[0], "APPENDUID"))
        return 0;
    /* Malformed: no mapping rather than failing an APPEND that happened. */
    if (imap_value_u32(&u->code[1], &got.uidvalidity) && imap_value_u32(&u->code[2], &got.uid))
        *r = got;
    return 0;
}

/* "dd-Mon-yyyy hh:mm:ss +hhmm" (RFC 3501 date-time), in English whatever
 * the locale. */
static int format_date(time_t t, int tz_min, char *buf, size_t size)
{
    static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    time_t local = t + (time_t)tz_min * 60;
    if (tz_min <= -24 * 60 || tz_min >= 24 * 60 || gmtime_r(&local, &tm) == NULL ||
        tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
        return -1;
    int a = tz_min < 0 ? -tz_min : tz_min;
    int n = snprintf(buf, size, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     tz_min < 0 ? '-' : '+', a / 60, a % 60);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int backend_append(struct mail_backend *b, const struct backend_append_req *req,
                   struct backend_append_result *out, struct gw_error *err)
{
    struct backend_append_result r = { 0 };
    char date[48];

    if (out != NULL)
        *out = r;
    struct imap_backend *ib = imap_write_begin(b, "append", err);
    if (ib == NULL)
        return -1;
    if (req == NULL || (req->data == NULL && req->len != 0) || req->len == 0)
        return gw_error_set(err, GW_ERR_INVALID, "append: no message");
    if (check_name(req->mailbox_raw, "append", err) < 0 ||
        imap_write_check_flags(req->flags, req->n_flags, err) < 0)
        return -1;
    if (req->internaldate != 0 &&
        format_date(req->internaldate, req->tz_offset_min, date, sizeof(date)) < 0)
        return gw_error_set(err, GW_ERR_INVALID, "append: internal date out of range");
    struct imap_cmd c;
    imap_cmd_init(&c, ib);
    c.want_tagged_ok = true;
    imap_cmd_add(&c, "APPEND ");
    imap_cmd_add_mailbox(&c, req->mailbox_raw);
    imap_cmd_add(&c, " ");
    imap_write_add_flags(&c, req->flags, req->n_flags);
    if (req->internaldate != 0) {
        imap_cmd_add(&c, " ");
        imap_cmd_add(&c, date);
    }
    imap_cmd_add(&c, " ");
    imap_cmd_add_literal_ref(&c, req->data, req->len);
    int ret = imap_write_run(ib, &c, "APPEND", true, on_appenduid, &r, err);
    imap_cmd_free(&c);
    if (ret == 0 && out != NULL)
        *out = r;
    return ret;
}
