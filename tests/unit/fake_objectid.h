/* fake_objectid.h - the scripted world of a server with RFC 8474
 * OBJECTID, RFC 4314 ACL and RFC 7377 MULTISEARCH (Dovecot 2.3 has none of
 * them), for the unit tests of the mail cache and of Email/query's
 * multi-mailbox search (header-only: each test is its own program).
 *
 * Two phases, switched by the test through a file the forked server reads
 * at every LIST (fake_objectid_setup() makes the directory):
 * - phase 0: INBOX holds Mone, Mtwo, Mthree; Work holds Mfour; Docs none;
 * - phase 1: Mone moved INBOX -> (Work, now called Docs) with another
 *   size, Mtwo copied there, the two mailboxes swap names, Mfive joins
 *   Tone by THREADID alone, Msix is Mfour's twin under its own id. */
#ifndef TESTS_FAKE_OBJECTID_H
#define TESTS_FAKE_OBJECTID_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_mail.h"
#include "fake_imap.h"
#include "mail_store.h"
#include "store.h"


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

static inline int read_phase(void)
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

static inline void write_phase(int p)
{
    FILE *f = fopen(phase_path, "w");
    assert_non_null(f);
    fprintf(f, "%d\n", p);
    assert_int_equal(fclose(f), 0);
}

static inline void sendf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void sendf(int fd, const char *fmt, ...)
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
static inline void arg_name(const char *arg, char *out, size_t size)
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

static inline const struct fbox *box_named(int phase, const char *name)
{
    for (size_t i = 0; i < 3; i++)
        if (strcmp(phases[phase][i].name, name) == 0)
            return &phases[phase][i];
    return NULL;
}

/* Whether uid is in an IMAP uid set like "1:3,5" (no "*" from us). */
static inline bool in_set(const char *set, uint32_t uid)
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

static inline void serve_fetch(int fd, const char *tag, const char *arg, const struct fbox *sel)
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
static inline void serve_multisearch(int fd, const char *tag, const char *arg, int phase)
{
    static const char personal[] = "IN (personal) RETURN (ALL) TEXT \"";
    static const char listed[] = "IN (mailboxes (\"INBOX\" \"Work\")) RETURN (ALL) TEXT \"";
    const char *prefix = strncmp(arg, personal, strlen(personal)) == 0 ? personal
                         : strncmp(arg, listed, strlen(listed)) == 0 ? listed
                                                                      : NULL;
    char text[64];
    size_t len = strlen(arg);
    if (prefix == NULL || arg[len - 1] != '"' || len - strlen(prefix) > sizeof(text)) {
        fake_imap_reply(fd, tag, "BAD unexpected ESEARCH");
        return;
    }
    snprintf(text, sizeof(text), "%.*s", (int)(len - strlen(prefix) - 1), arg + strlen(prefix));
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

static inline void serve(int fd, int unused)
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
static char dir[64];

static inline const struct mail_store_mailbox *box(const struct mail_store_mailbox_list *l,
                                                   const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return &l->v[i];
    fail_msg("no mailbox %s", name);
    return NULL;
}

/* Email ids of a mailbox by receivedAt (the fake's uids order them). */
static inline struct mail_store_email_list *emails(struct mail_store *ms, const char *mailbox_id)
{
    struct mail_store_email_list *l = NULL;
    struct gw_error err = { 0 };
    if (mail_store_list_emails(ms, "a1", mailbox_id, MAIL_STORE_WITH_HEADERS, &l, &err) != 0)
        fail_msg("list: %s", err.msg);
    return l;
}

/* The Email of a list whose header block holds needle. */
static inline const struct mail_store_email *with_header(const struct mail_store_email_list *l,
                                                         const char *needle)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].headers != NULL && strstr(l->v[i].headers, needle) != NULL)
            return &l->v[i];
    fail_msg("no Email with %s", needle);
    return NULL;
}

static inline void sync_now(struct mail_store *ms, struct mail_backend *b)
{
    struct gw_error err = { 0 };
    if (mail_store_sync(ms, "a1", b, &err) != 0)
        fail_msg("sync: %s", err.msg);
}

static inline struct mail_backend *connect_fake(void)
{
    return fake_imap_connect(server.port, 3000);
}

static inline int fake_objectid_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/jmapgw-objectid-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_true(snprintf(phase_path, sizeof(phase_path), "%s/phase", dir) <
                (int)sizeof(phase_path));
    assert_int_equal(fake_imap_start_fn(&server, serve, 0), 0);
    return 0;
}

/* Stops the server and removes the directory with the databases named
 * <db>.db the tests opened in it. */
static inline int fake_objectid_teardown(void **state)
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

#endif
