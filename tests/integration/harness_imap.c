/* harness_imap.c - a plain IMAP client for tests: another mail program
 * changing the account behind the gateway's back (APPEND, STORE, MOVE,
 * EXPUNGE, CREATE/RENAME/DELETE). */
#define _GNU_SOURCE 1
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads lines until one starts with tag; true when it says OK. */
static bool imap_wait(int fd, const char *tag)
{
    char buf[16384];
    size_t len = 0;
    int64_t deadline = harness_now_ms() + 10000;
    while (harness_now_ms() < deadline && len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        char *line = buf;
        char *nl;
        while ((nl = strstr(line, "\r\n")) != NULL) {
            if (strncmp(line, tag, strlen(tag)) == 0 && line[strlen(tag)] == ' ')
                return strncmp(line + strlen(tag) + 1, "OK", 2) == 0;
            line = nl + 2;
        }
        memmove(buf, line, strlen(line) + 1);
        len = strlen(buf);
    }
    return false;
}

static bool imap_cmd(int fd, const char *tag, const char *cmd)
{
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s %s\r\n", tag, cmd);
    return n > 0 && (size_t)n < sizeof(line) && harness_send_all(fd, line, (size_t)n) == 0 &&
           imap_wait(fd, tag);
}

void harness_imap_session(uint16_t port, const char *user, const char *pass, const char *mailbox,
                          const char *const *msgs, size_t n_msgs, const char *const *cmds)
{
    char login[256];
    bool changes = n_msgs > 0;
    for (size_t i = 0; cmds != NULL && cmds[i] != NULL; i++)
        changes = changes || harness_imap_changes(cmds[i]);
    struct harness_notify *notify = changes ? harness_notify_begin(port, user, pass) : NULL;
    int fd = harness_connect(port);
    H_ASSERT(fd >= 0);
    H_ASSERT(imap_wait(fd, "*"));
    H_ASSERT(snprintf(login, sizeof(login), "LOGIN %s %s", user, pass) < (int)sizeof(login));
    H_ASSERT(imap_cmd(fd, "a1", login));
    /* Dovecot numbers mail already on disk (the demo mail written into
     * new/) when a session first looks at INBOX; with a NOTIFY session
     * listening (harness_notify.c), an APPEND that comes first can take
     * uid 1 ahead of it, and tests count on appended mail being last. */
    if (n_msgs > 0)
        H_ASSERT(imap_cmd(fd, "a2", "STATUS INBOX (UIDNEXT)"));
    for (size_t i = 0; i < n_msgs; i++) {
        char head[300];
        int n = snprintf(head, sizeof(head), "b%zu APPEND \"%s\" {%zu+}\r\n", i, mailbox,
                         strlen(msgs[i]));
        H_ASSERT(n > 0 && (size_t)n < sizeof(head));
        H_ASSERT(harness_send_all(fd, head, (size_t)n) == 0);
        H_ASSERT(harness_send_all(fd, msgs[i], strlen(msgs[i])) == 0);
        H_ASSERT(harness_send_all(fd, "\r\n", 2) == 0);
        char tag[32];
        snprintf(tag, sizeof(tag), "b%zu", i);
        H_ASSERT_MSG(imap_wait(fd, tag), "APPEND %zu failed", i);
    }
    for (size_t i = 0; cmds != NULL && cmds[i] != NULL; i++) {
        char tag[32];
        snprintf(tag, sizeof(tag), "c%zu", i);
        H_ASSERT_MSG(imap_cmd(fd, tag, cmds[i]), "%s failed", cmds[i]);
    }
    imap_cmd(fd, "z", "LOGOUT");
    close(fd);
    harness_notify_wait(&notify);
}

json_t *harness_jmap_call(uint16_t port, const char *user, const char *pass, const char *method,
                          const char *args)
{
    char *body = NULL;
    H_ASSERT(asprintf(&body,
                      "{\"using\": [\"urn:ietf:params:jmap:core\", \"urn:ietf:params:jmap:mail\"],"
                      " \"methodCalls\": [[\"%s\", %s, \"0\"]]}",
                      method, args) > 0);
    json_t *resp = harness_api_ok(port, user, pass, body);
    free(body);
    json_t *call = json_incref(json_array_get(json_object_get(resp, "methodResponses"), 0));
    json_decref(resp);
    H_ASSERT(call != NULL);
    return call;
}

json_t *harness_jmap_ok(uint16_t port, const char *user, const char *pass, const char *method,
                        const char *args)
{
    json_t *call = harness_jmap_call(port, user, pass, method, args);
    const char *name = json_string_value(json_array_get(call, 0));
    if (name == NULL || strcmp(name, method) != 0) {
        char text[1024];
        char *dump = json_dumps(call, 0);
        snprintf(text, sizeof(text), "%s", dump != NULL ? dump : "?");
        free(dump);
        json_decref(call);
        harness_fail(__FILE__, __LINE__, "%s failed: %s", method, text);
    }
    json_t *res = json_incref(json_array_get(call, 1));
    json_decref(call);
    return res;
}

/* Reads one SMTP/LMTP reply (multi-line aware); its code, or -1. */
static int lmtp_reply(int fd)
{
    char buf[4096];
    size_t len = 0;
    int64_t deadline = harness_now_ms() + 10000;
    while (harness_now_ms() < deadline && len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        /* The last line is "ddd text\r\n" (no '-' after the code). */
        char *end = strstr(buf, "\r\n");
        char *line = buf;
        while (end != NULL) {
            if (end - line >= 4 && line[3] == ' ')
                return atoi(line);
            line = end + 2;
            end = strstr(line, "\r\n");
        }
    }
    return -1;
}

static bool lmtp_step(int fd, const char *line, int want)
{
    return harness_send_all(fd, line, strlen(line)) == 0 && lmtp_reply(fd) == want;
}

void harness_lmtp_deliver(uint16_t port, const char *rcpt, const char *msg)
{
    char rcpt_line[300];
    int fd = harness_connect(port);
    H_ASSERT(fd >= 0);
    H_ASSERT(lmtp_reply(fd) == 220);
    H_ASSERT(lmtp_step(fd, "LHLO harness\r\n", 250));
    H_ASSERT(lmtp_step(fd, "MAIL FROM:<sender@example.org>\r\n", 250));
    H_ASSERT(snprintf(rcpt_line, sizeof(rcpt_line), "RCPT TO:<%s>\r\n", rcpt) <
             (int)sizeof(rcpt_line));
    H_ASSERT_MSG(lmtp_step(fd, rcpt_line, 250), "LMTP refused %s", rcpt);
    H_ASSERT(lmtp_step(fd, "DATA\r\n", 354));
    H_ASSERT(harness_send_all(fd, msg, strlen(msg)) == 0);
    /* One reply per recipient after the final dot. */
    H_ASSERT(lmtp_step(fd, ".\r\n", 250));
    lmtp_step(fd, "QUIT\r\n", 221);
    close(fd);
}
