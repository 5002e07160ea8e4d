/* header_property.c - "header:{name}[:as{Form}][:all]" (RFC 8621 §4.1.3)
 * and which forms each field may be fetched in (§4.1.2.x).
 *
 * The tables list every field RFC 5322 and RFC 2369 define; such a field
 * allows Raw plus the forms its section names. Any other field allows every
 * form. Resent-Reply-To only exists in RFC 5322's obsolete syntax but RFC
 * 8621 lists it for Addresses, so it is here too. Return-Path and Received
 * are RFC 5322 fields for which no parsed form is listed: Raw only.
 * List-Id (RFC 2919) is named in the Text list but, being defined by
 * neither RFC, allows every form anyway, so it needs no entry.
 */
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "message_private.h"

#define F(form) (1u << JMAP_HEADER_FORM_##form)
#define ADDRESS_FORMS (F(ADDRESSES) | F(GROUPED_ADDRESSES))

static const struct {
    const char *name;
    unsigned forms;   /* besides Raw */
} known_fields[] = {
    { "Date", F(DATE) },
    { "From", ADDRESS_FORMS },
    { "Sender", ADDRESS_FORMS },
    { "Reply-To", ADDRESS_FORMS },
    { "To", ADDRESS_FORMS },
    { "Cc", ADDRESS_FORMS },
    { "Bcc", ADDRESS_FORMS },
    { "Message-ID", F(MESSAGE_IDS) },
    { "In-Reply-To", F(MESSAGE_IDS) },
    { "References", F(MESSAGE_IDS) },
    { "Subject", F(TEXT) },
    { "Comments", F(TEXT) },
    { "Keywords", F(TEXT) },
    { "Resent-Date", F(DATE) },
    { "Resent-From", ADDRESS_FORMS },
    { "Resent-Sender", ADDRESS_FORMS },
    { "Resent-Reply-To", ADDRESS_FORMS },
    { "Resent-To", ADDRESS_FORMS },
    { "Resent-Cc", ADDRESS_FORMS },
    { "Resent-Bcc", ADDRESS_FORMS },
    { "Resent-Message-ID", F(MESSAGE_IDS) },
    { "Return-Path", 0 },
    { "Received", 0 },
    { "List-Help", F(URLS) },
    { "List-Unsubscribe", F(URLS) },
    { "List-Subscribe", F(URLS) },
    { "List-Post", F(URLS) },
    { "List-Owner", F(URLS) },
    { "List-Archive", F(URLS) },
};

static const char *const form_names[JMAP_HEADER_FORM__COUNT] = {
    "asRaw", "asText", "asAddresses", "asGroupedAddresses", "asMessageIds", "asDate", "asURLs",
};

const char *jmap_header_form_name(enum jmap_header_form form)
{
    if ((unsigned)form >= JMAP_HEADER_FORM__COUNT)
        return "unknown";
    return form_names[form];
}

bool jmap_header_form_allowed(const char *name, size_t name_len, enum jmap_header_form form)
{
    if ((unsigned)form >= JMAP_HEADER_FORM__COUNT)
        return false;
    if (form == JMAP_HEADER_FORM_RAW)
        return true;
    for (size_t i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]); i++) {
        if (strlen(known_fields[i].name) == name_len &&
            strncasecmp(known_fields[i].name, name, name_len) == 0)
            return (known_fields[i].forms & (1u << form)) != 0;
    }
    return true;
}

int jmap_header_prop_parse(const char *prop, struct jmap_header_prop *out, struct gw_error *err)
{
    static const char prefix[] = "header:";
    const char *p, *end;

    memset(out, 0, sizeof(*out));
    if (prop == NULL || strncmp(prop, prefix, sizeof(prefix) - 1) != 0)
        return gw_error_set(err, GW_ERR_INVALID, "not a header property");
    p = prop + sizeof(prefix) - 1;
    end = p;
    while (*end != '\0' && *end != ':') {
        unsigned char c = (unsigned char)*end;
        if (c < 33 || c > 126)
            return gw_error_set(err, GW_ERR_INVALID, "invalid character in header field name");
        end++;
    }
    if (end == p)
        return gw_error_set(err, GW_ERR_INVALID, "empty header field name");
    out->name = p;
    out->name_len = (size_t)(end - p);
    out->form = JMAP_HEADER_FORM_RAW;
    p = end;
    if (*p == ':' && strncmp(p + 1, "as", 2) == 0) {
        const char *s = p + 1;
        size_t len = strcspn(s, ":");
        int found = -1;
        for (int i = 0; i < JMAP_HEADER_FORM__COUNT; i++)
            if (strlen(form_names[i]) == len && strncmp(form_names[i], s, len) == 0)
                found = i;
        if (found < 0)
            return gw_error_set(err, GW_ERR_INVALID, "unknown header form '%.*s'", (int)(len > 40 ? 40 : len), s);
        out->form = (enum jmap_header_form)found;
        p = s + len;
    }
    if (strcmp(p, ":all") == 0) {
        out->all = true;
        p += 4;
    }
    if (*p != '\0')
        return gw_error_set(err, GW_ERR_INVALID, "unexpected suffix in header property");
    if (!jmap_header_form_allowed(out->name, out->name_len, out->form))
        return gw_error_set(err, GW_ERR_INVALID, "header field %.*s cannot be fetched %s",
                            (int)(out->name_len > 60 ? 60 : out->name_len), out->name,
                            form_names[out->form]);
    return 0;
}
