/* set_patch.c - PatchObjects (RFC 8620 §5.3) and the property-table check
 * of /set create and update (include/jmap_set.h). */
#include "jmap_set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds a path: deeper pointers name nothing any data type has. */
#define PATCH_MAX_SEGMENTS 8

static json_t *invalid_patch(const char *path, const char *what)
{
    char desc[200];
    snprintf(desc, sizeof(desc), "Patch path \"%.80s\" %s.", path, what);
    return jmap_error_new("invalidPatch", desc);
}

/* Splits path at "/" and undoes the JSON Pointer escapes in place.
 * Returns the number of segments, or -1 for a bad escape, an empty
 * segment or too many segments. */
static int split_path(char *path, char *seg[PATCH_MAX_SEGMENTS])
{
    int n = 0;
    char *p = path;
    for (;;) {
        if (n == PATCH_MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        char *w = p;
        while (*p != '\0' && *p != '/') {
            if (*p == '~') {
                if (p[1] != '0' && p[1] != '1')
                    return -1;
                *w++ = p[1] == '0' ? '~' : '/';
                p += 2;
                continue;
            }
            *w++ = *p++;
        }
        bool more = *p == '/';
        *w = '\0';
        if (w == seg[n - 1])
            return -1;   /* "" or "a//b": names no property */
        if (!more)
            return n;
        p++;
    }
}

/* "a" is a prefix of "a/b": both in one patch is ambiguous. */
static bool is_prefix_path(const char *a, const char *b)
{
    size_t la = strlen(a);
    return strncmp(a, b, la) == 0 && b[la] == '/';
}

static json_t *check_conflicts(json_t *patch)
{
    const char *a, *b;
    json_t *va, *vb;
    json_object_foreach(patch, a, va) {
        json_object_foreach(patch, b, vb) {
            if (is_prefix_path(a, b))
                return invalid_patch(b, "overlaps another path of the same patch");
        }
    }
    return NULL;
}

static json_t *apply_one(json_t *obj, const char *path, json_t *value)
{
    char *copy = strdup(path);
    char *seg[PATCH_MAX_SEGMENTS];
    json_t *error = NULL;
    if (copy == NULL)
        return jmap_error_new("serverFail", NULL);
    int n = split_path(copy, seg);
    if (n < 0) {
        error = invalid_patch(path, "is not a valid JSON Pointer");
        goto out;
    }
    json_t *parent = obj;
    for (int i = 0; i < n - 1; i++) {
        parent = json_object_get(parent, seg[i]);
        if (!json_is_object(parent)) {
            error = invalid_patch(path, "goes through something that is not an object");
            goto out;
        }
    }
    if (json_is_null(value) && n > 1)
        json_object_del(parent, seg[n - 1]);
    else if (json_object_set(parent, seg[n - 1], value) != 0)
        error = jmap_error_new("serverFail", NULL);
out:
    free(copy);
    return error;
}

json_t *jmap_set_patch_apply(json_t *current, json_t *patch, json_t **set_error)
{
    *set_error = NULL;
    if (!json_is_object(current) || !json_is_object(patch)) {
        *set_error = jmap_error_new("invalidPatch", "A PatchObject must be a JSON object.");
        return NULL;
    }
    if ((*set_error = check_conflicts(patch)) != NULL)
        return NULL;
    json_t *obj = json_deep_copy(current);
    if (obj == NULL) {
        *set_error = jmap_error_new("serverFail", NULL);
        return NULL;
    }
    const char *path;
    json_t *value;
    json_object_foreach(patch, path, value) {
        if ((*set_error = apply_one(obj, path, value)) != NULL) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

static const struct jmap_set_prop *find_prop(const struct jmap_set_prop *table, const char *name)
{
    for (; table->name != NULL; table++) {
        if (strcmp(table->name, name) == 0)
            return table;
    }
    return NULL;
}

json_t *jmap_set_check_properties(const struct jmap_set_prop *table, json_t *obj, json_t *current)
{
    json_t *bad = json_array();
    const char *name;
    json_t *value;
    if (bad == NULL)
        return jmap_error_new("serverFail", NULL);
    json_object_foreach(obj, name, value) {
        const struct jmap_set_prop *p = find_prop(table, name);
        bool ok;
        if (p == NULL)
            ok = false;
        else if (current == NULL)
            ok = (p->flags & JMAP_PROP_SERVER_SET) == 0;
        else if ((p->flags & (JMAP_PROP_SERVER_SET | JMAP_PROP_IMMUTABLE)) != 0)
            ok = json_equal(value, json_object_get(current, name));
        else
            ok = true;
        if (!ok)
            json_array_append_new(bad, json_string(name));
    }
    if (json_array_size(bad) == 0) {
        json_decref(bad);
        return NULL;
    }
    json_t *e = jmap_error_new("invalidProperties",
                               current == NULL ? "Unknown or server-set properties given."
                                               : "Unknown, server-set or immutable properties "
                                                 "changed.");
    if (e != NULL)
        json_object_set_new(e, "properties", bad);
    else
        json_decref(bad);
    return e;
}
