/* journal.c: the bounded request journal; see journal.h. */
#include "journal.h"
#include "hex.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "glob.h"
#include "mockapi.h"

/* Headers whose values are credentials: kept only as a fingerprint. */
static bool is_secret_header(const char *name)
{
    static const char *const secret[] = {"Authorization", "Proxy-Authorization", "Cookie",
                                         "Set-Cookie", "X-Api-Key", "X-Mockapi-Admin-Token"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strcasecmp(name, secret[i]) == 0)
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

mk_jentry *mk_jentry_new(const mk_jentry_in *in)
{
    const char *method = in->method ? in->method : "";
    const char *path = in->path ? in->path : "";
    size_t path_len = in->path ? in->path_len : 0;
    const char *query = in->query ? in->query : "";
    size_t need = sizeof(mk_jentry) + strlen(method) + path_len + strlen(query) + 3 +
                  in->body_len + 1 + (size_t)in->nheaders * 2 * sizeof(char *);
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
    char *w = (char *)(e->hvalue + in->nheaders);
    e->method = put(&w, method, strlen(method));
    e->path = put(&w, path, path_len);
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
    e->test = strncmp(e->path, "/test/", 6) == 0;
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
    mk_journal_init(j, me, mb);
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


/* Decodes a query value (%XX and '+') into storage; returns it or NULL. */
static const char *qvalue(const char *v, size_t n, char **w, const char *end)
{
    char *d = *w;
    if ((size_t)(end - d) < n + 1)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '%' && i + 2 < n && mk_hexval(v[i + 1]) >= 0 && mk_hexval(v[i + 2]) >= 0) {
            d[o++] = (char)(mk_hexval(v[i + 1]) << 4 | mk_hexval(v[i + 2]));
            i += 2;
        } else {
            d[o++] = v[i] == '+' ? ' ' : v[i];
        }
    }
    d[o] = '\0';
    *w += o + 1;
    return d;
}

int mk_jfilter_parse(const char *q, mk_jfilter *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->limit = 1000;
    char *w = f->storage;
    const char *end = f->storage + sizeof f->storage;
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t klen = eq ? (size_t)(eq - q) : len;
        const char *v = eq ? eq + 1 : q + len;
        size_t vlen = eq ? len - klen - 1 : 0;
        const char *val = qvalue(v, vlen, &w, end);
        if (!val) {
            snprintf(err, errlen, "query too long");
            return -1;
        }
#define KEY(k) (klen == sizeof k - 1 && strncmp(q, k, klen) == 0)
        char *e = NULL;
        if (KEY("method")) {
            f->method = val;
        } else if (KEY("path")) {
            f->path = val;
        } else if (KEY("route")) {
            f->route = val;
        } else if (KEY("status")) {
            long s = strtol(val, &e, 10);
            if (!*val || *e || s < 100 || s > 599) {
                snprintf(err, errlen, "status must be an HTTP status code, not \"%.40s\"", val);
                return -1;
            }
            f->status = (int)s;
        } else if (KEY("since")) {
            unsigned long long s = strtoull(val, &e, 10);
            if (!*val || *e || val[0] == '-') {
                snprintf(err, errlen, "since must be a sequence number, not \"%.40s\"", val);
                return -1;
            }
            f->since = s;
        } else if (KEY("limit")) {
            unsigned long long l = strtoull(val, &e, 10);
            if (!*val || *e || val[0] == '-' || l == 0) {
                snprintf(err, errlen, "limit must be a positive number, not \"%.40s\"", val);
                return -1;
            }
            f->limit = l > 100000 ? 100000 : (size_t)l;
        } else if (KEY("include_test")) {
            f->include_test = strcmp(val, "0") != 0 && strcmp(val, "false") != 0;
        }
        /* other keys belong to the caller (e.g. /test/wait's op, value) */
#undef KEY
        q = amp ? amp + 1 : q + len;
    }
    return 0;
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
    if (f->path && !mk_path_glob(f->path, e->path))
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

static void put_str(mk_buf *out, const char *s)
{
    gj_write_string(out, s, strlen(s));
}

void mk_jentry_json(const mk_jentry *e, mk_buf *out)
{
    mk_buf_printf(out, "{\"seq\":%llu,\"time\":", (unsigned long long)e->seq);
    gj_time_write(out, &e->time);
    mk_buf_printf(out, ",\"listener\":%d,\"listener_kind\":\"%s\",\"method\":", e->listener,
                  e->tls ? "tls" : "http");
    put_str(out, e->method);
    mk_buf_puts(out, ",\"path\":");
    put_str(out, e->path);
    mk_buf_puts(out, ",\"query\":");
    put_str(out, e->query);
    mk_buf_puts(out, ",\"headers\":[");
    for (int i = 0; i < e->nheaders; i++) {
        mk_buf_puts(out, i ? ",[" : "[");
        put_str(out, e->hname[i]);
        mk_buf_putc(out, ',');
        put_str(out, e->hvalue[i]);
        mk_buf_putc(out, ']');
    }
    mk_buf_puts(out, "],\"body\":");
    if (utf8_valid((const unsigned char *)e->body, e->body_len)) {
        gj_write_string(out, e->body, e->body_len);
        mk_buf_puts(out, ",\"body_encoding\":\"utf8\"");
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
        mk_buf_puts(out, ",\"body_encoding\":\"base64\"");
    }
    mk_buf_printf(out, ",\"body_size\":%zu,\"raw_size\":%zu,\"gzipped\":%s,\"status\":%d,\"route\":",
                  e->body_len, e->raw_size, e->gzipped ? "true" : "false", e->status);
    if (e->route)
        put_str(out, e->route);
    else
        mk_buf_puts(out, "null");
    mk_buf_puts(out, ",\"counter\":");
    const char *cn = e->counter >= 0 ? mockapi_counter_name((mockapi_counter)e->counter) : NULL;
    if (cn)
        put_str(out, cn);
    else
        mk_buf_puts(out, "null");
    mk_buf_printf(out, ",\"test\":%s}", e->test ? "true" : "false");
}
