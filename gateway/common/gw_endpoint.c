/* gw_endpoint.c - small facts about backend endpoints that every layer
 * needs (declared in include/gw_config.h). */
#include "gw_config.h"

#include <arpa/inet.h>
#include <strings.h>

const char *gw_tls_mode_name(enum gw_tls_mode mode)
{
    switch (mode) {
    case GW_TLS_NONE:
        return "none";
    case GW_TLS_STARTTLS:
        return "starttls";
    case GW_TLS_IMPLICIT:
        return "tls";
    }
    return "unknown";
}

bool gw_host_is_loopback(const char *host)
{
    if (host == NULL)
        return false;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return false;
}
