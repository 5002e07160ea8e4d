/* main.c - jmap-gateway: options, optional demo servers, the HTTP front,
 * and a main thread that only waits for signals and evicts idle accounts. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "account.h"
#include "demo_dovecot.h"
#include "demo_postfix.h"
#include "gw_config.h"
#include "gw_log.h"
#include "http_gateway.h"
#include "http_server.h"
#include "jmap_submission.h"
#include "store.h"
#include "upload_store.h"
#include "worker_pool.h"

#define EVICT_INTERVAL_S 30
#define SHUTDOWN_DRAIN_MS 5000
/* Uploads not used within this long are gone (RFC 8620 §6.1 asks for at
 * least an hour), and no account keeps more than this many or bytes. */
#define UPLOAD_MAX_AGE_S 3600
#define UPLOAD_MAX_COUNT 64
#define UPLOAD_MAX_SIZES_KEPT 4

/* Fixed loopback ports of the demo, chosen away from the system services. */
#define DEMO_IMAP_PORT 10143
#define DEMO_IMAPS_PORT 10993
#define DEMO_POP3_PORT 10110
#define DEMO_LMTP_PORT 10024
#define DEMO_SIEVE_PORT 14190
#define DEMO_SUBMISSION_PORT 10587
#define DEMO_SMTPS_PORT 10465

static int make_dir(const char *path, struct gw_error *err)
{
    /* 0711: the demo's Dovecot runs its helpers as other users that must reach
     * the directories below; the database itself is created 0600. */
    if (mkdir(path, 0711) != 0 && errno != EEXIST)
        return gw_error_set(err, GW_ERR_INVALID, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

static int path_join(char *out, size_t size, const char *dir, const char *name,
                     struct gw_error *err)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size)
        return gw_error_set(err, GW_ERR_INVALID, "path too long: %s/%s", dir, name);
    return 0;
}

/* Starts the private Dovecot and points the IMAP settings at it. */
static int demo_start(struct gw_config *cfg, struct demo_dovecot **out, struct gw_error *err)
{
    char dir[4096];
    if (path_join(dir, sizeof(dir), cfg->state_dir, "demo-dovecot", err) != 0)
        return -1;
    struct demo_dovecot_options opts = {
        .base_dir = dir,
        .imap_port = DEMO_IMAP_PORT,
        .imaps_port = DEMO_IMAPS_PORT,
        .pop3_port = DEMO_POP3_PORT,
        .lmtp_port = DEMO_LMTP_PORT,
        .sieve_port = DEMO_SIEVE_PORT,
        .tls = true,
        .seed_demo_mail = true,
    };
    if (demo_dovecot_start(&opts, out, err) != 0)
        return -1;
    char *host = strdup("127.0.0.1");
    char *ca = strdup(demo_dovecot_ca_file(*out));
    if (host == NULL || ca == NULL) {
        free(host);
        free(ca);
        return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    free(cfg->imap.host);
    cfg->imap.host = host;
    cfg->imap.port = demo_dovecot_imap_port(*out);
    cfg->imap.tls = GW_TLS_STARTTLS;
    free(cfg->tls_ca_file);
    cfg->tls_ca_file = ca;
    return 0;
}

/* Starts the private Postfix next to the demo's Dovecot (same users and
 * certificate, delivery over LMTP) and points the SMTP settings at it.
 * Postfix needs root: otherwise the demo runs without sending, with a
 * warning. */
static void demo_start_smtp(struct gw_config *cfg, struct demo_dovecot *dovecot,
                            struct demo_postfix **out)
{
    char base[4096], dir[4096], cert[4096], key[4096];
    struct gw_error err = { 0 };

    if (realpath(cfg->state_dir, base) == NULL ||
        path_join(dir, sizeof(dir), base, "demo-postfix", &err) != 0 ||
        path_join(cert, sizeof(cert), base, "demo-dovecot/tls/server.pem", &err) != 0 ||
        path_join(key, sizeof(key), base, "demo-dovecot/tls/server.key", &err) != 0) {
        gw_log_warn("demo: no SMTP submission: state directory path unusable");
        return;
    }
    struct demo_postfix_options opts = {
        .base_dir = dir,
        .submission_port = DEMO_SUBMISSION_PORT,
        .smtps_port = DEMO_SMTPS_PORT,
        .cert_file = cert,
        .key_file = key,
        .lmtp_port = demo_dovecot_lmtp_port(dovecot),
        .auth_port = demo_dovecot_auth_port(dovecot),
    };
    if (demo_postfix_start(&opts, out, &err) != 0) {
        gw_log_warn("demo: no SMTP submission: %s", err.msg);
        return;
    }
    char *host = strdup("127.0.0.1");
    char *domain = cfg->mail_domain == NULL ? strdup("jmap-gateway.test") : NULL;
    if (host == NULL || (cfg->mail_domain == NULL && domain == NULL)) {
        free(host);
        free(domain);
        demo_postfix_free(out);
        gw_log_warn("demo: no SMTP submission: out of memory");
        return;
    }
    free(cfg->smtp.host);
    cfg->smtp.host = host;
    cfg->smtp.port = demo_postfix_submission_port(*out);
    cfg->smtp.tls = GW_TLS_STARTTLS;
    if (domain != NULL)
        cfg->mail_domain = domain;
}

static void print_banner(const struct gw_config *cfg, bool demo)
{
    printf("jmap-gateway listening on %s\n", cfg->base_url);
    printf("  session resource: %s/.well-known/jmap\n", cfg->base_url);
    printf("  IMAP backend:     %s:%u (%s)\n", cfg->imap.host, cfg->imap.port,
           gw_tls_mode_name(cfg->imap.tls));
    if (demo) {
        printf("  demo accounts (private Dovecot on 127.0.0.1:%u):\n", cfg->imap.port);
        for (size_t i = 0; i < demo_dovecot_default_user_count; i++)
            printf("    user %-6s password %-6s (%s)\n", demo_dovecot_default_users[i].username,
                   demo_dovecot_default_users[i].password, demo_dovecot_default_users[i].address);
        printf("  SMTP submission:  %s:%u (STARTTLS), the accounts can mail each other\n",
               cfg->smtp.host, cfg->smtp.port);
        printf("  try: curl -u %s:%s %s/.well-known/jmap\n", demo_dovecot_default_users[0].username,
               demo_dovecot_default_users[0].password, cfg->base_url);
    }
    printf("Stop with Ctrl-C.\n");
    fflush(stdout);
}

#define MALLOC_ARENAS 2

/* Waits for SIGTERM/SIGINT, evicting idle accounts meanwhile. */
static void wait_for_shutdown(const sigset_t *signals, struct account_registry *accounts,
                              struct upload_store *uploads)
{
    for (;;) {
        struct timespec interval = { .tv_sec = EVICT_INTERVAL_S, .tv_nsec = 0 };
        int sig = sigtimedwait(signals, NULL, &interval);
        if (sig == SIGTERM || sig == SIGINT) {
            gw_log_info("received %s, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return;
        }
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            gw_log_error("sigtimedwait: %s", strerror(errno));
            return;
        }
        account_registry_evict_idle(accounts);
        upload_store_expire(uploads, time(NULL));
    }
}

int main(int argc, char **argv)
{
    struct gw_config cfg;
    struct gw_error err = { 0 };
    struct demo_dovecot *demo = NULL;
    struct demo_postfix *demo_smtp = NULL;
    struct store *store = NULL;
    struct upload_store *uploads = NULL;
    struct account_registry *accounts = NULL;
    struct worker_pool *workers = NULL;
    struct http_server *server = NULL;
    struct http_gateway gw;
    int status = 1;

    if (gw_config_load(&cfg, argc, argv, NULL, &err) != 0) {
        fprintf(stderr, "jmap-gateway: %s\n(see --help)\n", err.msg);
        return 2;
    }
    if (cfg.show_help) {
        gw_config_usage(stdout);
        gw_config_free(&cfg);
        return 0;
    }
    gw_log_set_level(cfg.log_level);
    /* glibc gives each thread that mallocs its own 64 MiB arena (up to
     * 8 x cores); the workers, MHD and watcher threads would each keep
     * a mostly empty one. Two are enough: requests allocate little, and
     * the heavy allocations (a first sync) run one per account. */
    mallopt(M_ARENA_MAX, MALLOC_ARENAS);

    /* Signals are taken synchronously by this thread only; every thread
     * started below inherits the mask. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    char db_path[4096], upload_dir[4096];
    if (make_dir(cfg.state_dir, &err) != 0 ||
        path_join(db_path, sizeof(db_path), cfg.state_dir, "gateway.db", &err) != 0)
        goto out;
    if (cfg.demo && demo_start(&cfg, &demo, &err) != 0)
        goto out;
    if (demo != NULL)
        demo_start_smtp(&cfg, demo, &demo_smtp);
    /* Delayed sends wait in the store's queue (EmailSubmission). */
    struct jmap_submission_config sub = { .mail_domain = cfg.mail_domain,
                                          .max_delayed_send = 86400 };
    backend_endpoint_from_config(&sub.smtp, &cfg, &cfg.smtp);
    if (jmap_submission_configure(&sub) != 0) {
        gw_error_set(&err, GW_ERR_NOMEM, "out of memory starting up");
        goto out;
    }
    if (store_open(db_path, &store, &err) != 0)
        goto out;
    struct upload_store_limits upload_limits = {
        .max_size = cfg.limits.max_size_upload,
        .max_count = UPLOAD_MAX_COUNT,
        .max_bytes = UPLOAD_MAX_SIZES_KEPT * cfg.limits.max_size_upload,
        .max_age_s = UPLOAD_MAX_AGE_S,
    };
    if (path_join(upload_dir, sizeof(upload_dir), cfg.state_dir, "uploads", &err) != 0 ||
        upload_store_open(upload_dir, &upload_limits, &uploads, &err) != 0)
        goto out;
    upload_store_set_default(uploads);

    struct account_registry_options reg_opts = {
        .pool_size = cfg.imap_pool_size,
        .idle_timeout_s = cfg.account_idle_timeout_s,
        .auth_cache_ttl_s = cfg.auth_cache_ttl_s,
        .watch_max = cfg.imap_watch ? cfg.imap_watch_max : 0,
        .watch_idle_s = cfg.imap_watch_idle_s,
        .watch_max_age_ms = cfg.imap_watch_max_age_ms,
        .watch_first_wait_ms = cfg.imap_watch_first_wait_ms,
    };
    backend_endpoint_from_config(&reg_opts.imap, &cfg, &cfg.imap);
    accounts = account_registry_new(&reg_opts, store);
    workers = worker_pool_new(cfg.workers);
    if (accounts == NULL || workers == NULL) {
        gw_error_set(&err, GW_ERR_NOMEM, "out of memory starting up");
        goto out;
    }
    if (jmap_submission_sender_start() != 0) {
        gw_error_set(&err, GW_ERR_NOMEM, "cannot start the submission sender");
        goto out;
    }
    http_gateway_init(&gw, &cfg, accounts);
    gw.uploads = uploads;
    if (http_server_start(&gw, workers, &server, &err) != 0)
        goto out;

    print_banner(&cfg, demo != NULL);
    gw_log_info("listening on %s:%u, IMAP %s:%u (%s), %u workers", cfg.listen_host,
                cfg.listen_port, cfg.imap.host, cfg.imap.port, gw_tls_mode_name(cfg.imap.tls),
                cfg.workers);
    wait_for_shutdown(&signals, accounts, uploads);
    status = 0;
out:
    if (status != 0)
        fprintf(stderr, "jmap-gateway: %s\n", err.msg);
    http_server_stop(&server, SHUTDOWN_DRAIN_MS);
    worker_pool_free(&workers);
    jmap_submission_sender_stop();     /* holds account references */
    account_registry_free(&accounts);
    upload_store_set_default(NULL);
    upload_store_free(&uploads);
    store_close(&store);
    jmap_submission_reset();
    demo_postfix_free(&demo_smtp);
    demo_dovecot_free(&demo);
    gw_config_free(&cfg);
    return status;
}
