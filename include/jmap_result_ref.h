/* jmap_result_ref.h - result references (RFC 8620 §3.7) and the JSON
 * Pointer (RFC 6901) evaluation they use, with JMAP's "*" rule. */
#ifndef JMAP_RESULT_REF_H
#define JMAP_RESULT_REF_H

#include <jansson.h>

/* Evaluates pointer against doc. "*" applied to an array maps the rest of
 * the pointer over its items and flattens array results one level.
 * Returns a new reference, or NULL if the pointer is malformed or does not
 * resolve. */
json_t *jmap_pointer_eval(json_t *doc, const char *pointer);

/* value with its objects and arrays copied and its scalars shared (new
 * reference), or NULL when out of memory or nested deeper than 4096.
 * Arguments a method may change in place are such copies: responses share
 * containers with caches (api/mail/email_object_cache.h), a string, number
 * or literal is never modified in place (nothing here calls the
 * json_*_set functions of scalars). */
json_t *jmap_json_copy_containers(json_t *value);

/* Resolves every "#name" argument of args in place against responses (the
 * methodResponses so far: [[name, args, callId], ...]); the values taken
 * are jmap_json_copy_containers copies. Returns NULL on
 * success, or a method error (new reference): invalidArguments when both
 * "name" and "#name" are present, invalidResultReference otherwise. */
json_t *jmap_result_refs_resolve(json_t *args, json_t *responses);

#endif
