/* strict_client.h: what the strict profile's tests (test_strict.c, sp_*,
 * and test_strict_attack.c, spa_*) do to a server, in one place: requests
 * on fresh raw connections (raw_client.h), heartbeat bodies, node
 * registration, the journal's newest entry, and event streams opened with a
 * node's key (sse_client.h).
 *
 * Every wait has a deadline of SC_WAIT_MS from its start. Failures fail the
 * test (cmocka's fail_msg) unless a function below says it returns them.
 * Not thread-safe unless stated: the raw client's connection pool is
 * static; sc_wall_rfc3339 and sc_hb_body may be called from any thread. */
#ifndef MT_STRICT_CLIENT_H
#define MT_STRICT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "harness.h"
#include "raw_client.h"
#include "sse_client.h"

enum { SC_WAIT_MS = 15000 };

#define SC_SUM "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" /* SHA-256 of "" */
#define SC_PK1 "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" /* a valid WireGuard key */
#define SC_PK2 "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=" /* another */
/* The bootstrap token sc_reg sends: test_strict.c's servers with
 * -bootstrap-token list it; a server without the flag takes any token. */
#define SC_BOOT "bt-good-1"

/* A registered node: its id, its key, and the header line that sends it. */
typedef struct sc_node {
    char id[64];
    char nsk[64];
    char auth[128]; /* "Authorization: Bearer <nsk>\r\n" */
} sc_node;

/* ---- time and bodies ------------------------------------------------------ */

/* The wall clock + delta_ms as RFC 3339 UTC with milliseconds
 * ("2026-12-06T20:45:00.123Z"), the form the mock writes. Thread-safe. */
void sc_wall_rfc3339(int64_t delta_ms, char out[40]);

/* A valid heartbeat body (client_now the wall clock, SC_SUM, version
 * 1.2.3), malloc'd: free() it. Thread-safe. */
char *sc_hb_body(void);

/* ---- requests ------------------------------------------------------------- */

/* One request on a fresh plain connection to s: hdrs is zero or more
 * complete header lines ("Name: value\r\n") or NULL, body blen bytes (NULL:
 * no Content-Length). The response in *r (rc_resp_free it); its status
 * returned. Fails the test, showing what came, when no response comes. */
int sc_rq_n(const mt_server *s, const char *method, const char *path, const char *hdrs, const void *body,
            size_t blen, rc_resp *r);
/* sc_rq_n with the string body (NULL: none). */
int sc_rq(const mt_server *s, const char *method, const char *path, const char *hdrs, const char *body,
          rc_resp *r);
/* sc_rq with the response dropped: the status. */
int sc_call(const mt_server *s, const char *method, const char *path, const char *hdrs, const char *body);

/* The value of the first header called name in r's head (case-insensitive
 * name; the value trimmed of spaces and tabs, cut to n - 1 bytes) in out;
 * NULL when r has none. *count (when count is not NULL) receives how many
 * headers of that name there are. */
const char *sc_hdr(const rc_resp *r, const char *name, char *out, size_t n, int *count);

/* The reason phrase of r's status line ("" when it has none). */
void sc_reason(const rc_resp *r, char out[64]);

/* r's body parsed as JSON (json_decref it); fails the test when it is not. */
json_t *sc_body_json(const rc_resp *r);

/* GET path with header lines hdrs (or NULL): fails unless 200; the JSON
 * body (json_decref it). */
json_t *sc_get_json(const mt_server *s, const char *path, const char *hdrs);

/* The newest journal entry of route (GET /test/requests?route=R&last=1,
 * with header lines hdrs, e.g. an admin token, or NULL), json_decref it;
 * fails when there is none. */
json_t *sc_last_entry(const mt_server *s, const char *hdrs, const char *route);

/* ---- servers, sessions and nodes ------------------------------------------- */

/* rc_start of s with cfg (mt_config_init'd by the caller) in the strict
 * profile, plain listener only. */
void sc_strict_start(mt_server *s, mockapi_config *cfg);
/* A strict server with the default configuration. */
void sc_strict_server(mt_server *s);
/* The same with a TLS listener too (rc_start's tls). */
void sc_strict_tls(mt_server *s);

/* POST /test/sessions with body: its status, and on 200 or 201 the new
 * session's id in id (else id is ""). */
int sc_session(const mt_server *s, const char *body, char id[64]);

/* Whether s is a lower-case UUID (8-4-4-4-12 hex digits). */
bool sc_is_uuid(const char *s);

/* id with its hex letters in upper case (the same node to every route). */
void sc_upper_id(const char *id, char out[64]);

/* POST pre/v1/register (pre: "" or a session's "/s/ID") with the bootstrap
 * token token, SC_PK1 and hostname host: the status (safe from any thread
 * that may fail the test, as sc_rq); n (when not NULL) filled on 200. */
int sc_register(const mt_server *s, const char *pre, const char *token, const char *host, sc_node *n);
/* sc_register with SC_BOOT and hostname "h1"; fails, showing the body,
 * unless 200 with a lower-case UUIDv7 id and a 32-character [A-Za-z0-9]
 * key. */
void sc_reg(const mt_server *s, const char *pre, sc_node *n);
/* sc_strict_server, then each sc_node * after s, up to a NULL, sc_reg'd
 * in the default session, in order. */
void sc_strict_nodes(mt_server *s, ...);

/* ---- event streams ---------------------------------------------------------- */

/* POST /test/inject-event of a node_state_updated event whose event_id is
 * id (nonce "n-<id>") to every stream: fails unless 204. */
void sc_inject(const mt_server *s, const char *id);

/* GET pre/test/sse/wait?clients=N&timeout_ms=10000 (the hub counts N open
 * streams): fails unless 200. */
void sc_sse_wait(const mt_server *s, const char *pre, int clients);

/* sse_open of path on s's plain listener with n's key and, when extra is
 * not NULL, the header line extra (no CRLF): the status (0 or -1 as
 * sse_open); c must be sse_close'd either way. */
int sc_events_open(sse_client *c, const mt_server *s, const char *path, const sc_node *n, const char *extra);

/* Reads frames from c until one whose data holds marker (NULL: the first
 * frame); the first max frames' ids ("" when none) in ids and their data's
 * event_id ("" when none) in evs. The number kept. Fails the test at the
 * deadline or when the stream ends first. */
int sc_collect_until(sse_client *c, const char *marker, char ids[][32], char evs[][32], int max);

/* Opens n's stream in the default session (/v1/nodes/ID/events) with its
 * key (and extra, as sc_events_open; fails unless 200), waits until the hub
 * counts it (the only stream), injects the events evids[0..nev) in order
 * (sc_inject), and collects frames until the last of them
 * (sc_collect_until); closes the stream. The number kept. */
int sc_stream_injected(const mt_server *s, const sc_node *n, const char *extra, const char *const *evids, int nev,
                       char ids[][32], char evs[][32], int max);

#endif
