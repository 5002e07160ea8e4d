/* jmap_mime.h - MIME structure of a raw message (RFC 2045-2047, 2183,
 * 2231) and the Email properties built from it (RFC 8621 §4.1).
 *
 * Two layers:
 * - the parser (api/message/mime*.c, library gw_message): pure C over the
 *   raw bytes of a message. It does not use libetpan's MIME parser because
 *   the JMAP read path needs what that parser throws away or rewrites: the
 *   byte offsets of every header block and body (sizes, bodyValues,
 *   decoding without copies), the raw header fields of every part in order
 *   (header:*:asRaw, "headers" on the Email and on each EmailBodyPart) and
 *   section numbers that equal IMAP's (blob ids are fetched with
 *   BINARY.PEEK[section]); and api/ may not include libetpan at all.
 * - the Email builder (api/mail/email_body*.c, library gw_api): the JSON of
 *   the header and body properties of an Email, shared by Email/get and
 *   Email/parse (which passes its own blob ids).
 *
 * Everything accepts arbitrary bytes (NUL, 8-bit, CR or LF line ends,
 * truncation anywhere) without reading out of bounds; recursion is bounded
 * by JMAP_MIME_MAX_DEPTH and the tree by JMAP_MIME_MAX_PARTS. Strings made
 * here are valid UTF-8 without NUL unless a member says "raw".
 */
#ifndef JMAP_MIME_H
#define JMAP_MIME_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "gw_error.h"
#include "jmap_blob.h"

/* Deeper multiparts / message parts are kept as opaque leaves. Both
 * limits are Dovecot's defaults, so numbering agrees up to them. */
#define JMAP_MIME_MAX_DEPTH 100
/* Parts beyond this many are skipped (their bytes stay in no part). */
#define JMAP_MIME_MAX_PARTS 10000

/* One header field, borrowed from the message bytes (raw: may hold NUL,
 * 8-bit, folding CRLFs). value runs from the octet after the colon up to,
 * excluding, the field's terminating line break. */
struct jmap_mime_field {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* A MIME parameter after RFC 2231 reassembly: name lower case, value
 * percent-decoded and converted from its charset to UTF-8 (8-bit values
 * without a charset: UTF-8 if valid, else windows-1252). */
struct jmap_mime_param {
    char *name;
    char *value;
};

enum jmap_mime_encoding {
    JMAP_MIME_ENC_IDENTITY = 0,     /* absent, 7bit, 8bit, binary */
    JMAP_MIME_ENC_BASE64,
    JMAP_MIME_ENC_QP,
    JMAP_MIME_ENC_UNKNOWN,          /* treated as identity, flagged */
};

enum jmap_mime_kind {
    JMAP_MIME_LEAF = 0,
    JMAP_MIME_MULTIPART,            /* children: its body parts (at least one:
                                     * when none is found, an empty text/plain,
                                     * as Dovecot numbers it) */
    JMAP_MIME_MESSAGE,              /* message/rfc822 without transfer encoding:
                                     * one child, the embedded message's top
                                     * entity */
};

/* What was wrong with the input (bits; the parse still succeeds). */
enum jmap_mime_problem {
    JMAP_MIME_PROBLEM_TRUNCATED_HEADER = 1u << 0,   /* no blank line after the header */
    JMAP_MIME_PROBLEM_BAD_HEADER_LINE = 1u << 1,    /* a line that is no field, dropped */
    JMAP_MIME_PROBLEM_NO_BOUNDARY = 1u << 2,        /* multipart without boundary: its
                                                     * only part is an empty text/plain
                                                     * (as Dovecot has it) */
    JMAP_MIME_PROBLEM_MISSING_CLOSE = 1u << 3,      /* a multipart ended without its
                                                     * close delimiter (or had no
                                                     * delimiter at all) */
    JMAP_MIME_PROBLEM_LIMIT = 1u << 4,              /* depth or part limit reached */
};

struct jmap_mime_part {
    enum jmap_mime_kind kind;
    /* IMAP section: "1", "2.1". A multipart carries its container's
     * number (IMAP has none of its own): "" at the top, "2" inside the
     * message/rfc822 part 2. A single-part message's body is "1". */
    char *section;
    struct jmap_mime_field *fields;     /* in message order */
    size_t n_fields;
    size_t header_offset, header_len;   /* header block incl. the blank line */
    size_t body_offset, body_len;       /* the body in the message bytes */
    char *type;                 /* "text/plain", lower case; the implicit type
                                 * when Content-Type is absent or invalid */
    const char *subtype;        /* points into type, after the '/' */
    bool has_content_type;      /* a valid Content-Type field was present */
    struct jmap_mime_param *params;     /* Content-Type parameters */
    size_t n_params;
    const char *charset;        /* borrowed from params, NULL when absent */
    char *disposition;          /* lower case, NULL when absent */
    struct jmap_mime_param *disposition_params;
    size_t n_disposition_params;
    char *name;                 /* filename (RFC 2231), else Content-Type name
                                 * (RFC 2047 words decoded too), else NULL */
    char *cid;                  /* Content-ID without CFWS and <>, or NULL */
    char **language;            /* Content-Language tags; NULL when absent */
    size_t n_language;
    char *location;             /* Content-Location, white space removed, or NULL */
    enum jmap_mime_encoding encoding;
    struct jmap_mime_part *children;
    size_t n_children;
};

struct jmap_mime_message {
    const char *data;           /* borrowed: must outlive the message */
    size_t len;
    struct jmap_mime_part root; /* the top entity: its fields are the
                                 * message's header */
    size_t n_parts;
    unsigned problems;          /* enum jmap_mime_problem */
};

/* Parses data[0..len) (borrowed; must outlive *out). Never fails on
 * input; returns -1 (GW_ERR_NOMEM) only when memory runs out. *out is new:
 * free with jmap_mime_message_free(). */
int jmap_mime_parse(const char *data, size_t len, struct jmap_mime_message **out,
                    struct gw_error *err);
void jmap_mime_message_free(struct jmap_mime_message **m);

/* Splits a header block (e.g. the cached BODY[HEADER.FIELDS (...)] of an
 * Email) into fields borrowed from data. *fields is new (free(); NULL when
 * there are none). Returns 0, -1 when memory runs out. */
int jmap_mime_fields_parse(const char *data, size_t len, struct jmap_mime_field **fields,
                           size_t *n, struct gw_error *err);

/* The part with this section number (multiparts excluded), or NULL. */
const struct jmap_mime_part *jmap_mime_find_section(const struct jmap_mime_message *m,
                                                    const char *section);

/* Content transfer decoding, tolerant: what can be decoded is returned and
 * *problem (may be NULL; only ever set to true) reports bytes that had to
 * be skipped or kept verbatim (bad base64 characters, a dangling base64
 * character, "=" not followed by two hex digits or a line break in
 * quoted-printable, an unknown encoding). New buffer of *out_len bytes plus
 * a NUL (free()), NULL when memory runs out. */
char *jmap_mime_decode(enum jmap_mime_encoding enc, const char *in, size_t len,
                       size_t *out_len, bool *problem);

/* The length jmap_mime_decode() would return, without allocating. */
size_t jmap_mime_decoded_size(enum jmap_mime_encoding enc, const char *in, size_t len);

/* ---- Email properties from a parsed message (api/mail/email_body*.c) --- */

/* Writes the blob id of the given section into out; false if it has none. */
typedef bool (*jmap_email_blob_fn)(void *ctx, const char *section, char out[JMAP_BLOB_ID_MAX]);

/* jmap_email_blob_fn for Email/get: ctx is the Email id (const char *),
 * ids are jmap_blob_id_make(email_id, section). */
bool jmap_email_blob_id_of_section(void *ctx, const char *section, char out[JMAP_BLOB_ID_MAX]);

struct jmap_email_body_opts {
    json_t *body_properties;    /* borrowed array of valid names, NULL: the default */
    bool fetch_text_values;     /* fetchTextBodyValues */
    bool fetch_html_values;     /* fetchHTMLBodyValues */
    bool fetch_all_values;      /* fetchAllBodyValues */
    size_t max_body_value_bytes;        /* 0: no truncation */
    jmap_email_blob_fn blob_id;         /* NULL: every blobId is null */
    void *blob_ctx;
};

/* Property names. */
/* True for an Email property this module or the metadata of the store
 * can answer: the RFC 8621 list, or a valid header:* form. A header:*
 * property that asks for a form its field forbids gives false with err
 * GW_ERR_INVALID saying why. */
bool jmap_email_property_valid(const char *name, struct gw_error *err);
/* Same for EmailBodyPart properties (bodyProperties). */
bool jmap_email_body_property_valid(const char *name, struct gw_error *err);
/* True for the properties derived from header fields only (messageId ...
 * sentAt, header:*, headers). */
bool jmap_email_property_is_header(const char *name);
/* The header field a header-derived property reads ("From" for "from",
 * the name inside "header:Name:..."), into out as NUL-terminated text;
 * false for "headers" (it reads every field) and non-header properties. */
bool jmap_email_property_field(const char *name, char *out, size_t out_size);

/* The value of one header-derived property (not "headers") over fields,
 * or NULL when name is not one (or memory ran out). New reference. */
json_t *jmap_email_header_property(const struct jmap_mime_field *fields, size_t n,
                                   const char *name);

/* "headers": [{name, value}] in Raw form. New reference. */
json_t *jmap_email_headers_json(const struct jmap_mime_field *fields, size_t n);

/* Sets on email (borrowed object) every property in properties (borrowed
 * array of strings, already validated) that comes from the message
 * content: headers, header:*, the header convenience properties,
 * bodyStructure, textBody, htmlBody, attachments, bodyValues, preview,
 * hasAttachment. Metadata (id, blobId, threadId, mailboxIds, keywords,
 * size, receivedAt) is the caller's. Returns 0, -1 when memory runs out. */
int jmap_email_from_mime(const struct jmap_mime_message *m, json_t *properties,
                         const struct jmap_email_body_opts *opts, json_t *email,
                         struct gw_error *err);

/* The arguments Email/get and Email/parse share (RFC 8621 §4.2, §4.9).
 * Each returns NULL when valid, else a method error (new reference):
 * invalidArguments naming the argument. */
/* bodyProperties (opts->body_properties borrowed from args, NULL when
 * absent or null), fetchTextBodyValues, fetchHTMLBodyValues,
 * fetchAllBodyValues, maxBodyValueBytes. blob_id/blob_ctx are untouched. */
json_t *jmap_email_body_args(json_t *args, struct jmap_email_body_opts *opts);
/* "properties": *out is a new array of the names asked for, or of
 * defaults (NULL-terminated) when absent or null; "id" is added when
 * missing (RFC 8620 §5.1: it is always returned). */
json_t *jmap_email_properties_arg(json_t *args, const char *const *defaults, json_t **out);

/* The same for a message embedded in m: top is the only child of a
 * JMAP_MIME_MESSAGE part (Email/parse of an attached message's blob).
 * Part ids stay m's sections ("2.1"), so blob ids of the embedded parts
 * are fetchable from the outer message. */
int jmap_email_from_mime_part(const struct jmap_mime_message *m, const struct jmap_mime_part *top,
                              json_t *properties, const struct jmap_email_body_opts *opts,
                              json_t *email, struct gw_error *err);

/* The three lists of RFC 8621 §4.1.4 (its parseStructure algorithm) over
 * the body of m, as arrays of borrowed parts. Each array is new (free());
 * returns -1 when memory runs out. */
struct jmap_email_part_list {
    const struct jmap_mime_part **v;
    size_t n, cap;
};
int jmap_email_body_lists(const struct jmap_mime_message *m, struct jmap_email_part_list *text,
                          struct jmap_email_part_list *html, struct jmap_email_part_list *att);
void jmap_email_part_list_clear(struct jmap_email_part_list *l);

#endif
