/* mime_private.h - shared by api/message/mime*.c only. */
#ifndef MIME_PRIVATE_H
#define MIME_PRIVATE_H

#include <stddef.h>

#include "jmap_mime.h"

/* Reads the content fields of a part whose fields are parsed: type,
 * subtype, parameters, charset, disposition, name, cid, language,
 * location, encoding, and the kind (multipart only for multipart types with
 * a boundary, message for an unencoded message/rfc822). *boundary
 * (borrowed from part->params, NULL when none) is the multipart boundary.
 * digest_child: the implicit type is message/rfc822 (RFC 2046 §5.1.5).
 * Returns 0, -1 when memory runs out. */
int mime_part_analyze(struct jmap_mime_part *part, bool digest_child, const char **boundary,
                      size_t *boundary_len);

/* Replaces part->type (and subtype) with a copy of type ("text/plain"). */
int mime_part_set_type(struct jmap_mime_part *part, const char *type);

#endif
