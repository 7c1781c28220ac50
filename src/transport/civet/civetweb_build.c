/* civetweb_build.c: compiles civetweb (Debian's source package, fetched into
 * build/third_party by ci/setup.sh; never committed) as part of this
 * translation unit, so that we can add what its API lacks (civet_detach.h):
 * taking a socket out, giving one back with bytes already read, workers
 * started on demand, and its head parser for the keep-alive loop.
 *
 * Why: civetweb serves each connection from a worker thread of its own. An
 * SSE stream lives for minutes, so a thousand streams would need a thousand
 * idle workers (~26 KB RSS each). Instead, once the stream's request is
 * parsed, we take its socket out of civetweb and hand it to our own epoll
 * loop (src/sse.c); the worker returns to the pool at once. civetweb skips
 * the descriptor it no longer has when it ends the connection.
 *
 * The same move serves idle keep-alive connections: civetweb's
 * thread-per-connection model costs a context switch per request, so once a
 * plain connection's first request is answered it goes to the keep-alive
 * loop (src/loop.c). What the loop does not serve itself returns here, with
 * the bytes it read, through civetweb's own socket queue; the init_connection
 * callback below puts those bytes where civetweb's reader expects pipelined
 * data, so civetweb parses, answers or refuses the request itself. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* civetweb 1.15 prints "SSL read failed" to stderr, unconditionally, every
 * time a TLS client closes its connection (mbedTLS reports the peer's
 * close_notify as a read error). Its other fprintf calls pass through. */
static int mk_civet_fprintf(FILE *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mk_civet_fprintf(FILE *fp, const char *fmt, ...)
{
    if (fp == stderr && strncmp(fmt, "SSL read failed", 15) == 0)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(fp, fmt, ap);
    va_end(ap);
    return n;
}
#define fprintf mk_civet_fprintf

/* civetweb starts every worker thread inside mg_start, ~20 us each: most of
 * a server's start-up time, and each idle worker keeps ~20 KB resident. Its
 * calls to pthread_create come here instead: the first MK_EAGER_WORKERS
 * workers start at once, the rest on demand (see mk_civet_spawner below). A
 * worker not started has thread id 0, which civetweb's shutdown skips. */
#include <pthread.h>
enum { MK_EAGER_WORKERS = 2 };
static int mk_civet_thread_create(pthread_t *tid, const pthread_attr_t *attr, void *(*fn)(void *),
                                  void *arg);
#define pthread_create mk_civet_thread_create

#include "civetweb.c"

#undef pthread_create

#undef fprintf
/* civetweb poisons the allocator names for its own code; what we allocate
 * here is freed by our modules with free() */
#undef malloc
#undef free
#undef calloc
#undef snprintf

#include "civet_detach.h"
#include "clock.h"

static int mk_civet_thread_create(pthread_t *tid, const pthread_attr_t *attr, void *(*fn)(void *),
                                  void *arg)
{
    if (fn == worker_thread) {
        struct mg_connection *wc = arg;
        if (wc - wc->phys_ctx->worker_connections >= MK_EAGER_WORKERS) {
            memset(tid, 0, sizeof *tid);
            return 0;
        }
    }
    return pthread_create(tid, attr, fn, arg);
}

/* Starts workers when the running ones get busy: init_connection counts a
 * connection in, connection_close counts it out, and when no worker is left
 * idle for MK_SPAWN_GRACE_MS the spawner thread starts one more. One at a
 * time and only for a lasting shortage: a burst of new connections (each
 * leaves for the keep-alive loop after its first request) frees its workers
 * within microseconds, and every worker started stays, with its ~30 KB. The count of a
 * context is found through a short list (a lookup per connection, not per
 * request) and is created by whichever comes first, the first connection or
 * mk_civet_spawn_rest: civetweb accepts before mg_start2 returns, and a
 * connection it serves meanwhile must be counted like any other. */
enum { MK_SPARE_WORKERS = 1, MK_SPAWN_GRACE_MS = 2 };

struct mk_civet_spawner {
    struct mk_civet_spawner *next; /* registry, under registry_lock */
    struct mg_context *ctx;
    pthread_t tid;
    bool has_thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    unsigned started, busy, max; /* workers started, connections in service */
    bool stop;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static mk_civet_spawner *registry;

static bool want_more(const mk_civet_spawner *s)
{
    return s->started < s->max && s->busy + MK_SPARE_WORKERS > s->started;
}

static void *spawn_run(void *arg)
{
    mk_civet_spawner *s = arg;
    struct mg_context *ctx = s->ctx;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (!s->stop && !want_more(s))
            pthread_cond_wait(&s->wake, &s->lock);
        /* A short grace before spawning: a burst of new connections, each
         * done with its worker within microseconds (it moves to the
         * keep-alive loop), frees the workers again by itself, and every
         * worker started stays. Only a shortage that lasts starts one. */
        struct timespec dl = mk_deadline(MK_SPAWN_GRACE_MS);
        while (!s->stop && want_more(s))
            if (pthread_cond_timedwait(&s->wake, &s->lock, &dl) != 0)
                break;
        if (s->stop)
            break;
        if (!want_more(s))
            continue;
        unsigned i = s->started;
        pthread_mutex_unlock(&s->lock);
        int rc = pthread_create(&ctx->worker_threadids[i], NULL, worker_thread,
                                &ctx->worker_connections[i]);
        if (rc != 0) {
            memset(&ctx->worker_threadids[i], 0, sizeof ctx->worker_threadids[i]);
            mg_cry_ctx_internal(ctx, "Cannot start worker thread %u: error %d", i + 1, rc);
        }
        pthread_mutex_lock(&s->lock);
        if (rc == 0)
            s->started = i + 1;
        else
            s->max = i; /* out of threads: serve with what runs */
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* The count of ctx, created if needed; NULL on ENOMEM. Call under
 * registry_lock. */
static mk_civet_spawner *spawner_of(struct mg_context *ctx)
{
    for (mk_civet_spawner *s = registry; s; s = s->next)
        if (s->ctx == ctx)
            return s;
    mk_civet_spawner *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ctx = ctx;
    s->started = ctx->cfg_worker_threads < MK_EAGER_WORKERS ? ctx->cfg_worker_threads : MK_EAGER_WORKERS;
    s->max = ctx->cfg_worker_threads;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->next = registry;
    registry = s;
    return s;
}

mk_civet_spawner *mk_civet_spawn_rest(struct mg_context *ctx)
{
    if (!ctx)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    mk_civet_spawner *s = spawner_of(ctx);
    if (s && s->max > s->started &&
        pthread_create(&s->tid, NULL, spawn_run, s) == 0) /* else: the eager workers serve */
        s->has_thread = true;
    pthread_mutex_unlock(&registry_lock);
    return s;
}

void mk_civet_spawn_stop(mk_civet_spawner *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&registry_lock);
    for (mk_civet_spawner **pp = &registry; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->has_thread)
        pthread_join(s->tid, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s);
}

/* Counts a connection in (+1) or out (-1) of service on ctx; false when it
 * could not be counted (out of memory). */
static bool count_busy(struct mg_context *ctx, int delta)
{
    pthread_mutex_lock(&registry_lock);
    mk_civet_spawner *s = spawner_of(ctx);
    if (s) {
        pthread_mutex_lock(&s->lock);
        s->busy += (unsigned)delta;
        if (want_more(s))
            pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&registry_lock);
    return s != NULL;
}

/* marks a connection that count_busy counted in (civetweb clears the
 * connection's data when it closes and when the next one starts) */
static char counted_mark;

void mk_civet_connection_closed(const struct mg_connection *conn)
{
    if (conn->request_info.conn_data == &counted_mark)
        count_busy(conn->phys_ctx, -1);
}

int mk_civet_detach(struct mg_connection *conn)
{
    if (!conn || conn->ssl || conn->client.sock == INVALID_SOCKET)
        return -1;
    int fd = (int)conn->client.sock;
    conn->client.sock = INVALID_SOCKET;
    conn->must_close = 1;
    return fd;
}

_Static_assert(sizeof(struct socket) <= sizeof(mk_civet_sock), "mk_civet_sock too small");

int mk_civet_detach_idle(struct mg_connection *conn, mk_civet_sock *sock, char **rest,
                         size_t *rest_len)
{
    *rest = NULL;
    *rest_len = 0;
    if (!conn || conn->ssl || conn->client.is_ssl || conn->client.sock == INVALID_SOCKET)
        return -1;
    if (!STOP_FLAG_IS_ZERO(&conn->phys_ctx->stop_flag))
        return -1;
    /* the rule civetweb's own keep-alive loop applies, plus a fully read body */
    if (!should_keep_alive(conn) || conn->is_chunked || conn->content_len < 0 ||
        conn->request_len <= 0 || conn->consumed_content != conn->content_len ||
        conn->protocol_type != PROTOCOL_TYPE_HTTP1)
        return -1;
    long long end = (long long)conn->request_len + conn->content_len;
    if (end < conn->data_len) {
        *rest_len = (size_t)(conn->data_len - end);
        *rest = malloc(*rest_len);
        if (!*rest) {
            *rest_len = 0;
            return -1;
        }
        memcpy(*rest, conn->buf + end, *rest_len);
    }
    memset(sock, 0, sizeof *sock);
    sock->ctx = conn->phys_ctx;
    memcpy(sock->opaque, &conn->client, sizeof conn->client);
    int fd = (int)conn->client.sock;
    conn->client.sock = INVALID_SOCKET;
    conn->must_close = 1;
    return fd;
}

/* Bytes waiting for the worker that takes their socket from the queue. A
 * list: hand-backs are the rare path (chunked bodies, waits, odd heads). */
typedef struct mk_stash {
    struct mk_stash *next;
    struct mg_context *ctx;
    int fd;
    size_t len;
    char bytes[];
} mk_stash;

static pthread_mutex_t stash_lock = PTHREAD_MUTEX_INITIALIZER;
static mk_stash *stash;
static atomic_int stash_count; /* lets init_connection skip the lock */

static mk_stash *stash_take(struct mg_context *ctx, int fd)
{
    mk_stash *found = NULL;
    pthread_mutex_lock(&stash_lock);
    for (mk_stash **pp = &stash; *pp; pp = &(*pp)->next) {
        if ((*pp)->ctx == ctx && (fd < 0 || (*pp)->fd == fd)) {
            found = *pp;
            *pp = found->next;
            atomic_fetch_sub(&stash_count, 1);
            break;
        }
    }
    pthread_mutex_unlock(&stash_lock);
    return found;
}

int mk_civet_return(int fd, const mk_civet_sock *sock, const char *pre, size_t len)
{
    struct mg_context *ctx = sock->ctx;
    if (!ctx || fd < 0 || len > ctx->max_request_size)
        return -1;
    struct socket so;
    memcpy(&so, sock->opaque, sizeof so);
    so.sock = fd;
    so.in_use = 0;
    if (len > 0) {
        mk_stash *s = malloc(sizeof *s + len);
        if (!s)
            return -1;
        s->ctx = ctx;
        s->fd = fd;
        s->len = len;
        memcpy(s->bytes, pre, len);
        /* listed before the socket is queued: a worker may take it at once */
        pthread_mutex_lock(&stash_lock);
        s->next = stash;
        stash = s;
        atomic_fetch_add(&stash_count, 1);
        pthread_mutex_unlock(&stash_lock);
    }
    /* produce_socket, minus its wait for room: the loop must never block */
    int queued = 0;
    pthread_mutex_lock(&ctx->thread_mutex);
    if (STOP_FLAG_IS_ZERO(&ctx->stop_flag) && ctx->sq_head - ctx->sq_tail < ctx->sq_size) {
        ctx->squeue[ctx->sq_head % ctx->sq_size] = so;
        ctx->sq_head++;
        pthread_cond_signal(&ctx->sq_full);
        queued = 1;
    }
    pthread_mutex_unlock(&ctx->thread_mutex);
    if (!queued && len > 0)
        free(stash_take(ctx, fd));
    return queued ? 0 : -1;
}

int mk_civet_init_connection(const struct mg_connection *cconn, void **conn_data)
{
    if (count_busy(cconn->phys_ctx, +1))
        *conn_data = &counted_mark;
    if (atomic_load(&stash_count) == 0)
        return 0;
    /* init_connection has just emptied the buffer; the callback hands us
     * the connection read-only, but filling that buffer is its purpose here */
    struct mg_connection *conn = (struct mg_connection *)cconn;
    mk_stash *s = stash_take(conn->phys_ctx, (int)conn->client.sock);
    if (s) {
        memcpy(conn->buf, s->bytes, s->len);
        conn->data_len = (int)s->len;
        free(s);
    }
    return 0;
}

void mk_civet_forget(struct mg_context *ctx)
{
    mk_stash *s;
    while ((s = stash_take(ctx, -1)) != NULL) {
        close(s->fd);
        free(s);
    }
}

void mk_civet_sock_peer(const mk_civet_sock *sock, char *out, size_t len)
{
    struct socket so;
    char ip[IP_ADDR_STR_LEN];
    memcpy(&so, sock->opaque, sizeof so);
    sockaddr_to_string(ip, sizeof ip, &so.rsa);
    snprintf(out, len, "%s:%d", ip, (int)ntohs(USA_IN_PORT_UNSAFE(&so.rsa)));
}

int mk_civet_head_len(const char *buf, int len)
{
    return get_http_header_len(buf, len);
}

int mk_civet_parse_head(char *buf, int len, mk_civet_head *out)
{
    struct mg_request_info ri;
    memset(&ri, 0, sizeof ri);
    int n = parse_http_request(buf, len, &ri);
    if (n <= 0)
        return n;
    out->method = ri.request_method;
    out->uri = ri.request_uri;
    out->version = ri.http_version;
    out->nheaders = ri.num_headers;
    for (int i = 0; i < ri.num_headers && i < 64; i++) {
        out->headers[i].name = ri.http_headers[i].name;
        out->headers[i].value = ri.http_headers[i].value;
    }
    return n;
}
