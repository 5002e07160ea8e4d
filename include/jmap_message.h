/* jmap_message.h - JMAP-side parsing of message header values (RFC 8621 §4.1).
 *
 * Pure C over byte strings: nothing here knows about IMAP or libetpan. The
 * read path (Email/get) hands in the raw bytes of a header field value, i.e.
 * everything after the field name's colon up to (and optionally including)
 * the terminating CRLF, folded or not, and gets back the JMAP value.
 *
 * Every function is thread-safe (no shared state; iconv descriptors are
 * opened per call) and accepts arbitrary bytes, including NUL, without
 * reading past `len`. Returned strings are always valid UTF-8 without NUL
 * octets, NUL-terminated, and owned by the caller (free()). Returned json_t
 * values are new references (json_decref()). NULL is returned only when
 * memory runs out, unless a function says otherwise.
 */
#ifndef JMAP_MESSAGE_H
#define JMAP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "gw_error.h"

/* ---- UTF-8 ------------------------------------------------------------ */

/* True when bytes[0..len) is well-formed UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). NUL octets count as valid here. */
bool jmap_utf8_valid(const char *bytes, size_t len);

/* Copy of bytes[0..len) in which every maximal invalid UTF-8 subpart (the
 * WHATWG/Unicode "substitution of maximal subparts" rule) becomes U+FFFD and
 * every NUL octet is dropped. *had_problem (if non-NULL) is set to true when
 * something was replaced and left alone otherwise, so callers can OR several
 * calls into one flag. *out_len (if non-NULL) receives the length. */
char *jmap_utf8_sanitize(const char *bytes, size_t len, size_t *out_len, bool *had_problem);

/* ---- Charsets ----------------------------------------------------------- */

/* True when `label` names a charset we can decode: our alias table (WHATWG
 * Encoding Standard labels plus mail-specific ones, compared ignoring case
 * and the characters '-', '_', ' ', '.', ':'), else any name glibc iconv
 * accepts. "x-unknown", "unknown-8bit" and garbage are unknown. Encoded-words
 * in an unknown charset are left undecoded (RFC 8621 §4.1.2.2). */
bool jmap_charset_is_known(const char *label);

/* Decodes bytes[0..len) from the charset `label` into UTF-8.
 * - label NULL (none given) or unknown: the 8-bit fallback is used (UTF-8 if
 *   the bytes are valid UTF-8, else windows-1252). An unknown label always
 *   sets *had_problem (RFC 8621 isEncodingProblem: "or the charset was
 *   unknown"); with NULL it is set only when the bytes are not UTF-8.
 * - invalid or truncated sequences become U+FFFD and set *had_problem, so
 *   Email/get can report isEncodingProblem.
 * - a UTF-16 byte order mark is honoured and removed ("utf-16" without BOM
 *   is big-endian, RFC 2781 §4.3); NUL code points are dropped.
 * *had_problem and *out_len may be NULL; *had_problem is only ever set to
 * true, never reset. */
char *jmap_charset_decode(const char *label, const char *bytes, size_t len,
                          size_t *out_len, bool *had_problem);

/* ---- RFC 2047 encoded-words -------------------------------------------- */

/* Decodes unstructured text (RFC 2047 §5 (1)): encoded-words delimited by
 * linear white space or the ends of the value are decoded, white space
 * between two adjacent encoded-words is dropped, adjacent words in the same
 * charset are converted together (so a multibyte character split across
 * words survives), anything that only looks like an encoded-word, or names
 * an unknown charset, is kept verbatim. Control characters produced by
 * decoding are dropped (RFC 8621 §4.1.2.2 step 4). Octets outside
 * encoded-words are read as UTF-8 if the whole input is valid UTF-8, else as
 * windows-1252. No unfolding, no trimming: see jmap_header_as_text(). */
char *jmap_encoded_words_decode(const char *bytes, size_t len);

/* ---- Header field parsed forms (RFC 8621 §4.1.2) ------------------------ */

enum jmap_header_form {
    JMAP_HEADER_FORM_RAW = 0,
    JMAP_HEADER_FORM_TEXT,
    JMAP_HEADER_FORM_ADDRESSES,
    JMAP_HEADER_FORM_GROUPED_ADDRESSES,
    JMAP_HEADER_FORM_MESSAGE_IDS,
    JMAP_HEADER_FORM_DATE,
    JMAP_HEADER_FORM_URLS,
    JMAP_HEADER_FORM__COUNT
};

/* Raw form: the value unchanged except that invalid UTF-8 becomes U+FFFD and
 * NUL octets are dropped; a trailing CRLF (if the caller left it) is removed
 * because the form excludes the terminating CRLF. */
char *jmap_header_as_raw(const char *value, size_t len);

/* Text form: unfolded (every CR and LF removed, the folding white space
 * kept), leading SP characters removed (only SP, as the RFC says; trailing
 * white space is kept), encoded-words decoded as jmap_encoded_words_decode().
 * Not NFC-normalised (see the note in header_forms.c). */
char *jmap_header_as_text(const char *value, size_t len);

/* Addresses form: JSON array of {"name": String|null, "email": String},
 * groups flattened. Never fails on input: invalid structure is parsed best
 * effort (an empty or hopeless value gives []). New reference. */
json_t *jmap_header_as_addresses(const char *value, size_t len);

/* GroupedAddresses form: JSON array of {"name": String|null, "addresses":
 * [EmailAddress]}; consecutive mailboxes outside any group share one object
 * whose name is null. New reference. */
json_t *jmap_header_as_grouped_addresses(const char *value, size_t len);

/* MessageIds form: JSON array of msg-id strings without "<>" and CFWS, or
 * JSON null when the value does not parse (no msg-id at all, an empty one,
 * '<' inside one, or a missing '>'). Obsolete phrases between ids (RFC 5322
 * obs-in-reply-to / obs-references) and commas are skipped. Lenient on the
 * id itself: "<E9D312B6>" (no '@') is kept, as real mail needs. New
 * reference. */
json_t *jmap_header_as_message_ids(const char *value, size_t len);

/* Date form: RFC 3339 string keeping the original offset
 * ("2003-07-01T10:52:37+02:00"), or JSON null when the value is not a
 * date-time. Obsolete syntax is accepted (2/3-digit years, named zones);
 * "-0000", military and unknown alphabetic zones give "-00:00" (offset
 * unknown, RFC 5322 §4.3 and RFC 3339 §4.3). New reference. */
json_t *jmap_header_as_date(const char *value, size_t len);

/* Same parse without JSON: on success fills *utc (seconds since the epoch,
 * UTC) and *offset_min (minutes east of UTC; 0 for unknown) and returns 0;
 * -1 when the value is not a date-time. For sorting and sentAt. */
int jmap_header_parse_date(const char *value, size_t len, long long *utc, int *offset_min);

/* URLs form: JSON array of the URLs in "<...>" (RFC 2369 §2 rules: white
 * space inside brackets removed, parsing stops at the first sub-item that is
 * not bracketed), or JSON null when there is none. New reference. */
json_t *jmap_header_as_urls(const char *value, size_t len);

/* Dispatches to the functions above; Raw and Text are returned as JSON
 * strings. New reference, NULL only when memory runs out. */
json_t *jmap_header_parse_form(enum jmap_header_form form, const char *value, size_t len);

/* ---- "header:{name}[:as{Form}][:all]" property names (RFC 8621 §4.1.3) -- */

struct jmap_header_prop {
    const char *name;          /* borrowed: points into the property string */
    size_t name_len;           /* field name length (no "header:" prefix) */
    enum jmap_header_form form;
    bool all;
};

/* Parses `prop`. The "header:" prefix is matched exactly (property names are
 * case-sensitive in JMAP) and so are the form names; the field name is any
 * run of printable ASCII except ':' and is compared case-insensitively
 * later. Returns 0 on success, -1 with GW_ERR_INVALID when the property is
 * malformed or asks for a form the RFC forbids on that field (e.g.
 * "header:Subject:asAddresses", "header:From:asDate"): Email/get then
 * answers invalidArguments. */
int jmap_header_prop_parse(const char *prop, struct jmap_header_prop *out, struct gw_error *err);

/* True when `form` may be used with the field `name` (case-insensitive):
 * the RFC 8621 §4.1.2 tables; fields not defined by RFC 5322 or RFC 2369
 * allow every form; Raw is always allowed. */
bool jmap_header_form_allowed(const char *name, size_t name_len, enum jmap_header_form form);

/* Stable JMAP spelling of a form ("asRaw", "asText" ...), never NULL. */
const char *jmap_header_form_name(enum jmap_header_form form);

#endif
