/* thread.c - Thread/get and Thread/changes (RFC 8621 §3) from the mail
 * cache. */
#include <stdlib.h>
#include <string.h>

#include "jmap_args.h"
#include "jmap_mail.h"
#include "jmap_methods_all.h"
#include "jmap_query.h"

static const char *const thread_properties[] = { "id", "emailIds", NULL };

static json_t *thread_json(const struct mail_store_thread *t, json_t *properties)
{
    bool want_emails = properties == NULL;
    size_t i;
    json_t *p;
    json_array_foreach(properties, i, p)
        if (strcmp(json_string_value(p), "emailIds") == 0)
            want_emails = true;
    json_t *o = json_pack("{s:s}", "id", t->id);
    if (o == NULL || !want_emails)
        return o;
    json_t *ids = json_array();
    for (size_t k = 0; ids != NULL && k < t->n_email_ids; k++)
        json_array_append_new(ids, json_string(t->email_ids[k]));
    if (ids == NULL || json_object_set_new(o, "emailIds", ids) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *thread_get(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    struct jmap_get_args ga;
    struct jmap_mail m;
    struct mail_store_thread_list *l = NULL;
    struct gw_error err = { 0 };
    char state[MAIL_STORE_STATE_MAX];
    const char **ids = NULL;
    json_t *res = NULL;
    if ((*error = jmap_args_get(inv, args, thread_properties, NULL, &ga)) != NULL ||
        (*error = jmap_mail_begin(inv, &m)) != NULL ||
        (*error = jmap_mail_state(&m, MAIL_STORE_THREAD, state)) != NULL)
        return NULL;
    /* Threads are only reachable from Emails: "all" is an empty list. */
    size_t n = ga.ids != NULL ? json_array_size(ga.ids) : 0;
    if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
        *error = jmap_error_new("serverFail", "out of memory");
        return NULL;
    }
    /* A repeated id is answered once (RFC 8620 §5.1). */
    size_t asked = n;
    n = 0;
    for (size_t i = 0; i < asked; i++) {
        const char *id = json_string_value(json_array_get(ga.ids, i));
        size_t k = 0;
        while (k < n && strcmp(ids[k], id) != 0)
            k++;
        if (k == n)
            ids[n++] = id;
    }
    if (mail_store_get_threads(m.ms, m.account_id, ids, n, &l, &err) != 0) {
        *error = jmap_error_from_gw(&err);
        goto out;
    }
    json_t *list = json_array(), *not_found = json_array();
    size_t found = 0;
    for (size_t i = 0; i < n && list != NULL && not_found != NULL; i++) {
        if (found < l->n && strcmp(l->v[found].id, ids[i]) == 0)
            json_array_append_new(list, thread_json(&l->v[found++], ga.properties));
        else
            json_array_append_new(not_found, json_string(ids[i]));
    }
    res = json_pack("{s:s, s:s, s:o, s:o}", "accountId", m.account_id, "state", state, "list",
                    list, "notFound", not_found);
    if (res == NULL)
        *error = jmap_error_new("serverFail", "out of memory");
out:
    free(ids);
    mail_store_thread_list_free(&l);
    return res;
}

static json_t *thread_changes(struct jmap_invocation *inv, json_t *args, json_t **error)
{
    return jmap_mail_changes(inv, args, MAIL_STORE_THREAD, false, error);
}

const struct jmap_method jmap_thread_methods[] = {
    { "Thread/changes", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, thread_changes },
    { "Thread/get", JMAP_CAPABILITY_MAIL, JMAP_METHOD_NEEDS_ACCOUNT, thread_get },
};
const size_t jmap_thread_method_count = sizeof(jmap_thread_methods) / sizeof(jmap_thread_methods[0]);
