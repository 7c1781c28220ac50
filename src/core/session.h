/* session.h: sessions, one per test (README "Sessions").
 *
 * A session holds everything a test observes: counters, captures, the
 * fixtures it changed, its journal, its fault rules and their counts (all
 * in its mk_state), its event streams with their history and numbering
 * (its mk_sse_space), the waits parked on it, and its own credentials: a
 * node secret key (NSK) returned by its register, and a local bearer token
 * (the secret its NSK decrypts), so that an agent can be told apart by the
 * bearer it sends. The session "default" always exists and is the server
 * as it was before sessions: the fixed NSK and token of the contract.
 *
 * A request finds its session, first match wins (select_session in
 * dispatch.c, the one request path):
 *   1. the X-Mockapi-Session header;
 *   2. a path prefix /s/{id}/, stripped before routing;
 *   3. a bearer token a session minted (its NSK or its local token);
 *   4. on /test/ routes, ?session=ID (removed from the query);
 *   5. else "default" (counted as `unsessioned` while other sessions
 *      exist; refused with 428 in required mode).
 * An id that names no session (ended, expired, never made) is a 404: a
 * test whose session is gone must not silently see another's data.
 *
 * Lifetime: sessions are refcounted. The table holds one reference while
 * the session lives; a request holds one while it runs, a parked wait
 * while it is parked. Ending a session (DELETE, TTL, reset ?scope=all)
 * unlinks it at once, ends its event streams and wakes its waiters; its
 * memory goes with the last reference. The bodies every session but
 * default keeps draw on one byte budget (the table's, budget.h).
 *
 * Cost: a request with no selector, while only "default" exists, pays one
 * atomic load. A lookup is one hash probe under a mutex. */
#ifndef MK_SESSION_H
#define MK_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "state.h"

typedef struct mk_sse_space mk_sse_space;
typedef struct mk_nodes mk_nodes;
typedef struct mockapi mockapi;
struct mk_request;

/* How a request found its session; the journal's `session_via`. */
typedef enum mk_session_via {
    MK_VIA_DEFAULT = 0,
    MK_VIA_HEADER,
    MK_VIA_PREFIX,
    MK_VIA_TOKEN,
    MK_VIA_QUERY,
} mk_session_via;

/* "default", "header", "prefix", "token", "query". */
const char *mk_session_via_name(mk_session_via v);

enum {
    MK_SESSION_ID_MAX = 64,    /* an id's bytes: [A-Za-z0-9_.-], at most this many */
    MK_SESSION_NAME_MAX = 128, /* a name's bytes */
    MK_SESSION_TOKEN_MAX = 64, /* the local bearer token's bytes */
    MK_SESSIONS_MAX = 100000,  /* -max-sessions' upper bound */
    MK_SESSION_MAX_TTL_MS = 86400000,
    /* mk_session_create: its fixtures would pass the table's byte budget
     * (the API says MOCKAPI_EFULL; HTTP 507) */
    MK_SESSION_EBUDGET = -100,
};

typedef struct mk_session {
    atomic_int refs;
    bool is_default;
    char id[MK_SESSION_ID_MAX + 1];
    char name[MK_SESSION_NAME_MAX + 1]; /* "" when none was given */
    mk_state state;
    mk_sse_space *sse; /* its event streams (sse.h); never NULL */
    char nsk[33];      /* 32 ASCII bytes: register's node_secret_key and the AES key */
    char bearer[MK_SESSION_TOKEN_MAX + 1]; /* the local endpoints' bearer token */
    char secret_ct_b64[128];               /* base64 of AES-GCM(nsk, bearer) */
    mk_blob *register_body;                /* register's answer, with this NSK */
    mk_blob *state_start, *heartbeat_start; /* the fixtures it began with: a reset's */
    size_t start_charge; /* what those, when given at creation, took from the budget */
    int64_t created_ms;                    /* wall clock, ms since the epoch */
    unsigned ttl_ms;                       /* idle time before it ends; 0: never */
    atomic_llong last_used_ms;             /* mk_mono_ms of its last request */
    atomic_ullong requests;                /* requests it served (all routes) */
    atomic_bool ended;
    /* the strict profile (README "The strict profile"): problem+json, NSK
     * auth, the node registry; fixed for the session's life */
    bool strict;
    mk_nodes *nodes;               /* its registered nodes (nodes.h); never NULL */
    atomic_llong clock_offset_ms;  /* what the test advanced its clock (POST /test/clock) */
    /* the table's (session.c), under its lock */
    struct mk_session *h_id, *h_nsk, *h_tok; /* hash chains */
    struct mk_session *prev, *next;          /* creation order */
} mk_session;

typedef enum mk_sessions_mode {
    MK_SESSIONS_ON = 0,   /* selectors honoured; no selector: default */
    MK_SESSIONS_OFF,      /* no sessions: /s/ is a path like any other */
    MK_SESSIONS_REQUIRED, /* no selector: 428 (but on /test/sessions) */
} mk_sessions_mode;

/* What POST /test/sessions and mockapi_session_create ask for. */
typedef struct mk_session_opts {
    const char *id;       /* NULL: a fresh random one */
    const char *name;     /* NULL: none */
    unsigned ttl_ms;      /* 0: until ended */
    const char *state;    /* initial state fixture (JSON, StateResponse), or NULL */
    size_t state_len;
    const char *heartbeat; /* initial heartbeat fixture (JSON, HeartbeatResponse), or NULL */
    size_t heartbeat_len;
    const char *faults;    /* a JSON array of POST /test/faults bodies, or NULL */
    size_t faults_len;
    int profile;           /* MOCKAPI_PROFILE_*, or -1: the server's (mockapi_config.profile) */
} mk_session_opts;

/* Decodes a POST /test/sessions body into o (pointers into body) and *id
 * (id and name are copied into idbuf and namebuf, which o points at).
 * Strict: unknown members (did you mean), wrong types. 0, or -1 with the
 * message in err. */
int mk_session_parse_body(const char *body, size_t len, mk_session_opts *o, char *idbuf, size_t idcap,
                          char *namebuf, size_t namecap, char *err, size_t errlen);

/* The table, in struct mockapi (server.h) as m->sessions. */
typedef struct mk_session_table {
    pthread_mutex_t lock;
    mk_session **b_id, **b_nsk, **b_tok; /* nbuckets each */
    size_t nbuckets;
    mk_session *first, *last; /* every live session but default, oldest first */
    atomic_int live;          /* live sessions but default (read without the lock) */
    atomic_int with_ttl;      /* those of them with a TTL: none, no sweep */
    int max;                  /* cfg.max_sessions */
    mk_sessions_mode mode;
    atomic_ullong unsessioned;
    atomic_llong next_sweep_ms; /* mk_mono_ms when TTLs are next checked */
    atomic_ullong created, ended_ttl, ended_delete, refused_full;
    /* what the bodies of every session but default draw on: captures,
     * fixtures PUT over theirs, event history (cfg.sessions_max_bytes) */
    mk_budget budget;
    /* the state notify (state.h) every session's state gets; under lock */
    void (*notify)(void *arg);
    void *notify_arg;
} mk_session_table;

/* Creates the table and the default session (m->def, with m's fixtures
 * and keys; flag fault rules are installed in it by the caller). 0, or -1
 * out of memory. */
int mk_sessions_init(mockapi *m);
void mk_sessions_dispose(mockapi *m);

/* A reference to the live session with this id (the default's is
 * "default"), or NULL. */
mk_session *mk_session_find(mockapi *m, const char *id, size_t len);
/* A reference to the live session that minted this bearer token (its NSK
 * or its local token), or NULL (default's fixed ones: NULL). */
mk_session *mk_session_by_token(mockapi *m, const char *tok, size_t len);
mk_session *mk_session_ref(mk_session *s);
void mk_session_release(mk_session *s); /* NULL ok */

/* Creates a session. MOCKAPI_OK with *out a reference (release it), or
 * MOCKAPI_EINVAL (a bad id, name or ttl), MOCKAPI_EJSON (a bad fixture;
 * err says which), MOCKAPI_EFULL (max_sessions live: nothing is
 * evicted), MOCKAPI_EEXIST (the id is taken), MOCKAPI_ESTATE (sessions
 * off), MK_SESSION_EBUDGET (its fixtures would pass the byte budget),
 * MOCKAPI_ENOMEM. */
int mk_session_create(mockapi *m, const mk_session_opts *o, mk_session **out, char *err,
                      size_t errlen);
/* Ends s (a reference the caller keeps) if it is still live. */
void mk_session_end(mockapi *m, mk_session *s, bool by_ttl);
/* Ends every session but default, and resets default: POST
 * /test/reset?scope=all. */
void mk_sessions_reset_all(mockapi *m);
/* Back to the start: its counters, captures and journal cleared, the
 * fixtures it was created with, no rules but the flag's, no event
 * history; streams stay open. */
void mk_session_reset(mockapi *m, mk_session *s);

/* Ends the sessions idle past their TTL, at most every 100 ms whatever
 * calls it (the request path calls it on every request: one atomic load
 * when nothing is due). */
void mk_sessions_sweep(mockapi *m, int64_t now_ms);
/* The session's clock: the wall clock (ms since the epoch) plus what the
 * test advanced it. Reachability and the strict answers' times use it. */
int64_t mk_session_now_ms(const mk_session *s);

/* Moves s's clock ms on (0 .. MK_CLOCK_MAX_MS in all): 0, or -1 when the
 * offset would pass MK_CLOCK_MAX_MS (nothing moves). */
#define MK_CLOCK_MAX_MS 315360000000LL /* ten years */
int mk_session_clock_advance(mk_session *s, long long ms);

/* Marks s used now (a request reached it). */
void mk_session_touch(mk_session *s, int64_t now_ms);

/* Sets the state notify of every session, present and future (the
 * transport, while started). */
void mk_sessions_set_notify(mockapi *m, void (*fn)(void *), void *arg);

/* mk_state_interrupt on every session's state (the server stops: blocking
 * waits return). */
void mk_sessions_interrupt(mockapi *m, bool on);

/* GET /test/sessions: {"mode":..,"max":..,"live":..,"unsessioned":..,
 * "sessions":[default, then oldest first]} + "\n". */
void mk_sessions_list_json(mockapi *m, mk_buf *out);
/* One session as POST /test/sessions answers it (id, name, prefix,
 * header, query, node_secret_key, bearer_token, ttl_ms, ...) + "\n". */
void mk_session_json(const mk_session *s, mk_buf *out);

#endif
