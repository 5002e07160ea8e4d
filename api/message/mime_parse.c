/* mime_parse.c - the MIME tree of a raw message (include/jmap_mime.h).
 *
 * One pass over the bytes with a stack of the active multipart boundaries,
 * innermost first, the way Dovecot's message parser reads them, so our
 * section numbers are the ones IMAP uses for the same message: a line
 * starting with "--" + boundary ends the current entity (prefix match, as
 * RFC 2046 forbids such lines inside parts); the line break before it
 * belongs to the delimiter (RFC 2046 §5.1.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_mime.h"
#include "message_private.h"
#include "mime_private.h"

struct boundary {
    const char *p;
    size_t n;
};

struct parser {
    const char *d;
    size_t n;
    struct boundary stack[JMAP_MIME_MAX_DEPTH + 1];
    size_t depth;               /* active boundaries */
    size_t n_parts;
    unsigned problems;
    bool nomem;
};

/* Where an entity ended: at the start of a boundary line (which, counted
 * from the innermost) or at the end of the data (which = -1). The line
 * break before `at` belongs to that delimiter unless it lies before floor:
 * after a close delimiter the epilogue starts on the next line, and when
 * the next delimiter follows at once, the close line's own line break is
 * content (Dovecot counts it so, and so do IMAP sizes). */
struct stop {
    size_t at;
    int which;
    bool close;
    size_t floor;
};

/* Index of the innermost active boundary the line at pos starts with. */
static int boundary_at(const struct parser *ps, size_t pos, bool *close)
{
    const char *d = ps->d;
    if (ps->n - pos < 2 || d[pos] != '-' || d[pos + 1] != '-')
        return -1;
    for (size_t i = ps->depth; i-- > 0;) {
        const struct boundary *b = &ps->stack[i];
        if (ps->n - pos - 2 >= b->n && memcmp(d + pos + 2, b->p, b->n) == 0) {
            size_t e = pos + 2 + b->n;
            *close = ps->n - e >= 2 && d[e] == '-' && d[e + 1] == '-';
            return (int)i;
        }
    }
    return -1;
}

/* The next boundary line at or after pos (pos is a line start). */
static struct stop find_boundary(const struct parser *ps, size_t pos)
{
    struct stop s = { ps->n, -1, false, 0 };
    if (ps->depth == 0)
        return s;
    while (pos < ps->n) {
        int w = boundary_at(ps, pos, &s.close);
        if (w >= 0) {
            s.at = pos;
            s.which = w;
            return s;
        }
        const char *nl = memchr(ps->d + pos, '\n', ps->n - pos);
        if (nl == NULL)
            break;
        pos = (size_t)(nl - ps->d) + 1;
    }
    s.close = false;
    return s;
}

static size_t line_end(const struct parser *ps, size_t pos)
{
    const char *nl = memchr(ps->d + pos, '\n', ps->n - pos);
    return nl != NULL ? (size_t)(nl - ps->d) + 1 : ps->n;
}

/* The content before a delimiter line at `at` loses its line break. */
static size_t content_end(const char *d, size_t start, size_t at)
{
    if (at > start && d[at - 1] == '\n') {
        at--;
        if (at > start && d[at - 1] == '\r')
            at--;
    }
    return at;
}

static bool valid_name_char(unsigned char c)
{
    return c > 32 && c < 127 && c != ':';
}

/* One header block from pos up to the blank line, a boundary line or
 * `end`. Fields go to *fields; returns where the body starts. Shared with
 * jmap_mime_fields_parse() (ps->depth 0 there). */
static size_t parse_fields(struct parser *ps, size_t pos, size_t end, struct jmap_mime_field **fields,
                           size_t *n_fields)
{
    const char *d = ps->d;
    size_t cap = 0;
    bool close;

    while (pos < end) {
        if (d[pos] == '\n')
            return pos + 1;
        if (d[pos] == '\r' && pos + 1 < end && d[pos + 1] == '\n')
            return pos + 2;
        if (boundary_at(ps, pos, &close) >= 0)
            return pos;
        /* The field runs to the first line break not followed by WSP. */
        size_t e = pos;
        for (;;) {
            const char *nl = memchr(d + e, '\n', end - e);
            if (nl == NULL) {
                e = end;
                break;
            }
            e = (size_t)(nl - d) + 1;
            if (e >= end || (d[e] != ' ' && d[e] != '\t'))
                break;
        }
        size_t colon = pos;
        while (colon < e && d[colon] != ':' && d[colon] != '\n')
            colon++;
        size_t name_end = colon;
        while (name_end > pos && (d[name_end - 1] == ' ' || d[name_end - 1] == '\t'))
            name_end--;
        bool ok = colon < e && d[colon] == ':' && name_end > pos;
        for (size_t i = pos; ok && i < name_end; i++)
            ok = valid_name_char((unsigned char)d[i]);
        if (!ok) {
            ps->problems |= JMAP_MIME_PROBLEM_BAD_HEADER_LINE;
            pos = e;
            continue;
        }
        if (*n_fields == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            struct jmap_mime_field *nf = realloc(*fields, ncap * sizeof(*nf));
            if (nf == NULL) {
                ps->nomem = true;
                return end;
            }
            *fields = nf;
            cap = ncap;
        }
        size_t vend = e;
        if (vend > colon + 1 && d[vend - 1] == '\n') {
            vend--;
            if (vend > colon + 1 && d[vend - 1] == '\r')
                vend--;
        }
        (*fields)[(*n_fields)++] = (struct jmap_mime_field){
            d + pos, name_end - pos, d + colon + 1, vend - colon - 1,
        };
        pos = e;
    }
    ps->problems |= JMAP_MIME_PROBLEM_TRUNCATED_HEADER;
    return end;
}

static char *section_child(const char *parent, size_t i)
{
    struct msg_buf b = MSG_BUF_INIT;
    char num[24];
    int k = snprintf(num, sizeof(num), "%zu", i);
    if (k < 0 || (size_t)k >= sizeof(num))
        return NULL;
    if (parent[0] != '\0') {
        msg_buf_put(&b, parent, strlen(parent));
        msg_buf_putc(&b, '.');
    }
    msg_buf_put(&b, num, (size_t)k);
    return msg_buf_finish(&b, NULL);
}

enum entity_role {
    ROLE_MESSAGE,       /* the top entity of a message: base is the container */
    ROLE_CHILD,         /* a body part: base is its own number */
};

static struct stop parse_entity(struct parser *ps, struct jmap_mime_part *part, size_t pos,
                                size_t depth, enum entity_role role, const char *base,
                                bool digest_child);

static struct stop parse_multipart(struct parser *ps, struct jmap_mime_part *part, size_t depth,
                                   const char *boundary, size_t boundary_len)
{
    size_t own = ps->depth;
    ps->stack[ps->depth++] = (struct boundary){ boundary, boundary_len };
    bool digest = strcmp(part->subtype, "digest") == 0;
    size_t cap = 0;
    struct stop s = find_boundary(ps, part->body_offset);   /* skips the preamble */

    while (!ps->nomem) {
        if (s.which < 0) {
            ps->problems |= JMAP_MIME_PROBLEM_MISSING_CLOSE;
            break;
        }
        if ((size_t)s.which != own) {
            ps->problems |= JMAP_MIME_PROBLEM_MISSING_CLOSE;
            break;
        }
        if (s.close) {
            /* Our delimiters end here; the epilogue runs to an outer one. */
            size_t epilogue = line_end(ps, s.at);
            ps->depth = own;
            s = find_boundary(ps, epilogue);
            s.floor = epilogue;
            return s;
        }
        size_t start = line_end(ps, s.at);
        if (ps->n_parts >= JMAP_MIME_MAX_PARTS) {
            ps->problems |= JMAP_MIME_PROBLEM_LIMIT;
            s = find_boundary(ps, start);
            continue;
        }
        if (part->n_children == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            struct jmap_mime_part *nc = realloc(part->children, ncap * sizeof(*nc));
            if (nc == NULL) {
                ps->nomem = true;
                break;
            }
            part->children = nc;
            cap = ncap;
        }
        struct jmap_mime_part *child = &part->children[part->n_children++];
        memset(child, 0, sizeof(*child));
        char *sec = section_child(part->section, part->n_children);
        if (sec == NULL) {
            ps->nomem = true;
            break;
        }
        s = parse_entity(ps, child, start, depth + 1, ROLE_CHILD, sec, digest);
        free(sec);
    }
    ps->depth = own;
    return s;
}

/* A multipart without a boundary, or whose boundary never occurs, has one
 * empty text/plain part "1", as Dovecot shows it (so BODY[section]
 * numbers agree); its bytes are in no part. */
static int empty_child(struct parser *ps, struct jmap_mime_part *part)
{
    part->children = calloc(1, sizeof(*part->children));
    if (part->children == NULL) {
        ps->nomem = true;
        return -1;
    }
    part->n_children = 1;
    ps->n_parts++;
    struct jmap_mime_part *c = part->children;
    c->header_offset = c->body_offset = part->body_offset;
    c->section = section_child(part->section, 1);
    if (c->section == NULL || mime_part_set_type(c, "text/plain") != 0) {
        ps->nomem = true;
        return -1;
    }
    return 0;
}

static struct stop parse_entity(struct parser *ps, struct jmap_mime_part *part, size_t pos,
                                size_t depth, enum entity_role role, const char *base,
                                bool digest_child)
{
    struct stop s = { ps->n, -1, false, 0 };
    const char *boundary = NULL;
    size_t boundary_len = 0;

    ps->n_parts++;
    part->header_offset = pos;
    part->body_offset = parse_fields(ps, pos, ps->n, &part->fields, &part->n_fields);
    part->header_len = part->body_offset - pos;
    if (ps->nomem || mime_part_analyze(part, digest_child, &boundary, &boundary_len) != 0) {
        ps->nomem = true;
        return s;
    }
    bool no_boundary = part->kind == JMAP_MIME_MULTIPART && (boundary == NULL || boundary_len == 0);
    if (no_boundary)
        ps->problems |= JMAP_MIME_PROBLEM_NO_BOUNDARY;
    if (part->kind != JMAP_MIME_LEAF &&
        (depth >= JMAP_MIME_MAX_DEPTH || ps->depth >= JMAP_MIME_MAX_DEPTH)) {
        ps->problems |= JMAP_MIME_PROBLEM_LIMIT;
        part->kind = JMAP_MIME_LEAF;
    }
    if (part->kind == JMAP_MIME_MULTIPART && strncmp(part->type, "multipart/", 10) != 0)
        abort();   /* mime_part_analyze() only says multipart for multipart types */
    if (part->kind == JMAP_MIME_LEAF && strncmp(part->type, "multipart/", 10) == 0 &&
        mime_part_set_type(part, "text/plain") != 0) {
        ps->nomem = true;
        return s;
    }

    /* IMAP numbering: a message whose body is not multipart has it as
     * part 1 of the message's own number. */
    if (role == ROLE_MESSAGE && part->kind != JMAP_MIME_MULTIPART)
        part->section = section_child(base, 1);
    else
        part->section = strdup(base);
    if (part->section == NULL) {
        ps->nomem = true;
        return s;
    }

    if (part->kind == JMAP_MIME_MULTIPART && no_boundary) {
        s = find_boundary(ps, part->body_offset);
        if (empty_child(ps, part) != 0)
            return s;
    } else if (part->kind == JMAP_MIME_MULTIPART) {
        s = parse_multipart(ps, part, depth, boundary, boundary_len);
        /* No delimiter matched: Dovecot shows one empty part, as for a
         * missing boundary (IMAP has no empty multipart). */
        if (!ps->nomem && part->n_children == 0 && empty_child(ps, part) != 0)
            return s;
    } else if (part->kind == JMAP_MIME_MESSAGE) {
        part->children = calloc(1, sizeof(*part->children));
        if (part->children == NULL) {
            ps->nomem = true;
            return s;
        }
        part->n_children = 1;
        s = parse_entity(ps, part->children, part->body_offset, depth + 1, ROLE_MESSAGE,
                         part->section, false);
    } else {
        s = find_boundary(ps, part->body_offset);
    }
    if (part->body_offset > s.at)   /* a header cut by a boundary line */
        part->body_offset = s.at;
    /* Only a delimiter line takes the line break before it. */
    size_t floor = s.floor > part->body_offset ? s.floor : part->body_offset;
    size_t end = s.which >= 0 ? content_end(ps->d, floor, s.at) : s.at;
    part->body_len = end - part->body_offset;
    return s;
}

int jmap_mime_parse(const char *data, size_t len, struct jmap_mime_message **out,
                    struct gw_error *err)
{
    struct jmap_mime_message *m = calloc(1, sizeof(*m));
    struct parser ps = { .d = data, .n = len };

    *out = NULL;
    if (m == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    m->data = data;
    m->len = len;
    parse_entity(&ps, &m->root, 0, 0, ROLE_MESSAGE, "", false);
    m->n_parts = ps.n_parts;
    m->problems = ps.problems;
    if (ps.nomem) {
        jmap_mime_message_free(&m);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    *out = m;
    return 0;
}

int jmap_mime_fields_parse(const char *data, size_t len, struct jmap_mime_field **fields,
                           size_t *n, struct gw_error *err)
{
    struct parser ps = { .d = data, .n = len };
    *fields = NULL;
    *n = 0;
    parse_fields(&ps, 0, len, fields, n);
    if (ps.nomem) {
        free(*fields);
        *fields = NULL;
        *n = 0;
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    return 0;
}

static void params_free(struct jmap_mime_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

/* Recursion is bounded by the parser's depth limit. */
static void part_clear(struct jmap_mime_part *p)
{
    for (size_t i = 0; i < p->n_children; i++)
        part_clear(&p->children[i]);
    free(p->children);
    free(p->section);
    free(p->fields);
    free(p->type);
    params_free(p->params, p->n_params);
    free(p->disposition);
    params_free(p->disposition_params, p->n_disposition_params);
    free(p->name);
    free(p->cid);
    for (size_t i = 0; i < p->n_language; i++)
        free(p->language[i]);
    free(p->language);
    free(p->location);
    memset(p, 0, sizeof(*p));
}

void jmap_mime_message_free(struct jmap_mime_message **m)
{
    if (m == NULL || *m == NULL)
        return;
    part_clear(&(*m)->root);
    free(*m);
    *m = NULL;
}

static const struct jmap_mime_part *find_in(const struct jmap_mime_part *p, const char *section)
{
    if (p->kind == JMAP_MIME_LEAF || p->kind == JMAP_MIME_MESSAGE) {
        if (p->section != NULL && strcmp(p->section, section) == 0)
            return p;
        if (p->kind == JMAP_MIME_LEAF)
            return NULL;
    }
    for (size_t i = 0; i < p->n_children; i++) {
        const struct jmap_mime_part *f = find_in(&p->children[i], section);
        if (f != NULL)
            return f;
    }
    return NULL;
}

const struct jmap_mime_part *jmap_mime_find_section(const struct jmap_mime_message *m,
                                                    const char *section)
{
    return section != NULL ? find_in(&m->root, section) : NULL;
}
