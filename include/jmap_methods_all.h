/* jmap_methods_all.h - the method tables of every api/ module. A new data
 * type adds its table here and in api/methods.c. */
#ifndef JMAP_METHODS_ALL_H
#define JMAP_METHODS_ALL_H

#include "jmap_method.h"

extern const struct jmap_method jmap_core_methods[];
extern const size_t jmap_core_method_count;

extern const struct jmap_method jmap_mailbox_methods[];
extern const size_t jmap_mailbox_method_count;

extern const struct jmap_method jmap_mailbox_set_methods[];
extern const size_t jmap_mailbox_set_method_count;

extern const struct jmap_method jmap_thread_methods[];
extern const size_t jmap_thread_method_count;

extern const struct jmap_method jmap_email_query_methods[];
extern const size_t jmap_email_query_method_count;
extern const struct jmap_method jmap_search_snippet_methods[];
extern const size_t jmap_search_snippet_method_count;

extern const struct jmap_method jmap_email_methods[];
extern const size_t jmap_email_method_count;
extern const struct jmap_method jmap_email_set_methods[];
extern const size_t jmap_email_set_method_count;
extern const struct jmap_method jmap_email_write_methods[];
extern const size_t jmap_email_write_method_count;

extern const struct jmap_method jmap_identity_methods[];
extern const size_t jmap_identity_method_count;
extern const struct jmap_method jmap_email_submission_methods[];
extern const size_t jmap_email_submission_method_count;

#endif
