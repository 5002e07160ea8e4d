/* keywords.c - IMAP flags <-> JMAP keywords (RFC 8621 §4.1.1). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jmap_text.h"

static const struct {
    const char *imap;
    const char *jmap;
} system_flags[] = {
    { "\\Seen", "$seen" },
    { "\\Flagged", "$flagged" },
    { "\\Answered", "$answered" },
    { "\\Draft", "$draft" },
};

bool jmap_keyword_is_valid(const char *keyword)
{
    size_t len = keyword != NULL ? strlen(keyword) : 0;
    if (len == 0 || len > 255)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)keyword[i];
        if (c < 0x21 || c > 0x7e || strchr("(){]%*\"\\", c) != NULL)
            return false;
    }
    return true;
}

char *jmap_keyword_from_imap(const char *flag, bool *skip)
{
    *skip = false;
    for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
        if (strcasecmp(flag, system_flags[i].imap) == 0)
            return strdup(system_flags[i].jmap);
    }
    /* \Recent, \Deleted and unknown system flags are not JMAP keywords;
     * \Deleted messages are hidden altogether by the caller. */
    if (flag[0] == '\\' || !jmap_keyword_is_valid(flag)) {
        *skip = true;
        return NULL;
    }
    char *lower = strdup(flag);   /* JSON is case sensitive: RFC says lowercase */
    for (char *p = lower; p != NULL && *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    return lower;
}

char *jmap_keyword_to_imap(const char *keyword)
{
    if (!jmap_keyword_is_valid(keyword))
        return NULL;
    for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
        if (strcasecmp(keyword, system_flags[i].jmap) == 0)
            return strdup(system_flags[i].imap);
    }
    return strdup(keyword);
}
