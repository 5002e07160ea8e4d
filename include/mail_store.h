/* mail_store.h - the per-account mail cache (design.md "Per-account state
 * cache", "Ids and states"): JMAP ids and states for Mailbox/Email/Thread
 * kept in the gateway's store and synced from IMAP. The JMAP read path
 * calls this; it never sees SQLite or libetpan.
 *
 * States are decimal strings of the account's modseq counter at the last
 * change of that type; they live in SQLite and survive restarts.
 *
 * Mailbox ids ("M" + 13 base32 chars) are minted and mapped to
 * (name_raw, UIDVALIDITY). Sync rules:
 * - same name, same UIDVALIDITY: same id; changed fields stamp an update;
 * - a name gone while a new name appears with the UIDVALIDITY of the gone
 *   one in the same LIST round: a rename, the id is kept (IMAP RENAME keeps
 *   UIDVALIDITY; a fresh mailbox gets a new one);
 * - same name, new UIDVALIDITY: the id is kept but every email location in
 *   it is dropped (its emails are destroyed unless located elsewhere) and
 *   its email sync starts over;
 * - a name gone otherwise: the mailbox becomes a tombstone.
 * Each sync that changes anything bumps the account modseq exactly once.
 *
 * Thread-safe: database work serialises on the store's lock, which is never
 * held across IMAP I/O. */
#ifndef MAIL_STORE_H
#define MAIL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"
#include "store.h"

struct mail_backend;
struct mail_store;

enum mail_store_type {
    MAIL_STORE_MAILBOX = 0,
    MAIL_STORE_EMAIL,
    MAIL_STORE_THREAD,
};

/* Longest state string plus NUL (a decimal uint64). */
#define MAIL_STORE_STATE_MAX 21

/* Wraps a borrowed store (which must outlive it) and prepares the
 * statements once. *out is owned by the caller. */
int mail_store_open(struct store *st, struct mail_store **out, struct gw_error *err);
void mail_store_close(struct mail_store **ms);

/* One backend_list_mailboxes round trip; applies the rules above.
 * The account must exist (store_account_ensure). */
int mail_store_sync_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_backend *b, struct gw_error *err);

/* The current state of one type for the account, into out. */
int mail_store_state(struct mail_store *ms, const char *account_id, enum mail_store_type type,
                     char out[MAIL_STORE_STATE_MAX], struct gw_error *err);

/* Ids, owned by the holder. */
struct mail_store_ids {
    char **v;
    size_t n;
};

struct mail_store_changes {
    struct mail_store_ids created, updated, destroyed;
    char new_state[MAIL_STORE_STATE_MAX];
    int has_more;
};

/* Returned by mail_store_changes when since_state is not a state this
 * account had, or is older than the type's tombstone horizon: the API
 * answers cannotCalculateChanges. */
#define MAIL_STORE_CANNOT_CALCULATE (-2)

/* What changed in one type since since_state (RFC 8620 §5.2), at most
 * max_changes ids in all (0: no limit). An object created and destroyed
 * within the window is not reported. When the window is cut, new_state is
 * the last state fully reported and has_more is set. Fills *out (clear it
 * with mail_store_changes_clear); returns 0, -1 (err) or
 * MAIL_STORE_CANNOT_CALCULATE. */
int mail_store_changes(struct mail_store *ms, const char *account_id, enum mail_store_type type,
                       const char *since_state, size_t max_changes, struct mail_store_changes *out,
                       struct gw_error *err);
void mail_store_changes_clear(struct mail_store_changes *c);

/* A cached mailbox, for Mailbox/get. Strings are owned by the list. */
struct mail_store_mailbox {
    char *id, *name, *parent_id, *role; /* parent_id/role NULL when none */
    int subscribed;
    uint32_t total_emails, unread_emails;
};

struct mail_store_mailbox_list {
    struct mail_store_mailbox *v;
    size_t n;
};

/* The account's live mailboxes, by name. *out is new; free with
 * mail_store_mailbox_list_free(). */
int mail_store_list_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_store_mailbox_list **out, struct gw_error *err);
void mail_store_mailbox_list_free(struct mail_store_mailbox_list **l);

#endif
