/* journal.c: the bounded request journal; see journal.h. */
#include "journal.h"
#include "hex.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "gojson.h"
#include "glob.h"
#include "mockapi.h"
#include "names.h"
#include "query.h"
#include "suggest.h"

/* Headers whose values are credentials (names.h): kept only as a fingerprint. */
static bool is_secret_header(const char *name)
{
    /* every request pays this for each of its fields, twice: the length
     * rules out nearly every name before a comparison (a strcasecmp per
     * secret name was a tenth of a heartbeat's instructions) */
#define SECRET_NAME_(name) {name, sizeof name - 1},
    static const struct {
        const char *name;
        size_t len;
    } secret[] = {MK_SECRET_HEADERS(SECRET_NAME_)};
#undef SECRET_NAME_
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (n == secret[i].len && strcasecmp(name, secret[i].name) == 0)
            return true;
    return false;
}

enum { FP_LEN = sizeof "redacted sha256:12345678" - 1 };

static void fingerprint(const char *value, char out[FP_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)value, strlen(value));
    snprintf(out, FP_LEN + 1, "redacted sha256:%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
}

/* Copies s into the arena at *w; returns the copy. */
static const char *put(char **w, const char *s, size_t n)
{
    char *d = *w;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    *w += n + 1;
    return d;
}

/* The response head's header lines: how many there are at most (one per
 * line ending), for the arena's size. */
static int head_lines(const char *h, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += h[i] == '\n';
    return k;
}

/* Splits the response head (after its status line) into the entry's
 * response headers, leaving Date out; names and values are copied into the
 * arena at *w (each line is at least as long as its two copies). */
static void put_resp_headers(mk_jentry *e, const char *h, size_t n, char **w)
{
    const char *p = memchr(h, '\n', n), *end = h + n;
    p = p ? p + 1 : end; /* past the status line */
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        const char *le = eol ? eol : end;
        if (le > p && le[-1] == '\r')
            le--;
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (le == p || !colon) /* the blank line ends the head */
            break;
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        if (!(nlen == 4 && strncasecmp(p, "Date", 4) == 0)) {
            int i = e->rnheaders++;
            e->rhname[i] = put(w, p, nlen);
            e->rhvalue[i] = put(w, v, (size_t)(le - v));
            if (strcasecmp(e->rhname[i], "X-Mockapi-Error") == 0)
                e->error = e->rhvalue[i];
        }
        p = next;
    }
}

/* Error bodies are short; a longer body is not an error text. */
enum { ERROR_BODY_MAX = 512 };

/* The reason an error answer's body gives, into the arena at *w: the
 * "error" string of mockapi's {"error":"..."} bodies, or a short text body
 * without its line end ("404 page not found"). NULL when the body is
 * neither (empty, binary, other JSON). */
static const char *error_from_body(const char *b, size_t n, char **w)
{
    static const char lead[] = "{\"error\":";
    if (n == 0 || n > ERROR_BODY_MAX)
        return NULL;
    if (n > sizeof lead - 1 && memcmp(b, lead, sizeof lead - 1) == 0) {
        size_t pos = sizeof lead - 1, start, end;
        gj_kind kind;
        static const char injected[] = ",\"injected\":true}"; /* errors.h mk_err_injected */
        if (gj_scan_value(b, n, &pos, &kind, &start, &end) < 0 || kind != GJ_STRING || pos >= n)
            return NULL;
        if (b[pos] != '}' && !(n - pos >= sizeof injected - 1 && memcmp(b + pos, injected, sizeof injected - 1) == 0))
            return NULL;
        mk_buf d;
        mk_buf_init(&d, 0);
        const char *r = NULL;
        if (gj_string_decode(b + start, end - start, &d) == 0 && d.len < n)
            r = put(w, d.len ? d.data : "", d.len);
        mk_buf_free(&d);
        return r;
    }
    /* a problem+json answer (problem.h): its code, which its type ends with */
    static const char plead[] = "{\"type\":\"urn:mockapi:problem:";
    if (n > sizeof plead - 1 && memcmp(b, plead, sizeof plead - 1) == 0) {
        size_t s = sizeof plead - 1, e = s;
        while (e < n && ((b[e] >= 'a' && b[e] <= 'z') || b[e] == '_'))
            e++;
        return e > s && e < n && b[e] == '"' ? put(w, b + s, e - s) : NULL;
    }
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] == 0x7f || b[i] == '{' || b[i] == '[')
            return NULL; /* not a one-line text */
    return n ? put(w, b, n) : NULL;
}

mk_jentry *mk_jentry_new(const mk_jentry_in *in)
{
    const char *method = in->method ? in->method : "";
    const char *path = in->path ? in->path : "";
    size_t path_len = in->path ? in->path_len : 0;
    const char *query = in->query ? in->query : "";
    const char *rhead = in->rhead ? in->rhead : "";
    size_t rhead_len = in->rhead ? in->rhead_len : 0;
    int rlines = head_lines(rhead, rhead_len);
    size_t need = sizeof(mk_jentry) + strlen(method) + path_len + strlen(query) + 3 +
                  in->body_len + 1 + (size_t)in->nheaders * 2 * sizeof(char *) +
                  (size_t)rlines * 2 * sizeof(char *) + rhead_len + 2;
    if (in->status >= 400 && in->rbody && in->rbody_len <= ERROR_BODY_MAX)
        need += in->rbody_len + 1; /* room for error_from_body's copy */
    if (in->session_via)
        need += strlen(in->session ? in->session : "") + 1;
    if (in->auth_class)
        need += (in->auth_token ? strlen(in->auth_token) + 1 : 0) + (in->auth_node ? strlen(in->auth_node) + 1 : 0);
    if (in->fault_source)
        need += strlen(in->fault_spec ? in->fault_spec : "") + strlen(in->fault_wire ? in->fault_wire : "") + 2;
    for (int i = 0; i < in->nheaders; i++)
        need += strlen(in->headers[i].name) + 1 +
                (is_secret_header(in->headers[i].name) ? FP_LEN : strlen(in->headers[i].value)) + 1;
    mk_jentry *e = malloc(need);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    atomic_init(&e->refs, 1);
    e->time = gj_time_now();
    e->listener = in->listener;
    e->tls = in->tls;
    e->gzipped = in->gzipped;
    e->status = in->status;
    e->counter = in->counter;
    e->route = in->route;
    e->raw_size = in->raw_size;
    e->bytes = need;
    e->nheaders = in->nheaders;
    e->hname = (const char **)(void *)(e + 1);
    e->hvalue = e->hname + in->nheaders;
    e->rhname = e->hvalue + in->nheaders;
    e->rhvalue = e->rhname + rlines;
    e->rbody_size = in->rbody_size;
    e->duration_us = in->duration_us;
    char *w = (char *)(e->rhvalue + rlines);
    e->method = put(&w, method, strlen(method));
    e->path = put(&w, path, path_len);
    e->path_len = path_len;
    e->query = put(&w, query, strlen(query));
    e->body = put(&w, in->body ? in->body : "", in->body_len);
    e->body_len = in->body_len;
    for (int i = 0; i < in->nheaders; i++) {
        e->hname[i] = put(&w, in->headers[i].name, strlen(in->headers[i].name));
        if (is_secret_header(in->headers[i].name)) {
            char fp[FP_LEN + 1];
            fingerprint(in->headers[i].value, fp);
            e->hvalue[i] = put(&w, fp, FP_LEN);
        } else {
            e->hvalue[i] = put(&w, in->headers[i].value, strlen(in->headers[i].value));
        }
    }
    put_resp_headers(e, rhead, rhead_len, &w);
    if (!e->error && e->status >= 400 && in->rbody && in->rbody_len <= ERROR_BODY_MAX)
        e->error = error_from_body(in->rbody, in->rbody_len, &w);
    e->test = strncmp(e->path, "/test/", 6) == 0;
    e->region = in->has_region ? in->region : -1;
    if (in->session_via) {
        const char *sid = in->session ? in->session : "";
        e->session = put(&w, sid, strlen(sid));
        e->session_via = in->session_via;
    }
    if (in->auth_class) {
        e->auth_class = in->auth_class;
        e->auth_token = in->auth_token ? put(&w, in->auth_token, strlen(in->auth_token)) : NULL;
        e->auth_node = in->auth_node ? put(&w, in->auth_node, strlen(in->auth_node)) : NULL;
        e->auth_skipped = in->auth_skipped;
    }
    if (in->fault_source) {
        const char *spec = in->fault_spec ? in->fault_spec : "", *wire = in->fault_wire ? in->fault_wire : "";
        e->fault_source = in->fault_source;
        e->fault_rule = in->fault_rule;
        e->fault_spec = put(&w, spec, strlen(spec));
        e->fault_wire = put(&w, wire, strlen(wire));
    }
    return e;
}

mk_jentry *mk_jentry_ref(mk_jentry *e)
{
    if (e)
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
    return e;
}

void mk_jentry_unref(mk_jentry *e)
{
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1)
        free(e);
}

void mk_journal_init(mk_journal *j, size_t max_entries, size_t max_bytes)
{
    memset(j, 0, sizeof *j);
    j->max_entries = max_entries;
    j->max_bytes = max_bytes;
    j->next_seq = 1;
}

mk_jentry *mk_journal_at(const mk_journal *j, size_t i)
{
    return j->ring[(j->head + i) % j->cap];
}

static void bury(mk_jentry **dead, mk_jentry *e)
{
    e->dead_next = *dead;
    *dead = e;
}

void mk_jentry_release_list(mk_jentry *dead)
{
    while (dead) {
        mk_jentry *next = dead->dead_next;
        mk_jentry_unref(dead);
        dead = next;
    }
}

void mk_journal_clear(mk_journal *j, mk_jentry **dead)
{
    for (size_t i = 0; i < j->len; i++)
        bury(dead, mk_journal_at(j, i));
    free(j->ring);
    size_t me = j->max_entries, mb = j->max_bytes;
    uint64_t epoch = j->epoch;
    mk_journal_init(j, me, mb);
    j->epoch = epoch + 1; /* a waiter's progress from before is void */
}

static mk_jentry *pop_oldest(mk_journal *j)
{
    mk_jentry *e = j->ring[j->head];
    j->head = (j->head + 1) % j->cap;
    j->len--;
    j->bytes -= e->bytes;
    j->evicted++;
    j->evicted_bytes += e->bytes;
    return e;
}

uint64_t mk_journal_append(mk_journal *j, mk_jentry *e, mk_jentry **dead)
{
    if (j->max_entries == 0) {
        bury(dead, e);
        return 0;
    }
    if (j->len == j->cap && j->cap < j->max_entries) {
        /* grow (the ring only reaches max_entries if the traffic does) */
        size_t ncap = j->cap ? j->cap * 2 : 64;
        if (ncap > j->max_entries)
            ncap = j->max_entries;
        mk_jentry **nr = malloc(ncap * sizeof *nr);
        if (nr) {
            for (size_t i = 0; i < j->len; i++)
                nr[i] = mk_journal_at(j, i);
            free(j->ring);
            j->ring = nr;
            j->cap = ncap;
            j->head = 0;
        }
    }
    /* make room: by count, then by bytes (keeping at least the new entry) */
    while (j->len > 0 && (j->len >= j->cap || j->bytes + e->bytes > j->max_bytes))
        bury(dead, pop_oldest(j));
    e->seq = j->next_seq++;
    if (j->len >= j->cap) { /* no ring (out of memory): the entry is lost, and counted */
        j->evicted++;
        j->evicted_bytes += e->bytes;
        bury(dead, e);
        return e->seq;
    }
    j->ring[(j->head + j->len) % j->cap] = e;
    j->len++;
    j->bytes += e->bytes;
    return e->seq;
}

/* ---- filters ------------------------------------------------------------ */

static const char *const route_names[] = {
#define NAME_(id, name, counter) name,
    MK_ROUTE_NAMES(NAME_)
#undef NAME_
};

static const char *const filter_keys[] = {MK_JFILTER_KEYS};
enum { NFILTER_KEYS = sizeof filter_keys / sizeof filter_keys[0] };

/* Reads key into buf (NULL when absent); -1 with a message when too long. */
static int get_str(const char *q, const char *key, char *buf, size_t cap, const char **out,
                   char *err, size_t errlen)
{
    int r = mk_query_get(q, key, buf, cap);
    if (r < 0) {
        snprintf(err, errlen, "%s must be at most %zu bytes", key, cap - 1);
        return -1;
    }
    *out = r ? buf : NULL;
    return 0;
}

int mk_jfilter_parse_with(const char *q, mk_jfilter *f, const char *const *more, size_t nmore,
                          char *err, size_t errlen)
{
    memset(f, 0, offsetof(mk_jfilter, glob));
    f->limit = 1000;
    const char *known[NFILTER_KEYS + 16];
    if (nmore > 16)
        nmore = 16;
    memcpy(known, filter_keys, sizeof filter_keys);
    for (size_t i = 0; i < nmore; i++)
        known[NFILTER_KEYS + i] = more[i];
    if (mk_query_check(q, known, NFILTER_KEYS + nmore, err, errlen) != 0)
        return -1;
    char v[48];
    long long x;
    if (get_str(q, "method", f->method_buf, sizeof f->method_buf, &f->method, err, errlen) != 0)
        return -1;
    if (f->method && !*f->method) {
        snprintf(err, errlen, "method must not be empty");
        return -1;
    }
    if (get_str(q, "route", f->route_buf, sizeof f->route_buf, &f->route, err, errlen) != 0) {
        snprintf(err, errlen, "unknown route (route names are at most %zu bytes)",
                 sizeof f->route_buf - 1);
        return -1;
    }
    if (f->route) {
        size_t i = 0, n = sizeof route_names / sizeof route_names[0];
        while (i < n && strcmp(route_names[i], f->route) != 0)
            i++;
        if (i == n) {
            const char *s = mk_suggest(f->route, route_names, n);
            if (s)
                snprintf(err, errlen, "unknown route \"%s\" (did you mean \"%s\"?)", f->route, s);
            else
                snprintf(err, errlen, "unknown route \"%s\"", f->route);
            return -1;
        }
    }
    if (mk_query_get(q, "path", f->path_buf, sizeof f->path_buf) < 0) {
        snprintf(err, errlen, "path pattern longer than %d bytes (the limit)", MK_GLOB_MAX);
        return -1;
    }
    if (mk_query_get(q, "path", f->path_buf, sizeof f->path_buf) == 1) {
        if (!f->path_buf[0]) { /* would match no request at all, silently */
            snprintf(err, errlen, "path must not be empty (a glob such as /v1/** or **)");
            return -1;
        }
        f->path = f->path_buf;
        mk_glob_compile(&f->glob, f->path, strlen(f->path));
    }
    int r = mk_query_get(q, "status", v, sizeof v);
    if (r != 0) {
        if (r < 0 || mk_query_int("status", v, 100, 599, "", &x, err, errlen) != 0) {
            snprintf(err, errlen, "status must be an HTTP status code, not \"%.40s\"", r < 0 ? "(too long)" : v);
            return -1;
        }
        f->status = (int)x;
    }
    r = mk_query_get(q, "since", v, sizeof v);
    if (r != 0) {
        char *e = NULL;
        errno = 0;
        unsigned long long s = r > 0 ? strtoull(v, &e, 10) : 0;
        if (r < 0 || !*v || *e || v[0] < '0' || v[0] > '9' || errno == ERANGE) {
            snprintf(err, errlen, "since must be a sequence number, not \"%.40s\"", r < 0 ? "(too long)" : v);
            return -1;
        }
        f->since = s;
    }
    r = mk_query_get(q, "limit", v, sizeof v);
    bool has_limit = r != 0;
    if (r != 0) {
        if (r < 0 || mk_query_int("limit", v, 1, LLONG_MAX, "", &x, err, errlen) != 0) {
            snprintf(err, errlen, "limit must be a positive number, not \"%.40s\"", r < 0 ? "(too long)" : v);
            return -1;
        }
        if (x > MK_JFILTER_MAX_LIMIT) {
            snprintf(err, errlen, "limit must be at most %d, not \"%.40s\"", MK_JFILTER_MAX_LIMIT, v);
            return -1;
        }
        f->limit = (size_t)x;
    }
    r = mk_query_get(q, "last", v, sizeof v);
    if (r != 0) {
        if (has_limit) {
            snprintf(err, errlen, "last and limit cannot be combined (last=N: the newest N, "
                                  "limit=N: the oldest N)");
            return -1;
        }
        if (r < 0 || mk_query_int("last", v, 1, LLONG_MAX, "", &x, err, errlen) != 0) {
            snprintf(err, errlen, "last must be a positive number, not \"%.40s\"", r < 0 ? "(too long)" : v);
            return -1;
        }
        if (x > MK_JFILTER_MAX_LIMIT) {
            snprintf(err, errlen, "last must be at most %d, not \"%.40s\"", MK_JFILTER_MAX_LIMIT, v);
            return -1;
        }
        f->limit = (size_t)x;
        f->last = true;
    }
    r = mk_query_get(q, "include_test", v, sizeof v);
    if (r != 0) {
        /* a bare `include_test` (or an empty value) asks for them too */
        if (r > 0 && (!*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0)) {
            f->include_test = true;
        } else if (r > 0 && (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)) {
            f->include_test = false;
        } else {
            snprintf(err, errlen, "include_test must be 1, true, 0 or false, not \"%.40s\"",
                     r < 0 ? "(too long)" : v);
            return -1;
        }
    }
    return 0;
}

int mk_jfilter_parse(const char *q, mk_jfilter *f, char *err, size_t errlen)
{
    return mk_jfilter_parse_with(q, f, NULL, 0, err, errlen);
}

bool mk_jfilter_match(const mk_jfilter *f, const mk_jentry *e)
{
    if (e->seq <= f->since)
        return false;
    if (e->test && !f->include_test)
        return false;
    if (f->method && strcasecmp(f->method, e->method) != 0)
        return false;
    if (f->status && f->status != e->status)
        return false;
    if (f->route && (!e->route || strcmp(f->route, e->route) != 0))
        return false;
    if (f->path && !mk_glob_match(&f->glob, e->path, e->path_len))
        return false;
    return true;
}

/* ---- rendering ---------------------------------------------------------- */

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            /* ASCII eight bytes at a time: a listing checks every body */
            uint64_t w;
            while (i + 8 <= n && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ULL) == 0))
                i += 8;
            if (i < n && s[i] < 0x80)
                i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        for (size_t t = 1; t <= k; t++) {
            if ((s[i + t] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + t] & 0x3f);
        }
        /* no overlong forms, no surrogates, nothing past U+10FFFF */
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += k + 1;
    }
    return true;
}

/* mk_buf_append for the many short pieces of an entry: inline while the
 * buffer has room (no cap in the way), the general path otherwise. */
static inline void jput(mk_buf *out, const void *p, size_t n)
{
    if (!out->err && !out->limit && out->cap - out->len > n) {
        memcpy(out->data + out->len, p, n);
        out->len += n;
        out->data[out->len] = '\0';
        return;
    }
    mk_buf_append(out, p, n);
}

static void put_str(mk_buf *out, const char *s)
{
    gj_write_string(out, s, strlen(s));
}

/* Decimal digits without printf: rendering a large answer is mostly this. */
static void put_num(mk_buf *out, long long v)
{
    char d[24];
    size_t i = sizeof d;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        d[--i] = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        d[--i] = '-';
    jput(out, d + i, sizeof d - i);
}

static void put_unum(mk_buf *out, unsigned long long u)
{
    char d[24];
    size_t i = sizeof d;
    do
        d[--i] = (char)('0' + u % 10);
    while (u /= 10);
    jput(out, d + i, sizeof d - i);
}

/* A string literal, without strlen. */
#define PUT_LIT(out, lit) jput((out), (lit), sizeof(lit) - 1)

/* Renders e into out; with body_len non-NULL the body's text (the large
 * part) is not written: the length it would take is added to *body_len.
 * brief: without the headers and the body (mk_jentry_json_brief). */
static void jentry_json(const mk_jentry *e, mk_buf *out, size_t *body_len, bool brief)
{
    PUT_LIT(out, "{\"seq\":");
    put_unum(out, e->seq);
    PUT_LIT(out, ",\"time\":");
    gj_time_write(out, &e->time);
    PUT_LIT(out, ",\"listener\":");
    put_num(out, e->listener);
    if (e->tls)
        PUT_LIT(out, ",\"listener_kind\":\"tls\",\"method\":");
    else
        PUT_LIT(out, ",\"listener_kind\":\"http\",\"method\":");
    put_str(out, e->method);
    PUT_LIT(out, ",\"path\":");
    put_str(out, e->path);
    PUT_LIT(out, ",\"query\":");
    put_str(out, e->query);
    if (brief) {
        if (!utf8_valid((const unsigned char *)e->body, e->body_len))
            PUT_LIT(out, ",\"body_encoding\":\"base64\"");
        else
            PUT_LIT(out, ",\"body_encoding\":\"utf8\"");
        goto sizes;
    }
    PUT_LIT(out, ",\"headers\":[");
    for (int i = 0; i < e->nheaders; i++) {
        jput(out, &",["[i ? 0 : 1], i ? 2 : 1);
        put_str(out, e->hname[i]);
        jput(out, ",", 1);
        put_str(out, e->hvalue[i]);
        jput(out, "]", 1);
    }
    PUT_LIT(out, "],\"body\":");
    if (utf8_valid((const unsigned char *)e->body, e->body_len)) {
        if (body_len)
            *body_len += gj_string_len(e->body, e->body_len);
        else
            gj_write_string(out, e->body, e->body_len);
        PUT_LIT(out, ",\"body_encoding\":\"utf8\"");
    } else if (body_len) {
        *body_len += 4 * ((e->body_len + 2) / 3) + 2; /* base64 and its quotes */
        PUT_LIT(out, ",\"body_encoding\":\"base64\"");
    } else {
        size_t blen = 4 * ((e->body_len + 2) / 3) + 1;
        char *b64 = malloc(blen);
        if (b64) {
            mk_b64_encode(e->body, e->body_len, b64);
            mk_buf_printf(out, "\"%s\"", b64);
            free(b64);
        } else {
            out->err = MK_BUF_ENOMEM;
        }
        PUT_LIT(out, ",\"body_encoding\":\"base64\"");
    }
sizes:
    PUT_LIT(out, ",\"body_size\":");
    put_unum(out, e->body_len);
    PUT_LIT(out, ",\"raw_size\":");
    put_unum(out, e->raw_size);
    if (e->gzipped)
        PUT_LIT(out, ",\"gzipped\":true,\"status\":");
    else
        PUT_LIT(out, ",\"gzipped\":false,\"status\":");
    put_num(out, e->status);
    PUT_LIT(out, ",\"route\":");
    if (e->route)
        put_str(out, e->route);
    else
        PUT_LIT(out, "null");
    PUT_LIT(out, ",\"counter\":");
    const char *cn = e->counter >= 0 ? mockapi_counter_name((mockapi_counter)e->counter) : NULL;
    if (cn)
        put_str(out, cn);
    else
        PUT_LIT(out, "null");
    if (e->test)
        PUT_LIT(out, ",\"test\":true");
    else
        PUT_LIT(out, ",\"test\":false");
    /* what the mock answered (the top-level status stays for older readers) */
    PUT_LIT(out, ",\"response\":{\"status\":");
    put_num(out, e->status);
    if (!brief) {
        PUT_LIT(out, ",\"headers\":[");
        for (int i = 0; i < e->rnheaders; i++) {
            jput(out, &",["[i ? 0 : 1], i ? 2 : 1);
            put_str(out, e->rhname[i]);
            jput(out, ",", 1);
            put_str(out, e->rhvalue[i]);
            jput(out, "]", 1);
        }
        PUT_LIT(out, "]");
    }
    PUT_LIT(out, ",\"body_size\":");
    put_unum(out, e->rbody_size);
    PUT_LIT(out, ",\"duration_us\":");
    put_num(out, e->duration_us);
    PUT_LIT(out, ",\"error\":");
    if (e->error)
        put_str(out, e->error);
    else
        PUT_LIT(out, "null");
    PUT_LIT(out, "}");
    /* beyond the first form: members only when there is something to say,
     * so an entry without them reads as before */
    if (e->region >= 0) {
        PUT_LIT(out, ",\"region\":");
        put_num(out, e->region);
    }
    if (e->session_via) {
        PUT_LIT(out, ",\"session\":");
        put_str(out, e->session);
        PUT_LIT(out, ",\"session_via\":");
        put_str(out, e->session_via);
    }
    if (e->fault_source) {
        PUT_LIT(out, ",\"fault\":{\"source\":");
        put_str(out, e->fault_source);
        if (e->fault_rule > 0) {
            PUT_LIT(out, ",\"rule\":");
            put_num(out, e->fault_rule);
        }
        PUT_LIT(out, ",\"spec\":");
        put_str(out, e->fault_spec);
        PUT_LIT(out, ",\"wire\":");
        put_str(out, e->fault_wire);
        PUT_LIT(out, "}");
    }
    if (e->auth_class) {
        PUT_LIT(out, ",\"auth\":{\"class\":");
        put_str(out, e->auth_class);
        PUT_LIT(out, ",\"token\":");
        if (e->auth_token)
            put_str(out, e->auth_token);
        else
            PUT_LIT(out, "null");
        PUT_LIT(out, ",\"node\":");
        if (e->auth_node)
            put_str(out, e->auth_node);
        else
            PUT_LIT(out, "null");
        if (e->auth_skipped)
            PUT_LIT(out, ",\"skipped\":true");
        PUT_LIT(out, "}");
    }
    PUT_LIT(out, "}");
}

void mk_jentry_json(const mk_jentry *e, mk_buf *out)
{
    jentry_json(e, out, NULL, false);
}

void mk_jentry_json_brief(const mk_jentry *e, mk_buf *out)
{
    jentry_json(e, out, NULL, true);
}

size_t mk_jentry_json_len(const mk_jentry *e, mk_buf *scratch)
{
    size_t body = 0;
    mk_buf_reset(scratch);
    jentry_json(e, scratch, &body, false);
    return scratch->len + body;
}

void mk_jresult_open(mk_buf *out)
{
    mk_buf_puts(out, MK_JRESULT_OPEN);
}

void mk_jresult_close(const mk_jstats *st, mk_buf *out)
{
    mk_buf_printf(out,
                  "],\"next_seq\":%llu,\"oldest_seq\":%llu,\"evicted\":%llu,\"evicted_bytes\":%llu,"
                  "\"max_entries\":%zu,\"max_bytes\":%zu}\n",
                  (unsigned long long)st->next_seq, (unsigned long long)st->oldest_seq,
                  (unsigned long long)st->evicted, (unsigned long long)st->evicted_bytes,
                  st->max_entries, st->max_bytes);
}
