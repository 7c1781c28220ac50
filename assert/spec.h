/* spec.h: expectation files. Parses YAML (yaml.h) into expectations, each
 * remembering its file:line:col, and validates everything that can be
 * validated without a server: counter names, capture keys, routes,
 * operators and their operands, JSON paths, regular expressions and
 * durations. The schema is documented in assert/README.md. */
#ifndef MA_SPEC_H
#define MA_SPEC_H

#include <stdint.h>
#include <stdio.h>

#include "match.h"
#include "mockapi.h" /* MOCKAPI_COUNTERS: the server's counter list (macros only) */
#include "names.h"   /* the server's route names and capture keys */
#include "yaml.h"

/* The names lint knows, expanded from the server's own lists so they cannot
 * drift apart: counters in /test/assertions order, capture keys in docs/contract.md §9
 * order, and every route name (capture keys first, then the routes that
 * capture nothing). */
#define MA_COUNT1_(id, name, counter) +1
enum {
    MA_NCOUNTERS = MOCKAPI_COUNTER_COUNT,
    MA_NKEYS = 0 MK_CAPTURE_ROUTES(MA_COUNT1_),
    MA_NROUTES = 0 MK_ROUTE_NAMES(MA_COUNT1_),
};
#undef MA_COUNT1_
extern const char *const ma_counter_names[MA_NCOUNTERS];
extern const char *const ma_capture_keys[MA_NKEYS];
extern const char *const ma_route_names[MA_NROUTES];

/* Which journal entries an expectation is about (all fields optional,
 * combined with AND; the same meaning as GET /test/requests' filters). */
typedef struct {
    char *method; /* "POST", or NULL */
    char *path;   /* a glob: * within a segment, ** across; or NULL */
    char *route;  /* "heartbeat", or NULL */
    int status;   /* 0: any */
    ma_mark mark;
    /* keys the server's filter does not know; mockassert applies them */
    int fault;      /* 0: any; 1: a fault was applied; -1: none was */
    int has_region; /* region: only entries received by that region */
    int region;
} ma_filter;

typedef enum { MA_EXP_COUNTER, MA_EXP_LAST, MA_EXP_REQUESTS, MA_EXP_ORDER, MA_EXP_INTERVAL } ma_exp_kind;

typedef struct {
    ma_exp_kind kind;
    char *name;        /* given, or made from the expectation (owned) */
    ma_mark mark;      /* where the expectation starts */
    int64_t within_ns; /* 0: must hold now; else may become true this long after the run started */
    /* MA_EXP_COUNTER */
    char *counter;
    /* MA_EXP_COUNTER (the counter's value), MA_EXP_REQUESTS and
     * MA_EXP_INTERVAL (the number of matching entries): checks on a number */
    ma_check *count;
    /* MA_EXP_LAST */
    char *key;
    /* MA_EXP_LAST: checks on the body; NULL: only "something was captured" */
    ma_check *body;
    /* MA_EXP_REQUESTS, MA_EXP_INTERVAL */
    ma_filter filter;
    /* MA_EXP_REQUESTS: checks on each matching entry's body (any may be NULL) */
    ma_check *each, *any, *none;
    /* MA_EXP_REQUESTS: inOrder, check i on the i-th matching entry, in
     * journal order (ninorder 0: none); its key's place */
    ma_check **inorder;
    ma_mark *inorder_marks; /* where each of its checks is written */
    size_t ninorder;
    ma_mark inorder_mark;
    /* MA_EXP_REQUESTS: count, each, any and none hold per group of this key
     * (group.h; NULL: no grouping), and groups on the number of groups */
    struct ma_groupby *groupby;
    ma_check *groups;
    /* MA_EXP_ORDER: the first entry of each must come in this order */
    ma_filter *steps;
    size_t nsteps;
    /* MA_EXP_INTERVAL: consecutive matching entries every +/- tolerance apart */
    int64_t every_ns, tolerance_ns;
    ma_mark every_mark; /* where every: is written: a gap that is off is reported there */
} ma_expectation;

typedef struct {
    char *file;     /* as given (owned) */
    char *text;     /* the source (owned), for error context */
    size_t len;
    char *server;   /* the top-level server: key, or NULL */
    char *session;  /* the top-level session: key (a valid id, session_id.h), or NULL */
    ma_expectation *v;
    size_t n;
} ma_spec;

/* Reads and parses file. Returns 0 with *out set (free with ma_spec_free),
 * or -1 with err filled (a position when there is one). */
int ma_spec_load(const char *file, ma_spec **out, ma_error *err);
/* The same, going on after an error in one expectation to check the next:
 * every error is handed to each (in file order; the ma_error is valid
 * during the call). Returns 0 with *out set, or -1 after at least one
 * call to each. */
typedef void (*ma_error_fn)(const ma_error *e, void *arg);
int ma_spec_load_each(const char *file, ma_spec **out, ma_error_fn each, void *arg);
/* The same from text in memory (copied). */
int ma_spec_parse(const char *file, const char *text, size_t len, ma_spec **out, ma_error *err);
void ma_spec_free(ma_spec *s);

/* Prints "file:line:col: error: msg" and, when known, the source line
 * with a caret under the column. */
void ma_error_print(FILE *f, const ma_error *e);

/* Converts a YAML node to JSON (plain scalars are typed per YAML 1.2's core
 * schema: null, true/false, integers, floats; everything else a string).
 * Returns a new reference, or NULL with err set. */
json_t *ma_yaml_to_json(const ma_ynode *n, ma_error *err);

/* 1 if name is a route the journal can report (capture keys and the
 * route names of routes without one). */
int ma_is_route(const char *name);

/* The route whose requests move counter (a name in ma_counter_names), or
 * NULL when no route moves it or the name is unknown. */
const char *ma_counter_route(const char *counter);

#endif
