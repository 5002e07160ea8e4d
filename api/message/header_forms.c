/* header_forms.c - RFC 8621 §4.1.2 Raw, Text, MessageIds and URLs forms,
 * and the dispatcher over all forms.
 *
 * Text is not converted to Unicode Normalization Form C (§4.1.2.2 step 5):
 * that needs the Unicode composition tables, which neither glibc nor the
 * fixed library set offers. Mail is overwhelmingly NFC already (every
 * mainstream input method produces NFC), so the value is returned as
 * decoded.
 */
#include <stdlib.h>
#include <string.h>

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

/* The rest of one "<id-left@id-right>" after its '<': true with the id in
 * `id` when it is a msg-id. CFWS inside is dropped (obs-id). */
static bool msg_id(struct msg_lex *lx, struct msg_buf *id)
{
    struct msg_tok t;
    bool at = false, left = false, right = false;

    id->len = 0;
    for (msg_lex_next(lx, &t); t.type != MSG_TOK_END; msg_lex_next(lx, &t)) {
        if (t.type == MSG_TOK_COMMENT)
            continue;
        if (t.type == MSG_TOK_SPECIAL && t.c == '>')
            return at && left && right;
        if (t.type == MSG_TOK_SPECIAL && t.c == '@' && !at) {
            at = true;
        } else if (t.type == MSG_TOK_ATOM || t.type == MSG_TOK_LITERAL || t.type == MSG_TOK_QUOTED) {
            if (at)
                right = true;
            else
                left = true;
        } else {
            return false;
        }
        if (t.type == MSG_TOK_QUOTED)
            msg_buf_putc(id, '"');
        msg_buf_put(id, t.p, t.n);
        if (t.type == MSG_TOK_QUOTED)
            msg_buf_putc(id, '"');
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

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
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
            if (!is_wsp(*c))
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
