/* gw_config.h - operator options (design.md "Operator interface").
 *
 * Every option can be given as `--name value` on the command line, as
 * JMAPGW_NAME in the environment, or as `name = value` in the --config file;
 * that is also the order of precedence. Boolean options accept
 * true/false/yes/no/on/off/1/0, and on the command line a bare `--name`.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gw_error.h"
#include "gw_log.h"
#include "jmap_api.h"

enum gw_tls_mode {
    GW_TLS_NONE = 0,   /* plaintext: refused unless the host is loopback */
    GW_TLS_STARTTLS,   /* plaintext connect, then STARTTLS (required) */
    GW_TLS_IMPLICIT,   /* TLS from the first byte (993, 465, 995) */
};

/* A backend server: where it is and how to reach it safely. */
struct gw_endpoint {
    char *host;                 /* NULL: not configured */
    uint16_t port;
    enum gw_tls_mode tls;
};

struct gw_config {
    char *listen_host;          /* "listen" host part */
    uint16_t listen_port;       /* "listen" port part */
    char *base_url;             /* without trailing slash */

    struct gw_endpoint imap;
    struct gw_endpoint smtp;
    struct gw_endpoint pop3;

    char *tls_ca_file;          /* NULL: the system store */
    bool tls_insecure;          /* skip certificate and host checks (tests only) */

    char *state_dir;
    unsigned workers;
    enum gw_log_level log_level;

    char **cors_origins;        /* NULL-terminated; {"*"} allows any origin */

    unsigned connect_timeout_ms;
    unsigned command_timeout_ms;
    unsigned account_idle_timeout_s;  /* evict accounts unused this long */
    unsigned auth_cache_ttl_s;        /* re-check credentials with the backend after this */
    unsigned imap_pool_size;          /* IMAP connections per account */
    bool imap_watch;                  /* watch accounts for changes (IMAP NOTIFY) */
    unsigned imap_watch_max;          /* at most this many accounts at once */
    unsigned imap_watch_idle_s;       /* drop an unused account's watcher after this */
    unsigned imap_watch_max_age_ms;   /* trust a quiet watched cache this long */
    unsigned imap_watch_first_wait_ms; /* a first sync awaits the watcher's listing */

    /* RFC 8620 urn:ietf:params:jmap:core limits, advertised and enforced. */
    struct jmap_core_limits limits;

    char *mail_domain;          /* default identity domain of logins without "@" (NULL: none) */

    bool demo;                  /* start the private demo servers first */
    bool show_help;
};

/* Fills cfg from defaults, the config file, the environment and argv.
 * envp may be NULL (then the process environment is used).
 * Returns 0, or -1 with err (GW_ERR_INVALID naming the option) on bad input.
 * On success the caller owns cfg and frees it with gw_config_free(). */
int gw_config_load(struct gw_config *cfg, int argc, char **argv, char **envp,
                   struct gw_error *err);

/* Frees everything cfg owns and zeroes it. */
void gw_config_free(struct gw_config *cfg);

/* Prints every option with its default and meaning. */
void gw_config_usage(FILE *out);

/* "none" | "starttls" | "tls" */
const char *gw_tls_mode_name(enum gw_tls_mode mode);

/* True for 127.0.0.0/8, ::1 and "localhost". */
bool gw_host_is_loopback(const char *host);

#endif
