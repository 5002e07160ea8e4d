/* account_registry.c - authenticated accounts, found by user name and
 * checked by an HMAC of the credentials (see include/account.h).
 *
 * The IMAP login that proves a password runs without the registry lock, so
 * one slow backend never stalls other accounts; two first requests of the
 * same user may both log in, and the second simply refreshes the first. */
#include "account.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend-private.h"
#include "gw_log.h"
#include "imap/imap_watch.h"
#include "net/net.h"
#include "mail_store.h"
#include "store.h"

#define CRED_MAC_LEN 32
#define ACCOUNT_ID_HEX 16        /* hex digits of SHA-256 kept in the id */
#define POOL_IDLE_TRIM_MS 120000 /* close IMAP connections idle this long */
/* Defaults of watch_max_age_ms and watch_first_wait_ms (account.h). A
 * new account's watcher logs in at authentication; its listing usually
 * arrives before the first sync has fetched the inbox's first batch. */
#define CLEAN_MAX_AGE_MS 3000
#define BASELINE_AWAIT_MS 100

struct account {
    struct account_registry *registry;
    struct account *next;
    char id[ACCOUNT_ID_HEX + 2];
    char *username;
    struct backend_pool *pool;
    struct backend_pool *sync_pool; /* one connection, for account_sync() only */
    struct imap_watch *watch;   /* guarded by registry lock */
    bool watch_refused;         /* the server has no NOTIFY: never start again */
    unsigned char cred_mac[CRED_MAC_LEN];
    time_t verified_at;     /* monotonic seconds of the last IMAP login */
    time_t last_used;       /* monotonic seconds */
    unsigned refs;          /* references handed out; guarded by registry lock */
    unsigned inflight;      /* running API requests; guarded by registry lock */
    /* Cache syncs (account_sync): one runs at a time; requests that arrive
     * meanwhile share the next one instead of each paying a round trip. */
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_done;
    pthread_cond_t watch_moved;     /* CLOCK_MONOTONIC; any watcher event */
    bool sync_running;
    uint64_t sync_started;      /* number of syncs begun */
    uint64_t sync_succeeded;    /* number of the last one that succeeded */
    /* Freshness (account_sync_if_stale), guarded by sync_lock: the watcher
     * bumps change_gen on every report; a sync that began at generation g
     * and succeeded makes the cache clean up to g. */
    bool watch_live;
    uint64_t change_gen;
    uint64_t clean_gen;
    uint64_t clean_since_ms;    /* monotonic start of the sync that made it clean */
    /* The watcher's baseline (imap_watch.h), taken at generation
     * baseline_gen and monotonic baseline_ms; NULL once used or voided. */
    struct backend_mailbox_list *baseline;
    uint64_t baseline_gen;
    uint64_t baseline_ms;
};

struct account_registry {
    pthread_mutex_t lock;
    struct account_registry_options opts;
    struct store *store;
    struct mail_store *mail;    /* the mail cache over store, or NULL */
    unsigned char mac_key[32];
    struct account *accounts;
    unsigned count;
    unsigned n_watch;           /* accounts with a watcher */
};

static void watch_ensure(struct account *a);

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static time_t monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* HMAC-SHA256(key, len(user) || user || password): the length prefix keeps
 * ("ab","c") and ("a","bc") apart. The joined buffer is wiped after use. */
static void credentials_mac(const struct account_registry *r, const char *username,
                            const char *password, unsigned char out[CRED_MAC_LEN])
{
    size_t ulen = strlen(username);
    size_t plen = strlen(password);
    size_t len = 8 + ulen + plen;
    unsigned char *buf = malloc(len);
    unsigned int outlen = CRED_MAC_LEN;
    if (buf != NULL) {
        for (int i = 0; i < 8; i++)
            buf[i] = (unsigned char)(ulen >> (8 * i));
        memcpy(buf + 8, username, ulen);
        memcpy(buf + 8 + ulen, password, plen);
    }
    if (buf == NULL ||
        HMAC(EVP_sha256(), r->mac_key, sizeof(r->mac_key), buf, len, out, &outlen) == NULL) {
        /* Never let a failed MAC compare equal to anything: fresh random bytes. */
        RAND_bytes(out, CRED_MAC_LEN);
    }
    if (buf != NULL) {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
}

/* Stable across restarts: depends only on the IMAP server and the user. */
static void account_id_derive(const struct account_registry *r, const char *username,
                              char out[ACCOUNT_ID_HEX + 2])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    char seed[600];
    int n = snprintf(seed, sizeof(seed), "%s:%u", r->opts.imap.host ? r->opts.imap.host : "",
                     r->opts.imap.port);
    if (n < 0 || (size_t)n >= sizeof(seed))
        n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, seed, (size_t)n + 1) != 1 ||
        EVP_DigestUpdate(md, username, strlen(username)) != 1 ||
        EVP_DigestFinal_ex(md, digest, &dlen) != 1)
        abort();   /* SHA-256 over memory cannot fail short of a broken libcrypto */
    EVP_MD_CTX_free(md);
    static const char hex[] = "0123456789abcdef";
    out[0] = 'A';   /* ids must not start with a digit-only look-alike of a number */
    for (int i = 0; i < ACCOUNT_ID_HEX / 2; i++) {
        out[1 + 2 * i] = hex[digest[i] >> 4];
        out[2 + 2 * i] = hex[digest[i] & 15];
    }
    out[ACCOUNT_ID_HEX + 1] = '\0';
}

/* The user name comes from the client: keep control characters and
 * quotes out of log lines so nobody can forge entries. */
static void log_safe_copy(char *out, size_t size, const char *in)
{
    size_t o = 0;
    for (; *in != '\0' && o + 1 < size; in++)
        out[o++] = ((unsigned char)*in < 0x20 || *in == 0x7f || *in == '"') ? '?' : *in;
    out[o] = '\0';
}

struct account_registry *account_registry_new(const struct account_registry_options *opts,
                                              struct store *store)
{
    struct account_registry *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    if (RAND_bytes(r->mac_key, sizeof(r->mac_key)) != 1) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->opts = *opts;
    if (r->opts.watch_max_age_ms == 0)
        r->opts.watch_max_age_ms = CLEAN_MAX_AGE_MS;
    if (r->opts.watch_first_wait_ms == 0)
        r->opts.watch_first_wait_ms = BASELINE_AWAIT_MS;

    r->store = store;
    if (store != NULL) {
        struct gw_error err = { 0 };
        if (mail_store_open(store, &r->mail, &err) != 0) {
            gw_log_error("account registry: %s", err.msg);
            account_registry_free(&r);
            return NULL;
        }
    }
    return r;
}

static void account_destroy(struct account *a)
{
    imap_watch_stop(&a->watch);
    backend_mailbox_list_free(&a->baseline);
    backend_pool_free(&a->sync_pool);
    pthread_cond_destroy(&a->sync_done);
    pthread_cond_destroy(&a->watch_moved);
    pthread_mutex_destroy(&a->sync_lock);
    backend_pool_free(&a->pool);
    free(a->username);
    OPENSSL_cleanse(a->cred_mac, sizeof(a->cred_mac));
    free(a);
}

void account_registry_free(struct account_registry **rp)
{
    struct account_registry *r = *rp;
    if (r == NULL)
        return;
    for (struct account *a = r->accounts, *next; a != NULL; a = next) {
        next = a->next;
        if (a->refs != 0)
            gw_log_error("account %s freed with %u references left", a->id, a->refs);
        mail_store_backfill_stop(r->mail, a->id);   /* it borrows the pool */
        account_destroy(a);
    }
    mail_store_close(&r->mail);
    OPENSSL_cleanse(r->mac_key, sizeof(r->mac_key));
    pthread_mutex_destroy(&r->lock);
    free(r);
    *rp = NULL;
}

static struct account *find_locked(struct account_registry *r, const char *username)
{
    for (struct account *a = r->accounts; a != NULL; a = a->next) {
        if (strcmp(a->username, username) == 0)
            return a;
    }
    return NULL;
}

/* Fast path: same user, same password (HMAC), checked recently. */
static struct account *lookup_verified(struct account_registry *r, const char *username,
                                       const unsigned char mac[CRED_MAC_LEN])
{
    struct account *found = NULL;
    time_t now = monotonic_now();
    pthread_mutex_lock(&r->lock);
    struct account *a = find_locked(r, username);
    if (a != NULL && CRYPTO_memcmp(a->cred_mac, mac, CRED_MAC_LEN) == 0 &&
        now - a->verified_at < (time_t)r->opts.auth_cache_ttl_s) {
        a->refs++;
        a->last_used = now;
        found = a;
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}

static struct account *account_create(struct account_registry *r, const char *username,
                                      const char *password)
{
    struct account *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    struct backend_credentials cred = { .username = username, .password = password };
    pthread_mutex_init(&a->sync_lock, NULL);
    pthread_cond_init(&a->sync_done, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&a->watch_moved, &attr);
    pthread_condattr_destroy(&attr);
    a->registry = r;
    a->username = strdup(username);
    a->pool = backend_pool_new(&r->opts.imap, &cred, r->opts.pool_size);
    a->sync_pool = backend_pool_new(&r->opts.imap, &cred, 1);
    a->change_gen = 1;      /* clean_gen 0: dirty until a sync */
    if (a->username == NULL || a->pool == NULL || a->sync_pool == NULL) {
        account_destroy(a);
        return NULL;
    }
    account_id_derive(r, username, a->id);
    return a;
}

int account_registry_authenticate(struct account_registry *r, const char *username,
                                  const char *password, struct account **out,
                                  struct gw_error *err)
{
    unsigned char mac[CRED_MAC_LEN];
    struct mail_backend *conn = NULL;
    struct account *fresh = NULL;
    int rc = -1;

    *out = NULL;
    credentials_mac(r, username, password, mac);
    *out = lookup_verified(r, username, mac);
    if (*out != NULL) {
        rc = 0;
        goto out;
    }

    struct backend_credentials cred = { .username = username, .password = password };
    if (backend_imap_open(&r->opts.imap, &cred, &conn, err) != 0) {
        char shown[64];
        log_safe_copy(shown, sizeof(shown), username);
        gw_log_info("login of \"%s\" refused: %s (%s)", shown,
                    gw_error_code_name(err ? err->code : GW_ERR_INTERNAL), err ? err->msg : "");
        goto out;
    }

    /* Build outside the lock; it may turn out another request won the race. */
    fresh = account_create(r, username, password);
    if (fresh == NULL) {
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }

    time_t now = monotonic_now();
    /* A new account's first request syncs it: the login just made serves
     * that sync, which then pays no second LOGIN. */
    struct backend_pool *keep_in = NULL;
    pthread_mutex_lock(&r->lock);
    struct account *a = find_locked(r, username);
    if (a == NULL) {
        keep_in = fresh->sync_pool;
        a = fresh;
        fresh = NULL;
        a->next = r->accounts;
        r->accounts = a;
        r->count++;
    } else if (CRYPTO_memcmp(a->cred_mac, mac, CRED_MAC_LEN) != 0 &&
               (backend_pool_set_credentials(a->pool, &cred) != 0 ||
                backend_pool_set_credentials(a->sync_pool, &cred) != 0)) {
        /* The password changed but cannot be recorded for new connections:
         * refuse rather than keep an account that would log in with the old one. */
        pthread_mutex_unlock(&r->lock);
        gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        goto out;
    }
    memcpy(a->cred_mac, mac, CRED_MAC_LEN);
    a->verified_at = now;
    a->last_used = now;
    a->refs++;
    backend_pool_adopt(keep_in != NULL ? keep_in : a->pool, &conn);
    pthread_mutex_unlock(&r->lock);

    if (r->store != NULL && store_account_ensure(r->store, a->id, a->username, err) != 0)
        gw_log_warn("account %s: cannot record in store: %s", a->id, err ? err->msg : "");
    gw_error_clear(err);
    /* A new account's watcher logs in and takes its listing while the
     * client reads the session and sends its first request. */
    if (keep_in != NULL)
        watch_ensure(a);
    *out = a;
    rc = 0;
out:
    backend_close(&conn);
    if (fresh != NULL)
        account_destroy(fresh);
    return rc;
}

static void watch_drop(struct account *a, struct imap_watch **w);

unsigned account_registry_evict_idle(struct account_registry *r)
{
    unsigned evicted = 0;
    struct account *doomed = NULL;
    time_t now = monotonic_now();

    pthread_mutex_lock(&r->lock);
    for (struct account **pp = &r->accounts; *pp != NULL;) {
        struct account *a = *pp;
        if (a->refs == 0 && now - a->last_used >= (time_t)r->opts.idle_timeout_s) {
            *pp = a->next;
            a->next = doomed;
            doomed = a;
            r->count--;
            if (a->watch != NULL)
                r->n_watch--;
            evicted++;
        } else {
            pp = &a->next;
        }
    }
    pthread_mutex_unlock(&r->lock);

    /* Logging out of IMAP is network I/O: never under the lock. */
    for (struct account *a = doomed, *next; a != NULL; a = next) {
        next = a->next;
        gw_log_debug("account %s evicted after %u s idle", a->id, r->opts.idle_timeout_s);
        mail_store_backfill_stop(r->mail, a->id);   /* it borrows the pool */
        account_destroy(a);
    }

    /* Trimming takes each pool's own lock and closes connections outside
     * it; accounts cannot vanish meanwhile because we hold a reference. */
    pthread_mutex_lock(&r->lock);
    for (struct account *a = r->accounts; a != NULL; a = a->next) {
        a->refs++;
        pthread_mutex_unlock(&r->lock);
        backend_pool_trim(a->pool, POOL_IDLE_TRIM_MS);
        backend_pool_trim(a->sync_pool, POOL_IDLE_TRIM_MS);
        pthread_mutex_lock(&r->lock);
        if (a->watch != NULL && now - a->last_used >= (time_t)r->opts.watch_idle_s) {
            struct imap_watch *w = a->watch;
            a->watch = NULL;
            r->n_watch--;
            pthread_mutex_unlock(&r->lock);
            watch_drop(a, &w);
            pthread_mutex_lock(&r->lock);
        }
        a->refs--;
    }
    pthread_mutex_unlock(&r->lock);
    return evicted;
}

unsigned account_registry_count(struct account_registry *r)
{
    pthread_mutex_lock(&r->lock);
    unsigned n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void account_ref(struct account *a)
{
    pthread_mutex_lock(&a->registry->lock);
    a->refs++;
    pthread_mutex_unlock(&a->registry->lock);
}

void account_unref(struct account **ap)
{
    struct account *a = *ap;
    if (a == NULL)
        return;
    pthread_mutex_lock(&a->registry->lock);
    if (a->refs == 0)
        abort();   /* more unrefs than refs: a broken invariant */
    a->refs--;
    a->last_used = monotonic_now();
    pthread_mutex_unlock(&a->registry->lock);
    *ap = NULL;
}

const char *account_id(const struct account *a)
{
    return a->id;
}

const char *account_username(const struct account *a)
{
    return a->username;
}

struct backend_pool *account_pool(struct account *a)
{
    return a->pool;
}

bool account_request_begin(struct account *a, uint64_t max_concurrent)
{
    bool ok;
    pthread_mutex_lock(&a->registry->lock);
    ok = a->inflight < max_concurrent;
    if (ok)
        a->inflight++;
    pthread_mutex_unlock(&a->registry->lock);
    return ok;
}

void account_request_end(struct account *a)
{
    pthread_mutex_lock(&a->registry->lock);
    if (a->inflight > 0)
        a->inflight--;
    pthread_mutex_unlock(&a->registry->lock);
}

struct mail_store *account_mail_store(struct account *a)
{
    return a->registry->mail;
}

int account_sync(struct account *a, account_sync_fn fn, void *ctx, struct gw_error *err)
{
    pthread_mutex_lock(&a->sync_lock);
    /* Only a sync that begins after this call may answer it: one already
     * running may have read the server before the change this caller saw. */
    uint64_t needed = a->sync_started + 1;
    int rc = 0;
    uint64_t gen = 0, began_ms = 0;
    while (a->sync_succeeded < needed) {
        if (a->sync_running) {
            pthread_cond_wait(&a->sync_done, &a->sync_lock);
            continue;
        }
        a->sync_running = true;
        uint64_t mine = ++a->sync_started;
        /* Changes reported from here on may be missed by this sync. */
        gen = a->change_gen;
        began_ms = monotonic_ms();
        pthread_mutex_unlock(&a->sync_lock);
        rc = fn(ctx, NULL, err);
        pthread_mutex_lock(&a->sync_lock);
        a->sync_running = false;
        if (rc == 0 && mine > a->sync_succeeded)
            a->sync_succeeded = mine;
        if (rc == 0 && gen >= a->clean_gen) {
            a->clean_gen = gen;
            if (began_ms > a->clean_since_ms)
                a->clean_since_ms = began_ms;
        }
        pthread_cond_broadcast(&a->sync_done);
        if (rc != 0)
            break;
    }
    pthread_mutex_unlock(&a->sync_lock);
    return rc;
}

struct backend_pool *account_sync_pool(struct account *a)
{
    return a->sync_pool;
}

/* Runs on the watcher's thread. Every event moves the generation, which
 * voids the baseline of an earlier one. */
static void on_watch_event(void *ctx, enum imap_watch_event ev,
                           struct backend_mailbox_list **listing)
{
    struct account *a = ctx;
    struct backend_mailbox_list *old = NULL;
    pthread_mutex_lock(&a->sync_lock);
    a->change_gen++;
    old = a->baseline;
    a->baseline = NULL;
    if (ev == IMAP_WATCH_UP) {
        a->watch_live = true;
        if (listing != NULL && *listing != NULL) {
            a->baseline = *listing;
            *listing = NULL;
            a->baseline_gen = a->change_gen;
            a->baseline_ms = monotonic_ms();
        }
    } else if (ev == IMAP_WATCH_DOWN || ev == IMAP_WATCH_UNSUPPORTED) {
        a->watch_live = false;
    }
    if (ev == IMAP_WATCH_UNSUPPORTED)
        a->watch_refused = true;
    pthread_cond_broadcast(&a->watch_moved);
    pthread_mutex_unlock(&a->sync_lock);
    backend_mailbox_list_free(&old);
}

/* Stops a watcher already detached from a (no lock held: it joins a
 * thread); from then on a's requests sync again. */
static void watch_drop(struct account *a, struct imap_watch **w)
{
    imap_watch_stop(w);
    on_watch_event(a, IMAP_WATCH_DOWN, NULL);
}

/* Starts a's watcher when it has none, the server has not refused one
 * and the registry has room. Thread creation does no I/O: fine under
 * the registry lock, which keeps the count exact. */
static void watch_ensure(struct account *a)
{
    struct account_registry *r = a->registry;
    pthread_mutex_lock(&a->sync_lock);
    bool refused = a->watch_refused;
    pthread_mutex_unlock(&a->sync_lock);
    if (refused)
        return;
    pthread_mutex_lock(&r->lock);
    if (a->watch == NULL && r->n_watch < r->opts.watch_max) {
        struct gw_error err = { 0 };
        if (imap_watch_start(a->sync_pool, a->id, on_watch_event, a, &a->watch, &err) == 0)
            r->n_watch++;
        else
            gw_log_warn("account %s: no change watcher: %s", a->id, err.msg);
    }
    pthread_mutex_unlock(&r->lock);
}

static bool has_watcher(struct account *a)
{
    pthread_mutex_lock(&a->registry->lock);
    bool watching = a->watch != NULL;
    pthread_mutex_unlock(&a->registry->lock);
    return watching;
}

/* The watcher's baseline taken for one sync, with when it was taken. */
struct baseline_use {
    struct backend_mailbox_list *listing;
    uint64_t gen, taken_ms;
};

/* Sync_lock held: takes a's baseline into *u and marks a sync running
 * when one may start from it now: none runs, and the watcher is up and
 * has reported nothing since it took the baseline, within the age a
 * clean cache is trusted (a listing is no fresher than a sync that began
 * when it was taken). */
static bool baseline_take(struct account *a, uint64_t now_ms, struct baseline_use *u)
{
    if (a->baseline == NULL || a->sync_running || !a->watch_live ||
        a->baseline_gen != a->change_gen ||
        now_ms - a->baseline_ms >= a->registry->opts.watch_max_age_ms)
        return false;
    *u = (struct baseline_use){ .listing = a->baseline, .gen = a->baseline_gen,
                                .taken_ms = a->baseline_ms };
    a->baseline = NULL;
    a->sync_running = true;
    return true;
}

/* The sync baseline_take() began. It answers for the server as of the
 * baseline, so it makes the cache clean up to the baseline's generation
 * but satisfies no account_sync() caller, which needs the server read
 * after its call. */
static int sync_from_baseline(struct account *a, account_sync_fn fn, void *ctx,
                              struct baseline_use *u, struct gw_error *err)
{
    int rc = fn(ctx, u->listing, err);
    backend_mailbox_list_free(&u->listing);
    pthread_mutex_lock(&a->sync_lock);
    a->sync_running = false;
    if (rc == 0 && u->gen >= a->clean_gen) {
        a->clean_gen = u->gen;
        if (u->taken_ms > a->clean_since_ms)
            a->clean_since_ms = u->taken_ms;
    }
    pthread_cond_broadcast(&a->sync_done);
    pthread_mutex_unlock(&a->sync_lock);
    return rc;
}

int account_sync_if_stale(struct account *a, account_sync_fn fn, void *ctx,
                          struct gw_error *err)
{
    uint64_t now = monotonic_ms();
    struct baseline_use use = { 0 };
    pthread_mutex_lock(&a->sync_lock);
    bool clean = a->watch_live && a->clean_gen == a->change_gen &&
                 now - a->clean_since_ms < a->registry->opts.watch_max_age_ms;
    bool from_baseline = !clean && baseline_take(a, now, &use);
    pthread_mutex_unlock(&a->sync_lock);
    if (clean)
        return 0;
    int rc = from_baseline ? sync_from_baseline(a, fn, ctx, &use, err)
                           : account_sync(a, fn, ctx, err);
    /* A watcher that was dropped (idle) or lost restarts after the sync:
     * its LOGIN and listing would compete with the sync for the server. */
    watch_ensure(a);
    return rc;
}

bool account_baseline_coming(struct account *a)
{
    pthread_mutex_lock(&a->sync_lock);
    bool refused = a->watch_refused;
    pthread_mutex_unlock(&a->sync_lock);
    return !refused && has_watcher(a);
}

struct backend_mailbox_list *account_baseline_await(struct account *a)
{
    unsigned timeout_ms = a->registry->opts.watch_first_wait_ms;
    if (!has_watcher(a))
        return NULL;
    struct timespec until;
    net_deadline_in(&until, timeout_ms);
    struct backend_mailbox_list *copy = NULL;
    pthread_mutex_lock(&a->sync_lock);
    /* UP brings the baseline; the watcher being up without one (an
     * announcement voided it, or it could take none) will not bring one. */
    while (!a->watch_live && !a->watch_refused &&
           pthread_cond_timedwait(&a->watch_moved, &a->sync_lock, &until) == 0)
        ;
    if (a->watch_live && a->baseline != NULL && a->baseline_gen == a->change_gen)
        copy = backend_mailbox_list_dup(a->baseline);
    pthread_mutex_unlock(&a->sync_lock);
    return copy;
}

bool account_watch_live(struct account *a)
{
    pthread_mutex_lock(&a->sync_lock);
    bool live = a->watch_live;
    pthread_mutex_unlock(&a->sync_lock);
    return live;
}
