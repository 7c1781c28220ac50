/* faults.h: the fault rules of one state object, and the decision of which
 * fault (if any) a request gets.
 *
 * Carriers, in the order a request is offered to them (the first that
 * applies wins; the ones after it never see the request, so their counts
 * do not move):
 *   1. its own X-Mockapi-Fault header;
 *   2. the rules of POST /test/faults and mockapi_fault_add, oldest first;
 *   3. the rules of the -fault flag (mockapi_config.faults), in order.
 * A rule matches a request by route name (an id compare) or by path glob
 * (glob.h), with an optional method, and `region=` narrows it to those
 * regions. Of the requests it matches, `p=` lets each through with that
 * probability, drawn from the rule's own random source: seeded by `seed=`
 * (the same run gives the same draws) or at random; `first=N` then takes
 * the first N it let through (docs/faults.md). A header's `first=`/`p=` count per (route,
 * canonical spec): sending `status=503; first=2` three times on one route
 * gives 503, 503, then the route's own answer.
 *
 * Cost: with no rule installed a request pays one atomic load (and
 * the header lookup); with rules but none for its route (and no path
 * rule), two more loads; otherwise one mutex and an integer compare per
 * route rule (a glob only for path rules).
 *
 * Thread-safety: every function may be called from any thread. A
 * read-write lock guards the list of rules (decisions read it together;
 * their counts and random draws are atomics), a mutex the header table;
 * the totals are atomics. */
#ifndef MK_FAULTS_H
#define MK_FAULTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "fault.h"
#include "glob.h"
#include "router.h"

typedef enum mk_fault_source {
    MK_FSRC_NONE = 0,
    MK_FSRC_HEADER, /* the request's X-Mockapi-Fault */
    MK_FSRC_RULE,   /* POST /test/faults, mockapi_fault_add */
    MK_FSRC_FLAG,   /* -fault, mockapi_config.faults: survive a reset */
} mk_fault_source;

/* The journal's word for a source: "header", "rule", "flag" (NULL: none). */
const char *mk_fault_source_name(mk_fault_source s);

enum {
    MK_FAULT_SPEC_MAX = 256,    /* a canonical spec's text */
    MK_FAULT_MAX_RULES = 1000,  /* rules installed at once (flag rules apart) */
    MK_FAULT_HEADER_KEYS = 1024, /* (route, spec) pairs a header's first/p count */
    MK_FAULT_WIRE_KINDS = 6,    /* mk_fault_wire's values */
    MK_FAULT_MAX_TTL_MS = 86400000, /* a rule's ttl_ms: a day */
};

typedef struct mk_fault_rule mk_fault_rule;
typedef struct mk_fault_hkey mk_fault_hkey;
typedef struct mk_fault_mrec mk_fault_mrec;

typedef struct mk_faults {
    /* the rules: read-locked by the decision, write-locked by changes */
    pthread_rwlock_t lock;
    pthread_mutex_t hlock; /* the header counts (hkeys) */
    /* Rules installed (flag rules included): the request path reads it
     * (an acquire load, a plain load on x86) and takes the lock only when
     * it is not 0. A rule added is seen by the requests that arrive after
     * its POST was answered. */
    atomic_int nrules;
    /* Which requests any rule can match, so that the others skip the lock:
     * bit i of route_mask, a route rule for route id i; npath, path rules.
     * Written under the lock whenever the rules change. */
    atomic_uint_fast64_t route_mask;
    atomic_int npath;
    mk_fault_rule *rules, *rules_tail; /* oldest first; lock */
    mk_fault_rule *flags, *flags_tail; /* in flag order; lock */
    int nuser;                         /* rules in `rules`; lock */
    mk_fault_mrec *idx;                /* every rule in decision order, compact; lock */
    int nidx, idx_cap;
    int next_id;                       /* lock */
    int nttl;                          /* rules with a TTL; lock */
    mk_fault_hkey *hkeys;              /* the header counts; hlock */
    int nhkeys;
    /* regions the server has (0: not told, no check): a rule's region=
     * past them could never apply, so it is refused. Set before start. */
    int nregions;
    /* applied faults (GET /test/assertions?faults=1): atomics */
    atomic_ullong applied;
    atomic_ullong by_source[4];                  /* mk_fault_source */
    atomic_ullong by_route[MK_ROUTE_COUNT + 1]; /* route id; the last: no route */
    atomic_ullong by_wire[MK_FAULT_WIRE_KINDS];  /* mk_fault_wire */
    /* The monotonic clock of TTLs (mk_mono_ms); tests put their own here. */
    int64_t (*now_ms)(void);
} mk_faults;

int mk_faults_init(mk_faults *s);
void mk_faults_dispose(mk_faults *s);
/* POST /test/reset: the rules of /test/faults go, the flag rules stay with
 * their counts back at 0 (and their seeded draws from the start), the
 * header counts and the totals start over. */
void mk_faults_reset(mk_faults *s);

/* What a rule targets: a route by name, or paths by glob; a method or any. */
typedef struct mk_fault_target {
    const char *route;  /* a route name (names.h), or NULL */
    const char *path;   /* a glob starting with '/', or NULL (one of the two) */
    const char *method; /* NULL or "": any */
} mk_fault_target;

/* Checks a target and a spec for a rule: an unknown route (with a "did you
 * mean"), a /test/ route or path, a glob too long, a method that is not a
 * token, a stream-only key (cut-after, cut-mid, stall, retry) on a route
 * other than events. 0, or -1 with the message in err. *events says
 * whether the rule can reach the events route (NULL: not wanted). */
int mk_faults_check(const mk_fault_target *t, const mk_fault *f, bool *events, char *err,
                    size_t errlen);

/* Installs a rule (after mk_faults_check). ttl_ms 0: until deleted. *id
 * receives its id (ids are never reused). -1 (err says why) when
 * MK_FAULT_MAX_RULES are installed or memory is short. */
int mk_faults_add(mk_faults *s, mk_fault_source src, const mk_fault_target *t, const mk_fault *f,
                  unsigned ttl_ms, int *id, char *err, size_t errlen);
/* Removes rule id: 0, -1 when there is none, -2 when it is a flag rule
 * (those last as long as the server). */
int mk_faults_delete(mk_faults *s, int id);
/* Removes every rule but the flag rules; returns how many went. */
int mk_faults_clear(mk_faults *s);

/* Counts n open streams that rule id's fault reached when it was added
 * (mk_sse_fault), in the rule's `applied` and the totals, as if n requests
 * had been faulted: nothing a rule does goes uncounted. */
void mk_faults_count_streams(mk_faults *s, int id, const mk_fault *f, int n);

/* Renders one rule as GET /test/faults and POST /test/faults show it. */
/* GET /test/faults: {"rules":[...]} + "\n", rules oldest first, then the
 * flag rules. */
void mk_faults_list(mk_faults *s, mk_buf *out);
/* The 201 answer of POST /test/faults for rule id. */
void mk_faults_rule_json(mk_faults *s, int id, mk_buf *out);

/* The request as the decision sees it. */
typedef struct mk_fault_req {
    int route;        /* mk_route_id, or -1 (nothing matched, a fallback) */
    bool events;      /* the events route (stream keys apply) */
    const char *method;
    const char *path; /* raw */
    size_t path_len;
    int region;       /* -1: none */
    bool header_only; /* a /test/ route: only its own header applies, no rule */
} mk_fault_req;

typedef struct mk_fault_decision {
    mk_fault_source source; /* MK_FSRC_NONE: no fault */
    int rule;               /* the rule's id (0 for the header) */
    mk_fault fault;
    unsigned delay_ms;      /* delay with its jitter drawn */
    char spec[MK_FAULT_SPEC_MAX]; /* canonical */
} mk_fault_decision;

/* Decides the fault of one request: hdr is its header's parsed spec (NULL:
 * none). Returns whether one applies (d filled; the totals counted).
 * -1: the header's first/p needs a counting slot and all
 * MK_FAULT_HEADER_KEYS are taken (err says so; nothing applied). */
int mk_faults_decide(mk_faults *s, const mk_fault *hdr, const mk_fault_req *r,
                     mk_fault_decision *d, char *err, size_t errlen);

/* ---- the carriers' input (faults_input.c) ---- */

typedef struct mk_sse_hub mk_sse_hub;
typedef struct mk_sse_space mk_sse_space;

/* Parses spec, checks it against t (mk_faults_check) and ttl_ms, installs
 * it (mk_faults_add) and, for a rule naming the events route (or a path
 * rule reaching it with stream keys), applies it to the streams open now
 * in space sp (mk_sse_fault; hub NULL: none). 0, or -1 with
 * the message in err ("spec: ..." for the spec's own errors). */
int mk_faults_install(mk_faults *s, mk_sse_hub *hub, mk_sse_space *sp, mk_fault_source src,
                      const mk_fault_target *t,
                      const char *spec, size_t spec_len, unsigned ttl_ms, int *id, char *err,
                      size_t errlen);

/* Splits a flag's text "[METHOD ]ROUTE: SPEC" (ROUTE a route name or a
 * path glob) into method (may be empty), target and *spec (pointing into
 * text). 0, or -1 with the message in err. */
int mk_faults_split(const char *text, char *method, size_t mcap, char *target, size_t tcap,
                    const char **spec, char *err, size_t errlen);

/* One rule as the -fault flag and mockapi_config.faults give it,
 * "[METHOD ]ROUTE: SPEC": installed in s as a flag rule, or only checked
 * with s NULL. 0, or -1 with the reason in err. */
int mk_faults_flag(mk_faults *s, const char *text, char *err, size_t errlen);

/* A POST /test/faults body, decoded. */
typedef struct mk_fault_body {
    bool has_route, has_path;
    char route[64];
    char path[MK_GLOB_MAX + 1];
    char method[16];
    char spec[1024];
    unsigned ttl_ms;
} mk_fault_body;

/* Decodes a POST /test/faults body strictly: one JSON object with
 * "route" or "path" (strings), "spec" (a string), "method" (a string) and
 * "ttl_ms" (a whole number) optional; null is the same as absent (but for
 * spec). An unknown member (with a "did you mean"), one given twice, a
 * wrong type or a value too long is -1 with the message in err. */
int mk_faults_parse_body(const char *body, size_t len, mk_fault_body *b, char *err, size_t errlen);

/* The "faults" object of GET /test/assertions?faults=1 (no newline):
 * {"applied":N,"sources":{...},"routes":{...},"wire":{...}}. */
void mk_faults_totals_json(mk_faults *s, mk_buf *out);

#endif
