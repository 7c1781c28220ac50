/* raw_client.h: the raw HTTP/1.1 client of the transport tests
 * (test_transport.c, test_transport2.c): plain sockets or mbedTLS's client
 * over them, non-blocking and polled with a deadline, so that a test decides
 * where every write and TLS record boundary falls (one rc_send_n, at most
 * 16 KiB, is one record).
 *
 * Connections come from a fixed pool that rc_teardown (a cmocka teardown)
 * closes, with the tracked servers and the TLS client configuration, even
 * when a test fails half-way. Deadlines are absolute times on mt_now_ms();
 * the functions without a deadline argument use RC_WAIT_MS from the call.
 * Failures fail the test (cmocka's fail_msg, from the test's thread) unless
 * a function below says it returns them. Nothing sleeps to synchronise except rc_waiters_reach, which polls
 * a counter that has nothing to poll on.
 *
 * Not thread-safe: the pool and the TLS configuration are statics, used
 * from the test's thread only. */
#ifndef MT_RAW_CLIENT_H
#define MT_RAW_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/ssl.h>

#include "harness.h"

#define RC_WAIT_MS 5000  /* deadline for things that take microseconds */
#define RC_MAX_CONNS 160 /* the pool (tr2_many_idle_reused holds 88 at once) */

#define RC_PING "GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n"
#define RC_PING_LEN (sizeof RC_PING - 1)
/* The TLS listener has no /v1/ping (and no /test/wait): its cheapest GET. */
#define RC_TLS_PING "GET /test/assertions HTTP/1.1\r\nHost: x\r\n\r\n"

/* A valid heartbeat body (as in test_keepalive.c): 200, heartbeat_count + 1. */
#define RC_HB_BODY                                                                                 \
    "{\"node_id\":\"n1\",\"timestamp\":\"2025-01-01T00:00:00Z\",\"status\":\"healthy\","           \
    "\"binary_checksum\":\"abc\",\"mesh\":{\"interface\":\"wg0\",\"peer_count\":2,"                \
    "\"listen_port\":51820},\"nat\":{\"public_endpoint\":\"198.51.100.1:51820\","                  \
    "\"type\":\"full_cone\"}}"
#define RC_HB_PATH "/v1/nodes/n1/heartbeat"

/* ---- the TLS client configuration ---------------------------------------- */

/* Sets up the TLS client configurations once (until rc_teardown): a no-op
 * when already done. Fails the test if mbedTLS refuses. No deadline. */
void rc_tls_init(void);
/* The configuration for a normal client: any version the build has, no
 * certificate verification (the transport is under attack, not the chain).
 * Calls rc_tls_init. */
mbedtls_ssl_config *rc_tls_conf(void);
/* The attacker's: TLS 1.2 at most, renegotiation on where mbedTLS has it.
 * Calls rc_tls_init. */
mbedtls_ssl_config *rc_tls_conf_reneg(void);

/* mbedTLS's send callback over the non-blocking socket whose fd ctx points
 * to: bytes sent, WANT_WRITE when it would block (no waiting here: the
 * caller polls, with its own deadline), CONN_RESET on any other error. */
int rc_bio_send(void *ctx, const unsigned char *buf, size_t len);
/* The receive callback likewise: bytes read (0 at EOF), WANT_READ when
 * nothing is there yet, CONN_RESET on any other error. */
int rc_bio_recv(void *ctx, unsigned char *buf, size_t len);

/* ---- connections --------------------------------------------------------- */

typedef struct rc_conn {
    bool used;
    int fd; /* non-blocking; -1 when closed */
    bool tls;
    bool ssl_init;
    mbedtls_ssl_context ssl;
    unsigned char *buf; /* received, not consumed, NUL-terminated */
    size_t len, cap;
    bool eof; /* the server closed (EOF, reset, close_notify) */
} rc_conn;

/* Closes c (TLS state, socket, buffer) and returns its slot to the pool;
 * NULL or an unused slot is a no-op. Sends nothing (no close_notify). */
void rc_close(rc_conn *c);

/* A cmocka teardown: closes every pooled connection, frees the tracked
 * servers (mt_server_free_tracked_all) and the TLS configurations.
 * Returns 0. */
int rc_teardown(void **state);

/* Waits until fd is ready for ev (poll events) or the deadline passes:
 * 1 ready, 0 not (also on a poll error other than EINTR). */
int rc_wait_fd(int fd, short ev, int64_t deadline);

/* A connection from the pool to 127.0.0.1:port, non-blocking, TCP_NODELAY,
 * no request sent (the connect itself is mt_connect_rcvbuf's, blocking).
 * TLS: handshaken with conf by RC_WAIT_MS from the connect, or only
 * connected (ssl not set up) when conf is NULL and tls is true.
 * rcvbuf > 0 sets SO_RCVBUF before connecting (a small window: the
 * server's writes block soon). Fails the test on a connect or handshake
 * error, at the deadline, or when the pool is exhausted. */
rc_conn *rc_connect_with(int port, bool tls, mbedtls_ssl_config *conf, int rcvbuf);
/* The same with rc_tls_conf() for TLS and the default receive buffer. */
rc_conn *rc_connect(int port, bool tls);

/* Sends all of p (TLS: in records of at most 16 KiB, one per call of
 * mbedtls_ssl_write). 0, or -1 when the server has gone; fails the test
 * when p has not all gone by RC_WAIT_MS from the call (one deadline for the
 * whole of p, not renewed by progress). */
int rc_send_n(rc_conn *c, const void *p, size_t n);
/* rc_send_n of the string s; fails the test when the server has gone. */
void rc_send(rc_conn *c, const char *s);

/* Reads what arrives, once, waiting until the deadline: 1 bytes appended to
 * c->buf, 0 the deadline passed, -1 the server closed (EOF, reset,
 * close_notify or a fatal alert; c->eof set, and -1 at once thereafter). */
int rc_fill(rc_conn *c, int64_t deadline);

/* ---- responses ----------------------------------------------------------- */

typedef struct rc_resp {
    int status;
    char *head; /* through the blank line */
    unsigned char *body;
    size_t body_len;
} rc_resp;

/* Frees r's head and body and zeroes it. */
void rc_resp_free(rc_resp *r);

/* Whether r's head has "Connection: close". */
bool rc_says_close(const rc_resp *r);

/* Reads one response off c by the deadline (Content-Length framing: every
 * answer of mockapi with a body has one; 1xx, 204 and 304 have none; bytes
 * after it stay buffered). Returns its status, with *r filled (free it with
 * rc_resp_free); 0 on the deadline or a close first. Fails the test when
 * what came is not an HTTP response. */
int rc_read(rc_conn *c, int64_t deadline, rc_resp *r);

/* One response by RC_WAIT_MS from the call, with status want, into *r (free
 * it with rc_resp_free); otherwise fails the test, showing the unparsed
 * bytes. */
void rc_expect_status(rc_conn *c, rc_resp *r, int want, const char *what);
/* The same, also requiring the body to be exactly the string body. */
void rc_expect_exact(rc_conn *c, int want, const char *body, const char *what);

/* Sends a cheap request on c (/v1/ping plain, /test/assertions TLS) as
 * rc_send does and expects its 200 by RC_WAIT_MS from the send's end
 * (plain: with body "{}\n"). */
void rc_ping(rc_conn *c, const char *what);

/* n answers to pings on c, in order, each by RC_WAIT_MS from its own read. */
void rc_expect_pings(rc_conn *c, int n, const char *what);

/* Fails the test if anything (bytes or the close) arrives on c within ms:
 * the server is still waiting (or holding). Also fails at once when mbedTLS
 * already holds decrypted bytes for c. */
void rc_expect_quiet(rc_conn *c, int ms, const char *what);

/* Reads until the server closes c or the deadline passes: whether it
 * closed. What came before the close is kept in c->buf. */
bool rc_closed_by(rc_conn *c, int64_t deadline);
/* rc_closed_by with RC_WAIT_MS from the call; fails the test on timeout. */
void rc_expect_closed(rc_conn *c, const char *what);

/* ---- servers ------------------------------------------------------------- */

/* The port of s's plain listener (read from the instance, no deadline). */
int rc_http_port(const mt_server *s);
/* The port of s's TLS listener (started with tls, see rc_start). */
int rc_tls_port(const mt_server *s);
/* rc_tls_port when tls, else rc_http_port. */
int rc_port_of(const mt_server *s, bool tls);

/* Starts s, tracked (freed by rc_teardown), with a TLS listener on
 * 127.0.0.1:0 when tls (cfg->tls_addr is set); fails the test if it does
 * not start. No deadline of its own (it returns once mockapi_start does). */
void rc_start(mt_server *s, mockapi_config *cfg, bool tls);

/* A fresh connection (rc_connect) is served rc_ping's request, then closed:
 * the server is healthy. Each step has its own RC_WAIT_MS (handshake, send,
 * answer). */
void rc_healthy(mt_server *s, bool tls, const char *what);

/* The number of waits the state counts (blocking and parked ones), read
 * once, at once. */
int rc_waiters(const mt_server *s);
/* Waits until rc_waiters(s) == n or the deadline (polled each millisecond:
 * the count moves on a loop thread, with nothing to poll on): whether it
 * got there. */
bool rc_waiters_reach(const mt_server *s, int n, int64_t deadline);
/* The same for the live-page feeds following default (state.h `feeds`). */
int rc_feeds(const mt_server *s);
bool rc_feeds_reach(const mt_server *s, int n, int64_t deadline);

/* ---- requests ------------------------------------------------------------ */

/* printf into a malloc'd string (free() it); fails the test when out of
 * memory. */
char *rc_fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* n pings (RC_TLS_PING when tls, else RC_PING) in one malloc'd string. */
char *rc_pings_for(bool tls, int n);
/* n plain pings. */
char *rc_pings(int n);

#endif
