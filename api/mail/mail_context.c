/* mail_context.c - the account's mail cache and backend connections for
 * the mail methods (include/jmap_mail.h). */
#include "jmap_mail.h"

#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "gw_log.h"
#include "jmap_submission.h"

static bool baseline_coming(void *ctx)
{
    return account_baseline_coming(ctx);
}

static struct backend_mailbox_list *await_baseline(void *ctx)
{
    return account_baseline_await(ctx);
}

/* account_sync callback: one mail_store_sync on the account's own sync
 * connection, which leaves the request pool's selected mailboxes alone;
 * from the watcher's listing when account_sync_if_stale() gives one, or
 * on a new account once the watcher has taken it. */
static int sync_with_backend(void *ctx, const struct backend_mailbox_list *listing,
                             struct gw_error *err)
{
    struct jmap_mail *m = ctx;
    struct backend_pool *pool = account_sync_pool(m->account);
    struct mail_backend *b = NULL;
    if (backend_pool_acquire(pool, &b, err) != 0)
        return -1;
    struct mail_sync_listing source = { .now = listing, .coming = baseline_coming,
                                        .await = await_baseline, .ctx = m->account };
    /* Cold: a big new mailbox gives its newest messages now and the rest
     * in the background from the account's pool (include/mail_store.h). */
    int rc = mail_store_sync_cold(m->ms, m->account_id, b, account_pool(m->account), &source,
                                  err);
    backend_pool_release(pool, &b);
    return rc;
}

int jmap_mail_open(struct account *account, struct jmap_mail *out, struct gw_error *err)
{
    memset(out, 0, sizeof(*out));
    out->account = account;
    out->account_id = account != NULL ? account_id(account) : NULL;
    out->ms = account != NULL ? account_mail_store(account) : NULL;
    if (out->ms == NULL)
        return gw_error_set(err, GW_ERR_INTERNAL, "this gateway has no mail store");
    return 0;
}

int jmap_mail_sync_now(struct jmap_mail *m, struct gw_error *err)
{
    return account_sync(m->account, sync_with_backend, m, err);
}

json_t *jmap_mail_begin(struct jmap_invocation *inv, struct jmap_mail *out)
{
    const struct jmap_request_ctx *ctx = inv->ctx;
    out->inv = inv;
    out->account = ctx->account;
    out->account_id = ctx->account_id;
    out->ms = ctx->account != NULL ? account_mail_store(ctx->account) : NULL;
    if (out->ms == NULL)
        return jmap_error_new("serverFail", "This gateway has no mail store.");
    if (inv->run != NULL && inv->run->mail_synced)
        return NULL;

    /* A quiet account (its change watcher up and silent) costs no IMAP
     * round trip here; writes call jmap_mail_sync_now() themselves. */
    struct gw_error err = { 0 };
    if (account_sync_if_stale(out->account, sync_with_backend, out, &err) != 0) {
        gw_log_warn("account %s: sync failed: %s", out->account_id, err.msg);
        return jmap_error_from_gw(&err);
    }
    if (inv->run != NULL)
        inv->run->mail_synced = true;
    /* Queued submissions wait for their account's credentials. */
    jmap_submission_account_seen(ctx->account);
    return NULL;
}

json_t *jmap_mail_backend_acquire(struct jmap_mail *m, struct mail_backend **out)
{
    struct gw_error err = { 0 };
    if (backend_pool_acquire(account_pool(m->account), out, &err) != 0) {
        gw_log_warn("account %s: no backend connection: %s", m->account_id, err.msg);
        return jmap_error_from_gw(&err);
    }
    return NULL;
}

void jmap_mail_backend_release(struct jmap_mail *m, struct mail_backend **b)
{
    if (*b != NULL)
        backend_pool_release(account_pool(m->account), b);
}

json_t *jmap_mail_select_email(struct jmap_mail *m, struct mail_backend *b,
                               const char *email_id, uint32_t *uid, bool *gone)
{
    struct gw_error err = { 0 };
    char *name_raw = NULL;
    uint32_t uidvalidity = 0;
    json_t *error = NULL;
    *gone = false;
    if (mail_store_email_locate(m->ms, m->account_id, email_id, &name_raw, &uidvalidity, uid,
                                &err) != 0) {
        if (err.code == GW_ERR_NOTFOUND)
            *gone = true;
        else
            error = jmap_error_from_gw(&err);
        goto out;
    }
    struct backend_select_req req = { .name_raw = name_raw, .read_only = true };
    struct backend_selected *sel = NULL;
    if (backend_select(b, &req, &sel, &err) != 0) {
        if (err.code == GW_ERR_NOTFOUND)
            *gone = true;
        else
            error = jmap_error_from_gw(&err);
        goto out;
    }
    /* A mailbox recreated since the last sync holds other messages under
     * the same uids: never serve those bytes for this Email. */
    if (sel->uidvalidity != uidvalidity)
        *gone = true;

    backend_selected_free(&sel);
out:
    free(name_raw);
    return error;
}

json_t *jmap_mail_state(struct jmap_mail *m, enum mail_store_type type,
                        char out[MAIL_STORE_STATE_MAX])
{
    struct gw_error err = { 0 };
    if (mail_store_state(m->ms, m->account_id, type, out, &err) != 0)
        return jmap_error_from_gw(&err);
    return NULL;
}
