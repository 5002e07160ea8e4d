/* methods.c - the one list of method tables, and lookup by name. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jmap_methods_all.h"

#define MAX_METHODS 128

static const struct jmap_method *sorted[MAX_METHODS];
static size_t sorted_count;
static pthread_once_t sorted_once = PTHREAD_ONCE_INIT;

static int compare_methods(const void *a, const void *b)
{
    const struct jmap_method *const *x = a;
    const struct jmap_method *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static void sort_methods(void)
{
    const struct {
        const struct jmap_method *table;
        const size_t *count;
    } tables[] = {
        { jmap_core_methods, &jmap_core_method_count },
        { jmap_email_methods, &jmap_email_method_count },
        { jmap_email_set_methods, &jmap_email_set_method_count },
        { jmap_email_write_methods, &jmap_email_write_method_count },
        { jmap_mailbox_methods, &jmap_mailbox_method_count },
        { jmap_mailbox_set_methods, &jmap_mailbox_set_method_count },
        { jmap_thread_methods, &jmap_thread_method_count },
        { jmap_email_query_methods, &jmap_email_query_method_count },
        { jmap_search_snippet_methods, &jmap_search_snippet_method_count },
        { jmap_identity_methods, &jmap_identity_method_count },
        { jmap_email_submission_methods, &jmap_email_submission_method_count },
    };
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (size_t i = 0; i < *tables[t].count; i++) {
            if (sorted_count == MAX_METHODS)
                abort();   /* raise MAX_METHODS: a build-time fact, not input */
            sorted[sorted_count++] = &tables[t].table[i];
        }
    }
    qsort(sorted, sorted_count, sizeof(sorted[0]), compare_methods);
}

const struct jmap_method *jmap_method_find(const char *name)
{
    pthread_once(&sorted_once, sort_methods);
    size_t lo = 0, hi = sorted_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, sorted[mid]->name);
        if (c == 0)
            return sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
