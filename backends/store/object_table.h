/* object_table.h - backends-internal: the common part of the JMAP objects
 * the gateway itself owns (Identity, EmailSubmission), kept in SQLite: one
 * table with account_id, an id column and created/updated/destroyed_modseq
 * (a destroyed row stays as a tombstone), and a per-account state column
 * in accounts. Every visible write bumps the account's modseq and stamps
 * it as the type's state in one transaction, under the store lock; the
 * state string is that modseq in decimal. */
#ifndef BACKENDS_STORE_OBJECT_TABLE_H
#define BACKENDS_STORE_OBJECT_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../mailstore/mail_store_db.h"

#define OBJECT_STATE_MAX 24

/* Names are SQL identifiers of our own schema, never client input. */
struct object_table {
    const char *table;          /* "identities" */
    const char *id_column;      /* "identity_id" */
    const char *state_column;   /* column of accounts: "identity_state" */
    const char *label;          /* for messages: "identity" */
    const char *type_name;      /* JMAP type, for messages: "Identity" */
};

/* The JSON object of one row (new reference), NULL when it cannot be made. */
typedef json_t *(*object_table_row_fn)(sqlite3_stmt *st);

/* sql prepared on the store's handle, or NULL with err set. */
sqlite3_stmt *object_table_prepare(struct mail_store *ms, const char *sql, struct gw_error *err);

/* Takes the store lock and begins an immediate transaction; 0, or -1 with
 * err and the lock released. */
int object_table_begin(struct mail_store *ms, struct gw_error *err);

/* Commits when ret is 0, else rolls back; releases the lock. ret, or -1
 * when the commit failed. */
int object_table_end(struct mail_store *ms, int ret, struct gw_error *err);

/* Bumps the account modseq and makes it the type's state: the new value
 * into modseq. GW_ERR_NOTFOUND for an unknown account. Lock held. */
int object_table_bump(struct mail_store *ms, const struct object_table *t,
                      const char *account_id, int64_t *modseq, struct gw_error *err);

/* The current state string (takes the lock). */
int object_table_state(struct mail_store *ms, const struct object_table *t,
                       const char *account_id, char state[OBJECT_STATE_MAX],
                       struct gw_error *err);

/* Every live row, oldest first, as row(st) of "SELECT columns FROM table"
 * (new reference, array into out), and the state (takes the lock). */
int object_table_list(struct mail_store *ms, const struct object_table *t,
                      const char *account_id, const char *columns, object_table_row_fn row,
                      json_t **out, char state[OBJECT_STATE_MAX], struct gw_error *err);

/* The ids changed since the state since, at most max_changes of them
 * (takes the lock). GW_ERR_INVALID when since is not a state of ours. */
struct object_changes {
    json_t *created, *updated, *destroyed;      /* new references */
    bool has_more;
    char new_state[OBJECT_STATE_MAX];
};
int object_table_changes(struct mail_store *ms, const struct object_table *t,
                         const char *account_id, const char *since, size_t max_changes,
                         struct object_changes *out, struct gw_error *err);
void object_changes_clear(struct object_changes *c);

/* Moves c's arrays and fields into a type's own changes struct (its
 * fields given one by one); c is left empty. */
void object_changes_export(struct object_changes *c, json_t **created, json_t **updated,
                           json_t **destroyed, bool *has_more,
                           char new_state[OBJECT_STATE_MAX]);

/* Drops the three arrays of a type's changes struct and NULLs them. */
void object_changes_release(json_t **created, json_t **updated, json_t **destroyed);

#endif
