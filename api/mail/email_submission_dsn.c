/* email_submission_dsn.c - delivery status notifications (RFC 3464) in
 * the account's mailboxes applied to EmailSubmission deliveryStatus.
 *
 * Hook: every EmailSubmission method (email_submission_begin), after the
 * account's sync. Only while some final submission still waits for a
 * report (a recipient "queued" or "unknown") are Emails looked at, and
 * only those received since the oldest such submission was sent; each is
 * fetched and parsed once (the store remembers the ids it saw), matched
 * to a submission by its Original-Envelope-Id (our ENVID: the submission
 * id, or the client's own ENVID parameter). */
#define _GNU_SOURCE 1 /* timegm */
#include "email_submission_dsn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "email_submission.h"
#include "gw_log.h"
#include "jmap_blob.h"
#include "jmap_mime.h"
#include "mail_store.h"
#include "submission_store.h"

/* Emails looked at per call (newest first), and fetched per call: a large
 * new backlog is worked through over several calls. */
#define DSN_SCAN_MAX 500
#define DSN_FETCH_MAX 20
/* Reports are received after the send; allow for clock skew. */
#define DSN_SKEW_S 300

static bool waits_for_report(json_t *o)
{
    const char *key;
    json_t *v;

    if (strcmp(json_string_value(json_object_get(o, "undoStatus")), "final") != 0)
        return false;
    json_object_foreach(json_object_get(o, "deliveryStatus"), key, v) {
        const char *d = json_string_value(json_object_get(v, "delivered"));
        if (d != NULL && (strcmp(d, "queued") == 0 || strcmp(d, "unknown") == 0))
            return true;
    }
    return false;
}

/* sendAt of the oldest submission waiting for a report, 0 when none. */
static int64_t oldest_waiting(json_t *all)
{
    int64_t oldest = 0;
    size_t i;
    json_t *o;

    json_array_foreach(all, i, o) {
        struct tm tm;
        const char *at = json_string_value(json_object_get(o, "sendAt"));
        memset(&tm, 0, sizeof(tm));
        if (!waits_for_report(o) || at == NULL || strptime(at, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
            continue;
        int64_t t = (int64_t)timegm(&tm);
        if (oldest == 0 || t < oldest)
            oldest = t;
    }
    return oldest;
}

/* The submission a report's envelope id names (borrowed), or NULL. */
static json_t *by_envid(json_t *all, const char *envid)
{
    size_t i;
    json_t *o;

    if (envid == NULL)
        return NULL;
    json_array_foreach(all, i, o) {
        json_t *params = json_object_get(
            json_object_get(json_object_get(o, "envelope"), "mailFrom"), "parameters");
        const char *own = json_string_value(json_object_get(params, "ENVID"));
        const char *ours = own != NULL ? own : json_string_value(json_object_get(o, "id"));
        if (ours != NULL && strcmp(ours, envid) == 0)
            return o;
    }
    return NULL;
}

/* The deliveryStatus entry of a reported recipient (borrowed), or NULL. */
static json_t *status_of(json_t *ds, const struct dsn_recipient *r)
{
    const char *cand[] = {r->original_recipient, r->final_recipient};
    const char *key;
    json_t *v;

    for (size_t k = 0; k < 2; k++)
        json_object_foreach(ds, key, v)
            if (cand[k] != NULL && strcasecmp(key, cand[k]) == 0)
                return v;
    return NULL;
}

/* The report in the message's delivery-status part, 0 when it has one. */
static int report_of(const char *msg, size_t len, struct dsn_report *rep)
{
    struct jmap_mime_message *mm = NULL;
    struct gw_error err = {0};
    int ret = -1;

    memset(rep, 0, sizeof(*rep));
    if (jmap_mime_parse(msg, len, &mm, &err) != 0)
        return -1;
    const struct jmap_mime_part *root = &mm->root;
    if (strcmp(root->type, "multipart/report") != 0)
        goto out;
    for (size_t i = 0; i < root->n_children; i++) {
        const struct jmap_mime_part *p = &root->children[i];
        if (strcmp(p->type, "message/delivery-status") != 0 &&
            strcmp(p->type, "message/global-delivery-status") != 0)
            continue;
        size_t n = 0;
        char *body = jmap_mime_decode(p->encoding, msg + p->body_offset, p->body_len, &n, NULL);
        if (body != NULL)
            ret = email_submission_dsn_parse(body, n, rep);
        free(body);
        break;
    }
out:
    jmap_mime_message_free(&mm);
    return ret;
}

/* Applies the report to its submission (a changed copy), or NULL when it
 * names none of ours. New reference. */
static json_t *applied(json_t *all, const struct dsn_report *rep, const char *email_id)
{
    json_t *sub = by_envid(all, rep->envelope_id);
    char blob[JMAP_BLOB_ID_MAX];
    bool any = false;

    if (sub == NULL || !jmap_blob_id_make(email_id, NULL, blob))
        return NULL;
    json_t *o = json_deep_copy(sub);
    json_t *ds = json_object_get(o, "deliveryStatus");
    for (size_t i = 0; o != NULL && i < rep->n_rcpts; i++) {
        json_t *st = status_of(ds, &rep->rcpts[i]);
        if (st == NULL || rep->rcpts[i].action == NULL)
            continue;
        json_object_set_new(st, "delivered",
                            json_string(email_submission_dsn_delivered(rep->rcpts[i].action)));
        any = true;
    }
    if (!any) {
        json_decref(o);
        return NULL;
    }
    json_t *blobs = json_object_get(o, "dsnBlobIds");
    if (!json_is_array(blobs)) {
        blobs = json_array();
        json_object_set_new(o, "dsnBlobIds", blobs);
    }
    json_array_append_new(blobs, json_string(blob));
    return o;
}

/* Looks at one new Email: a report of ours updates its submission (and
 * the in-memory list, so a second report of the same call sees it). */
static void look_at(struct jmap_mail *m, json_t *all, const char *email_id)
{
    struct gw_error err = {0};
    struct dsn_report rep;
    json_t *set_error = NULL, *o = NULL;
    char *msg = NULL;
    size_t len = 0;

    if (email_submission_fetch(m, email_id, &msg, &len, &set_error) != 0) {
        /* Gone or unreadable now: the next sync decides; not marked. */
        json_decref(set_error);
        return;
    }
    if (report_of(msg, len, &rep) == 0)
        o = applied(all, &rep, email_id);
    const char *id = o != NULL ? json_string_value(json_object_get(o, "id")) : NULL;
    if (submission_store_dsn_apply(m->ms, m->account_id, email_id, id, o, &err) != 0)
        gw_log_warn("account %s: delivery report %s: %s", m->account_id, email_id, err.msg);
    else if (id != NULL)
        gw_log_info("account %s: delivery report %s applied to %s", m->account_id, email_id, id);
    if (o != NULL) {
        json_t *sub = by_envid(all, rep.envelope_id);
        json_object_update(sub, o);
    }
    json_decref(o);
    email_submission_dsn_clear(&rep);
    free(msg);
}

void email_submission_dsn_scan(struct jmap_mail *m)
{
    struct mail_store_email_list *list = NULL;
    struct gw_error err = {0};
    char state[SUBMISSION_STATE_MAX];
    json_t *all = NULL;
    size_t fetched = 0;

    if (submission_store_list(m->ms, m->account_id, &all, state, &err) != 0)
        goto out;
    int64_t since = oldest_waiting(all);
    if (since == 0)
        goto out;
    if (mail_store_list_emails(m->ms, m->account_id, NULL, 0, &list, &err) != 0)
        goto out;
    for (size_t i = 0; i < list->n && i < DSN_SCAN_MAX && fetched < DSN_FETCH_MAX; i++) {
        const struct mail_store_email *e = &list->v[i];
        if (e->received_at < since - DSN_SKEW_S)
            break;      /* newest first: the rest is older still */
        int seen = submission_store_dsn_seen(m->ms, m->account_id, e->id);
        if (seen != 0)
            continue;
        fetched++;
        look_at(m, all, e->id);
    }
out:
    if (err.code != 0)
        gw_log_warn("account %s: delivery reports: %s", m->account_id, err.msg);
    mail_store_email_list_free(&list);
    json_decref(all);
}
