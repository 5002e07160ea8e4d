/* harness_fake_imap.c - a scripted IMAP server for what a real one will not
 * do on demand: hang, stay silent, drop the connection mid-command, refuse
 * a login as temporarily unavailable.
 *
 * The server is a forked process leading its own process group; each
 * connection gets its own grandchild so a hanging connection never blocks
 * the next accept. Every process arms alarm() so nothing outlives 60 s. */
#define _GNU_SOURCE 1
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAKE_LIFETIME_S 60
#define LINE_MAX_LEN 8192

static int write_str(int fd, const char *s)
{
    size_t len = strlen(s);

    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_byte(int fd, char *c)
{
    ssize_t n;

    do {
        n = recv(fd, c, 1, 0);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* Reads one command line into line (without CRLF), absorbing literals
 * ({n} answered with a continuation, {n+} not) so LOGIN with quoted-out
 * passwords parses. Literal bytes are replaced by "L". 0 or -1 (EOF). */
static int read_command(int fd, char *line, size_t cap)
{
    size_t len = 0;
    char c;

    for (;;) {
        if (read_byte(fd, &c) != 0)
            return -1;
        if (c == '\r')
            continue;
        if (c != '\n') {
            if (len + 1 < cap)
                line[len++] = c;
            continue;
        }
        line[len] = '\0';
        if (len >= 3 && line[len - 1] == '}') {
            char *open = strrchr(line, '{');
            unsigned long n = open != NULL ? strtoul(open + 1, NULL, 10) : 0;
            bool sync = len >= 2 && line[len - 2] != '+';

            if (open == NULL || n > 65536)
                return 0;
            if (sync && write_str(fd, "+ go ahead\r\n") != 0)
                return -1;
            for (unsigned long i = 0; i < n; i++)
                if (read_byte(fd, &c) != 0)
                    return -1;
            len = (size_t)(open - line);
            if (len + 1 < cap)
                line[len++] = 'L';
            continue;
        }
        return 0;
    }
}

/* Splits "tag COMMAND rest" into tag and upper-cased command. */
static void split_command(char *line, char *tag, size_t tag_cap, char *cmd, size_t cmd_cap)
{
    char *sp = strchr(line, ' ');
    size_t tlen = sp != NULL ? (size_t)(sp - line) : strlen(line);
    size_t i = 0;

    snprintf(tag, tag_cap, "%.*s", (int)tlen, line);
    if (sp == NULL) {
        cmd[0] = '\0';
        return;
    }
    sp++;
    while (sp[i] != '\0' && sp[i] != ' ' && i + 1 < cmd_cap) {
        cmd[i] = (char)toupper((unsigned char)sp[i]);
        i++;
    }
    cmd[i] = '\0';
}

static size_t count_words(const char *line)
{
    size_t words = 0;
    bool in_word = false;

    for (; *line != '\0'; line++) {
        if (*line == ' ') {
            in_word = false;
        } else if (!in_word) {
            in_word = true;
            words++;
        }
    }
    return words;
}

static void reply(int fd, const char *tag, const char *text)
{
    char out[LINE_MAX_LEN];
    int n = snprintf(out, sizeof(out), "%s %s\r\n", tag, text);

    if (n > 0 && (size_t)n < sizeof(out))
        write_str(fd, out);
}

static void serve(int fd, enum harness_fake_imap_mode mode)
{
    char line[LINE_MAX_LEN], tag[128], cmd[64];

    if (mode == HARNESS_FAKE_NO_GREETING) {
        while (read_command(fd, line, sizeof(line)) == 0)
            ;
        return;
    }
    if (mode == HARNESS_FAKE_GREET_THEN_HANG) {
        write_str(fd, "* OK fake\r\n");
        while (read_command(fd, line, sizeof(line)) == 0)
            ;
        return;
    }
    write_str(fd, "* OK fake IMAP ready\r\n");
    while (read_command(fd, line, sizeof(line)) == 0) {
        split_command(line, tag, sizeof(tag), cmd, sizeof(cmd));
        if (strcmp(cmd, "CAPABILITY") == 0) {
            write_str(fd, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
            reply(fd, tag, "OK CAPABILITY completed");
        } else if (strcmp(cmd, "LOGIN") == 0 || strcmp(cmd, "AUTHENTICATE") == 0) {
            if (mode == HARNESS_FAKE_DROP_MID_COMMAND)
                return;
            /* AUTHENTICATE PLAIN without an initial response: ask for it. */
            if (strcmp(cmd, "AUTHENTICATE") == 0 && count_words(line) < 4) {
                write_str(fd, "+ \r\n");
                if (read_command(fd, line, sizeof(line)) != 0)
                    return;
            }
            if (mode == HARNESS_FAKE_NO_UNAVAILABLE)
                reply(fd, tag, "NO [UNAVAILABLE] try later");
            else
                reply(fd, tag, "OK [CAPABILITY IMAP4rev1] logged in");
        } else if (strcmp(cmd, "LOGOUT") == 0) {
            write_str(fd, "* BYE fake logging out\r\n");
            reply(fd, tag, "OK LOGOUT completed");
            return;
        } else if (strcmp(cmd, "NOOP") == 0) {
            reply(fd, tag, "OK NOOP completed");
        } else {
            reply(fd, tag, "BAD fake server knows only CAPABILITY LOGIN AUTHENTICATE NOOP LOGOUT");
        }
    }
}

static void server_main(int lfd, enum harness_fake_imap_mode mode)
{
    signal(SIGCHLD, SIG_IGN);   /* connection children reap themselves */
    alarm(FAKE_LIFETIME_S);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        pid_t pid;

        if (fd < 0) {
            if (errno == EINTR)
                continue;
            _exit(1);
        }
        pid = fork();
        if (pid == 0) {
            close(lfd);
            alarm(FAKE_LIFETIME_S);
            serve(fd, mode);
            close(fd);
            _exit(0);
        }
        close(fd);
    }
}

struct harness_fake_imap *harness_fake_imap_start(enum harness_fake_imap_mode mode)
{
    struct harness_fake_imap *f = calloc(1, sizeof(*f));
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int one = 1, lfd = -1;

    if (f == NULL)
        return NULL;
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        goto fail;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Binding here (not in the child) means the port accepts as soon as we return. */
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0)
        goto fail;
    f->port = ntohs(sa.sin_port);
    f->pid = fork();
    if (f->pid < 0)
        goto fail;
    if (f->pid == 0) {
        setpgid(0, 0);
        server_main(lfd, mode);
        _exit(0);
    }
    /* Also from the parent, so a kill right after start hits the group. */
    setpgid(f->pid, f->pid);
    close(lfd);
    return f;
fail:
    if (lfd >= 0)
        close(lfd);
    free(f);
    return NULL;
}

void harness_fake_imap_free(struct harness_fake_imap **fp)
{
    struct harness_fake_imap *f = fp != NULL ? *fp : NULL;

    if (f == NULL)
        return;
    if (f->pid > 0) {
        kill(-f->pid, SIGKILL);
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
    }
    free(f);
    *fp = NULL;
}
