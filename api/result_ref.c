/* result_ref.c - see include/jmap_result_ref.h. */
#include "jmap_result_ref.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_method.h"

/* Decodes one reference token (up to the next '/') with ~0 and ~1.
 * Returns the token length consumed, or -1 if an escape is invalid. */
static int next_token(const char *p, char *out, size_t outsize)
{
    size_t o = 0;
    int i = 0;
    for (; p[i] != '\0' && p[i] != '/'; i++) {
        char c = p[i];
        if (c == '~') {
            if (p[i + 1] == '0')
                c = '~';
            else if (p[i + 1] == '1')
                c = '/';
            else
                return -1;
            i++;
        }
        if (o + 1 >= outsize)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return i;
}

static bool parse_index(const char *token, size_t *out)
{
    size_t len = strlen(token);
    if (len == 0 || len > 9 || (len > 1 && token[0] == '0'))
        return false;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] < '0' || token[i] > '9')
            return false;
        v = v * 10 + (size_t)(token[i] - '0');
    }
    *out = v;
    return true;
}

static json_t *eval_from(json_t *value, const char *p, unsigned depth)
{
    char token[1024];
    if (*p == '\0')
        return json_incref(value);
    if (*p != '/' || depth > 64)
        return NULL;
    p++;
    int used = next_token(p, token, sizeof(token));
    if (used < 0)
        return NULL;
    const char *rest = p + used;

    if (json_is_array(value) && strcmp(token, "*") == 0) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) {
            json_t *r = eval_from(item, rest, depth + 1);
            int rc = r == NULL ? -1
                     : json_is_array(r) ? json_array_extend(out, r)
                                        : json_array_append(out, r);
            json_decref(r);
            if (rc != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    json_t *child = NULL;
    if (json_is_array(value)) {
        size_t idx;
        if (parse_index(token, &idx))
            child = json_array_get(value, idx);
    } else if (json_is_object(value)) {
        child = json_object_get(value, token);
    }
    return child != NULL ? eval_from(child, rest, depth + 1) : NULL;
}

json_t *jmap_pointer_eval(json_t *doc, const char *pointer)
{
    if (doc == NULL || pointer == NULL)
        return NULL;
    return eval_from(doc, pointer, 0);
}

/* Deeper than any request or response holds (bodyStructure stops at
 * JMAP_MIME_MAX_DEPTH, requests at Jansson's JSON_PARSER_MAX_DEPTH, 2048). */
#define COPY_MAX_DEPTH 4096

static json_t *copy_containers(json_t *value, unsigned depth)
{
    json_t *out = NULL;
    if (depth > COPY_MAX_DEPTH)
        return NULL;
    if (json_is_object(value)) {
        const char *key;
        size_t key_len;
        json_t *v;
        out = json_object();
        json_object_keylen_foreach(value, key, key_len, v) {
            if (out == NULL ||
                json_object_setn_new_nocheck(out, key, key_len,
                                             copy_containers(v, depth + 1)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
    } else if (json_is_array(value)) {
        size_t i;
        json_t *v;
        out = json_array();
        json_array_foreach(value, i, v) {
            if (out == NULL || json_array_append_new(out, copy_containers(v, depth + 1)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
    } else {
        out = json_incref(value);
    }
    return out;
}

json_t *jmap_json_copy_containers(json_t *value)
{
    return value != NULL ? copy_containers(value, 0) : NULL;
}

static json_t *resolve_one(json_t *ref, json_t *responses)
{
    const char *result_of = json_string_value(json_object_get(ref, "resultOf"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *path = json_string_value(json_object_get(ref, "path"));
    if (!json_is_object(ref) || result_of == NULL || name == NULL || path == NULL)
        return NULL;
    size_t i;
    json_t *resp;
    json_array_foreach(responses, i, resp) {
        if (strcmp(json_string_value(json_array_get(resp, 2)), result_of) != 0)
            continue;
        /* The first response with that call id decides, as RFC 8620 says. */
        if (strcmp(json_string_value(json_array_get(resp, 0)), name) != 0)
            return NULL;
        json_t *found = jmap_pointer_eval(json_array_get(resp, 1), path);
        json_t *copy = found != NULL ? copy_containers(found, 0) : NULL;
        json_decref(found);
        return copy;
    }
    return NULL;
}

json_t *jmap_result_refs_resolve(json_t *args, json_t *responses)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(args, tmp, key, value) {
        if (key[0] != '#')
            continue;
        if (json_object_get(args, key + 1) != NULL)
            return jmap_error_invalid_arguments(key + 1,
                                                "Both an argument and its result reference "
                                                "were given.");
        json_t *resolved = resolve_one(value, responses);
        if (resolved == NULL) {
            char desc[300];
            snprintf(desc, sizeof(desc), "The result reference of argument \"%.200s\" "
                     "does not resolve.", key);
            return jmap_error_new("invalidResultReference", desc);
        }
        char *plain = strdup(key + 1);
        if (plain == NULL) {
            json_decref(resolved);
            return jmap_error_new("serverFail", NULL);
        }
        json_object_del(args, key);   /* key is invalid from here on */
        json_object_set_new(args, plain, resolved);
        free(plain);
    }
    return NULL;
}
