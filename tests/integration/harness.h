/* harness.h: what every integration test shares. An instance on
 * 127.0.0.1:0 (never a fixed port), one-request-at-a-time HTTP through
 * libcurl with the response parsed into status, headers and body bytes, gzip,
 * golden files, and clock and socket helpers that wait on a condition with a
 * deadline instead of sleeping.
 *
 * Nothing here is thread-safe except mt_perform() on distinct CURL handles
 * and the pure helpers (mt_gzip, mt_subst, mt_assertion_value, clocks). */
#ifndef MT_HARNESS_H
#define MT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "mockapi.h"

/* ---- test groups (one per tests/integration/test_*.c) ------------------- */

int mt_run_case_tests(void);
int mt_run_direct_case_tests(void); /* the same cases through mk_dispatch, no sockets */
int mt_run_api_tests(void);
int mt_run_concurrency_tests(void);
int mt_run_robustness_tests(void);
int mt_run_keepalive_tests(void);
int mt_run_stream_tests(void);
int mt_run_availability_tests(void);
int mt_run_transport_tests(void); /* attacks on the event-loop transport (tr_*) */
int mt_run_transport2_tests(void); /* its read buffer, idle release, waits (tr2_*) */
int mt_run_memory_tests(void); /* bounded memory under non-reading clients (mem_*) */
int mt_run_admin_tests(void); /* the admin token and start-up guards (adm_*) */
int mt_run_framing_tests(void);    /* strict request framing (fr_*) */
int mt_run_stats_tests(void);      /* GET /test/stats (sp_*) */
int mt_run_journal_tests(void);    /* hostile journal filters and incremental waits (jr_*) */
int mt_run_fault_tests(void);      /* faults on the wire, X-Mockapi-Fault (flt_*) */
int mt_run_ssefault_tests(void);   /* stream faults, adversarial events, disconnect (sf_*) */
int mt_run_regions_tests(void);    /* several plain listeners, down and up (rg_*) */
int mt_run_fault_rule_tests(void); /* faults decided: header, rules, configuration (rul_*) */
int mt_run_fault_api_tests(void);  /* the fault and region C API used wrongly (fapi_*) */
int mt_run_session_tests(void);    /* sessions: selectors, isolation, lifecycle, C API (ses_*) */
int mt_run_session_attack_tests(void); /* sessions attacked: selectors, waits, TTL, cap, storms (sat_*) */
int mt_run_page_tests(void);       /* the live page: feed, page, guard, admin cookie (pg_*) */
int mt_run_strict_tests(void);     /* the strict profile: taxonomy, auth order, flows (sp_*) */
int mt_run_strict_attack_tests(void); /* the strict profile attacked (spa_*) */
int mt_run_ca_dir_tests(void);     /* one CA for many instances: tls_ca_dir, tls_sans (cad_*) */

/* ---- instances ---------------------------------------------------------- */

typedef struct mt_server {
    mockapi *m;
    char base[128];     /* "http://127.0.0.1:41234" */
    char tls_base[128]; /* "https://..." or "" when there is no TLS listener */
    char key[64];       /* the signing public key, base64 */
} mt_server;

/* mockapi_config_init() plus a log sink that drops server logs unless the
 * environment variable MOCKAPI_IT_LOG is set (then they go to stderr). */
void mt_config_init(mockapi_config *cfg);

/* Creates and starts an instance (cfg NULL: mt_config_init defaults).
 * Returns 0, or the mockapi error code after printing errbuf to stderr; on
 * failure *s is left zeroed and nothing needs freeing. */
int mt_server_start(mt_server *s, const mockapi_config *cfg);
/* Stops and frees; s may be zeroed or already freed. */
void mt_server_free(mt_server *s);

/* The same, registered so that mt_server_free_tracked_all (a teardown) still
 * stops it when a test fails half-way (cmocka longjmps out of the test): a
 * failure then leaves no worker threads and sockets behind to disturb the
 * tests after it. Up to 8 at a time; mt_server_untrack_free ends one. */
int mt_server_start_tracked(mt_server *s, const mockapi_config *cfg);
void mt_server_untrack_free(mt_server *s);
void mt_server_free_tracked_all(void);

/* ---- HTTP --------------------------------------------------------------- */

typedef struct mt_header {
    char *name;
    char *value;
} mt_header;

typedef struct mt_response {
    long status;             /* 0 when no response arrived */
    mt_header *headers;      /* of the final response only (a 100 is dropped) */
    size_t nheaders;
    unsigned char *body;     /* NUL-terminated for convenience; never NULL after perform */
    size_t len;
    CURLcode rc;             /* the transfer's result */
    char error[CURL_ERROR_SIZE];
} mt_response;

typedef struct mt_request {
    const char *method;          /* "GET", "HEAD" (sent with CURLOPT_NOBODY), ... */
    const char *path;            /* sent as is: no dot squashing, no re-encoding */
    const char *const *headers;  /* "Name: value"; "Name:" removes a curl default */
    size_t nheaders;
    const void *body;            /* with send_body: the body (may be empty) */
    size_t body_len;
    bool send_body;
    bool gzip;                   /* compress the body, add Content-Encoding: gzip */
    long timeout_ms;             /* whole transfer; 0 means 15000 */
    bool insecure;               /* TLS: skip certificate and host verification */
    const char *ca_pem;          /* TLS: trust only this CA (PEM); NULL: system store */
} mt_request;

/* Performs one request on h (NULL: a temporary handle), reusing h's open
 * connection when there is one (curl_easy_reset keeps the cache). Never
 * fails the test itself: transport errors land in resp->rc. Returns 0 when
 * a response arrived, -1 otherwise. resp is always initialised; release it
 * with mt_response_free. Thread-safe for distinct handles. */
int mt_perform(CURL *h, const char *base, const mt_request *req, mt_response *resp);

/* Shorthands: body NULL sends none. */
int mt_get(CURL *h, const char *base, const char *path, mt_response *resp);
int mt_send(CURL *h, const char *base, const char *method, const char *path, const char *body,
            mt_response *resp);

/* Case-insensitive lookup of the first header called name; NULL if absent. */
const char *mt_header_get(const mt_response *r, const char *name);
void mt_response_free(mt_response *r);

/* ---- bytes, files, goldens ---------------------------------------------- */

/* gzip (RFC 1952, mtime 0) of in[0..n); *out owned by caller (free()).
 * Deterministic for equal input. Returns 0 or -1. */
int mt_gzip(const void *in, size_t n, unsigned char **out, size_t *outn);

/* Reads a whole file; *out NUL-terminated, free() it. Returns 0 or -1. */
int mt_read_file(const char *path, unsigned char **out, size_t *n);

/* Copy of in with every {{SIGNING_PUBLIC_KEY_B64}} replaced by key
 * (NUL-terminated, free() it); NULL on ENOMEM. */
unsigned char *mt_subst(const void *in, size_t n, const char *key, size_t *outn);

/* tests/cases/golden/<name>.body with the key substituted. 0 or -1. */
int mt_golden(const char *name, const char *key, unsigned char **out, size_t *n);

/* The value of "name":<int> in a /test/assertions body. 0 or -1. */
int mt_assertion_value(const void *body, size_t len, const char *name, int64_t *out);

/* A printable, escaped rendering of bytes for failure messages (at most
 * about 600 characters, with a "..." marker); free() it. */
char *mt_show(const void *p, size_t n);

/* JSON for the tests that read the server's answers (jansson): a parsed
 * body (a test failure naming the byte when it is not JSON, duplicate
 * keys refused), and an object's integer or string member (a failure when
 * missing or of another type). */
#include <jansson.h>
json_t *mt_parse_json(const void *p, size_t n);
json_int_t mt_jint(const json_t *o, const char *key);
const char *mt_jstr(const json_t *o, const char *key);

/* Monotonic milliseconds. */
int64_t mt_now_ms(void);

/* ---- raw sockets -------------------------------------------------------- */

/* A blocking TCP connection to 127.0.0.1:port; -1 on failure. */
int mt_connect(int port);
/* The same with SO_RCVBUF set to rcvbuf before connecting (0: the default);
 * set before connect, it also bounds the TCP window the peer sees. */
int mt_connect_rcvbuf(int port, int rcvbuf);
/* Writes all of p; 0 or -1. */
int mt_send_all(int fd, const void *p, size_t n);
/* Reads until the peer closes (EOF or reset) or deadline_ms (mt_now_ms()
 * scale) passes. Appends what arrived to *buf and *len (free() *buf).
 * Returns 1 on close, 0 on deadline, -1 on another error. */
int mt_read_until_close(int fd, int64_t deadline_ms, unsigned char **buf, size_t *len);

/* Tests whose assertions bound wall-clock time call this first: it skips
 * them when MOCKAPI_IT_NO_TIMING is set (the valgrind run, where everything
 * is 20-50x slower; the release, ASan and TSan runs enforce the bounds). */
void mt_timing_test(void);
/* Whether wall-clock bounds are enforced (false in the valgrind run): for a
 * test whose other assertions hold everywhere. */
bool mt_timing_on(void);

#endif
