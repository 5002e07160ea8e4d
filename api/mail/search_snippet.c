/* search_snippet.c - SearchSnippet/get (RFC 8621 §5): the subject and
 * preview of each Email with the filter's text terms marked, null where
 * none occurs. The filter is checked as Email/query checks it. */
#include <stdlib.h>
#include <string.h>

#include "email_query.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"
#include "jmap_text.h"

/* Appends the tokens of one search string (RFC 8621 §4.4.1: white space
 * separates tokens that must all be present, '...' or "..." is a phrase
 * with \ escaping ' " and \) to terms as new strings. */
static void split_terms(const char *t, char **terms, size_t *n)
{
    size_t len = strlen(t);
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return;
    size_t i = 0;
    while (i < len && *n < SEARCH_SNIPPET_MAX_TERMS) {
        while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
            i++;
        size_t w = 0;
        if (i < len && (t[i] == '"' || t[i] == '\'')) {
            char q = t[i++];
            for (; i < len && t[i] != q; i++) {
                if (t[i] == '\\' && i + 1 < len)
                    i++;
                buf[w++] = t[i];
            }
            i += i < len;   /* the closing quote */
        } else {
            for (; i < len && t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n'; i++)
                buf[w++] = t[i];
        }
        if (w == 0)
            continue;
        buf[w] = '\0';
        if ((terms[*n] = strdup(buf)) != NULL)
            (*n)++;
    }
    free(buf);
}

size_t search_snippet_terms(json_t *f, char **terms, size_t n, int depth)
{
    if (f == NULL || depth > 40)
        return n;
    if (json_object_get(f, "operator") != NULL) {
        const char *op = json_string_value(json_object_get(f, "operator"));
        if (op == NULL || strcmp(op, "NOT") == 0)
            return n;   /* what must not match is not highlighted */
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(f, "conditions"), i, c)
            n = search_snippet_terms(c, terms, n, depth + 1);
        return n;
    }
    static const char *const keys[] = { "text", "subject", "body" };
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const char *t = json_string_value(json_object_get(f, keys[k]));
        if (t != NULL)
            split_terms(t, terms, &n);
    }
    return n;
}

static json_t *highlight(const char *text, char *const *terms, size_t n)
{
    bool matched = false;
    if (text == NULL || n == 0)
        return json_null();
    char *h = jmap_snippet_highlight(text, strlen(text), (const char *const *)terms, n, 255,
                                     &matched);
    json_t *v = matched && h != NULL ? json_string(h) : json_null();
    free(h);
    return v;
}

static json_t *search_snippet_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_mail m;
    struct mail_store_email_list *emails = NULL;
    struct gw_error err = { 0 };
    const char **ids = NULL;
    char *terms[SEARCH_SNIPPET_MAX_TERMS];
    size_t n_terms = 0;
    json_t *res = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v)
        if (strcmp(key, "accountId") != 0 && strcmp(key, "filter") != 0 &&
            strcmp(key, "emailIds") != 0) {
            *error = jmap_error_invalid_arguments(key, "unknown argument");
            return NULL;
        }
    json_t *filter = json_object_get(args, "filter");
    json_t *email_ids = json_object_get(args, "emailIds");
    if (json_is_null(filter))
        filter = NULL;
    if (filter != NULL && !json_is_object(filter)) {
        *error = jmap_error_invalid_arguments("filter", "must be an object or null");
        return NULL;
    }
    if (!json_is_array(email_ids)) {
        *error = jmap_error_invalid_arguments("emailIds", "must be an array of ids");
        return NULL;
    }
    if (json_array_size(email_ids) > inv->ctx->limits->max_objects_in_get) {
        *error = jmap_error_new("requestTooLarge", "More ids than maxObjectsInGet.");
        return NULL;
    }
    size_t n = json_array_size(email_ids);
    if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
        *error = jmap_error_new("serverFail", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = json_string_value(json_array_get(email_ids, i));
        if (ids[i] == NULL || !jmap_id_is_valid(ids[i])) {
            *error = jmap_error_invalid_arguments("emailIds", "holds something that is not an id");
            goto out;
        }
    }
    /* The filter must be one Email/query would take. */
    if ((*error = jmap_filter_check(filter, email_query_check_condition, NULL)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL)
        goto out;
    if (mail_store_get_emails(m.ms, m.account_id, ids, n, 0, &emails, &err) < 0) {
        *error = jmap_error_from_gw(&err);
        goto out;
    }
    n_terms = search_snippet_terms(filter, terms, 0, 0);
    json_t *list = json_array(), *not_found = json_array();
    size_t found = 0;
    for (size_t i = 0; i < n && list != NULL && not_found != NULL; i++) {
        if (found < emails->n && strcmp(emails->v[found].id, ids[i]) == 0) {
            const struct mail_store_email *e = &emails->v[found++];
            json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "emailId", e->id, "subject",
                                                  highlight(e->subject, terms, n_terms), "preview",
                                                  highlight(e->preview, terms, n_terms)));
        } else {
            json_array_append_new(not_found, json_string(ids[i]));
        }
    }
    if (json_array_size(not_found) == 0) {     /* Id[]|null: null when empty */
        json_decref(not_found);
        not_found = json_null();
    }
    res = json_pack("{s:s, s:o, s:o}", "accountId", m.account_id, "list", list, "notFound",
                    not_found);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    for (size_t i = 0; i < n_terms; i++)
        free(terms[i]);
    mail_store_email_list_free(&emails);
    free(ids);
    return res;
}

const struct jmap_method jmap_search_snippet_methods[] = {
    { "SearchSnippet/get", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, search_snippet_get },
};
const size_t jmap_search_snippet_method_count =
    sizeof(jmap_search_snippet_methods) / sizeof(jmap_search_snippet_methods[0]);
