/* session.c - the JMAP Session resource (RFC 8620 §2).
 *
 * The state is a digest of everything else in the object, so it changes
 * exactly when the session does (new limits, URLs, capabilities) and is the
 * same across restarts, which lets clients keep a cached session. */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_gateway.h"

/* The session a thread last answered for, by what decides it: the gateway
 * (its limits and base URL: by value, as a gateway freed and another made
 * at the same address must not match), the account's id and name, and the
 * generation of the account capabilities, the one part that changes at run
 * time (the submission server's extensions once probed). Per thread, so
 * the API path takes no lock for it; fixed buffers, so nothing is left to
 * free at thread exit. */
struct session_state_cache {
    const struct http_gateway *gw;
    struct jmap_core_limits limits;
    char base_url[512];
    char account_id[128];
    char username[256];
    unsigned caps_generation;
    char state[SESSION_STATE_LEN + 1];
};

static _Thread_local struct session_state_cache state_cache;

static json_t *url_join(const char *base, const char *suffix)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "%s%s", base, suffix);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    return json_string(buf);
}

static int state_digest(const json_t *session, char *out)
{
    char *text = json_dumps(session, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    int rc = -1;
    if (text == NULL)
        return -1;
    if (EVP_Digest(text, strlen(text), digest, &dlen, EVP_sha256(), NULL) == 1 &&
        dlen * 2 >= SESSION_STATE_LEN) {
        static const char hex[] = "0123456789abcdef";
        for (int i = 0; i < SESSION_STATE_LEN / 2; i++) {
            out[2 * i] = hex[digest[i] >> 4];
            out[2 * i + 1] = hex[digest[i] & 15];
        }
        out[SESSION_STATE_LEN] = '\0';
        rc = 0;
    }
    free(text);
    return rc;
}

json_t *session_build(const struct http_gateway *gw, const struct account *account,
                      char *state_out)
{
    const char *base = gw->cfg->base_url;
    const char *id = account_id(account);
    char state[SESSION_STATE_LEN + 1];

    json_t *acct = json_pack("{s:s, s:b, s:b, s:o}", "name", account_username(account),
                             "isPersonal", 1, "isReadOnly", 0, "accountCapabilities",
                             jmap_capabilities_account());
    json_t *session = json_pack(
        "{s:o, s:{s:o}, s:{s:s, s:s}, s:s, s:o, s:o, s:o, s:o}",
        "capabilities", jmap_capabilities_server(&gw->limits),
        "accounts", id, acct,
        /* RFC 8620 says core SHOULD NOT be a primary account, but deployed
         * clients look it up there; naming it breaks no conforming client. */
        "primaryAccounts", JMAP_CAPABILITY_CORE, id, JMAP_CAPABILITY_MAIL, id,
        "username", account_username(account),
        "apiUrl", url_join(base, "/jmap/api"),
        "downloadUrl", url_join(base, "/jmap/download/{accountId}/{blobId}/{name}?type={type}"),
        "uploadUrl", url_join(base, "/jmap/upload/{accountId}/"),
        "eventSourceUrl",
        url_join(base, "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}"));
    if (session == NULL || state_digest(session, state) != 0) {
        json_decref(session);
        return NULL;
    }
    if (json_object_set_new(session, "state", json_string(state)) != 0) {
        json_decref(session);
        return NULL;
    }
    if (state_out != NULL)
        memcpy(state_out, state, sizeof(state));
    return session;
}

static int copy_key(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size)
        return -1;
    memcpy(dst, src, len + 1);
    return 0;
}

int session_state(const struct http_gateway *gw, const struct account *account,
                  char *state_out)
{
    struct session_state_cache *c = &state_cache;
    /* Read before building: a probe that lands meanwhile makes the next
     * call build again rather than keep a state of older capabilities. */
    unsigned generation = jmap_capabilities_account_generation();
    if (c->gw == gw && c->caps_generation == generation &&
        memcmp(&c->limits, &gw->limits, sizeof(gw->limits)) == 0 &&
        strcmp(c->base_url, gw->cfg->base_url) == 0 &&
        strcmp(c->account_id, account_id(account)) == 0 &&
        strcmp(c->username, account_username(account)) == 0) {
        memcpy(state_out, c->state, sizeof(c->state));
        return 0;
    }
    json_t *session = session_build(gw, account, state_out);
    if (session == NULL)
        return -1;
    c->gw = NULL;
    if (copy_key(c->base_url, sizeof(c->base_url), gw->cfg->base_url) == 0 &&
        copy_key(c->account_id, sizeof(c->account_id), account_id(account)) == 0 &&
        copy_key(c->username, sizeof(c->username), account_username(account)) == 0) {
        c->caps_generation = generation;
        c->limits = gw->limits;
        memcpy(c->state, state_out, sizeof(c->state));
        c->gw = gw;
    }
    json_decref(session);
    return 0;
}
