/* store.c - the SQLite store (include/store.h): open, schema migrations,
 * accounts. Every entry point takes the store's mutex; statements are
 * prepared once at open and reset after each use. */
#include "store.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "gw_log.h"
#include "../mailstore/mail_store_db.h"

#define STORE_BUSY_TIMEOUT_MS 5000
/* SQLite's own auto-checkpoint threshold (pages), which the commit hook
 * below replaces. */
#define STORE_WAL_AUTOCHECKPOINT 1000

/* Forward-only migrations: entry i takes the schema from version i to i+1.
 * Never edit a released entry; append a new one. */
static const char *const migrations[] = {
    /* 0 -> 1: the foundation. */
    "CREATE TABLE accounts ("
    "  account_id TEXT PRIMARY KEY,"
    "  username TEXT NOT NULL,"
    "  modseq INTEGER NOT NULL DEFAULT 0 CHECK (modseq >= 0),"
    "  created_at INTEGER NOT NULL DEFAULT (unixepoch()),"
    "  updated_at INTEGER NOT NULL DEFAULT (unixepoch())"
    ") WITHOUT ROWID;"
    "CREATE INDEX accounts_username ON accounts(username);",
    /* 1 -> 2: the mail cache (backends/mailstore). Per-type states are the
     * account modseq of the last change of that type; horizons are the
     * oldest state /changes can still answer from (tombstones pruned below
     * it). */
    "ALTER TABLE accounts ADD COLUMN mailbox_state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts ADD COLUMN email_state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts ADD COLUMN thread_state INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts ADD COLUMN mailbox_horizon INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts ADD COLUMN email_horizon INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE accounts ADD COLUMN thread_horizon INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE mailboxes ("
    "  account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,"
    "  mailbox_id TEXT NOT NULL,"
    "  name_raw TEXT NOT NULL,"
    "  name_utf8 TEXT NOT NULL,"
    "  parent_id TEXT,"
    "  delimiter TEXT,"
    "  role TEXT,"
    "  subscribed INTEGER NOT NULL DEFAULT 0,"
    "  uidvalidity INTEGER NOT NULL DEFAULT 0,"
    "  uidnext INTEGER NOT NULL DEFAULT 0,"
    "  highestmodseq INTEGER NOT NULL DEFAULT 0,"
    "  total INTEGER NOT NULL DEFAULT 0,"
    "  unseen INTEGER NOT NULL DEFAULT 0,"
    "  synced_uidnext INTEGER NOT NULL DEFAULT 0,"
    "  synced_highestmodseq INTEGER NOT NULL DEFAULT 0,"
    "  created_modseq INTEGER NOT NULL,"
    "  updated_modseq INTEGER NOT NULL,"
    "  destroyed_modseq INTEGER,"
    "  PRIMARY KEY (account_id, mailbox_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX mailboxes_name ON mailboxes(account_id, name_raw, uidvalidity);"
    "CREATE INDEX mailboxes_changes ON mailboxes(account_id, updated_modseq);"
    "CREATE TABLE emails ("
    "  account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,"
    "  email_id TEXT NOT NULL,"
    "  guid TEXT,"
    "  thread_id TEXT NOT NULL,"
    "  size INTEGER NOT NULL DEFAULT 0,"
    "  received_at INTEGER NOT NULL DEFAULT 0,"
    "  sent_at TEXT,"
    "  subject TEXT,"
    "  message_id TEXT,"
    "  has_attachment INTEGER NOT NULL DEFAULT 0,"
    "  preview TEXT,"
    /* from/to/cc/bcc/reply_to/sender, in_reply_to, references: JSON arrays */
    "  addresses TEXT,"
    "  in_reply_to TEXT,"
    "  refs TEXT,"
    "  bodystructure TEXT,"
    "  keywords TEXT NOT NULL DEFAULT '{}',"
    "  created_modseq INTEGER NOT NULL,"
    "  updated_modseq INTEGER NOT NULL,"
    "  destroyed_modseq INTEGER,"
    "  PRIMARY KEY (account_id, email_id)"
    ") WITHOUT ROWID;"
    "CREATE UNIQUE INDEX emails_guid ON emails(account_id, guid) WHERE guid IS NOT NULL;"
    "CREATE INDEX emails_thread ON emails(account_id, thread_id);"
    "CREATE INDEX emails_changes ON emails(account_id, updated_modseq);"
    "CREATE TABLE email_locations ("
    "  account_id TEXT NOT NULL,"
    "  email_id TEXT NOT NULL,"
    "  mailbox_id TEXT NOT NULL,"
    "  uidvalidity INTEGER NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  flags TEXT NOT NULL DEFAULT '',"
    "  received_at INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (account_id, mailbox_id, uid),"
    "  FOREIGN KEY (account_id, email_id) REFERENCES emails(account_id, email_id)"
    "    ON DELETE CASCADE"
    ") WITHOUT ROWID;"
    "CREATE INDEX email_locations_list ON email_locations(account_id, mailbox_id, received_at DESC);"
    "CREATE INDEX email_locations_email ON email_locations(account_id, email_id);"
    "CREATE TABLE threads ("
    "  account_id TEXT NOT NULL,"
    "  thread_id TEXT NOT NULL,"
    "  created_modseq INTEGER NOT NULL,"
    "  updated_modseq INTEGER NOT NULL,"
    "  destroyed_modseq INTEGER,"
    "  PRIMARY KEY (account_id, thread_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX threads_changes ON threads(account_id, updated_modseq);"
    "CREATE TABLE thread_keys ("
    "  account_id TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  thread_id TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, message_id)"
    ") WITHOUT ROWID;",
    /* 2 -> 3: what the email sync keeps for the read path without IMAP:
     * JMAP counts per mailbox, the raw list-property header block and
     * decoded sort keys per Email. Keywords and flags are space-separated
     * with a space at both ends, so one keyword is matched with instr(). */
    "ALTER TABLE mailboxes ADD COLUMN jmap_total INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mailboxes ADD COLUMN jmap_unread INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mailboxes ADD COLUMN total_threads INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mailboxes ADD COLUMN unread_threads INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE mailboxes ADD COLUMN synced_uidvalidity INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE emails ADD COLUMN headers BLOB;"
    "ALTER TABLE emails ADD COLUMN sent_utc INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE emails ADD COLUMN from_sort TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE emails ADD COLUMN to_sort TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE emails ADD COLUMN cc_sort TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX emails_live ON emails(account_id, destroyed_modseq);"
    "CREATE INDEX threads_live ON threads(account_id, destroyed_modseq);",
    /* 3 -> 4: server identities (RFC 8474 MAILBOXID, EMAILID, THREADID)
     * and myRights (RFC 4314 MYRIGHTS) with when they were last asked.
     * Rights default to all: what a server without ACL grants. */
    "ALTER TABLE mailboxes ADD COLUMN mailboxid TEXT;"
    "ALTER TABLE mailboxes ADD COLUMN rights INTEGER NOT NULL DEFAULT 511;"
    "ALTER TABLE mailboxes ADD COLUMN rights_checked INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE emails ADD COLUMN emailid TEXT;"
    "ALTER TABLE threads ADD COLUMN server_thread_id TEXT;"
    "CREATE UNIQUE INDEX emails_emailid ON emails(account_id, emailid) WHERE emailid IS NOT NULL;"
    "CREATE UNIQUE INDEX threads_server ON threads(account_id, server_thread_id)"
    "  WHERE server_thread_id IS NOT NULL;",
    /* 4 -> 5: Identities (RFC 8621 §6), the gateway's own data. replyTo
     * and bcc are JSON arrays of EmailAddress, NULL for null. Rows are
     * tombstoned (destroyed_modseq) so Identity/changes can answer. */
    "ALTER TABLE accounts ADD COLUMN identity_state INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE identities ("
    "  account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,"
    "  identity_id TEXT NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  email TEXT NOT NULL,"
    "  reply_to TEXT,"
    "  bcc TEXT,"
    "  text_signature TEXT NOT NULL DEFAULT '',"
    "  html_signature TEXT NOT NULL DEFAULT '',"
    "  may_delete INTEGER NOT NULL DEFAULT 1,"
    "  created_modseq INTEGER NOT NULL,"
    "  updated_modseq INTEGER NOT NULL,"
    "  destroyed_modseq INTEGER,"
    "  PRIMARY KEY (account_id, identity_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX identities_changes ON identities(account_id, updated_modseq);",
    /* 5 -> 6: EmailSubmissions (RFC 8621 §7) and the send queue. object is
     * the JSON object without its id; message the bytes to send (Bcc already
 * stripped) while it is not final; queue_state is 'queued' (waits for
     * next_try), 'sending' (claimed: never sent again) or NULL (done). */
    "ALTER TABLE accounts ADD COLUMN submission_state INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE email_submissions ("
    "  account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,"
    "  submission_id TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  queue_state TEXT,"
    "  message BLOB,"
    "  next_try INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created_modseq INTEGER NOT NULL,"
    "  updated_modseq INTEGER NOT NULL,"
    "  destroyed_modseq INTEGER,"
    "  PRIMARY KEY (account_id, submission_id)"
    ") WITHOUT ROWID;"
    "CREATE INDEX email_submissions_changes ON email_submissions(account_id, updated_modseq);"
    "CREATE INDEX email_submissions_queue ON email_submissions(queue_state, next_try);",
    /* 6 -> 7: Emails already looked at as possible delivery status
     * notifications (each is fetched and applied once). */
    "CREATE TABLE submission_dsn_seen ("
    "  account_id TEXT NOT NULL REFERENCES accounts(account_id) ON DELETE CASCADE,"
    "  email_id TEXT NOT NULL,"
    "  PRIMARY KEY (account_id, email_id)"
    ") WITHOUT ROWID;",
};

#define STORE_SCHEMA_LATEST ((int)(sizeof(migrations) / sizeof(migrations[0])))

struct store {
    sqlite3 *db;
    pthread_mutex_t lock;
    /* Commits of the connection: begun counts those started (before their
     * data is visible), done catches up with it once the last one is
     * visible or rolled back. They differ while a commit is in flight. */
    atomic_uint_fast64_t begun, done;
    sqlite3_stmt *account_upsert;
    sqlite3_stmt *account_modseq;
    int version;
};

static int db_error(struct store *s, struct gw_error *err, const char *what)
{
    int code = sqlite3_errcode(s->db);
    enum gw_error_code gc = code == SQLITE_NOMEM ? GW_ERR_NOMEM : GW_ERR_INTERNAL;
    return gw_error_set(err, gc, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec(struct store *s, const char *sql, struct gw_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        gw_error_set(err, GW_ERR_INTERNAL, "store: %s", msg != NULL ? msg : "exec failed");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int read_user_version(struct store *s, int *out, struct gw_error *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "reading schema version");
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        ret = 0;
    } else {
        db_error(s, err, "reading schema version");
    }
    sqlite3_finalize(st);
    return ret;
}

/* Runs one migration and the version bump in one transaction. BEGIN
 * IMMEDIATE plus a re-read of the version makes two gateways opening the
 * same file at once apply it only once. */
static int migrate_one(struct store *s, int from, struct gw_error *err)
{
    char bump[64];
    int now = -1;

    if (exec(s, "BEGIN IMMEDIATE", err) < 0)
        return -1;
    if (read_user_version(s, &now, err) < 0)
        goto fail;
    if (now != from) {
        s->version = now;
        return exec(s, "COMMIT", err);
    }
    if (snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", from + 1) >= (int)sizeof(bump))
        abort();
    if (exec(s, migrations[from], err) < 0 || exec(s, bump, err) < 0)
        goto fail;
    if (exec(s, "COMMIT", err) < 0)
        goto fail;
    s->version = from + 1;
    gw_log_info("store: schema migrated to version %d", s->version);
    return 0;
fail:
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int migrate(struct store *s, struct gw_error *err)
{
    if (read_user_version(s, &s->version, err) < 0)
        return -1;
    /* Bounded: each step raises the version or fails. */
    while (s->version < STORE_SCHEMA_LATEST) {
        if (s->version < 0)
            return gw_error_set(err, GW_ERR_INVALID, "store: bad schema version %d", s->version);
        if (migrate_one(s, s->version, err) < 0)
            return -1;
    }
    if (s->version > STORE_SCHEMA_LATEST)
        return gw_error_set(err, GW_ERR_INVALID,
                            "store: database schema %d is newer than this gateway knows (%d)",
                            s->version, STORE_SCHEMA_LATEST);
    return 0;
}

/* Before each commit of the connection (0: let it commit). */
static int commit_begins(void *arg)
{
    struct store *s = arg;
    atomic_fetch_add(&s->begun, 1);
    return 0;
}

/* After a rollback, also of a commit that failed: nothing in flight. */
static void commit_undone(void *arg)
{
    struct store *s = arg;
    atomic_store(&s->done, atomic_load(&s->begun));
}

/* SQLite calls this once a commit is visible to every other connection
 * (its write lock released). */
static int commit_visible(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct store *s = arg;
    atomic_store(&s->done, atomic_load(&s->begun));
    /* Setting a WAL hook turns SQLite's auto-checkpoint off: do its work. */
    if (pages >= STORE_WAL_AUTOCHECKPOINT)
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static int configure(struct store *s, struct gw_error *err)
{
    sqlite3_stmt *st = NULL;
    bool wal = false;

    sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "enabling WAL");
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *mode = sqlite3_column_text(st, 0);
        wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
    }
    sqlite3_finalize(st);
    if (!wal)
        return gw_error_set(err, GW_ERR_INTERNAL, "store: cannot enable WAL journal mode");
    sqlite3_commit_hook(s->db, commit_begins, s);
    sqlite3_rollback_hook(s->db, commit_undone, s);
    sqlite3_wal_hook(s->db, commit_visible, s);
    /* The temporary tables are one sync's scratch (its new locations,
     * Emails and Threads): in memory they cost no temporary file, which
     * the first sync of an account otherwise creates and writes (~4 ms
     * of a 6k cold page). */
    return exec(s, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;",
                err);
}

static int prepare(struct store *s, struct gw_error *err)
{
    static const char upsert[] =
        "INSERT INTO accounts(account_id, username) VALUES (?1, ?2) "
        "ON CONFLICT(account_id) DO UPDATE SET username = excluded.username, "
        "updated_at = unixepoch() WHERE username <> excluded.username";
    static const char modseq[] = "SELECT modseq FROM accounts WHERE account_id = ?1";

    if (sqlite3_prepare_v3(s->db, upsert, -1, SQLITE_PREPARE_PERSISTENT, &s->account_upsert,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(s->db, modseq, -1, SQLITE_PREPARE_PERSISTENT, &s->account_modseq,
                           NULL) != SQLITE_OK)
        return db_error(s, err, "preparing statements");
    return 0;
}

int store_open(const char *path, struct store **out, struct gw_error *err)
{
    struct store *s = NULL;

    *out = NULL;
    /* Create the file ourselves so it is 0600 from the first byte; SQLite
     * gives -wal and -shm the main file's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return gw_error_set(err, GW_ERR_INTERNAL, "store: cannot open %s", path);
    close(fd);

    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->begun, 0);
    atomic_init(&s->done, 0);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        if (s->db == NULL)
            gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        else
            db_error(s, err, "opening database");
        goto fail;
    }
    if (configure(s, err) < 0 || migrate(s, err) < 0 || prepare(s, err) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    store_close(&s);
    return -1;
}

void store_close(struct store **sp)
{
    struct store *s = *sp;
    if (s == NULL)
        return;
    *sp = NULL;
    sqlite3_finalize(s->account_upsert);
    sqlite3_finalize(s->account_modseq);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

int store_schema_version(struct store *s)
{
    pthread_mutex_lock(&s->lock);
    int v = s->version;
    pthread_mutex_unlock(&s->lock);
    return v;
}

int store_schema_latest(void)
{
    return STORE_SCHEMA_LATEST;
}

int store_account_ensure(struct store *s, const char *account_id, const char *username,
                         struct gw_error *err)
{
    int ret = -1;

    if (account_id == NULL || username == NULL || account_id[0] == '\0')
        return gw_error_set(err, GW_ERR_INVALID, "store: account id and user name required");
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s->account_upsert;
    if (sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, username, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_DONE)
        db_error(s, err, "registering account");
    else
        ret = 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

int store_account_modseq(struct store *s, const char *account_id, uint64_t *out,
                         struct gw_error *err)
{
    int ret = -1;

    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = s->account_modseq;
    if (sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC) != SQLITE_OK) {
        db_error(s, err, "reading account state");
        goto out;
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(st, 0);
        ret = 0;
    } else if (r == SQLITE_DONE) {
        gw_error_set(err, GW_ERR_NOTFOUND, "store: unknown account %s", account_id);
    } else {
        db_error(s, err, "reading account state");
    }
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->lock);
    return ret;
}

/* Backends-internal (backends/mailstore/mail_store_db.h): the mail cache
 * runs its own prepared statements on this connection under the same lock. */
sqlite3 *store_db_handle(struct store *s)
{
    return s->db;
}

pthread_mutex_t *store_db_lock(struct store *s)
{
    return &s->lock;
}

uint64_t store_db_commits(struct store *s, uint64_t *begun)
{
    /* done first: a commit that begins after it was read shows in begun. */
    uint64_t done = (uint64_t)atomic_load(&s->done);
    *begun = (uint64_t)atomic_load(&s->begun);
    return done;
}
