/* backend.c - the public wrappers of backend.h: generic checks here,
 * protocol work behind b->v (include/backend-private.h). */
#include "backend-private.h"

#include <stdlib.h>
#include <strings.h>

#include "gw_log.h"

void backend_endpoint_fill_defaults(struct backend_endpoint *ep)
{
    if (ep->connect_timeout_ms == 0)
        ep->connect_timeout_ms = BACKEND_DEFAULT_TIMEOUT_MS;
    if (ep->command_timeout_ms == 0)
        ep->command_timeout_ms = BACKEND_DEFAULT_TIMEOUT_MS;
}

void backend_caps_clear(struct mail_backend *b)
{
    for (size_t i = 0; i < b->n_caps; i++)
        free(b->caps[i]);
    free(b->caps);
    b->caps = NULL;
    b->n_caps = 0;
}

void backend_caps_replace(struct mail_backend *b, char **caps, size_t n)
{
    backend_caps_clear(b);
    b->caps = caps;
    b->n_caps = n;
}

void backend_close(struct mail_backend **b)
{
    if (b == NULL || *b == NULL)
        return;
    (*b)->v->destroy(*b);
    *b = NULL;
}

int backend_noop(struct mail_backend *b, struct gw_error *err)
{
    if (b->broken)
        return gw_error_set(err, GW_ERR_UNAVAILABLE, "connection is no longer usable");
    if (b->v->noop(b, err) < 0) {
        b->broken = true;
        return -1;
    }
    return 0;
}

bool backend_is_broken(const struct mail_backend *b)
{
    return b->broken;
}

bool backend_has_capability(const struct mail_backend *b, const char *capability)
{
    for (size_t i = 0; i < b->n_caps; i++) {
        if (strcasecmp(b->caps[i], capability) == 0)
            return true;
    }
    return false;
}
