/* imap_watch.h - backends-internal: one IMAP connection per account that
 * listens for changes (RFC 5465 NOTIFY) so a quiet account's requests can
 * skip the per-request sync round trip.
 *
 * The watcher runs on its own thread. It opens its connection outside the
 * account's pool (backend_pool_open_extra), ENABLEs CONDSTORE (so flag
 * changes in mailboxes that are not selected are reported), sends
 * NOTIFY SET for every mailbox of the personal namespace, takes one
 * LIST-STATUS (the baseline a request may sync from instead of asking
 * itself) and then waits.
 * Any unsolicited response is a change: the watcher says so through the
 * callback and drains it with a NOOP. Lost connections are retried with
 * a growing delay; a server without NOTIFY (or refusing it) ends the
 * watcher for good. IDLE is no substitute: it reports only the selected
 * mailbox, so it could never prove a whole account unchanged.
 */
#ifndef BACKENDS_IMAP_WATCH_H
#define BACKENDS_IMAP_WATCH_H

#include "backend.h"
#include "backend_mail.h"
#include "gw_error.h"

enum imap_watch_event {
    IMAP_WATCH_UP,          /* NOTIFY accepted: from now on every change is reported;
                             * comes with the baseline listing */
    IMAP_WATCH_CHANGED,     /* the server reported a change (any mailbox) */
    IMAP_WATCH_DOWN,        /* connection lost; changes may go unreported until UP */
    IMAP_WATCH_UNSUPPORTED, /* no NOTIFY, or it was refused: the watcher has ended */
};

/* Called on the watcher's thread; must be quick and must not call back
 * into the watcher. Never called after imap_watch_stop() returned.
 * listing is NULL but for IMAP_WATCH_UP, where *listing is the
 * LIST-STATUS answer (backend_list_mailboxes) the watcher took after its
 * NOTIFY was accepted, or NULL when it could not take one: with no
 * report after UP, it is what the server holds. The callee may keep it
 * (and set *listing NULL); the watcher frees what is left. */
typedef void (*imap_watch_fn)(void *ctx, enum imap_watch_event ev,
                              struct backend_mailbox_list **listing);

struct imap_watch;

/* Starts a watcher for the account whose pool is given (borrowed; it
 * must outlive the watcher). label names it in logs (copied). Returns 0,
 * or -1 with err (GW_ERR_NOMEM, or GW_ERR_INTERNAL when no thread can be
 * started). */
int imap_watch_start(struct backend_pool *pool, const char *label, imap_watch_fn fn, void *ctx,
                     struct imap_watch **out, struct gw_error *err);

/* Stops the thread (a wait in progress ends at once; a command or
 * connect in progress at most after its timeout), logs out, frees; sets
 * *w NULL. NULL is fine. */
void imap_watch_stop(struct imap_watch **w);

#endif
