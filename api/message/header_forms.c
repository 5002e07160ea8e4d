/* header_forms.c - RFC 8621 §4.1.2 Raw, Text, MessageIds and URLs forms,
 * the dispatcher over all forms, and "header:{name}[:as{Form}][:all]"
 * properties (§4.1.3) with the fields each form may be fetched for.
 *
 * Text is not converted to Unicode Normalization Form C (§4.1.2.2 step 5):
 * that needs the Unicode composition tables, which neither glibc nor the
 * fixed library set offers. Mail is overwhelmingly NFC already (every
 * mainstream input method produces NFC), so the value is returned as
 * decoded.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_message.h"
#include "message_private.h"

char *jmap_header_as_raw(const char *value, size_t len)
{
    if (len >= 2 && value[len - 2] == '\r' && value[len - 1] == '\n')
        len -= 2;
    else if (len >= 1 && value[len - 1] == '\n')
        len -= 1;
    return jmap_utf8_sanitize(value, len, NULL, NULL);
}

char *jmap_header_as_text(const char *value, size_t len)
{
    struct msg_buf b = MSG_BUF_INIT;
    size_t n = 0, start = 0;
    char *text = msg_header_prepare(value, len, &n);

    if (text == NULL)
        return NULL;
    while (start < n && text[start] == ' ')
        start++;
    msg_decode_unstructured(&b, text + start, n - start);
    free(text);
    return msg_buf_finish(&b, NULL);
}

/* The rest of one msg-id after its '<' at lx->pos: true with the id in `id`
 * and lx->pos after the '>'. CFWS inside is dropped (obs-id), quoted-strings
 * are kept whole. Deliberately lenient: ids without '@' ("<3DlzeX5SbS>"),
 * with an empty right side ("<0000522b67c3$00002240@>") or with specials
 * (",") are common in real mail and still unique, and threading and
 * clients need them more than a strict null; only an empty id, a '<'
 * inside or a missing '>' fail. */
static bool msg_id(struct msg_lex *lx, struct msg_buf *id)
{
    const char *p = lx->p;
    size_t n = lx->n, i = lx->pos;

    id->len = 0;
    while ((i = msg_skip_cfws(p, n, i)) < n) {
        if (p[i] == '>') {
            lx->pos = i + 1;
            return id->len > 0;
        }
        if (p[i] == '<')
            return false;
        if (p[i] == '"') {
            size_t start = i++;
            while (i < n && p[i] != '"')
                i += p[i] == '\\' && i + 1 < n ? 2 : 1;
            if (i >= n)
                return false;
            msg_buf_put(id, p + start, ++i - start);
            continue;
        }
        msg_buf_putc(id, p[i++]);
    }
    return false;
}

json_t *jmap_header_as_message_ids(const char *value, size_t len)
{
    struct msg_buf id = MSG_BUF_INIT;
    struct msg_lex lx;
    struct msg_tok t;
    json_t *list = json_array(), *res = NULL;
    size_t n = 0;
    char *text = msg_header_prepare(value, len, &n);

    if (list == NULL || text == NULL)
        goto out;
    msg_lex_init(&lx, text, n);
    for (msg_lex_next(&lx, &t); t.type != MSG_TOK_END; msg_lex_next(&lx, &t)) {
        /* Phrases are obs-in-reply-to/obs-references; commas are common
         * enough between ids to forgive. */
        if (t.type == MSG_TOK_COMMENT || t.type == MSG_TOK_ATOM || t.type == MSG_TOK_QUOTED ||
            (t.type == MSG_TOK_SPECIAL && t.c == ','))
            continue;
        if (t.type != MSG_TOK_SPECIAL || t.c != '<' || !msg_id(&lx, &id)) {
            res = json_null();
            goto out;
        }
        if (id.failed || json_array_append_new(list, json_stringn(id.data, id.len)) != 0)
            goto out;
    }
    res = json_array_size(list) ? json_incref(list) : json_null();
out:
    msg_buf_free(&id);
    json_decref(list);
    free(text);
    return res;
}

/* RFC 2369 §2: the field must start with '<'; a sub-item that is not a
 * bracketed URL ends the list, and so does anything but ',' after '>'. */
json_t *jmap_header_as_urls(const char *value, size_t len)
{
    struct msg_buf url = MSG_BUF_INIT;
    json_t *list = json_array(), *res = NULL;
    size_t n = 0, i = 0;
    char *text = msg_header_prepare(value, len, &n);

    if (list == NULL || text == NULL)
        goto out;
    for (;;) {
        i = msg_skip_cfws(text, n, i);
        if (i >= n || text[i] != '<')
            break;
        const char *close = memchr(text + i, '>', n - i);
        if (close == NULL)
            break;
        url.len = 0;
        for (const char *c = text + i + 1; c < close; c++)
            if (!msg_is_wsp(*c))
                msg_buf_putc(&url, *c);
        if (url.failed)
            goto out;
        if (url.len > 0 && json_array_append_new(list, json_stringn(url.data, url.len)) != 0)
            goto out;
        i = msg_skip_cfws(text, n, (size_t)(close - text) + 1);
        if (i >= n || text[i] != ',')
            break;
        i++;
    }
    res = json_array_size(list) ? json_incref(list) : json_null();
out:
    msg_buf_free(&url);
    json_decref(list);
    free(text);
    return res;
}

static json_t *string_form(char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

json_t *jmap_header_parse_form(enum jmap_header_form form, const char *value, size_t len)
{
    switch (form) {
    case JMAP_HEADER_FORM_RAW:
        return string_form(jmap_header_as_raw(value, len));
    case JMAP_HEADER_FORM_TEXT:
        return string_form(jmap_header_as_text(value, len));
    case JMAP_HEADER_FORM_ADDRESSES:
        return jmap_header_as_addresses(value, len);
    case JMAP_HEADER_FORM_GROUPED_ADDRESSES:
        return jmap_header_as_grouped_addresses(value, len);
    case JMAP_HEADER_FORM_MESSAGE_IDS:
        return jmap_header_as_message_ids(value, len);
    case JMAP_HEADER_FORM_DATE:
        return jmap_header_as_date(value, len);
    case JMAP_HEADER_FORM_URLS:
        return jmap_header_as_urls(value, len);
    case JMAP_HEADER_FORM__COUNT:
        break;
    }
    abort();   /* callers get forms from jmap_header_prop_parse() only */
}

/* The tables list every field RFC 5322 and RFC 2369 define; such a field
 * allows Raw plus the forms its section names. Any other field allows every
 * form. Resent-Reply-To only exists in RFC 5322's obsolete syntax but RFC
 * 8621 lists it for Addresses, so it is here too. Return-Path and Received
 * are RFC 5322 fields for which no parsed form is listed: Raw only.
 * List-Id (RFC 2919) is named in the Text list but, being defined by
 * neither RFC, allows every form anyway, so it needs no entry.
 */
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
