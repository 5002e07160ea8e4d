/* account.h - one struct account per authenticated mail account, shared by
 * all of its HTTP requests (design.md "Per-account state cache").
 *
 * Accounts are found by an HMAC-SHA256 of (user name, password) under a
 * random per-process key, so the password is never a map key and never
 * stored; a matching HMAC proves the same password was given. Reference
 * counted; evicted when idle.
 */
#ifndef ACCOUNT_H
#define ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "backend.h"
#include "gw_error.h"

struct store;
struct backend_mailbox_list;
struct mail_store;
struct account;
struct account_registry;

struct account_registry_options {
    struct backend_endpoint imap;   /* where accounts log in (strings borrowed) */
    unsigned pool_size;             /* IMAP connections per account */
    unsigned idle_timeout_s;        /* evict accounts unused this long */
    unsigned auth_cache_ttl_s;      /* re-check the password with IMAP after this */
    /* Change watchers (IMAP NOTIFY, backends/imap/imap_watch.h): at most
     * watch_max accounts have one (0: none, every request syncs); an
     * account unused for watch_idle_s loses its watcher. */
    unsigned watch_max;
    unsigned watch_idle_s;
    /* How long after the sync that made it clean a watched, quiet cache
     * is trusted (0: 3 s). It bounds the effect of an announcement the
     * server never sends (Dovecot 2.3 announces an outside RENAME only
     * with its next event) at one sync per interval, not per request. */
    unsigned watch_max_age_ms;
    /* How long account_baseline_await() waits (0: 100 ms). */
    unsigned watch_first_wait_ms;
};

/* Creates the registry. store is borrowed (may be NULL in unit tests). */
struct account_registry *account_registry_new(const struct account_registry_options *opts,
                                              struct store *store);

/* Frees every account (none may still be referenced) and the registry. */
void account_registry_free(struct account_registry **r);

/* Authenticates (username, password): a cached account whose HMAC matches
 * and whose check is younger than auth_cache_ttl is returned at once;
 * otherwise logs in to IMAP (blocking, bounded by the timeouts) and keeps
 * that connection in the account's pool. *out is a new reference.
 * Errors: GW_ERR_AUTH, GW_ERR_UNAVAILABLE, GW_ERR_TLS, GW_ERR_PROTOCOL. */
int account_registry_authenticate(struct account_registry *r, const char *username,
                                  const char *password, struct account **out,
                                  struct gw_error *err);

/* Drops accounts nobody references that were idle longer than the timeout,
 * and trims idle IMAP connections. Returns how many accounts were evicted. */
unsigned account_registry_evict_idle(struct account_registry *r);

/* Number of accounts held. */
unsigned account_registry_count(struct account_registry *r);

void account_ref(struct account *a);
void account_unref(struct account **a);

/* Stable JMAP account id (derived from backend host and user name). */
const char *account_id(const struct account *a);
const char *account_username(const struct account *a);
struct backend_pool *account_pool(struct account *a);

/* The gateway's mail cache (include/mail_store.h), shared by every
 * account; NULL when the registry was made without a store. Borrowed. */
struct mail_store *account_mail_store(struct account *a);

/* Brings the account's cache up to date by calling fn(ctx, err), which
 * returns 0 or -1 with err. Syncs of one account never overlap, and
 * concurrent callers share them: a caller returns 0 as soon as a sync that
 * began after it called has succeeded, whoever ran it, so a burst of
 * requests costs one or two round trips, not one each. A failed sync is
 * reported to the caller that ran it; waiters then try their own. Must not
 * be called with a store or registry lock held. */
typedef int (*account_sync_fn)(void *ctx, const struct backend_mailbox_list *listing,
                               struct gw_error *err);
int account_sync(struct account *a, account_sync_fn fn, void *ctx, struct gw_error *err);

/* What a request calls instead of account_sync() when any cache no
 * older than the last change notification will do: returns 0 at once,
 * without calling fn, when the account's watcher is up and has reported
 * no change since a sync that began after its last report. Otherwise it
 * syncs, then (re)starts the watcher if there is room for one. It syncs
 * from the listing the watcher took once its NOTIFY was in force, when
 * the watcher has reported nothing since (fn gets it as listing: what
 * LIST-STATUS would answer now, so fn need not ask; used once, and only
 * within the watch_max_age_ms a clean cache is trusted), else by
 * account_sync() (fn gets NULL). So correctness never depends on the
 * watcher: while it is down, refused or not yet confirmed, every
 * request syncs. */
int account_sync_if_stale(struct account *a, account_sync_fn fn, void *ctx,
                          struct gw_error *err);

/* For an account_sync_fn called without a listing (an account's first
 * sync, include/mail_store.h): a copy of the watcher's baseline (free
 * with backend_mailbox_list_free()), waiting up to watch_first_wait_ms
 * while the watcher is starting; NULL when there is none to be had (no
 * watcher, refused, down, or it reported a change since). With nothing
 * reported since, the baseline is what the server holds; the sync's own
 * generation still decides whether it leaves the cache clean, and the
 * baseline stays for account_sync_if_stale(). */
struct backend_mailbox_list *account_baseline_await(struct account *a);

/* Whether account_baseline_await() may give a listing: the account has
 * a watcher (a new account's starts at its authentication) that the
 * server has not refused. */
bool account_baseline_coming(struct account *a);

/* True while the account's watcher is confirmed (NOTIFY accepted). */
bool account_watch_live(struct account *a);

/* The account's connection for cache syncs (one: syncs never overlap),
 * apart from the request pool so that syncing never unselects the
 * mailbox a body fetch left open there. Borrowed. */
struct backend_pool *account_sync_pool(struct account *a);

/* maxConcurrentRequests: returns false if max requests are already running. */
bool account_request_begin(struct account *a, uint64_t max_concurrent);
void account_request_end(struct account *a);

#endif
