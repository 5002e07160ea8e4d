/* backend_endpoint.c - building a backend_endpoint from the operator config. */
#include "backend.h"

void backend_endpoint_from_config(struct backend_endpoint *ep, const struct gw_config *cfg,
                                  const struct gw_endpoint *server)
{
    ep->host = server->host;
    ep->port = server->port;
    ep->tls = server->tls;
    ep->ca_file = cfg->tls_ca_file;
    ep->tls_insecure = cfg->tls_insecure;
    ep->connect_timeout_ms = cfg->connect_timeout_ms;
    ep->command_timeout_ms = cfg->command_timeout_ms;
}
