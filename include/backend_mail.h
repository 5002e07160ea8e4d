/* backend_mail.h - the read primitives of a mail backend (IMAP now), in
 * neutral types: no libetpan type crosses this header.
 *
 * Every function takes a connection from backend.h (one thread at a time),
 * returns 0 or -1 with err, and is bounded by the endpoint's command
 * timeout (which bounds each wait for the server, so a long answer that
 * keeps flowing is fine and a silent server is not). On a transport
 * failure, BYE or an answer we cannot parse, the connection is marked
 * broken (backend_is_broken()). A malformed server answer is
 * GW_ERR_PROTOCOL; a tagged NO is mapped through the response-code table
 * (e.g. [NONEXISTENT] -> GW_ERR_NOTFOUND), else GW_ERR_BACKEND_NO.
 *
 * Strings from the server are copied NUL-terminated; "raw" means bytes as
 * sent (RFC 2047 encoded words and the like are not decoded here).
 * Every type returned as new memory has its own free function, which takes
 * T ** and sets it NULL.
 */
#ifndef BACKEND_MAIL_H
#define BACKEND_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backend.h"

/* ---- Mailboxes ------------------------------------------------------- */

enum backend_mailbox_flag {
    BACKEND_MBOX_NOSELECT = 1u << 0,        /* \Noselect */
    BACKEND_MBOX_NONEXISTENT = 1u << 1,     /* \NonExistent */
    BACKEND_MBOX_HASCHILDREN = 1u << 2,
    BACKEND_MBOX_HASNOCHILDREN = 1u << 3,
    BACKEND_MBOX_SUBSCRIBED = 1u << 4,
    BACKEND_MBOX_NOINFERIORS = 1u << 5,
};

enum backend_special_use {
    BACKEND_USE_NONE = 0,
    BACKEND_USE_INBOX,      /* implicit for INBOX */
    BACKEND_USE_DRAFTS,
    BACKEND_USE_SENT,
    BACKEND_USE_TRASH,
    BACKEND_USE_JUNK,
    BACKEND_USE_ARCHIVE,
    BACKEND_USE_ALL,
    BACKEND_USE_FLAGGED,
};

struct backend_mailbox_status {
    bool valid;                 /* false for \Noselect / \NonExistent */
    uint32_t messages, unseen, uidvalidity, uidnext;
    uint64_t highestmodseq;     /* 0 without CONDSTORE */
};

struct backend_mailbox {
    char *name_raw;     /* as on the wire: modified UTF-7 (UTF8=ACCEPT is never
                         * enabled); pass it back to backend_select() */
    char *name_utf8;    /* decoded; a copy of name_raw when that is not valid
                         * modified UTF-7 (a server sending raw UTF-8) */
    char delimiter;     /* 0 when NIL */
    unsigned flags;     /* enum backend_mailbox_flag */
    enum backend_special_use special_use;
    struct backend_mailbox_status status;
    char *mailboxid;    /* RFC 8474 MAILBOXID when the server has OBJECTID, else NULL */
};

struct backend_mailbox_list {
    struct backend_mailbox *items;
    size_t n;
};

/* All mailboxes with subscription, special use and status, in one round
 * trip (LIST ... RETURN (SUBSCRIBED SPECIAL-USE STATUS (...))) when the
 * server has LIST-EXTENDED and LIST-STATUS, else LIST + LSUB + STATUS per
 * selectable mailbox. On success *out is new; free with
 * backend_mailbox_list_free(). */
int backend_list_mailboxes(struct mail_backend *b, struct backend_mailbox_list **out,
                           struct gw_error *err);
void backend_mailbox_list_free(struct backend_mailbox_list **l);
/* A deep copy of l (free with backend_mailbox_list_free()), NULL when
 * out of memory. */
struct backend_mailbox_list *backend_mailbox_list_dup(const struct backend_mailbox_list *l);

/* RFC 4314 MYRIGHTS of one mailbox (name_raw as listed): *rights is the
 * server's rights letters ("lrswipkxte..."), new (free()). GW_ERR_INVALID
 * when the backend or server has no ACL (callers then grant every right);
 * GW_ERR_NOTFOUND for a mailbox that is gone. */
int backend_mailbox_myrights(struct mail_backend *b, const char *name_raw, char **rights,
                             struct gw_error *err);

/* ---- Selecting ------------------------------------------------------- */

/* A flag list: system flags with their backslash ("\\Seen"), keywords as is. */
struct backend_flags {
    char **v;
    size_t n;
};

/* Frees the strings of f and empties it (f itself is not freed). */
void backend_flags_clear(struct backend_flags *f);

struct backend_msg_change {
    uint32_t uid;
    uint64_t modseq;
    struct backend_flags flags;
};

struct backend_select_req {
    const char *name_raw;       /* borrowed; as in backend_mailbox.name_raw */
    bool read_only;             /* EXAMINE instead of SELECT */
    /* QRESYNC data (used when the server accepted ENABLE QRESYNC and
     * known_uidvalidity and known_modseq are non-zero): */
    uint32_t known_uidvalidity;
    uint64_t known_modseq;
    const uint32_t *known_uids; /* borrowed, optional: the uids the caller knows */
    size_t n_known_uids;
};

struct backend_selected {
    uint32_t uidvalidity, uidnext, exists;
    uint64_t highestmodseq;     /* 0: no CONDSTORE or [NOMODSEQ] */
    bool read_only;
    bool reused;                /* already selected: no command was sent; the
                                 * numbers are those of that earlier selection
                                 * and the lists below are empty */
    bool qresync;               /* QRESYNC data was sent and answered */
    struct backend_flags permanent_flags;
    bool permanent_keywords;    /* "\\*": new keywords may be created */
    uint32_t *vanished;         /* ascending; VANISHED (EARLIER) */
    size_t n_vanished;
    struct backend_msg_change *changed; /* FETCHes QRESYNC sent */
    size_t n_changed;
};

/* Opens the mailbox. Enables QRESYNC once per connection when offered (at
 * the first select, so connections that never select pay nothing). When
 * the answer's uidvalidity differs from known_uidvalidity, the server sent
 * no VANISHED or changes: every message is new to the caller.
 * Selecting the mailbox already open (same read_only, no QRESYNC data
 * asked) sends nothing and says reused. Errors: GW_ERR_NOTFOUND for a
 * mailbox that does not exist (or cannot be selected). On success *out is
 * new; free with backend_selected_free(). On failure no mailbox is open. */
int backend_select(struct mail_backend *b, const struct backend_select_req *req,
                   struct backend_selected **out, struct gw_error *err);
void backend_selected_free(struct backend_selected **s);

/* ---- Message summaries ---------------------------------------------- */

enum backend_fetch_item {
    BACKEND_FETCH_FLAGS = 1u << 0,
    BACKEND_FETCH_INTERNALDATE = 1u << 1,
    BACKEND_FETCH_SIZE = 1u << 2,
    BACKEND_FETCH_ENVELOPE = 1u << 3,
    BACKEND_FETCH_BODYSTRUCTURE = 1u << 4,
    BACKEND_FETCH_MODSEQ = 1u << 5,         /* ignored without CONDSTORE */
    BACKEND_FETCH_GUID = 1u << 6,           /* X-GUID; ignored when not offered */
    BACKEND_FETCH_HEADERS = 1u << 7,        /* the header_fields block */
    BACKEND_FETCH_PREVIEW = 1u << 8,        /* RFC 8970 PREVIEW; ignored when not offered */
    BACKEND_FETCH_OBJECTID = 1u << 9,       /* RFC 8474 EMAILID THREADID; ignored
                                             * without OBJECTID */
};

struct backend_address {
    char *name;         /* raw display name bytes, or NULL */
    char *mailbox;      /* local part; group start when host is NULL */
    char *host;         /* NULL: group marker (RFC 3501 7.4.2) */
};

struct backend_address_list {
    struct backend_address *v;
    size_t n;
};

struct backend_envelope {
    char *date;         /* Date: header text, raw, or NULL */
    char *subject;      /* raw, or NULL */
    struct backend_address_list from, sender, reply_to, to, cc, bcc;
    char *in_reply_to;  /* raw, or NULL */
    char *message_id;   /* raw, or NULL */
};

struct backend_param {
    char *name;
    char *value;        /* raw (RFC 2231 is not decoded here) */
};

struct backend_mime_part {
    char *part_id;      /* IMAP section for backend_fetch_part(): "1", "1.2".
                         * A multipart carries its container's number: ""
                         * at top level (the whole message), "2" inside a
                         * message/rfc822 part 2. A single-part message's
                         * body is "1". */
    char *type, *subtype;   /* lower case as the server sent them */
    struct backend_param *params;
    size_t n_params;
    char *id, *description, *encoding, *md5, *location;   /* may be NULL */
    uint64_t size;          /* octets of the encoded body */
    uint32_t lines;         /* text/ and message/rfc822 parts only */
    char *disposition;      /* "attachment", "inline", or NULL */
    struct backend_param *disposition_params;
    size_t n_disposition_params;
    char **language;
    size_t n_language;
    struct backend_envelope *envelope;  /* message/rfc822 only */
    struct backend_mime_part *children; /* multipart: its parts; message/rfc822:
                                         * one child, the embedded body */
    size_t n_children;
};

struct backend_message_summary {
    unsigned items;             /* enum backend_fetch_item actually present */
    uint32_t uid;
    uint64_t modseq;
    struct backend_flags flags;
    time_t internaldate;        /* UTC */
    int tz_offset_min;          /* the internaldate's zone, e.g. +120 */
    uint64_t size;              /* RFC822.SIZE */
    char *guid;                 /* X-GUID or NULL */
    char *emailid, *threadid;   /* RFC 8474 EMAILID / THREADID, or NULL (not
                                 * offered, or THREADID NIL) */
    char *preview;              /* server-made preview text (UTF-8) or NULL */
    struct backend_envelope *envelope;
    char *headers;              /* header block bytes (CRLF lines), NUL-terminated */
    size_t headers_len;
    struct backend_mime_part *body;
};

/* Default header fields fetched with BACKEND_FETCH_HEADERS. */
#define BACKEND_DEFAULT_HEADER_FIELDS \
    "References", "In-Reply-To", "Message-ID", "List-Id", "List-Post", "Sender", "Reply-To"

struct backend_fetch_req {
    const uint32_t *uids;       /* borrowed; NULL with n_uids 0: every message */
    size_t n_uids;
    unsigned items;             /* enum backend_fetch_item */
    uint64_t changedsince;      /* non-zero: CHANGEDSINCE (needs CONDSTORE) */
    const char *const *header_fields;   /* NULL: BACKEND_DEFAULT_HEADER_FIELDS */
    size_t n_header_fields;
};

/* Called once per message as the answer streams in. *m is new and owned by
 * the callback while it runs: keep it by setting *m = NULL (then free it
 * later with backend_message_summary_free()), else it is freed on return.
 * Returning -1 (with err) stops delivery; the rest of the answer is read
 * and dropped and backend_fetch_summaries() returns that error. */
typedef int (*backend_summary_fn)(void *ctx, struct backend_message_summary **m,
                                  struct gw_error *err);

/* One UID FETCH for the whole uid set of the selected mailbox. Uids that no
 * longer exist are silently absent. */
int backend_fetch_summaries(struct mail_backend *b, const struct backend_fetch_req *req,
                            backend_summary_fn fn, void *ctx, struct gw_error *err);
void backend_message_summary_free(struct backend_message_summary **m);

/* ---- Search and sort ------------------------------------------------- */

enum backend_search_op {
    BACKEND_SEARCH_ALL,
    BACKEND_SEARCH_AND,         /* children */
    BACKEND_SEARCH_OR,          /* children (2 or more) */
    BACKEND_SEARCH_NOT,         /* children[0] */
    BACKEND_SEARCH_TEXT,        /* text: anywhere in header or body */
    BACKEND_SEARCH_BODY,
    BACKEND_SEARCH_SUBJECT,
    BACKEND_SEARCH_FROM,
    BACKEND_SEARCH_TO,
    BACKEND_SEARCH_CC,
    BACKEND_SEARCH_BCC,
    BACKEND_SEARCH_HEADER,      /* header_name, text ("" : header present) */
    BACKEND_SEARCH_KEYWORD,     /* text: a flag ("\\Seen" or a keyword) is set */
    BACKEND_SEARCH_UNKEYWORD,   /* text: it is not set */
    BACKEND_SEARCH_BEFORE,      /* date: internal date before that day */
    BACKEND_SEARCH_SINCE,       /* date: on or after that day */
    BACKEND_SEARCH_LARGER,      /* number */
    BACKEND_SEARCH_SMALLER,     /* number */
    BACKEND_SEARCH_UID,         /* uids */
};

/* A search condition tree; everything borrowed. User text is sent as an
 * IMAP string (literal when needed) with CHARSET UTF-8 when non-ASCII. Dates
 * are days (IMAP's granularity), taken in UTC. */
struct backend_search {
    enum backend_search_op op;
    const char *text;
    const char *header_name;
    time_t date;
    uint64_t number;
    const uint32_t *uids;
    size_t n_uids;
    const struct backend_search *children;
    size_t n_children;
};

/* UID SEARCH (RETURN (ALL) with ESEARCH) in the selected mailbox. On
 * success *uids is a new ascending array (free()) of *n uids (NULL when 0).
 * GW_ERR_INVALID for a malformed tree (bad keyword, empty OR). */
int backend_uid_search(struct mail_backend *b, const struct backend_search *criteria,
                       uint32_t **uids, size_t *n, struct gw_error *err);

/* One mailbox's answer to backend_multi_search(), all borrowed for the
 * call: name_raw as the server wrote it (the form LIST gives), the
 * mailbox's UIDVALIDITY (0 when the server left it out) and the matching
 * uids, ascending (n may be 0). Returning -1 (with err) stops delivery. */
typedef int (*backend_multi_search_fn)(void *ctx, const char *name_raw, uint32_t uidvalidity,
                                       const uint32_t *uids, size_t n, struct gw_error *err);

/* One ESEARCH IN (...) of RFC 7377 (needs MULTISEARCH: else GW_ERR_INVALID)
 * searching criteria in every mailbox of names_raw (raw names as listed;
 * NULL with n_names 0: IN (personal)) without selecting any; the selected
 * mailbox, if any, stays selected. fn is called once per mailbox the
 * server reports (one with no match may be left out). */
int backend_multi_search(struct mail_backend *b, const char *const *names_raw, size_t n_names,
                         const struct backend_search *criteria, backend_multi_search_fn fn,
                         void *ctx, struct gw_error *err);

enum backend_sort_key_type {
    BACKEND_SORT_ARRIVAL, BACKEND_SORT_DATE, BACKEND_SORT_SIZE, BACKEND_SORT_SUBJECT,
    BACKEND_SORT_FROM, BACKEND_SORT_TO, BACKEND_SORT_CC,
};

struct backend_sort_key {
    enum backend_sort_key_type key;
    bool reverse;
};

/* UID SORT (needs SORT: else GW_ERR_INVALID). *uids is new (free()), in
 * the server's sort order. criteria NULL: all messages. */
int backend_uid_sort(struct mail_backend *b, const struct backend_sort_key *keys, size_t n_keys,
                     const struct backend_search *criteria, uint32_t **uids, size_t *n,
                     struct gw_error *err);

/* ---- Body parts ------------------------------------------------------ */

struct backend_part_data {
    char *data;         /* len bytes, followed by a NUL */
    size_t len;
    bool decoded;       /* content transfer encoding removed (BINARY) */
};

/* Fetches part ("1.2"; NULL or "": the whole message) of uid in the
 * selected mailbox from byte offset, at most max_len bytes: a longer part
 * fails with GW_ERR_TOO_LARGE without ever being held whole. With decode
 * and BINARY offered, gets BINARY.PEEK (decoded); otherwise (or when the
 * server cannot decode it, [UNKNOWN-CTE]) BODY.PEEK, decoded false, and the
 * caller decodes. GW_ERR_NOTFOUND when uid does not exist. *out is new:
 * free with backend_part_data_free(). */
int backend_fetch_part(struct mail_backend *b, uint32_t uid, const char *part, uint64_t offset,
                       size_t max_len, bool decode, struct backend_part_data **out,
                       struct gw_error *err);
void backend_part_data_free(struct backend_part_data **p);

#endif
