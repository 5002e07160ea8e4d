/* smtp_internal.h - backends/smtp internals: the reply table and the
 * session helpers shared by the send and the probe. */
#ifndef BACKENDS_SMTP_INTERNAL_H
#define BACKENDS_SMTP_INTERNAL_H

#include <stdbool.h>

#include <libetpan/libetpan.h>

#include "../net/net.h"
#include "backend_submit.h"

/* Which command a reply answered; the table tells them apart. */
enum smtp_stage {
    SMTP_STAGE_AUTH,
    SMTP_STAGE_MAIL,
    SMTP_STAGE_RCPT,
    SMTP_STAGE_DATA,        /* the DATA command and the end of data */
};

/* THE mapping from an SMTP reply (code + enhanced code) at a stage to a
 * neutral error: the one place later SetErrors come from. */
enum submit_error smtp_map_reply(enum smtp_stage stage, const struct submit_reply *reply);

/* Fills out from the session's last reply (code, RFC 3463 code, text);
 * code 0 when the command got no reply. Returns -1 on ENOMEM. */
int smtp_reply_take(mailsmtp *smtp, struct submit_reply *out);

void smtp_reply_clear(struct submit_reply *r);

/* One connected session: TCP, TLS per ep, greeting and EHLO done. */
struct smtp_conn {
    mailsmtp *smtp;
    struct net_io io;
    unsigned command_timeout_ms;
};

/* Connects per ep (implicit TLS or STARTTLS required) and says EHLO (again
 * after STARTTLS). 0, or -1 with err (the session is closed then). */
int smtp_conn_open(struct smtp_conn *c, const struct backend_endpoint *ep, struct gw_error *err);

/* QUIT (bounded) when still healthy, then frees. */
void smtp_conn_close(struct smtp_conn *c, bool say_quit);

/* Arms the command deadline before a command. */
void smtp_conn_begin(struct smtp_conn *c);

/* The lines of the last EHLO reply as extensions. */
int smtp_conn_extensions(struct smtp_conn *c, struct submit_server_info *info,
                         struct gw_error *err);

#endif
