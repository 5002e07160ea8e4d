/* jmap_collation.h - the string collations a /query Comparator may name
 * (RFC 8620 §5.5, RFC 4790), the three the session advertises in
 * collationAlgorithms: i;ascii-numeric, i;ascii-casemap, i;unicode-casemap.
 *
 * i;unicode-casemap (RFC 5051) is approximated by simple Unicode case
 * folding per code point (the C.UTF-8 locale's towlower): "Ä" equals "ä",
 * "Σ" equals "σ"; the NFKD step of RFC 5051 is not done, so a precomposed
 * "é" and "e" + U+0301 differ. Bytes that are not valid UTF-8 compare by
 * their value. Pure functions, thread-safe.
 */
#ifndef JMAP_COLLATION_H
#define JMAP_COLLATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum jmap_collation {
    JMAP_COLLATION_UNICODE_CASEMAP = 0, /* the default */
    JMAP_COLLATION_ASCII_CASEMAP,
    JMAP_COLLATION_ASCII_NUMERIC,
};

/* The collation named name (NULL: the default). Returns NULL, or an
 * unsupportedSort method error (new reference) for a name not listed above. */
json_t *jmap_collation_parse(const char *name, enum jmap_collation *out);

/* <0, 0 or >0 as a sorts before, with or after b under c. i;ascii-numeric
 * compares the leading decimal digits as an unbounded number; a string
 * without one sorts after every number (RFC 4790 §9.1). */
int jmap_collation_compare(enum jmap_collation c, const char *a, const char *b);
/* The same for strings of la and lb bytes (need not be NUL-terminated). */
int jmap_collation_compare_n(enum jmap_collation c, const char *a, size_t la, const char *b,
                             size_t lb);

/* Whether haystack contains needle under i;unicode-casemap ("" is in
 * everything). */
bool jmap_collation_contains(const char *haystack, const char *needle);

#endif
