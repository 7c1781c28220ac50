/* http1.c: HTTP/1.x request framing; see http1.h. */
#include "http1.h"
#include "hex.h"

#include <string.h>
#include <strings.h>

/* A header value that is a list (RFC 9110 §5.6.1) names token t? Tokens are
 * compared case-insensitively, optional white space trimmed. */
static bool list_has(const char *v, const char *t)
{
    size_t tl = strlen(t);
    for (const char *p = v; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        size_t k = n;
        while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
            k--;
        if (k == tl && strncasecmp(p, t, tl) == 0)
            return true;
        p += n;
    }
    return false;
}

static mk_h1_verdict refuse(mk_h1_head *out, int status)
{
    out->refuse_status = status;
    return MK_H1_REFUSE;
}

mk_h1_verdict mk_h1_parse(const char *in, size_t len, size_t max_head, char *scratch,
                          mk_h1_head *out)
{
    memset(out, 0, sizeof *out);
    size_t scan = len < max_head ? len : max_head;
    /* civetweb's parser skips white space (blank lines) before the request
     * line; the head's end is looked for after it, by civetweb's rule: the
     * first blank line, CRLF or bare LF. CRLFCRLF is found fast; only when
     * a bare-LF blank line may come first (it belongs to the head then, and
     * a CRLFCRLF further on to a pipelined request or to the body) does
     * civetweb's slower scan decide. */
    size_t lead = 0;
    while (lead < scan && (in[lead] == ' ' || (in[lead] >= '\t' && in[lead] <= '\r')))
        lead++;
    const char *h = in + lead;
    size_t hscan = scan - lead;
    const char *blank = memmem(h, hscan, "\r\n\r\n", 4);
    size_t upto = blank ? (size_t)(blank - h) + 4 : hscan;
    int hl = blank && !memmem(h, upto, "\n\n", 2) ? (int)upto : mk_civet_head_len(h, (int)hscan);
    if (hl < 0)
        return refuse(out, 400);
    if (hl == 0)
        return scan >= max_head ? refuse(out, 431) : MK_H1_INCOMPLETE;
    hl += (int)lead;
    memcpy(scratch, in, (size_t)hl);
    scratch[hl] = '\0';
    if (mk_civet_parse_head(scratch, hl, &out->h) != hl)
        return refuse(out, 400);
    out->head_len = (size_t)hl;
    /* civetweb returns at most 64 fields and stops, silently, at a line
     * that begins with white space (obs-fold): a Content-Length or
     * Transfer-Encoding after that point would go unseen and the body be
     * taken for the next request. Every line between the request line and
     * the blank line must be one of the fields it returned. */
    int lines = 0;
    for (const char *p = h, *end = in + hl; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    if (lines - 2 != out->h.nheaders)
        return refuse(out, out->h.nheaders >= (int)(sizeof out->h.headers /
                                                     sizeof out->h.headers[0])
                               ? 431
                               : 400);

    const char *ver = out->h.version;
    bool v1 = ver[0] == '1' && ver[1] == '.' && ver[2] >= '0' && ver[2] <= '9' && ver[3] == '\0';
    if (!v1) /* another major version is well-formed but not spoken here */
        return refuse(out, ver[0] >= '2' && ver[0] <= '9' && ver[1] == '.' ? 505 : 400);
    out->http10 = ver[2] == '0';
    out->close = out->http10;
    if (out->h.uri[0] != '/')
        return refuse(out, 400); /* absolute-form and '*': no route takes them */

    const char *cl = NULL, *te = NULL;
    for (int i = 0; i < out->h.nheaders; i++) {
        const char *n = out->h.headers[i].name, *v = out->h.headers[i].value;
        if (strcasecmp(n, "Content-Length") == 0) {
            if (!*v || v[strspn(v, "0123456789")] != '\0' || strlen(v) > 18)
                return refuse(out, 400);
            if (cl && strcmp(cl, v) != 0)
                return refuse(out, 400);
            cl = v;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
            if (te)
                return refuse(out, 400); /* one coding line is all we take */
            te = v;
        } else if (strcasecmp(n, "Connection") == 0) {
            if (list_has(v, "close")) /* 1.0 closes anyway: its keep-alive is not offered */
                out->close = true;
        } else if (strcasecmp(n, "Expect") == 0) {
            out->expect_continue = !out->http10 && strcasecmp(v, "100-continue") == 0;
        }
    }
    if (te) {
        if (strcasecmp(te, "chunked") != 0)
            return refuse(out, 501);
        out->chunked = true;
        if (cl)
            out->close = true; /* RFC 9112 §6.1: both framings seen; end after this one */
    } else if (cl) {
        unsigned long long n = 0;
        for (const char *p = cl; *p; p++)
            n = n * 10 + (unsigned)(*p - '0');
        out->content_length = n;
    }
    return MK_H1_OK;
}

enum { PH_SIZE, PH_EXT, PH_SIZE_LF, PH_DATA, PH_DATA_CR, PH_DATA_LF, PH_TRAILER, PH_DONE };


int mk_chunked_step(mk_chunked *c, char *buf, size_t len, uint64_t cap, size_t max_line)
{
    while (c->pos < len) {
        char ch = buf[c->pos];
        switch (c->phase) {
        case PH_SIZE: {
            int h = mk_hexval(ch);
            if (h >= 0) {
                if (c->left > (UINT64_MAX >> 4) || ++c->line > max_line)
                    return MK_CHUNKED_BAD; /* too large, or endless leading zeros */
                c->left = c->left * 16 + (uint64_t)h;
            } else if (c->line == 0) {
                return MK_CHUNKED_BAD; /* a size line starts with a digit */
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->phase = PH_EXT;
            } else if (ch == '\r') {
                c->phase = PH_SIZE_LF;
            } else if (ch == '\n') {
                goto size_done;
            } else {
                return MK_CHUNKED_BAD;
            }
            c->pos++;
            break;
        }
        case PH_EXT: /* chunk extensions: accepted and ignored */
            if (++c->line > max_line)
                return MK_CHUNKED_BAD;
            c->pos++;
            if (ch == '\r')
                c->phase = PH_SIZE_LF;
            else if (ch == '\n')
                goto size_line_end;
            break;
        case PH_SIZE_LF:
            if (ch != '\n')
                return MK_CHUNKED_BAD;
        size_done:
            c->pos++;
        size_line_end:
            c->line = 0;
            if (c->left == 0) {
                c->phase = PH_TRAILER;
            } else {
                if (c->left > cap || c->out + c->left > cap)
                    return MK_CHUNKED_TOO_LARGE;
                c->phase = PH_DATA;
            }
            break;
        case PH_DATA: {
            size_t n = len - c->pos;
            if (n > c->left)
                n = (size_t)c->left;
            memmove(buf + c->out, buf + c->pos, n);
            c->out += n;
            c->pos += n;
            c->left -= n;
            if (c->left == 0)
                c->phase = PH_DATA_CR;
            break;
        }
        case PH_DATA_CR:
            if (ch == '\n') { /* a bare LF ends the data line too */
                c->pos++;
                c->phase = PH_SIZE;
                break;
            }
            if (ch != '\r')
                return MK_CHUNKED_BAD;
            c->pos++;
            c->phase = PH_DATA_LF;
            break;
        case PH_DATA_LF:
            if (ch != '\n')
                return MK_CHUNKED_BAD;
            c->pos++;
            c->phase = PH_SIZE;
            break;
        case PH_TRAILER:
            /* trailer fields until an empty line; they are not used */
            c->pos++;
            if (++c->trailer > max_line)
                return MK_CHUNKED_BAD;
            if (ch == '\n') {
                if (c->line == 0) {
                    c->phase = PH_DONE;
                    return MK_CHUNKED_DONE;
                }
                c->line = 0;
            } else if (ch != '\r') {
                c->line++;
            }
            break;
        default:
            return MK_CHUNKED_DONE;
        }
    }
    return c->phase == PH_DONE ? MK_CHUNKED_DONE : MK_CHUNKED_MORE;
}

void mk_chunked_compact(mk_chunked *c, char *buf, size_t *len)
{
    if (c->pos == c->out)
        return;
    memmove(buf + c->out, buf + c->pos, *len - c->pos);
    *len -= c->pos - c->out;
    c->pos = c->out;
}
