/* harness.h - helpers for the integration tests: the gateway process, a
 * private Dovecot, a raw-socket HTTP client and a scripted fake IMAP server.
 *
 * Everything listens on 127.0.0.1 and lives under per-test temporary
 * directories (mkdtemp under /tmp). Every wait is bounded so a broken
 * gateway fails a test instead of hanging it.
 *
 * Assertions in tests go through the H_ASSERT* macros below: on failure they
 * print the tail of the current gateway's log before failing, so a red test
 * shows what the gateway said.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

struct demo_dovecot;

/* ------------------------------------------------------------------ misc */

/* Milliseconds on the monotonic clock. */
int64_t harness_now_ms(void);

/* A port on 127.0.0.1 that was free a moment ago (demo_free_port()). */
uint16_t harness_free_port(void);

/* mkdtemp("/tmp/jmapgw-<tag>-XXXXXX"); returns a malloc'd path or NULL. */
char *harness_mkdtemp(const char *tag);

/* rm -rf path (bounded depth walk); ignores errors. */
void harness_rmtree(const char *path);

/* Writes len bytes of data to path (created 0600). 0 or -1. */
int harness_write_file(const char *path, const char *data, size_t len);

/* Prints the last max_lines lines of path to stderr, framed with title. */
void harness_print_file_tail(const char *title, const char *path, unsigned max_lines);

/* ------------------------------------------------------------ gateway */

struct harness_gateway_opts {
    const char *const *args;    /* extra argv, NULL-terminated; may be NULL */
    const char *const *env;     /* extra "NAME=value" entries, NULL-terminated; may be NULL */
    const char *state_dir;      /* NULL: <tmp>/state (a restart passes the old one) */
};

struct harness_gateway {
    pid_t pid;                  /* 0 once reaped */
    uint16_t port;
    char *dir;                  /* per-gateway temp dir (log, state, config files) */
    char *state_dir;
    char *log_path;             /* the gateway's stderr */
    bool exited;
    int wait_status;            /* raw waitpid status, valid when exited */
    bool graceful;              /* exited on SIGTERM within the bound */
};

/* Starts $JMAPGW_BINARY --listen 127.0.0.1:<free port> --state-dir <dir>
 * [--log-level debug] <args...>, stderr and stdout to log_path, and waits
 * (at most 10 s) until the port accepts. The newest started gateway becomes
 * the "current" one whose log H_ASSERT prints. Returns NULL on failure
 * (after printing the log tail). */
struct harness_gateway *harness_gateway_start(const struct harness_gateway_opts *opts);

/* True while the process has not exited (reaps it if it has). */
bool harness_gateway_alive(struct harness_gateway *gw);

/* SIGTERM, wait at most 5 s, else SIGKILL (graceful = false). Returns 0 if
 * the gateway exited on SIGTERM in time with status 0, else -1 (and prints
 * the log tail). Safe to call twice. */
int harness_gateway_stop(struct harness_gateway *gw);

/* Stops (if still running), removes the temp dir unless
 * JMAPGW_KEEP_TMP is set, frees, and sets *gw NULL. */
void harness_gateway_free(struct harness_gateway **gw);

/* The gateway whose log H_ASSERT prints (NULL: none). */
void harness_set_current_gateway(struct harness_gateway *gw);
void harness_print_current_log(void);

/* cmocka per-test teardown: fails if the current gateway died. */
int harness_teardown_check_alive(void **state);

/* Runs $JMAPGW_BINARY args... to completion (at most timeout_ms), capturing
 * stdout and stderr. Returns 0 and the raw wait status, or -1 if it had to be
 * killed. *out (malloc'd, NUL-terminated) may be NULL if the caller does not
 * care. */
int harness_run_binary(const char *const *args, const char *const *env, int timeout_ms,
                       int *wait_status, char **out);

/* harness_run_binary() for any program (an absolute path, e.g.
 * "/usr/bin/env" with args {"python3", ...}); on timeout its whole process
 * group is killed. */
int harness_run_command(const char *path_of_program, const char *const *args,
                        const char *const *env, int timeout_ms, int *wait_status, char **out);

/* ------------------------------------------------------------ Dovecot */

/* A private Dovecot under a fresh temp dir, ports picked freely, TLS on,
 * demo mail seeded, default users demo/demo and alice/alice. cert_names
 * NULL for the default certificate names. NULL on failure (reason printed). */
struct demo_dovecot *harness_dovecot_start(const char *const *cert_names, char **base_dir_out);
void harness_dovecot_free(struct demo_dovecot **d, char **base_dir);

/* ------------------------------------------------------------ SMTP (Postfix) */

/* A private Postfix (demo_postfix.h) in front of Dovecot d: submission
 * with STARTTLS and smtps on free loopback ports, Dovecot's certificate
 * (dovecot_dir/tls), AUTH against d's users, delivery to d over LMTP.
 * size_limit 0: Postfix's 10 MiB default. NULL on failure (reason
 * printed), also when not root: tests skip() then. */
struct harness_smtp;
struct harness_smtp *harness_smtp_start(struct demo_dovecot *d, const char *dovecot_dir,
                                        size_t size_limit);
uint16_t harness_smtp_submission_port(const struct harness_smtp *s);
uint16_t harness_smtp_smtps_port(const struct harness_smtp *s);
/* Stops / restarts the same server on the same ports (bounded). 0 or -1. */
int harness_smtp_pause(struct harness_smtp *s);
int harness_smtp_resume(struct harness_smtp *s);
/* Prints Postfix's log tail (for a failing test). */
void harness_smtp_print_log(const struct harness_smtp *s);
/* Stops Postfix, removes its temp dir (unless JMAPGW_KEEP_TMP), sets *s NULL. */
void harness_smtp_free(struct harness_smtp **s);

/* ------------------------------------------------------------ HTTP client */

struct harness_header {
    char *name;
    char *value;
};

struct harness_response {
    int status;
    struct harness_header *headers;
    size_t header_count;
    char *body;                 /* NUL-terminated (extra byte not counted) */
    size_t body_len;
    int64_t elapsed_ms;         /* from first byte sent to the end of the body */
};

/* One request on a fresh connection with Connection: close. headers are
 * "Name: value" lines (NULL-terminated array, may be NULL); Content-Length is
 * added when body is non-NULL. Returns 0 with *resp filled, -1 on a socket
 * error, a timeout (5 s per read) or an unparseable response. */
int harness_http_request(uint16_t port, const char *method, const char *path,
                         const char *const *headers, const char *body, size_t body_len,
                         struct harness_response *resp);

/* Case-insensitive header lookup; first match or NULL. */
const char *harness_response_header(const struct harness_response *r, const char *name);

/* How many times the header occurs (case-insensitive name). */
size_t harness_response_header_count(const struct harness_response *r, const char *name);

/* Body parsed as JSON: new reference or NULL. */
json_t *harness_response_json(const struct harness_response *r);

void harness_response_free(struct harness_response *r);

/* "Authorization: Basic base64(user:pass)", malloc'd. */
char *harness_basic_auth(const char *user, const char *pass);

/* The per-read/per-write timeout of new connections (default 5 s) and the
 * whole-response deadline (3 times it). A test that expects a slow answer
 * (Dovecot's growing delay after failed logins) raises it, then restores 5. */
void harness_http_set_timeout(int seconds);

/* Raw access: a connected socket with the send/receive timeouts, or -1. */
int harness_connect(uint16_t port);
/* Sends all len bytes; 0 or -1 (EPIPE is not fatal to the test process). */
int harness_send_all(int fd, const void *buf, size_t len);
/* Reads one HTTP response from fd (stops at the end of its body). start_ms is
 * when the request began, for elapsed_ms. 0 or -1. */
int harness_http_read_response(int fd, int64_t start_ms, struct harness_response *resp);
/* Waits up to timeout_ms for fd to become readable: 1 readable, 0 not. */
int harness_fd_readable(int fd, int timeout_ms);

/* ------------------------------------------------------------ fake IMAP */

enum harness_fake_imap_mode {
    HARNESS_FAKE_NORMAL,            /* greets, accepts any LOGIN/AUTHENTICATE PLAIN */
    HARNESS_FAKE_GREET_THEN_HANG,   /* "* OK fake", then reads and never answers */
    HARNESS_FAKE_NO_GREETING,       /* accepts, sends nothing */
    HARNESS_FAKE_DROP_MID_COMMAND,  /* answers CAPABILITY, closes on LOGIN/AUTHENTICATE */
    HARNESS_FAKE_NO_UNAVAILABLE,    /* login answered NO [UNAVAILABLE] try later */
};

struct harness_fake_imap {
    pid_t pid;                      /* leader of its own process group */
    uint16_t port;
};

/* Forks a server on 127.0.0.1:<free port> that runs the mode on every
 * connection (one process per connection) and exits after 60 s regardless.
 * Returns NULL on failure. */
struct harness_fake_imap *harness_fake_imap_start(enum harness_fake_imap_mode mode);
/* Kills the whole process group, reaps, frees, sets *f NULL. */
void harness_fake_imap_free(struct harness_fake_imap **f);

/* ------------------------------------------------------------ JMAP helpers */

/* Starts a gateway against Dovecot d: --imap-host 127.0.0.1, --imap-tls
 * tls_mode ("starttls": the IMAP port, "tls": the imaps port), plus
 * --tls-ca-file <Dovecot CA> when with_ca, then extra (NULL-terminated, may
 * be NULL). NULL on failure. */
struct harness_gateway *harness_gateway_for_dovecot(struct demo_dovecot *d, const char *tls_mode,
                                                    bool with_ca, const char *const *extra);

/* A private Dovecot, a gateway using it (STARTTLS, CA checked) and the
 * demo user's account id: what most mail integration tests start from. */
struct harness_mail_env {
    struct demo_dovecot *dovecot;
    char *dovecot_dir;
    struct harness_gateway *gw;
    char *account_id;
    struct harness_imap *imap;  /* harness_mail_env_start_imap() only */
};

/* Starts both; 0, or -1 (reason printed; stop it anyway). */
int harness_mail_env_start(struct harness_mail_env *env);

/* The same plus env->imap, a plain IMAP session of the demo user: the
 * other client that changes the account behind the gateway's back. */
int harness_mail_env_start_imap(struct harness_mail_env *env);

/* Logs env->imap out, stops the gateway (its exit status is the result)
 * and Dovecot. */
int harness_mail_env_stop(struct harness_mail_env *env);

/* method({"accountId": env's, <args_fmt members>}) as demo; the response's
 * arguments (new reference), failing the test on any other answer. */
json_t *harness_mail_call(const struct harness_mail_env *env, const char *method,
                          const char *args_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with a given state directory (a restart passes the old one). */
struct harness_gateway *harness_gateway_for_dovecot_in(struct demo_dovecot *d,
                                                       const char *tls_mode, bool with_ca,
                                                       const char *const *extra,
                                                       const char *state_dir);

/* GET /.well-known/jmap with Basic user:pass (user NULL: no Authorization). */
int harness_get_session(uint16_t port, const char *user, const char *pass,
                        struct harness_response *r);

/* Asserts a 200 session for user and returns its JSON (new reference). */
json_t *harness_session_ok(uint16_t port, const char *user, const char *pass);

/* The single account id of a session object (borrowed from it), or NULL. */
const char *harness_session_account_id(json_t *session);

/* POST /jmap/api with Basic user:pass and the given Content-Type
 * (NULL: application/json). */
int harness_api_post(uint16_t port, const char *user, const char *pass, const char *content_type,
                     const char *body, struct harness_response *r);

/* POST a Request and assert 200 with a Response; returns its JSON. */
json_t *harness_api_ok(uint16_t port, const char *user, const char *pass, const char *body);

/* The path part of an absolute URL ("http://h:p/a/b" -> "/a/b"), malloc'd. */
char *harness_url_path(const char *url);

/* A plain IMAP session as user on port (LOGIN), APPENDing n_msgs messages
 * to mailbox, then running cmds (NULL-terminated, may be NULL), each of
 * which must answer OK. Fails the test otherwise. */
void harness_imap_session(uint16_t port, const char *user, const char *pass, const char *mailbox,
                          const char *const *msgs, size_t n_msgs, const char *const *cmds);

/* Delivers msg (CRLF lines, no dot-stuffing needed) to rcpt over LMTP on
 * port, as a mail server would. Fails the test unless it is accepted. */
void harness_lmtp_deliver(uint16_t port, const char *rcpt, const char *msg);

/* One JMAP method call (core + mail) with args (a JSON object text); the
 * response triple [name, args, id] (new reference). */
json_t *harness_jmap_call(uint16_t port, const char *user, const char *pass, const char *method,
                          const char *args);

/* The same, failing the test unless the response is method's own; returns
 * its arguments object (new reference). */
json_t *harness_jmap_ok(uint16_t port, const char *user, const char *pass, const char *method,
                        const char *args);

/* Stops gw (SIGTERM, as harness_gateway_stop) and starts the same binary
 * again with the same state dir and log file but opts' arguments (its
 * state_dir is ignored), on a new port (gw->port). The restarted gateway is
 * the current one. 0, or -1 when the stop was not clean or the start
 * failed. */
int harness_gateway_restart(struct harness_gateway *gw, const struct harness_gateway_opts *opts);

/* ------------------------------------------------------------ second IMAP client */

/* A plain IMAP session over a raw socket to 127.0.0.1:port (Dovecot allows
 * LOGIN in plaintext on loopback), independent of the gateway's IMAP code:
 * the "other client" whose changes the gateway must notice. */
struct harness_imap;

/* Connects and logs in; NULL on failure (the server's answer printed). */
struct harness_imap *harness_imap_login(uint16_t port, const char *user, const char *pass);

/* Sends one command (printf format, without tag and CRLF) and reads the
 * whole answer (literals included). 0 on a tagged OK, -1 otherwise. */
int harness_imap_cmd(struct harness_imap *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last command's answer, untagged lines and tagged line (borrowed, valid
 * until the next command). */
const char *harness_imap_last(const struct harness_imap *c);

/* APPEND with a LITERAL+ of len bytes; flags like "\\Seen $label" or NULL.
 * With uid non-NULL, the new message's UID from [APPENDUID]. 0 or -1. */
int harness_imap_append(struct harness_imap *c, const char *mailbox, const char *flags,
                        const char *msg, size_t len, uint32_t *uid);

/* Message i of a bulk load: a new message text (CRLF lines, free()), its
 * flags in *flags ("" or e.g. "\\Seen", static) and its internal date. */
typedef char *(*harness_imap_msg_fn)(size_t i, void *ctx, const char **flags, time_t *date);

/* MULTIAPPENDs messages 0..n-1 of fn to mailbox, batch per command (a few
 * thousand messages in a few round trips). Fails the test on any error. */
void harness_imap_fill(struct harness_imap *c, const char *mailbox, size_t n, size_t batch,
                       harness_imap_msg_fn fn, void *ctx);

/* IMAP flags ("\\Seen $Label", space-separated, len bytes) as a JMAP
 * keywords object (new reference): system flags to $seen/$flagged/
 * $answered/$draft, others lower-cased, \\Recent and \\Deleted left out. */
json_t *harness_imap_keywords(const char *flags, size_t len);

/* LOGOUT, close, free; sets *c NULL. */
void harness_imap_logout(struct harness_imap **c);

/* Outside changes and the gateway's change watcher (harness_notify.c):
 * the gateway serves a quiet account from its cache until the IMAP
 * server announces a change (NOTIFY, ~0.5 s on Dovecot). begin (before
 * the change) logs in as user and listens; wait (after it) returns once
 * the announcement arrived plus a short margin for the gateway's thread,
 * or after a bound when none comes, and at least 1.2 s after begin (test
 * gateways trust a quiet cache 1 s: harness.c), and frees *n. harness_imap_session(),
 * harness_imap_cmd() and harness_imap_append() do this themselves for
 * commands that change the account (harness_imap_changes()); other
 * outside changes (LMTP) call it explicitly. */
struct harness_notify;
struct harness_notify *harness_notify_begin(uint16_t port, const char *user, const char *pass);
void harness_notify_wait(struct harness_notify **n);
bool harness_imap_changes(const char *command);

/* ------------------------------------------------------------ assertions */

/* Prints the current gateway's log tail, then fails with the message. */
void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define H_ASSERT(cond)                                                         \
    do {                                                                       \
        if (!(cond))                                                           \
            harness_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);   \
    } while (0)

#define H_ASSERT_MSG(cond, ...)                                                \
    do {                                                                       \
        if (!(cond))                                                           \
            harness_fail(__FILE__, __LINE__, __VA_ARGS__);                     \
    } while (0)

/* Equality that tolerates NULL (a missing JSON member) and shows the log. */
void harness_assert_str_eq(const char *file, int line, const char *got, const char *want);
void harness_assert_int_eq(const char *file, int line, long long got, long long want);
#define H_ASSERT_STR_EQ(got, want) harness_assert_str_eq(__FILE__, __LINE__, (got), (want))
#define H_ASSERT_INT_EQ(got, want) harness_assert_int_eq(__FILE__, __LINE__, (got), (want))

/* Exact status, with the body shown on mismatch. */
void harness_assert_status(const char *file, int line, const struct harness_response *r,
                           int status);
#define H_ASSERT_STATUS(r, st) harness_assert_status(__FILE__, __LINE__, (r), (st))

/* Status as given, Content-Type application/problem+json, a JSON object
 * whose "status" equals the HTTP status and, when type is non-NULL, whose
 * "type" equals it. Returns the parsed body (new reference). */
json_t *harness_assert_problem(const char *file, int line, const struct harness_response *r,
                               int status, const char *type);
#define H_ASSERT_PROBLEM(r, st, type) harness_assert_problem(__FILE__, __LINE__, (r), (st), (type))

/* Header present exactly once and equal (case-sensitive value). */
void harness_assert_header_eq(const char *file, int line, const struct harness_response *r,
                              const char *name, const char *value);
#define H_ASSERT_HEADER_EQ(r, n, v) harness_assert_header_eq(__FILE__, __LINE__, (r), (n), (v))

/* True if the comma-separated header value list contains token (case-insensitive). */
bool harness_header_has_token(const char *value, const char *token);

#endif
