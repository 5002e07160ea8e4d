/* config.c - operator options from defaults, config file, environment and
 * command line (see include/gw_config.h). One table drives all four sources,
 * --help and validation, so an option exists in exactly one place. */
#include "gw_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

extern char **environ;

enum option_type {
    OPT_STRING,     /* char * */
    OPT_HOSTPORT,   /* listen: host + port */
    OPT_PORT,       /* uint16_t */
    OPT_UINT,       /* unsigned, > 0 */
    OPT_U64,        /* uint64_t, > 0 */
    OPT_DURATION_MS,/* unsigned milliseconds: "500ms", "3s", "3" (seconds) */
    OPT_DURATION_S, /* unsigned seconds */
    OPT_BOOL,
    OPT_TLS,
    OPT_LOG_LEVEL,
    OPT_LIST,       /* char ** NULL-terminated, comma-separated */
    OPT_CONFIG,     /* --config: handled before everything else */
};

struct option_def {
    const char *name;
    enum option_type type;
    size_t offset;
    const char *default_value;  /* NULL: unset */
    const char *help;
};

#define CFG(field) offsetof(struct gw_config, field)

static const struct option_def option_table[] = {
    { "config", OPT_CONFIG, 0, NULL, "read options from FILE (name = value lines)" },
    { "listen", OPT_HOSTPORT, 0, "127.0.0.1:8080", "HTTP address and port" },
    { "base-url", OPT_STRING, CFG(base_url), NULL,
      "public URL used in the session resource (default http://<listen>)" },
    { "imap-host", OPT_STRING, CFG(imap.host), "127.0.0.1", "IMAP server host" },
    { "imap-port", OPT_PORT, CFG(imap.port), "143", "IMAP server port" },
    { "imap-tls", OPT_TLS, CFG(imap.tls), "starttls",
      "none | starttls | tls (implicit, usually 993); none only for loopback" },
    { "smtp-host", OPT_STRING, CFG(smtp.host), "127.0.0.1", "SMTP submission server host" },
    { "smtp-port", OPT_PORT, CFG(smtp.port), "587", "SMTP submission server port" },
    { "smtp-tls", OPT_TLS, CFG(smtp.tls), "starttls", "none | starttls | tls" },
    { "mail-domain", OPT_STRING, CFG(mail_domain), NULL,
      "domain of the default identity of a login without @ (login@domain)" },
    { "pop3-host", OPT_STRING, CFG(pop3.host), NULL, "optional POP3 server host" },
    { "pop3-port", OPT_PORT, CFG(pop3.port), "110", "POP3 server port" },
    { "pop3-tls", OPT_TLS, CFG(pop3.tls), "starttls", "none | starttls | tls" },
    { "tls-ca-file", OPT_STRING, CFG(tls_ca_file), NULL,
      "PEM file of CAs trusted for backend certificates (default: system store)" },
    { "tls-insecure", OPT_BOOL, CFG(tls_insecure), "off",
      "do not verify backend certificates and host names (testing only)" },
    { "state-dir", OPT_STRING, CFG(state_dir), "./var", "SQLite store, uploads, demo servers" },
    { "workers", OPT_UINT, CFG(workers), NULL, "worker threads for backend calls (default 2 x cores)" },
    { "log-level", OPT_LOG_LEVEL, CFG(log_level), "info", "error | warn | info | debug" },
    { "cors-origins", OPT_LIST, CFG(cors_origins), "*",
      "comma-separated origins allowed to call from a browser; * allows any (no credentials)" },
    { "connect-timeout", OPT_DURATION_MS, CFG(connect_timeout_ms), "10s",
      "backend connect + TLS + greeting timeout (e.g. 10s, 500ms)" },
    { "command-timeout", OPT_DURATION_MS, CFG(command_timeout_ms), "30s",
      "timeout of one backend command" },
    { "account-idle-timeout", OPT_DURATION_S, CFG(account_idle_timeout_s), "900s",
      "drop an account's cache and connections after this long unused" },
    { "auth-cache-ttl", OPT_DURATION_S, CFG(auth_cache_ttl_s), "300s",
      "re-check a cached login with the IMAP server after this long" },
    { "imap-pool-size", OPT_UINT, CFG(imap_pool_size), "4", "IMAP connections per account" },
    { "imap-watch", OPT_BOOL, CFG(imap_watch), "on",
      "watch accounts for changes (IMAP NOTIFY) so quiet ones skip the per-request sync" },
    { "imap-watch-max", OPT_UINT, CFG(imap_watch_max), "256", "accounts watched at once" },
    { "imap-watch-idle", OPT_DURATION_S, CFG(imap_watch_idle_s), "600s",
      "stop watching an account unused this long" },
    { "imap-watch-max-age", OPT_DURATION_MS, CFG(imap_watch_max_age_ms), "3s",
      "sync a watched, quiet account at least this often (covers changes the server never announces)" },
    { "imap-watch-first-wait", OPT_DURATION_MS, CFG(imap_watch_first_wait_ms), "100ms",
      "how long an account's first sync waits for its watcher's mailbox listing"
      " before taking its own" },
    { "max-size-upload", OPT_U64, CFG(limits.max_size_upload), "50000000", "maxSizeUpload (bytes)" },
    { "max-concurrent-upload", OPT_U64, CFG(limits.max_concurrent_upload), "4", "maxConcurrentUpload" },
    { "max-size-request", OPT_U64, CFG(limits.max_size_request), "10000000", "maxSizeRequest (bytes)" },
    { "max-concurrent-requests", OPT_U64, CFG(limits.max_concurrent_requests), "4",
      "maxConcurrentRequests per account" },
    { "max-calls-in-request", OPT_U64, CFG(limits.max_calls_in_request), "16", "maxCallsInRequest" },
    { "max-objects-in-get", OPT_U64, CFG(limits.max_objects_in_get), "500", "maxObjectsInGet" },
    { "max-objects-in-set", OPT_U64, CFG(limits.max_objects_in_set), "500", "maxObjectsInSet" },
    { "demo", OPT_BOOL, CFG(demo), "off",
      "start a private Dovecot with demo accounts under state-dir and use it" },
    { "help", OPT_BOOL, CFG(show_help), "off", "print this help and exit" },
};

#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

static const struct option_def *option_find(const char *name, size_t len)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strlen(option_table[i].name) == len && strncmp(option_table[i].name, name, len) == 0)
            return &option_table[i];
    }
    return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (*s == '\0' || *s == '-' || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* "250ms", "3s", "2m", or a bare number of seconds. */
static int parse_duration_ms(const char *s, uint64_t *out)
{
    char *end = NULL;
    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    unsigned long long scale;
    if (strcmp(end, "ms") == 0)
        scale = 1;
    else if (*end == '\0' || strcmp(end, "s") == 0)
        scale = 1000;
    else if (strcmp(end, "m") == 0)
        scale = 60000;
    else
        return -1;
    if (v > UINT_MAX / scale)
        return -1;
    *out = v * scale;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static int parse_tls(const char *s, enum gw_tls_mode *out)
{
    for (int m = GW_TLS_NONE; m <= GW_TLS_IMPLICIT; m++) {
        if (strcmp(s, gw_tls_mode_name((enum gw_tls_mode)m)) == 0) {
            *out = (enum gw_tls_mode)m;
            return 0;
        }
    }
    return -1;
}

static void free_list(char ***list)
{
    if (*list == NULL)
        return;
    for (char **p = *list; *p != NULL; p++)
        free(*p);
    free(*list);
    *list = NULL;
}

static int parse_list(const char *s, char ***out)
{
    size_t n = 1;
    for (const char *p = s; *p; p++)
        n += (*p == ',');
    char **list = calloc(n + 1, sizeof(*list));
    if (list == NULL)
        return -1;
    size_t count = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if (end > start) {
            list[count] = strndup(start, (size_t)(end - start));
            if (list[count] == NULL) {
                free_list(&list);
                return -1;
            }
            count++;
        }
    }
    *out = list;
    return 0;
}

/* "host:port", "[v6]:port" */
static int parse_hostport(const char *s, char **host, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    uint64_t p;
    if (colon == NULL || parse_u64(colon + 1, &p) != 0 || p > 65535)
        return -1;
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0)
        return -1;
    char *copy = strndup(h, hlen);
    if (copy == NULL)
        return -1;
    free(*host);
    *host = copy;
    *port = (uint16_t)p;
    return 0;
}

static int option_apply(struct gw_config *cfg, const struct option_def *opt, const char *value,
                        const char *source, struct gw_error *err)
{
    char *base = (char *)cfg;
    void *field = base + opt->offset;
    uint64_t u;
    bool ok = true;

    switch (opt->type) {
    case OPT_CONFIG:
        return 0;
    case OPT_STRING: {
        char *copy = strdup(value);
        if (copy == NULL)
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        break;
    }
    case OPT_HOSTPORT:
        ok = parse_hostport(value, &cfg->listen_host, &cfg->listen_port) == 0;
        break;
    case OPT_PORT:
        ok = parse_u64(value, &u) == 0 && u > 0 && u <= 65535;
        if (ok)
            *(uint16_t *)field = (uint16_t)u;
        break;
    case OPT_UINT:
        ok = parse_u64(value, &u) == 0 && u > 0 && u <= UINT_MAX;
        if (ok)
            *(unsigned *)field = (unsigned)u;
        break;
    case OPT_U64:
        ok = parse_u64(value, &u) == 0 && u > 0 && u <= (1ULL << 53);
        if (ok)
            *(uint64_t *)field = u;
        break;
    case OPT_DURATION_MS:
    case OPT_DURATION_S:
        ok = parse_duration_ms(value, &u) == 0 && u > 0;
        if (ok)
            *(unsigned *)field = (unsigned)(opt->type == OPT_DURATION_S ? (u + 999) / 1000 : u);
        break;
    case OPT_BOOL:
        ok = parse_bool(value, (bool *)field) == 0;
        break;
    case OPT_TLS:
        ok = parse_tls(value, (enum gw_tls_mode *)field) == 0;
        break;
    case OPT_LOG_LEVEL:
        ok = gw_log_level_parse(value, (enum gw_log_level *)field) == 0;
        break;
    case OPT_LIST: {
        char **list = NULL;
        ok = parse_list(value, &list) == 0 && list[0] != NULL;
        if (ok) {
            free_list((char ***)field);
            *(char ***)field = list;
        } else {
            free_list(&list);
        }
        break;
    }
    }
    if (!ok)
        return gw_error_set(err, GW_ERR_INVALID, "%s: invalid value for %s: \"%s\"", source,
                            opt->name, value);
    return 0;
}

/* JMAPGW_IMAP_HOST -> "imap-host"; returns 0 if it names an option. */
static const struct option_def *option_from_env_name(const char *name, size_t len)
{
    static const char prefix[] = "JMAPGW_";
    if (len <= sizeof(prefix) - 1 || strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return NULL;
    char buf[64];
    size_t n = len - (sizeof(prefix) - 1);
    if (n >= sizeof(buf))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[sizeof(prefix) - 1 + i];
        buf[i] = c == '_' ? '-' : (char)tolower((unsigned char)c);
    }
    return option_find(buf, n);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int load_file(struct gw_config *cfg, const char *path, struct gw_error *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "cannot open config file %s: %s", path,
                            strerror(errno));
    char line[4096];
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        char source[64];
        snprintf(source, sizeof(source), "line %u", lineno);
        if (eq == NULL) {
            rc = gw_error_set(err, GW_ERR_INVALID, "%s:%u: expected name = value", path, lineno);
            break;
        }
        *eq = '\0';
        char *name = trim(s);
        char *value = trim(eq + 1);
        const struct option_def *opt = option_find(name, strlen(name));
        if (opt == NULL || opt->type == OPT_CONFIG)
            rc = gw_error_set(err, GW_ERR_INVALID, "%s:%u: unknown option \"%s\"", path, lineno,
                              name);
        else
            rc = option_apply(cfg, opt, value, source, err);
    }
    fclose(f);
    return rc;
}

/* Splits "--name=value" / "--name value" / bare boolean "--name". */
static int argv_option(int argc, char **argv, int *i, const struct option_def **opt,
                       const char **value, struct gw_error *err)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return gw_error_set(err, GW_ERR_INVALID, "unexpected argument \"%s\"", arg);
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    *opt = option_find(name, len);
    if (*opt == NULL)
        return gw_error_set(err, GW_ERR_INVALID, "unknown option \"--%.*s\"", (int)len, name);
    if (eq != NULL)
        *value = eq + 1;
    else if ((*opt)->type == OPT_BOOL)
        *value = "on";
    else if (*i + 1 < argc)
        *value = argv[++*i];
    else
        return gw_error_set(err, GW_ERR_INVALID, "option --%s needs a value", (*opt)->name);
    return 0;
}

static const char *env_lookup(char **envp, const char *var)
{
    size_t len = strlen(var);
    for (char **e = envp; *e != NULL; e++) {
        if (strncmp(*e, var, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    }
    return NULL;
}

static int apply_defaults(struct gw_config *cfg, struct gw_error *err)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *opt = &option_table[i];
        if (opt->default_value != NULL && option_apply(cfg, opt, opt->default_value, "default",
                                                       err) != 0)
            return -1;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = cores > 0 && cores < 512 ? (unsigned)(2 * cores) : 4;
    return 0;
}

static int finish(struct gw_config *cfg, struct gw_error *err)
{
    if (cfg->base_url == NULL) {
        char buf[300];
        bool v6 = strchr(cfg->listen_host, ':') != NULL;
        int n = snprintf(buf, sizeof(buf), "http://%s%s%s:%u", v6 ? "[" : "", cfg->listen_host,
                         v6 ? "]" : "", cfg->listen_port);
        if (n < 0 || (size_t)n >= sizeof(buf))
            return gw_error_set(err, GW_ERR_INVALID, "listen host too long");
        cfg->base_url = strdup(buf);
        if (cfg->base_url == NULL)
            return gw_error_set(err, GW_ERR_NOMEM, "out of memory");
    }
    size_t len = strlen(cfg->base_url);
    while (len > 0 && cfg->base_url[len - 1] == '/')
        cfg->base_url[--len] = '\0';
    if (strncmp(cfg->base_url, "http://", 7) != 0 && strncmp(cfg->base_url, "https://", 8) != 0)
        return gw_error_set(err, GW_ERR_INVALID, "base-url must start with http:// or https://");
    if (cfg->imap.tls == GW_TLS_NONE && !cfg->demo && !gw_host_is_loopback(cfg->imap.host))
        return gw_error_set(err, GW_ERR_INVALID,
                            "imap-tls none is only allowed for a loopback imap-host");
    return 0;
}

int gw_config_load(struct gw_config *cfg, int argc, char **argv, char **envp,
                   struct gw_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (envp == NULL)
        envp = environ;
    if (apply_defaults(cfg, err) != 0)
        goto fail;

    /* The config file is the lowest explicit source, so find it first. */
    const char *config_path = env_lookup(envp, "JMAPGW_CONFIG");
    for (int i = 1; i < argc; i++) {
        const struct option_def *opt;
        const char *value;
        if (argv_option(argc, argv, &i, &opt, &value, err) != 0)
            goto fail;
        if (opt->type == OPT_CONFIG)
            config_path = value;
    }
    if (config_path != NULL && load_file(cfg, config_path, err) != 0)
        goto fail;

    for (char **e = envp; *e != NULL; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL)
            continue;
        const struct option_def *opt = option_from_env_name(*e, (size_t)(eq - *e));
        if (opt != NULL && option_apply(cfg, opt, eq + 1, "environment", err) != 0)
            goto fail;
    }
    for (int i = 1; i < argc; i++) {
        const struct option_def *opt;
        const char *value;
        if (argv_option(argc, argv, &i, &opt, &value, err) != 0 ||
            option_apply(cfg, opt, value, "command line", err) != 0)
            goto fail;
    }
    if (finish(cfg, err) != 0)
        goto fail;
    return 0;
fail:
    gw_config_free(cfg);
    return -1;
}

void gw_config_free(struct gw_config *cfg)
{
    free(cfg->listen_host);
    free(cfg->base_url);
    free(cfg->imap.host);
    free(cfg->smtp.host);
    free(cfg->mail_domain);
    free(cfg->pop3.host);
    free(cfg->tls_ca_file);
    free(cfg->state_dir);
    free_list(&cfg->cors_origins);
    memset(cfg, 0, sizeof(*cfg));
}

void gw_config_usage(FILE *out)
{
    fprintf(out, "usage: jmap-gateway [--name value ...]\n\n"
                 "Every option may also be set as JMAPGW_NAME in the environment (upper case,\n"
                 "dashes as underscores) or as `name = value` in the --config file.\n"
                 "Precedence: command line, environment, config file, default.\n\n");
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option_def *opt = &option_table[i];
        fprintf(out, "  --%-24s %s", opt->name, opt->help);
        if (opt->default_value != NULL && opt->type != OPT_BOOL)
            fprintf(out, " [%s]", opt->default_value);
        fputc('\n', out);
    }
}
