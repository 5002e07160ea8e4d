/* jmap_text.h - body text for Email/get and SearchSnippet/get: HTML to
 * plain text, the preview line, snippet highlighting, and the IMAP flag <->
 * JMAP keyword mapping (RFC 8621 §4.1.1, §4.1.4, §5).
 *
 * Pure functions over UTF-8 text (sanitise with jmap_utf8_sanitize()
 * first); results are new NUL-terminated UTF-8 strings owned by the caller,
 * NULL only when memory runs out (or as a function says).
 */
#ifndef JMAP_TEXT_H
#define JMAP_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Plain text of an HTML document: tags removed, <script>, <style>, <head>
 * and comments dropped, block elements and <br> as line breaks, character
 * references (named ones in common use, &#N;, &#xH;) decoded; an unknown or
 * malformed reference is kept as written. */
char *jmap_html_to_text(const char *html, size_t len);

/* The Email "preview": white space collapsed to single spaces, quoted lines
 * (starting with '>') and the signature after "-- " skipped, trimmed, cut
 * to at most max_chars characters on a character boundary (RFC 8621
 * suggests 256). */
char *jmap_preview_from_text(const char *text, size_t len, size_t max_chars);

/* SearchSnippet text: text with &, < and > escaped and every occurrence of
 * any term (ASCII case-insensitive) wrapped in <mark></mark>. When the text
 * is longer than max_octets, a window starting a little before the first
 * match is taken, cut so the result (markup included) is at most
 * max_octets and never splits a character, an entity or a tag.
 * *matched tells whether any term occurred; when none did, NULL is
 * returned with *matched false (the RFC's null). */
char *jmap_snippet_highlight(const char *text, size_t len, const char *const *terms,
                             size_t nterms, size_t max_octets, bool *matched);

/* IMAP flag -> JMAP keyword: \Seen -> "$seen", \Flagged -> "$flagged",
 * \Answered -> "$answered", \Draft -> "$draft", other keywords lower-cased.
 * Returns NULL (and *skip true) for \Recent, \Deleted, other system flags
 * and strings that are not valid keywords; NULL with *skip false means
 * out of memory. */
char *jmap_keyword_from_imap(const char *flag, bool *skip);

/* JMAP keyword -> IMAP flag ("$seen" -> "\Seen"; others as given).
 * Returns NULL if keyword is not a valid keyword (RFC 8621 §4.1.1:
 * 1-255 of %x21-7E except ( ) { ] % * " \). */
char *jmap_keyword_to_imap(const char *keyword);

bool jmap_keyword_is_valid(const char *keyword);

#endif
