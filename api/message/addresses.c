/* addresses.c - RFC 5322 address-list -> JMAP EmailAddress(Group)[].
 *
 * Best effort, as RFC 8621 §4.1.2.3 asks: the field is cut into items at
 * ',' and ';' outside angle brackets; an item whose words are followed by
 * ':' (before any '<' or '@') opens a group that ';' or the end of the field
 * closes. Within an item, '<' separates the display-name from the address;
 * without '<' the whole item is the addr-spec. Anything missing ('>', ';',
 * '@') is assumed to be where the item ends, and an item that is no address
 * at all still yields an EmailAddress whose email is its text: RFC 8621
 * allows emails that are not addr-specs, and dropping words silently would
 * hide what the sender wrote.
 */
#include <stdlib.h>
#include <string.h>

#include "jmap_message.h"
#include "message_private.h"

struct tokens {
    struct msg_tok *t;
    size_t n;
};

static int tokenize(const char *p, size_t n, struct tokens *out)
{
    struct msg_lex lx;
    struct msg_tok tok;
    size_t cap = 0;

    out->t = NULL;
    out->n = 0;
    msg_lex_init(&lx, p, n);
    /* Every token consumes at least one input byte: at most n tokens. */
    for (msg_lex_next(&lx, &tok); tok.type != MSG_TOK_END; msg_lex_next(&lx, &tok)) {
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct msg_tok *nt = realloc(out->t, ncap * sizeof(*nt));
            if (nt == NULL)
                return -1;
            out->t = nt;
            cap = ncap;
        }
        out->t[out->n++] = tok;
    }
    return 0;
}

static bool tok_is(const struct msg_tok *t, char c)
{
    return t->type == MSG_TOK_SPECIAL && t->c == c;
}

static bool is_word(const struct msg_tok *t)
{
    return t->type == MSG_TOK_ATOM || t->type == MSG_TOK_QUOTED;
}

/* JSON string from a buffer, with leading/trailing white space trimmed;
 * JSON null when empty. NULL on allocation failure. */
static json_t *trimmed_or_null(struct msg_buf *b)
{
    size_t len = 0;
    char *s = msg_buf_finish(b, &len);
    size_t start = 0;
    json_t *res;

    if (s == NULL)
        return NULL;
    while (start < len && (s[start] == ' ' || s[start] == '\t'))
        start++;
    while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    res = len > start ? json_stringn(s + start, len - start) : json_null();
    free(s);
    return res;
}

/* display-name: words joined by one space where the source had white space,
 * quoted-strings unquoted, encoded-words decoded, comments dropped. */
static json_t *phrase_value(const struct msg_tok *t, size_t n)
{
    struct msg_buf b = MSG_BUF_INIT, q = MSG_BUF_INIT;
    struct msg_words w;
    bool first = true;

    msg_words_init(&w, &b);
    for (size_t i = 0; i < n; i++) {
        const char *ws = first || !t[i].ws_before ? "" : " ";
        if (t[i].type == MSG_TOK_COMMENT)
            continue;
        if (t[i].type == MSG_TOK_QUOTED) {
            q.len = 0;
            msg_unquote(&q, t[i].p, t[i].n);
            msg_words_add(&w, ws, strlen(ws), q.data ? q.data : "", q.len, false);
            if (q.failed)
                b.failed = true;
        } else {
            msg_words_add(&w, ws, strlen(ws), t[i].p, t[i].n, t[i].type == MSG_TOK_ATOM);
        }
        first = false;
    }
    msg_words_finish(&w);
    msg_buf_free(&q);
    return trimmed_or_null(&b);
}

/* A comment used as the name: quoted-pairs decoded, then read as
 * unstructured text (RFC 2047 §5 (2) allows encoded-words in comments). */
static json_t *comment_value(const struct msg_tok *c)
{
    struct msg_buf raw = MSG_BUF_INIT, b = MSG_BUF_INIT;
    msg_unquote(&raw, c->p, c->n);
    msg_decode_unstructured(&b, raw.data ? raw.data : "", raw.len);
    if (raw.failed)
        b.failed = true;
    msg_buf_free(&raw);
    return trimmed_or_null(&b);
}

/* addr-spec text: tokens concatenated without CFWS; a space is kept between
 * two words that white space separated (not an addr-spec any more, but
 * readable: "Undisclosed recipients"). */
static char *addr_value(const struct msg_tok *t, size_t n)
{
    struct msg_buf b = MSG_BUF_INIT;
    const struct msg_tok *prev = NULL;

    for (size_t i = 0; i < n; i++) {
        if (t[i].type == MSG_TOK_COMMENT || tok_is(&t[i], '<') || tok_is(&t[i], '>'))
            continue;
        if (prev && is_word(prev) && is_word(&t[i]) && t[i].ws_before &&
            prev->p[prev->n - 1] != '.' && t[i].p[0] != '.')
            msg_buf_putc(&b, ' ');
        if (t[i].type == MSG_TOK_QUOTED)
            msg_buf_putc(&b, '"');
        msg_buf_put(&b, t[i].p, t[i].n);
        if (t[i].type == MSG_TOK_QUOTED)
            msg_buf_putc(&b, '"');
        prev = &t[i];
    }
    return msg_buf_finish(&b, NULL);
}

static const struct msg_tok *first_comment(const struct msg_tok *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].type == MSG_TOK_COMMENT)
            return &t[i];
    return NULL;
}

/* One mailbox from t[0..n); appends {name, email} to list unless the item
 * is empty. Returns -1 on allocation failure. */
static int add_mailbox(const struct msg_tok *t, size_t n, json_t *list)
{
    size_t lt = 0, gt, start = 0;
    json_t *name = NULL, *obj = NULL;
    char *email = NULL;
    int rc = -1;

    while (lt < n && !tok_is(&t[lt], '<'))
        lt++;
    if (lt < n) {
        name = phrase_value(t, lt);
        gt = lt + 1;
        while (gt < n && !tok_is(&t[gt], '>'))
            gt++;
        /* obs-route "<@a,@b:user@host>": the address follows the last ':'. */
        start = lt + 1;
        for (size_t i = lt + 1; i < gt; i++)
            if (tok_is(&t[i], ':'))
                start = i + 1;
        email = addr_value(t + start, gt - start);
        const struct msg_tok *c = first_comment(t + start, gt - start);
        if (c == NULL && gt < n)
            c = first_comment(t + gt, n - gt);
        if (name != NULL && json_is_null(name) && c != NULL) {
            json_decref(name);
            name = comment_value(c);
        }
    } else {
        /* Only a comment after the whole addr-spec names it, not one in
         * its middle ("c@(Chris's host.)public.example"). */
        size_t last_word = n;
        for (size_t i = 0; i < n; i++)
            if (t[i].type != MSG_TOK_COMMENT)
                last_word = i;
        email = addr_value(t, n);
        const struct msg_tok *c = last_word < n ? first_comment(t + last_word, n - last_word) : NULL;
        name = c ? comment_value(c) : json_null();
    }
    if (name == NULL || email == NULL)
        goto out;
    if (email[0] == '\0' && json_is_null(name)) {
        rc = 0;
        goto out;
    }
    obj = json_pack("{s:O, s:s}", "name", name, "email", email);
    if (obj == NULL || json_array_append_new(list, obj) != 0)
        goto out;
    rc = 0;
out:
    json_decref(name);
    free(email);
    return rc;
}

static json_t *new_group(json_t *grouped, json_t *name)
{
    json_t *g = json_pack("{s:o, s:[]}", "name", name, "addresses");
    if (g == NULL || json_array_append_new(grouped, g) != 0)
        return NULL;
    return json_object_get(g, "addresses");
}

/* Item boundary from i: index of the ',' / ';' / group ':' ending it, or
 * the number of tokens. */
static size_t item_end(const struct tokens *tk, size_t i, bool *is_group)
{
    bool angle = false, seen_at_or_lt = false;
    *is_group = false;
    for (; i < tk->n; i++) {
        const struct msg_tok *t = &tk->t[i];
        if (t->type != MSG_TOK_SPECIAL)
            continue;
        if (t->c == '<') {
            angle = true;
            seen_at_or_lt = true;
        } else if (t->c == '>') {
            angle = false;
        } else if (t->c == '@') {
            seen_at_or_lt = true;
        } else if (t->c == ',' || t->c == ';') {
            /* Inside "<...>" only obs-route ("<@a,@b:u@h>") has commas; any
             * other means the '>' is missing and the item ends here. */
            bool route = t->c == ',' && i + 1 < tk->n && tok_is(&tk->t[i + 1], '@');
            if (!angle || !route)
                return i;
        } else if (!angle && t->c == ':' && !seen_at_or_lt) {
            *is_group = true;
            return i;
        }
    }
    return i;
}

static json_t *parse_grouped(const char *value, size_t len)
{
    struct tokens tk = { NULL, 0 };
    json_t *grouped = json_array(), *res = NULL, *current = NULL;
    size_t n = 0;
    char *text = msg_header_prepare(value, len, &n);
    bool in_group = false;

    if (grouped == NULL || text == NULL || tokenize(text, n, &tk) != 0)
        goto out;
    for (size_t i = 0; i < tk.n;) {
        bool is_group;
        size_t end = item_end(&tk, i, &is_group);
        if (is_group) {
            /* A ':' inside a group starts the next group: nesting is not
             * allowed, so the previous one was surely meant to end. */
            json_t *name = phrase_value(tk.t + i, end - i);
            if (name == NULL || (current = new_group(grouped, name)) == NULL)
                goto out;
            in_group = true;
        } else if (end > i) {
            if (current == NULL && (current = new_group(grouped, json_null())) == NULL)
                goto out;
            if (add_mailbox(tk.t + i, end - i, current) != 0)
                goto out;
        }
        if (end < tk.n && tok_is(&tk.t[end], ';') && in_group) {
            in_group = false;
            current = NULL;
        }
        i = end + 1;
    }
    res = grouped;
    grouped = NULL;
out:
    /* Ungrouped runs opened for an empty item leave an empty object behind. */
    for (size_t i = res ? json_array_size(res) : 0; i-- > 0;) {
        json_t *g = json_array_get(res, i);
        if (json_is_null(json_object_get(g, "name")) &&
            json_array_size(json_object_get(g, "addresses")) == 0)
            json_array_remove(res, i);
    }
    json_decref(grouped);
    free(tk.t);
    free(text);
    return res;
}

json_t *jmap_header_as_grouped_addresses(const char *value, size_t len)
{
    return parse_grouped(value, len);
}

json_t *jmap_header_as_addresses(const char *value, size_t len)
{
    json_t *grouped = parse_grouped(value, len), *flat = json_array();
    json_t *res = NULL;
    size_t i;
    json_t *g;

    if (grouped == NULL || flat == NULL)
        goto out;
    json_array_foreach(grouped, i, g) {
        if (json_array_extend(flat, json_object_get(g, "addresses")) != 0)
            goto out;
    }
    res = flat;
    flat = NULL;
out:
    json_decref(grouped);
    json_decref(flat);
    return res;
}
