/* email_submission_sender.c - the background sender of include/
 * jmap_submission.h: one thread that, about once a second, sends what is
 * due in the queues of the accounts it watches (delayed sends, retries).
 *
 * An account is watched while it has queued submissions: from the
 * request that queued one, or from its first request after a restart
 * (the queue survives in the store; the password does not, so a queued
 * submission waits for that request). The watch holds a reference, so
 * the account and its in-memory credentials stay until the queue is
 * empty. Sends are claimed in the store first, so the sender and a
 * request thread never send the same submission twice. */
#include "email_submission.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "account.h"
#include "gw_log.h"
#include "jmap_submission.h"
#include "submission_store.h"

#define SENDER_TICK_MS 1000
/* Accounts remembered as checked (their first request since start). */
#define SENDER_MAX_CHECKED 4096
#define SENDER_MAX_WATCHED 1024

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running, stopping;
    struct account *watched[SENDER_MAX_WATCHED];
    size_t n_watched;
    char *checked[SENDER_MAX_CHECKED];
    size_t n_checked;
} sender = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

void email_submission_sender_watch(struct account *a)
{
    pthread_mutex_lock(&sender.lock);
    bool have = false;
    for (size_t i = 0; i < sender.n_watched; i++)
        have = have || sender.watched[i] == a;
    if (!have && sender.running && sender.n_watched < SENDER_MAX_WATCHED) {
        account_ref(a);
        sender.watched[sender.n_watched++] = a;
    }
    pthread_mutex_unlock(&sender.lock);
}

void jmap_submission_account_seen(struct account *a)
{
    const char *id = account_id(a);
    bool first = true;

    pthread_mutex_lock(&sender.lock);
    /* Without a sender (unit tests) there is nobody to hand them to. */
    first = sender.running;
    for (size_t i = 0; i < sender.n_checked && first; i++)
        first = strcmp(sender.checked[i], id) != 0;
    if (first && sender.n_checked < SENDER_MAX_CHECKED) {
        sender.checked[sender.n_checked] = strdup(id);
        if (sender.checked[sender.n_checked] != NULL)
            sender.n_checked++;
    }
    pthread_mutex_unlock(&sender.lock);
    if (!first)
        return;
    struct jmap_mail m;
    struct gw_error err = {0};
    if (jmap_mail_open(a, &m, &err) != 0)
        return;
    if (submission_store_recover(m.ms, m.account_id, &err) < 0)
        gw_log_warn("account %s: submission recovery: %s", m.account_id, err.msg);
    if (submission_store_has_queued(m.ms, m.account_id) > 0)
        email_submission_sender_watch(a);
}

/* One round over a snapshot of the watched accounts; the ones whose
 * queue is empty are dropped. */
static void sender_round(void)
{
    struct account *snap[SENDER_MAX_WATCHED];
    size_t n;

    pthread_mutex_lock(&sender.lock);
    n = sender.n_watched;
    memcpy(snap, sender.watched, n * sizeof(*snap));
    for (size_t i = 0; i < n; i++)
        account_ref(snap[i]);
    pthread_mutex_unlock(&sender.lock);
    for (size_t i = 0; i < n; i++) {
        struct jmap_mail m;
        struct gw_error err = {0};
        bool done = true;
        if (jmap_mail_open(snap[i], &m, &err) == 0) {
            email_submission_run_queue(&m);
            done = submission_store_has_queued(m.ms, m.account_id) == 0;
        }
        if (done) {
            pthread_mutex_lock(&sender.lock);
            for (size_t k = 0; k < sender.n_watched; k++) {
                if (sender.watched[k] != snap[i])
                    continue;
                account_unref(&sender.watched[k]);
                sender.watched[k] = sender.watched[--sender.n_watched];
                break;
            }
            pthread_mutex_unlock(&sender.lock);
        }
        account_unref(&snap[i]);
    }
}

static void *sender_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sender.lock);
    while (!sender.stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += SENDER_TICK_MS / 1000;
        while (!sender.stopping &&
               pthread_cond_timedwait(&sender.cond, &sender.lock, &until) != ETIMEDOUT)
            ;
        if (sender.stopping)
            break;
        pthread_mutex_unlock(&sender.lock);
        sender_round();
        pthread_mutex_lock(&sender.lock);
    }
    pthread_mutex_unlock(&sender.lock);
    return NULL;
}

int jmap_submission_sender_start(void)
{
    pthread_mutex_lock(&sender.lock);
    sender.stopping = false;
    int rc = pthread_create(&sender.thread, NULL, sender_main, NULL);
    sender.running = rc == 0;
    pthread_mutex_unlock(&sender.lock);
    return rc == 0 ? 0 : -1;
}

void jmap_submission_sender_stop(void)
{
    pthread_mutex_lock(&sender.lock);
    bool was = sender.running;
    sender.stopping = true;
    sender.running = false;
    pthread_cond_broadcast(&sender.cond);
    pthread_mutex_unlock(&sender.lock);
    if (was)
        pthread_join(sender.thread, NULL);
    for (size_t i = 0; i < sender.n_watched; i++)
        account_unref(&sender.watched[i]);
    sender.n_watched = 0;
    for (size_t i = 0; i < sender.n_checked; i++)
        free(sender.checked[i]);
    sender.n_checked = 0;
}
