/* mail_store_identity.h - backends-internal: which Email and Thread a new
 * location belongs to (include/mail_store.h has the rules), for the email
 * sync's apply step (mail_store_email_apply.c: every mail_identity_ call
 * runs inside that step's transaction, with the store lock held), and the
 * Mailbox rights round of the mailbox sync (mail_store_rights.c). */
#ifndef BACKENDS_MAIL_STORE_IDENTITY_H
#define BACKENDS_MAIL_STORE_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "backend_mail.h"
#include "mail_store_db.h"

/* Size of a content key: a truncated SHA-256. */
#define MAIL_IDENTITY_KEY_LEN 16

/* A location dropped in this sync, and whether a new one took it over. */
struct mail_identity_lost {
    char email_id[MAIL_STORE_ID_MAX];
    unsigned char key[MAIL_IDENTITY_KEY_LEN];
    bool claimed;
};

/* One sync's identity state. */
struct mail_identity {
    struct mail_store *ms;
    const char *account_id;     /* borrowed */
    bool use_guid;              /* X-GUID trusted (mail_store_options) */
    struct mail_identity_lost *lost;
    size_t n_lost, cap_lost;
};

void mail_identity_init(struct mail_identity *idn, struct mail_store *ms, const char *account_id);
void mail_identity_clear(struct mail_identity *idn);

/* The content key of a message of size octets whose MAIL_STORE_HEADER_FIELDS
 * block is headers/len. False (no key) when the block is empty: such a
 * message is never matched by content. */
bool mail_identity_key(uint64_t size, const char *headers, size_t len,
                       unsigned char key[MAIL_IDENTITY_KEY_LEN]);

/* Call before the location (mailbox_id, uid) is dropped: remembers its
 * Email and content key so a new location of this sync may take it over.
 * A uid with no location is ignored. */
int mail_identity_note_lost(struct mail_identity *idn, const char *mailbox_id, uint32_t uid,
                            struct gw_error *err);

/* The live Email the new message m belongs to, into id ("" when it is a
 * new Email): by EMAILID, then X-GUID (when trusted), then a location lost
 * in this sync with the same content key. An Email found records the
 * server identities m carries (UPDATE OR IGNORE: never two Emails with
 * one). A destroyed Email gives its server identities up. */
int mail_identity_email(struct mail_identity *idn, const struct backend_message_summary *m,
                        char id[MAIL_STORE_ID_MAX], struct gw_error *err);

/* The live Email the gateway's own COPY/MOVE put at (mailbox_id,
 * uidvalidity, uid) (mail_store_expect_location), into id ("" when none
 * was expected or it was destroyed since). Consumes the expectation; a
 * location that Email lost in this sync is then claimed by it. */
int mail_identity_expected(struct mail_identity *idn, const char *mailbox_id,
                           uint32_t uidvalidity, uint32_t uid, char id[MAIL_STORE_ID_MAX],
                           struct gw_error *err);

/* The live Thread a server THREADID maps to, into thread ("" when none:
 * a destroyed one gives the THREADID up). */
int mail_identity_thread(struct mail_identity *idn, const char *threadid,
                         char thread[MAIL_STORE_ID_MAX], struct gw_error *err);

/* Maps threadid to the (new) thread. */
int mail_identity_bind_thread(struct mail_identity *idn, const char *threadid, const char *thread,
                              struct gw_error *err);

/* ---- myRights (mail_store_rights.c) ---- */

enum mail_rights_state {
    MAIL_RIGHTS_NOT_ASKED = 0,  /* not due: keep what is cached */
    MAIL_RIGHTS_ANSWERED,       /* mask[i] is fresh */
    MAIL_RIGHTS_REFUSED,        /* the server said NO: keep the old rights, ask
                                 * again after the TTL */
};

/* The MYRIGHTS answers of one mailbox round, by index of the LIST answer. */
struct mail_rights_round {
    bool acl;                   /* the server has ACL (else: every right) */
    int64_t now;                /* when they were asked (seconds) */
    unsigned *mask;             /* enum mail_store_right */
    unsigned char *state;       /* enum mail_rights_state */
};

/* Asks MYRIGHTS (without the store lock) for every listed mailbox whose
 * rights are due: new or renamed since the last round, or asked longer
 * than the rights TTL ago. A NO for one mailbox keeps its old rights (all
 * for a new one) until the next TTL. Fills *r (clear it with
 * mail_rights_round_clear). */
int mail_rights_fetch(struct mail_store *ms, const char *account_id, struct mail_backend *b,
                      const struct backend_mailbox_list *list, struct mail_rights_round *r,
                      struct gw_error *err);
void mail_rights_round_clear(struct mail_rights_round *r);

#endif
