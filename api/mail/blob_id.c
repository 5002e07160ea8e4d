/* blob_id.c - blob ids naming an Email's message or one IMAP section of it
 * (include/jmap_blob.h). */
#include "jmap_blob.h"

#include <string.h>

/* Digits separated by single dots, no leading or trailing dot. */
static bool section_is_valid(const char *s, char dot)
{
    bool digit_seen = false;
    for (; *s != '\0'; s++) {
        if (*s >= '0' && *s <= '9') {
            digit_seen = true;
        } else if (*s == dot && digit_seen) {
            digit_seen = false;
        } else {
            return false;
        }
    }
    return digit_seen;
}

static bool email_id_is_valid(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

bool jmap_blob_id_make(const char *email_id, const char *part_id, char out[JMAP_BLOB_ID_MAX])
{
    size_t elen = strlen(email_id);
    size_t plen = part_id != NULL ? strlen(part_id) : 0;
    if (!email_id_is_valid(email_id, elen))
        return false;
    if (plen > 0 && !section_is_valid(part_id, '.'))
        return false;
    if (1 + elen + (plen > 0 ? 1 + plen : 0) + 1 > JMAP_BLOB_ID_MAX)
        return false;
    char *o = out;
    *o++ = 'B';
    memcpy(o, email_id, elen);
    o += elen;
    if (plen > 0) {
        *o++ = '_';
        for (size_t i = 0; i < plen; i++)
            *o++ = part_id[i] == '.' ? '-' : part_id[i];
    }
    *o = '\0';
    return true;
}

bool jmap_blob_id_parse(const char *blob_id, char email_id[JMAP_BLOB_ID_MAX],
                        char part_id[JMAP_BLOB_ID_MAX])
{
    size_t len = strlen(blob_id);
    if (len < 2 || len >= JMAP_BLOB_ID_MAX || blob_id[0] != 'B')
        return false;
    const char *us = strchr(blob_id, '_');
    size_t elen = us != NULL ? (size_t)(us - blob_id) - 1 : len - 1;
    if (!email_id_is_valid(blob_id + 1, elen))
        return false;
    memcpy(email_id, blob_id + 1, elen);
    email_id[elen] = '\0';
    part_id[0] = '\0';
    if (us == NULL)
        return true;
    if (!section_is_valid(us + 1, '-'))
        return false;
    size_t plen = len - elen - 2;
    for (size_t i = 0; i < plen; i++)
        part_id[i] = us[1 + i] == '-' ? '.' : us[1 + i];
    part_id[plen] = '\0';
    return true;
}
