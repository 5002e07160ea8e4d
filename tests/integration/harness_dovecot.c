/* harness_dovecot.c - a private Dovecot per test file, in a temp dir of
 * its own (a thin wrapper over demo_dovecot.h). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_dovecot.h"

struct demo_dovecot *harness_dovecot_start(const char *const *cert_names, char **base_dir_out)
{
    struct demo_dovecot_options opts;
    struct demo_dovecot *d = NULL;
    struct gw_error err;
    char *dir = harness_mkdtemp("dovecot");

    *base_dir_out = NULL;
    if (dir == NULL)
        return NULL;
    memset(&opts, 0, sizeof(opts));
    opts.base_dir = dir;
    opts.tls = true;
    opts.seed_demo_mail = true;
    opts.cert_names = cert_names;
    gw_error_clear(&err);
    if (demo_dovecot_start(&opts, &d, &err) != 0) {
        fprintf(stderr, "harness: demo_dovecot_start: %s: %s\n", gw_error_code_name(err.code),
                err.msg);
        harness_rmtree(dir);
        free(dir);
        return NULL;
    }
    *base_dir_out = dir;
    return d;
}

void harness_dovecot_free(struct demo_dovecot **d, char **base_dir)
{
    demo_dovecot_free(d);
    if (base_dir != NULL && *base_dir != NULL) {
        if (getenv("JMAPGW_KEEP_TMP") == NULL)
            harness_rmtree(*base_dir);
        free(*base_dir);
        *base_dir = NULL;
    }
}
