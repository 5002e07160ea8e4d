/* email_submission_send.c - the SMTP side of EmailSubmission (RFC 8621
 * §7.5): the envelope derived from the Email, the bytes to send (Bcc
 * stripped), one attempt through backend_submit.h with the account's own
 * credentials, the SetErrors of the backend's one reply table, and the
 * account's queue of delayed and retried submissions. */
#include "email_submission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "account.h"
#include "backend_submit.h"
#include "gw_log.h"
#include "jmap_message.h"
#include "jmap_mime.h"
#include "jmap_set.h"
#include "jmap_submission.h"
#include "submission_store.h"

/* Largest message we hand to SMTP (the server's SIZE decides below it). */
#define SUBMISSION_MAX_MESSAGE (64u * 1024 * 1024)
#define SUBMISSION_MAX_RCPTS 1000

/* ---- Envelope from the Email's header ------------------------------------ */

/* Appends the addresses of every field called name to out (emails only,
 * no duplicates, case-insensitive). */
static void collect(const struct jmap_mime_field *f, size_t n, const char *name, json_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len != strlen(name) || strncasecmp(f[i].name, name, f[i].name_len) != 0)
            continue;
        json_t *list = jmap_header_as_addresses(f[i].value, f[i].value_len);
        size_t k, j;
        json_t *a, *seen;
        json_array_foreach(list, k, a) {
            const char *email = json_string_value(json_object_get(a, "email"));
            bool dup = email == NULL || email[0] == '\0';
            json_array_foreach(out, j, seen)
                dup = dup || strcasecmp(json_string_value(seen), email) == 0;
            if (!dup)
                json_array_append_new(out, json_string(email));
        }
        json_decref(list);
    }
}

static json_t *address_object(const char *email)
{
    return json_pack("{s:s, s:n}", "email", email, "parameters");
}

/* An EmailAddress domain check for the identity "*@domain" form. */
static bool from_allowed(const char *from, const char *identity_email)
{
    if (strncmp(identity_email, "*@", 2) == 0) {
        const char *at = strrchr(from, '@');
        return at != NULL && strcasecmp(at + 1, identity_email + 2) == 0;
    }
    return strcasecmp(from, identity_email) == 0;
}

int email_submission_prepare(struct jmap_mail *m, json_t *obj, const char *identity_email,
                             json_t **set_error)
{
    struct gw_error err = {0};
    struct mail_store_email_list *l = NULL;
    struct jmap_mime_field *f = NULL;
    size_t n = 0;
    json_t *from = json_array(), *sender = json_array(), *rcpts = json_array();
    const char *email_id = json_string_value(json_object_get(obj, "emailId"));
    int ret = -1;

    *set_error = NULL;
    if (from == NULL || sender == NULL || rcpts == NULL)
        goto nomem;
    if (mail_store_get_emails(m->ms, m->account_id, &email_id, 1, MAIL_STORE_WITH_HEADERS, &l,
                              &err) != 0) {
        *set_error = jmap_set_error_from_gw(&err);
        goto out;
    }
    if (l->n == 0) {
        *set_error = jmap_set_error_invalid_property("emailId", "No such Email.");
        goto out;
    }
    json_object_set_new(obj, "threadId", json_string(l->v[0].thread_id));
    if (l->v[0].headers != NULL &&
        jmap_mime_fields_parse(l->v[0].headers, l->v[0].headers_len, &f, &n, &err) != 0)
        goto nomem;
    collect(f, n, "From", from);
    collect(f, n, "Sender", sender);
    const char *from0 = json_string_value(json_array_get(from, 0));
    if (from0 == NULL || !from_allowed(from0, identity_email)) {
        *set_error = jmap_set_error_new("forbiddenFrom",
                                        "The Email's From is not the identity's address.");
        goto out;
    }
    if (json_object_get(obj, "envelope") == NULL || json_is_null(json_object_get(obj, "envelope"))) {
        const char *mail_from = json_array_size(sender) > 0
                                    ? json_string_value(json_array_get(sender, 0))
                                    : from0;
        collect(f, n, "To", rcpts);
        collect(f, n, "Cc", rcpts);
        collect(f, n, "Bcc", rcpts);
        json_t *list = json_array();
        size_t i;
        json_t *r;
        json_array_foreach(rcpts, i, r)
            json_array_append_new(list, address_object(json_string_value(r)));
        json_object_set_new(obj, "envelope",
                            json_pack("{s:o, s:o}", "mailFrom", address_object(mail_from),
                                      "rcptTo", list));
    }
    json_t *rcpt_to = json_object_get(json_object_get(obj, "envelope"), "rcptTo");
    if (json_array_size(rcpt_to) == 0) {
        *set_error = jmap_set_error_new("noRecipients", "The envelope has no recipient.");
        goto out;
    }
    if (json_array_size(rcpt_to) > SUBMISSION_MAX_RCPTS) {
        *set_error = jmap_set_error_new("tooManyRecipients", NULL);
        json_object_set_new(*set_error, "maxRecipients", json_integer(SUBMISSION_MAX_RCPTS));
        goto out;
    }
    ret = 0;
    goto out;
nomem:
    *set_error = jmap_set_error_new("serverFail", "out of memory");
out:
    free(f);
    mail_store_email_list_free(&l);
    json_decref(from);
    json_decref(sender);
    json_decref(rcpts);
    return ret;
}

/* ---- The bytes ------------------------------------------------------------ */

/* Where the header ends (after its empty line), or len when it has none. */
static size_t header_end(const char *d, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (d[i] == '\n' && d[i + 1] == '\n')
            return i + 2;
        if (i + 3 < len && memcmp(d + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    }
    return len;
}

char *email_submission_strip_bcc(const char *d, size_t len, size_t *out_len)
{
    struct jmap_mime_field *f = NULL;
    size_t n = 0, hend = header_end(d, len), o = 0, pos = 0;
    struct gw_error err = {0};
    char *out = malloc(len + 1);

    if (out == NULL || jmap_mime_fields_parse(d, hend, &f, &n, &err) != 0) {
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (f[i].name_len != 3 || strncasecmp(f[i].name, "Bcc", 3) != 0)
            continue;
        size_t start = (size_t)(f[i].name - d);
        size_t end = (size_t)(f[i].value - d) + f[i].value_len;
        if (end < len && d[end] == '\r')
            end++;
        if (end < len && d[end] == '\n')
            end++;
        memcpy(out + o, d + pos, start - pos);
        o += start - pos;
        pos = end;
    }
    memcpy(out + o, d + pos, len - pos);
    o += len - pos;
    out[o] = '\0';
    *out_len = o;
    free(f);
    return out;
}

int email_submission_fetch(struct jmap_mail *m, const char *email_id, char **msg,
                           size_t *msg_len, json_t **set_error)
{
    struct mail_backend *b = NULL;
    struct backend_part_data *data = NULL;
    struct gw_error err = {0};
    uint32_t uid = 0;
    bool gone = false;
    json_t *error;

    *msg = NULL;
    *set_error = NULL;
    if ((error = jmap_mail_backend_acquire(m, &b)) != NULL ||
        (error = jmap_mail_select_email(m, b, email_id, &uid, &gone)) != NULL) {
        *set_error = jmap_set_error_new("serverFail",
                                        json_string_value(json_object_get(error, "description")));
        json_decref(error);
        goto out;
    }
    if (gone) {
        *set_error = jmap_set_error_invalid_property("emailId", "No such Email.");
        goto out;
    }
    if (backend_fetch_part(b, uid, NULL, 0, SUBMISSION_MAX_MESSAGE, false, &data, &err) != 0) {
        *set_error = err.code == GW_ERR_NOTFOUND
                         ? jmap_set_error_invalid_property("emailId", "No such Email.")
                         : jmap_set_error_from_gw(&err);
        goto out;
    }
    *msg = email_submission_strip_bcc(data->data, data->len, msg_len);
    if (*msg == NULL)
        *set_error = jmap_set_error_new("serverFail", "out of memory");
out:
    backend_part_data_free(&data);
    jmap_mail_backend_release(m, &b);
    return *msg != NULL ? 0 : -1;
}
