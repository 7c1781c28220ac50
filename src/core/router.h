/* router.h: the route table and Go 1.22 ServeMux matching, as pure functions.
 *
 * The table says, per route, everything the one request path (dispatch.c)
 * needs: which listener serves it, the method, the body rule (typed decode,
 * any bytes, none), the counter and when it moves, the capture key and the
 * responder. Adding a route is adding a row; no per-route counting or
 * capturing code exists anywhere. */
#ifndef MK_ROUTER_H
#define MK_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "gotype.h"
#include "names.h"

typedef enum mk_listener_kind { MK_LISTEN_HTTP = 0, MK_LISTEN_TLS = 1 } mk_listener_kind;

/* How a route treats the request body, and so when its counter moves (docs/contract.md §4). */
typedef enum mk_body_rule {
    MK_BODY_NONE,      /* body ignored; counter (if any) moves first */
    MK_BODY_TYPED,     /* capture, typed decode (400), then count */
    MK_BODY_ANY,       /* capture any bytes (400 only on gzip/read error), then count */
    MK_BODY_LOCAL,     /* bearer auth (401, no capture), then as MK_BODY_ANY */
} mk_body_rule;

typedef enum mk_responder {
    MK_R_PING, MK_R_REGISTER, MK_R_HEARTBEAT, MK_R_STATE, MK_R_METADATA, MK_R_EVENTS,
    MK_R_ASSERTIONS, MK_R_NO_CONTENT, MK_R_KEY_ROTATE, MK_R_ENDPOINT, MK_R_SECRETS,
    MK_R_ARTIFACT, MK_R_SET_STATE, MK_R_SET_HEARTBEAT, MK_R_INJECT, MK_R_LAST_REQUEST,
    MK_R_SSE_STATUS, MK_R_SSE_WAIT, /* beyond the reference */
    MK_R_SSE_DISCONNECT,
    MK_R_REQUESTS, MK_R_RESET, MK_R_WAIT,
    MK_R_STATS,
    MK_R_REGIONS, MK_R_REGION_DOWN, MK_R_REGION_UP, /* README "Regions" */
    MK_R_FAULTS_ADD, MK_R_FAULTS_LIST, MK_R_FAULTS_DELETE, MK_R_FAULTS_CLEAR, /* /test/faults */
    MK_R_SESSIONS_ADD, MK_R_SESSIONS_LIST, MK_R_SESSIONS_END, /* README "Sessions" */
    MK_R_PAGE, MK_R_FEED, MK_R_CA, MK_R_CAPTURES, /* README "The live page" */
    MK_R_CLOCK_GET, MK_R_CLOCK_ADVANCE, MK_R_NODES, /* README "The strict profile" */
    MK_R_REACHABILITY, MK_R_ROTATE_TRIGGER, MK_R_ROTATE_PREVIEW, MK_R_TOPOLOGY, /* strict only */
    MK_R_HEALTH,                    /* README "Readiness" */
    MK_R_METHOD_NOT_ALLOWED_JSON,   /* the method-less fallbacks */
} mk_responder;

/* The 22 capture keys of docs/contract.md §9, in that order (names.h). */
typedef enum mk_capture {
    MK_CAP_NONE = -1,
#define MK_CAP_ENUM_(id, name, counter) MK_CAP_##id,
    MK_CAPTURE_ROUTES(MK_CAP_ENUM_)
#undef MK_CAP_ENUM_
    MK_CAP_COUNT
} mk_capture;

/* Route names (names.h): capture routes first, with their capture's value. */
typedef enum mk_route_id {
    MK_ROUTE_NONE = -1, /* the method-less fallbacks have no name */
#define MK_ROUTE_ENUM_(id, name, counter) MK_ROUTE_##id,
    MK_ROUTE_NAMES(MK_ROUTE_ENUM_)
#undef MK_ROUTE_ENUM_
    MK_ROUTE_COUNT
} mk_route_id;

const char *mk_capture_name(mk_capture c);
mk_capture mk_capture_by_name(const char *s, size_t n); /* MK_CAP_NONE if unknown */

typedef struct mk_route {
    mk_listener_kind listener;
    const char *method;      /* NULL: method-less fallback (answers any other method) */
    const char *pattern;     /* "/v1/nodes/{id}/heartbeat"; {x} = one non-empty segment */
    mk_body_rule body;
    const gt_type *type;     /* for MK_BODY_TYPED */
    int counter;             /* mockapi_counter or -1, as names.h lists for `name` */
    mk_capture capture;      /* as names.h lists for `name`: MK_CAP_NONE for plain routes */
    mk_responder responder;
    mk_route_id name;        /* MK_ROUTE_NONE for the method-less fallbacks */
    bool strict_only;        /* served only in the strict profile (README "The strict profile") */
} mk_route;

enum { MK_MAX_PARAMS = 4, MK_MAX_SEGMENTS = 16 };

typedef enum mk_verdict {
    MK_MATCH,        /* route set */
    MK_NOT_FOUND,    /* 404 text */
    MK_NOT_ALLOWED,  /* 405 text; allow holds "GET, HEAD" etc. */
    MK_REDIRECT,     /* 301; location holds the cleaned path (+ query) */
    MK_BAD_REQUEST,  /* malformed percent-escape: 400 */
} mk_verdict;

typedef struct mk_match {
    mk_verdict verdict;
    const mk_route *route;
    int nparams;
    /* Unescaped path parameters, in pattern order. Each points into
     * `scratch` and is NUL-terminated; len excludes the NUL. */
    struct { const char *s; size_t len; } params[MK_MAX_PARAMS];
    char allow[64];
    char *location;          /* MK_REDIRECT: owned, free() it */
    char scratch[1024];      /* param storage; longer paths give 404 */
} mk_match;

/* Matches method + raw (still percent-encoded) path and optional raw query
 * against the table for one listener kind. Returns the verdict (also stored
 * in m->verdict). Pure; reentrant. MK_REDIRECT allocates m->location (NULL on
 * out-of-memory, then the verdict is MK_NOT_FOUND).
 * strict: the strict profile's table: its own routes too, and no
 * method-less fallbacks (another method is MK_NOT_ALLOWED with Allow, which
 * the profile answers as problem+json). */
mk_verdict mk_route_match(mk_listener_kind kind, bool strict, const char *method, const char *path,
                          size_t path_len, const char *query, mk_match *m);

/* For a 404: the pattern of a route whose path differs from this one
 * (raw) in one literal segment, by what looks like a typo of it
 * (suggest.h), or NULL. The route's method is not compared. */
const char *mk_route_suggest(mk_listener_kind kind, bool strict, const char *path, size_t path_len);

/* The journal's name for a route: its capture key, or its own name
 * ("ping", "state", ...); NULL for the JSON 405 fallbacks. */
const char *mk_route_name(const mk_route *r);
/* The name of a route id; NULL for MK_ROUTE_NONE or out of range. */
const char *mk_route_id_name(mk_route_id id);

/* The table, for tests and docs. */
const mk_route *mk_routes(size_t *count);

#endif
