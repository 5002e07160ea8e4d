/* store.h - the gateway's embedded SQLite store (design.md "Per-account
 * state cache"): ids, states, change logs, later identities and submissions.
 * Everything in it is derived from the mail servers and can be rebuilt.
 * Passwords are never stored.
 *
 * One database file per gateway (state-dir/gateway.db), WAL mode, with a
 * schema version in PRAGMA user_version and forward-only migrations run at
 * open. Thread-safe: calls serialise on an internal mutex.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

#include "gw_error.h"

struct store;

/* Opens (creating if needed) the database at path, enables WAL and foreign
 * keys, and migrates it to the newest schema. A database newer than this
 * binary knows is refused (GW_ERR_INVALID). *out is owned by the caller. */
int store_open(const char *path, struct store **out, struct gw_error *err);

/* Closes and frees; sets *s NULL. */
void store_close(struct store **s);

/* The schema version the database is at (== store_schema_latest() after open). */
int store_schema_version(struct store *s);
int store_schema_latest(void);

/* Registers a mail account (idempotent) and keeps its user name current.
 * account_id is the gateway's stable id for it. */
int store_account_ensure(struct store *s, const char *account_id, const char *username,
                         struct gw_error *err);

/* The account's current state counter (modseq); 0 for a new account. */
int store_account_modseq(struct store *s, const char *account_id, uint64_t *out,
                         struct gw_error *err);

#endif
