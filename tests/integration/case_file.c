/* case_file.c: the .case format's only parser and judge (see case_file.h
 * and tests/cases/README.md). A file is parsed completely before anything
 * is sent, so a syntax error fails the case without traffic. Every
 * exchange is checked in full: all failures are printed, not just the
 * first. */
#include "case_file.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include "hex.h"

/* ---- parsing ------------------------------------------------------------ */


/* C-style escapes: \n \r \t \\ \0 \xHH. Returns 0 or -1 (bad escape). */
static int unescape(const char *s, unsigned char **out, size_t *outn)
{
    size_t n = strlen(s), o = 0;
    unsigned char *b = malloc(n + 1);

    if (!b)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\') {
            b[o++] = (unsigned char)s[i];
            continue;
        }
        if (++i >= n)
            goto bad;
        switch (s[i]) {
        case 'n': b[o++] = '\n'; break;
        case 'r': b[o++] = '\r'; break;
        case 't': b[o++] = '\t'; break;
        case '0': b[o++] = '\0'; break;
        case '\\': b[o++] = '\\'; break;
        case 'x': {
            int h1 = i + 1 < n ? mk_hexval(s[i + 1]) : -1, h2 = i + 2 < n ? mk_hexval(s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0)
                goto bad;
            b[o++] = (unsigned char)(h1 * 16 + h2);
            i += 2;
            break;
        }
        default:
            goto bad;
        }
    }
    b[o] = '\0';
    *out = b;
    *outn = o;
    return 0;
bad:
    free(b);
    return -1;
}

static unsigned char *dup_bytes(const void *p, size_t n, bool nl, size_t *outn)
{
    unsigned char *b = malloc(n + 2);
    if (!b)
        return NULL;
    memcpy(b, p, n);
    if (nl)
        b[n++] = '\n';
    b[n] = '\0';
    *outn = n;
    return b;
}

/* "TEXT", "-nl" or "-esc" variants, decided by the keyword's suffix. */
static int text_arg(const char *kw, const char *rest, unsigned char **out, size_t *n)
{
    size_t kl = strlen(kw);
    if (kl >= 4 && strcmp(kw + kl - 4, "-esc") == 0)
        return unescape(rest, out, n);
    *out = dup_bytes(rest, strlen(rest), kl >= 3 && strcmp(kw + kl - 3, "-nl") == 0, n);
    return *out ? 0 : -1;
}

void case_free(case_file *cf)
{
    for (size_t i = 0; i < cf->nex; i++) {
        exch *e = &cf->ex[i];
        free(e->method);
        free(e->path);
        for (size_t j = 0; j < e->nheaders; j++)
            free(e->headers[j]);
        free(e->headers);
        free(e->body);
        for (size_t j = 0; j < e->nchecks; j++) {
            free(e->checks[j].a);
            free(e->checks[j].b);
        }
        free(e->checks);
    }
    free(cf->ex);
    cf->ex = NULL;
    cf->nex = 0;
}

static ck *add_check(exch *e, ck_kind kind, int line)
{
    ck *n = realloc(e->checks, (e->nchecks + 1) * sizeof *n);
    if (!n)
        return NULL;
    e->checks = n;
    memset(&n[e->nchecks], 0, sizeof *n);
    n[e->nchecks].kind = kind;
    n[e->nchecks].line = line;
    return &n[e->nchecks++];
}

static int parse_size(const char *s, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return (errno || end == s || *out < 0) ? -1 : 0;
}

/* Splits "a b" into a (NUL-terminated in place) and the rest after one space. */
static char *split1(char *s)
{
    char *sp = strchr(s, ' ');
    if (!sp)
        return s + strlen(s);
    *sp = '\0';
    return sp + 1;
}

static int parse_line(case_file *cf, char *line, int lno)
{
    char *kw = line, *rest = split1(line);
    exch *e = cf->nex ? &cf->ex[cf->nex - 1] : NULL;
    ck *c;

#define PERR(...)                                                                      \
    do {                                                                               \
        int _o = snprintf(cf->err, sizeof cf->err, "%s:%d: ", cf->path, lno);          \
        snprintf(cf->err + _o, sizeof cf->err - (size_t)_o, __VA_ARGS__);              \
        return -1;                                                                     \
    } while (0)

    if (strcmp(kw, "config") == 0) {
        char *val = split1(rest);
        long long v;
        if (e)
            PERR("config must come before the first request");
        if (parse_size(val, &v) != 0)
            PERR("config %s: bad number '%s'", rest, val);
        if (strcmp(rest, "max_body_bytes") == 0)
            cf->cfg.max_body_bytes = (size_t)v;
        else if (strcmp(rest, "max_decoded_bytes") == 0)
            cf->cfg.max_decoded_bytes = (size_t)v;
        else if (strcmp(rest, "max_header_bytes") == 0)
            cf->cfg.max_header_bytes = (size_t)v;
        else if (strcmp(rest, "request_timeout_ms") == 0)
            cf->cfg.request_timeout_ms = (unsigned)v;
        else if (strcmp(rest, "threads") == 0)
            cf->cfg.threads = (unsigned)v;
        else if (strcmp(rest, "journal_max_entries") == 0)
            cf->cfg.journal_max_entries = (size_t)v;
        else if (strcmp(rest, "journal_max_bytes") == 0)
            cf->cfg.journal_max_bytes = (size_t)v;
        else if (strcmp(rest, "sessions") == 0) /* 0 on, 1 off, 2 required (mockapi_sessions_mode) */
            cf->cfg.sessions = (int)v;
        else if (strcmp(rest, "max_sessions") == 0)
            cf->cfg.max_sessions = (unsigned)v;
        else if (strcmp(rest, "sessions_max_bytes") == 0)
            cf->cfg.sessions_max_bytes = (size_t)v;
        else
            PERR("unknown config field '%s'", rest);
        return 0;
    }
    if (strcmp(kw, "request") == 0) {
        char *path = split1(rest);
        exch *n;
        if (!*rest || !*path || strchr(path, ' '))
            PERR("usage: request METHOD PATH");
        n = realloc(cf->ex, (cf->nex + 1) * sizeof *n);
        if (!n)
            PERR("out of memory");
        cf->ex = n;
        e = &n[cf->nex++];
        memset(e, 0, sizeof *e);
        e->line = lno;
        e->truncate = -1;
        e->method = strdup(rest);
        e->path = strdup(path);
        if (!e->method || !e->path)
            PERR("out of memory");
        return 0;
    }
    if (!e)
        PERR("'%s' before the first request", kw);

    if (strcmp(kw, "header") == 0 || strcmp(kw, "header-repeat") == 0) {
        char **nh = realloc(e->headers, (e->nheaders + 1) * sizeof *nh), *h;
        if (!nh)
            PERR("out of memory");
        e->headers = nh;
        if (strcmp(kw, "header") == 0) {
            if (!strchr(rest, ':'))
                PERR("usage: header Name: value");
            h = strdup(rest);
        } else {
            char *cnt = split1(rest), *ch = split1(cnt);
            long long k;
            if (parse_size(cnt, &k) != 0 || strlen(ch) != 1 || !*rest)
                PERR("usage: header-repeat NAME COUNT CHAR");
            h = malloc(strlen(rest) + 2 + (size_t)k + 1);
            if (h) {
                size_t o = (size_t)sprintf(h, "%s: ", rest);
                memset(h + o, ch[0], (size_t)k);
                h[o + (size_t)k] = '\0';
            }
        }
        if (!h)
            PERR("out of memory");
        e->headers[e->nheaders++] = h;
        return 0;
    }
    if (strcmp(kw, "body") == 0 || strcmp(kw, "body-nl") == 0 || strcmp(kw, "body-esc") == 0 ||
        strcmp(kw, "body-repeat") == 0 || strcmp(kw, "body-file") == 0) {
        if (e->has_body)
            PERR("a second body for one request");
        if (strcmp(kw, "body-repeat") == 0) {
            char *ch = split1(rest);
            long long k;
            if (parse_size(rest, &k) != 0 || strlen(ch) != 1)
                PERR("usage: body-repeat COUNT CHAR");
            e->body = malloc((size_t)k + 1);
            if (!e->body)
                PERR("out of memory");
            memset(e->body, ch[0], (size_t)k);
            e->body[k] = '\0';
            e->blen = (size_t)k;
        } else if (strcmp(kw, "body-file") == 0) {
            char p[1024];
            snprintf(p, sizeof p, "%s/%s", CASES_DIR, rest);
            if (mt_read_file(p, &e->body, &e->blen) != 0)
                PERR("cannot read %s", p);
        } else if (text_arg(kw, rest, &e->body, &e->blen) != 0) {
            PERR("bad escape in '%s'", rest);
        }
        e->has_body = true;
        return 0;
    }
    if (strcmp(kw, "gzip") == 0) {
        e->gzip = 1;
        return 0;
    }
    if (strcmp(kw, "gzip-no-header") == 0) {
        e->gzip = 2;
        return 0;
    }
    if (strcmp(kw, "truncate") == 0) {
        if (parse_size(rest, &e->truncate) != 0)
            PERR("usage: truncate N");
        return 0;
    }

    /* expectations */
    if (strcmp(kw, "status") == 0) {
        if (!(c = add_check(e, CK_STATUS, lno)))
            PERR("out of memory");
        if (strlen(rest) == 3 && rest[0] >= '1' && rest[0] <= '5' && strcmp(rest + 1, "xx") == 0) {
            c->status_class = true;
            c->n = rest[0] - '0';
        } else if (parse_size(rest, &c->n) != 0 || c->n < 100 || c->n > 599) {
            PERR("usage: status NNN | Nxx");
        }
        return 0;
    }
    if (strcmp(kw, "expect-header") == 0) {
        char *colon = strchr(rest, ':'), *v;
        if (!colon)
            PERR("usage: expect-header Name: value");
        *colon = '\0';
        v = colon + 1;
        while (*v == ' ')
            v++;
        if (!(c = add_check(e, CK_HEADER_EQ, lno)) || !(c->a = strdup(rest)) ||
            !(c->b = dup_bytes(v, strlen(v), false, &c->blen)))
            PERR("out of memory");
        return 0;
    }
    if (strcmp(kw, "expect-no-header") == 0 || strcmp(kw, "expect-header-present") == 0) {
        if (!*rest)
            PERR("usage: %s Name", kw);
        if (!(c = add_check(e, kw[7] == 'n' ? CK_HEADER_ABSENT : CK_HEADER_PRESENT, lno)) ||
            !(c->a = strdup(rest)))
            PERR("out of memory");
        return 0;
    }
    if (strcmp(kw, "expect-body") == 0 || strcmp(kw, "expect-body-nl") == 0 ||
        strcmp(kw, "expect-body-esc") == 0 || strcmp(kw, "expect-body-match") == 0) {
        if (!(c = add_check(e, strcmp(kw, "expect-body-match") == 0 ? CK_BODY_MATCH : CK_BODY, lno)))
            PERR("out of memory");
        if (c->kind == CK_BODY_MATCH ? unescape(rest, &c->b, &c->blen) : text_arg(kw, rest, &c->b, &c->blen))
            PERR("bad escape in '%s'", rest);
        return 0;
    }
    if (strcmp(kw, "expect-body-empty") == 0) {
        if (!(c = add_check(e, CK_BODY, lno)) || !(c->b = dup_bytes("", 0, false, &c->blen)))
            PERR("out of memory");
        return 0;
    }
    if (strcmp(kw, "expect-golden") == 0) {
        if (!*rest)
            PERR("usage: expect-golden NAME");
        if (!(c = add_check(e, CK_GOLDEN, lno)) || !(c->a = strdup(rest)))
            PERR("out of memory");
        return 0;
    }
    if (strcmp(kw, "counter") == 0) {
        char *val = split1(rest);
        if (!(c = add_check(e, CK_COUNTER, lno)))
            PERR("out of memory");
        if (parse_size(val, &c->n) != 0 || mockapi_counter_by_name(rest) < 0)
            PERR("usage: counter NAME VALUE (a known counter name)");
        if (!(c->a = strdup(rest)))
            PERR("out of memory");
        return 0;
    }
    if (strcmp(kw, "capture") == 0 || strcmp(kw, "capture-nl") == 0 ||
        strcmp(kw, "capture-esc") == 0) {
        char *txt = split1(rest);
        if (!*rest)
            PERR("usage: %s KEY TEXT", kw);
        if (!(c = add_check(e, CK_CAPTURE, lno)) || !(c->a = strdup(rest)))
            PERR("out of memory");
        if (text_arg(kw, txt, &c->b, &c->blen) != 0)
            PERR("bad escape in '%s'", txt);
        return 0;
    }
    if (strcmp(kw, "capture-empty") == 0 || strcmp(kw, "capture-sent") == 0 ||
        strcmp(kw, "capture-wire") == 0 || strcmp(kw, "no-capture") == 0) {
        ck_kind k = strcmp(kw, "capture-empty") == 0 ? CK_CAPTURE
                    : strcmp(kw, "capture-sent") == 0 ? CK_CAPTURE_SENT
                    : strcmp(kw, "capture-wire") == 0 ? CK_CAPTURE_WIRE
                                                      : CK_NO_CAPTURE;
        if (!*rest || strchr(rest, ' '))
            PERR("usage: %s KEY", kw);
        if (!(c = add_check(e, k, lno)) || !(c->a = strdup(rest)))
            PERR("out of memory");
        if (k == CK_CAPTURE && !(c->b = dup_bytes("", 0, false, &c->blen)))
            PERR("out of memory");
        return 0;
    }
    PERR("unknown keyword '%s'", kw);
#undef PERR
}

int case_parse(case_file *cf)
{
    unsigned char *text = NULL;
    size_t n = 0;
    char *p, *end;
    int lno = 0, rc = 0;

    mt_config_init(&cf->cfg);
    if (mt_read_file(cf->path, &text, &n) != 0) {
        snprintf(cf->err, sizeof cf->err, "%s: cannot read", cf->path);
        return -1;
    }
    if (memchr(text, '\0', n)) {
        snprintf(cf->err, sizeof cf->err, "%s: contains a NUL byte", cf->path);
        free(text);
        return -1;
    }
    for (p = (char *)text; p < (char *)text + n && rc == 0; p = end + 1) {
        end = strchr(p, '\n');
        if (!end)
            end = (char *)text + n;
        *end = '\0';
        lno++;
        if (end > p && end[-1] == '\r')
            end[-1] = '\0';
        if (*p == '\0' || *p == '#')
            continue;
        rc = parse_line(cf, p, lno);
    }
    free(text);
    if (rc == 0 && cf->nex == 0) {
        snprintf(cf->err, sizeof cf->err, "%s: no request", cf->path);
        rc = -1;
    }
    return rc;
}

/* ---- bodies ------------------------------------------------------------- */

int case_bodies(const exch *e, const char *key, unsigned char **sent, size_t *sentn,
                unsigned char **wire, size_t *wiren)
{
    *sent = *wire = NULL;
    *sentn = *wiren = 0;
    if (!e->has_body)
        return 0;
    if (!(*sent = mt_subst(e->body, e->blen, key, sentn)))
        goto oom;
    if (e->gzip) {
        if (mt_gzip(*sent, *sentn, wire, wiren) != 0)
            goto oom;
    } else if (!(*wire = dup_bytes(*sent, *sentn, false, wiren))) {
        goto oom;
    }
    if (e->truncate >= 0 && (size_t)e->truncate < *wiren)
        *wiren = (size_t)e->truncate;
    return 0;
oom:
    free(*sent);
    free(*wire);
    *sent = *wire = NULL;
    return -1;
}

/* ---- checking ----------------------------------------------------------- */

/* '*' matches any run of bytes; everything else is literal. */
static bool glob_match(const unsigned char *pat, size_t pn, const unsigned char *s, size_t sn)
{
    size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;
    while (i < sn) {
        if (p < pn && pat[p] == '*') {
            star_p = p++;
            star_i = i;
        } else if (p < pn && pat[p] == s[i]) {
            p++;
            i++;
        } else if (star_p != (size_t)-1) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p < pn && pat[p] == '*')
        p++;
    return p == pn;
}

static int failures;
static const char *cur_path;

void case_begin(const char *path)
{
    cur_path = path;
    failures = 0;
}

int case_failures(void)
{
    return failures;
}

void case_fail_at(int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s\n", cur_path, line, msg);
    failures++;
}

static void check_bytes(int line, const char *what, const unsigned char *want, size_t wn,
                        const unsigned char *got, size_t gn)
{
    if (wn == gn && memcmp(want, got, wn) == 0)
        return;
    {
        char *w = mt_show(want, wn), *g = mt_show(got, gn);
        size_t at = 0;
        while (at < wn && at < gn && want[at] == got[at])
            at++;
        case_fail_at(line, "%s differs at byte %zu (want %zu bytes, got %zu)\n    want %s\n    got  %s",
                     what, at, wn, gn, w ? w : "?", g ? g : "?");
        free(w);
        free(g);
    }
}

void case_check(const case_target *t, const exch *e, const mt_response *r, const unsigned char *sent,
                size_t sentn, const unsigned char *wire, size_t wiren)
{
    mt_response asr;
    bool have_asr = false;
    int asr_rc = -1;

    memset(&asr, 0, sizeof asr);
    for (size_t i = 0; i < e->nchecks; i++) {
        const ck *c = &e->checks[i];
        switch (c->kind) {
        case CK_STATUS:
            if (c->status_class ? r->status / 100 != c->n : r->status != c->n)
                case_fail_at(c->line, "status: want %lld%s, got %ld", c->n, c->status_class ? "xx" : "",
                             r->status);
            break;
        case CK_HEADER_EQ: {
            const char *v = mt_header_get(r, c->a);
            if (!v)
                case_fail_at(c->line, "header %s: want \"%s\", absent", c->a, (const char *)c->b);
            else if (strcmp(v, (const char *)c->b) != 0)
                case_fail_at(c->line, "header %s: want \"%s\", got \"%s\"", c->a, (const char *)c->b, v);
            break;
        }
        case CK_HEADER_ABSENT: {
            const char *v = mt_header_get(r, c->a);
            if (v)
                case_fail_at(c->line, "header %s: want absent, got \"%s\"", c->a, v);
            break;
        }
        case CK_HEADER_PRESENT:
            if (!mt_header_get(r, c->a))
                case_fail_at(c->line, "header %s: want present, absent", c->a);
            break;
        case CK_BODY:
        case CK_BODY_MATCH:
        case CK_GOLDEN: {
            unsigned char *want = NULL;
            size_t wn = 0;
            if (c->kind == CK_GOLDEN) {
                if (mt_golden(c->a, t->key, &want, &wn) != 0) {
                    case_fail_at(c->line, "cannot read golden %s", c->a);
                    break;
                }
            } else if (!(want = mt_subst(c->b, c->blen, t->key, &wn))) {
                case_fail_at(c->line, "out of memory");
                break;
            }
            if (c->kind == CK_BODY_MATCH) {
                if (!glob_match(want, wn, r->body, r->len)) {
                    char *w = mt_show(want, wn), *g = mt_show(r->body, r->len);
                    case_fail_at(c->line, "body does not match\n    pattern %s\n    got     %s",
                                 w ? w : "?", g ? g : "?");
                    free(w);
                    free(g);
                }
            } else {
                check_bytes(c->line, "body", want, wn, r->body, r->len);
            }
            free(want);
            break;
        }
        case CK_COUNTER: {
            int id = mockapi_counter_by_name(c->a);
            int64_t api = id >= 0 ? mockapi_counter_get(t->m, (mockapi_counter)id) : -1, wire_v = -1;
            if (!have_asr) {
                asr_rc = t->get_assertions(t->user, &asr);
                have_asr = true;
            }
            if (asr_rc != 0 || asr.status != 200 ||
                mt_assertion_value(asr.body, asr.len, c->a, &wire_v) != 0)
                case_fail_at(c->line, "counter %s: not in GET /test/assertions (status %ld)", c->a,
                             asr.status);
            else if (wire_v != c->n)
                case_fail_at(c->line, "counter %s: want %lld, GET /test/assertions says %lld", c->a, c->n,
                             (long long)wire_v);
            if (api != c->n)
                case_fail_at(c->line, "counter %s: want %lld, mockapi_counter_get says %lld", c->a, c->n,
                             (long long)api);
            break;
        }
        case CK_CAPTURE:
        case CK_CAPTURE_SENT:
        case CK_CAPTURE_WIRE:
        case CK_NO_CAPTURE: {
            char *got = NULL;
            size_t gn = 0;
            int rc = mockapi_last_request(t->m, c->a, &got, &gn);
            if (c->kind == CK_NO_CAPTURE) {
                if (rc != MOCKAPI_ENOTFOUND) {
                    char *g = rc == 0 ? mt_show(got, gn) : NULL;
                    case_fail_at(c->line, "capture %s: want none (ENOTFOUND), got %s %s", c->a,
                                 mockapi_strerror(rc), g ? g : "");
                    free(g);
                }
            } else if (rc != 0) {
                case_fail_at(c->line, "capture %s: %s", c->a, mockapi_strerror(rc));
            } else if (!got) {
                case_fail_at(c->line, "capture %s: NULL body with rc 0", c->a);
            } else {
                char what[160];
                snprintf(what, sizeof what, "capture %s", c->a);
                if (c->kind == CK_CAPTURE_SENT) {
                    check_bytes(c->line, what, sent, sentn, (unsigned char *)got, gn);
                } else if (c->kind == CK_CAPTURE_WIRE) {
                    check_bytes(c->line, what, wire, wiren, (unsigned char *)got, gn);
                } else {
                    size_t wn = 0;
                    unsigned char *want = mt_subst(c->b, c->blen, t->key, &wn);
                    if (want)
                        check_bytes(c->line, what, want, wn, (unsigned char *)got, gn);
                    free(want);
                }
            }
            mockapi_free_buf(got);
            break;
        }
        }
    }
    mt_response_free(&asr);
}

/* ---- the group ---------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int case_run_group(const char *group, const char *prefix, void (*fn)(void **state))
{
    DIR *d = opendir(CASES_DIR);
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    struct CMUnitTest *tests = NULL;
    int rc;

    if (!d) {
        fprintf(stderr, "cannot open %s\n", CASES_DIR);
        return 1;
    }
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name), nl = strlen(prefix) + l + 1;
        char **nn;
        if (l < 6 || strcmp(de->d_name + l - 5, ".case") != 0)
            continue;
        nn = realloc(names, (n + 1) * sizeof *nn);
        if (!nn)
            break;
        names = nn;
        if (!(names[n] = malloc(nl)))
            break;
        snprintf(names[n], nl, "%s%s", prefix, de->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    tests = calloc(n ? n : 1, sizeof *tests);
    if (!tests) {
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *file = names[i] + strlen(prefix);
        size_t pl = strlen(CASES_DIR) + strlen(file) + 2;
        char *p = malloc(pl);
        if (!p) {
            rc = 1;
            goto out;
        }
        snprintf(p, pl, "%s/%s", CASES_DIR, file);
        tests[i].name = names[i];
        tests[i].test_func = fn;
        tests[i].initial_state = p;
    }
    rc = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
out:
    for (size_t i = 0; tests && i < n; i++)
        free(tests[i].initial_state);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(tests);
    return rc;
}
