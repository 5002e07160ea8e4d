/* email_body_headers.c - Email and EmailBodyPart property names, and the
 * properties computed from header fields alone (RFC 8621 §4.1.2, §4.1.3):
 * "headers", "header:{name}[:as{Form}][:all]" and the convenience
 * properties messageId ... sentAt. Shared by whole messages, body parts
 * and the header block the mail cache keeps (include/jmap_mime.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "jmap_mime.h"

static const struct {
    const char *prop;
    const char *field;
    enum jmap_header_form form;
} convenience[] = {
    { "messageId", "Message-ID", JMAP_HEADER_FORM_MESSAGE_IDS },
    { "inReplyTo", "In-Reply-To", JMAP_HEADER_FORM_MESSAGE_IDS },
    { "references", "References", JMAP_HEADER_FORM_MESSAGE_IDS },
    { "sender", "Sender", JMAP_HEADER_FORM_ADDRESSES },
    { "from", "From", JMAP_HEADER_FORM_ADDRESSES },
    { "to", "To", JMAP_HEADER_FORM_ADDRESSES },
    { "cc", "Cc", JMAP_HEADER_FORM_ADDRESSES },
    { "bcc", "Bcc", JMAP_HEADER_FORM_ADDRESSES },
    { "replyTo", "Reply-To", JMAP_HEADER_FORM_ADDRESSES },
    { "subject", "Subject", JMAP_HEADER_FORM_TEXT },
    { "sentAt", "Date", JMAP_HEADER_FORM_DATE },
};
#define N_CONVENIENCE (sizeof(convenience) / sizeof(convenience[0]))

/* RFC 8621 §4.1 properties that are not header convenience ones. */
static const char *const email_other[] = {
    "id", "blobId", "threadId", "mailboxIds", "keywords", "size", "receivedAt", "headers",
    "bodyStructure", "bodyValues", "textBody", "htmlBody", "attachments", "hasAttachment",
    "preview", NULL,
};

static const char *const body_props[] = {
    "partId", "blobId", "size", "headers", "name", "type", "charset", "disposition", "cid",
    "language", "location", "subParts", NULL,
};

static bool in_list(const char *name, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(name, *list) == 0)
            return true;
    }
    return false;
}

static int find_convenience(const char *name)
{
    for (size_t i = 0; i < N_CONVENIENCE; i++) {
        if (strcmp(name, convenience[i].prop) == 0)
            return (int)i;
    }
    return -1;
}

static bool header_prop_valid(const char *name, struct gw_error *err)
{
    struct jmap_header_prop hp;
    if (strncmp(name, "header:", 7) == 0)
        return jmap_header_prop_parse(name, &hp, err) == 0;
    gw_error_set(err, GW_ERR_INVALID, "unknown property");
    return false;
}

bool jmap_email_property_valid(const char *name, struct gw_error *err)
{
    if (find_convenience(name) >= 0 || in_list(name, email_other))
        return true;
    return header_prop_valid(name, err);
}

bool jmap_email_body_property_valid(const char *name, struct gw_error *err)
{
    if (in_list(name, body_props))
        return true;
    return header_prop_valid(name, err);
}

bool jmap_email_property_is_header(const char *name)
{
    return find_convenience(name) >= 0 || strcmp(name, "headers") == 0 ||
           strncmp(name, "header:", 7) == 0;
}

bool jmap_email_property_field(const char *name, char *out, size_t out_size)
{
    struct jmap_header_prop hp;
    int c = find_convenience(name);
    if (c >= 0) {
        int k = snprintf(out, out_size, "%s", convenience[c].field);
        return k >= 0 && (size_t)k < out_size;
    }
    if (strncmp(name, "header:", 7) != 0 || jmap_header_prop_parse(name, &hp, NULL) != 0 ||
        hp.name_len >= out_size)
        return false;
    memcpy(out, hp.name, hp.name_len);
    out[hp.name_len] = '\0';
    return true;
}

static bool field_is(const struct jmap_mime_field *f, const char *name, size_t len)
{
    return f->name_len == len && strncasecmp(f->name, name, len) == 0;
}

/* The last instance (or every instance with all) in the given form. */
static json_t *header_value(const struct jmap_mime_field *fields, size_t n, const char *name,
                            size_t name_len, enum jmap_header_form form, bool all)
{
    if (all) {
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < n; i++) {
            if (field_is(&fields[i], name, name_len) &&
                json_array_append_new(arr, jmap_header_parse_form(form, fields[i].value,
                                                                  fields[i].value_len)) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        return arr;
    }
    for (size_t i = n; i-- > 0;) {
        if (field_is(&fields[i], name, name_len))
            return jmap_header_parse_form(form, fields[i].value, fields[i].value_len);
    }
    return json_null();
}

json_t *jmap_email_header_property(const struct jmap_mime_field *fields, size_t n,
                                   const char *name)
{
    struct jmap_header_prop hp;
    int c = find_convenience(name);
    if (c >= 0)
        return header_value(fields, n, convenience[c].field, strlen(convenience[c].field),
                            convenience[c].form, false);
    if (strncmp(name, "header:", 7) != 0 || jmap_header_prop_parse(name, &hp, NULL) != 0)
        return NULL;
    return header_value(fields, n, hp.name, hp.name_len, hp.form, hp.all);
}

json_t *jmap_email_headers_json(const struct jmap_mime_field *fields, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        char *name = jmap_utf8_sanitize(fields[i].name, fields[i].name_len, NULL, NULL);
        char *value = jmap_header_as_raw(fields[i].value, fields[i].value_len);
        json_t *h = name != NULL && value != NULL
                        ? json_pack("{s:s, s:s}", "name", name, "value", value)
                        : NULL;
        free(name);
        free(value);
        if (json_array_append_new(arr, h) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}
