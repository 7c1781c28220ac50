/* http.c: starting and stopping an instance's transport: the SSE hub, the
 * event loop (loop.c) and the listening sockets it accepts from.
 *
 * Every listener, plain and TLS, is bound before start returns, so a taken
 * port or a forbidden address is start's error, reported before anything is
 * announced. The plain listeners listen and are handed to the loop at once.
 * The TLS listeners need certificates (two P-256 keys and two signatures,
 * ~2 ms of CPU), so a background start (mockapi_start_async) makes them on a
 * thread of its own at nice 19 after the plain listener is serving; only
 * then does the already bound TLS socket listen (in mk_http_wait_tls's
 * thread when one waits: see tls_starter), and it goes to the loop at
 * once. So "the TLS listener accepts" comes last, after its keys, and
 * readiness can follow it at once (README "Readiness": within 2 ms of the
 * listeners being bound); meanwhile its port is reserved but not
 * published, and a connection to it is refused rather than parked for
 * milliseconds in a backlog nobody announced. mk_http_wait_tls reports how
 * that went. */
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"
#include "server.h"
#include "sse.h"
#include "tls_session.h"

struct mk_http {
    mk_loop *loop;
    mk_tls_server *tls; /* set once the TLS keys exist (prepare_tls) */
    pthread_t tls_thread;
    bool tls_pending;   /* started, not joined; start/wait/stop only */
    /* Between the starter thread and mk_http_wait_tls, under tls_lock: */
    pthread_mutex_t tls_lock;
    pthread_cond_t tls_made;
    bool tls_ready;     /* the starter is done with the keys (tls_rc says how) */
    bool tls_claimed;   /* a waiter takes over the listen (or, at stop, drops it) */
    bool tls_open;      /* the TLS sockets went to the loop (or failed to) */
    int tls_rc;
    char tls_err[256];
    /* Bound sockets not yet handed to the loop (-1: none), and their ports.
     * Written by start, then by the TLS starter thread or the waiter that
     * took its listen over (under tls_lock), then by stop after joining
     * it: never two at once. */
    int fd[MK_MAX_LISTENERS];
    int port[MK_MAX_LISTENERS];
};

/* err: listener i of m cannot be bound or listen; names the address, the
 * listener and e's text. */
static int listen_error(mockapi *m, int i, int e, char *err, size_t errlen)
{
    mk_listener *li = &m->listeners[i];
    char eb[128], which[32];
    if (m->regions_on && li->region >= 0)
        snprintf(which, sizeof which, "region %d", li->region);
    else
        snprintf(which, sizeof which, "the %s listener", li->kind == MK_LISTEN_TLS ? "TLS" : "plain");
    snprintf(err, errlen, "cannot listen on %s (%s): %s", li->shown, which, strerror_r(e, eb, sizeof eb));
    return MOCKAPI_ELISTEN;
}

/* Binds listener i of m, keeping the socket in h->fd[i]; a plain one also
 * listens now, a TLS one only in open_kind, once its keys exist. bind
 * alone already refuses a port another socket listens on (SO_REUSEADDR
 * lets it share only with sockets that do not listen, such as TIME_WAIT
 * ones), so a taken port is still start's error. */
static int bind_listener(mockapi *m, mk_http *h, int i, char *err, size_t errlen)
{
    mk_listener *li = &m->listeners[i];
    int fd = socket(li->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd >= 0 && li->sa.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, li->dual_stack ? &zero : &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&li->sa, li->salen) != 0 ||
        (li->kind != MK_LISTEN_TLS && listen(fd, 4096) != 0)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return listen_error(m, i, e, err, errlen);
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                               : ((struct sockaddr_in *)&sa)->sin_port);
    h->fd[i] = fd;
    h->port[i] = port;
    return MOCKAPI_OK;
}

/* Hands every bound socket of that kind to the loop, which owns it from
 * then on, and publishes its port. */
static int open_kind(mockapi *m, mk_listener_kind kind, mk_tls_server *tls, char *err,
                     size_t errlen)
{
    mk_http *h = m->http;
    for (int i = 0; i < m->nlisteners; i++) {
        if (m->listeners[i].kind != kind || h->fd[i] < 0)
            continue;
        int fd = h->fd[i];
        /* a TLS socket listens only now, its keys made. Rarely this fails
         * where bind did not: another process bound the same port (with
         * SO_REUSEADDR, not listening yet either) and listened first. */
        if (kind == MK_LISTEN_TLS && listen(fd, 4096) != 0)
            return listen_error(m, i, errno, err, errlen); /* fd closed at stop */
        h->fd[i] = -1; /* mk_loop_listen owns (or closes) it now */
        if (mk_loop_listen(h->loop, i, fd, tls) != 0) {
            snprintf(err, errlen, "cannot listen on %s: the server is stopping", m->listeners[i].shown);
            return MOCKAPI_ELISTEN;
        }
        atomic_store(&m->listeners[i].port, h->port[i]);
    }
    return MOCKAPI_OK;
}

static void close_unopened(mk_http *h)
{
    for (int i = 0; i < MK_MAX_LISTENERS; i++)
        if (h->fd[i] >= 0) {
            close(h->fd[i]);
            h->fd[i] = -1;
        }
}

/* m->region_ctl: region i down or up again on the port it had. */
static int region_ctl(mockapi *m, int region, bool up, char *err, size_t errlen)
{
    mk_listener *li = &m->listeners[region];
    char why[200] = "";
    if (!up) {
        if (mk_loop_listener_down(m->http->loop, region, why, sizeof why) != 0) {
            snprintf(err, errlen, "region %d: %s", region, why);
            return MOCKAPI_ESTATE;
        }
        return MOCKAPI_OK;
    }
    struct sockaddr_storage sa = li->sa;
    int port = atomic_load(&li->port);
    if (sa.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
    if (mk_loop_listener_up(m->http->loop, region, (struct sockaddr *)&sa, li->salen, why, sizeof why) != 0) {
        snprintf(err, errlen, "region %d: cannot listen on %s:%d again: %s", region, li->host, port, why);
        return MOCKAPI_ELISTEN;
    }
    return MOCKAPI_OK;
}

/* The TLS configuration from the certificates (made now if not yet),
 * in m->http->tls. */
static int prepare_tls(mockapi *m, char *err, size_t errlen)
{
    char why[256] = "";
    const mk_tls *certs = mk_tls_job_get(m->tls_job, why, sizeof why);
    if (!certs) {
        snprintf(err, errlen, "TLS certificates: %s", why[0] ? why : "not configured");
        return MOCKAPI_ECRYPTO;
    }
    mk_tls_server *srv = NULL;
    if (mk_tls_server_new(&srv, certs->chain_pem, why, sizeof why) != 0) {
        snprintf(err, errlen, "TLS: %s", why);
        return MOCKAPI_ECRYPTO;
    }
    m->http->tls = srv; /* freed at stop, after the loop that uses it */
    return MOCKAPI_OK;
}

/* The TLS listeners: certificates, the TLS configuration, the sockets. */
static int start_tls(mockapi *m, char *err, size_t errlen)
{
    int rc = prepare_tls(m, err, errlen);
    return rc == MOCKAPI_OK ? open_kind(m, MK_LISTEN_TLS, m->http->tls, err, errlen) : rc;
}

/* A background start's TLS listeners. Their sockets listen as soon as
 * the keys exist: here, or, when mk_http_wait_tls is already waiting, in
 * that waiter's thread once it wakes, so that whoever announces the
 * listener (the mockapi binary's readiness) does so right after the listen,
 * not a thread wake-up later (~0.15 ms measured on a busy 2-core machine). */
static void *tls_starter(void *arg)
{
    mockapi *m = arg;
    mk_http *h = m->http;
    /* the keys first, at the lowest CPU priority: requests on the plain
     * listener, already being served, must not wait for them */
    mk_tls_job_get_low(m->tls_job);
    char err[sizeof h->tls_err] = "";
    int rc = prepare_tls(m, err, sizeof err);
    pthread_mutex_lock(&h->tls_lock);
    h->tls_rc = rc;
    memcpy(h->tls_err, err, sizeof err);
    h->tls_ready = true;
    if (rc == MOCKAPI_OK && !h->tls_claimed) {
        h->tls_rc = open_kind(m, MK_LISTEN_TLS, h->tls, h->tls_err, sizeof h->tls_err);
        h->tls_open = true;
    }
    pthread_cond_broadcast(&h->tls_made);
    pthread_mutex_unlock(&h->tls_lock);
    return NULL;
}

/* A session's state changed (state.h notify): parked waits re-check, and
 * the live page's feeds pull (each at most once per flush). */
static void state_changed(void *arg)
{
    mockapi *m = arg;
    mk_loop_notify(m->http->loop);
    mk_sse_feeds_changed(m->sse);
}

static void free_http(mk_http *h)
{
    pthread_cond_destroy(&h->tls_made);
    pthread_mutex_destroy(&h->tls_lock);
    free(h);
}

int mk_http_start(mockapi *m, bool tls_background, char *err, size_t errlen)
{
    mk_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return MOCKAPI_ENOMEM;
    }
    for (int i = 0; i < MK_MAX_LISTENERS; i++)
        h->fd[i] = -1;
    pthread_mutex_init(&h->tls_lock, NULL);
    pthread_cond_init(&h->tls_made, NULL);
    /* every address first: a taken port fails the start before any thread runs */
    for (int i = 0; i < m->nlisteners; i++) {
        int rc = bind_listener(m, h, i, err, errlen);
        if (rc != MOCKAPI_OK) {
            close_unopened(h);
            free_http(h);
            return rc;
        }
    }
    if (mk_loop_start(&h->loop, m, err, errlen) != 0) {
        close_unopened(h);
        free_http(h);
        return MOCKAPI_ENOMEM;
    }
    mk_sse_config sc = {.keepalive_ms = m->cfg.sse_keepalive_ms, .queue_max = m->cfg.sse_queue_max,
                        .history = m->cfg.sse_history, .max_clients = m->cfg.sse_max_clients,
                        .stall_ms = m->cfg.request_timeout_ms,
                        .notify = mk_loop_notify, .notify_arg = h->loop};
    if (mk_sse_start(&m->sse, &sc, err, errlen) != 0) {
        mk_loop_stop(h->loop);
        mk_loop_free(h->loop);
        close_unopened(h);
        free_http(h);
        return MOCKAPI_ENOMEM;
    }
    m->http = h;
    for (int i = 0; i < m->nlisteners; i++)
        atomic_store(&m->listeners[i].down, false); /* every one bound anew */
    m->region_ctl = region_ctl;
    mk_sessions_set_notify(m, state_changed, m);

    int rc = open_kind(m, MK_LISTEN_HTTP, NULL, err, errlen);
    if (rc == MOCKAPI_OK && m->tls_job) { /* a TLS listener is configured */
        if (tls_background && pthread_create(&h->tls_thread, NULL, tls_starter, m) == 0)
            h->tls_pending = true;
        else
            rc = start_tls(m, err, errlen);
    }
    if (rc != MOCKAPI_OK)
        mk_http_stop(m);
    return rc;
}

/* Waits for the starter thread; with open, sets the TLS sockets listening
 * if the starter left that to us (see tls_starter), else leaves them
 * closed (at stop). */
static int wait_tls(mockapi *m, bool open, char *err, size_t errlen)
{
    mk_http *h = m->http;
    if (!h || !h->tls_pending)
        return MOCKAPI_OK;
    pthread_mutex_lock(&h->tls_lock);
    h->tls_claimed = true;
    while (!h->tls_ready)
        pthread_cond_wait(&h->tls_made, &h->tls_lock);
    if (open && h->tls_rc == MOCKAPI_OK && !h->tls_open) {
        h->tls_rc = open_kind(m, MK_LISTEN_TLS, h->tls, h->tls_err, sizeof h->tls_err);
        h->tls_open = true;
    }
    pthread_mutex_unlock(&h->tls_lock);
    pthread_join(h->tls_thread, NULL); /* it only returns now */
    h->tls_pending = false;
    if (h->tls_rc != MOCKAPI_OK)
        snprintf(err, errlen, "%s", h->tls_err);
    return h->tls_rc;
}

int mk_http_wait_tls(mockapi *m, char *err, size_t errlen)
{
    return wait_tls(m, true, err, errlen);
}

void mk_http_stop(mockapi *m)
{
    mk_http *h = m->http;
    if (!h)
        return;
    char ignored[8];
    wait_tls(m, false, ignored, sizeof ignored); /* a TLS socket not listening yet stays so */
    mk_loop_stop(h->loop); /* no connection is served after this */
    mk_sessions_set_notify(m, NULL, NULL);
    mk_sessions_interrupt(m, true); /* C API waiters return now */
    mk_sse_stop(m->sse);    /* may still notify the (stopped) loop */
    mk_loop_free(h->loop);  /* closes every connection and listener */
    mk_tls_server_free(h->tls);
    close_unopened(h); /* TLS sockets whose keys never came (or came at stop) */
    mk_sessions_interrupt(m, false);
    m->sse = NULL;
    m->http = NULL;
    m->region_ctl = NULL;
    for (int i = 0; i < m->nlisteners; i++)
        atomic_store(&m->listeners[i].port, 0);
    free_http(h);
}
