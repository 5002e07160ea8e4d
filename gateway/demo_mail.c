/* demo_mail.c - the demo messages, embedded so an installed binary needs no
 * data files, and the code that writes them into a new maildir.
 *
 * Together they exercise what a JMAP client shows first: plain text,
 * multipart/alternative, an attachment, RFC 2047 words in UTF-8 and
 * ISO-8859-1, a three-message thread crossing INBOX and Sent, and flags.
 */
#include "demo_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEMO_FROM_ALICE "From: Alice Example <alice@jmap-gateway.test>\n"
#define DEMO_TO_DEMO "To: Demo User <demo@jmap-gateway.test>\n"

const struct demo_mail_message demo_mail_messages[] = {
    {"INBOX", "S", 1709283600,
     DEMO_FROM_ALICE DEMO_TO_DEMO
     "Subject: Welcome to jmap-gateway\n"
     "Date: Fri, 01 Mar 2024 09:00:00 +0000\n"
     "Message-ID: <welcome.1@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=us-ascii\n"
     "\n"
     "Hello,\n"
     "\n"
     "this mailbox lives in a private Dovecot; everything you see through\n"
     "JMAP is read from it over IMAP.\n"
     "\n"
     "Alice\n"},
    {"INBOX", "", 1709374500,
     DEMO_FROM_ALICE DEMO_TO_DEMO
     "Subject: Newsletter: spring edition\n"
     "Date: Sat, 02 Mar 2024 10:15:00 +0000\n"
     "Message-ID: <newsletter.2@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: multipart/alternative; boundary=\"alt-boundary-2\"\n"
     "\n"
     "--alt-boundary-2\n"
     "Content-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: 7bit\n"
     "\n"
     "Spring edition\n"
     "\n"
     "* Three new features\n"
     "* One fixed bug\n"
     "\n"
     "--alt-boundary-2\n"
     "Content-Type: text/html; charset=utf-8\n"
     "Content-Transfer-Encoding: 7bit\n"
     "\n"
     "<html><body><h1>Spring edition</h1>\n"
     "<ul><li>Three new features</li><li>One fixed bug</li></ul>\n"
     "</body></html>\n"
     "\n"
     "--alt-boundary-2--\n"},
    {"INBOX", "S", 1709562600,
     DEMO_FROM_ALICE DEMO_TO_DEMO
     "Subject: The list you asked for\n"
     "Date: Mon, 04 Mar 2024 14:30:00 +0000\n"
     "Message-ID: <attachment.3@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: multipart/mixed; boundary=\"mixed-boundary-3\"\n"
     "\n"
     "--mixed-boundary-3\n"
     "Content-Type: text/plain; charset=us-ascii\n"
     "\n"
     "Here is the list as a small CSV file.\n"
     "\n"
     "--mixed-boundary-3\n"
     "Content-Type: text/csv; name=\"people.csv\"\n"
     "Content-Disposition: attachment; filename=\"people.csv\"\n"
     "Content-Transfer-Encoding: base64\n"
     "\n"
     "bmFtZSxyb2xlCmFsaWNlLHNlbmRlcgpkZW1vLHJlY2lwaWVudAo=\n"
     "\n"
     "--mixed-boundary-3--\n"},
    {"INBOX", "F", 1709628300,
     "From: =?UTF-8?Q?Zo=C3=AB_M=C3=BCller?= <alice@jmap-gateway.test>\n"
     DEMO_TO_DEMO
     "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4g4piV?=\n"
     "Date: Tue, 05 Mar 2024 08:45:00 +0000\n"
     "Message-ID: <utf8.4@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=utf-8\n"
     "Content-Transfer-Encoding: quoted-printable\n"
     "\n"
     "Gr=C3=BC=C3=9Fe aus M=C3=BCnchen! Der Kaffee ist hei=C3=9F =E2=98=95\n"},
    {"INBOX", "S", 1709745600,
     "From: =?ISO-8859-1?Q?Andr=E9_Lef=E8vre?= <alice@jmap-gateway.test>\n"
     DEMO_TO_DEMO
     "Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me_=E0_midi?=\n"
     "Date: Wed, 06 Mar 2024 17:20:00 +0000\n"
     "Message-ID: <latin1.5@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=iso-8859-1\n"
     "Content-Transfer-Encoding: quoted-printable\n"
     "\n"
     "Un caf=E9 cr=E8me =E0 midi, d'accord ?\n"},
    {"INBOX", "RS", 1709809200,
     DEMO_FROM_ALICE DEMO_TO_DEMO
     "Subject: Lunch on Friday?\n"
     "Date: Thu, 07 Mar 2024 11:00:00 +0000\n"
     "Message-ID: <lunch.6@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=us-ascii\n"
     "\n"
     "Shall we have lunch on Friday?\n"},
    {"Sent", "S", 1709811720,
     "From: Demo User <demo@jmap-gateway.test>\n"
     "To: Alice Example <alice@jmap-gateway.test>\n"
     "Subject: Re: Lunch on Friday?\n"
     "Date: Thu, 07 Mar 2024 11:42:00 +0000\n"
     "Message-ID: <lunch.7@jmap-gateway.test>\n"
     "In-Reply-To: <lunch.6@jmap-gateway.test>\n"
     "References: <lunch.6@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=us-ascii\n"
     "\n"
     "Yes, 12:30 at the usual place?\n"
     "\n"
     "> Shall we have lunch on Friday?\n"},
    {"INBOX", "", 1709813100,
     DEMO_FROM_ALICE DEMO_TO_DEMO
     "Subject: Re: Lunch on Friday?\n"
     "Date: Thu, 07 Mar 2024 12:05:00 +0000\n"
     "Message-ID: <lunch.8@jmap-gateway.test>\n"
     "In-Reply-To: <lunch.7@jmap-gateway.test>\n"
     "References: <lunch.6@jmap-gateway.test> <lunch.7@jmap-gateway.test>\n"
     "MIME-Version: 1.0\n"
     "Content-Type: text/plain; charset=us-ascii\n"
     "\n"
     "Perfect, see you there.\n"
     "\n"
     "> Yes, 12:30 at the usual place?\n"},
};

const size_t demo_mail_message_count = sizeof(demo_mail_messages) / sizeof(demo_mail_messages[0]);

static int make_maildir(const char *dir, uid_t uid, gid_t gid, struct gw_error *err)
{
    static const char *const subdirs[] = {"", "/cur", "/new", "/tmp"};
    char path[DEMO_PATH_MAX];

    for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
        if (demo_path(path, sizeof(path), err, "%s%s", dir, subdirs[i]) != 0 ||
            demo_mkdirs(path, 0700, err) != 0)
            return -1;
        if (chown(path, uid, gid) != 0)
            return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chown %s: %s", path,
                                strerror(errno));
    }
    return 0;
}

static int write_message(const char *cur, size_t index, const struct demo_mail_message *m,
                         uid_t uid, gid_t gid, struct gw_error *err)
{
    char path[DEMO_PATH_MAX];
    size_t size = strlen(m->text);
    size_t vsize = size;
    struct timespec times[2] = {{m->date, 0}, {m->date, 0}};
    int fd = -1;

    /* W= is the size with CRLF line ends, which IMAP RFC822.SIZE reports. */
    for (const char *p = m->text; *p != '\0'; p++)
        vsize += *p == '\n';
    if (demo_path(path, sizeof(path), err, "%s/%lld.M%zuP%ld.jmapgw-demo,S=%zu,W=%zu:2,%s", cur,
                  (long long)m->date, index, (long)getpid(), size, vsize, m->flags) != 0)
        return -1;
    if (demo_write_file(path, m->text, size, 0600, err) != 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    /* The file time is the message's internal date in a maildir. */
    if (fd < 0 || futimens(fd, times) != 0 || fchown(fd, uid, gid) != 0) {
        gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: finish %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int demo_mail_seed(const char *maildir, uid_t uid, gid_t gid, struct gw_error *err)
{
    char folder[DEMO_PATH_MAX], cur[DEMO_PATH_MAX];

    if (make_maildir(maildir, uid, gid, err) != 0)
        return -1;
    for (size_t i = 0; i < demo_mail_message_count; i++) {
        const struct demo_mail_message *m = &demo_mail_messages[i];
        bool inbox = strcmp(m->mailbox, "INBOX") == 0;

        if (inbox) {
            if (demo_path(folder, sizeof(folder), err, "%s", maildir) != 0)
                return -1;
        } else {
            char marker[DEMO_PATH_MAX];
            /* Maildir++: a folder is a dot directory marked by "maildirfolder". */
            if (demo_path(folder, sizeof(folder), err, "%s/.%s", maildir, m->mailbox) != 0 ||
                make_maildir(folder, uid, gid, err) != 0 ||
                demo_path(marker, sizeof(marker), err, "%s/maildirfolder", folder) != 0 ||
                demo_write_file(marker, "", 0, 0600, err) != 0)
                return -1;
            if (chown(marker, uid, gid) != 0)
                return gw_error_set(err, GW_ERR_UNAVAILABLE, "demo: chown %s: %s", marker,
                                    strerror(errno));
        }
        if (demo_path(cur, sizeof(cur), err, "%s/cur", folder) != 0 ||
            write_message(cur, i, m, uid, gid, err) != 0)
            return -1;
    }
    return 0;
}
