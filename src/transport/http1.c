/* http1.c: HTTP/1.x request framing; see http1.h. */
#include "http1.h"
#include "hex.h"

#include <stddef.h>
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

/* RFC 9110 §5.6.2 token characters: what a field name is made of. */
static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* civetweb's scanner takes no control byte in a head, HTAB included, but
 * RFC 9112 allows HTAB in a field value (and as white space around it), and
 * Go takes it. Inside the field lines a TAB is shown to civetweb as this
 * obs-text byte, which it passes through as part of a value, and put back
 * afterwards from the original bytes; in the request line a TAB stays a
 * TAB, which civetweb refuses (so does Go). */
#define TAB_STAND_IN ((char)0x80)

static void hide_tabs(char *s, size_t n)
{
    for (char *p = s; (p = memchr(p, '\t', n - (size_t)(p - s))) != NULL; p++)
        *p = TAB_STAND_IN;
}

/* Optional white space around a value (RFC 9112 §5): Go trims it too, so
 * "Content-Length: 2 " is 2. civetweb skipped the leading spaces only. */
static const char *trim_value(char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    return v;
}

/* The request-target forms of RFC 9112 §3.2 that are served: origin-form
 * ("/path?query"), absolute-form ("http://host/path", routed by its path in
 * mk_request_target, as Go does) and asterisk-form ("*", answered by
 * dispatch for OPTIONS, as Go's server does). Authority-form belongs to
 * CONNECT, which is not served. */
static bool target_ok(const char *t)
{
    if (t[0] == '/' || strcmp(t, "*") == 0)
        return true;
    /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" */
    if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
        return false;
    size_t n = 1;
    while ((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= 'A' && t[n] <= 'Z') ||
           (t[n] >= '0' && t[n] <= '9') || t[n] == '+' || t[n] == '-' || t[n] == '.')
        n++;
    return strncmp(t + n, "://", 3) == 0;
}

/* Content-Length as Go reads it (strconv.ParseUint(v, 10, 63)): digits
 * only, at least one, at most 2^63 - 1. -1 when it is not that. */
static int64_t parse_length(const char *v)
{
    if (!*v)
        return -1;
    uint64_t n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (uint64_t)INT64_MAX / 10)
            return -1;
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > (uint64_t)INT64_MAX)
            return -1;
    }
    return (int64_t)n;
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
     * civetweb's slower scan decide (on a copy, TABs hidden). */
    size_t lead = 0;
    while (lead < scan && (in[lead] == ' ' || (in[lead] >= '\t' && in[lead] <= '\r')))
        lead++;
    const char *h = in + lead;
    size_t hscan = scan - lead;
    const char *blank = memmem(h, hscan, "\r\n\r\n", 4);
    size_t upto = blank ? (size_t)(blank - h) + 4 : hscan;
    int hl;
    if (blank && !memmem(h, upto, "\n\n", 2)) {
        hl = (int)upto;
    } else {
        memcpy(scratch, h, hscan);
        hide_tabs(scratch, hscan);
        hl = mk_civet_head_len(scratch, (int)hscan);
    }
    if (hl < 0)
        return refuse(out, 400);
    if (hl == 0)
        return scan >= max_head ? refuse(out, 431) : MK_H1_INCOMPLETE;
    hl += (int)lead;
    const char *end = in + hl;
    const char *rl_end = memchr(h, '\n', (size_t)(end - h)); /* the head ends with one */
    size_t fields = (size_t)(rl_end + 1 - in);
    memcpy(scratch, in, (size_t)hl);
    scratch[hl] = '\0';
    hide_tabs(scratch + fields, (size_t)hl - fields);
    if (mk_civet_parse_head(scratch, hl, &out->h) != hl) {
        memset(&out->h, 0, sizeof out->h); /* nothing of it is to be trusted */
        return refuse(out, 400);
    }
    for (const char *p = in + fields; (p = memchr(p, '\t', (size_t)(end - p))) != NULL; p++)
        scratch[p - in] = '\t';
    out->head_len = (size_t)hl;

    /* The request line is exactly method SP target SP version: civetweb
     * also takes runs of white space between them (Go and RFC 9112 §3 do
     * not). */
    size_t rl_len = (size_t)(rl_end - h);
    if (rl_len > 0 && h[rl_len - 1] == '\r')
        rl_len--;
    if (rl_len != strlen(out->h.method) + strlen(out->h.uri) + strlen(out->h.version) + 7)
        return refuse(out, 400);
    /* civetweb returns at most 64 fields and stops, silently, at a line
     * that begins with white space (obs-fold; after the request line it
     * even takes the white space for part of the line break): a
     * Content-Length or Transfer-Encoding after that point would go unseen
     * and the body be taken for the next request. No field line may begin
     * with white space (RFC 9112 §5.2: obs-fold is refused with 400), and
     * every line between the request line and the blank line must be one
     * of the fields it returned: more than it holds is 431. */
    int lines = 0;
    for (const char *p = h; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++) {
        lines++;
        if (p + 1 < end && (p[1] == ' ' || p[1] == '\t'))
            return refuse(out, 400);
    }
    if (lines - 2 != out->h.nheaders)
        return refuse(out, out->h.nheaders >= (int)(sizeof out->h.headers /
                                                     sizeof out->h.headers[0])
                               ? 431
                               : 400);
    /* A field name is a token and the colon follows it at once (RFC 9112
     * §5.1): civetweb drops spaces before the colon, so "Authorization :"
     * would be honoured as Authorization; Go refuses it with 400. */
    for (int i = 0; i < out->h.nheaders; i++) {
        const char *n = out->h.headers[i].name;
        size_t nl = strlen(n);
        if (nl == 0 || in[(n - scratch) + (ptrdiff_t)nl] != ':')
            return refuse(out, 400);
        for (size_t k = 0; k < nl; k++)
            if (!is_tchar((unsigned char)n[k]))
                return refuse(out, 400);
        out->h.headers[i].value = trim_value((char *)out->h.headers[i].value);
    }

    /* Go's ParseHTTPVersion: "HTTP/" one digit "." one digit; a major
     * version other than 1 is well-formed but not spoken here: 505 */
    const char *ver = out->h.version;
    bool dd = ver[0] >= '0' && ver[0] <= '9' && ver[1] == '.' && ver[2] >= '0' && ver[2] <= '9' &&
              ver[3] == '\0';
    if (!dd)
        return refuse(out, 400);
    if (ver[0] != '1')
        return refuse(out, 505);
    out->http10 = ver[2] == '0';
    out->close = out->http10;
    if (!target_ok(out->h.uri))
        return refuse(out, 400);

    const char *cl = NULL, *te = NULL;
    int ntes = 0;
    for (int i = 0; i < out->h.nheaders; i++) {
        const char *n = out->h.headers[i].name, *v = out->h.headers[i].value;
        if (strcasecmp(n, "Content-Length") == 0) {
            if (cl && strcmp(cl, v) != 0)
                return refuse(out, 400); /* two lengths: which one frames the body? */
            cl = v;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0) {
            te = v;
            ntes++;
        } else if (strcasecmp(n, "Connection") == 0) {
            if (list_has(v, "close")) /* 1.0 closes anyway: its keep-alive is not offered */
                out->close = true;
        } else if (strcasecmp(n, "Expect") == 0) {
            out->expect_continue = !out->http10 && strcasecmp(v, "100-continue") == 0;
        }
    }
    if (te) {
        /* Transfer-Encoding on HTTP/1.0 (RFC 9112 §6.1: the message is
         * faulty) and together with Content-Length (the request-smuggling
         * shape): 400, as nginx answers; Go would ignore the first and
         * drop Content-Length for the second. Anything but one field that
         * says exactly "chunked": 501, as Go answers. */
        if (out->http10 || cl)
            return refuse(out, 400);
        if (ntes > 1 || strcasecmp(te, "chunked") != 0)
            return refuse(out, 501);
        out->chunked = true;
    } else if (cl) {
        int64_t n = parse_length(cl);
        if (n < 0)
            return refuse(out, 400);
        out->content_length = (uint64_t)n;
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
