/* mail_store_email_row.c - one cached Email row into struct
 * mail_store_email (mail_store_read.h). A page of Email/get decodes fifty
 * rows per request: each row costs one allocation, not one per string,
 * keyword and mailbox id. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail_store_read.h"

/* Column indexes of MAIL_STORE_EMAIL_COLUMNS. */
enum {
    COL_ID, COL_THREAD, COL_SIZE, COL_RECEIVED, COL_SENT, COL_SUBJECT, COL_FROM, COL_TO, COL_CC,
    COL_ATTACH, COL_PREVIEW, COL_KEYWORDS, COL_MAILBOXES, COL_HEADERS,
};

/* One text or blob column: its bytes (borrowed from the statement until
 * the next step) or null. */
struct col {
    const char *p;
    size_t len;
    bool null;
};

static struct col col_get(sqlite3_stmt *st, int i, bool blob)
{
    struct col c = { "", 0, sqlite3_column_type(st, i) == SQLITE_NULL };
    if (c.null)
        return c;
    /* The pointer first, then its length (sqlite3_column_bytes docs). */
    const void *p = blob ? sqlite3_column_blob(st, i) : (const void *)sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    if (p != NULL && n > 0) {
        c.p = p;
        c.len = (size_t)n;
    }
    return c;
}

static size_t count_words(struct col c)
{
    size_t n = 0;
    for (size_t i = 0; i < c.len; i++)
        if (c.p[i] != ' ' && (i == 0 || c.p[i - 1] == ' '))
            n++;
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copies the words of c ("a b c", any spaces) into text (c.len + 1 bytes)
 * as NUL-terminated strings, pointed at from v in sorted order. */
static void split_into(struct col c, char *text, char **v, size_t n)
{
    size_t k = 0;
    memcpy(text, c.p, c.len);
    text[c.len] = '\0';
    for (size_t i = 0; i < c.len; i++) {
        if (text[i] == ' ') {
            text[i] = '\0';
        } else if (i == 0 || text[i - 1] == '\0') {
            if (k == n)     /* counted by count_words() over the same bytes */
                abort();
            v[k++] = text + i;
        }
    }
    /* The store keeps both lists sorted: qsort only if one is not. */
    for (size_t i = 1; i < k; i++) {
        if (strcmp(v[i - 1], v[i]) > 0) {
            qsort(v, k, sizeof(*v), cmp_str);
            break;
        }
    }
}

static char *put(char **cursor, struct col c)
{
    char *s = *cursor;
    memcpy(s, c.p, c.len);
    s[c.len] = '\0';
    *cursor += c.len + 1;
    return s;
}

void mail_store_copy_id(char out[MAIL_STORE_ID_MAX], sqlite3_stmt *st, int i)
{
    struct col c = col_get(st, i, false);
    size_t len = c.len < MAIL_STORE_ID_MAX ? c.len : MAIL_STORE_ID_MAX - 1;
    memcpy(out, c.p, len);
    out[len] = '\0';
}

int mail_store_email_decode(sqlite3_stmt *st, struct mail_store_email *e, size_t *mem_size)
{
    memset(e, 0, sizeof(*e));
    mail_store_copy_id(e->id, st, COL_ID);
    mail_store_copy_id(e->thread_id, st, COL_THREAD);
    e->size = (uint64_t)sqlite3_column_int64(st, COL_SIZE);
    e->received_at = sqlite3_column_int64(st, COL_RECEIVED);
    e->sent_at = sqlite3_column_int64(st, COL_SENT);
    e->has_attachment = sqlite3_column_int(st, COL_ATTACH) != 0;

    struct col subject = col_get(st, COL_SUBJECT, false), from = col_get(st, COL_FROM, false),
               to = col_get(st, COL_TO, false), cc = col_get(st, COL_CC, false),
               preview = col_get(st, COL_PREVIEW, false),
               keywords = col_get(st, COL_KEYWORDS, false),
               boxes = col_get(st, COL_MAILBOXES, false),
               headers = col_get(st, COL_HEADERS, true);
    size_t n_kw = count_words(keywords), n_box = count_words(boxes);
    /* Pointer arrays first (malloc's alignment), then the bytes, each
     * string with its NUL. Sizes come from SQLite's int lengths: no
     * overflow on a 64-bit size_t. */
    size_t size = (n_kw + n_box) * sizeof(char *) + subject.len + from.len + to.len + cc.len +
                  preview.len + keywords.len + boxes.len + headers.len + 8;
    char **ptrs = malloc(size);
    if (ptrs == NULL)
        return -1;
    e->mem = ptrs;
    if (mem_size != NULL)
        *mem_size = size;
    char *cursor = (char *)(ptrs + n_kw + n_box);
    e->subject = put(&cursor, subject);
    e->from_sort = put(&cursor, from);
    e->to_sort = put(&cursor, to);
    e->cc_sort = put(&cursor, cc);
    if (!preview.null)
        e->preview = put(&cursor, preview);
    if (!headers.null) {
        e->headers_len = headers.len;
        e->headers = put(&cursor, headers);
    }
    if (n_kw > 0) {
        e->keywords = ptrs;
        e->n_keywords = n_kw;
        split_into(keywords, cursor, e->keywords, n_kw);
    }
    cursor += keywords.len + 1;
    if (n_box > 0) {
        e->mailbox_ids = ptrs + n_kw;
        e->n_mailbox_ids = n_box;
        split_into(boxes, cursor, e->mailbox_ids, n_box);
    }
    return 0;
}

void mail_store_email_clear(struct mail_store_email *e)
{
    free(e->mem);
    memset(e, 0, sizeof(*e));
}

void mail_store_email_list_free(struct mail_store_email_list **lp)
{
    struct mail_store_email_list *l = *lp;
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        mail_store_email_clear(&l->v[i]);
    free(l->v);
    free(l);
    *lp = NULL;
}

static int list_append(struct mail_store_email_list *l, size_t *cap, sqlite3_stmt *st)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct mail_store_email *nv = realloc(l->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        l->v = nv;
        *cap = ncap;
    }
    if (mail_store_email_decode(st, &l->v[l->n], NULL) < 0)
        return -1;
    l->n++;
    return 0;
}

int mail_store_email_collect(struct mail_store *ms, sqlite3_stmt *st,
                             struct mail_store_email_list *l, size_t *cap, struct gw_error *err)
{
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (list_append(l, cap, st) < 0) {
            sqlite3_reset(st);
            return gw_error_set(err, GW_ERR_NOMEM, "mail store: out of memory");
        }
    sqlite3_reset(st);
    return step == SQLITE_DONE ? 0 : mail_store_db_fail(ms, err, "read emails");
}
