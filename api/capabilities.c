/* capabilities.c - what this server advertises in the Session (RFC 8620
 * §2, RFC 8621 §1.3). One list, so `using` checks and the session agree. */
#include <string.h>

#include "jmap_api.h"
#include "jmap_submission.h"

static const char *const known_capabilities[] = {
    JMAP_CAPABILITY_CORE,
    JMAP_CAPABILITY_MAIL,
    JMAP_CAPABILITY_SUBMISSION,
};

bool jmap_capability_is_known(const char *uri)
{
    for (size_t i = 0; i < sizeof(known_capabilities) / sizeof(known_capabilities[0]); i++) {
        if (strcmp(uri, known_capabilities[i]) == 0)
            return true;
    }
    return false;
}

json_t *jmap_capabilities_server(const struct jmap_core_limits *l)
{
    return json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:[s,s,s]}, s:{}, s:{}}",
                     JMAP_CAPABILITY_CORE,
                     "maxSizeUpload", (json_int_t)l->max_size_upload,
                     "maxConcurrentUpload", (json_int_t)l->max_concurrent_upload,
                     "maxSizeRequest", (json_int_t)l->max_size_request,
                     "maxConcurrentRequests", (json_int_t)l->max_concurrent_requests,
                     "maxCallsInRequest", (json_int_t)l->max_calls_in_request,
                     "maxObjectsInGet", (json_int_t)l->max_objects_in_get,
                     "maxObjectsInSet", (json_int_t)l->max_objects_in_set,
                     "collationAlgorithms", "i;ascii-numeric", "i;ascii-casemap",
                     "i;unicode-casemap",
                     JMAP_CAPABILITY_MAIL, JMAP_CAPABILITY_SUBMISSION);
}

json_t *jmap_capabilities_account(void)
{
    return json_pack("{s:{}, s:{s:n, s:n, s:i, s:i, s:[s,s,s,s,s,s,s,s,s], s:b}, s:o}",
                     JMAP_CAPABILITY_CORE,
                     JMAP_CAPABILITY_MAIL,
                     "maxMailboxesPerEmail", "maxMailboxDepth",
                     "maxSizeMailboxName", 490,
                     "maxSizeAttachmentsPerEmail", 50000000,
                     "emailQuerySortOptions", "receivedAt", "sentAt", "size", "from", "to",
                     "subject", "hasKeyword", "allInThreadHaveKeyword", "someInThreadHaveKeyword",
                     "mayCreateTopLevelMailbox", 1,
                     JMAP_CAPABILITY_SUBMISSION, jmap_submission_account_capability());
}

unsigned jmap_capabilities_account_generation(void)
{
    return jmap_submission_capability_generation();
}
