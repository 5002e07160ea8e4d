/* http_auth.c - HTTP Basic credentials (RFC 7617), never logged; also
 * taken as a Bearer token (RFC 6750 syntax) holding the same
 * base64(user:password), for clients that only send bearer tokens
 * (jmap-jam). The gateway has no tokens of its own to hand out: the
 * credentials are the IMAP login either way. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_gateway.h"

#define MAX_CREDENTIALS_B64 4096

/* base64(user:password) after the scheme name (b64 may have spaces
 * around it). */
static int parse_credentials(const char *b64, char **user, char **password)
{
    while (*b64 == ' ')
        b64++;
    size_t len = strlen(b64);
    while (len > 0 && b64[len - 1] == ' ')
        len--;
    if (len == 0 || len % 4 != 0 || len > MAX_CREDENTIALS_B64)
        return -1;

    unsigned char *raw = malloc(len / 4 * 3 + 1);
    if (raw == NULL)
        return -1;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
    int rc = -1;
    if (n < 0)
        goto out;
    /* EVP_DecodeBlock counts padding as zero bytes; take them back off. */
    if (b64[len - 1] == '=')
        n--;
    if (b64[len - 2] == '=')
        n--;
    if (memchr(raw, '\0', (size_t)n) != NULL)
        goto out;
    unsigned char *colon = memchr(raw, ':', (size_t)n);
    if (colon == NULL || colon == raw)
        goto out;
    *user = strndup((const char *)raw, (size_t)(colon - raw));
    *password = strndup((const char *)colon + 1, (size_t)(raw + n - colon - 1));
    if (*user == NULL || *password == NULL) {
        free(*user);
        *user = NULL;
        http_auth_free_password(password);
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(raw, len / 4 * 3 + 1);
    free(raw);
    return rc;
}

int http_auth_parse_basic(const char *header, char **user, char **password)
{
    *user = NULL;
    *password = NULL;
    if (header == NULL || strncasecmp(header, "Basic ", 6) != 0)
        return -1;
    return parse_credentials(header + 6, user, password);
}

int http_auth_parse(const char *header, char **user, char **password)
{
    *user = NULL;
    *password = NULL;
    if (header != NULL && strncasecmp(header, "Bearer ", 7) == 0)
        return parse_credentials(header + 7, user, password);
    return http_auth_parse_basic(header, user, password);
}

void http_auth_free_password(char **password)
{
    if (*password == NULL)
        return;
    OPENSSL_cleanse(*password, strlen(*password));
    free(*password);
    *password = NULL;
}
