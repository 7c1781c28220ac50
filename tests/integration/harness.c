/* harness.c: instances, libcurl requests, gzip, goldens and raw sockets for
 * the integration tests (see harness.h). No global mutable state: every
 * function works on what it is given, so tests may run them from many
 * threads on distinct handles. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#define MT_BODY_CAP ((size_t)64 << 20) /* responses larger than this are a bug */
#define MT_KEY_PLACEHOLDER "{{SIGNING_PUBLIC_KEY_B64}}"

/* ---- instances ---------------------------------------------------------- */

static void quiet_log(void *user, const char *line)
{
    (void)user;
    (void)line;
}

void mt_config_init(mockapi_config *cfg)
{
    mockapi_config_init(cfg);
    if (!getenv("MOCKAPI_IT_LOG")) {
        cfg->log = quiet_log;
        cfg->log_user = NULL;
    }
}

int mt_server_start(mt_server *s, const mockapi_config *cfg)
{
    mockapi_config def;
    char err[256] = "";
    int rc;

    memset(s, 0, sizeof *s);
    if (!cfg) {
        mt_config_init(&def);
        cfg = &def;
    }
    rc = mockapi_create(cfg, &s->m, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "mockapi_create: %s: %s\n", mockapi_strerror(rc), err);
        s->m = NULL;
        return rc;
    }
    rc = mockapi_start(s->m, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "mockapi_start: %s: %s\n", mockapi_strerror(rc), err);
        goto fail;
    }
    rc = mockapi_base_url(s->m, MOCKAPI_LISTENER_HTTP, s->base, sizeof s->base);
    if (rc < 0) {
        fprintf(stderr, "mockapi_base_url: %s\n", mockapi_strerror(rc));
        goto fail;
    }
    if (mockapi_base_url(s->m, MOCKAPI_LISTENER_TLS, s->tls_base, sizeof s->tls_base) < 0)
        s->tls_base[0] = '\0';
    {
        const char *k = mockapi_signing_public_key(s->m);
        if (!k || strlen(k) >= sizeof s->key) {
            fprintf(stderr, "mockapi_signing_public_key: missing or too long\n");
            rc = MOCKAPI_ECRYPTO;
            goto fail;
        }
        strcpy(s->key, k);
    }
    return 0;
fail:
    mockapi_free(s->m);
    memset(s, 0, sizeof *s);
    return rc < 0 ? rc : -1;
}

void mt_server_free(mt_server *s)
{
    if (!s)
        return;
    mockapi_free(s->m);
    memset(s, 0, sizeof *s);
}

#define MT_MAX_TRACKED 8
static mockapi *tracked[MT_MAX_TRACKED];

int mt_server_start_tracked(mt_server *s, const mockapi_config *cfg)
{
    int rc = mt_server_start(s, cfg);
    if (rc == 0)
        for (int i = 0; i < MT_MAX_TRACKED; i++)
            if (!tracked[i]) {
                tracked[i] = s->m;
                break;
            }
    return rc;
}

void mt_server_untrack_free(mt_server *s)
{
    for (int i = 0; i < MT_MAX_TRACKED; i++)
        if (s->m && tracked[i] == s->m)
            tracked[i] = NULL;
    mt_server_free(s);
}

void mt_server_free_tracked_all(void)
{
    for (int i = 0; i < MT_MAX_TRACKED; i++) {
        mockapi_free(tracked[i]);
        tracked[i] = NULL;
    }
}

/* ---- HTTP --------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *user)
{
    mt_response *r = user;
    size_t n = size * nmemb;
    unsigned char *nb;

    if (n == 0)
        return 0;
    if (r->len + n > MT_BODY_CAP)
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    nb = realloc(r->body, r->len + n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, n);
    r->len += n;
    nb[r->len] = '\0';
    r->body = nb;
    return n;
}

static void headers_clear(mt_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

static char *dup_trimmed(const char *p, size_t n)
{
    char *s;
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *user)
{
    mt_response *r = user;
    size_t n = size * nmemb;
    const char *colon;
    mt_header *nh;

    /* A status line starts a new response (after a 100, or a redirect we
     * do not follow anyway): only the final one's headers are kept. */
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        headers_clear(r);
        return n;
    }
    colon = memchr(p, ':', n);
    if (!colon)
        return n; /* the blank line ending the head */
    nh = realloc(r->headers, (r->nheaders + 1) * sizeof *nh);
    if (!nh)
        return 0;
    r->headers = nh;
    nh[r->nheaders].name = dup_trimmed(p, (size_t)(colon - p));
    nh[r->nheaders].value = dup_trimmed(colon + 1, n - (size_t)(colon - p) - 1);
    if (!nh[r->nheaders].name || !nh[r->nheaders].value) {
        free(nh[r->nheaders].name);
        free(nh[r->nheaders].value);
        return 0;
    }
    r->nheaders++;
    return n;
}

int mt_perform(CURL *h, const char *base, const mt_request *req, mt_response *resp)
{
    CURL *own = NULL;
    struct curl_slist *hdrs = NULL, *t;
    unsigned char *zbody = NULL;
    size_t zlen = 0;
    char *url = NULL;
    size_t ulen;
    int ret = -1;

    memset(resp, 0, sizeof *resp);
    resp->body = calloc(1, 1);
    resp->rc = CURLE_OUT_OF_MEMORY;
    if (!resp->body)
        return -1;
    if (!h) {
        own = h = curl_easy_init();
        if (!h)
            return -1;
    } else {
        curl_easy_reset(h); /* keeps the connection cache: keep-alive survives */
    }

    ulen = strlen(base) + strlen(req->path) + 1;
    url = malloc(ulen);
    if (!url)
        goto out;
    snprintf(url, ulen, "%s%s", base, req->path);

    /* No "Expect: 100-continue": bodies go out at once, as agents send them. */
    if (!(t = curl_slist_append(hdrs, "Expect:")))
        goto out;
    hdrs = t;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!(t = curl_slist_append(hdrs, req->headers[i])))
            goto out;
        hdrs = t;
    }
    if (req->gzip) {
        if (mt_gzip(req->body, req->body_len, &zbody, &zlen) != 0)
            goto out;
        if (!(t = curl_slist_append(hdrs, "Content-Encoding: gzip")))
            goto out;
        hdrs = t;
    }

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 15000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->error);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    if (req->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (req->ca_pem) {
        struct curl_blob ca;
        ca.data = (void *)(uintptr_t)req->ca_pem;
        ca.len = strlen(req->ca_pem);
        ca.flags = CURL_BLOB_COPY;
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "GET") != 0 || req->send_body) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (req->send_body) {
        const void *b = req->gzip ? (const void *)zbody : req->body;
        size_t bl = req->gzip ? zlen : req->body_len;
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bl);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, bl ? b : "");
    }

    resp->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    ret = resp->status > 0 ? 0 : -1;
out:
    if (own)
        curl_easy_cleanup(own);
    else if (h)
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* resp may be freed before h */
    curl_slist_free_all(hdrs);
    free(zbody);
    free(url);
    return ret;
}

int mt_get(CURL *h, const char *base, const char *path, mt_response *resp)
{
    return mt_send(h, base, "GET", path, NULL, resp);
}

int mt_send(CURL *h, const char *base, const char *method, const char *path, const char *body,
            mt_response *resp)
{
    mt_request rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    if (body) {
        rq.body = body;
        rq.body_len = strlen(body);
        rq.send_body = true;
    }
    return mt_perform(h, base, &rq, resp);
}

const char *mt_header_get(const mt_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void mt_response_free(mt_response *r)
{
    if (!r)
        return;
    headers_clear(r);
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

/* ---- bytes, files, goldens ---------------------------------------------- */

int mt_gzip(const void *in, size_t n, unsigned char **out, size_t *outn)
{
    z_stream z;
    unsigned char *buf;
    uLong cap;
    int rc;

    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    cap = deflateBound(&z, (uLong)n) + 32;
    buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    rc = deflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END) {
        deflateEnd(&z);
        free(buf);
        return -1;
    }
    *outn = (size_t)z.total_out;
    *out = buf;
    deflateEnd(&z);
    return 0;
}

int mt_read_file(const char *path, unsigned char **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *nb;
    size_t len = 0, cap = 0, got;

    if (!f)
        return -1;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            nb = realloc(buf, cap);
            if (!nb)
                goto fail;
            buf = nb;
        }
        got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    if (!buf && !(buf = malloc(1)))
        return -1;
    buf[len] = '\0';
    *out = buf;
    *n = len;
    return 0;
fail:
    fclose(f);
    free(buf);
    return -1;
}

unsigned char *mt_subst(const void *in, size_t n, const char *key, size_t *outn)
{
    const unsigned char *p = in;
    size_t pl = strlen(MT_KEY_PLACEHOLDER), kl = strlen(key), hits = 0, o = 0;
    unsigned char *out;

    for (size_t i = 0; i + pl <= n; i++)
        if (memcmp(p + i, MT_KEY_PLACEHOLDER, pl) == 0) {
            hits++;
            i += pl - 1;
        }
    out = malloc(n + hits * kl + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (i + pl <= n && memcmp(p + i, MT_KEY_PLACEHOLDER, pl) == 0) {
            memcpy(out + o, key, kl);
            o += kl;
            i += pl;
        } else {
            out[o++] = p[i++];
        }
    }
    out[o] = '\0';
    *outn = o;
    return out;
}

int mt_golden(const char *name, const char *key, unsigned char **out, size_t *n)
{
    char path[512];
    unsigned char *raw = NULL;
    size_t rawn = 0;

    snprintf(path, sizeof path, "%s/tests/cases/golden/%s.body", MOCKAPI_TOP, name);
    if (mt_read_file(path, &raw, &rawn) != 0)
        return -1;
    *out = mt_subst(raw, rawn, key, n);
    free(raw);
    return *out ? 0 : -1;
}

int mt_assertion_value(const void *body, size_t len, const char *name, int64_t *out)
{
    char needle[128];
    const char *b = body;
    size_t nl;
    int w = snprintf(needle, sizeof needle, "\"%s\":", name);

    if (w < 0 || (size_t)w >= sizeof needle)
        return -1;
    nl = (size_t)w;
    for (size_t i = 0; i + nl <= len; i++) {
        if (memcmp(b + i, needle, nl) == 0) {
            size_t j = i + nl;
            int64_t v = 0;
            bool neg = false, any = false;
            if (j < len && b[j] == '-') {
                neg = true;
                j++;
            }
            while (j < len && b[j] >= '0' && b[j] <= '9') {
                v = v * 10 + (b[j] - '0');
                j++;
                any = true;
            }
            if (!any)
                return -1;
            *out = neg ? -v : v;
            return 0;
        }
    }
    return -1;
}

char *mt_show(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t lim = n > 600 ? 600 : n;
    char *s = malloc(lim * 4 + 64), *o;

    if (!s)
        return NULL;
    o = s;
    *o++ = '"';
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = b[i];
        if (c == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (c == '\r') {
            *o++ = '\\';
            *o++ = 'r';
        } else if (c == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (c == '\\') {
            *o++ = '\\';
            *o++ = '\\';
        } else if (c < 0x20 || c >= 0x7f) {
            o += sprintf(o, "\\x%02x", c);
        } else {
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    if (lim < n)
        o += sprintf(o, "... (%zu bytes)", n);
    *o = '\0';
    return s;
}

int64_t mt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- raw sockets -------------------------------------------------------- */

int mt_connect(int port)
{
    return mt_connect_rcvbuf(port, 0);
}

int mt_connect_rcvbuf(int port, int rcvbuf)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) {
        close(fd);
        return -1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int mt_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int mt_read_until_close(int fd, int64_t deadline_ms, unsigned char **buf, size_t *len)
{
    char tmp[4096];

    for (;;) {
        int64_t left = deadline_ms - mt_now_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr;
        ssize_t r;

        if (left <= 0)
            return 0;
        pr = poll(&pfd, 1, (int)left);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (pr == 0)
            return 0;
        r = recv(fd, tmp, sizeof tmp, 0);
        if (r == 0)
            return 1;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            if (errno == ECONNRESET)
                return 1;
            return -1;
        }
        {
            unsigned char *nb = realloc(*buf, *len + (size_t)r + 1);
            if (!nb)
                return -1;
            memcpy(nb + *len, tmp, (size_t)r);
            *len += (size_t)r;
            nb[*len] = '\0';
            *buf = nb;
        }
    }
}

bool mt_timing_on(void)
{
    const char *e = getenv("MOCKAPI_IT_NO_TIMING");
    return !(e && *e && strcmp(e, "0") != 0);
}

void mt_timing_test(void)
{
    if (!mt_timing_on())
        skip();
}

json_t *mt_parse_json(const void *p, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        char *shown = mt_show(p, n);
        fail_msg("invalid JSON (%s at byte %d): %s", e.text, e.position, shown ? shown : "?");
    }
    return j;
}

json_int_t mt_jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("\"%s\" is missing or not an integer", key);
    return json_integer_value(v);
}

const char *mt_jstr(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("\"%s\" is missing or not a string", key);
    return json_string_value(v);
}
