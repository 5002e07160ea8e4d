/* imap_wire.h - backends-internal: commands libetpan cannot express (LIST
 * RETURN, ESEARCH, QRESYNC SELECT, X-GUID, BINARY) sent and answered on
 * the session's own stream, with a small generic IMAP response parser.
 *
 * Why not libetpan's parser here: its grammar is closed (a LIST-STATUS
 * STATUS line, an ESEARCH, a VANISHED or an X-GUID item make the whole
 * response fail) and it collects a FETCH into one list of all messages.
 * This layer reads one untagged response at a time (lines + literals),
 * parses it into a tree of atoms/strings/lists held in an arena, hands it
 * to a callback and frees it, so a 30,000-message FETCH streams.
 *
 * Commands use their own tag ("J<n>") so libetpan's tag counter and ours
 * never collide; libetpan is idle while a wire command runs.
 */
#ifndef BACKENDS_IMAP_WIRE_H
#define BACKENDS_IMAP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap_internal.h"

/* A growable length-carrying byte buffer; zero-initialised is empty. */
struct imap_bytes {
    char *data;
    size_t len, cap;
};

int imap_bytes_append(struct imap_bytes *b, const void *p, size_t n);
void imap_bytes_free(struct imap_bytes *b);

enum imap_vtype { IMAP_V_ATOM, IMAP_V_STRING, IMAP_V_NIL, IMAP_V_LIST };

/* One parsed token. ATOM: NUL-terminated s/len (may contain a [section]
 * and <partial>). STRING (quoted or literal): len bytes at s, which may
 * contain NULs; always followed by a NUL. LIST: n items. NIL: nothing. */
struct imap_value {
    enum imap_vtype type;
    const char *s;
    size_t len;
    const struct imap_value *items;
    size_t n;
};

/* One untagged response. For "* OK/NO/BAD/BYE/PREAUTH [code] text",
 * v[0] is the status atom (n == 1), code/n_code the tokens inside the
 * brackets (first: the code name), text the human part. Otherwise v/n are
 * all tokens after "* " ("12" "FETCH" (...)). All storage is freed after
 * the callback returns. */
struct imap_untagged {
    const struct imap_value *v;
    size_t n;
    const struct imap_value *code;
    size_t n_code;
    const char *text;
    bool tagged;            /* the command's own tagged OK (want_tagged_ok only) */
};

/* Called for each untagged response. Returning -1 (with err) stops
 * interpretation: the rest of the reply is still read and discarded so the
 * connection stays usable, and imap_wire_run() returns that error. */
typedef int (*imap_untagged_fn)(void *ctx, const struct imap_untagged *u, struct gw_error *err);

/* Bytes sent from the caller's memory at offset at of the command (see
 * imap_cmd_add_literal_ref()). */
struct imap_cmd_ref {
    size_t at;
    const char *p;
    size_t len;
};

/* A command being built (without tag and CRLF). */
struct imap_cmd {
    struct imap_bytes buf;
    size_t *sync;           /* offsets where a synchronising literal's data starts */
    size_t n_sync, cap_sync;
    struct imap_cmd_ref *refs;  /* borrowed literal data, in offset order */
    size_t n_refs, cap_refs;
    bool literal_plus;      /* LITERAL+ offered: never wait for "+" */
    bool failed;            /* an append ran out of memory */
    bool want_tagged_ok;    /* in: also hand the tagged OK (its response code:
                             * COPYUID, APPENDUID, MODIFIED) to the callback,
                             * with tagged set */
    char tagged_code[32];   /* out: the tagged OK's response code name, or "" */
    char tag[16];           /* out: the tag, set before the command is sent (an
                             * ESEARCH names its command by it) */
};

/* Starts a command for ib's session (knows its LITERAL+ capability). */
void imap_cmd_init(struct imap_cmd *c, struct imap_backend *ib);
void imap_cmd_free(struct imap_cmd *c);

/* Appends raw protocol text (the caller vouches for its syntax). */
void imap_cmd_add(struct imap_cmd *c, const char *text);
void imap_cmd_addf(struct imap_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends bytes as an IMAP string: quoted when short and 7-bit printable,
 * else a literal (non-synchronising with LITERAL+). */
void imap_cmd_add_string(struct imap_cmd *c, const char *p, size_t len);

/* Appends len bytes at p as a literal without copying them: they are
 * written straight from p when the command is sent (in chunks, each write
 * bounded by the command timeout), so p must stay valid until
 * imap_wire_run() returns. For message bodies (APPEND). */
void imap_cmd_add_literal_ref(struct imap_cmd *c, const char *p, size_t len);

/* Sends c, reads the reply, calls fn (may be NULL) per untagged response.
 * max_response bounds the bytes one response may take (0: default 64 MiB;
 * a larger one fails with GW_ERR_TOO_LARGE and breaks the connection).
 * The command timeout bounds each wait for the next response, so a long
 * stream of responses is fine while a silent server is not.
 * Errors: tagged NO mapped through imap_resp_code_error() (else
 * GW_ERR_BACKEND_NO), BAD -> GW_ERR_PROTOCOL, an unparsable response ->
 * GW_ERR_PROTOCOL (connection marked broken), transport errors and BYE
 * as imap_cmd_end(). */
int imap_wire_run(struct imap_backend *ib, struct imap_cmd *c, const char *what,
                  size_t max_response, imap_untagged_fn fn, void *ctx, struct gw_error *err);

/* Convenience: runs a complete raw command text with no untagged handler. */
int imap_wire_simple(struct imap_backend *ib, const char *command, struct gw_error *err);

/* Value helpers. */
bool imap_value_is(const struct imap_value *v, const char *atom);   /* case-insensitive atom */
bool imap_value_u64(const struct imap_value *v, uint64_t *out);     /* decimal atom */
bool imap_value_u32(const struct imap_value *v, uint32_t *out);
/* Malloc'ed NUL-terminated copy of an ATOM or STRING (NULL for NIL, on
 * ENOMEM or other types: callers tell them apart by v->type). */
char *imap_value_strdup(const struct imap_value *v);

/* Parses "1:3,7" (a uid sequence set from the server, no "*") into a
 * sorted array. Returns 0 or -1 (bad syntax, or more than max uids). */
int imap_uidset_parse(const char *s, size_t len, size_t max, uint32_t **out, size_t *n_out);

/* The same without sorting: uids in the order the set lists them (a range
 * ascending), duplicates kept, as COPYUID pairs source and destination
 * sets by position. */
int imap_uidset_parse_ordered(const char *s, size_t len, size_t max, uint32_t **out,
                              size_t *n_out);

/* qsort comparator for uint32_t. */
int imap_cmp_u32(const void *a, const void *b);

/* Appends a compact uid set ("1:3,7") for uids (any order, duplicates ok). */
int imap_uidset_format(struct imap_cmd *c, const uint32_t *uids, size_t n);

/* Modified UTF-7 (RFC 3501 5.1.3) to UTF-8. Returns a malloc'ed string or
 * NULL when the input is not valid modified UTF-7 (or on ENOMEM). */
char *imap_mutf7_decode(const char *in, size_t len);

/* UTF-8 to modified UTF-7. Returns malloc'ed or NULL (invalid UTF-8). */
char *imap_mutf7_encode(const char *in, size_t len);



/* Parser internals shared by imap_wire.c and imap_parse.c. */
struct imap_arena {
    struct imap_arena_chunk *head;
};
void *imap_arena_alloc(struct imap_arena *a, size_t n);
void imap_arena_free(struct imap_arena *a);

/* Parses one response whose raw bytes (lines with CRLF, literals inline)
 * start at p, after the "* " or "<tag> " prefix. Returns 0 or -1 (syntax). */
int imap_parse_response(const char *p, size_t len, struct imap_arena *a,
                        struct imap_untagged *out);
#endif
