/* test_mail_store_objectid.c - the mail cache on a server with RFC 8474
 * OBJECTID and RFC 4314 ACL (Dovecot 2.3 has neither OBJECTID nor, by
 * default, ACL), played by a scripted fake IMAP server in two phases:
 * - EMAILID decides identity: a message moved with another size keeps its
 *   id, a copy is the same Email, an identical message with its own
 *   EMAILID is another Email;
 * - THREADID decides threads, over Message-ID and References;
 * - MAILBOXID decides mailboxes: two mailboxes swapping names keep their
 *   ids (and their Emails), where names alone would mix them up;
 * - MYRIGHTS letters become myRights. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../api/mail/email_query.h"
#include "../../backends/imap/imap_read.h"
#include "backend_mail.h"
#include "fake_imap.h"
#include "mail_store.h"
#include "store.h"

/* ---- The fake server's world ------------------------------------------ */

struct fmsg {
    uint32_t uid;
    const char *emailid, *threadid;     /* threadid NULL: THREADID NIL */
    const char *headers;
    unsigned size;
};

struct fbox {
    const char *name, *mailboxid, *rights;
    uint32_t uidvalidity;
    struct fmsg m[4];
    size_t n;
};

static const char hdr_a[] = "Subject: Plans\r\nMessage-ID: <a@x>\r\n\r\n";
static const char hdr_b[] = "Subject: Re: Plans\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n\r\n";
static const char hdr_c[] = "Subject: Re: Plans\r\nMessage-ID: <c@x>\r\nReferences: <a@x>\r\n\r\n";
static const char hdr_d[] = "Subject: Notes\r\nMessage-ID: <d@x>\r\n\r\n";
static const char hdr_e[] = "Subject: Unrelated\r\nMessage-ID: <e@x>\r\n\r\n";

#define ALL_RIGHTS "lrswipkxte"

/* Phase 0, then phase 1: Mone moved INBOX -> (Work, now called Docs) with
 * another size, Mtwo copied there, the two mailboxes swap names, Mfive
 * joins Tone by THREADID alone, Msix is Mfour's twin under its own id. */
static const struct fbox phases[2][3] = {
    {
        { "INBOX", "Finbox", ALL_RIGHTS, 1, { { 1, "Mone", "Tone", hdr_a, 100 },
                                               { 2, "Mtwo", "Tone", hdr_b, 200 },
                                               { 3, "Mthree", "Tthree", hdr_c, 300 } }, 3 },
        { "Work", "Fwork", "lr", 7, { { 1, "Mfour", NULL, hdr_d, 400 } }, 1 },
        { "Docs", "Fdocs", ALL_RIGHTS, 9, { { 0 } }, 0 },
    },
    {
        { "INBOX", "Finbox", ALL_RIGHTS, 1, { { 2, "Mtwo", "Tone", hdr_b, 200 },
                                               { 3, "Mthree", "Tthree", hdr_c, 300 },
                                               { 4, "Mfive", "Tone", hdr_e, 500 },
                                               { 5, "Msix", NULL, hdr_d, 400 } }, 4 },
        { "Docs", "Fwork", "lr", 7, { { 1, "Mfour", NULL, hdr_d, 400 },
                                      { 2, "Mone", "Tone", hdr_a, 101 },
                                      { 3, "Mtwo", "Tone", hdr_b, 200 } }, 3 },
        { "Work", "Fdocs", ALL_RIGHTS, 9, { { 0 } }, 0 },
    },
};

static char phase_path[128];

static int read_phase(void)
{
    FILE *f = fopen(phase_path, "r");
    int p = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &p) != 1)
            p = 0;
        fclose(f);
    }
    return p == 1 ? 1 : 0;
}

static void write_phase(int p)
{
    FILE *f = fopen(phase_path, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", p);
    assert_int_equal(fclose(f), 0);
}

static void sendf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sendf(int fd, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof(buf))
        _exit(2);
    fake_imap_send(fd, buf);
}

/* The mailbox name of a command argument, quotes stripped. */
static void arg_name(const char *arg, char *out, size_t size)
{
    size_t n = 0;
    const char *p = arg;
    bool quoted = *p == '"';
    if (quoted)
        p++;
    while (*p != '\0' && n + 1 < size && (quoted ? *p != '"' : *p != ' '))
        out[n++] = *p++;
    out[n] = '\0';
}

static const struct fbox *box_named(int phase, const char *name)
{
    for (size_t i = 0; i < 3; i++)
        if (strcmp(phases[phase][i].name, name) == 0)
            return &phases[phase][i];
    return NULL;
}

/* Whether uid is in an IMAP uid set like "1:3,5" (no "*" from us). */
static bool in_set(const char *set, uint32_t uid)
{
    const char *p = set;
    while (*p != '\0' && *p != ' ') {
        char *end = NULL;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (end == p)
            return false;
        p = end;
        if (*p == ':') {
            hi = strtoul(p + 1, &end, 10);
            p = end;
        }
        if (uid >= lo && uid <= hi)
            return true;
        if (*p == ',')
            p++;
    }
    return false;
}

static void serve_fetch(int fd, const char *tag, const char *arg, const struct fbox *sel)
{
    if (strstr(arg, "X-GUID") != NULL) {
        fake_imap_reply(fd, tag, "BAD unknown fetch item X-GUID");
        return;
    }
    const char *set = arg + strlen("FETCH ");
    bool full = strstr(arg, "RFC822.SIZE") != NULL;
    for (size_t i = 0; sel != NULL && i < sel->n; i++) {
        const struct fmsg *m = &sel->m[i];
        if (!in_set(set, m->uid))
            continue;
        if (!full) {
            sendf(fd, "* %zu FETCH (UID %u FLAGS ())\r\n", i + 1, m->uid);
            continue;
        }
        char thread[64];
        snprintf(thread, sizeof(thread), m->threadid != NULL ? "(%s)" : "NIL",
                 m->threadid != NULL ? m->threadid : "");
        sendf(fd,
              "* %zu FETCH (UID %u FLAGS () INTERNALDATE \"02-Nov-2026 10:00:0%u +0000\""
              " RFC822.SIZE %u BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL"
              " NIL \"7bit\" 10 1 NIL NIL NIL NIL) EMAILID (%s) THREADID %s"
              " BODY[HEADER.FIELDS (SUBJECT MESSAGE-ID REFERENCES)] {%zu}\r\n%s)\r\n",
              i + 1, m->uid, m->uid % 10, m->size, m->emailid, thread, strlen(m->headers),
              m->headers);
    }
    fake_imap_reply(fd, tag, "OK Fetch completed");
}

/* ESEARCH IN (personal) RETURN (ALL) TEXT "x": the messages whose header
 * block holds x, one answer per mailbox, among answers that are not ours
 * (another TAG, a mailbox the cache does not hold). Text "stale" answers
 * from an INBOX of another UIDVALIDITY. */
static void serve_multisearch(int fd, const char *tag, const char *arg, int phase)
{
    static const char prefix[] = "IN (personal) RETURN (ALL) TEXT \"";
    char text[64];
    size_t len = strlen(arg);
    if (strncmp(arg, prefix, sizeof(prefix) - 1) != 0 || arg[len - 1] != '"' ||
        len - sizeof(prefix) >= sizeof(text)) {
        fake_imap_reply(fd, tag, "BAD unexpected ESEARCH");
        return;
    }
    snprintf(text, sizeof(text), "%.*s", (int)(len - sizeof(prefix)), arg + sizeof(prefix) - 1);
    bool stale = strcmp(text, "stale") == 0;
    sendf(fd, "* ESEARCH (TAG \"X%s\" MAILBOX \"INBOX\" UIDVALIDITY 1) UID ALL 1:3\r\n", tag);
    sendf(fd, "* ESEARCH (TAG \"%s\" MAILBOX \"Ghost\" UIDVALIDITY 5) UID ALL 1:3\r\n", tag);
    for (size_t b = 0; b < 3; b++) {
        const struct fbox *x = &phases[phase][b];
        sendf(fd, "* ESEARCH (TAG \"%s\" MAILBOX \"%s\" UIDVALIDITY %u) UID", tag, x->name,
              x->uidvalidity + (stale && b == 0));
        const char *sep = " ALL ";
        for (size_t k = 0; k < x->n; k++) {
            if (stale || strstr(x->m[k].headers, text) != NULL) {
                sendf(fd, "%s%u", sep, x->m[k].uid);
                sep = ",";
            }
        }
        fake_imap_send(fd, "\r\n");
    }
    fake_imap_reply(fd, tag, "OK Search completed");
}

static const char caps[] =
    "IMAP4rev1 LITERAL+ UNSELECT LIST-EXTENDED LIST-STATUS OBJECTID ACL ESEARCH MULTISEARCH";

static void serve(int fd, int unused)
{
    (void)unused;
    char line[2048], tag[64], cmd[64], arg[1900];
    int phase = 0;
    const struct fbox *sel = NULL;
    fake_imap_send(fd, "* OK fake OBJECTID server ready\r\n");
    for (int i = 0; i < 400; i++) {
        fake_imap_read_line(fd, line, sizeof(line));
        tag[0] = cmd[0] = arg[0] = '\0';
        if (sscanf(line, "%63s %63s %1899[^\n]", tag, cmd, arg) < 2) {
            fake_imap_reply(fd, "*", "BAD syntax");
            continue;
        }
        if (strcasecmp(cmd, "CAPABILITY") == 0) {
            sendf(fd, "* CAPABILITY %s\r\n", caps);
            fake_imap_reply(fd, tag, "OK done");
        } else if (strcasecmp(cmd, "LOGIN") == 0) {
            sendf(fd, "%s OK [CAPABILITY %s] logged in\r\n", tag, caps);
        } else if (strcasecmp(cmd, "LIST") == 0) {
            phase = read_phase();   /* one phase per sync */
            for (size_t b = 0; b < 3; b++) {
                const struct fbox *x = &phases[phase][b];
                uint32_t next = x->n > 0 ? x->m[x->n - 1].uid + 1 : 1;
                sendf(fd, "* LIST (\\HasNoChildren) \"/\" %s\r\n", x->name);
                sendf(fd, "* STATUS %s (MESSAGES %zu UNSEEN 0 UIDVALIDITY %u UIDNEXT %u"
                          " MAILBOXID (%s))\r\n",
                      x->name, x->n, x->uidvalidity, next, x->mailboxid);
            }
            fake_imap_reply(fd, tag, "OK List completed");
        } else if (strcasecmp(cmd, "MYRIGHTS") == 0) {
            char name[128];
            arg_name(arg, name, sizeof(name));
            const struct fbox *x = box_named(phase, name);
            if (x == NULL) {
                fake_imap_reply(fd, tag, "NO [NONEXISTENT] no such mailbox");
                continue;
            }
            sendf(fd, "* MYRIGHTS %s %s\r\n", x->name, x->rights);
            fake_imap_reply(fd, tag, "OK Myrights completed");
        } else if (strcasecmp(cmd, "EXAMINE") == 0 || strcasecmp(cmd, "SELECT") == 0) {
            char name[128];
            arg_name(arg, name, sizeof(name));
            sel = box_named(phase, name);
            if (sel == NULL) {
                fake_imap_reply(fd, tag, "NO [NONEXISTENT] no such mailbox");
                continue;
            }
            uint32_t next = sel->n > 0 ? sel->m[sel->n - 1].uid + 1 : 1;
            sendf(fd, "* FLAGS (\\Seen)\r\n* %zu EXISTS\r\n* OK [UIDVALIDITY %u] ok\r\n"
                      "* OK [UIDNEXT %u] ok\r\n%s OK [READ-ONLY] done\r\n",
                  sel->n, sel->uidvalidity, next, tag);
        } else if (strcasecmp(cmd, "UNSELECT") == 0 || strcasecmp(cmd, "CLOSE") == 0) {
            sel = NULL;
            fake_imap_reply(fd, tag, "OK done");
        } else if (strcasecmp(cmd, "UID") == 0 && strncasecmp(arg, "SEARCH", 6) == 0) {
            fake_imap_send(fd, "* SEARCH");
            for (size_t k = 0; sel != NULL && k < sel->n; k++)
                sendf(fd, " %u", sel->m[k].uid);
            fake_imap_send(fd, "\r\n");
            fake_imap_reply(fd, tag, "OK Search completed");
        } else if (strcasecmp(cmd, "ESEARCH") == 0) {
            serve_multisearch(fd, tag, arg, phase);
        } else if (strcasecmp(cmd, "UID") == 0 && strncasecmp(arg, "FETCH ", 6) == 0) {
            serve_fetch(fd, tag, arg, sel);
        } else if (strcasecmp(cmd, "NOOP") == 0) {
            fake_imap_reply(fd, tag, "OK done");
        } else if (strcasecmp(cmd, "LOGOUT") == 0) {
            fake_imap_send(fd, "* BYE bye\r\n");
            fake_imap_reply(fd, tag, "OK bye");
            _exit(0);
        } else {
            fake_imap_reply(fd, tag, "BAD unknown command");
        }
    }
    _exit(0);
}

static struct fake_imap server;

/* ---- The test ---------------------------------------------------------- */

static char dir[64];

static const struct mail_store_mailbox *box(const struct mail_store_mailbox_list *l,
                                            const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    fail_msg("no mailbox %s", name);
    return NULL;
}

/* Email ids of a mailbox by receivedAt (the fake's uids order them). */
static struct mail_store_email_list *emails(struct mail_store *ms, const char *mailbox_id)
{
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    if (mail_store_list_emails(ms, "a1", mailbox_id, MAIL_STORE_WITH_HEADERS, &l, &err) != 0)
        fail_msg("list: %s", err.msg);
    return l;
}

/* The Email of a list whose header block holds needle. */
static const struct mail_store_email *with_header(const struct mail_store_email_list *l,
                                                  const char *needle)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].headers != NULL && strstr(l->v[i].headers, needle) != NULL)
            return &l->v[i];
    fail_msg("no Email with %s", needle);
    return NULL;
}

static void sync_now(struct mail_store *ms, struct mail_backend *b)
{
    struct gw_error err = { 0 };
    if (mail_store_sync(ms, "a1", b, &err) != 0)
        fail_msg("sync: %s", err.msg);
}

static struct mail_backend *connect_fake(void)
{
    struct backend_endpoint ep = { .host = "127.0.0.1", .port = server.port, .tls = GW_TLS_NONE,
                                   .connect_timeout_ms = 3000, .command_timeout_ms = 3000 };
    struct backend_credentials cred = { "test", "secret" };
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    if (backend_imap_open(&ep, &cred, &b, &err) != 0)
        fail_msg("open: %s", err.msg);
    return b;
}

static void test_objectid(void **unused)
{
    (void)unused;
    struct gw_error err = { 0 };
    struct store *st = NULL;
    struct mail_store *ms = NULL;
    char db[128];
    assert_true(snprintf(db, sizeof(db), "%s/o.db", dir) < (int)sizeof(db));
    assert_int_equal(store_open(db, &st, &err), 0);
    assert_int_equal(store_account_ensure(st, "a1", "test", &err), 0);
    assert_int_equal(mail_store_open(st, &ms, &err), 0);
    write_phase(0);

    struct mail_backend *b = connect_fake();
    assert_true(backend_has_capability(b, "OBJECTID"));

    /* Phase 0. */
    sync_now(ms, b);
    struct mail_store_mailbox_list *ml = NULL;
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &ml, &err), 0);
    char inbox[MAIL_STORE_ID_MAX], work[MAIL_STORE_ID_MAX], docs[MAIL_STORE_ID_MAX];
    snprintf(inbox, sizeof(inbox), "%s", box(ml, "INBOX")->id);
    snprintf(work, sizeof(work), "%s", box(ml, "Work")->id);
    snprintf(docs, sizeof(docs), "%s", box(ml, "Docs")->id);
    assert_int_equal(box(ml, "Work")->rights, MAIL_STORE_MAY_READ_ITEMS);
    assert_int_equal(box(ml, "Docs")->rights, MAIL_STORE_RIGHTS_ALL);
    assert_int_equal(box(ml, "INBOX")->rights, MAIL_STORE_RIGHTS_ALL);
    mail_store_mailbox_list_free(&ml);

    struct mail_store_email_list *l = emails(ms, inbox);
    assert_int_equal(l->n, 3);
    char id_a[MAIL_STORE_ID_MAX], id_b[MAIL_STORE_ID_MAX], t_a[MAIL_STORE_ID_MAX];
    const struct mail_store_email *a = with_header(l, "Message-ID: <a@x>"), *b2 = with_header(l, "Message-ID: <b@x>"),
                                   *c = with_header(l, "Message-ID: <c@x>");
    snprintf(id_a, sizeof(id_a), "%s", a->id);
    snprintf(id_b, sizeof(id_b), "%s", b2->id);
    snprintf(t_a, sizeof(t_a), "%s", a->thread_id);
    assert_string_equal(b2->thread_id, t_a);
    /* References <a@x>, yet the server threads it apart: THREADID wins. */
    assert_string_not_equal(c->thread_id, t_a);
    mail_store_email_list_free(&l);
    l = emails(ms, work);
    assert_int_equal(l->n, 1);
    char id_d[MAIL_STORE_ID_MAX];
    snprintf(id_d, sizeof(id_d), "%s", l->v[0].id);
    mail_store_email_list_free(&l);

    /* Phase 1. */
    char e1[MAIL_STORE_STATE_MAX];
    assert_int_equal(mail_store_state(ms, "a1", MAIL_STORE_EMAIL, e1, &err), 0);
    write_phase(1);
    sync_now(ms, b);
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &ml, &err), 0);
    /* MAILBOXID: the swapped names follow the server's ids. */
    assert_string_equal(box(ml, "Docs")->id, work);
    assert_string_equal(box(ml, "Work")->id, docs);
    assert_int_equal(box(ml, "Docs")->rights, MAIL_STORE_MAY_READ_ITEMS);
    mail_store_mailbox_list_free(&ml);

    struct mail_store_changes ch = { 0 };
    assert_int_equal(mail_store_changes(ms, "a1", MAIL_STORE_EMAIL, e1, 0, &ch, &err), 0);
    assert_int_equal(ch.created.n, 2);      /* Mfive, Msix */
    assert_int_equal(ch.destroyed.n, 0);
    mail_store_changes_clear(&ch);

    l = emails(ms, work);   /* the mailbox now called Docs */
    assert_int_equal(l->n, 3);
    assert_string_equal(with_header(l, "Message-ID: <a@x>")->id, id_a);    /* moved, other size */
    assert_string_equal(with_header(l, "Message-ID: <b@x>")->id, id_b);    /* copied */
    assert_int_equal(with_header(l, "Message-ID: <b@x>")->n_mailbox_ids, 2);
    assert_string_equal(with_header(l, "Message-ID: <d@x>")->id, id_d);
    mail_store_email_list_free(&l);

    l = emails(ms, inbox);
    assert_int_equal(l->n, 4);
    /* No References to the thread, same THREADID: same thread. */
    assert_string_equal(with_header(l, "Message-ID: <e@x>")->thread_id, t_a);
    /* Byte-identical to Mfour but its own EMAILID: another Email. */
    const struct mail_store_email *twin = with_header(l, "Message-ID: <d@x>");
    assert_string_not_equal(twin->id, id_d);
    assert_int_equal(twin->n_mailbox_ids, 1);
    mail_store_email_list_free(&l);

    backend_close(&b);
    mail_store_close(&ms);
    store_close(&st);
}

/* Asserts that {"text": text}, searched by email_query_search_on(), finds
 * exactly the Emails of all whose header block holds one of want[]. */
static void assert_hits(struct mail_store *ms, struct mail_backend *b,
                        const struct mail_store_email_list *all, const char *text,
                        const char *const *want, size_t n_want)
{
    struct jmap_mail m = { .ms = ms, .account_id = "a1" };
    struct email_query q = { .m = &m, .backend = b };
    struct gw_error err = { 0 };
    json_t *filter = json_pack("{ss}", "text", text);
    json_t *cond = json_object_get(filter, "text");
    assert_int_equal(mail_store_list_mailboxes(ms, "a1", &q.mailboxes, &err), 0);
    json_t *error = email_query_search_on(&q, filter);
    if (error != NULL)
        fail_msg("search: %s", json_string_value(json_object_get(error, "description")));
    size_t found = 0;
    for (size_t i = 0; i < all->n; i++)
        found += email_query_hit(&q, cond, all->v[i].id);
    assert_int_equal(found, n_want);
    for (size_t i = 0; i < n_want; i++)
        assert_true(email_query_hit(&q, cond, with_header(all, want[i])->id));
    q.backend = NULL;   /* the test's own connection, not the pool's */
    email_query_clear(&q);
    json_decref(filter);
}

/* A whole-account text search on a MULTISEARCH server: one ESEARCH (the
 * fake refuses any other form, and answers UID SEARCH with every uid), the
 * answers mapped by mailbox name and trusted only in the cached epoch. */
static void test_multisearch(void **unused)
{
    (void)unused;
    struct gw_error err = { 0 };
    struct store *st = NULL;
    struct mail_store *ms = NULL;
    char db[128];
    assert_true(snprintf(db, sizeof(db), "%s/m.db", dir) < (int)sizeof(db));
    assert_int_equal(store_open(db, &st, &err), 0);
    assert_int_equal(store_account_ensure(st, "a1", "test", &err), 0);
    assert_int_equal(mail_store_open(st, &ms, &err), 0);
    write_phase(0);
    struct mail_backend *b = connect_fake();
    sync_now(ms, b);
    struct mail_store_email_list *all = NULL;
    assert_int_equal(mail_store_list_emails(ms, "a1", NULL, MAIL_STORE_WITH_HEADERS, &all, &err),
                     0);
    assert_int_equal(all->n, 4);

    static const char *const replies[] = { "<b@x>", "<c@x>" }, *const notes[] = { "<d@x>" };
    assert_hits(ms, b, all, "Re: Plans", replies, 2);
    assert_hits(ms, b, all, "Notes", notes, 1);     /* Work's only message */
    /* INBOX answers from another epoch (uids of unknown messages): only
     * Work's answer counts. */
    assert_hits(ms, b, all, "stale", notes, 1);

    mail_store_email_list_free(&all);
    backend_close(&b);
    mail_store_close(&ms);
    store_close(&st);
}

/* RFC 8474 objectid values: "(" 1*255(ALPHA / DIGIT / "_" / "-") ")" or NIL. */
static void test_objectid_values(void **unused)
{
    (void)unused;
    static const struct {
        const char *atom;   /* the one item inside the list; NULL: NIL */
        bool list;          /* parenthesised */
        int rc;
        const char *want;
    } cases[] = {
        { "M6d99ac3275bb4e", true, 0, "M6d99ac3275bb4e" },
        { "F2212ea87-6097-4256_9d51", true, 0, "F2212ea87-6097-4256_9d51" },
        { NULL, false, 0, NULL },
        { "M6d99ac3275bb4e", false, -1, NULL },     /* not in parentheses */
        { "a.b", true, -1, NULL },
        { "a/b", true, -1, NULL },
        { "", true, -1, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct imap_value atom = { .type = IMAP_V_ATOM };
        struct imap_value v = { .type = IMAP_V_NIL };
        if (cases[i].atom != NULL) {
            atom.s = cases[i].atom;
            atom.len = strlen(cases[i].atom);
            v = cases[i].list ? (struct imap_value){ .type = IMAP_V_LIST, .items = &atom, .n = 1 }
                              : atom;
        }
        char *out = NULL;
        assert_int_equal(imap_objectid(&v, &out), cases[i].rc);
        if (cases[i].want != NULL)
            assert_string_equal(out, cases[i].want);
        else
            assert_null(out);
        free(out);
    }
    /* Longer than 255 characters. */
    char longer[300];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    struct imap_value atom = { .type = IMAP_V_ATOM, .s = longer, .len = strlen(longer) };
    struct imap_value v = { .type = IMAP_V_LIST, .items = &atom, .n = 1 };
    char *out = NULL;
    assert_int_equal(imap_objectid(&v, &out), -1);
    assert_null(out);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/jmapgw-objectid-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_true(snprintf(phase_path, sizeof(phase_path), "%s/phase", dir) <
                (int)sizeof(phase_path));
    assert_int_equal(fake_imap_start_fn(&server, serve, 0), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_imap_stop(&server);
    char path[160];
    static const char *const files[] = { "phase", "o.db", "o.db-wal", "o.db-shm",
                                         "m.db", "m.db-wal", "m.db-shm" };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objectid_values),
        cmocka_unit_test(test_objectid),
        cmocka_unit_test(test_multisearch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
