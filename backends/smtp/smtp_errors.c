/* smtp_errors.c - SMTP replies: parsing (RFC 5321 code, RFC 3463 enhanced
 * code, text) and the single table that maps them to submit_error.
 */
#include "smtp_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A row matches when every non-wildcard field does; first match wins.
 * subject/detail are the RFC 3463 "class.subject.detail" parts (-1: any);
 * code is the basic reply code (0: any). The enhanced code decides where
 * the server gave one: a row with a basic code only applies to a reply
 * without one (RFC 5321 4.2.3 meanings, for servers without RFC 2034). */
struct smtp_map_row {
    int stage;                  /* enum smtp_stage, or -1: any */
    int subject, detail;
    int code;
    enum submit_error error;
};

#define ANY (-1)
#define NO_ENHANCED (-2)

static const struct smtp_map_row smtp_map[] = {
    /* Authentication: x.7.8 bad credentials, x.7.0/x.7.9/x.7.11 policy. */
    {SMTP_STAGE_AUTH, ANY, ANY, 0, SUBMIT_ERR_FORBIDDEN_TO_SEND},
    /* Size: x.3.4 message too big for system, 552 exceeded storage. */
    {ANY, 3, 4, 0, SUBMIT_ERR_TOO_LARGE},
    {SMTP_STAGE_MAIL, 2, 3, 0, SUBMIT_ERR_TOO_LARGE},
    {SMTP_STAGE_DATA, 2, 3, 0, SUBMIT_ERR_TOO_LARGE},
    {SMTP_STAGE_MAIL, ANY, ANY, 552, SUBMIT_ERR_TOO_LARGE},
    {SMTP_STAGE_DATA, ANY, ANY, 552, SUBMIT_ERR_TOO_LARGE},
    /* Too many recipients: x.5.3, or a bare 452 at RCPT. */
    {ANY, 5, 3, 0, SUBMIT_ERR_TOO_MANY_RECIPIENTS},
    {SMTP_STAGE_RCPT, ANY, ANY, 452, SUBMIT_ERR_TOO_MANY_RECIPIENTS},
    /* Not authenticated or not allowed to send at all (x.7.0 before MAIL
     * succeeds usually means "authentication required"). */
    {SMTP_STAGE_MAIL, 7, 0, 0, SUBMIT_ERR_FORBIDDEN_TO_SEND},
    {ANY, ANY, ANY, 530, SUBMIT_ERR_FORBIDDEN_TO_SEND},
    /* The envelope sender: bad syntax or destination (x.1.7, x.1.8), or a
     * policy refusal (x.7.x, e.g. Postfix's sender login mismatch). */
    {SMTP_STAGE_MAIL, ANY, ANY, 0, SUBMIT_ERR_FORBIDDEN_MAIL_FROM},
    /* Recipients: anything refused at RCPT is about that recipient. */
    {SMTP_STAGE_RCPT, ANY, ANY, 0, SUBMIT_ERR_INVALID_RECIPIENTS},
    /* The content: x.6.x media/conversion errors, x.7.x content policy
     * (the From header not matching the login is the usual one). */
    {SMTP_STAGE_DATA, 6, ANY, 0, SUBMIT_ERR_INVALID_EMAIL},
    {SMTP_STAGE_DATA, 7, ANY, 0, SUBMIT_ERR_FORBIDDEN_FROM},
    {SMTP_STAGE_DATA, ANY, ANY, 554, SUBMIT_ERR_INVALID_EMAIL},
};

static bool row_matches(const struct smtp_map_row *row, enum smtp_stage stage, int subject,
                        int detail, int code)
{
    return (row->stage == ANY || row->stage == (int)stage) &&
           (row->subject == ANY || row->subject == subject) &&
           (row->detail == ANY || row->detail == detail) &&
           (row->code == 0 || (row->code == code && subject == NO_ENHANCED));
}

enum submit_error smtp_map_reply(enum smtp_stage stage, const struct submit_reply *reply)
{
    int subject = NO_ENHANCED, detail = NO_ENHANCED;

    if (reply->code == 0)
        return SUBMIT_ERR_UNAVAILABLE;
    if (reply->code < 400)
        return SUBMIT_OK;
    if (reply->enhanced[0] != '\0') {
        char *end;
        subject = (int)strtol(reply->enhanced + 2, &end, 10);
        detail = *end == '.' ? (int)strtol(end + 1, NULL, 10) : NO_ENHANCED;
    }
    for (size_t i = 0; i < sizeof(smtp_map) / sizeof(smtp_map[0]); i++)
        if (row_matches(&smtp_map[i], stage, subject, detail, reply->code))
            return smtp_map[i].error;
    return SUBMIT_ERR_SERVER;
}

const char *submit_error_name(enum submit_error e)
{
    switch (e) {
    case SUBMIT_OK:
        return NULL;
    case SUBMIT_ERR_INVALID_EMAIL:
        return "invalidEmail";
    case SUBMIT_ERR_TOO_MANY_RECIPIENTS:
        return "tooManyRecipients";
    case SUBMIT_ERR_NO_RECIPIENTS:
        return "noRecipients";
    case SUBMIT_ERR_INVALID_RECIPIENTS:
        return "invalidRecipients";
    case SUBMIT_ERR_FORBIDDEN_MAIL_FROM:
        return "forbiddenMailFrom";
    case SUBMIT_ERR_FORBIDDEN_FROM:
        return "forbiddenFrom";
    case SUBMIT_ERR_FORBIDDEN_TO_SEND:
        return "forbiddenToSend";
    case SUBMIT_ERR_TOO_LARGE:
        return "tooLarge";
    case SUBMIT_ERR_SERVER:
    case SUBMIT_ERR_UNAVAILABLE:
        return "serverFail";
    }
    return "serverFail";
}

/* "5.1.1 " at the start of text: RFC 3463 class.subject.detail, with the
 * class equal to the reply's first digit (else it is just text). */
static size_t enhanced_len(const char *t, int code)
{
    size_t i = 0;

    if (t[0] != (char)('0' + code / 100) || t[1] != '.')
        return 0;
    i = 2;
    for (int part = 0; part < 2; part++) {
        size_t digits = 0;
        while (isdigit((unsigned char)t[i]) && digits < 3) {
            i++;
            digits++;
        }
        if (digits == 0)
            return 0;
        if (part == 0) {
            if (t[i] != '.')
                return 0;
            i++;
        }
    }
    return t[i] == ' ' || t[i] == '\0' || t[i] == '\r' || t[i] == '\n' ? i : 0;
}

int smtp_reply_take(mailsmtp *smtp, struct submit_reply *out)
{
    const char *text = smtp->response;
    size_t elen, tlen;

    smtp_reply_clear(out);
    out->code = smtp->response_code;
    if (out->code == 0 || text == NULL)
        return 0;
    elen = enhanced_len(text, out->code);
    if (elen > 0 && elen < sizeof(out->enhanced)) {
        memcpy(out->enhanced, text, elen);
        out->enhanced[elen] = '\0';
        text += elen;
        while (*text == ' ')
            text++;
    }
    tlen = strlen(text);
    while (tlen > 0 && (text[tlen - 1] == '\n' || text[tlen - 1] == '\r'))
        tlen--;
    out->text = strndup(text, tlen);
    return out->text == NULL ? -1 : 0;
}

void smtp_reply_clear(struct submit_reply *r)
{
    free(r->text);
    r->text = NULL;
    r->code = 0;
    r->enhanced[0] = '\0';
}

void submit_result_clear(struct submit_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->rcpt_count; i++)
        smtp_reply_clear(&res->rcpts[i].reply);
    free(res->rcpts);
    smtp_reply_clear(&res->reply);
    memset(res, 0, sizeof(*res));
}

void submit_server_info_clear(struct submit_server_info *info)
{
    if (info == NULL)
        return;
    for (size_t i = 0; i < info->ext_count; i++) {
        for (size_t j = 0; j < info->ext[i].arg_count; j++)
            free(info->ext[i].args[j]);
        free(info->ext[i].args);
        free(info->ext[i].keyword);
    }
    free(info->ext);
    memset(info, 0, sizeof(*info));
}
