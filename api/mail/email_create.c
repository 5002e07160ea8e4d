/* email_create.c - placeholder for email_create.h until the message
 * builder lands (issue 5, being written on the branch "create"): every
 * create is refused with an honest SetError, never a fake success. */
#include "email_create.h"

json_t *email_create_one(struct jmap_mail *m, json_t *obj, json_t **set_error)
{
    (void)m;
    (void)obj;
    *set_error = json_pack("{s:s, s:s}", "type", "forbidden", "description",
                           "creating Emails is not available in this build");
    return NULL;
}
