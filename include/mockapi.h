/* mockapi.h: libmockapi, an in-process test double of the node-agent
 * control plane (the "Central API" of plexd's end-to-end tests).
 *
 * A test creates an instance from a config, starts it (port 0 is fine: read
 * the bound port back), points the agent under test at mockapi_base_url(),
 * then reads counters and captured request bodies through this API. Every
 * instance has its own state; many may run in one process.
 *
 * Conventions
 *  - Errors: functions return 0 (MOCKAPI_OK) or a negative MOCKAPI_E* code;
 *    mockapi_strerror() names it. Set-up calls take an optional error buffer
 *    (errbuf may be NULL) that receives a one-line reason. A failing call
 *    leaves its inputs and the instance unchanged.
 *  - Ownership: pointers passed in are borrowed for the duration of the
 *    call unless stated. Buffers handed out are owned by the caller and are
 *    released with mockapi_free_buf().
 *  - Thread-safety: unless stated otherwise, functions that take a started
 *    instance may be called from any thread at the same time as requests are
 *    being served. create/start/stop/free of one instance must not race with
 *    each other or with other calls on that instance.
 */
#ifndef MOCKAPI_H
#define MOCKAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------ */

/* The one version string: the binaries' -version/--version, /test/health,
 * the readiness line, mockapi.pc and the .deb all read it from here
 * (ci/install.sh and ci/deb.sh with sed, so keep it on one line). */
#define MOCKAPI_VERSION "0.18.0"

/* MOCKAPI_VERSION as the library was built: a program compiled against
 * another header can tell. Static, never NULL. */
const char *mockapi_version(void);

/* ---- errors ------------------------------------------------------------- */

enum {
    MOCKAPI_OK = 0,
    MOCKAPI_EINVAL = -1,    /* invalid argument or configuration value */
    MOCKAPI_ENOMEM = -2,    /* out of memory */
    MOCKAPI_ELISTEN = -3,   /* a listener could not be bound */
    MOCKAPI_ESTATE = -4,    /* wrong lifecycle state (start twice, not started, ...) */
    MOCKAPI_ENOTFOUND = -5, /* no such counter, capture key or listener */
    MOCKAPI_EIO = -6,       /* reading or writing a file failed */
    MOCKAPI_EJSON = -7,     /* the JSON is not a valid value of the expected type */
    MOCKAPI_ECRYPTO = -8,   /* a key or crypto operation failed */
    MOCKAPI_ETIMEDOUT = -9, /* a wait ended before its condition held */
    MOCKAPI_EFULL = -10,    /* a limit is reached (max_sessions): nothing was evicted */
    MOCKAPI_EEXIST = -11,   /* the name is taken (a session id) */
};

/* A static, human-readable name for an error code; never NULL. */
const char *mockapi_strerror(int err);

/* ---- configuration ------------------------------------------------------ */

/* How the agent-facing routes answer (README "The strict profile").
 * REFERENCE: as the reference mock, byte for byte. STRICT: as the
 * production mesh API: problem+json errors, NSK bearer auth, body caps,
 * clock skew, key rotation and reachability with state. */
typedef enum mockapi_profile { MOCKAPI_PROFILE_REFERENCE = 0, MOCKAPI_PROFILE_STRICT = 1 } mockapi_profile;

typedef struct mockapi_config {
    /* Plain-HTTP listener, "host:port", "[v6]:port" or ":port" (all
     * interfaces, dual-stack). Port 0 picks a free port.
     * Default "127.0.0.1:0" (loopback only). */
    const char *addr;
    /* TLS listener in the same forms, or NULL for none. Default NULL. The
     * mockapi binary defaults it to "127.0.0.1:8443" (the reference: ":8443",
     * every interface). */
    const char *tls_addr;
    /* When set (1 to 1024 visible ASCII characters, no spaces), every
     * /test/ route on every listener needs "Authorization: Bearer <token>"
     * or "X-Mockapi-Admin-Token: <token>"; otherwise 401 with
     * WWW-Authenticate. Compared in constant time, never logged; the
     * journal keeps only a fingerprint of either header. NULL (default):
     * /test/ routes are open on the plain listener, and on a TLS listener
     * only when it is bound to loopback (403 on another address). */
    const char *admin_token;
    /* Directory whose files override the embedded fixtures of the same name
     * (register.json, heartbeat.json, state.json, metadata.json,
     * key_rotate.json, endpoint.json; artifact.bin). It must exist, and every
     * file in it (dot-files aside) must have one of those names: anything
     * else is refused at create (EINVAL, with the known names and the
     * nearest one). NULL: embedded only. */
    const char *fixtures_dir;
    /* File holding the 32-byte Ed25519 seed. If it exists it is used, so the
     * signing key survives restarts; if not, a fresh seed is written there
     * (mode 0600). NULL: a fresh key on every start, like the reference. */
    const char *signing_key_file;
    /* Largest request body accepted as sent on the wire; larger gets 413.
     * Default 1 MiB (1048576). */
    size_t max_body_bytes;
    /* Largest body after gzip decoding; a larger result (a gzip bomb) gets
     * 413. Default 8 MiB. */
    size_t max_decoded_bytes;
    /* Largest request head (request line + headers); default 16384. */
    size_t max_header_bytes;
    /* A client that stays silent this long while sending a request, or
     * between keep-alive requests, is disconnected. Default 10000 ms. */
    unsigned request_timeout_ms;
    /* At most this many event-loop threads, which serve every connection
     * (plain and TLS) from accept on; no connection holds a thread of its
     * own. The loop uses one thread per CPU, at most 4, and fewer when this
     * says so. Default 64 (no further limit); 1..10000. */
    unsigned threads;
    /* SSE keep-alive comment interval; default 15000 ms. */
    unsigned sse_keepalive_ms;
    /* Events queued per stream client before newer ones are dropped (and
     * counted); default 16, as the reference. */
    unsigned sse_queue_max;
    /* Events kept for Last-Event-ID replay; default 64. */
    unsigned sse_history;
    /* Open event streams allowed; more get 503. Streams hold no thread
     * each. Default 1024 (each needs a file descriptor). */
    unsigned sse_max_clients;
    /* Request journal bounds: entries (0 turns the journal off; default
     * 10000) and bytes (default 64 MiB). The oldest go first, counted. */
    size_t journal_max_entries;
    size_t journal_max_bytes;
    /* Bound on output held for writing, summed over every connection: the
     * bytes a connection owns for a response its client has not taken yet
     * (heads, bodies built per request, a journal listing's current piece)
     * plus each shared body (a capture, a fixture) being written, counted
     * once however many clients take it. Past it, a new response whose body
     * is 64 KiB or more gets 503 (small answers still go out). A client
     * whose pending output makes no progress for request_timeout_ms is
     * disconnected, which frees its share. 0: the default, 64 MiB. */
    size_t max_buffered_bytes;
    /* Fault rules for the life of the instance, as the binary's -fault
     * flag gives them: nfaults strings "[METHOD ]ROUTE: SPEC", ROUTE a
     * route name ("heartbeat") or a path glob ("/v1/nodes/{id}/heartbeat" with a star for {id}),
     * SPEC the fault grammar (README "Faults"), e.g. "heartbeat:
     * status=503; first=2". They come after the rules of /test/faults and
     * mockapi_fault_add, survive POST /test/reset (their counts start
     * over) and cannot be deleted. A bad one fails create (EINVAL, errbuf
     * names it). Copied at create. NULL/0: none. */
    const char *const *faults;
    size_t nfaults;
    /* Log sink for one line at a time (no newline). NULL: stderr. Called
     * from server threads; must be thread-safe. */
    void (*log)(void *user, const char *line);
    void *log_user;
    /* Regions (README "Regions"): several plain listeners, each a region
     * numbered from 0 (addr is region 0), so an agent's failover between
     * control-plane endpoints can be tested. Either
     *  - regions: N (1..32) listeners on addr's host: with addr's port 0,
     *    each on a free port of its own; otherwise on ports port, port+1,
     *    ... port+N-1; or
     *  - region_addrs: nregion_addrs more addresses (same forms as addr),
     *    regions 1..nregion_addrs (at most 31).
     * Not both. With either, every response on a plain listener carries
     * "X-Mockapi-Region: <i>" and the journal records the region; with
     * neither (regions 0, nregion_addrs 0: the default) there is one plain
     * listener and the wire is as before. */
    unsigned regions;
    const char *const *region_addrs;
    size_t nregion_addrs;
    /* Sessions (README "Sessions"): many tests on one instance, each
     * seeing only its own calls. MOCKAPI_SESSIONS_ON (the default): a
     * request finds its session by the X-Mockapi-Session header, a /s/{id}/
     * path prefix or a bearer token the session minted, else "default";
     * OFF: no sessions (/s/ is a path like any other); REQUIRED: a request
     * with no session gets 428. */
    int sessions; /* mockapi_sessions_mode */
    /* Live sessions at most, "default" apart; more get 429 (EFULL), none
     * is evicted. Default 256; 1..100000. */
    unsigned max_sessions;
    /* Journal bytes of each session but "default" (which has
     * journal_max_bytes); entries are journal_max_entries for all.
     * Default 4 MiB. */
    size_t session_journal_bytes;
    /* Bytes of bodies all sessions but "default" keep, together: captures,
     * fixtures they PUT, event history. A request that would pass it gets
     * 507 (nothing kept). Default 1 GiB. */
    size_t sessions_max_bytes;
    /* Host names (comma-separated, at most 16, each 1 to 253 bytes of
     * letters, digits, '-' and '.') a browser may reach the mock by, besides
     * IP literals and localhost: a request from a browser (it sends Origin
     * or Sec-Fetch-Site) to a /test/ route or changing state with another
     * Host gets 403 (the DNS-rebinding guard; README "Browsers"). NULL:
     * none. Programs are never refused for it. */
    const char *allow_hosts;
    /* The default session's profile, and every new session's unless it
     * names its own. Default REFERENCE. */
    mockapi_profile profile;
    /* In the strict profile, the bootstrap tokens POST /v1/register
     * accepts, separated by ',' (at most 16, each 1-256 bytes, no control
     * bytes or white space). NULL: any non-empty token. */
    const char *bootstrap_tokens;
    /* A folder keeping the TLS listener's CA (README "TLS and the
     * credential chain"), so instances sharing it and restarts have one
     * trust root: ca.pem and ca-key.pem (0600) are made there once (valid
     * ten years; the folder is made 0700 if missing) under an flock on
     * .lock, so instances created together make one CA, and reused
     * afterwards; each instance signs its own server certificate with it.
     * Read (or made) at create, which refuses (EINVAL, errbuf saying which
     * path and what to do) a path that is not a writable folder, one file
     * without the other, a key readable by group or others, a certificate
     * that is not a CA's or is expired, a key that does not match it. Needs
     * tls_addr. NULL: a throwaway CA on every start (valid 24 hours). */
    const char *tls_ca_dir;
    /* More subjectAltNames for the server certificate, separated by ','
     * (at most 16): DNS names (letters, digits, '-', '.'; "*.x.y" for a
     * wildcard) or IP literals, besides mock-api, localhost, 127.0.0.1 and
     * ::1. A malformed one fails create (EINVAL, naming it). Needs
     * tls_addr. NULL: none. */
    const char *tls_sans;
} mockapi_config;

typedef enum mockapi_sessions_mode {
    MOCKAPI_SESSIONS_ON = 0,
    MOCKAPI_SESSIONS_OFF = 1,
    MOCKAPI_SESSIONS_REQUIRED = 2,
} mockapi_sessions_mode;

/* Fills cfg with the defaults above. */
void mockapi_config_init(mockapi_config *cfg);

/* ---- lifecycle ---------------------------------------------------------- */

typedef struct mockapi mockapi; /* opaque */

/* Creates an instance: validates cfg, loads fixtures, creates the signing
 * key. Nothing is bound yet. cfg (and its strings) is copied. The TLS keys
 * (with a TLS address; ~2 ms of CPU) are made later, by whatever needs them
 * first: mockapi_start, the background of mockapi_start_async, or
 * mockapi_tls_ca_pem / mockapi_write_tls_ca. A listener not bound to
 * loopback while no admin_token is set is logged as a warning (cfg.log).
 * Errors: EINVAL (bad cfg, an unknown file in fixtures_dir; errbuf says
 * which), EJSON (a fixture file is invalid; errbuf gives file and offset),
 * EIO (fixtures_dir missing or unreadable, the key file; errbuf has the
 * errno text), ENOMEM. */
int mockapi_create(const mockapi_config *cfg, mockapi **out, char *errbuf, size_t errlen);

/* Binds the listeners and starts serving. Returns once the ports are bound
 * and accepting. Errors: ESTATE (already started), ELISTEN (errbuf: "cannot
 * listen on ADDR (the plain|TLS listener): <errno text>"), ENOMEM, ECRYPTO
 * (the TLS keys could not be made). On error nothing keeps running. */
int mockapi_start(mockapi *m, char *errbuf, size_t errlen);

/* Like mockapi_start, but returns as soon as the plain listeners accept;
 * every listener, TLS included, is bound before it returns (so a taken
 * port is its ELISTEN), and the TLS listeners start listening in the
 * background once their keys are made (until then their port reads 0 and
 * a connection to it is refused). Call mockapi_wait_started before using a
 * TLS port. The
 * mockapi binary starts this way, so it can print MOCKAPI_ADDR sooner. */
int mockapi_start_async(mockapi *m, char *errbuf, size_t errlen);

/* Waits until the listeners of mockapi_start_async are all up. Returns
 * MOCKAPI_OK, or the TLS listeners' error (ECRYPTO: the keys could not be
 * made; rarely ELISTEN: another process bound the same port meanwhile and
 * listened first); the plain listeners keep serving then. ESTATE when not
 * started. */
int mockapi_wait_started(mockapi *m, char *errbuf, size_t errlen);

/* Stops serving: closes listeners and every connection (open SSE streams
 * included) and waits for the server's threads. Takes tens of milliseconds.
 * Counters, captures and fixtures are kept. NULL or not started: no-op. */
void mockapi_stop(mockapi *m);

/* Stops if needed and releases everything. NULL is fine. */
void mockapi_free(mockapi *m);

/* ---- addresses ---------------------------------------------------------- */

typedef enum mockapi_listener_kind {
    MOCKAPI_LISTENER_HTTP = 0,
    MOCKAPI_LISTENER_TLS = 1,
} mockapi_listener_kind;

/* The bound port of the first listener of that kind; 0 when there is none
 * or the instance is not started. */
int mockapi_port(const mockapi *m, mockapi_listener_kind kind);

/* Writes "host:port" of the first listener of that kind as the reference
 * prints it in MOCKAPI_ADDR ("127.0.0.1:41234", "[::]:41234").
 * Returns the length, or a negative code (ENOTFOUND, EINVAL if too small). */
int mockapi_addr(const mockapi *m, mockapi_listener_kind kind, char *buf, size_t len);

/* Writes a URL a client on this machine can use, e.g.
 * "http://127.0.0.1:41234" or "https://localhost:8443" (a wildcard host is
 * given as the loopback address). Returns the length or a negative code. */
int mockapi_base_url(const mockapi *m, mockapi_listener_kind kind, char *buf, size_t len);

/* ---- regions ------------------------------------------------------------ */

/* How many regions the instance has: its plain listeners when regions are
 * on (config regions or region_addrs), 0 when they are off. */
int mockapi_region_count(const mockapi *m);

/* Region i's bound port (kept while the region is down), 0 when there is
 * no such region or the instance is not started. */
int mockapi_region_port(const mockapi *m, int region);

/* Region i's "host:port" (as MOCKAPI_REGION_<i>= prints it) and URL (as
 * mockapi_base_url: "http://127.0.0.1:41234"). Return the length, or
 * ENOTFOUND (no such region, or not started), EINVAL (buf too small). */
int mockapi_region_addr(const mockapi *m, int region, char *buf, size_t len);
int mockapi_region_url(const mockapi *m, int region, char *buf, size_t len);

/* Whether region i is up (accepting): 1, 0 (down, or the instance not
 * started or stopped), or ENOTFOUND. */
int mockapi_region_is_up(const mockapi *m, int region);

/* POST /test/regions/{i}/down: region i stops listening, so connecting to
 * it is refused, and its open connections end (idle ones at once, one
 * writing a response once it is written), so a client with a pooled
 * connection fails over too. A region already down stays so (OK).
 * Errors: ENOTFOUND (no such region; regions off), ESTATE (not started). */
int mockapi_region_down(mockapi *m, int region, char *errbuf, size_t errlen);

/* POST /test/regions/{i}/up: region i listens again on the same port.
 * ELISTEN when that port was taken meanwhile (errbuf says by what errno;
 * the region stays down, try again later); ENOTFOUND, ESTATE as above. */
int mockapi_region_up(mockapi *m, int region, char *errbuf, size_t errlen);

/* ---- counters ----------------------------------------------------------- */

/* The counters, in their one order: the enum's values, GET /test/assertions
 * and every other listing follow it. X(ID, "wire_name") per counter; expand
 * it with a macro of your own to build a table (an X-macro). New counters go
 * at the end: the values are part of the ABI. */
#define MOCKAPI_COUNTERS(X) \
    X(REGISTRATION_COUNT, "registration_count") \
    X(HEARTBEAT_COUNT, "heartbeat_count") \
    X(STATE_COUNT, "state_count") \
    X(METADATA_COUNT, "metadata_count") \
    X(DEREGISTER_COUNT, "deregister_count") \
    X(KEY_ROTATE_COUNT, "key_rotate_count") \
    X(CAPABILITIES_COUNT, "capabilities_count") \
    X(ENDPOINT_COUNT, "endpoint_count") \
    X(DRIFT_COUNT, "drift_count") \
    X(SECRETS_COUNT, "secrets_count") \
    X(REPORT_COUNT, "report_count") \
    X(EXECUTION_ACK_COUNT, "execution_ack_count") \
    X(EXECUTION_RESULT_COUNT, "execution_result_count") \
    X(METRICS_COUNT, "metrics_count") \
    X(LOGS_COUNT, "logs_count") \
    X(AUDIT_COUNT, "audit_count") \
    X(ARTIFACT_COUNT, "artifact_count") \
    X(TUNNEL_READY_COUNT, "tunnel_ready_count") \
    X(TUNNEL_CLOSED_COUNT, "tunnel_closed_count") \
    X(INTEGRITY_VIOLATION_COUNT, "integrity_violation_count") \
    X(INJECT_EVENT_COUNT, "inject_event_count") \
    X(LOCAL_METRICS_COUNT, "local_metrics_count") \
    X(LOCAL_LOGS_COUNT, "local_logs_count") \
    X(LOCAL_AUDIT_COUNT, "local_audit_count")

typedef enum mockapi_counter {
#define MOCKAPI_COUNTER_ENUM_(id, name) MOCKAPI_##id,
    MOCKAPI_COUNTERS(MOCKAPI_COUNTER_ENUM_)
#undef MOCKAPI_COUNTER_ENUM_
    MOCKAPI_COUNTER_COUNT /* 24 */
} mockapi_counter;

/* The wire names by id, from MOCKAPI_COUNTERS. */
extern const char *const mockapi_counter_names[MOCKAPI_COUNTER_COUNT];

/* The wire name ("heartbeat_count"), or NULL for an invalid id. */
const char *mockapi_counter_name(mockapi_counter c);
/* Looks a wire name up; returns the id or ENOTFOUND. */
int mockapi_counter_by_name(const char *name);
/* The counter's current value (0 for an invalid id). Lock-free. */
int64_t mockapi_counter_get(const mockapi *m, mockapi_counter c);

/* ---- captures ----------------------------------------------------------- */

/* Copies the last body captured under key ("register", "heartbeat", ...;
 * see the README for the 22 keys) into a new buffer: *body (NUL-terminated
 * for convenience, free with mockapi_free_buf) and *len. A captured empty
 * body gives *len == 0 and a non-NULL *body.
 * Errors: ENOTFOUND (nothing captured under key), ENOMEM, EINVAL. */
int mockapi_last_request(mockapi *m, const char *key, char **body, size_t *len);

void mockapi_free_buf(void *p);

/* ---- the journal, reset and waiting -------------------------------------- */

/* Renders GET /test/requests with the given filter (the same query syntax:
 * "method=POST&route=heartbeat&since=10&limit=50"; NULL for none) into a new
 * buffer (free with mockapi_free_buf). Errors: EINVAL (a malformed filter),
 * ENOMEM. */
int mockapi_requests(mockapi *m, const char *filter, char **json, size_t *len);

/* POST /test/reset: counters, captures, journal, state and heartbeat
 * fixtures back to their start values, the event history cleared, the
 * rules of mockapi_fault_add and /test/faults deleted (those of
 * mockapi_config.faults stay, their counts start over), and the strict
 * profile's node registry and clock forgotten. */
int mockapi_reset(mockapi *m);
/* The default session's mockapi_session_clock_advance. */
int mockapi_clock_advance(mockapi *m, int64_t ms);

/* GET /test/wait without HTTP: blocks until the condition holds or
 * timeout_ms pass. condition: "counter=heartbeat_count&op=gte&value=3" or a
 * journal filter with op and value ("route=heartbeat&value=2"). *value (may
 * be NULL) receives the last value compared. Returns 0 when it held,
 * ETIMEDOUT when not, EINVAL for a malformed condition. */
int mockapi_wait(mockapi *m, const char *condition, unsigned timeout_ms, int64_t *value);

/* ---- faults ------------------------------------------------------------- */

/* Installs a fault rule, as POST /test/faults does: route_or_path is a
 * route name ("heartbeat") or a path glob starting with '/'
 * ("/v1/nodes/{id}/heartbeat" with a star for {id}); method upper case
 * ("POST"), NULL for any; spec in the fault grammar ("status=503;
 * retry-after=2; first=2"); ttl_ms 0 keeps it until deleted. *id (may be
 * NULL) receives the rule's id. Errors: EINVAL (a malformed spec, an
 * unknown or /test/ route, a stream key off the events route, a method
 * the route does not answer; errbuf names the item), ENOMEM. Thread-safe. */
int mockapi_fault_add(mockapi *m, const char *route_or_path, const char *method, const char *spec,
                      unsigned ttl_ms, int *id, char *errbuf, size_t errlen);
/* Deletes rule id. ENOTFOUND when there is none; EINVAL for a rule of
 * mockapi_config.faults (those last as long as the instance). */
int mockapi_fault_delete(mockapi *m, int id);
/* Deletes every rule but those of mockapi_config.faults. */
int mockapi_fault_clear(mockapi *m);
/* Checks one "[METHOD ]ROUTE: SPEC" as mockapi_config.faults takes it,
 * without an instance (the binary's -fault flag): 0, or EINVAL with the
 * reason in errbuf. Thread-safe. */
int mockapi_fault_check(const char *rule, char *errbuf, size_t errlen);

/* ---- fixtures ----------------------------------------------------------- */

/* Replaces the state fixture, exactly as PUT /test/state does: the JSON is
 * decoded as the reference's StateResponse (unknown fields dropped, missing
 * ones zero). Readers see either the old or the new state, never a mix.
 * Does not touch captures. Errors: EJSON (errbuf says where), ENOMEM. */
int mockapi_set_state(mockapi *m, const char *json, size_t len, char *errbuf, size_t errlen);

/* Copies the state as GET /v1/nodes/{id}/state would return it (including the
 * trailing newline). Free *json with mockapi_free_buf. Errors: ENOMEM. */
int mockapi_get_state(mockapi *m, char **json, size_t *len);

/* Sets the heartbeat response, as POST /test/configure-heartbeat does. */
int mockapi_set_heartbeat(mockapi *m, bool reconcile, bool rotate_keys);

/* ---- sessions ----------------------------------------------------------- */

/* A session (README "Sessions"): one test's share of the instance, with
 * its own counters, captures, journal, fixtures, fault rules, event
 * streams, waits and credentials. The instance calls above act on the
 * session "default"; these act on the session of the handle. A handle
 * keeps what the session had readable until mockapi_session_free, even
 * after the session ended. Thread-safe as the instance calls. */
typedef struct mockapi_session mockapi_session;

typedef struct mockapi_session_config {
    const char *id;         /* NULL: a fresh random id; else 1-64 of [A-Za-z0-9_.-] */
    const char *name;       /* a label shown by GET /test/sessions; NULL: none */
    unsigned ttl_ms;        /* ends after this long without a request; 0: never */
    const char *state_json; /* the initial state fixture (StateResponse), or NULL */
    size_t state_len;
    const char *profile;    /* "reference" or "strict"; NULL: the server's */
} mockapi_session_config;

/* Creates a session. cfg NULL: the defaults. Errors: EINVAL (a bad id,
 * name or ttl), EJSON (a bad state_json), EEXIST (the id is live), EFULL
 * (max_sessions are live; nothing is evicted), ESTATE (sessions off),
 * ENOMEM; errbuf says which. */
int mockapi_session_create(mockapi *m, const mockapi_session_config *cfg, mockapi_session **out,
                           char *errbuf, size_t errlen);
/* A handle on the live session id ("default" included). ENOTFOUND. */
int mockapi_session_open(mockapi *m, const char *id, mockapi_session **out);
/* Ends the session as DELETE /test/sessions/{id} does: its event streams
 * close, requests naming it get 404. EINVAL for "default", ENOTFOUND when
 * it had ended. The handle stays valid. */
int mockapi_session_end(mockapi_session *s);
/* Frees the handle (does not end the session). NULL is fine. */
void mockapi_session_free(mockapi_session *s);
/* Whether the session is still live (not ended, not expired). */
bool mockapi_session_live(const mockapi_session *s);
const char *mockapi_session_id(const mockapi_session *s);
/* The base URL an agent of this session uses: the listener's base URL and
 * "/s/<id>" (default: none). Length, or EINVAL/ENOTFOUND as mockapi_base_url. */
int mockapi_session_url(const mockapi_session *s, mockapi_listener_kind kind, char *buf, size_t len);
/* The session's node secret key (32 ASCII bytes) its register hands out,
 * and its local bearer token (the secret that NSK decrypts); valid while
 * the handle lives. Either, sent as a bearer, selects the session. */
const char *mockapi_session_nsk(const mockapi_session *s);
const char *mockapi_session_bearer_token(const mockapi_session *s);
/* As the instance calls of the same names; _set_state and _set_heartbeat
 * may also give EFULL (past sessions_max_bytes; nothing changed). */
int64_t mockapi_session_counter_get(const mockapi_session *s, mockapi_counter c);
int mockapi_session_last_request(mockapi_session *s, const char *key, char **body, size_t *len);
int mockapi_session_requests(mockapi_session *s, const char *filter, char **json, size_t *len);
int mockapi_session_reset(mockapi_session *s);
int mockapi_session_wait(mockapi_session *s, const char *condition, unsigned timeout_ms, int64_t *value);
int mockapi_session_fault_add(mockapi_session *s, const char *route_or_path, const char *method,
                              const char *spec, unsigned ttl_ms, int *id, char *errbuf, size_t errlen);
int mockapi_session_fault_delete(mockapi_session *s, int id);
int mockapi_session_fault_clear(mockapi_session *s);
int mockapi_session_set_state(mockapi_session *s, const char *json, size_t len, char *errbuf, size_t errlen);
int mockapi_session_get_state(mockapi_session *s, char **json, size_t *len);
int mockapi_session_set_heartbeat(mockapi_session *s, bool reconcile, bool rotate_keys);
/* Moves the session's clock ms milliseconds on, as POST /test/clock does
 * (the strict profile's reachability and times; README "The strict
 * profile"). EINVAL: ms < 0, or the clock would be more than ten years
 * ahead (nothing moved). mockapi_reset sets it back. */
int mockapi_session_clock_advance(mockapi_session *s, int64_t ms);

/* ---- credentials -------------------------------------------------------- */

/* The node secret key register hands out: 32 ASCII bytes, NUL-terminated.
 * Static storage; valid for the life of m. */
const char *mockapi_nsk(const mockapi *m);
/* The bearer token the TLS local endpoints expect ("e2e-local-bearer-token"). */
const char *mockapi_bearer_token(const mockapi *m);
/* The Ed25519 public key as register and state show it: base64 (standard,
 * padded), 44 chars + NUL. Valid for the life of m. */
const char *mockapi_signing_public_key(const mockapi *m);

/* ---- TLS ---------------------------------------------------------------- */

/* The PEM of the throwaway CA that signed the TLS listener's certificate
 * (made when first needed: by the start, or by this call, which then waits
 * ~2 ms for it; valid now-1h .. now+24h), for clients that verify; NULL
 * when no TLS listener is configured or the keys could not be made. Valid
 * for the life of m. */
const char *mockapi_tls_ca_pem(const mockapi *m);
/* Writes that PEM to path. Errors: ENOTFOUND (no TLS listener), ECRYPTO,
 * EIO. */
int mockapi_write_tls_ca(const mockapi *m, const char *path, char *errbuf, size_t errlen);

/* ---- the agent's side of the credential chain -------------------------- */

/* Decrypts a secret the way the agent does (nodeapi.DecryptSecret): nsk is
 * the 32-byte node secret key, ciphertext and nonce the base64 (standard,
 * padded) fields of GET /v1/nodes/{id}/secrets/{key}; AES-256-GCM, no AAD,
 * tag appended. On success *plaintext (NUL-terminated, free with
 * mockapi_free_buf) and *len hold the secret. Like the agent, every failure
 * (key length, base64, nonce length, authentication) is one error:
 * ECRYPTO. EINVAL for NULL arguments, ENOMEM. Thread-safe. */
int mockapi_decrypt_secret(const void *nsk, size_t nsk_len, const char *ciphertext_b64,
                           const char *nonce_b64, char **plaintext, size_t *len);

/* ---- health check ------------------------------------------------------ */

/* GETs url ("http://host:port/path"; https is accepted and not verified)
 * and stores the status in *status. Returns 0 when a response arrived within
 * timeout_ms, else a negative code (EINVAL for a URL it cannot parse,
 * ELISTEN when the connection fails or times out) with the reason in errbuf.
 * Thread-safe; needs no instance. */
int mockapi_check(const char *url, unsigned timeout_ms, int *status, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
