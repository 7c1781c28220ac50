/* http.c: the civetweb adapter, the one module that uses civetweb's API
 * (src/civet/civetweb_build.c compiles civetweb itself).
 *
 * civetweb gives us threads, sockets, TLS (mbedTLS) and HTTP/1.1 parsing.
 * We hand each request to mk_dispatch and write the finished response with
 * one mg_write (two writes per response trip Nagle + delayed ACK and cost
 * 70x in throughput). One civetweb context serves the plain listeners and
 * one the TLS listeners (a context has one certificate or none); the
 * listener a request came in on is found by its kind and local port. An event
 * stream's socket is detached after its head is built and handed to the
 * SSE hub (sse.c), so streams never hold a worker. A plain keep-alive
 * connection whose response is written moves to the keep-alive loop
 * (loop.c) the same way, and comes back for what the loop leaves to us.
 *
 * Threads: civetweb runs one worker per connection it serves (up to
 * cfg.threads per context, started on demand). Nothing
 * here is shared between requests except `m` (see server.h). */
#include <civetweb.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "civet_detach.h"
#include "clock.h"
#include "dispatch.h"
#include "loop.h"
#include "sse.h"
#include "http.h"
#include "server.h"

struct mk_http {
    struct mg_context *ctx[2];          /* by mk_listener_kind; NULL: none */
    mk_civet_spawner *spawner[2];
    mk_loop *loop;
    /* a TLS context started in the background (mockapi_start_async) */
    pthread_t tls_thread;
    bool tls_pending; /* started, not joined; start/wait/stop only */
    int tls_rc;
    char tls_err[256];
};

static int find_listener(const mockapi *m, mk_listener_kind kind, int local_port)
{
    for (int i = 0; i < m->nlisteners; i++)
        if (m->listeners[i].kind == kind && atomic_load(&m->listeners[i].port) == local_port)
            return i;
    return -1;
}

/* Reads the whole body under the cap and one deadline. civetweb applies the
 * request timeout to each read (and its first read also waits to fill the
 * buffer), so a trickling client could otherwise hold a worker for many
 * timeouts. Returns the status and fills body. */
static mk_body_status read_body(struct mg_connection *conn, const struct mg_request_info *ri,
                                size_t cap, unsigned timeout_ms, mk_buf *body)
{
    int64_t deadline = mk_mono_ms() + timeout_ms;
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > cap)
        return MK_BODY_TOO_LARGE;
    const char *te = mg_get_header(conn, "Transfer-Encoding");
    if (ri->content_length <= 0 && !te)
        return MK_BODY_COMPLETE;

    /* A client that waits for 100-continue gets it only for a body we take.
     * civetweb sends it only for its own file handlers. */
    const char *expect = mg_get_header(conn, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && strcmp(ri->http_version, "1.1") == 0)
        mg_write(conn, "HTTP/1.1 100 Continue\r\n\r\n", 25);

    /* Read straight into the heap buffer (a stack chunk would stay resident
     * in every worker after the load, see release_stack). */
    for (;;) {
        size_t want = ri->content_length > 0 ? (size_t)ri->content_length - body->len : 16384;
        if (want == 0)
            break;
        if (want > 65536)
            want = 65536;
        if (mk_buf_reserve(body, want) != 0)
            return MK_BODY_READ_FAIL;
        int n = mg_read(conn, body->data + body->len, want);
        if (n == 0)
            break;
        if (n < 0)
            return MK_BODY_READ_FAIL;
        if (body->len + (size_t)n > cap)
            return MK_BODY_TOO_LARGE;
        body->len += (size_t)n;
        body->data[body->len] = '\0';
        if (mk_mono_ms() >= deadline &&
            (ri->content_length <= 0 || body->len < (size_t)ri->content_length))
            return MK_BODY_READ_FAIL;
    }
    if (ri->content_length > 0 && body->len != (size_t)ri->content_length)
        return MK_BODY_READ_FAIL;
    return MK_BODY_COMPLETE;
}

static int write_all(struct mg_connection *conn, const char *p, size_t n)
{
    while (n > 0) {
        int w = mg_write(conn, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Gives an event stream's socket to the SSE hub, which writes `resp->out`
 * (head and initial event) first. The worker returns to the pool at once. */
static void hand_over_stream(mockapi *m, struct mg_connection *conn,
                             const struct mg_request_info *ri, const mk_response *resp)
{
    int fd = mk_civet_detach(conn);
    if (fd < 0) { /* a TLS connection: no streams there; answer the head only */
        write_all(conn, resp->out.data, resp->out.len);
        return;
    }
    char peer[64];
    snprintf(peer, sizeof peer, "%s:%d", ri->remote_addr, ri->remote_port);
    mk_sse_attach(m->sse, fd, resp->out.data, resp->out.len, mg_get_header(conn, "Last-Event-ID"),
                  resp->stream_node, peer);
}

/* Moves an answered plain keep-alive connection to the keep-alive loop,
 * unless civetweb must keep it (see mk_civet_detach_idle). */
static void park(mockapi *m, struct mg_connection *conn, int listener)
{
    mk_civet_sock sock;
    char *rest = NULL;
    size_t rest_len = 0;
    int fd = mk_civet_detach_idle(conn, &sock, &rest, &rest_len);
    if (fd < 0)
        return;
    if (mk_loop_adopt(m->http->loop, fd, listener, &sock, rest, rest_len) != 0) {
        close(fd); /* stopping (or out of memory): the client reconnects */
        free(rest);
    }
}

/* Go's server answer to a request it cannot frame, and the end of it. */
static int bad_request(struct mg_connection *conn)
{
    static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                              "Connection: close\r\nContent-Length: 15\r\n\r\n400 Bad Request";
    mg_disable_keep_alive(conn);
    write_all(conn, bad, sizeof bad - 1);
    return 400;
}

static int on_request(struct mg_connection *conn)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    mockapi *m = ri->user_data;
    const char *raw = ri->local_uri_raw;
    if (!raw) {
        return bad_request(conn);
    }

    mk_listener_kind kind = ri->is_ssl ? MK_LISTEN_TLS : MK_LISTEN_HTTP;
    int li = find_listener(m, kind, ri->server_port);

    mk_header_kv hdrs[64];
    int nh = ri->num_headers < 64 ? ri->num_headers : 64;
    for (int i = 0; i < nh; i++) {
        hdrs[i].name = ri->http_headers[i].name;
        hdrs[i].value = ri->http_headers[i].value;
    }

    mk_buf body;
    mk_buf_init(&body, 0);
    mk_request req = {
        .kind = kind,
        .listener = li,
        .method = ri->request_method,
        .path = raw,
        .path_len = strlen(raw),
        .query = ri->query_string,
        .headers = hdrs,
        .nheaders = nh,
    };
    /* Two different Content-Length values make the body's end ambiguous
     * (request smuggling); Go's server refuses them with 400, so do we. */
    const char *cl = NULL;
    for (int i = 0; i < ri->num_headers; i++) {
        if (strcasecmp(ri->http_headers[i].name, "Content-Length") != 0)
            continue;
        if (cl && strcmp(cl, ri->http_headers[i].value) != 0) {
            return bad_request(conn);
        }
        cl = ri->http_headers[i].value;
    }
    req.body_status = read_body(conn, ri, m->cfg.max_body_bytes, m->cfg.request_timeout_ms, &body);
    req.body = body.data;
    req.body_len = body.len;

    mk_response resp = {0};
    mk_buf_init(&resp.out, 0);
    const char *ch = mg_get_header(conn, "Connection");
    if ((ch && strcasecmp(ch, "close") == 0) || strcmp(ri->http_version, "1.1") != 0)
        resp.close = true; /* say so in the response, as Go does */
    mk_dispatch(m, &req, &resp);
    mk_buf_free(&body);

    if (resp.close || req.body_status != MK_BODY_COMPLETE)
        mg_disable_keep_alive(conn);
    if (resp.out.len == 0) {
        static const char oom[] = "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\n"
                                  "Content-Length: 0\r\n\r\n";
        write_all(conn, oom, sizeof oom - 1);
    } else if (resp.stream) {
        hand_over_stream(m, conn, ri, &resp);
    } else if (write_all(conn, resp.out.data, resp.out.len) == 0 && !resp.close &&
               req.body_status == MK_BODY_COMPLETE && kind == MK_LISTEN_HTTP) {
        park(m, conn, li);
    }
    int status = resp.status ? resp.status : 500;
    mk_buf_free(&resp.out);
    free(resp.stream_node);
    return status;
}

/* Gives back the worker's stack pages below the current frame. civetweb's
 * request path alone uses ~17 KB of stack; after a burst of traffic every
 * one of the pre-spawned workers would keep those pages resident forever.
 * Called when a connection closes, at most every 100 ms per thread, so
 * connection-per-request traffic does not pay a syscall each time. */
static void release_stack(void)
{
    static _Thread_local int64_t last;
    int64_t now = mk_mono_ms();
    if (now - last < 100)
        return;
    last = now;
    pthread_attr_t a;
    void *lo = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &a) != 0)
        return;
    int rc = pthread_attr_getstack(&a, &lo, &size);
    pthread_attr_destroy(&a);
    if (rc != 0)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    char here;
    /* two pages of margin for madvise's own frames below this one */
    uintptr_t top = ((uintptr_t)&here - 2 * page) & ~(page - 1);
    uintptr_t low = ((uintptr_t)lo + page - 1) & ~(page - 1);
    if (top > low)
        madvise((void *)low, top - low, MADV_DONTNEED);
}

static void on_connection_close(const struct mg_connection *conn)
{
    mk_civet_connection_closed(conn);
    release_stack();
}

/* civetweb logs every client disconnect as an error under mbedTLS; keep only
 * what a person needs to see. */
static int on_log(const struct mg_connection *conn, const char *msg)
{
    const struct mg_request_info *ri = conn ? mg_get_request_info(conn) : NULL;
    const mockapi *m = ri ? ri->user_data : NULL;
    if (strstr(msg, "SSL read") || strstr(msg, "recv") || strstr(msg, "send") ||
        strstr(msg, "timeout") || strstr(msg, "closed"))
        return 1;
    if (m)
        mk_log(m, "civetweb: %s", msg);
    return 1;
}

/* Starts the civetweb context that serves m's listeners of one kind (a
 * context has one TLS certificate or none, so plain and TLS listeners get one
 * each) and reads their bound ports back. No listener of that kind: no
 * context, MOCKAPI_OK. */
static int start_ctx(mockapi *m, mk_http *h, mk_listener_kind kind, char *err, size_t errlen)
{
    char ports[MK_MAX_LISTENERS * 130] = "";
    for (int i = 0; i < m->nlisteners; i++) {
        if (m->listeners[i].kind != kind)
            continue;
        if (ports[0])
            strcat(ports, ",");
        strcat(ports, m->listeners[i].spec);
    }
    if (!ports[0])
        return MOCKAPI_OK;
    char threads[16], timeout[16], header_max[24];
    snprintf(threads, sizeof threads, "%u", m->cfg.threads);
    snprintf(timeout, sizeof timeout, "%u", m->cfg.request_timeout_ms);
    snprintf(header_max, sizeof header_max, "%zu", m->cfg.max_header_bytes);
    const char *opts[32];
    int o = 0;
    opts[o++] = "listening_ports"; opts[o++] = ports;
    opts[o++] = "num_threads"; opts[o++] = threads;
    opts[o++] = "enable_keep_alive"; opts[o++] = "yes";
    opts[o++] = "keep_alive_timeout_ms"; opts[o++] = timeout;
    opts[o++] = "request_timeout_ms"; opts[o++] = timeout;
    opts[o++] = "max_request_size"; opts[o++] = header_max;
    opts[o++] = "decode_url"; opts[o++] = "no";
    opts[o++] = "tcp_nodelay"; opts[o++] = "1";
    opts[o] = NULL;

    /* civetweb (mbedTLS) loads key and chain from a file: write it private,
     * hand the path over, remove it as soon as civetweb has read it. */
    char pem_path[64] = "";
    if (kind == MK_LISTEN_TLS) {
        char why[256] = "";
        const mk_tls *tls = m->tls_job ? mk_tls_job_get(m->tls_job, why, sizeof why) : NULL;
        if (!tls) {
            snprintf(err, errlen, "TLS certificates: %s", why[0] ? why : "not configured");
            return MOCKAPI_ECRYPTO;
        }
        const char *tmp = getenv("TMPDIR");
        snprintf(pem_path, sizeof pem_path, "%s/mockapi-tls-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        int fd = mkstemp(pem_path); /* mode 0600 */
        size_t len = strlen(tls->chain_pem);
        if (fd < 0 || write(fd, tls->chain_pem, len) != (ssize_t)len) {
            char eb[128];
            snprintf(err, errlen, "cannot write the TLS key file %s: %s", pem_path, strerror_r(errno, eb, sizeof eb));
            if (fd >= 0) {
                close(fd);
                unlink(pem_path);
            }
            return MOCKAPI_EIO;
        }
        close(fd);
        opts[o++] = "ssl_certificate";
        opts[o++] = pem_path;
        opts[o] = NULL;
    }

    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.begin_request = on_request;
    cb.log_message = on_log;
    cb.connection_close = on_connection_close;
    cb.init_connection = mk_civet_init_connection;

    struct mg_init_data init = {.callbacks = &cb, .user_data = m, .configuration_options = opts};
    struct mg_error_data ed = {0};
    char ebuf[256] = "";
    ed.text = ebuf;
    ed.text_buffer_size = sizeof ebuf;
    struct mg_context *ctx = mg_start2(&init, &ed);
    if (pem_path[0])
        unlink(pem_path);
    if (!ctx) {
        char shown[sizeof ports]; /* without civetweb's "s" marks of TLS ports */
        size_t k = 0;
        for (const char *p = ports; *p; p++)
            if (!(*p == 's' && (p[1] == ',' || p[1] == '\0')))
                shown[k++] = *p;
        shown[k] = '\0';
        snprintf(err, errlen, "cannot listen on %s: %s", shown, ebuf[0] ? ebuf : "bind failed");
        return MOCKAPI_ELISTEN;
    }
    struct mg_server_port sp[MK_MAX_LISTENERS];
    int n = mg_get_server_ports(ctx, MK_MAX_LISTENERS, sp);
    for (int i = 0, k = 0; i < m->nlisteners && k < n; i++)
        if (m->listeners[i].kind == kind)
            atomic_store(&m->listeners[i].port, sp[k++].port);
    h->spawner[kind] = mk_civet_spawn_rest(ctx);
    h->ctx[kind] = ctx;
    return MOCKAPI_OK;
}

static void *tls_starter(void *arg)
{
    mockapi *m = arg;
    mk_http *h = m->http;
    /* the keys first, at the lowest CPU priority: requests on the plain
     * listener, already being served, must not wait for them */
    if (m->tls_job)
        mk_tls_job_get_low(m->tls_job);
    h->tls_rc = start_ctx(m, h, MK_LISTEN_TLS, h->tls_err, sizeof h->tls_err);
    return NULL;
}

int mk_http_start(mockapi *m, bool tls_background, char *err, size_t errlen)
{
    mk_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    mk_sse_config sc = {.keepalive_ms = m->cfg.sse_keepalive_ms, .queue_max = m->cfg.sse_queue_max,
                        .history = m->cfg.sse_history, .max_clients = m->cfg.sse_max_clients};
    if (mk_sse_start(&m->sse, &sc, err, errlen) != 0) {
        free(h);
        return MOCKAPI_ENOMEM;
    }
    if (mk_loop_start(&h->loop, m, err, errlen) != 0) {
        mk_sse_stop(m->sse);
        m->sse = NULL;
        free(h);
        return MOCKAPI_ENOMEM;
    }
    m->http = h;
    int rc = start_ctx(m, h, MK_LISTEN_HTTP, err, errlen);
    if (rc == MOCKAPI_OK && m->tls_job) { /* a TLS listener is configured */
        if (tls_background && pthread_create(&h->tls_thread, NULL, tls_starter, m) == 0)
            h->tls_pending = true;
        else
            rc = start_ctx(m, h, MK_LISTEN_TLS, err, errlen);
    }
    if (rc != MOCKAPI_OK)
        mk_http_stop(m);
    return rc;
}

int mk_http_wait_tls(mockapi *m, char *err, size_t errlen)
{
    mk_http *h = m->http;
    if (!h || !h->tls_pending)
        return MOCKAPI_OK;
    pthread_join(h->tls_thread, NULL);
    h->tls_pending = false;
    if (h->tls_rc != MOCKAPI_OK)
        snprintf(err, errlen, "%s", h->tls_err);
    return h->tls_rc;
}

void mk_http_stop(mockapi *m)
{
    mk_http *h = m->http;
    if (!h)
        return;
    char ignored[8];
    mk_http_wait_tls(m, ignored, sizeof ignored);
    mk_loop_stop(h->loop);    /* first: the loop hands requests to civetweb */
    mk_sse_interrupt(m->sse); /* workers waiting on streams return now */
    mk_state_interrupt(&m->state, true); /* and those in /test/wait */
    for (int k = 0; k < 2; k++) {
        mk_civet_spawn_stop(h->spawner[k]);
        if (h->ctx[k]) {
            mg_stop(h->ctx[k]);
            mk_civet_forget(h->ctx[k]); /* hand-backs no worker took */
        }
    }
    mk_loop_free(h->loop);
    mk_sse_stop(m->sse);      /* no worker can reach the hub any more */
    mk_state_interrupt(&m->state, false);
    m->sse = NULL;
    m->http = NULL;
    for (int i = 0; i < m->nlisteners; i++)
        atomic_store(&m->listeners[i].port, 0);
    free(h);
}

int mockapi_check(const char *url, unsigned timeout_ms, int *status, char *errbuf, size_t errlen)
{
    char dummy[1];
    if (!errbuf || !errlen) {
        errbuf = dummy;
        errlen = sizeof dummy;
    }
    errbuf[0] = '\0';
    if (!url || !status) {
        snprintf(errbuf, errlen, "NULL argument");
        return MOCKAPI_EINVAL;
    }
    int ssl = 0;
    const char *p;
    if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else if (strncmp(url, "https://", 8) == 0) {
        p = url + 8;
        ssl = 1;
    } else {
        snprintf(errbuf, errlen, "URL must start with http:// or https://");
        return MOCKAPI_EINVAL;
    }
    const char *slash = strchr(p, '/');
    const char *path = slash ? slash : "/";
    size_t hplen = slash ? (size_t)(slash - p) : strlen(p);
    char host[256];
    if (hplen == 0 || hplen >= sizeof host) {
        snprintf(errbuf, errlen, "URL has no usable host");
        return MOCKAPI_EINVAL;
    }
    memcpy(host, p, hplen);
    host[hplen] = '\0';
    long port = ssl ? 443 : 80;
    char *colon = strrchr(host, ':');
    if (colon && (host[0] != '[' || colon > strchr(host, ']'))) {
        char *end = NULL;
        port = strtol(colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535) {
            snprintf(errbuf, errlen, "bad port in URL");
            return MOCKAPI_EINVAL;
        }
        *colon = '\0';
    }
    if (host[0] == '[') { /* civetweb wants the bare IPv6 literal */
        size_t l = strlen(host);
        if (l < 3 || host[l - 1] != ']') {
            snprintf(errbuf, errlen, "bad IPv6 host in URL");
            return MOCKAPI_EINVAL;
        }
        memmove(host, host + 1, l - 2);
        host[l - 2] = '\0';
    }
    char ebuf[256] = "";
    struct mg_client_options co = {.host = host, .port = (int)port};
    struct mg_connection *c = ssl ? mg_connect_client_secure(&co, ebuf, sizeof ebuf)
                                  : mg_connect_client(host, (int)port, 0, ebuf, sizeof ebuf);
    if (!c) {
        snprintf(errbuf, errlen, "%s", ebuf[0] ? ebuf : "cannot connect");
        return MOCKAPI_ELISTEN;
    }
    mg_printf(c, "GET %s HTTP/1.1\r\nHost: %s:%ld\r\nConnection: close\r\nUser-Agent: mockapi-check\r\n\r\n",
              path, host, port);
    int rc = mg_get_response(c, ebuf, sizeof ebuf, (int)timeout_ms);
    if (rc < 0) {
        snprintf(errbuf, errlen, "%s", ebuf[0] ? ebuf : "no response");
        mg_close_connection(c);
        return MOCKAPI_ELISTEN;
    }
    const struct mg_response_info *ri = mg_get_response_info(c);
    *status = ri ? ri->status_code : 0;
    mg_close_connection(c);
    return MOCKAPI_OK;
}
