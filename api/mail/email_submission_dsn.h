/* email_submission_dsn.h - api/mail-internal: delivery status
 * notifications (RFC 3464) that arrive in the account's mailboxes update
 * the deliveryStatus of the EmailSubmission whose id they carry as their
 * Original-Envelope-Id (we send every submission with ENVID = its id).
 * Not a public contract.
 *
 * email_submission_dsn_parse.c: the report parser (pure, never fails on
 * input); email_submission_dsn.c: finding new reports and applying them.
 */
#ifndef API_MAIL_EMAIL_SUBMISSION_DSN_H
#define API_MAIL_EMAIL_SUBMISSION_DSN_H

#include <stddef.h>

#include "jmap_mail.h"

/* One per-recipient group of a report. Strings malloc'd, NULL when the
 * field is absent. Addresses are the part after "type;" (e.g. "rfc822;"),
 * trimmed; action lower case. */
struct dsn_recipient {
    char *final_recipient;
    char *original_recipient;
    char *action;               /* "delivered" "failed" "delayed" "relayed" "expanded" */
    char *status;               /* "2.0.0" */
};

struct dsn_report {
    char *envelope_id;          /* Original-Envelope-Id, NULL when absent */
    struct dsn_recipient *rcpts;
    size_t n_rcpts;
};

/* Parses the body of a message/delivery-status part (data[0..len),
 * already transfer-decoded). Groups are separated by blank lines; the
 * first is the per-message group. Returns 0 when the report has at least
 * one recipient group with Action and a recipient, -1 otherwise (malformed,
 * or memory ran out); out is filled as far as it got and must be cleared
 * either way. */
int email_submission_dsn_parse(const char *data, size_t len, struct dsn_report *out);
void email_submission_dsn_clear(struct dsn_report *r);

/* The RFC 8621 "delivered" value of an Action: "yes", "no", "queued" or
 * "unknown" (relayed, expanded, anything else). */
const char *email_submission_dsn_delivered(const char *action);

/* Looks for reports among the account's Emails not checked yet (newer
 * than the oldest submission waiting for one) and applies each once:
 * deliveryStatus[rcpt].delivered, dsnBlobIds, a new EmailSubmission
 * state. Failures are logged; the methods go on with what the store has. */
void email_submission_dsn_scan(struct jmap_mail *m);

#endif
