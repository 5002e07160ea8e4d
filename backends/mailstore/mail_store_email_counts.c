/* mail_store_email_counts.c - the Mailbox counts (RFC 8621 §2) an email
 * apply leaves behind: a recount of the account after a regular sync,
 * and for a backfill slice (mail_store_backfill.h) only what the Threads
 * it touched changed, since a recount costs as much as the account is big
 * (250 ms at 30,000 messages, once per slice of a few dozen).
 *
 * Every count is a sum over Threads: a mailbox's totalEmails and
 * unreadEmails add up its locations per Thread, its totalThreads counts
 * the Threads with a location in it, its unreadThreads those of them with
 * an unread Email anywhere. A slice only adds Emails and locations, and
 * every Email it adds or changes is in temp.sync_emails, so the counts
 * move by (after - before) summed over those Emails' Threads alone. */
#include "mail_store_apply.h"

/* RFC 8621 §2 counts: unread is neither $seen nor $draft. */
static const char *const sql_recount MAIL_STORE_SQL =
    "WITH unread AS (SELECT email_id, thread_id FROM emails WHERE account_id = ?1"
    "   AND destroyed_modseq IS NULL AND instr(keywords, ' $seen ') = 0"
    "   AND instr(keywords, ' $draft ') = 0),"
    " unread_threads AS (SELECT DISTINCT thread_id FROM unread),"
    " c AS (SELECT l.mailbox_id AS id, count(*) AS total,"
    "   sum(l.email_id IN (SELECT email_id FROM unread)) AS unread,"
    "   count(DISTINCT e.thread_id) AS threads,"
    "   count(DISTINCT CASE WHEN e.thread_id IN unread_threads THEN e.thread_id END) AS uthreads"
    "   FROM email_locations l JOIN emails e ON e.account_id = l.account_id"
    "   AND e.email_id = l.email_id WHERE l.account_id = ?1 GROUP BY l.mailbox_id)"
    " UPDATE mailboxes SET jmap_total = ifnull(c.total, 0), jmap_unread = ifnull(c.unread, 0),"
    " total_threads = ifnull(c.threads, 0), unread_threads = ifnull(c.uthreads, 0),"
    " updated_modseq = max(mailboxes.updated_modseq, ?2)"
    " FROM (SELECT m.mailbox_id AS mid, c.* FROM mailboxes m LEFT JOIN c ON c.id = m.mailbox_id"
    "   WHERE m.account_id = ?1) AS c"
    " WHERE mailboxes.account_id = ?1 AND mailboxes.mailbox_id = c.mid"
    " AND mailboxes.destroyed_modseq IS NULL"
    " AND (jmap_total, jmap_unread, total_threads, unread_threads) IS NOT"
    "   (ifnull(c.total, 0), ifnull(c.unread, 0), ifnull(c.threads, 0), ifnull(c.uthreads, 0))";

/* The touched Threads' share of each mailbox's counts, times ?2: -1 for
 * the state before the slice (without its new Emails, whose
 * updated_modseq is still 0 until they settle, and without its new
 * locations; the other Emails still have their old keywords), +1 after.
 * CROSS JOIN: the few touched Emails drive (mail_store_email_apply.c). */
static const char *const sql_share MAIL_STORE_SQL =
    "INSERT INTO temp.sync_counts(mailbox_id, total, unread, threads, uthreads)"
    " WITH s AS (SELECT DISTINCT e.thread_id AS tid FROM temp.sync_emails x"
    "   CROSS JOIN emails e ON e.account_id = ?1 AND e.email_id = x.id),"
    " te AS (SELECT e.email_id AS id, e.thread_id AS tid,"
    "   instr(e.keywords, ' $seen ') = 0 AND instr(e.keywords, ' $draft ') = 0 AS unread"
    "   FROM s CROSS JOIN emails e INDEXED BY emails_thread"
    "   ON e.account_id = ?1 AND e.thread_id = s.tid"
    "   WHERE e.destroyed_modseq IS NULL AND (?2 > 0 OR e.updated_modseq != 0)),"
    " tu AS (SELECT tid, max(unread) AS u FROM te GROUP BY tid),"
    " tm AS (SELECT l.mailbox_id AS mid, te.tid AS tid, count(*) AS total,"
    "   sum(te.unread) AS unread FROM te CROSS JOIN email_locations l"
    "   INDEXED BY email_locations_email"
    "   ON l.account_id = ?1 AND l.email_id = te.id"
    "   WHERE ?2 > 0 OR NOT EXISTS (SELECT 1 FROM temp.sync_locs n"
    "     WHERE n.mailbox_id = l.mailbox_id AND n.uid = l.uid)"
    "   GROUP BY l.mailbox_id, te.tid)"
    " SELECT tm.mid, ?2 * sum(tm.total), ?2 * sum(tm.unread), ?2 * count(*), ?2 * sum(tu.u)"
    " FROM tm CROSS JOIN tu ON tu.tid = tm.tid GROUP BY tm.mid";
static const char *const sql_add_shares MAIL_STORE_SQL =
    "UPDATE mailboxes SET jmap_total = jmap_total + d.total, jmap_unread = jmap_unread + d.unread,"
    " total_threads = total_threads + d.threads, unread_threads = unread_threads + d.uthreads,"
    " updated_modseq = max(updated_modseq, ?2)"
    " FROM (SELECT mailbox_id AS mid, sum(total) AS total, sum(unread) AS unread,"
    "   sum(threads) AS threads, sum(uthreads) AS uthreads FROM temp.sync_counts"
    "   GROUP BY mailbox_id) AS d"
    " WHERE mailboxes.account_id = ?1 AND mailboxes.mailbox_id = d.mid"
    " AND mailboxes.destroyed_modseq IS NULL"
    " AND (d.total, d.unread, d.threads, d.uthreads) IS NOT (0, 0, 0, 0)";
static const char *const sql_new_location MAIL_STORE_SQL =
    "INSERT OR IGNORE INTO temp.sync_locs VALUES (?1, ?2)";

const char *const mail_apply_sql_count_tables =
    "CREATE TEMP TABLE IF NOT EXISTS sync_locs(mailbox_id TEXT, uid INTEGER,"
    " PRIMARY KEY(mailbox_id, uid));"
    "CREATE TEMP TABLE IF NOT EXISTS sync_counts(mailbox_id TEXT, total INTEGER,"
    " unread INTEGER, threads INTEGER, uthreads INTEGER);"
    "DELETE FROM temp.sync_locs; DELETE FROM temp.sync_counts;";

int mail_apply_recount(struct mail_apply *a, bool *changed)
{
    *changed = false;
    sqlite3_stmt *st = mail_apply_stmt(a, sql_recount);
    if (st != NULL)
        sqlite3_bind_int64(st, 2, (sqlite3_int64)a->created_modseq);
    if (mail_apply_run(a, st, "counts") < 0)
        return -1;
    *changed = sqlite3_changes(a->ms->db) > 0;
    return 0;
}

int mail_apply_new_location(struct mail_apply *a, const char *mailbox_id, uint32_t uid)
{
    sqlite3_stmt *st = mail_store_stmt(a->ms, sql_new_location, a->err);
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, mailbox_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, uid);
    return mail_apply_run(a, st, "new location note");
}

int mail_apply_count_threads(struct mail_apply *a, bool before)
{
    sqlite3_stmt *st = mail_apply_stmt(a, sql_share);
    if (st != NULL)
        sqlite3_bind_int(st, 2, before ? -1 : 1);
    if (mail_apply_run(a, st, "thread counts") < 0)
        return -1;
    if (before)
        return 0;
    st = mail_apply_stmt(a, sql_add_shares);
    if (st != NULL)
        sqlite3_bind_int64(st, 2, (sqlite3_int64)a->created_modseq);
    return mail_apply_run(a, st, "add counts");
}
