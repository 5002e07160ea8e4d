/* imap_read.h - backends-internal: the IMAP implementations of the read
 * entries of struct mail_backend_vtable (contracts in backend_mail.h). */
#ifndef BACKENDS_IMAP_READ_H
#define BACKENDS_IMAP_READ_H

#include "backend-private.h"
#include "imap_wire.h"

int imap_list_mailboxes(struct mail_backend *b, struct backend_mailbox_list **out,
                        struct gw_error *err);
int imap_select(struct mail_backend *b, const struct backend_select_req *req,
                struct backend_selected **out, struct gw_error *err);
int imap_fetch_summaries(struct mail_backend *b, const struct backend_fetch_req *req,
                         backend_summary_fn fn, void *ctx, struct gw_error *err);
int imap_uid_search(struct mail_backend *b, const struct backend_search *criteria,
                    uint32_t **uids, size_t *n, struct gw_error *err);
int imap_uid_sort(struct mail_backend *b, const struct backend_sort_key *keys, size_t n_keys,
                  const struct backend_search *criteria, uint32_t **uids, size_t *n,
                  struct gw_error *err);
int imap_multi_search(struct mail_backend *b, const char *const *names_raw, size_t n_names,
                      const struct backend_search *criteria, backend_multi_search_fn fn, void *ctx,
                      struct gw_error *err);
int imap_fetch_part(struct mail_backend *b, uint32_t uid, const char *part, uint64_t offset,
                    size_t max_len, bool decode, struct backend_part_data **out,
                    struct gw_error *err);

/* Converts a parsed flag list into out (new strings). Returns 0, or -1 when
 * v is not a list of atoms or on ENOMEM (out is then empty). */
int imap_flags_from(const struct imap_value *v, struct backend_flags *out);

/* Parses the attribute list att of an untagged FETCH (UID, MODSEQ, FLAGS)
 * and appends it to the growing array *v (*n used, *cap allocated); one
 * without a UID is skipped. cmd names the command in errors. Returns 0, or
 * -1 with err (GW_ERR_PROTOCOL, GW_ERR_NOMEM) and nothing appended. */
int imap_msg_change_append(const struct imap_value *att, const char *cmd,
                           struct backend_msg_change **v, size_t *n, size_t *cap,
                           struct gw_error *err);

/* Appends a mailbox name (raw, as listed) to c as an IMAP string. */
void imap_cmd_add_mailbox(struct imap_cmd *c, const char *name_raw);

/* NIL -> NULL, atom or string -> new copy. Returns -1 for another type or
 * on ENOMEM. */
int imap_nstring(const struct imap_value *v, char **out);

/* An RFC 8474 objectid value: "(id)" -> new copy of id, NIL -> NULL (both
 * return 0). -1 for anything else (bad syntax, characters outside
 * ALPHA / DIGIT / "_" / "-", longer than 255) or on ENOMEM. */
int imap_objectid(const struct imap_value *v, char **out);

/* Fills e (already owned by its summary or part, so a failure half way
 * leaves nothing to leak) from an ENVELOPE list. Returns 0 or -1. */
int imap_envelope_fill(const struct imap_value *v, struct backend_envelope *e);

/* Builds *out (new, attached by the caller before any failure can happen:
 * see imap_fetch.c) from a BODYSTRUCTURE value. Returns 0 or -1. */
int imap_bodystructure_fill(const struct imap_value *v, struct backend_mime_part *out);

#endif
