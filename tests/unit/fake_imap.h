/* fake_imap.h - a scripted IMAP server for unit tests (header-only: every
 * tests/unit/test_*.c is its own program, so shared test code lives here).
 *
 * fake_imap_start() binds 127.0.0.1 on a free port and forks a server
 * process (its own process group) that accepts connections forever and
 * forks one handler per connection running the chosen script. Every
 * accepted connection is reported back over a pipe, so tests can count how
 * many connections a client really opened. fake_imap_stop() kills the whole
 * group. Each process also has an alarm() so none can outlive a crashed test.
 *
 * Credentials accepted by the "good" scripts: test / secret.
 */
#ifndef TESTS_FAKE_IMAP_H
#define TESTS_FAKE_IMAP_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backend.h"

enum fake_imap_script {
    FAKE_IMAP_SILENT,            /* accepts, never sends a greeting */
    FAKE_IMAP_HANG_ON_LOGIN,     /* greets, answers CAPABILITY, never answers LOGIN */
    FAKE_IMAP_DROP_MID_COMMAND,  /* answers CAPABILITY, closes halfway through the next reply */
    FAKE_IMAP_LOGIN_UNAVAILABLE, /* LOGIN -> NO [UNAVAILABLE] */
    FAKE_IMAP_BYE_GREETING,      /* greets with BYE and closes */
    FAKE_IMAP_STARTTLS_INJECT,   /* offers STARTTLS, sends plaintext after its OK */
    FAKE_IMAP_GOOD,              /* AUTH=PLAIN without SASL-IR, NOOP, LOGOUT */
    FAKE_IMAP_GOOD_LOGIN,        /* no AUTH=PLAIN: LOGIN, NOOP, LOGOUT */
    FAKE_IMAP_DROP_ON_NOOP,      /* as GOOD, but closes the connection on NOOP */
    FAKE_IMAP_AUTH_UNAVAILABLE,  /* AUTH=PLAIN offered, AUTHENTICATE -> NO [UNAVAILABLE] at once */
    FAKE_IMAP_PREAUTH,           /* greets with PREAUTH [CAPABILITY ... IDLE] */
    FAKE_IMAP_LOGINDISABLED,     /* offers neither AUTH=PLAIN nor LOGIN */
    FAKE_IMAP_MALFORMED_READ,    /* as GOOD; LIST and UID FETCH get malformed untagged lines,
                                  * UID SEARCH half a line and then silence */
};

struct fake_imap {
    pid_t pid;
    uint16_t port;
    int accept_pipe;            /* read end: one byte per accepted connection */
    unsigned accepted;
};

#define FAKE_IMAP_LIFETIME_S 60

static inline void fake_imap_send(int fd, const char *s)
{
    size_t len = strlen(s), done = 0;
    while (done < len) {
        ssize_t r = write(fd, s + done, len - done);
        if (r <= 0)
            _exit(0);
        done += (size_t)r;
    }
}

/* Reads one CRLF line (without it) into buf; exits the handler on EOF. */
static inline void fake_imap_read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            _exit(0);
        if (c == '\n')
            break;
        if (c != '\r' && n + 1 < size)
            buf[n++] = c;
    }
    buf[n] = '\0';
}

static inline void fake_imap_hang(int fd)
{
    char c;
    while (read(fd, &c, 1) > 0)
        ;
    _exit(0);
}

static inline bool fake_imap_plain_ok(const char *b64)
{
    unsigned char raw[256];
    static const char expected[] = "\0test\0secret";
    size_t len = strlen(b64);
    if (len == 0 || len > 300)
        return false;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
    /* EVP_DecodeBlock counts '=' padding as zero bytes. */
    while (n > 0 && len > 0 && b64[len - 1] == '=') {
        n--;
        len--;
    }
    return n == (int)sizeof(expected) - 1 && memcmp(raw, expected, sizeof(expected) - 1) == 0;
}

static inline void fake_imap_reply(int fd, const char *tag, const char *text)
{
    char line[512];
    snprintf(line, sizeof(line), "%s %s\r\n", tag, text);
    fake_imap_send(fd, line);
}

static inline void fake_imap_serve(int fd, enum fake_imap_script script)
{
    char line[1024], tag[64], cmd[64], arg[512];
    bool good = script == FAKE_IMAP_GOOD || script == FAKE_IMAP_DROP_ON_NOOP ||
                script == FAKE_IMAP_MALFORMED_READ;
    const char *caps = good || script == FAKE_IMAP_AUTH_UNAVAILABLE ? "IMAP4rev1 AUTH=PLAIN"
                       : script == FAKE_IMAP_STARTTLS_INJECT ? "IMAP4rev1 STARTTLS"
                       : script == FAKE_IMAP_LOGINDISABLED   ? "IMAP4rev1 LOGINDISABLED"
                                                             : "IMAP4rev1";

    switch (script) {
    case FAKE_IMAP_SILENT:
        fake_imap_hang(fd);
        break;
    case FAKE_IMAP_BYE_GREETING:
        fake_imap_send(fd, "* BYE [UNAVAILABLE] not today\r\n");
        _exit(0);
    case FAKE_IMAP_PREAUTH:
        fake_imap_send(fd, "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] welcome back\r\n");
        break;
    default:
        fake_imap_send(fd, "* OK fake IMAP ready\r\n");
    }
    for (int i = 0; i < 100; i++) {
        fake_imap_read_line(fd, line, sizeof(line));
        tag[0] = cmd[0] = arg[0] = '\0';
        if (sscanf(line, "%63s %63s %511[^\n]", tag, cmd, arg) < 2) {
            fake_imap_reply(fd, "*", "BAD syntax");
            continue;
        }
        if (strcasecmp(cmd, "CAPABILITY") == 0) {
            char out[256];
            snprintf(out, sizeof(out), "* CAPABILITY %s\r\n%s OK done\r\n", caps, tag);
            fake_imap_send(fd, out);
        } else if (script == FAKE_IMAP_DROP_MID_COMMAND) {
            fake_imap_send(fd, "* OK [ALERT] half a li");
            _exit(0);
        } else if (strcasecmp(cmd, "STARTTLS") == 0 && script == FAKE_IMAP_STARTTLS_INJECT) {
            char out[256];
            snprintf(out, sizeof(out), "%s OK begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
                     tag);
            fake_imap_send(fd, out);
            fake_imap_hang(fd);
        } else if (strcasecmp(cmd, "LOGIN") == 0) {
            if (script == FAKE_IMAP_HANG_ON_LOGIN)
                fake_imap_hang(fd);
            if (script == FAKE_IMAP_LOGIN_UNAVAILABLE)
                fake_imap_reply(fd, tag, "NO [UNAVAILABLE] try again later");
            else if (strcmp(arg, "test secret") == 0)
                fake_imap_reply(fd, tag, "OK [CAPABILITY IMAP4rev1 IDLE] logged in");
            else
                fake_imap_reply(fd, tag, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        } else if (strcasecmp(cmd, "AUTHENTICATE") == 0 && script == FAKE_IMAP_AUTH_UNAVAILABLE) {
            fake_imap_reply(fd, tag, "NO [UNAVAILABLE] try again later");
        } else if (strcasecmp(cmd, "AUTHENTICATE") == 0 && good) {
            char resp[512];
            if (strcasecmp(arg, "PLAIN") != 0) {
                fake_imap_reply(fd, tag, "BAD SASL-IR not offered");
                continue;
            }
            fake_imap_send(fd, "+ \r\n");
            fake_imap_read_line(fd, resp, sizeof(resp));
            if (fake_imap_plain_ok(resp))
                fake_imap_reply(fd, tag, "OK [CAPABILITY IMAP4rev1 IDLE] logged in");
            else
                fake_imap_reply(fd, tag, "NO [AUTHENTICATIONFAILED] Authentication failed.");
        } else if (script == FAKE_IMAP_MALFORMED_READ && strcasecmp(cmd, "LIST") == 0) {
            fake_imap_send(fd, "* LIST (\\HasNoChildren) \"/\" \"unterminated\r\n");
            fake_imap_reply(fd, tag, "OK done");
        } else if (script == FAKE_IMAP_MALFORMED_READ && strcasecmp(cmd, "UID") == 0 &&
                   strncasecmp(arg, "SEARCH", 6) == 0) {
            fake_imap_send(fd, "* SEARCH 1 2");     /* half a line, then silence */
            fake_imap_hang(fd);
        } else if (script == FAKE_IMAP_MALFORMED_READ && strcasecmp(cmd, "UID") == 0) {
            /* An ENVELOPE with 2 of its 10 fields, then a fine message. */
            fake_imap_send(fd, "* 1 FETCH (UID 1 ENVELOPE (\"date\" NIL))\r\n"
                               "* 2 FETCH (UID 2 RFC822.SIZE 10)\r\n");
            fake_imap_reply(fd, tag, "OK done");
        } else if (strcasecmp(cmd, "NOOP") == 0) {
            if (script == FAKE_IMAP_DROP_ON_NOOP)
                _exit(0);
            fake_imap_reply(fd, tag, "OK NOOP completed");
        } else if (strcasecmp(cmd, "LOGOUT") == 0) {
            fake_imap_send(fd, "* BYE logging out\r\n");
            fake_imap_reply(fd, tag, "OK bye");
            _exit(0);
        } else {
            fake_imap_reply(fd, tag, "BAD unknown command");
        }
    }
    _exit(0);
}

/* Serves one accepted connection fd (in its own process, which exits
 * after); arg is fake_imap_start_fn()'s. */
typedef void (*fake_imap_serve_fn)(int fd, int arg);

static inline void fake_imap_serve_script(int fd, int script)
{
    fake_imap_serve(fd, (enum fake_imap_script)script);
}

/* Starts a server running serve(fd, arg) per connection; returns 0, or -1
 * if the socket/fork failed. For a test's own scripted world. */
static inline int fake_imap_start_fn(struct fake_imap *f, fake_imap_serve_fn serve, int arg)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sin);
    int pfd[2];
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(f, 0, sizeof(*f));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sin, &len) != 0 || pipe(pfd) != 0)
        return -1;
    f->port = ntohs(sin.sin_port);
    fflush(NULL);
    f->pid = fork();
    if (f->pid < 0)
        return -1;
    if (f->pid == 0) {
        setpgid(0, 0);
        signal(SIGCHLD, SIG_IGN);   /* handlers are reaped automatically */
        alarm(FAKE_IMAP_LIFETIME_S);
        close(pfd[0]);
        for (;;) {
            int cfd = accept(lfd, NULL, NULL);
            if (cfd < 0) {
                if (errno == EINTR)
                    continue;
                _exit(1);
            }
            if (fork() == 0) {
                close(lfd);
                alarm(FAKE_IMAP_LIFETIME_S);
                serve(cfd, arg);
                _exit(0);
            }
            close(cfd);
            if (write(pfd[1], "c", 1) != 1)
                _exit(1);
        }
    }
    setpgid(f->pid, f->pid);
    close(lfd);
    close(pfd[1]);
    f->accept_pipe = pfd[0];
    fcntl(f->accept_pipe, F_SETFL, O_NONBLOCK);
    return 0;
}

/* Starts the server with one of the scripts above. */
static inline int fake_imap_start(struct fake_imap *f, enum fake_imap_script script)
{
    return fake_imap_start_fn(f, fake_imap_serve_script, (int)script);
}

/* Connections accepted so far. */
static inline unsigned fake_imap_accepted(struct fake_imap *f)
{
    char buf[64];
    ssize_t r;
    while ((r = read(f->accept_pipe, buf, sizeof(buf))) > 0)
        f->accepted += (unsigned)r;
    return f->accepted;
}

/* An IMAP backend logged in as test / secret to the fake on port (plain
 * TCP, connect timeout 3 s); fails the test otherwise. Needs cmocka.h
 * included first. */
static inline struct mail_backend *fake_imap_connect(uint16_t port, unsigned command_timeout_ms)
{
    struct backend_endpoint ep = { .host = "127.0.0.1", .port = port, .tls = GW_TLS_NONE,
                                   .connect_timeout_ms = 3000,
                                   .command_timeout_ms = command_timeout_ms };
    struct backend_credentials cred = { "test", "secret" };
    struct mail_backend *b = NULL;
    struct gw_error err = { 0 };
    if (backend_imap_open(&ep, &cred, &b, &err) != 0)
        fail_msg("open: %s", err.msg);
    return b;
}

static inline void fake_imap_stop(struct fake_imap *f)
{
    if (f->pid > 0) {
        kill(-f->pid, SIGKILL);
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
    if (f->accept_pipe > 0)
        close(f->accept_pipe);
    f->accept_pipe = -1;
}

#endif
