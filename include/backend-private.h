/* backend-private.h - what a backend instance (IMAP now, POP3 later)
 * implements behind the public wrappers of backend.h.
 *
 * Only backends/ includes this. A concrete backend embeds struct
 * mail_backend as its first member and points v at its static vtable; the
 * wrappers in backends/backend.c do the generic work (broken flag,
 * capability lookup) once and dispatch the rest through b->v.
 */
#ifndef BACKEND_PRIVATE_H
#define BACKEND_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "backend_mail.h"

struct mail_backend_vtable {
    const char *name;   /* "imap", for logs */

    /* One round trip proving the session is alive. Returns 0 or -1 with err;
     * the wrapper marks the connection broken on failure. */
    int (*noop)(struct mail_backend *b, struct gw_error *err);

    /* True when the server has sent something no command has read yet, or
     * closed the connection: what an idle pooled connection should never
     * see, unless the server said BYE meanwhile (Dovecot does when another
     * session deletes the mailbox this one has selected). No I/O beyond a
     * zero-timeout poll. NULL: never checked. */
    bool (*peer_spoke)(struct mail_backend *b);

    /* Says goodbye to the server when the connection is healthy (bounded by
     * the command timeout), then frees b and everything it owns. */
    void (*destroy)(struct mail_backend *b);

    /* Read primitives of backend_mail.h, same contracts; the wrappers have
     * checked the arguments and that the connection is not broken. A
     * backend without mailboxes (POP3) leaves the ones it lacks NULL. */
    int (*list_mailboxes)(struct mail_backend *b, struct backend_mailbox_list **out,
                          struct gw_error *err);
    int (*select)(struct mail_backend *b, const struct backend_select_req *req,
                  struct backend_selected **out, struct gw_error *err);
    int (*fetch_summaries)(struct mail_backend *b, const struct backend_fetch_req *req,
                           backend_summary_fn fn, void *ctx, struct gw_error *err);
    int (*uid_search)(struct mail_backend *b, const struct backend_search *criteria,
                      uint32_t **uids, size_t *n, struct gw_error *err);
    int (*multi_search)(struct mail_backend *b, const char *const *names_raw, size_t n_names,
                        const struct backend_search *criteria, backend_multi_search_fn fn,
                        void *ctx, struct gw_error *err);
    int (*uid_sort)(struct mail_backend *b, const struct backend_sort_key *keys, size_t n_keys,
                    const struct backend_search *criteria, uint32_t **uids, size_t *n,
                    struct gw_error *err);
    int (*fetch_part)(struct mail_backend *b, uint32_t uid, const char *part, uint64_t offset,
                      size_t max_len, bool decode, struct backend_part_data **out,
                      struct gw_error *err);
};

struct mail_backend {
    const struct mail_backend_vtable *v;
    bool broken;            /* I/O error, timeout or BYE seen: never reuse */
    char **caps;            /* post-login capabilities, owned, as sent */
    size_t n_caps;
};

/* Timeout used when an endpoint leaves one at 0 (a 0 budget would make
 * every wait fail at once). */
#define BACKEND_DEFAULT_TIMEOUT_MS 30000u

/* Fills zero timeouts of ep with BACKEND_DEFAULT_TIMEOUT_MS. */
void backend_endpoint_fill_defaults(struct backend_endpoint *ep);

/* How long a pooled connection may sit idle before acquire NOOPs it first
 * (default 30 s). Exposed for tests. */
void backend_pool_set_stale_ms(struct backend_pool *p, unsigned ms);

/* Opens a connection with the pool's credentials that the pool does not
 * count or keep (a long-lived watcher's): the caller owns *out and closes
 * it with backend_close(). Errors as backend_imap_open(). */
int backend_pool_open_extra(struct backend_pool *p, struct mail_backend **out,
                            struct gw_error *err);

/* v->peer_spoke for b (false without one; true for a broken b). */
bool backend_peer_spoke(struct mail_backend *b);

/* Replaces b's capability list with a new one taking ownership of caps
 * (an array of n malloc'ed strings, itself malloc'ed). */
void backend_caps_replace(struct mail_backend *b, char **caps, size_t n);

/* Frees b's capability list. */
void backend_caps_clear(struct mail_backend *b);

#endif
