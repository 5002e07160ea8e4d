/* email_body.c - the body properties of an Email from its MIME tree
 * (RFC 8621 §4.1.4): bodyStructure, textBody/htmlBody/attachments by the
 * RFC's parseStructure algorithm, bodyValues, preview, hasAttachment.
 *
 * bodyStructure always carries subParts on multiparts, even when the
 * client's bodyProperties omit it: the RFC's default list has no
 * subParts, and a structure without its children would be no structure.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_message.h"
#include "jmap_mime.h"
#include "jmap_text.h"

/* Text read for the preview: enough for 256 characters after quoted
 * lines and white space runs are dropped. */
#define PREVIEW_SOURCE_MAX 16384
#define PREVIEW_CHARS 256

static const char *const default_body_props[] = {
    "partId", "blobId", "size", "name", "type", "charset", "disposition", "cid", "language",
    "location", NULL,
};

struct builder {
    const struct jmap_mime_message *m;
    const struct jmap_mime_part *top;   /* the message's top entity */
    const struct jmap_email_body_opts *opts;
    const char **props;         /* the body properties asked for (new array) */
    size_t n_props;
};

bool jmap_email_blob_id_of_section(void *ctx, const char *section, char out[JMAP_BLOB_ID_MAX])
{
    return jmap_blob_id_make(ctx, section, out);
}

/* ---- parseStructure ---------------------------------------------------- */

static int push(struct jmap_email_part_list *l, const struct jmap_mime_part *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const struct jmap_mime_part **v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = p;
    return 0;
}

void jmap_email_part_list_clear(struct jmap_email_part_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static bool is_inline_media(const char *type)
{
    return strncmp(type, "image/", 6) == 0 || strncmp(type, "audio/", 6) == 0 ||
           strncmp(type, "video/", 6) == 0;
}

/* The RFC's JavaScript, line by line; a NULL list is its null. */
static int parse_structure(const struct jmap_mime_part *parts, size_t n, const char *mp_type,
                           bool in_alt, struct jmap_email_part_list *html,
                           struct jmap_email_part_list *text, struct jmap_email_part_list *att)
{
    bool alternative = strcmp(mp_type, "alternative") == 0;
    size_t text_len = text != NULL ? text->n : SIZE_MAX;
    size_t html_len = html != NULL ? html->n : SIZE_MAX;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct jmap_mime_part *p = &parts[i];
        bool plain = strcmp(p->type, "text/plain") == 0;
        bool is_html = strcmp(p->type, "text/html") == 0;
        bool media = is_inline_media(p->type);
        bool is_inline =
            (p->disposition == NULL || strcmp(p->disposition, "attachment") != 0) &&
            (plain || is_html || media) &&
            (i == 0 || (strcmp(mp_type, "related") != 0 && (media || p->name == NULL)));

        if (p->kind == JMAP_MIME_MULTIPART) {
            bool sub_alt = strcmp(p->subtype, "alternative") == 0;
            rc = parse_structure(p->children, p->n_children, p->subtype, in_alt || sub_alt, html,
                                 text, att);
        } else if (is_inline) {
            if (alternative) {
                struct jmap_email_part_list *l = plain ? text : is_html ? html : att;
                if (l != NULL)
                    rc = push(l, p);
                continue;
            } else if (in_alt) {
                if (plain)
                    html = NULL;
                if (is_html)
                    text = NULL;
            }
            if (rc == 0 && text != NULL)
                rc = push(text, p);
            if (rc == 0 && html != NULL)
                rc = push(html, p);
            if (rc == 0 && (text == NULL || html == NULL) && media)
                rc = push(att, p);
        } else {
            rc = push(att, p);
        }
    }

    if (rc == 0 && alternative && text != NULL && html != NULL) {
        /* Only HTML found: the text list shows it too, and vice versa. */
        if (text_len == text->n && html_len != html->n) {
            for (size_t i = html_len; rc == 0 && i < html->n; i++)
                rc = push(text, html->v[i]);
        }
        if (html_len == html->n && text_len != text->n) {
            for (size_t i = text_len; rc == 0 && i < text->n; i++)
                rc = push(html, text->v[i]);
        }
    }
    return rc;
}

static int body_lists(const struct jmap_mime_part *top, struct jmap_email_part_list *text,
                      struct jmap_email_part_list *html, struct jmap_email_part_list *att)
{
    if (parse_structure(top, 1, "mixed", false, html, text, att) == 0)
        return 0;
    jmap_email_part_list_clear(text);
    jmap_email_part_list_clear(html);
    jmap_email_part_list_clear(att);
    return -1;
}

int jmap_email_body_lists(const struct jmap_mime_message *m, struct jmap_email_part_list *text,
                          struct jmap_email_part_list *html, struct jmap_email_part_list *att)
{
    return body_lists(&m->root, text, html, att);
}

/* ---- EmailBodyPart ------------------------------------------------------ */

static json_t *string_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static const char *part_charset(const struct jmap_mime_part *p)
{
    if (!p->has_content_type || (p->charset == NULL && strncmp(p->type, "text/", 5) == 0))
        return "us-ascii";
    return p->charset;
}

static json_t *part_json(const struct builder *b, const struct jmap_mime_part *p, bool structure);

static json_t *sub_parts(const struct builder *b, const struct jmap_mime_part *p)
{
    if (p->kind != JMAP_MIME_MULTIPART)
        return json_null();
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < p->n_children; i++) {
        if (json_array_append_new(arr, part_json(b, &p->children[i], true)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static json_t *part_property(const struct builder *b, const struct jmap_mime_part *p,
                             const char *prop)
{
    bool multi = p->kind == JMAP_MIME_MULTIPART;
    const char *body = b->m->data + p->body_offset;
    char blob[JMAP_BLOB_ID_MAX];

    if (strcmp(prop, "partId") == 0)
        return multi ? json_null() : json_string(p->section);
    if (strcmp(prop, "blobId") == 0)
        return !multi && b->opts->blob_id != NULL &&
                       b->opts->blob_id(b->opts->blob_ctx, p->section, blob)
                   ? json_string(blob)
                   : json_null();
    if (strcmp(prop, "size") == 0)
        return json_integer((json_int_t)(p->kind == JMAP_MIME_LEAF
                                             ? jmap_mime_decoded_size(p->encoding, body, p->body_len)
                                             : p->body_len));
    if (strcmp(prop, "headers") == 0)
        return jmap_email_headers_json(p->fields, p->n_fields);
    if (strcmp(prop, "name") == 0)
        return string_or_null(p->name);
    if (strcmp(prop, "type") == 0)
        return json_string(p->type);
    if (strcmp(prop, "charset") == 0)
        return string_or_null(part_charset(p));
    if (strcmp(prop, "disposition") == 0)
        return string_or_null(p->disposition);
    if (strcmp(prop, "cid") == 0)
        return string_or_null(p->cid);
    if (strcmp(prop, "location") == 0)
        return string_or_null(p->location);
    if (strcmp(prop, "subParts") == 0)
        return sub_parts(b, p);
    if (strcmp(prop, "language") == 0) {
        if (p->language == NULL)
            return json_null();
        json_t *arr = json_array();
        for (size_t i = 0; arr != NULL && i < p->n_language; i++)
            json_array_append_new(arr, json_string(p->language[i]));
        return arr;
    }
    return jmap_email_header_property(p->fields, p->n_fields, prop);
}

static json_t *part_json(const struct builder *b, const struct jmap_mime_part *p, bool structure)
{
    json_t *o = json_object();
    bool has_sub = false;
    for (size_t i = 0; o != NULL && i < b->n_props; i++) {
        has_sub |= strcmp(b->props[i], "subParts") == 0;
        if (json_object_set_new(o, b->props[i], part_property(b, p, b->props[i])) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    if (o != NULL && structure && !has_sub && p->kind == JMAP_MIME_MULTIPART &&
        json_object_set_new(o, "subParts", sub_parts(b, p)) != 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static json_t *parts_json(const struct builder *b, const struct jmap_email_part_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < l->n; i++) {
        if (json_array_append_new(arr, part_json(b, l->v[i], false)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* ---- Text of a part ---------------------------------------------------- */

/* Transfer- and charset-decoded text with CRLF as LF, new. */
static char *part_text(const struct jmap_mime_message *m, const struct jmap_mime_part *p,
                       size_t *len, bool *problem)
{
    size_t raw_len = 0, text_len = 0;
    char *raw = jmap_mime_decode(p->encoding, m->data + p->body_offset, p->body_len, &raw_len,
                                 problem);
    if (raw == NULL)
        return NULL;
    char *text = jmap_charset_decode(p->charset, raw, raw_len, &text_len, problem);
    free(raw);
    if (text == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < text_len; i++) {
        if (!(text[i] == '\r' && i + 1 < text_len && text[i + 1] == '\n'))
            text[o++] = text[i];
    }
    text[o] = '\0';
    *len = o;
    return text;
}

/* The longest prefix of at most max octets that ends on a character
 * boundary and, for HTML, outside a tag. */
static size_t truncate_at(const char *s, size_t len, size_t max, bool html)
{
    if (len <= max)
        return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    if (html) {
        for (size_t i = cut; i-- > 0;) {
            if (s[i] == '>')
                break;
            if (s[i] == '<') {
                cut = i;
                break;
            }
        }
    }
    return cut;
}

static json_t *body_value(const struct builder *b, const struct jmap_mime_part *p)
{
    bool problem = false;
    size_t len = 0;
    char *text = part_text(b->m, p, &len, &problem);
    if (text == NULL)
        return NULL;
    size_t max = b->opts->max_body_value_bytes;
    size_t cut = max > 0 ? truncate_at(text, len, max, strcmp(p->type, "text/html") == 0) : len;
    json_t *v = json_pack("{s:s%, s:b, s:b}", "value", text, cut, "isEncodingProblem", problem,
                          "isTruncated", cut < len);
    free(text);
    return v;
}

static int add_values(const struct builder *b, json_t *values, const struct jmap_mime_part *p)
{
    if (p->kind == JMAP_MIME_MULTIPART) {
        for (size_t i = 0; i < p->n_children; i++) {
            if (add_values(b, values, &p->children[i]) != 0)
                return -1;
        }
        return 0;
    }
    if (strncmp(p->type, "text/", 5) != 0 || json_object_get(values, p->section) != NULL)
        return 0;
    return json_object_set_new(values, p->section, body_value(b, p));
}

static int add_list_values(const struct builder *b, json_t *values,
                           const struct jmap_email_part_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (add_values(b, values, l->v[i]) != 0)
            return -1;
    }
    return 0;
}

static json_t *body_values(const struct builder *b, const struct jmap_email_part_list *text,
                           const struct jmap_email_part_list *html)
{
    json_t *values = json_object();
    int rc = values != NULL ? 0 : -1;
    if (rc == 0 && b->opts->fetch_text_values)
        rc = add_list_values(b, values, text);
    if (rc == 0 && b->opts->fetch_html_values)
        rc = add_list_values(b, values, html);
    if (rc == 0 && b->opts->fetch_all_values)
        rc = add_values(b, values, b->top);
    if (rc != 0) {
        json_decref(values);
        values = NULL;
    }
    return values;
}

/* The preview from the text parts of textBody (htmlBody when it has
 * none), HTML turned into text. */
static json_t *preview(const struct jmap_mime_message *m, const struct jmap_email_part_list *text,
                       const struct jmap_email_part_list *html)
{
    const struct jmap_email_part_list *l = text;
    char *src = NULL;
    size_t src_len = 0;
    for (int pass = 0; pass < 2 && src_len == 0; pass++, l = html) {
        for (size_t i = 0; i < l->n && src_len < PREVIEW_SOURCE_MAX; i++) {
            const struct jmap_mime_part *p = l->v[i];
            bool is_html = strcmp(p->type, "text/html") == 0;
            if (!is_html && strcmp(p->type, "text/plain") != 0)
                continue;
            size_t len = 0;
            char *t = part_text(m, p, &len, NULL);
            if (t != NULL && is_html) {
                char *plain = jmap_html_to_text(t, len);
                free(t);
                t = plain;
                len = t != NULL ? strlen(t) : 0;
            }
            if (t == NULL)
                break;
            len = len > PREVIEW_SOURCE_MAX ? PREVIEW_SOURCE_MAX : len;
            char *grown = realloc(src, src_len + len + 2);
            if (grown != NULL) {
                src = grown;
                memcpy(src + src_len, t, len);
                src_len += len;
                src[src_len++] = '\n';
                src[src_len] = '\0';
            }
            free(t);
            if (grown == NULL)
                break;
        }
    }
    char *pv = jmap_preview_from_text(src != NULL ? src : "", src_len, PREVIEW_CHARS);
    free(src);
    json_t *v = pv != NULL ? json_string(pv) : NULL;
    free(pv);
    return v;
}

static bool has_attachment(const struct jmap_email_part_list *att)
{
    for (size_t i = 0; i < att->n; i++) {
        const char *d = att->v[i]->disposition;
        if (d == NULL || strcmp(d, "inline") != 0)
            return true;
    }
    return false;
}

/* ---- The Email ---------------------------------------------------------- */

static bool needs_lists(const char *prop)
{
    return strcmp(prop, "textBody") == 0 || strcmp(prop, "htmlBody") == 0 ||
           strcmp(prop, "attachments") == 0 || strcmp(prop, "bodyValues") == 0 ||
           strcmp(prop, "preview") == 0 || strcmp(prop, "hasAttachment") == 0;
}

static json_t *email_property(const struct builder *b, const char *prop,
                              const struct jmap_email_part_list *text,
                              const struct jmap_email_part_list *html,
                              const struct jmap_email_part_list *att)
{
    const struct jmap_mime_part *root = b->top;
    if (strcmp(prop, "headers") == 0)
        return jmap_email_headers_json(root->fields, root->n_fields);
    if (strcmp(prop, "bodyStructure") == 0)
        return part_json(b, root, true);
    if (strcmp(prop, "textBody") == 0)
        return parts_json(b, text);
    if (strcmp(prop, "htmlBody") == 0)
        return parts_json(b, html);
    if (strcmp(prop, "attachments") == 0)
        return parts_json(b, att);
    if (strcmp(prop, "bodyValues") == 0)
        return body_values(b, text, html);
    if (strcmp(prop, "preview") == 0)
        return preview(b->m, text, html);
    if (strcmp(prop, "hasAttachment") == 0)
        return json_boolean(has_attachment(att));
    return jmap_email_header_property(root->fields, root->n_fields, prop);
}

int jmap_email_from_mime(const struct jmap_mime_message *m, json_t *properties,
                         const struct jmap_email_body_opts *opts, json_t *email,
                         struct gw_error *err)
{
    return jmap_email_from_mime_part(m, &m->root, properties, opts, email, err);
}

int jmap_email_from_mime_part(const struct jmap_mime_message *m, const struct jmap_mime_part *top,
                              json_t *properties, const struct jmap_email_body_opts *opts,
                              json_t *email, struct gw_error *err)
{
    struct builder b = { .m = m, .top = top, .opts = opts };
    struct jmap_email_part_list text = { 0 }, html = { 0 }, att = { 0 };
    bool have_lists = false;
    int rc = 0;
    size_t i;
    json_t *v;

    size_t n_asked = opts->body_properties != NULL ? json_array_size(opts->body_properties)
                                                   : sizeof(default_body_props) / sizeof(char *);
    b.props = calloc(n_asked + 1, sizeof(*b.props));
    if (b.props == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory building an Email");
    if (opts->body_properties != NULL) {
        json_array_foreach(opts->body_properties, i, v) {
            if (json_is_string(v))
                b.props[b.n_props++] = json_string_value(v);
        }
    } else {
        for (; default_body_props[b.n_props] != NULL; b.n_props++)
            b.props[b.n_props] = default_body_props[b.n_props];
    }
    json_array_foreach(properties, i, v) {
        const char *prop = json_string_value(v);
        if (prop == NULL)
            continue;
        if (needs_lists(prop) && !have_lists) {
            if (body_lists(top, &text, &html, &att) != 0) {
                rc = -1;
                break;
            }
            have_lists = true;
        }
        if (jmap_email_property_is_header(prop) || strcmp(prop, "bodyStructure") == 0 ||
            needs_lists(prop)) {
            if (json_object_set_new(email, prop, email_property(&b, prop, &text, &html, &att)) != 0) {
                rc = -1;
                break;
            }
        }
    }
    jmap_email_part_list_clear(&text);
    jmap_email_part_list_clear(&html);
    jmap_email_part_list_clear(&att);
    free(b.props);
    if (rc != 0)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory building an Email");
    return 0;
}
