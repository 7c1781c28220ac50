/* server.h: the mockapi instance as the modules see it (internal).
 *
 * One struct lists all shared state and what protects it:
 *  - cfg, strings, keys, tls, fx, listeners[] but .port: immutable after create.
 *  - def, sessions: the per-test state objects; their own locks
 *    (session.h, state.h).
 *  - listeners[].port, http, sse: written by start/stop only, which the
 *    public API says must not race with other calls on the instance. */
#ifndef MK_SERVER_H
#define MK_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "crypto.h"
#include "fixtures.h"
#include "mockapi.h"
#include "router.h"
#include "state.h"
#include "session.h"
#include "certs.h"

/* Regions (README "Regions"): the plain listeners are regions 0..n-1, at
 * most MK_MAX_REGIONS (fault.h's region=0..31 names each); the TLS
 * listener, after them, is none. */
enum { MK_MAX_REGIONS = 32, MK_MAX_LISTENERS = MK_MAX_REGIONS + 1 };

typedef struct mk_listener {
    mk_listener_kind kind;
    struct sockaddr_storage sa; /* the address to bind (port 0: any free port) */
    socklen_t salen;
    bool dual_stack;   /* an IPv6 wildcard that also takes IPv4 (":port") */
    char host[64];     /* as printed: "127.0.0.1", "[::1]", "[::]" */
    char shown[80];    /* the address as the user gave it, for messages */
    bool wildcard;     /* bound to every interface */
    bool loopback;     /* bound to a loopback address (127/8, ::1) */
    atomic_int port;   /* bound port once started, else 0 (a TLS port may be
                        * set by a background start while requests run) */
    int region;        /* index among the plain listeners; -1: TLS */
    atomic_bool down;  /* a region taken down (POST /test/regions/{i}/down):
                        * not accepting; port kept for /up */
} mk_listener;

/* The transport statistics, one list for the struct, GET /test/stats and
 * the README: name, what it counts. */
#define MK_TSTATS(X)                                                                         \
    X(accepted, "connections accepted, plain and TLS")                                       \
    X(closed, "connections closed, by either side")                                          \
    X(streams, "connections handed to the event-stream hub (/test/sse counts them on)")     \
    X(refused_400, "heads the framing refused with 400 (bad syntax, smuggling forms)")       \
    X(refused_431, "heads refused with 431 (over -max-header-bytes or 64 fields)")           \
    X(refused_501, "heads refused with 501 (a transfer coding other than chunked)")          \
    X(refused_505, "heads refused with 505 (an HTTP version other than 1.x)")                \
    X(timeout_handshake, "TLS handshakes not finished within -request-timeout-ms")           \
    X(timeout_request, "requests (head or body) not finished within -request-timeout-ms")    \
    X(timeout_idle, "idle connections closed after -request-timeout-ms")                     \
    X(timeout_write, "clients that took none of their response for -request-timeout-ms")    \
    X(out_refused, "responses refused with 503 over -max-buffered-bytes")                     \
    X(accept_paused, "times accepting paused for 100 ms (out of file descriptors)")

typedef struct mk_http mk_http; /* the transport (src/transport/http.c) */
typedef struct mk_sse_hub mk_sse_hub;

struct mockapi {
    mockapi_config cfg; /* string fields point at the owned copies below */
    char *addr, *tls_addr, *fixtures_dir, *key_file, *allow_hosts, *bootstrap_tokens;
    mk_keys keys;
    mk_tls_job *tls_job; /* certificates (made when first needed) when a TLS listener is configured */
    mk_fixtures fx;
    /* The sessions (session.h): `def` is "default", the server as it was
     * before sessions; the table holds the others. */
    mk_session *def;
    mk_session_table sessions;
    /* The -fault rules as given (owned copies): every new session
     * installs them, as create installed them in default. */
    char **flag_faults;
    size_t nflag_faults;
    mk_listener listeners[MK_MAX_LISTENERS];
    int nlisteners;
    int nregions;     /* plain listeners (listeners[0..nregions)); the TLS one follows */
    bool regions_on;  /* cfg.regions or several plain addresses: responses name their region */
    char **region_addrs; /* owned copies of cfg.region_addrs */
    /* Takes region i down (up false) or up again; set by the transport
     * while started (NULL otherwise), so the request path (core) can reach
     * the listeners (transport). MOCKAPI_* code, reason in err. */
    int (*region_ctl)(mockapi *m, int region, bool up, char *err, size_t errlen);
    bool has_admin;   /* cfg.admin_token set: /test/ routes need it */
    unsigned char admin_hash[32]; /* SHA-256 of the token (compared, never the token) */
    mk_http *http;    /* NULL when not started */
    mk_sse_hub *sse;  /* event streams; set while started */
    /* The bound on buffered output (cfg.max_buffered_bytes): bytes held
     * for writing now, over every connection (atomic; the transport adds
     * and subtracts, the request path reads it to refuse large responses),
     * and how many responses were refused for it (atomic, statistics). */
    atomic_size_t out_held;
    atomic_llong out_refused_logged; /* mk_mono_ms of the last log line about it */
    /* What happened to connections that no counter of the contract shows
     * (GET /test/stats): atomics, bumped by the transport and the request
     * path, never reset (they describe the process, not a test). */
    struct {
#define MK_TSTAT_FIELD_(name, what) atomic_ullong name;
        MK_TSTATS(MK_TSTAT_FIELD_)
#undef MK_TSTAT_FIELD_
    } tstats;
};

/* Bumps one of m->tstats. */
#define mk_tstat_inc(m, name) atomic_fetch_add_explicit(&(m)->tstats.name, 1, memory_order_relaxed)

/* Logs one line through cfg.log (or stderr). printf-style. */
void mk_log(const mockapi *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
