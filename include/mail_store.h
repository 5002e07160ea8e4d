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
 * held across IMAP I/O. States, the mailbox list and Email rows (without
 * the header block) are answered from memory between two writes: any
 * write through the store's connection drops them, so they are never
 * older than the database (which only this process may write). */
#ifndef MAIL_STORE_H
#define MAIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_error.h"
#include "store.h"

struct backend_mailbox_list;
struct mail_backend;
struct mail_store;
struct mail_sync_listing;

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

/* One backend_list_mailboxes round trip; applies the rules above (with
 * RFC 8474 MAILBOXID, when the server gives it, matching first: a mailbox
 * renamed and given a new UIDVALIDITY keeps its id). On a server with ACL,
 * MYRIGHTS for the mailboxes whose rights are due (see rights below).
 * The account must exist (store_account_ensure). */
int mail_store_sync_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_backend *b, struct gw_error *err);

/* The same with a listing the caller got elsewhere (NULL: ask b), e.g.
 * from the account's change watcher: it must be what LIST-STATUS would
 * answer now. Borrowed. */
int mail_store_sync_mailboxes_listed(struct mail_store *ms, const char *account_id,
                                     struct mail_backend *b,
                                     const struct backend_mailbox_list *listing,
                                     struct gw_error *err);

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
    char *name_raw;                         /* the IMAP name, for backend_select() */
    uint32_t uidvalidity;                   /* the epoch of the cached uids (0: none
                                             * cached yet), to trust a uid answer */
    int subscribed;
    uint32_t total_emails, unread_emails;   /* unread: neither $seen nor $draft */
    uint32_t total_threads, unread_threads; /* RFC 8621 §2 */
    uint32_t sort_order;                    /* role mailboxes first: inbox 1, drafts 2,
                                             * sent 3, archive 4, junk 5, trash 6;
                                             * every other mailbox 10 */
    unsigned rights;                        /* enum mail_store_right; all when the
                                             * server has no ACL. Refreshed by
                                             * mail_store_sync_mailboxes() for new or
                                             * renamed mailboxes at once, else every
                                             * rights_ttl_s (a quiet account pays no
                                             * MYRIGHTS per request) */
};

/* Mailbox myRights (RFC 8621 §2), from IMAP MYRIGHTS (RFC 4314) when the
 * server has ACL. */
enum mail_store_right {
    MAIL_STORE_MAY_READ_ITEMS = 1u << 0,    /* l r */
    MAIL_STORE_MAY_ADD_ITEMS = 1u << 1,     /* i */
    MAIL_STORE_MAY_REMOVE_ITEMS = 1u << 2,  /* t e */
    MAIL_STORE_MAY_SET_SEEN = 1u << 3,      /* s */
    MAIL_STORE_MAY_SET_KEYWORDS = 1u << 4,  /* w */
    MAIL_STORE_MAY_CREATE_CHILD = 1u << 5,  /* k */
    MAIL_STORE_MAY_RENAME = 1u << 6,        /* x */
    MAIL_STORE_MAY_DELETE = 1u << 7,        /* x */
    MAIL_STORE_MAY_SUBMIT = 1u << 8,        /* p */
    MAIL_STORE_RIGHTS_ALL = 0x1ffu,
};

struct mail_store_mailbox_list {
    struct mail_store_mailbox *v;
    size_t n;
};

/* enum mail_store_right bits of RFC 4314 rights letters: mayReadItems
 * needs l and r, mayAddItems i, mayRemoveItems t and e, maySetSeen s,
 * maySetKeywords w, mayCreateChild k, mayRename and mayDelete x, maySubmit
 * p. The RFC 2086 letters count as their RFC 4314 successors: c as k,
 * d as t and e. Unknown letters are ignored; NULL gives 0. */
unsigned mail_store_rights_from_imap(const char *letters);

/* Tuning, mostly for tests. */
struct mail_store_options {
    bool ignore_xguid;          /* never ask for or trust X-GUID: identity then
                                 * comes from OBJECTID or the content key only */
    unsigned rights_ttl_s;      /* MYRIGHTS of a known mailbox is asked again
                                 * after this long (0: the default, 300 s); a
                                 * new or renamed mailbox is asked at once */
};

/* Replaces the options (the defaults are all zero). Call before syncing;
 * not thread-safe against a running sync. */
void mail_store_set_options(struct mail_store *ms, const struct mail_store_options *o);

/* The account's live mailboxes, by name, with the cache's counts, or
 * IMAP's for a mailbox not yet cached whole ("Cold start" below). *out
 * is new; free with mail_store_mailbox_list_free(). */
int mail_store_list_mailboxes(struct mail_store *ms, const char *account_id,
                              struct mail_store_mailbox_list **out, struct gw_error *err);
void mail_store_mailbox_list_free(struct mail_store_mailbox_list **l);

/* ---- Emails and threads (the read path) ------------------------------
 * Email ids ("E" + 13 base32) are minted and mapped to locations
 * (mailbox id, UIDVALIDITY, UID), and to the server's identity of the
 * message when it has one: RFC 8474 EMAILID (OBJECTID), else Dovecot's
 * X-GUID. One server identity is one Email, however many mailboxes hold a
 * copy (several mailboxIds); the JMAP id stays the gateway's own, so it is
 * stable even if the server's ids are not kept.
 * A new location the server does not identify (or identifies as unknown)
 * takes over the Email of a location that vanished in the same sync with
 * the same content key (RFC822.SIZE and the MAIL_STORE_HEADER_FIELDS
 * block: Message-ID, Date, From, To, Subject...), one to one: two
 * identical copies moved keep their two ids, and a copy whose original
 * stays is a new Email (identical messages are never merged without a
 * server identity saying so). A location of a known server identity
 * needs no key. Only an Email with no other location left is taken over
 * under a different server identity (a client moving by APPEND +
 * EXPUNGE).
 * Thread ids ("T" + 13 base32): with THREADID, one per server thread id;
 * otherwise from Message-ID, References and In-Reply-To across all
 * mailboxes; a message linking two threads joins the older one; an
 * Email's threadId never changes. */

/* Longest id this store mints plus NUL. */
#define MAIL_STORE_ID_MAX 16

/* Brings the whole cache up to date in as few round trips as the server
 * allows: mail_store_sync_mailboxes(), then, for every selectable mailbox
 * whose UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ or message count differs from
 * what was last synced, SELECT (QRESYNC when offered) and:
 * - VANISHED / a UID diff removes locations (an Email with no location
 *   left is destroyed; a thread with no Email left is destroyed);
 * - flag changes (QRESYNC FETCHes, CHANGEDSINCE, or a FLAGS diff) update
 *   keywords;
 * - new UIDs are fetched in ONE batched UID FETCH (FLAGS INTERNALDATE
 *   RFC822.SIZE BODYSTRUCTURE X-GUID EMAILID THREADID PREVIEW (the last
 *   three when offered) and the header fields of
 *   MAIL_STORE_HEADER_FIELDS) and become Emails (or new locations of
 *   known Emails).
 * Mailbox totals, unread counts and thread counts are recomputed for the
 * mailboxes that changed. The mailbox step and the email step each take
 * the account modseq one step when they change anything, and stamp the
 * rows they touched (Mailbox rows
 * whose counts changed, Email rows created/updated/destroyed, Thread rows
 * whose Email list changed). A quiet account costs one LIST-STATUS. */
int mail_store_sync(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                    struct gw_error *err);

/* The header fields kept per Email (raw), enough for every list property
 * of Email/get: from, to, cc, bcc, replyTo, sender, subject, sentAt,
 * messageId, inReplyTo, references. */
#define MAIL_STORE_HEADER_FIELDS \
    "From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Subject", "Date", "Message-ID", \
        "In-Reply-To", "References"

/* One cached Email. Strings and arrays are owned by the list holding it. */
struct mail_store_email {
    char id[MAIL_STORE_ID_MAX];
    char thread_id[MAIL_STORE_ID_MAX];
    char **mailbox_ids;         /* sorted */
    size_t n_mailbox_ids;
    char **keywords;            /* JMAP keywords (lower case, "$seen"), sorted;
                                 * the union over its locations */
    size_t n_keywords;
    uint64_t size;              /* RFC822.SIZE */
    int64_t received_at;        /* INTERNALDATE, seconds since the epoch (UTC) */
    int64_t sent_at;            /* Date header in UTC seconds; 0 when absent or bad */
    char *subject;              /* decoded (RFC 2047) and unfolded, "" when none */
    char *from_sort, *to_sort, *cc_sort;  /* sort keys (RFC 8621 §4.4.2): the first
                                 * address's display name, else its email, lower
                                 * case; "" when none */
    bool has_attachment;        /* RFC 8621 hasAttachment, from the BODYSTRUCTURE */
    char *preview;              /* server PREVIEW or NULL when not known yet */
    char *headers;              /* the raw MAIL_STORE_HEADER_FIELDS block (CRLF
                                 * lines), only with MAIL_STORE_WITH_HEADERS, else NULL */
    size_t headers_len;
    void *mem;                  /* private to the store: in its lists, the one
                                 * allocation holding every string and array above
                                 * (a list built elsewhere leaves it NULL) */
};

struct mail_store_email_list {
    struct mail_store_email *v;
    size_t n;
};

enum mail_store_email_fields {
    MAIL_STORE_WITH_HEADERS = 1u << 0,
};

/* The live Emails with these ids, in the order asked; ids not found (or
 * destroyed) are left out (the caller reports them as notFound), an id
 * asked twice is answered twice. One statement and one read snapshot for
 * the whole list. *out is new: free with mail_store_email_list_free(). */
int mail_store_get_emails(struct mail_store *ms, const char *account_id, const char *const *ids,
                          size_t n_ids, unsigned fields, struct mail_store_email_list **out,
                          struct gw_error *err);

/* Every live Email located in mailbox_id (NULL: the whole account), newest
 * receivedAt first (ties by id), for Email/query. Same ownership. */
int mail_store_list_emails(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                           unsigned fields, struct mail_store_email_list **out,
                           struct gw_error *err);
void mail_store_email_list_free(struct mail_store_email_list **l);

/* Where to fetch an Email's bytes: one of its locations. name_raw is new
 * (free()). GW_ERR_NOTFOUND for an unknown or destroyed Email. */
int mail_store_email_locate(struct mail_store *ms, const char *account_id, const char *email_id,
                            char **mailbox_name_raw, uint32_t *uidvalidity, uint32_t *uid,
                            struct gw_error *err);

/* Every location of an Email (for writes that must reach each copy): the
 * mailboxes holding it, ordered by mailbox id then uid. Only locations in
 * a live mailbox with the UIDVALIDITY they were seen under. An unknown or
 * destroyed Email gives an empty list (not an error). *out is new: free
 * with mail_store_location_list_free(). */
struct mail_store_location {
    char mailbox_id[MAIL_STORE_ID_MAX];
    char *name_raw;
    uint32_t uidvalidity, uid;
};

struct mail_store_location_list {
    struct mail_store_location *v;
    size_t n;
};

int mail_store_email_locations(struct mail_store *ms, const char *account_id,
                               const char *email_id, struct mail_store_location_list **out,
                               struct gw_error *err);
void mail_store_location_list_free(struct mail_store_location_list **l);

/* Tells the cache that the gateway itself just put a copy of email_id at
 * (mailbox_id, uidvalidity, uid) (the COPYUID of its COPY or MOVE): the
 * next sync that finds that location new gives it to email_id, if that
 * Email is still live, before any other rule. So an Email keeps its id
 * through a move or copy the gateway makes, also on servers without
 * X-GUID or OBJECTID (where a copy whose original stays would otherwise
 * be a new Email). Kept in memory only (a restart before the sync falls
 * back to the rules above); the oldest are forgotten past a bound. */
int mail_store_expect_location(struct mail_store *ms, const char *account_id,
                               const char *email_id, const char *mailbox_id,
                               uint32_t uidvalidity, uint32_t uid, struct gw_error *err);

/* Maps the UIDs of one mailbox (e.g. an IMAP SEARCH answer) to Email ids.
 * ids_out[i] gets the id of uids[i], or "" when that UID is not cached. */
int mail_store_emails_by_uid(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                             const uint32_t *uids, size_t n, char (*ids_out)[MAIL_STORE_ID_MAX],
                             struct gw_error *err);

/* A thread: its live Email ids, oldest receivedAt first (RFC 8621 §3). */
struct mail_store_thread {
    char id[MAIL_STORE_ID_MAX];
    char (*email_ids)[MAIL_STORE_ID_MAX];
    size_t n_email_ids;
};

struct mail_store_thread_list {
    struct mail_store_thread *v;
    size_t n;
};

/* The live threads with these ids, in the order asked, unknown ones left
 * out. *out is new: free with mail_store_thread_list_free(). */
int mail_store_get_threads(struct mail_store *ms, const char *account_id, const char *const *ids,
                           size_t n_ids, struct mail_store_thread_list **out, struct gw_error *err);
void mail_store_thread_list_free(struct mail_store_thread_list **l);

/* ---- Cold start: the newest messages first, the rest in the background --
 *
 * mail_store_sync_cold() is mail_store_sync() for a request: a mailbox new
 * to the cache (or reset by a new UIDVALIDITY) holding more than 200
 * messages gets, if it is INBOX, only its newest 200 (UID SORT REVERSE
 * ARRIVAL NOT DELETED when the server has SORT, else the highest uids),
 * committed at once, and if it is another mailbox, nothing yet (so the
 * first request pays for the inbox only);
 * a background thread per account (connections from pool, which must
 * outlive it: call mail_store_backfill_stop() before freeing the pool)
 * then fetches the rest, 500 at a time, newest uids first, written 32
 * per transaction (a request waits for one such slice at most). Progress
 * is kept in the store: a restart carries on where the last committed
 * slice stopped, and never inserts a message twice.
 *
 * What clients see stays right because of these rules:
 * - backfilled messages existed before any state given out since the
 *   first batch, so their Emails, their new Threads and the Mailbox
 *   counts they change are stamped with the modseq of the first batch
 *   (the "base"; a row already stamped later keeps its later stamp) and
 *   no state moves: Email/changes since a state given during the backfill
 *   never reports them as created, and /queryChanges has no cached result
 *   to diff an early answer against (cannotCalculateChanges, then a fresh
 *   query). An Email that was already visible and gains a location from a
 *   backfilled copy (same X-GUID) is a real update: fresh modseq, state
 *   moves;
 * - every answer that needs the whole mailbox waits (bounded, 60 s, then
 *   GW_ERR_UNAVAILABLE) until the account's backfill is done:
 *   mail_store_list_emails, mail_store_get_threads and mail_store_changes
 *   (all three types);
 * - Mailbox counts do not wait: mail_store_list_mailboxes gives a mailbox
 *   being backfilled IMAP's STATUS numbers (MESSAGES for totalEmails and
 *   totalThreads, UNSEEN for the unread two), which move Mailbox state
 *   when they change; the batch that ends a mailbox's backfill stamps
 *   every Mailbox of the account, so the state moves when the counts
 *   switch to the cache's (and for the unreadThreads of other mailboxes,
 *   which backfilled threads may have changed meanwhile);
 * - the one answer given early is mail_store_list_newest() below: the
 *   newest-first page of one mailbox, from the prefix the first batch
 *   provably covers, or from the whole mailbox when it has no backfill
 *   of its own left (small, or done before the account's others);
 * - thread ids are assigned at insert and never change: a backfilled
 *   message joins the oldest live thread any of its Message-ID,
 *   References or In-Reply-To names, which may be a thread the first
 *   batch created for a newer reply.
 * A regular sync leaves uids below the backfill's mark to the backfill
 * and may run while a batch does (a batch never holds up a request for
 * longer than one slice's transaction).
 *
 * JMAPGW_COLD_START=0 in the environment turns the first batches off
 * (every sync fetches whole mailboxes; a backfill left by an earlier run
 * still completes). Test hook: with JMAPGW_BACKFILL_HOLD=<path> in the environment, while
 * <path> exists and holds a number N, a worker that has written N batches
 * waits (at most 60 s per batch) before the next one; holding "N S", it
 * waits instead after S slices of batch N+1 (between two transactions).
 *
 * listing (may be NULL) says where the mailbox listing comes from
 * instead of the sync's own LIST-STATUS. */
struct backend_pool;

struct mail_sync_listing {
    /* What LIST-STATUS would answer now (borrowed): used as is. */
    const struct backend_mailbox_list *now;
    /* Without now, for an account with nothing cached yet, when
     * coming(ctx) says a listing is being taken elsewhere (the change
     * watcher's): the sync fetches the inbox's first batch before any
     * listing, then takes await(ctx), that listing (new: the store frees
     * it), in place of its own LIST-STATUS, which it sends only when
     * await gives NULL. The first request of an account then pays for no
     * LIST-STATUS. */
    bool (*coming)(void *ctx);
    struct backend_mailbox_list *(*await)(void *ctx);
    void *ctx;
};

int mail_store_sync_cold(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                         struct backend_pool *pool, const struct mail_sync_listing *listing,
                         struct gw_error *err);

/* Stops and joins the account's worker (a no-op without one). */
void mail_store_backfill_stop(struct mail_store *ms, const char *account_id);

/* Whether the account still has messages to backfill (as of the last
 * sync or batch). */
bool mail_store_backfill_pending(struct mail_store *ms, const char *account_id);

/* Returns 0 once the account has nothing left to backfill; -1 with
 * GW_ERR_UNAVAILABLE after 60 s or when its worker stopped on an error
 * (the next sync restarts it). */
int mail_store_backfill_wait(struct mail_store *ms, const char *account_id, struct gw_error *err);

/* The early answer of Email/query {inMailbox: mailbox_id} sorted by
 * receivedAt descending (ties by id), no other condition, while the
 * account is backfilling: returns 1 with *out holding the first n Emails
 * of that result (exactly those the full query will give) and *total the
 * result's size (when want_total). Two cases give it:
 * - the mailbox is being backfilled and its first batch came from SORT:
 *   every message received after the batch's oldest is cached and
 *   nothing else of the mailbox can sort before them; *total is the
 *   mailbox's IMAP message count (exact: asked only when no message was
 *   \Deleted at the first batch);
 * - the mailbox has no backfill of its own (synced whole, or its
 *   backfill is done while another mailbox's runs): the page and the
 *   total come from the cache, which holds all of it.
 * Returns 0 when the answer cannot be given early (no backfill, no SORT,
 * a page beyond the covered prefix, a total not known exactly, a big
 * mailbox still waiting for its first batch): the caller runs the full
 * query. -1 with err. *out as for mail_store_list_emails. */
int mail_store_list_newest(struct mail_store *ms, const char *account_id, const char *mailbox_id,
                           size_t n, bool want_total, unsigned fields,
                           struct mail_store_email_list **out, uint64_t *total,
                           struct gw_error *err);

#endif
