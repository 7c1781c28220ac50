/* client.c: libcurl adapter (see client.h). The only file that includes
 * curl.h. */
#include "client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session_id.h"
#include "util.h"

#define MAX_BODY (512u << 20)

struct ma_client {
    CURL *h;
    char *base;
    long timeout_ms;
    struct curl_slist *headers;
};

char *ma_server_url(const char *in, const char **why)
{
    if (!in || !*in) {
        *why = "empty server address";
        return NULL;
    }
    ma_buf b = {0};
    if (strncmp(in, "http://", 7) == 0 || strncmp(in, "https://", 8) == 0) {
        ma_buf_puts(&b, in);
    } else if (strstr(in, "://")) {
        *why = "only http:// and https:// servers are supported";
        return NULL;
    } else {
        /* the MOCKAPI_ADDR form: host:port, [v6]:port or :port */
        const char *colon = strrchr(in, ':');
        if (!colon || !colon[1] || strchr(in, '/')) {
            *why = "expected a URL (http://host:port) or host:port";
            return NULL;
        }
        for (const char *p = colon + 1; *p; p++) {
            if (*p < '0' || *p > '9') {
                *why = "the port must be a number";
                return NULL;
            }
        }
        ma_buf_printf(&b, "http://%s%s", colon == in ? "127.0.0.1" : "", in);
    }
    while (b.len > 0 && b.p[b.len - 1] == '/')
        b.p[--b.len] = '\0';
    return ma_buf_steal(&b);
}

/* Where a response body goes: into buf, or, once a 200 is known, to sink. */
typedef struct {
    CURL *h;
    ma_buf *buf;
    int (*sink)(void *arg, const char *p, size_t n); /* NULL: always buf */
    void *arg;
    int decided, streaming, stopped;
} body_dest;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
    body_dest *d = user;
    size_t n = size * nmemb;
    if (d->sink && !d->decided) {
        long code = 0;
        curl_easy_getinfo(d->h, CURLINFO_RESPONSE_CODE, &code);
        d->streaming = code == 200;
        d->decided = 1;
    }
    if (d->streaming) {
        if (d->sink(d->arg, ptr, n) < 0) {
            d->stopped = 1;
            return 0; /* aborts the transfer: the caller has what it wanted */
        }
        return n;
    }
    if (d->buf->len + n > MAX_BODY)
        return 0; /* aborts the transfer */
    ma_buf_add(d->buf, ptr, n);
    return n;
}

/* Appends the header line h (taken) to c's list. */
static void add_header(ma_client *c, char *h)
{
    struct curl_slist *l = curl_slist_append(c->headers, h);
    free(h);
    if (!l)
        ma_oom();
    c->headers = l;
}

ma_client *ma_client_new(const ma_client_opts *opts, char *err, size_t errlen)
{
    static int inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errlen, "libcurl initialisation failed");
            return NULL;
        }
        inited = 1;
    }
    ma_client *c = ma_xcalloc(1, sizeof *c);
    c->h = curl_easy_init();
    if (!c->h) {
        snprintf(err, errlen, "libcurl initialisation failed");
        free(c);
        return NULL;
    }
    c->base = ma_xstrdup(opts->base_url);
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                                                  \
    do {                                                                                                               \
        if (rc == CURLE_OK)                                                                                            \
            rc = curl_easy_setopt(c->h, opt, val);                                                                     \
    } while (0)
    SET(CURLOPT_NOPROXY, "*");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_USERAGENT, "mockassert");
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_WRITEFUNCTION, on_data);
    /* a journal of 100,000 entries is ~130 MB: fewer, larger pieces */
    SET(CURLOPT_BUFFERSIZE, 262144L);
    if (opts->cacert)
        SET(CURLOPT_CAINFO, opts->cacert);
    if (opts->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* every request of the run, whatever asks it (counters, captures, the
     * journal, waits, snapshot, reset), carries the same headers */
    if (opts->admin_token && *opts->admin_token)
        add_header(c, ma_xasprintf("Authorization: Bearer %s", opts->admin_token));
    if (opts->session && *opts->session)
        add_header(c, ma_xasprintf(MA_SESSION_HEADER ": %s", opts->session));
    if (c->headers)
        SET(CURLOPT_HTTPHEADER, c->headers);
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
        ma_client_free(c);
        return NULL;
    }
    return c;
}

void ma_client_free(ma_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->h);
    curl_slist_free_all(c->headers);
    free(c->base);
    free(c);
}

const char *ma_client_url(const ma_client *c)
{
    return c->base;
}

int ma_client_get(ma_client *c, const char *path_and_query, long extra_ms, long *status, char **body, size_t *len,
                  char *err, size_t errlen)
{
    return ma_client_request(c, "GET", path_and_query, extra_ms, status, body, len, NULL, err, errlen);
}

static int perform(ma_client *c, const char *method, const char *path_and_query, long extra_ms, long *status,
                   char **body, size_t *len, int *retryable, int (*sink)(void *, const char *, size_t), void *arg,
                   char *err, size_t errlen)
{
    int post = strcmp(method, "POST") == 0;
    ma_buf url = {0}, data = {0};
    char curlerr[CURL_ERROR_SIZE] = "";
    body_dest dest = {c->h, &data, sink, arg, 0, 0, 0};
    ma_buf_printf(&url, "%s%s", c->base, path_and_query);
    CURLcode rc = curl_easy_setopt(c->h, CURLOPT_URL, ma_buf_str(&url));
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &dest);
    /* the handle is reused: every request states its method */
    if (rc == CURLE_OK)
        rc = post ? curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE, 0L) : CURLE_OK;
    if (rc == CURLE_OK)
        rc = post ? curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, "") : curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, curlerr);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, c->timeout_ms + (extra_ms > 0 ? extra_ms : 0));
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c->h);
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_WRITE_ERROR && dest.stopped)
        rc = CURLE_OK; /* the sink had read what it needed */
    if (rc != CURLE_OK) {
        if (retryable)
            *retryable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
                         rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR;
        snprintf(err, errlen, "%s %s: %s", method, ma_buf_str(&url), curlerr[0] ? curlerr : curl_easy_strerror(rc));
        ma_buf_free(&url);
        ma_buf_free(&data);
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
    *status = code;
    if (dest.streaming) {
        *len = 0;
        *body = NULL;
        ma_buf_free(&data);
    } else {
        *len = data.len;
        *body = ma_buf_steal(&data);
    }
    ma_buf_free(&url);
    return 0;
}

int ma_client_request(ma_client *c, const char *method, const char *path_and_query, long extra_ms, long *status,
                      char **body, size_t *len, int *retryable, char *err, size_t errlen)
{
    return perform(c, method, path_and_query, extra_ms, status, body, len, retryable, NULL, NULL, err, errlen);
}

int ma_client_get_stream(ma_client *c, const char *path_and_query, long *status, char **body, size_t *len,
                         int (*sink)(void *arg, const char *p, size_t n), void *arg, char *err, size_t errlen)
{
    return perform(c, "GET", path_and_query, 0, status, body, len, NULL, sink, arg, err, errlen);
}
