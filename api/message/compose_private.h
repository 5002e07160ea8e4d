/* compose_private.h - what the files of the message builder
 * (api/message/compose*.c, include/jmap_compose.h) share. */
#ifndef COMPOSE_PRIVATE_H
#define COMPOSE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "gw_error.h"
#include "jmap_compose.h"
#include "message_private.h"

/* Longest property path reported in invalidProperties. */
#define COMPOSE_PATH_MAX 256
/* Deepest bodyStructure accepted (deeper is invalidProperties). */
#define COMPOSE_MAX_DEPTH 32
/* Preferred and hard line lengths (RFC 5322 §2.1.1), CRLF excluded. */
#define COMPOSE_LINE_SOFT 78
#define COMPOSE_LINE_HARD 998

/* One build. The first hard failure (memory, a blob callback) stops it;
 * input problems are collected so the client hears of all of them. */
struct compose_ctx {
    const struct jmap_compose_opts *opts;
    json_t *body_values;        /* borrowed, NULL when absent */
    json_t *invalid;            /* property paths (strings), new array */
    json_t *not_found;          /* blob ids, new array */
    struct gw_error *err;
    bool failed;                /* err is set: give up */
};

/* Records an invalid property: prefix + "/" + name (or name alone when
 * prefix is ""), each path once. */
void compose_invalid(struct compose_ctx *c, const char *prefix, const char *name);

/* Records a hard failure (the first one wins). */
void compose_fail(struct compose_ctx *c, enum gw_error_code code, const char *msg);

/* ---- header fields (compose_headers.c) --------------------------------- */

/* One header field to write: a property of the Email or of a body part
 * that names a field, with the value in its JMAP form. */
struct compose_field {
    const char *prop;           /* borrowed property name ("from", "header:X:asText") */
    char name[80];              /* field name as written ("From", "X") */
    int form;                   /* enum jmap_header_form */
    bool all;
    json_t *value;              /* borrowed */
};

/* Collects the header-field properties of obj (an Email when is_email,
 * else an EmailBodyPart): the convenience properties of an Email and every
 * header:* property. Problems go to c under prefix: a malformed or
 * forbidden header:* name, two properties for one field, "Content-*" on
 * the Email, Content-Transfer-Encoding anywhere, a part field that the
 * part's own properties write (Content-Type ...). taken (borrowed object,
 * lower-case field name -> property) holds fields already used by an
 * enclosing level that may not repeat; new names are added to it.
 * *out is new (free()). Returns 0, -1 when memory runs out (c failed). */
int compose_fields_collect(struct compose_ctx *c, json_t *obj, bool is_email, const char *prefix,
                           json_t *taken, struct compose_field **out, size_t *n);

/* Writes the fields (each "Name: value" CRLF, folded) to b. Values of the
 * wrong JSON type or that cannot be written are reported under prefix. */
void compose_fields_write(struct compose_ctx *c, const struct compose_field *f, size_t n,
                          const char *prefix, struct msg_buf *b);

/* Writes "Name: value" CRLF folding value (ASCII; spaces are the fold
 * points) to stay within COMPOSE_LINE_SOFT where it can. Returns false
 * when a word cannot fit in COMPOSE_LINE_HARD. */
bool compose_write_folded(struct msg_buf *b, const char *name, const char *value, size_t len);

/* Appends text (UTF-8) as one or more RFC 2047 B-encoded words in UTF-8,
 * separated by spaces, each at most 75 octets, never splitting a
 * character. */
void compose_encoded_words(struct msg_buf *b, const char *text, size_t len);

/* True when text can go into a header as it is: printable ASCII and
 * spaces, no "=?" that a reader would take for an encoded-word. */
bool compose_header_plain(const char *text, size_t len);

/* Appends a MIME parameter "; name=value": a token, a quoted string, or
 * RFC 2231 (charset utf-8, continued over several sections when long). */
void compose_param(struct msg_buf *b, const char *name, const char *value);

/* ---- the entity tree (compose_body.c) ------------------------------------ */

/* One MIME entity to write: a client's EmailBodyPart, or a multipart the
 * builder adds around textBody/htmlBody/attachments (part NULL). */
struct compose_node {
    json_t *part;               /* borrowed; NULL: a container of type */
    const char *type;           /* container type, or a leaf's default type */
    char path[COMPOSE_PATH_MAX];        /* where part is, for invalidProperties */
    struct compose_node *kids;
    size_t n;
    struct compose_field *fields;       /* while rendering a multipart part */
    size_t n_fields;
};

/* A leaf for part (borrowed) found at path; default_type NULL: from the
 * part (text/plain for text, application/octet-stream for a blob). */
void compose_node_leaf(struct compose_node *n, json_t *part, const char *default_type,
                       const char *path);
/* A container of kids zeroed children. Returns -1 when memory runs out. */
int compose_node_container(struct compose_node *n, const char *type, size_t kids);
/* The tree of a bodyStructure part. Returns -1 when memory runs out. */
int compose_node_from_structure(struct compose_ctx *c, json_t *part, const char *path,
                                unsigned depth, struct compose_node *n);
void compose_node_free(struct compose_node *n);

/* Writes the entity n (its header fields, a blank line, its body) to b.
 * taken (borrowed, may be NULL) holds the Email's fields the top part may
 * not repeat. Problems go to c. */
void compose_render(struct compose_ctx *c, struct compose_node *n, json_t *taken,
                    struct msg_buf *b);

/* ---- transfer encodings (compose_encode.c) ------------------------------ */

/* Appends data as base64 in lines of 76 characters, each ending in CRLF. */
void compose_base64(struct msg_buf *b, const unsigned char *data, size_t len);

/* Appends text whose line ends are CRLF as quoted-printable (lines at most
 * 76 characters with soft breaks). */
void compose_qp(struct msg_buf *b, const char *text, size_t len);

/* Copy of text with every LF, CR and CRLF as CRLF (new, NULL when memory
 * runs out). */
char *compose_crlf(const char *text, size_t len, size_t *out_len);

/* True when data is 7-bit text fit to send as it is: no NUL or other
 * controls than TAB, CR only before LF and LF only after CR, lines at most
 * max octets. */
bool compose_is_7bit(const char *data, size_t len, size_t max);

#endif
