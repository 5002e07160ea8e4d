/* imap_parse.c - the generic IMAP response parser behind imap_wire.h:
 * atoms (with [sections] and <partials>), quoted strings, literals and
 * literal8, NIL and parenthesised lists, held in a per-response arena. */
#include "imap_wire.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ARENA_CHUNK 16384
#define MAX_DEPTH 64    /* deeper than any sane BODYSTRUCTURE */

struct imap_arena_chunk {
    struct imap_arena_chunk *next;
    size_t used, size;
    max_align_t data[];
};

void *imap_arena_alloc(struct imap_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    struct imap_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (c == NULL)
            return NULL;
        c->used = 0;
        c->size = size;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void imap_arena_free(struct imap_arena *a)
{
    while (a->head != NULL) {
        struct imap_arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

struct parser {
    const char *p, *end;
    struct imap_arena *a;
    int depth;
};

static char *arena_strndup(struct imap_arena *a, const char *s, size_t len)
{
    char *d = imap_arena_alloc(a, len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static int parse_value(struct parser *ps, struct imap_value *out);

static int parse_quoted(struct parser *ps, struct imap_value *out)
{
    const char *q = ++ps->p;
    size_t n = 0;
    /* First pass: length after unescaping, and where it ends. */
    while (q < ps->end && *q != '"') {
        if (*q == '\r' || *q == '\n')
            return -1;
        if (*q == '\\' && ++q == ps->end)
            return -1;
        q++;
        n++;
    }
    if (q == ps->end)
        return -1;
    char *d = imap_arena_alloc(ps->a, n + 1);
    if (d == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (*ps->p == '\\')
            ps->p++;
        d[i] = *ps->p++;
    }
    d[n] = '\0';
    ps->p = q + 1;
    *out = (struct imap_value){ .type = IMAP_V_STRING, .s = d, .len = n };
    return 0;
}

/* "{N}\r\n" then N bytes; the reader already checked N against the buffer
 * but this must not trust it. */
static int parse_literal(struct parser *ps, struct imap_value *out)
{
    size_t n = 0, digits = 0;
    ps->p++;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9' && digits++ < 19)
        n = n * 10 + (size_t)(*ps->p++ - '0');
    if (digits == 0 || ps->end - ps->p < 3 || memcmp(ps->p, "}\r\n", 3) != 0)
        return -1;
    ps->p += 3;
    if ((size_t)(ps->end - ps->p) < n)
        return -1;
    char *d = arena_strndup(ps->a, ps->p, n);
    if (d == NULL)
        return -1;
    ps->p += n;
    *out = (struct imap_value){ .type = IMAP_V_STRING, .s = d, .len = n };
    return 0;
}

static bool atom_stop(char c)
{
    return c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n' || c == '"' || c == '{' ||
           c == ']';
}

static int parse_atom(struct parser *ps, struct imap_value *out)
{
    const char *start = ps->p;
    while (ps->p < ps->end && !atom_stop(*ps->p)) {
        if (*ps->p == '[') {
            /* BODY[HEADER.FIELDS (A B)] keeps its spaces and parens. */
            const char *close = memchr(ps->p, ']', (size_t)(ps->end - ps->p));
            const char *eol = memchr(ps->p, '\r', (size_t)(ps->end - ps->p));
            if (close == NULL || (eol != NULL && eol < close))
                return -1;
            ps->p = close;
        }
        ps->p++;
    }
    if (ps->p == start)
        return -1;
    size_t len = (size_t)(ps->p - start);
    if (len == 3 && strncasecmp(start, "NIL", 3) == 0) {
        *out = (struct imap_value){ .type = IMAP_V_NIL };
        return 0;
    }
    char *d = arena_strndup(ps->a, start, len);
    if (d == NULL)
        return -1;
    *out = (struct imap_value){ .type = IMAP_V_ATOM, .s = d, .len = len };
    return 0;
}

/* Parses values separated by spaces until stop (')' for a list, '\r' or
 * the region's end at top level) into an arena array. */
static int parse_seq(struct parser *ps, char stop, const struct imap_value **items, size_t *n)
{
    struct imap_value *vec = NULL;
    size_t count = 0, cap = 0;
    int ret = -1;

    for (;;) {
        while (ps->p < ps->end && *ps->p == ' ')
            ps->p++;
        if (ps->p == ps->end) {
            if (stop == ')')
                goto out;
            break;
        }
        if (*ps->p == stop)
            break;
        if (count == cap) {
            cap = cap != 0 ? cap * 2 : 8;
            struct imap_value *nv = realloc(vec, cap * sizeof(*vec));
            if (nv == NULL)
                goto out;
            vec = nv;
        }
        if (parse_value(ps, &vec[count]) < 0)
            goto out;
        count++;
    }
    struct imap_value *dst = imap_arena_alloc(ps->a, (count != 0 ? count : 1) * sizeof(*dst));
    if (dst == NULL)
        goto out;
    if (count != 0)
        memcpy(dst, vec, count * sizeof(*dst));
    *items = dst;
    *n = count;
    ret = 0;
out:
    free(vec);
    return ret;
}

static int parse_value(struct parser *ps, struct imap_value *out)
{
    switch (*ps->p) {
    case '(':
        if (++ps->depth > MAX_DEPTH)
            return -1;
        ps->p++;
        *out = (struct imap_value){ .type = IMAP_V_LIST };
        if (parse_seq(ps, ')', &out->items, &out->n) < 0)
            return -1;
        ps->p++;
        ps->depth--;
        return 0;
    case '"':
        return parse_quoted(ps, out);
    case '{':
        return parse_literal(ps, out);
    case '~':
        if (ps->end - ps->p > 1 && ps->p[1] == '{') {
            ps->p++;
            return parse_literal(ps, out);
        }
        return parse_atom(ps, out);
    default:
        return parse_atom(ps, out);
    }
}

static bool is_status_word(const char *p, size_t len)
{
    static const char *const words[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t w = strlen(words[i]);
        if (len >= w && strncasecmp(p, words[i], w) == 0 && (len == w || p[w] == ' ' ||
                                                             p[w] == '\r'))
            return true;
    }
    return false;
}

/* "OK [CODE args] text": the code's tokens are parsed when they can be;
 * an unparsable code is dropped, as the text is free-form anyway. */
static int parse_status(struct parser *ps, struct imap_untagged *out)
{
    struct imap_value *word = imap_arena_alloc(ps->a, sizeof(*word));
    if (word == NULL || parse_atom(ps, word) < 0)
        return -1;
    out->v = word;
    out->n = 1;
    if (ps->p < ps->end && *ps->p == ' ')
        ps->p++;
    const char *eol = memchr(ps->p, '\r', (size_t)(ps->end - ps->p));
    if (eol == NULL)
        return -1;
    if (ps->p < eol && *ps->p == '[') {
        const char *close = memchr(ps->p, ']', (size_t)(eol - ps->p));
        if (close != NULL) {
            struct parser sub = { .p = ps->p + 1, .end = close, .a = ps->a };
            if (parse_seq(&sub, '\r', &out->code, &out->n_code) < 0) {
                out->code = NULL;
                out->n_code = 0;
            }
            ps->p = close + 1;
            while (ps->p < eol && *ps->p == ' ')
                ps->p++;
        }
    }
    out->text = arena_strndup(ps->a, ps->p, (size_t)(eol - ps->p));
    return out->text != NULL ? 0 : -1;
}

int imap_parse_response(const char *p, size_t len, struct imap_arena *a,
                        struct imap_untagged *out)
{
    struct parser ps = { .p = p, .end = p + len, .a = a };
    *out = (struct imap_untagged){ .text = "" };
    if (is_status_word(p, len))
        return parse_status(&ps, out);
    if (parse_seq(&ps, '\r', &out->v, &out->n) < 0)
        return -1;
    /* Exactly the final CRLF may remain. */
    if (ps.end - ps.p != 2 || memcmp(ps.p, "\r\n", 2) != 0 || out->n == 0)
        return -1;
    return 0;
}

bool imap_value_is(const struct imap_value *v, const char *atom)
{
    return v != NULL && v->type == IMAP_V_ATOM && strcasecmp(v->s, atom) == 0;
}

bool imap_value_u64(const struct imap_value *v, uint64_t *out)
{
    uint64_t n = 0;
    if (v == NULL || v->type != IMAP_V_ATOM || v->len == 0 || v->len > 20)
        return false;
    for (size_t i = 0; i < v->len; i++) {
        if (v->s[i] < '0' || v->s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(v->s[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return false;
        n = n * 10 + d;
    }
    *out = n;
    return true;
}

bool imap_value_u32(const struct imap_value *v, uint32_t *out)
{
    uint64_t n;
    if (!imap_value_u64(v, &n) || n > UINT32_MAX)
        return false;
    *out = (uint32_t)n;
    return true;
}

char *imap_value_strdup(const struct imap_value *v)
{
    if (v == NULL || (v->type != IMAP_V_ATOM && v->type != IMAP_V_STRING))
        return NULL;
    char *d = malloc(v->len + 1);
    if (d != NULL) {
        memcpy(d, v->s, v->len);
        d[v->len] = '\0';
    }
    return d;
}
